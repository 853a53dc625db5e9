"""Checks for metadata backends (tracking and registry)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from shipway.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PolicyViolation
from shipway.store import Stores, schema
from shipway.types import Metric, RunStatus, Stage


def _raises(error: type[Exception], fn: Callable[[], Any]) -> Exception:
    try:
        fn()
    except error as exc:
        return exc
    raise AssertionError(f"expected {error.__name__}")


def _run(stores: Stores, experiment: str = "exp", **kwargs: Any) -> Any:
    exp = stores.tracking.get_or_create_experiment(experiment)
    return stores.tracking.create_run(
        exp.experiment_id,
        name=kwargs.pop("name", None),
        user="tester",
        artifact_root=stores.artifacts.root,
        **kwargs,
    )


def check_experiments(stores: Stores) -> None:
    created = stores.tracking.create_experiment("churn", {"team": "growth"})
    assert stores.tracking.get_experiment("churn") == created
    assert stores.tracking.get_experiment(created.experiment_id).name == "churn"
    _raises(AlreadyExists, lambda: stores.tracking.create_experiment("churn"))
    _raises(NotFound, lambda: stores.tracking.get_experiment("nope"))
    assert [e.name for e, _ in stores.tracking.list_experiments()] == ["churn"]


def check_run_lifecycle(stores: Stores) -> None:
    run = _run(stores, params={"lr": 0.1}, tags={"team": "a"})
    got = stores.tracking.get_run(run.run_id)
    assert (
        got.status == RunStatus.RUNNING
        and got.params == {"lr": "0.1"}
        and got.tags == {"team": "a"}
    )
    stores.tracking.end_run(run.run_id, RunStatus.FAILED)
    ended = stores.tracking.get_run(run.run_id)
    assert ended.status == RunStatus.FAILED and ended.end_time is not None
    child = _run(stores, parent_run_id=run.run_id)
    assert stores.tracking.child_runs(run.run_id) == [child.run_id]


def check_params_write_once(stores: Stores) -> None:
    run = _run(stores)
    stores.tracking.log_batch(run.run_id, params={"depth": 3})
    stores.tracking.log_batch(run.run_id, params={"depth": "3"})  # same value: fine
    before = stores.tracking.get_run(run.run_id)
    _raises(
        Conflict,
        lambda: stores.tracking.log_batch(
            run.run_id, metrics=[Metric("m", 1.0)], params={"depth": 4, "new": 1}
        ),
    )
    after = stores.tracking.get_run(run.run_id)
    assert after.params == before.params == {"depth": "3"}, "a rejected batch must write nothing"
    assert after.metrics == {}


def check_metric_history(stores: Stores) -> None:
    run = _run(stores)
    stores.tracking.log_batch(
        run.run_id, [Metric("loss", 1.0 / (i + 1), i, 1000.0 + i) for i in range(50)]
    )
    stores.tracking.log_batch(
        run.run_id, [Metric("loss", 9.0, 10, 2000.0)]
    )  # an older step logged late
    history = stores.tracking.get_metric_history(run.run_id, "loss")
    assert len(history) == 51
    assert [m.step for m in history] == sorted(m.step for m in history)
    assert stores.tracking.get_run(run.run_id).metrics["loss"] == 1.0 / 50, (
        "latest = value at the highest step"
    )


def check_sampled_metric_history(stores: Stores) -> None:
    """A long history in buckets of equal step ranges, its extremes kept, NaN left out;
    a short one step by step; and a table's columns from the newest runs."""
    run = _run(stores, params={"depth": 3}, tags={"team": "a"})
    values = [Metric("loss", 5.0 if i == 613 else float(i % 4), i, 1000.0 + i) for i in range(1000)]
    stores.tracking.log_batch(run.run_id, [*values, Metric("loss", math.nan, 1000, 3000.0)])
    buckets = stores.tracking.sampled_metric_history(run.run_id, "loss", 10)
    assert [(b.step, b.last_step, b.count) for b in buckets] == [
        (i * 100, i * 100 + 99, 100) for i in range(10)
    ], "ten buckets of 100 steps; the NaN in none"
    assert buckets[6].max == 5.0 and buckets[6].min == 0.0 and buckets[0].max == 3.0
    assert math.isclose(buckets[0].value, 1.5)
    whole = stores.tracking.sampled_metric_history(run.run_id, "loss", 5000)
    assert len(whole) == 1000 and whole[613].value == 5.0 and whole[613].count == 1
    assert stores.tracking.sampled_metric_history(run.run_id, "absent", 10) == []
    _raises(InvalidArgument, lambda: stores.tracking.sampled_metric_history(run.run_id, "loss", 0))
    _raises(NotFound, lambda: stores.tracking.sampled_metric_history("0" * 32, "loss", 10))
    experiment = stores.tracking.get_experiment("exp").experiment_id
    assert stores.tracking.run_columns([experiment]) == {
        "params": ["depth"],
        "metrics": ["loss"],
        "tags": ["team"],
    }


def check_bad_values_rejected(stores: Stores) -> None:
    run = _run(stores)
    _raises(InvalidArgument, lambda: stores.tracking.log_batch(run.run_id, [Metric("", 1.0)]))
    _raises(InvalidArgument, lambda: stores.tracking.log_batch(run.run_id, [Metric("x", "abc")]))  # type: ignore[arg-type]
    _raises(NotFound, lambda: stores.tracking.log_batch("0" * 32, [Metric("x", 1.0)]))
    assert stores.tracking.get_run(run.run_id).metrics == {}


def check_search(stores: Stores) -> None:
    exp = stores.tracking.get_or_create_experiment("search")
    for i in range(12):
        run = stores.tracking.create_run(
            exp.experiment_id,
            name=f"r{i}",
            user="tester",
            artifact_root=stores.artifacts.root,
            params={"model": "xyz"[i % 3], "lr": 10 ** -(i % 4)},
        )
        stores.tracking.log_batch(run.run_id, [Metric("acc", i / 10)])
    found = stores.tracking.search_runs(
        [exp.experiment_id], "metrics.acc > 0.5 and params.model = 'x'"
    )
    assert sorted(r.name for r in found) == ["r6", "r9"]
    found = stores.tracking.search_runs(
        [exp.experiment_id], "(params.model = 'y' or params.model = 'z') and params.lr >= 0.1"
    )
    assert sorted(r.name for r in found) == ["r1", "r4", "r5", "r8"]
    ordered = stores.tracking.search_runs(
        [exp.experiment_id], None, ["metrics.acc DESC"], max_results=3
    )
    assert [r.name for r in ordered] == ["r11", "r10", "r9"]


def check_concurrent_versions(stores: Stores) -> None:
    run = _run(stores)
    numbers: list[int] = []
    failures: list[BaseException] = []

    def register() -> None:
        try:
            v = stores.registry.create_version(
                "m", source=f"runs:/{run.run_id}/model", run_id=run.run_id, actor="a", lineage={}
            )
            numbers.append(v.version)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(numbers) == list(range(1, 9))


def check_stages_and_audit(stores: Stores) -> None:
    reg = stores.registry
    run = _run(stores)
    for _ in range(2):
        reg.create_version(
            "churn",
            source=f"runs:/{run.run_id}/model",
            run_id=run.run_id,
            actor="alice",
            lineage={},
        )
    reg.transition("churn", 1, Stage.PRODUCTION, actor="bob", reason="first")
    reg.transition("churn", 2, Stage.PRODUCTION, actor="bob", reason="better")
    stages = {v.version: v.stage for v in reg.list_versions("churn")}
    assert stages == {1: Stage.ARCHIVED, 2: Stage.PRODUCTION}, "one production version at most"
    assert reg.resolve("churn", "production").version == 2
    reg.set_alias("churn", "champion", 2, actor="bob")
    assert reg.resolve("churn", "champion").version == 2
    events = reg.history("model:churn")
    assert [e.action for e in events] == [
        "create_model",
        "register",
        "register",
        "transition",
        "transition",
        "transition",
        "set_alias",
    ]
    assert (
        events[-2].to_value == "production"
        and events[-2].reason == "better"
        and events[-2].actor == "bob"
    )
    assert reg.production_history("churn") == [1, 2]


def check_audit_append_only(stores: Stores) -> None:
    import sqlalchemy as sa

    stores.registry.record_event("thing", "poke", actor="a")
    try:
        with stores.db.write() as conn:
            conn.execute(schema.audit_log.delete())
    except sa.exc.DatabaseError:
        pass
    else:
        raise AssertionError("deleting from the audit log must fail")
    assert len(stores.registry.history("thing")) == 1


def check_guard_rolls_back(stores: Stores) -> None:
    run = _run(stores)
    stores.registry.create_version(
        "g", source=f"runs:/{run.run_id}/model", run_id=run.run_id, actor="a", lineage={}
    )

    def refuse(*_: Any) -> None:
        raise PolicyViolation("no")

    _raises(
        PolicyViolation,
        lambda: stores.registry.transition("g", 1, Stage.PRODUCTION, actor="a", guard=refuse),
    )
    assert stores.registry.get_version("g", 1).stage == Stage.NONE
    assert [e.action for e in stores.registry.history("model:g")] == ["create_model", "register"]


METADATA_CHECKS: list[Callable[[Any], None]] = [
    check_experiments,
    check_run_lifecycle,
    check_params_write_once,
    check_metric_history,
    check_sampled_metric_history,
    check_bad_values_rejected,
    check_search,
    check_concurrent_versions,
    check_stages_and_audit,
    check_audit_append_only,
    check_guard_rolls_back,
]
