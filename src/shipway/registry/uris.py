"""Model URIs: ``models:/NAME/VERSION``, ``models:/NAME@ALIAS_OR_STAGE``, ``runs:/RUN_ID/PATH``,
and MLflow's ``models:/NAME/STAGE`` and ``models:/NAME/latest`` (stage names in any case)."""

from __future__ import annotations

from dataclasses import dataclass

from shipway.errors import InvalidArgument

_MLFLOW_STAGES = {"none", "staging", "production", "archived", "latest"}


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None = None
    alias: str | None = None


@dataclass(frozen=True)
class RunRef:
    run_id: str
    path: str


def parse_uri(uri: str) -> ModelRef | RunRef:
    if not isinstance(uri, str):
        raise InvalidArgument(f"a model URI must be a string, got {type(uri).__name__}")
    found: ModelRef | RunRef | None = None
    if uri.startswith("models:/"):
        found = _model_ref(uri[len("models:/") :].strip("/"))
    elif uri.startswith("runs:/"):
        body = uri[len("runs:/") :].strip("/")
        if "/" in body:
            run_id, path = body.split("/", 1)
            found = RunRef(run_id, path)
    if found is None:
        raise InvalidArgument(
            f"cannot read the model URI {uri!r}",
            hint="use models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS_OR_STAGE, "
            "models:/NAME/latest or runs:/RUN_ID/PATH",
        )
    return found


def _model_ref(body: str) -> ModelRef | None:
    if "@" in body:
        name, alias = body.split("@", 1)
        return ModelRef(name, alias=alias) if name and alias and "/" not in alias else None
    if body.count("/") == 1:
        name, version = body.split("/")
        if name and version.isdigit():
            return ModelRef(name, version=int(version))
        if name and version.lower() in _MLFLOW_STAGES:  # MLflow's models:/NAME/Production
            return ModelRef(name, alias=version.lower())
        return None
    return ModelRef(body, alias="latest") if body and "/" not in body else None
