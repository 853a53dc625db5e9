"""The one dataset interface, with two implementations: the local stores
(:class:`~shipway.data.versions.LocalDatasets`) and a ``shipway server``
(``shipway.client.RemoteDatasets``)."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.types import DatasetInput, DatasetVersion

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int], None]


class DatasetBackend(ABC):
    """Versioned snapshots of DataFrames, files and folders, content-addressed."""

    @abstractmethod
    def add(
        self, name: str, data: Any, *, description: str = "", progress: Progress | None = None
    ) -> tuple[DatasetVersion, bool]:
        """Snapshot ``data`` as the next version of ``name``; False when it was stored already."""

    @abstractmethod
    def get(self, ref: str, version: int | None = None) -> DatasetVersion:
        """``NAME`` (the newest), ``NAME@V``, ``NAME/V`` or ``datasets:/NAME/V``."""

    @abstractmethod
    def list(self) -> list[tuple[str, int, float]]:
        """Every dataset: its name, its newest version number, when that version was made."""

    @abstractmethod
    def versions(self, name: str) -> builtins.list[DatasetVersion]: ...

    @abstractmethod
    def runs_using(self, version: DatasetVersion) -> builtins.list[tuple[str, str]]:
        """The runs that recorded this version as an input: (run id, role)."""

    @abstractmethod
    def manifest(self, version: DatasetVersion) -> dict[str, dict[str, Any]]:
        """A folder version's files (path -> digest and size); empty for other kinds."""

    @abstractmethod
    def checkout(self, version: DatasetVersion, out: Path) -> Path:
        """Write the version to ``out``, byte-identical, each file's hash verified."""

    @abstractmethod
    def load(self, ref: str, version: int | None = None) -> pd.DataFrame:
        """The version as a DataFrame (DataFrames, Parquet and CSV files)."""

    @staticmethod
    def as_input(version: DatasetVersion, role: str) -> DatasetInput:
        """The run input that records ``version`` in ``role``."""
        return DatasetInput(version.name, version.digest, role, version.rows, version.uri)
