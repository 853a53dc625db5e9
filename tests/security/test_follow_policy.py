"""A model server that follows ``@latest`` serves, and unpickles, only versions its model's
policy allows, and every follow names who registered the version (issue 22, item 3)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from shipway.config import Settings
from shipway.errors import PolicyViolation
from tests.cli.conftest import cli as cli  # the fixture, here too
from tests.serving.conftest import register_churn


def _register_another(sw: Any, settings: Settings, user: str) -> int:
    """An editor (``user``) registers one more version of churn, from a session of their own."""
    from sklearn.dummy import DummyClassifier

    from shipway import session as context

    mine = context._current
    context._current = context.Session(dataclasses.replace(settings, user=user))
    try:
        model = DummyClassifier(strategy="prior").fit([[0.0], [1.0]], [0, 1])
        with sw.start_run(experiment="churn") as run:
            run.log_model(model, "model")
        version = sw.register_model(run, "churn")
        assert version.created_by == user
        return int(version.version)
    finally:
        context._current.close()
        context._current = mine


def test_latest_under_a_policy_without_approvals_is_refused(sw: Any, settings: Settings) -> None:
    from shipway.serving.server import open_model_server

    register_churn(sw)
    for target in ("models:/churn@latest", "models:/churn", "models:/churn/none"):
        with pytest.raises(PolicyViolation, match="whatever any editor registers next"):
            open_model_server(settings, [target], poll_seconds=3600)
    assert sw.session.current().deployments.list() == [], "nothing was deployed"


def test_the_cli_refuses_it_in_one_line(cli: Any) -> None:
    import shipway as sw

    register_churn(sw)
    out = cli("serve", "models:/churn@latest", "--port", "0", code=2)
    lines = [line for line in out.splitlines() if line.strip()]
    assert "whatever any editor registers next" in out and "Traceback" not in out
    assert len(lines) <= 3, out


def test_accepting_the_risk_is_loud_and_audited(
    sw: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from shipway.serving.server import open_model_server

    register_churn(sw)
    risky = dataclasses.replace(
        settings, serve=dataclasses.replace(settings.serve, follow_unapproved=True)
    )
    with caplog.at_level(logging.WARNING):
        server = open_model_server(risky, ["models:/churn@latest"], poll_seconds=3600)
    try:
        server.state.refresh()
        assert 2 in server.state.get("churn").versions
        assert any("UNAPPROVED FOLLOW" in r.getMessage() for r in caplog.records)
        (event,) = [e for e in sw.session.current().deployments.history("churn")]
        assert f"registered by {settings.user}" in event.reason
    finally:
        server.session.close()


def test_latest_under_an_approval_policy_serves_the_newest_approved_version(
    sw: Any, settings: Settings
) -> None:
    from shipway.serving.server import open_model_server

    register_churn(sw)
    registry = sw.session.current().registry
    registry.set_policy("churn", required_approvals=1)
    registry.approve("churn", 1)
    server = open_model_server(settings, ["models:/churn@latest"], poll_seconds=3600)
    try:
        assert sw.get_deployment("churn").stable == 1, "version 2 is newer but not approved"
        planted = _register_another(sw, settings, "mallory")
        server.state.refresh()
        assert sw.get_deployment("churn").stable == 1, "an editor's registration is not served"
        assert planted not in server.state.get("churn").versions, "nor loaded (unpickled)"
        registry.approve("churn", planted)
        server.state.refresh()
        assert sw.get_deployment("churn").stable == planted
        newest = sw.session.current().deployments.history("churn")[-1]
        assert newest.action == "follow" and "registered by mallory" in newest.reason
    finally:
        server.session.close()


def test_latest_never_follows_back_to_an_archived_version(sw: Any, settings: Settings) -> None:
    from shipway.serving.server import open_model_server

    register_churn(sw)
    registry = sw.session.current().registry
    registry.set_policy("churn", required_approvals=1)
    registry.approve("churn", 1)
    registry.approve("churn", 2)
    registry.archive("churn", 2, reason="a leak found in its features")
    server = open_model_server(settings, ["models:/churn@latest"], poll_seconds=3600)
    try:
        assert sw.get_deployment("churn").stable == 1, "approved, but archived since"
    finally:
        server.session.close()
