"""Checks for tracking and registry backends: the local stores and a remote server alike.

Each check takes a fresh, empty :class:`~shipway.tracking.backend.TrackingBackend`, the
:class:`~shipway.registry.backend.RegistryBackend` on the same backend, and the
:class:`~shipway.store.Stores` that finally keep the data (the server's, for a remote
backend: only the tamper check touches them). The checks use only the interface both
backends implement, so that the two cannot drift apart.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.errors import (
    AlreadyExists,
    Conflict,
    FilterSyntaxError,
    IntegrityError,
    InvalidArgument,
    NotFound,
    PolicyViolation,
)
from shipway.registry.backend import RegistryBackend
from shipway.store import Stores
from shipway.tracking.backend import TrackingBackend
from shipway.tracking.model_logging import log_model
from shipway.types import RunStatus, Stage


def _raises(error: type[Exception], fn: Callable[[], Any]) -> Exception:
    try:
        fn()
    except error as exc:
        return exc
    raise AssertionError(f"expected {error.__name__}")


def check_experiments(tracking: TrackingBackend, registry: RegistryBackend, stores: Stores) -> None:
    created = tracking.create_experiment("churn", {"team": "growth"})
    assert tracking.get_experiment("churn") == created
    assert tracking.get_experiment(created.experiment_id).name == "churn"
    assert created.tags == {"team": "growth"}
    _raises(AlreadyExists, lambda: tracking.create_experiment("churn"))
    _raises(NotFound, lambda: tracking.get_experiment("nope"))
    assert [(e.name, n) for e, n in tracking.list_experiments()] == [("churn", 0)]


def check_runs_and_values(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    run = tracking.create_run("exp", name="first", params={"lr": 0.1}, tags={"team": "a"})
    assert run.status == RunStatus.RUNNING and run.params == {"lr": "0.1"}
    assert run.tags["team"] == "a" and "shipway.python" in run.tags
    for step in range(300):  # buffered: none of these waits on a write
        tracking.log_metric(run.run_id, "loss", 1.0 / (step + 1), step=step)
    tracking.log_metrics(run.run_id, {"auc": 0.9, "f1": 0.7})
    history = tracking.get_metric_history(run.run_id, "loss")  # reads flush first
    assert [m.step for m in history] == list(range(300))
    tracking.log_params(run.run_id, {"depth": 3})
    tracking.log_params(run.run_id, {"depth": "3"})  # the same value again is fine
    _raises(Conflict, lambda: tracking.log_params(run.run_id, {"depth": 4, "new": 1}))
    got = tracking.get_run(run.run_id)
    assert got.params == {"lr": "0.1", "depth": "3"}, "a refused batch writes nothing"
    assert got.metrics == {"loss": 1.0 / 300, "auc": 0.9, "f1": 0.7}
    _raises(InvalidArgument, lambda: tracking.log_metric(run.run_id, "x", "abc"))
    _raises(InvalidArgument, lambda: tracking.log_metric(run.run_id, "", 1.0))
    _raises(InvalidArgument, lambda: tracking.end_run(run.run_id, "DONE"))
    _raises(NotFound, lambda: tracking.get_run("0" * 32))
    child = tracking.create_run("exp", parent_run_id=run.run_id)
    assert child.parent_run_id == run.run_id
    tracking.end_run(run.run_id, "failed")
    ended = tracking.get_run(run.run_id)
    assert ended.status == RunStatus.FAILED and ended.end_time is not None
    env = tracking.get_environment(run.run_id)
    assert env["python"] and isinstance(env["packages"], dict)


def check_artifacts(tracking: TrackingBackend, registry: RegistryBackend, stores: Stores) -> None:
    run = tracking.create_run("art")
    tracking.log_dict(run.run_id, {"a": 1}, "config.yaml")
    tracking.log_text(run.run_id, "hello", "notes/readme.txt")
    tracking.log_table(run.run_id, {"x": [1, 2, 3]}, "tables/x.parquet")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        (folder / "sub").mkdir(parents=True)
        (folder / "weights.bin").write_bytes(b"\x00\x01" * 5000)
        (folder / "sub" / "meta.json").write_text("{}")
        tracking.log_artifact(run.run_id, folder)
        tracking.log_artifact(run.run_id, folder / "weights.bin", "single")
        listed = sorted(a.path for a in tracking.list_artifacts(run.run_id))
        assert listed == [
            "config.yaml",
            "model/sub/meta.json",
            "model/weights.bin",
            "notes/readme.txt",
            "single/weights.bin",
            "tables/x.parquet",
        ], listed
        assert [a.path for a in tracking.list_artifacts(run.run_id, "model/sub")] == [
            "model/sub/meta.json"
        ]
        back = tracking.download_artifacts(run.run_id, "model", Path(tmp) / "back")
        assert (back / "weights.bin").read_bytes() == b"\x00\x01" * 5000
        assert (back / "sub" / "meta.json").read_text() == "{}"
        one = tracking.download_artifacts(run.run_id, "config.yaml", Path(tmp) / "one")
        assert one.read_text().strip() == "a: 1"
    info, stream = tracking.open_artifact(run.run_id, "notes/readme.txt")
    with stream:
        assert stream.read() == b"hello" and info.size == 5
    _raises(InvalidArgument, lambda: tracking.log_text(run.run_id, "x", "../escape.txt"))
    _raises(InvalidArgument, lambda: tracking.log_text(run.run_id, "x", "/etc/passwd"))
    _raises(NotFound, lambda: tracking.download_artifacts(run.run_id, "nope"))
    _raises(NotFound, lambda: tracking.open_artifact(run.run_id, "nope.txt"))


def check_search(tracking: TrackingBackend, registry: RegistryBackend, stores: Stores) -> None:
    for i in range(12):
        run = tracking.create_run(
            "search",
            name=f"r{i}",
            params={"model": "xyz"[i % 3], "lr": 10 ** -(i % 4)},
            capture_environment=False,
        )
        tracking.log_metric(run.run_id, "acc", i / 10)
    found = tracking.search_runs(
        "search", "metrics.acc > 0.5 and params.model = 'x'", output="list"
    )
    assert sorted(r.name for r in found) == ["r6", "r9"]
    ordered = tracking.search_runs("search", None, ["metrics.acc DESC"], max_results=3)
    assert list(ordered["run_name"]) == ["r11", "r10", "r9"]
    assert ordered["metrics.acc"].tolist() == [1.1, 1.0, 0.9]
    error = _raises(FilterSyntaxError, lambda: tracking.search_runs("search", "metrics.acc >"))
    assert "position" in str(error)
    _raises(NotFound, lambda: tracking.search_runs("no-such-experiment"))


def check_non_finite_metrics(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    """A diverging loss is stored as NaN or an infinity, shown as such, and searched sanely:
    NaN matches no comparison and sorts after every number."""
    values = {"nan": math.nan, "up": math.inf, "down": -math.inf, "fine": 0.5}
    ids = {}
    for name, value in values.items():
        run = tracking.create_run("diverging", name=name, capture_environment=False)
        tracking.log_metric(run.run_id, "loss", 0.25, step=0)
        tracking.log_metric(run.run_id, "loss", value, step=1)
        ids[name] = run.run_id
    tracking.log_metrics(ids["fine"], {"grad": math.nan})
    history = tracking.get_metric_history(ids["nan"], "loss")
    assert history[0].value == 0.25 and math.isnan(history[1].value)
    assert math.isnan(tracking.get_run(ids["nan"]).metrics["loss"])
    assert tracking.get_run(ids["up"]).metrics["loss"] == math.inf
    assert tracking.get_run(ids["down"]).metrics["loss"] == -math.inf
    assert math.isnan(tracking.get_run(ids["fine"]).metrics["grad"])

    def names(query: str | None, order: list[str] | None = None) -> list[str]:
        return [r.name for r in tracking.search_runs("diverging", query, order, output="list")]

    assert sorted(names("metrics.loss < 1")) == ["down", "fine"]
    assert names("metrics.loss > 100") == ["up"]
    assert sorted(names("metrics.loss != 0.5")) == ["down", "up"], "NaN equals nothing"
    assert names(None, ["metrics.loss ASC"]) == ["down", "fine", "up", "nan"]
    assert names(None, ["metrics.loss DESC"]) == ["up", "fine", "down", "nan"]


def check_dataset_inputs(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    import pandas as pd

    run = tracking.create_run("data")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    digest = tracking.log_dataset(run.run_id, "customers", frame, role="train")
    (recorded,) = tracking.get_run(run.run_id).inputs
    assert (recorded.name, recorded.digest, recorded.role, recorded.rows) == (
        "customers",
        digest,
        "train",
        3,
    )


def _logged_model(tracking: TrackingBackend) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    model = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    run = tracking.create_run("models")
    tracking.log_metric(run.run_id, "auc", 0.9)
    log_model(tracking, run.run_id, model, "model", input_example=frame.head())
    tracking.end_run(run.run_id)
    return run, frame


def check_registry_lifecycle(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    run, frame = _logged_model(tracking)
    v1 = registry.register(run, "churn", description="first")
    v2 = registry.register(f"runs:/{run.run_id}/model", "churn")
    assert (v1.version, v2.version) == (1, 2) and v1.stage == Stage.NONE
    assert v1.lineage["run_id"] == run.run_id and v1.lineage["metrics"] == {"auc": 0.9}
    registry.promote("churn", 1, to="production", reason="first")
    registry.promote("churn", 2, to="production", reason="better")
    stages = {v.version: v.stage for v in registry.list_versions("churn")}
    assert stages == {1: Stage.ARCHIVED, 2: Stage.PRODUCTION}
    registry.set_alias("churn", "champion", 1)
    assert registry.resolve("models:/churn@champion").version == 1
    assert registry.resolve("models:/churn@production").version == 2
    assert registry.resolve("models:/churn@latest").version == 2
    assert registry.resolve("models:/churn/1").aliases == ("champion",)
    predictions = registry.load("models:/churn@champion").predict(frame)
    assert len(predictions) == len(frame)
    assert registry.rollback("churn", reason="latency").version == 1
    for mlflow_style in ("models:/churn/Production", "models:/churn@PRODUCTION"):
        assert registry.resolve(mlflow_style).version == 1, mlflow_style  # any case, as MLflow
    assert registry.resolve("models:/churn/latest").version == 2
    registry.delete_alias("churn", "champion", reason="retired")
    _raises(NotFound, lambda: registry.resolve("models:/churn@champion"))
    dropped = [e for e in registry.history("churn") if e.action == "delete_alias"]
    assert [e.reason for e in dropped] == ["retired"]
    [(model, count, _)] = registry.list_models()
    assert (model.name, count) == ("churn", 2)
    actions = [e.action for e in registry.history("churn")]
    assert actions[:3] == ["create_model", "register", "register"] and "rollback" in actions
    _raises(NotFound, lambda: registry.get_version("churn", 9))
    _raises(NotFound, lambda: registry.get_model("nope"))
    _raises(InvalidArgument, lambda: registry.promote("churn", 1, to="heaven"))
    _raises(NotFound, lambda: registry.register("0" * 32, "x"))


def check_registry_policy(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    run, _ = _logged_model(tracking)
    registry.register(run, "risk")
    registry.set_policy("risk", required_approvals=1, two_person_rule=True)
    assert registry.get_model("risk").required_approvals == 1
    error = _raises(PolicyViolation, lambda: registry.promote("risk", 1, to="production"))
    assert "approval" in str(error)
    _raises(PolicyViolation, lambda: registry.approve("risk", 1))  # the registrant may not
    assert registry.approvals("risk", 1) == []
    assert registry.get_version("risk", 1).stage == Stage.NONE, "a refused change writes nothing"


def check_tampered_model_refused(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    """A model whose stored bytes changed is refused before anything is unpickled."""
    run, _ = _logged_model(tracking)
    registry.register(run, "safe")
    files = [
        a for a in tracking.list_artifacts(run.run_id, "model") if not a.path.endswith(".json")
    ]
    biggest = max(files, key=lambda a: a.size)
    stores.artifacts.put_bytes(
        b"not the model", f"{run.experiment_id}/{run.run_id}/artifacts/{biggest.path}"
    )
    _raises(IntegrityError, lambda: registry.load("models:/safe/1"))


def check_concurrent_registrations(
    tracking: TrackingBackend, registry: RegistryBackend, stores: Stores
) -> None:
    run, _ = _logged_model(tracking)
    numbers: list[int] = []
    failures: list[BaseException] = []

    def register() -> None:
        try:
            numbers.append(registry.register(run, "many").version)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(numbers) == list(range(1, 7))


CLIENT_CHECKS = [
    check_experiments,
    check_runs_and_values,
    check_artifacts,
    check_search,
    check_non_finite_metrics,
    check_dataset_inputs,
    check_registry_lifecycle,
    check_registry_policy,
    check_tampered_model_refused,
    check_concurrent_registrations,
]
