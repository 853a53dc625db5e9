"""The model registry."""

from shipway.registry.service import Registry
from shipway.registry.uris import ModelRef, RunRef, parse_uri

__all__ = ["ModelRef", "Registry", "RunRef", "parse_uri"]
