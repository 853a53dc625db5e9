"""The registry as a user drives it: register, promote, approve, alias, rollback, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipway.errors import IntegrityError, InvalidArgument, NotFound, PolicyViolation
from shipway.types import Stage


def _train(sw: Any, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["a"] + X["b"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    with sw.start_run(experiment="reg", params={"seed": seed}) as run:
        sw.log_dataset("train", X)
        sw.log_metric("auc", 0.9)
        run.log_model(model, "model", input_example=X.head(3))
    return run, X


def _as_user(sw: Any, user: str) -> None:
    """The fluent API acts as ``user`` from now on (the same stores)."""
    sw.session._current = sw.session.current().acting_as(user)


def test_register_records_lineage_and_loads_by_every_uri(sw: Any) -> None:
    run, X = _train(sw)
    v1 = sw.register_model(run, "churn", description="first")
    assert (v1.name, v1.version, v1.stage) == ("churn", 1, Stage.NONE)
    assert v1.lineage["run_id"] == run.run_id and v1.lineage["metrics"] == {"auc": 0.9}
    assert v1.lineage["datasets"][0]["name"] == "train" and v1.lineage["params"] == {"seed": "0"}
    sw.promote("churn", 1, to="production")
    sw.set_alias("churn", "champion", 1)
    expected = sw.load_model(f"runs:/{run.run_id}/model").predict(X)
    for uri in (
        "models:/churn/1",
        "models:/churn@production",
        "models:/churn@champion",
        "models:/churn",
    ):
        assert list(sw.load_model(uri).predict(X)) == list(expected)


def test_one_production_version_and_rollback(sw: Any) -> None:
    for seed in range(3):
        run, _ = _train(sw, seed)
        sw.register_model(run.run_id, "m")
    sw.promote("m", 1, to="production", reason="first")
    sw.promote("m", 2, to="production", reason="better")
    assert sw.get_model_version("m", 1).stage == Stage.ARCHIVED
    back = sw.rollback("m", reason="v2 misbehaves")
    assert back.version == 1 and back.stage == Stage.PRODUCTION
    assert sw.get_model_version("m", 2).stage == Stage.ARCHIVED
    last = sw.model_history("m")[-1]
    assert (last.action, last.to_value, last.reason, last.actor) == (
        "rollback",
        "production",
        "v2 misbehaves",
        "tester",
    )


def test_rollback_needs_a_previous_version(sw: Any) -> None:
    run, _ = _train(sw)
    sw.register_model(run, "m")
    with pytest.raises(InvalidArgument, match="no production version"):
        sw.rollback("m")
    sw.promote("m", 1, to="production")
    with pytest.raises(InvalidArgument, match="nothing to roll back"):
        sw.rollback("m")


def test_approvals_policy_and_two_person_rule(sw: Any) -> None:
    run, _ = _train(sw)
    sw.register_model(run, "risk")  # registered by "tester"
    sw.set_policy("risk", required_approvals=2, two_person_rule=True)
    with pytest.raises(PolicyViolation, match="needs 2 approval"):
        sw.promote("risk", 1, to="production")
    with pytest.raises(PolicyViolation, match="two-person rule"):
        sw.approve("risk", 1)
    _as_user(sw, "alice")
    sw.approve("risk", 1, comment="checked fairness")
    with pytest.raises(PolicyViolation, match="has 1"):
        sw.promote("risk", 1, to="production")
    _as_user(sw, "bob")
    sw.approve("risk", 1)
    assert sw.promote("risk", 1, to="production", reason="approved").stage == Stage.PRODUCTION
    actions = [(e.action, e.actor) for e in sw.model_history("risk")]
    assert (
        ("approve", "alice") in actions
        and ("approve", "bob") in actions
        and actions[-1] == ("transition", "bob")
    )


def test_register_errors_say_what_to_fix(sw: Any) -> None:
    with sw.start_run() as bare:
        pass
    with pytest.raises(NotFound, match="logged no model"):
        sw.register_model(bare, "x")
    run, _ = _train(sw)
    with pytest.raises(NotFound, match="no model at 'nope'"):
        sw.register_model(f"runs:/{run.run_id}/nope", "x")
    with pytest.raises(InvalidArgument, match="models:/NAME/VERSION"):
        sw.load_model("churn:1")
    with pytest.raises(NotFound, match="no registered model"):
        sw.load_model("models:/missing@production")
    sw.register_model(run, "x")
    with pytest.raises(NotFound, match="no version with alias or stage 'production'"):
        sw.load_model("models:/x@production")
    with pytest.raises(InvalidArgument, match="unknown stage"):
        sw.promote("x", 1, to="prod")
    with pytest.raises(InvalidArgument, match="stage name"):
        sw.set_alias("x", "production", 1)


def test_tampered_model_refuses_to_load(sw: Any) -> None:
    run, _ = _train(sw)
    sw.register_model(run, "t")
    client = sw.session.current().tracking
    root = Path(client.stores.artifacts.root)
    pickled = next(
        p
        for p in root.rglob("*")
        if p.is_file() and p.parent.name == "model" and p.suffix in (".pkl", ".joblib")
    )
    data = bytearray(pickled.read_bytes())
    data[-2] ^= 0xFF
    pickled.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="altered"):
        sw.load_model("models:/t/1")


def test_registration_keeps_the_training_schema_and_reference(sw: Any) -> None:
    run, X = _train(sw)  # logs X as the versioned "train" dataset
    version = sw.register_model(run, "with-schema")
    assert version.lineage["reference"] == {"dataset": "train", "version": 1}
    assert [c["name"] for c in version.lineage["schema"]["columns"]] == ["a", "b"]
    assert (
        version.lineage["datasets"][0]["version"] == 1
        and "schema" not in version.lineage["datasets"][0]
    )
    schema = sw.Schema.from_dict(version.lineage["schema"])
    assert sw.validate(X, schema).ok
