"""Persistence and nothing else: the metadata database and the artifact store."""

from __future__ import annotations

from dataclasses import dataclass

from shipway.config import Settings
from shipway.store.artifacts import ArtifactStore
from shipway.store.database import Database
from shipway.store.registry_store import RegistryStore
from shipway.store.tracking_store import TrackingStore

__all__ = ["ArtifactStore", "Database", "RegistryStore", "Stores", "TrackingStore", "open_stores"]


@dataclass
class Stores:
    """The stores one settings object points at."""

    settings: Settings
    db: Database
    tracking: TrackingStore
    registry: RegistryStore
    artifacts: ArtifactStore

    def close(self) -> None:
        self.db.dispose()


def open_stores(settings: Settings) -> Stores:
    db = Database(settings.metadata_url)
    artifacts = ArtifactStore(settings.artifact_root, endpoint_url=settings.store.s3_endpoint_url)
    return Stores(settings, db, TrackingStore(db), RegistryStore(db), artifacts)
