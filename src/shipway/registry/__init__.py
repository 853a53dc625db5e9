"""The model registry."""

from shipway.registry.local import LocalRegistry
from shipway.registry.uris import ModelRef, RunRef, parse_uri

__all__ = ["ModelRef", "LocalRegistry", "RunRef", "parse_uri"]
