"""Model URIs: ``models:/NAME/VERSION``, ``models:/NAME@ALIAS_OR_STAGE``, ``runs:/RUN_ID/PATH``."""

from __future__ import annotations

from dataclasses import dataclass

from shipway.errors import InvalidArgument


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
    if uri.startswith("models:/"):
        body = uri[len("models:/") :].strip("/")
        if "@" in body:
            name, alias = body.split("@", 1)
            if name and alias and "/" not in alias:
                return ModelRef(name, alias=alias)
        elif body.count("/") == 1:
            name, version = body.split("/")
            if name and version.isdigit():
                return ModelRef(name, version=int(version))
        elif body and "/" not in body:
            return ModelRef(body, alias="latest")
    elif uri.startswith("runs:/"):
        body = uri[len("runs:/") :].strip("/")
        if "/" in body:
            run_id, path = body.split("/", 1)
            return RunRef(run_id, path)
    raise InvalidArgument(
        f"cannot read the model URI {uri!r}",
        hint="use models:/NAME/VERSION, models:/NAME@ALIAS_OR_STAGE or runs:/RUN_ID/PATH",
    )
