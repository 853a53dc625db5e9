"""Checks for the nouns a session holds beyond tracking and the registry: datasets,
deployments, the prediction log, monitoring, alerts and tokens. Each takes a fresh
:class:`~shipway.session.Session` (local, or through a ``shipway server``) and raises
``AssertionError`` when the backend misbehaves."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, NotFound, PolicyViolation
from shipway.session import Session
from shipway.tracking.model_logging import log_model
from shipway.types import Stage


def _raises(error: type[BaseException], call: Any) -> BaseException:
    try:
        call()
    except error as exc:
        return exc
    raise AssertionError(f"expected {error.__name__}")


def _frame(rows: int = 200, shift: float = 0.0, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(shift, 1, rows), "b": rng.normal(size=rows)})
    frame["y"] = (frame["a"] + frame["b"] > 0).astype(int)
    return frame


def _registered(session: Session, name: str = "churn") -> Any:
    """A classifier trained on a logged dataset (its monitoring reference), registered."""
    from sklearn.linear_model import LogisticRegression

    frame = _frame()
    model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
    version, _ = session.datasets.add(f"{name}-train", frame)
    run = session.tracking.create_run(name, capture_environment=False)
    session.tracking.log_inputs(run.run_id, [session.datasets.as_input(version, "train")])
    log_model(session.tracking, run.run_id, model, "model", input_example=frame[["a", "b"]].head())
    session.tracking.end_run(run.run_id)
    return session.registry.register(run, name)


def check_datasets(session: Session) -> None:
    frame = _frame(50)
    first, created = session.datasets.add("flights", frame, description="first")
    again, created_again = session.datasets.add("flights", frame.copy())
    assert created and not created_again and again.version == first.version == 1
    assert first.rows == 50 and first.profile and first.schema, "profiled where it is stored"
    second, _ = session.datasets.add("flights", _frame(60, seed=1))
    assert second.version == 2 and session.datasets.get("flights").version == 2
    assert session.datasets.get("flights@1").digest == first.digest
    assert [v.version for v in session.datasets.versions("flights")] == [1, 2]
    assert session.datasets.list()[0][:2] == ("flights", 2)
    back = session.datasets.load("flights@1")
    assert back.equals(frame), "a frame comes back as it went in"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "folder"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.txt").write_text("a")
        (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
        tree, _ = session.datasets.add("images", folder)
        assert tree.kind == "directory" and tree.files == 2
        assert sorted(session.datasets.manifest(tree)) == ["a.txt", "sub/b.bin"]
        out = session.datasets.checkout(tree, Path(tmp) / "out")
        assert (out / "sub" / "b.bin").read_bytes() == (folder / "sub" / "b.bin").read_bytes()
        csv = Path(tmp) / "data.csv"
        frame.to_csv(csv, index=False)
        file_version, _ = session.datasets.add("flights-csv", csv)
        assert file_version.kind == "file" and file_version.rows == 50
    _raises(NotFound, lambda: session.datasets.get("flights@9"))
    _raises(NotFound, lambda: session.datasets.get("nothing-here"))


def check_deployments(session: Session) -> None:
    first = _registered(session)
    second = _registered(session)
    deployments = session.deployments
    created = deployments.deploy("live", model="churn", version=first.version, reason="first")
    assert (created.stable, created.candidate, created.revision) == (1, None, 1)
    canary = deployments.deploy(
        "live", model="churn", version=second.version, strategy="canary", weight=10
    )
    assert canary.candidate == 2 and canary.weight == 10
    assert deployments.set_weight("live", 25).weight == 25
    assert deployments.set_batching("live", 8).max_batch == 8
    promoted = deployments.promote("live", "as good")
    assert promoted.stable == 2 and promoted.candidate is None
    assert deployments.rollback("live", "regression").stable == 1
    assert deployments.revisions(["live"]) == {"live": deployments.get("live").revision}
    assert [d.name for d in deployments.list()] == ["live"]
    actions = [e.action for e in deployments.history("live")]
    assert actions[0] == "deploy:direct" and actions[-1] == "rollback"
    assert all(e.actor == session.actor for e in deployments.history("live"))
    _raises(
        InvalidArgument,
        lambda: deployments.deploy("live", model="churn", version=2, strategy="canary"),
    )
    _raises(NotFound, lambda: deployments.get("dead"))


def check_deployment_policy(session: Session) -> None:
    """Serving all traffic is production: the promotion policy guards it, the registry's stage
    follows the deployment, and an unapproved candidate runs only where the policy allows."""

    first = _registered(session, "gated")
    second = _registered(session, "gated")
    deployments, registry = session.deployments, session.registry
    deployments.deploy("gated-live", model="gated", version=first.version)
    assert registry.get_version("gated", first.version).stage == Stage.PRODUCTION
    registry.set_policy("gated", required_approvals=1)
    refused = _raises(
        PolicyViolation, lambda: deployments.deploy("gated-live", model="gated", version=2)
    )
    assert "needs 1 approval" in str(refused)
    canary = _raises(
        PolicyViolation,
        lambda: deployments.deploy(
            "gated-live", model="gated", version=2, strategy="canary", weight=50
        ),
    )
    assert "only as shadow, blue-green, not as canary" in str(canary)
    assert deployments.get("gated-live").candidate is None  # a refusal changes nothing
    shadow = deployments.deploy("gated-live", model="gated", version=2, strategy="shadow")
    assert shadow.candidate == 2
    _raises(PolicyViolation, lambda: deployments.promote("gated-live"))
    assert deployments.get("gated-live").stable == first.version
    assert registry.get_version("gated", second.version).stage == Stage.NONE
    registry.approve("gated", second.version, "looks right")
    assert deployments.promote("gated-live", "shadow agreed").stable == second.version
    assert registry.get_version("gated", second.version).stage == Stage.PRODUCTION
    assert registry.get_version("gated", first.version).stage == Stage.ARCHIVED
    entered = [e for e in registry.history("gated") if e.to_value == Stage.PRODUCTION.value]
    assert "deployment gated-live serves it to all traffic (promote)" in entered[-1].reason
    assert deployments.rollback("gated-live", "regression").stable == first.version
    assert registry.get_version("gated", first.version).stage == Stage.PRODUCTION
    registry.set_policy("gated", required_approvals=1, unapproved_strategies=("canary",))
    third = _registered(session, "gated")
    allowed = deployments.deploy(
        "gated-live", model="gated", version=third.version, strategy="canary", weight=10
    )
    assert allowed.candidate == third.version
    assert registry.get_model("gated").unapproved_strategies == ("canary",)


def check_prediction_log_and_monitoring(session: Session) -> None:
    from shipway.serving.prediction_log import Logged

    version = _registered(session)
    session.deployments.deploy("live", model="churn", version=version.version)
    model = session.registry.load(version.uri)
    log = session.predictions.writer()
    now = time.time()
    traffic = _frame(400, shift=2.0, seed=3)  # feature "a" has drifted
    prepared = model.prepare(traffic[["a", "b"]])
    outputs = [int(v) for v in model.predict_prepared(prepared)]
    versions = [version.version] * 400
    scorer = model.score_prepared
    log.append_predictions(
        "live", Logged("req-1", now, versions, 1.5, prepared, outputs, scorer=scorer)
    )
    log.close()
    labels = [
        {"request_id": "req-1", "row": i, "label": int(y)} for i, y in enumerate(traffic["y"])
    ]
    assert session.predictions.log_ground_truth("live", labels) == 400
    logged = session.predictions.read("live")
    assert len(logged) == 400 and set(logged["request_id"]) == {"req-1"}
    assert len(session.predictions.read("live", "ground_truth")) == 400
    narrow = session.predictions.read("live", columns=["request_id", "output"])
    assert list(narrow.columns) == ["request_id", "output"]
    profile = session.predictions.traffic_profile("live", version=version.version)
    assert profile is not None and profile.rows == 400
    from shipway.monitoring.rules import AlertRule

    rule = AlertRule("drifted", "data_drift.share_drifted", ">=", 0.5, min_rows=50)
    (report,) = session.monitoring.monitor("live", window="day", label="y", rules=[rule])
    assert report.rows == 400 and "a" in report.data_drift["drifted_columns"]
    assert report.realised is not None and report.realised["rows"] == 400
    (verdict,) = report.extra["rules"]
    assert verdict["rule"] == "drifted" and verdict["breached"] is True
    if session.is_remote:  # a request's rules only check: its alerts come from the server's own
        assert session.alerts.list(deployment="live") == []
    else:
        (alert,) = session.alerts.list(deployment="live")
        assert (alert.rule, alert.status) == ("drifted", "open")
        assert session.alerts.acknowledge(alert.alert_id).acknowledged_by == session.actor
        assert session.alerts.resolve(alert.alert_id).status == "resolved"
        assert session.alerts.list(deployment="live") == []
        assert len(session.alerts.list(deployment="live", include_resolved=True)) == 1
    page = session.monitoring.report("live", window="day", label="y")
    assert page.startswith("<!doctype html>") and "drifted" in page
    _raises(InvalidArgument, lambda: session.monitoring.monitor("live", window="0"))


def check_tokens(session: Session) -> None:
    secret, info = session.tokens.create("scorer", "predict")
    assert secret.startswith("sw_") and info.role == "predict"
    assert "scorer" in [t.user for t in session.tokens.list()]
    found = session.tokens.verify(secret)
    assert found is not None and found.user == "scorer"
    assert session.tokens.verify("sw_" + "0" * 32 + "_nope") is None
    session.tokens.revoke(info.token_id)
    assert session.tokens.verify(secret) is None
    _raises(InvalidArgument, lambda: session.tokens.create("x", "overlord"))


SESSION_CHECKS = [
    check_datasets,
    check_deployments,
    check_deployment_policy,
    check_prediction_log_and_monitoring,
    check_tokens,
]
