"""Logging a model into a run's artifacts, and loading it back with every hash checked."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.errors import NotFound
from shipway.tracking.backend import TrackingBackend

MODELS_TAG = "shipway.logged_models"
MODEL_FILE = "MODEL.json"


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    artifact_path: str
    flavor: str
    signature: Any

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
    signature: Any = None,
    flavor: str | None = None,
    extra_files: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> LoggedModel:
    from shipway.models import save_model

    with tempfile.TemporaryDirectory(prefix="shipway-model-") as tmp:
        folder = Path(tmp) / "model"
        info = save_model(
            model, folder, input_example=input_example, signature=signature, flavor=flavor,
            extra_files=extra_files, metadata=metadata,
        )  # fmt: skip
        client.log_artifacts(run_id, folder, name)
    run = client.get_run(run_id)
    logged = [m for m in run.tags.get(MODELS_TAG, "").split(",") if m]
    if name not in logged:
        client.set_tags(run_id, {MODELS_TAG: ",".join([*logged, name])})
    return LoggedModel(run_id, name, info.flavor, info.signature)


def logged_model_paths(client: TrackingBackend, run_id: str) -> list[str]:
    run = client.get_run(run_id)
    return [m for m in run.tags.get(MODELS_TAG, "").split(",") if m]


def load_run_model(client: TrackingBackend, run_id: str, path: str) -> Any:
    """Download the model at ``runs:/run_id/path`` (verifying hashes) and load it."""
    from shipway.models import load_model

    files = {i.path for i in client.list_artifacts(run_id, path)}
    if f"{path.strip('/')}/{MODEL_FILE}" not in files:
        raise NotFound(
            f"run {run_id} has no model at {path!r}", hint="log one with run.log_model(model, name)"
        )
    target = Path(tempfile.mkdtemp(prefix="shipway-load-"))
    client.download_artifacts(run_id, path, target)
    return load_model(target / Path(path.strip("/")).name)
