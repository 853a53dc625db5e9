"""Open a model server for a list of targets: deployment names or ``models:/`` URIs.

``models:/NAME@production`` (any stage or alias) serves a deployment named NAME whose stable
version follows that stage; ``models:/NAME/7`` deploys version 7 directly as NAME first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.config import Settings
from shipway.errors import InvalidArgument
from shipway.registry.service import Registry
from shipway.registry.uris import ModelRef, parse_uri
from shipway.serving.auth import ServingAuth
from shipway.serving.deployments import Deployments
from shipway.serving.prediction_log import PredictionLog
from shipway.serving.profiles import ProfileWriter
from shipway.serving.state import ServerState
from shipway.store.token_store import TokenStore


@dataclass
class ModelServer:
    app: Any
    state: ServerState
    log: PredictionLog | None
    tracking: Any
    auth: ServingAuth


def open_model_server(
    settings: Settings,
    targets: list[str],
    *,
    log_predictions: bool = True,
    poll_seconds: float = 2.0,
) -> ModelServer:
    from shipway.serving.app import create_serving_app
    from shipway.tracking.client import open_local

    if not targets:
        raise InvalidArgument("name at least one deployment or models:/ URI to serve")
    if settings.is_remote:
        raise InvalidArgument(
            "a model server reads its deployments from the stores",
            hint="point SHIPWAY_TRACKING_URI at the database, not at a shipway server",
        )
    tracking = open_local(settings)
    deployments = Deployments(Registry(tracking))
    names, follows = [], {}
    for target in targets:
        if not target.startswith("models:/"):
            names.append(target)
            continue
        ref = parse_uri(target)
        assert isinstance(ref, ModelRef)
        if ref.version is not None:
            current = deployments.store.find(ref.name)
            if current is None or current.stable != ref.version or current.candidate is not None:
                deployments.deploy(
                    ref.name, model=ref.name, version=ref.version, reason=f"shipway serve {target}"
                )
        else:
            assert ref.alias is not None
            deployments.follow(ref.name, ref.name, ref.alias)
            follows[ref.name] = (ref.name, ref.alias)
        names.append(ref.name)
    for name in names:
        deployments.get(name)  # an unknown deployment is an error now, not a 503 later
    state = ServerState(deployments, list(dict.fromkeys(names)), follows, poll_seconds)
    log = None
    if log_predictions:
        profiles = ProfileWriter(tracking.stores.artifacts, reference_profiles(deployments))
        log = PredictionLog(tracking.stores.artifacts, profiles=profiles)
    auth = ServingAuth(TokenStore(tracking.stores.db), ttl=min(poll_seconds, 2.0))
    return ModelServer(create_serving_app(state, log, auth), state, log, tracking, auth)


def reference_profiles(deployments: Deployments) -> Any:
    """(deployment, version) -> the profile of that version's training data, if recorded."""
    from shipway.stats.profile import DatasetProfile
    from shipway.store.dataset_store import DatasetStore

    datasets = DatasetStore(deployments.registry.tracking.stores.db)
    cache: dict[tuple[str, int], DatasetProfile | None] = {}

    def reference(deployment: str, version: int) -> DatasetProfile | None:
        if (deployment, version) not in cache:
            found = None
            try:
                model = deployments.get(deployment).model
                ref = deployments.registry.get_version(model, version).lineage.get("reference")
                if ref:
                    profile = datasets.get_version(ref["dataset"], int(ref["version"])).profile
                    found = DatasetProfile.from_dict(profile) if profile else None
            except Exception:  # no reference: the first live profile sets the bins
                found = None
            cache[(deployment, version)] = found
        return cache[(deployment, version)]

    return reference
