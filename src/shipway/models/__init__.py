"""Model flavors, signatures, and the self-describing model folder."""

from shipway.models.flavors import detect_flavor
from shipway.models.format import LoadedModel, ModelInfo, load_model, save_model
from shipway.models.pyfunc import ModelContext, PythonModel
from shipway.models.signature import ColumnSpec, Signature, infer_signature

__all__ = [
    "ColumnSpec",
    "LoadedModel",
    "ModelContext",
    "ModelInfo",
    "PythonModel",
    "Signature",
    "detect_flavor",
    "infer_signature",
    "load_model",
    "save_model",
]
