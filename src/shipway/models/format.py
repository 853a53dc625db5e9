"""The model folder: ``MODEL.json`` (flavor, signature, requirements, every file's hash), the
model file, ``requirements.txt`` and ``input_example.json``.

Loading checks every file against the hashes in ``MODEL.json`` before anything is unpickled,
so an altered or missing file is refused instead of executed.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from shipway.errors import IntegrityError, InvalidArgument, NotFound
from shipway.models import flavors
from shipway.models.pyfunc import ModelContext, PythonModel
from shipway.models.signature import Signature, as_frame, infer_signature
from shipway.store.artifacts import digest_file

FORMAT_VERSION = 1
MODEL_FILE = "MODEL.json"


@dataclass(frozen=True)
class ModelInfo:
    flavor: str
    signature: Signature | None
    requirements: list[str]
    files: dict[str, dict[str, Any]]
    path: Path


def _requirements(flavor: str) -> list[str]:
    pinned = []
    for package in flavors.REQUIREMENTS[flavor]:
        try:
            pinned.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pinned


def save_model(
    model: Any,
    path: str | Path,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    extra_files: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write ``model`` as a self-describing folder at ``path``."""
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidArgument(f"{folder} is not empty", hint="save into a new folder")
    chosen = flavor or flavors.detect_flavor(model)
    if chosen not in flavors.FLAVORS:
        raise InvalidArgument(
            f"unknown flavor {chosen!r}", hint=f"use one of: {', '.join(flavors.FLAVORS)}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    model_file = flavors.save(chosen, model, folder)
    example_frame = as_frame(input_example) if input_example is not None else None
    if signature is None and example_frame is not None:
        output = None
        try:
            output = _predict_raw(chosen, model, example_frame, ModelContext())
        except Exception:  # a signature without outputs is still useful
            output = None
        signature = infer_signature(example_frame, output)
    if example_frame is not None:
        (folder / "input_example.json").write_text(
            example_frame.to_json(orient="records", date_format="iso")
        )
    artifacts = {}
    for name, source in (extra_files or {}).items():
        target = folder / "artifacts" / Path(name).name
        target.parent.mkdir(exist_ok=True)
        if not Path(source).is_file():
            raise NotFound(f"no extra file at {source}")
        shutil.copyfile(source, target)
        artifacts[name] = target.relative_to(folder).as_posix()
    requirements = _requirements(chosen)
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "digest": digest_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    document = {
        "format_version": FORMAT_VERSION,
        "flavor": chosen,
        "model_file": model_file,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "python_version": platform.python_version(),
        "created_at": time.time(),
        "signature": signature.to_dict() if signature else None,
        "requirements": requirements,
        "artifacts": artifacts,
        "metadata": metadata or {},
        "files": files,
    }
    (folder / MODEL_FILE).write_text(json.dumps(document, indent=2))
    return ModelInfo(chosen, signature, requirements, files, folder)


def verify_files(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    for name, entry in files.items():
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"the model file {name!r} is missing", hint="log the model again")
        if digest_file(path) != entry["digest"]:
            raise IntegrityError(
                f"the model file {name!r} was altered after the model was saved; refusing to load it"
            )


def load_model(path: str | Path, *, verify: bool = True) -> LoadedModel:
    """Load a model folder; with ``verify`` (the default) every hash is checked first."""
    folder = Path(path)
    document_path = folder / MODEL_FILE
    if not document_path.is_file():
        raise NotFound(f"no model at {folder} ({MODEL_FILE} is missing)")
    document = json.loads(document_path.read_text())
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise InvalidArgument(
            "this model was saved by a newer shipway", hint="upgrade shipway to load it"
        )
    if verify:
        verify_files(folder, document["files"])
    _warn_on_mismatch(document)
    raw = flavors.load(document["flavor"], folder, document["model_file"])
    signature = Signature.from_dict(document["signature"]) if document.get("signature") else None
    context = ModelContext(
        {name: str(folder / rel) for name, rel in document.get("artifacts", {}).items()}
    )
    if isinstance(raw, PythonModel):
        raw.load_context(context)
    example = None
    if (folder / "input_example.json").is_file():
        import pandas as pd

        example = pd.read_json(folder / "input_example.json", orient="records")
    return LoadedModel(
        document["flavor"], raw, signature, document.get("metadata", {}), context, example, document
    )


def _warn_on_mismatch(document: dict[str, Any]) -> None:
    saved = document.get("python_version", "")
    if saved.rsplit(".", 1)[0] != platform.python_version().rsplit(".", 1)[0]:
        warnings.warn(
            f"the model was saved with Python {saved}; this is {platform.python_version()}",
            stacklevel=3,
        )
    for requirement in document.get("requirements", []):
        package, _, version = requirement.partition("==")
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            warnings.warn(f"the model needs {requirement}, which is not installed", stacklevel=3)
            continue
        if installed != version:
            warnings.warn(
                f"the model was saved with {requirement}; {package} {installed} is installed",
                stacklevel=3,
            )


def _predict_raw(flavor: str, model: Any, frame: Any, context: ModelContext) -> Any:
    if isinstance(model, PythonModel):
        return model.predict(context, frame)
    if flavor == "xgboost" and type(model).__name__ == "Booster":
        import xgboost

        return model.predict(xgboost.DMatrix(frame))
    return model.predict(frame)


@dataclass
class LoadedModel:
    """A loaded model: ``predict`` takes a DataFrame, a record, records or an array."""

    flavor: str
    raw: Any
    signature: Signature | None
    metadata: dict[str, Any]
    context: ModelContext
    input_example: Any = None
    document: dict[str, Any] = field(default_factory=dict)

    def prepare(self, data: Any) -> Any:
        """The input as a DataFrame checked against the signature."""
        frame = as_frame(data, self.signature.columns if self.signature else None)
        return self.signature.validate(frame) if self.signature else frame

    def predict(self, data: Any) -> Any:
        return _predict_raw(self.flavor, self.raw, self.prepare(data), self.context)

    def predict_prepared(self, frame: Any) -> Any:
        """Predict a frame that :meth:`prepare` already checked (the serving hot path)."""
        return _predict_raw(self.flavor, self.raw, frame, self.context)

    def score_prepared(self, frame: Any) -> Any:
        """The classifier's confidence per row: P(positive) for two classes, else the top
        class's probability. None for models without ``predict_proba``."""
        import numpy as np

        if not hasattr(self.raw, "predict_proba"):
            return None
        proba = np.asarray(self.raw.predict_proba(frame))
        if proba.ndim != 2:
            return None
        return proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)

    def predict_proba(self, data: Any) -> Any:
        if not hasattr(self.raw, "predict_proba"):
            raise InvalidArgument(f"a {type(self.raw).__name__} does not predict probabilities")
        return self.raw.predict_proba(self.prepare(data))

    def __repr__(self) -> str:
        return f"<LoadedModel {self.flavor} {type(self.raw).__name__}>"
