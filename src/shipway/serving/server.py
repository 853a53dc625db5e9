"""Open a model server for a list of targets: deployment names or ``models:/`` URIs.

``models:/NAME@production`` (any stage or alias) serves a deployment named NAME whose stable
version follows that stage; ``models:/NAME/7`` deploys version 7 directly as NAME first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.config import Settings
from shipway.errors import Forbidden, InvalidArgument, NotFound
from shipway.registry.uris import ModelRef, parse_uri
from shipway.services import DeploymentBackend
from shipway.serving.auth import ServingAuth
from shipway.serving.prediction_log import PredictionLog
from shipway.serving.state import ServerState
from shipway.session import Session
from shipway.store.token_store import role_allows


@dataclass
class ModelServer:
    app: Any
    state: ServerState
    log: PredictionLog | None
    session: Session
    auth: ServingAuth


def open_model_server(
    settings: Settings,
    targets: list[str],
    *,
    log_predictions: bool = True,
    poll_seconds: float = 2.0,
) -> ModelServer:
    """A model server for ``targets`` over the session the settings make: the stores, or a
    ``shipway server`` (routing, models, tokens and the log all through it)."""
    from shipway.serving.app import create_serving_app

    if not targets:
        raise InvalidArgument("name at least one deployment or models:/ URI to serve")
    session = Session(settings)
    deployments = session.deployments
    names, follows = [], {}
    for target in targets:
        name, follow = _deployment_for(deployments, target)
        names.append(name)
        if follow is not None:
            follows[name] = follow
    for name in names:
        deployments.get(name)  # an unknown deployment is an error now, not a 503 later
    state = ServerState(session, list(dict.fromkeys(names)), follows, poll_seconds)
    log = None
    if log_predictions:
        check_log_writer(session)
        log = session.predictions.writer()
        log.max_pending = 200_000  # a server drops (and counts) rather than wait
    auth = ServingAuth(session.tokens, ttl=min(poll_seconds, 2.0))
    app = create_serving_app(state, log, auth, access_log=settings.serve.access_log)
    return ModelServer(app, state, log, session, auth)


def check_log_writer(session: Session) -> None:
    """Through ``shipway server``, the server's own token must be one that writes the log
    (role ``server``): refused at start, not found out later as rows that never arrive."""

    token = session.settings.store.token
    if not session.is_remote or not token or not session.tokens.any_active():
        return
    info = session.tokens.verify(token)
    if info is not None and not role_allows(info.role, "server"):
        raise Forbidden(
            f"this model server's token is {info.user}'s, of role {info.role}: writing the "
            "prediction log through shipway server needs the server role",
            hint=f"shipway tokens create --user {info.user} --role server, or serve with --no-log",
        )


def _deployment_for(
    deployments: DeploymentBackend, target: str
) -> tuple[str, tuple[str, str] | None]:
    """The deployment a target names: a deployment, or ``models:/NAME/V`` (deployed as NAME
    first), or ``models:/NAME@ALIAS`` (a deployment NAME that follows the alias or stage)."""
    if not target.startswith("models:/"):
        return target, None
    ref = parse_uri(target)
    assert isinstance(ref, ModelRef)
    if ref.version is None:
        assert ref.alias is not None
        deployments.follow(ref.name, ref.name, ref.alias)
        return ref.name, (ref.name, ref.alias)
    try:
        current = deployments.get(ref.name)
    except NotFound:
        current = None
    if current is None or current.stable != ref.version or current.candidate is not None:
        deployments.deploy(
            ref.name, model=ref.name, version=ref.version, reason=f"shipway serve {target}"
        )
    return ref.name, None
