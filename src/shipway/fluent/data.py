"""Dataset functions of the fluent API: ``sw.log_dataset``, ``sw.get_dataset``, ``sw.load_dataset``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway.data.backend import DatasetBackend
from shipway.session import current
from shipway.types import DatasetVersion

if TYPE_CHECKING:
    import pandas as pd


def _datasets() -> DatasetBackend:
    return current().datasets


def log_dataset(
    name: str, data: Any, role: str = "train", *, description: str = "", run_id: str | None = None
) -> DatasetVersion:
    """Snapshot ``data`` (a DataFrame, file or folder) as a version of ``name``.

    Inside a run (or with ``run_id``) the version is also recorded as the run's input.
    The same content is stored once and keeps its version number.
    """
    version, _ = _datasets().add(name, data, description=description)
    if run_id is None:
        stack = current().run_stack
        run_id = stack[-1].run_id if stack else None
    if run_id is not None:
        current().tracking.log_inputs(run_id, [DatasetBackend.as_input(version, role)])
    return version


def get_dataset(ref: str, version: int | None = None) -> DatasetVersion:
    """``NAME`` (newest), ``NAME@V`` or ``datasets:/NAME/V``."""
    return _datasets().get(ref, version)


def load_dataset(ref: str, version: int | None = None) -> pd.DataFrame:
    """A stored DataFrame, Parquet or CSV version as a DataFrame."""
    return _datasets().load(ref, version)
