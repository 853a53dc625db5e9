"""Logging a model into a run's artifacts, and loading it back with every hash checked."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.errors import IntegrityError, NotFound
from shipway.tracking.backend import TrackingBackend
from shipway.types import ModelVersion

if TYPE_CHECKING:
    from shipway.models.signature import Signature

MODELS_TAG = "shipway.logged_models"
MODEL_FILE = "MODEL.json"


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    artifact_path: str
    flavor: str
    signature: Signature | None

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


def log_model(
    client: TrackingBackend,
    run_id: str,
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    extra_files: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> LoggedModel:
    from shipway.models import save_model

    with tempfile.TemporaryDirectory(prefix="shipway-model-") as tmp:
        folder = Path(tmp) / "model"
        info = save_model(
            model,
            folder,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            extra_files=extra_files,
            metadata=metadata,
        )
        client.log_artifacts(run_id, folder, name)
    run = client.get_run(run_id)
    logged = [m for m in run.tags.get(MODELS_TAG, "").split(",") if m]
    if name not in logged:
        client.set_tags(run_id, {MODELS_TAG: ",".join([*logged, name])})
    return LoggedModel(run_id, name, info.flavor, info.signature)


def logged_model_paths(client: TrackingBackend, run_id: str) -> list[str]:
    run = client.get_run(run_id)
    return [m for m in run.tags.get(MODELS_TAG, "").split(",") if m]


def load_run_model(
    client: TrackingBackend, run_id: str, path: str, pinned: ModelVersion | None = None
) -> Any:
    """Download the model at ``runs:/run_id/path`` (verifying hashes) and load it.

    For a registered version (``pinned``), the run's files must still be the ones registered:
    a file added, removed or changed since is refused before anything is downloaded."""
    from shipway.models import load_model

    records = {i.path: i.digest for i in client.list_artifacts(run_id, path)}
    if f"{path.strip('/')}/{MODEL_FILE}" not in records:
        raise NotFound(
            f"run {run_id} has no model at {path!r}", hint="log one with run.log_model(model, name)"
        )
    if pinned is not None and pinned.files and records != pinned.files:
        changed = sorted(
            p for p in records.keys() | pinned.files.keys() if records.get(p) != pinned.files.get(p)
        )
        raise IntegrityError(
            f"the files of {pinned.name} version {pinned.version} changed after it was "
            f"registered ({', '.join(changed[:5])}); refusing to load them",
            hint="the version's files are pinned at registration; restore them or register anew",
            details={"model": pinned.name, "version": pinned.version, "changed": changed},
        )
    target = Path(tempfile.mkdtemp(prefix="shipway-load-"))
    client.download_artifacts(run_id, path, target)
    return load_model(target / Path(path.strip("/")).name)
