"""Data: versioned datasets, schemas and validation, drift reports."""

from shipway.data.schema import Check, ColumnSchema, Schema, infer_schema
from shipway.data.validation import Failure, ValidationResult, validate, validate_record

__all__ = [
    "Check",
    "ColumnSchema",
    "Failure",
    "Schema",
    "ValidationResult",
    "infer_schema",
    "validate",
    "validate_record",
]
