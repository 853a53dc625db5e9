"""The fluent tracking API as a user writes it."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipway.errors import Conflict, FilterSyntaxError, InvalidArgument
from shipway.types import RunStatus
from tests.cli.conftest import cli  # noqa: F401 - the fixture


def test_run_context_manager_finishes_and_fails(sw: Any) -> None:
    with sw.start_run(experiment="e", name="ok", params={"lr": 0.1}, tags={"team": "x"}) as run:
        sw.log_metric("loss", 0.5, step=1)
    info = sw.get_run(run.run_id)
    assert (
        info.status == RunStatus.FINISHED
        and info.params == {"lr": "0.1"}
        and info.tags["team"] == "x"
    )
    assert info.metrics == {"loss": 0.5}
    with pytest.raises(ZeroDivisionError), sw.start_run(experiment="e") as failing:
        1 / 0  # noqa: B018
    assert sw.get_run(failing.run_id).status == RunStatus.FAILED
    assert sw.active_run() is None


def test_nested_runs_know_their_parent(sw: Any) -> None:
    with sw.start_run(experiment="e") as parent:
        with sw.start_run(name="child") as child:
            assert sw.active_run() is child
        assert sw.active_run() is parent
    info = sw.get_run(child.run_id)
    assert info.parent_run_id == parent.run_id and info.experiment_id == parent.experiment_id
    with sw.start_run(), pytest.raises(InvalidArgument, match="still active"):
        sw.start_run(nested=False)


def test_metric_history_keeps_every_value(sw: Any) -> None:
    with sw.start_run() as run:
        for step in range(100):
            sw.log_metric("loss", 1 / (step + 1), step=step)
        sw.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
    history = sw.get_metric_history(run.run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert history[-1].value == pytest.approx(0.01)
    assert sw.get_run(run.run_id).metrics == {"loss": pytest.approx(0.01), "acc": 0.9, "f1": 0.8}


def test_buffered_metrics_are_written_within_the_flush_interval(sw: Any) -> None:
    with sw.start_run() as run:
        sw.log_metric("x", 1.0)
        store = sw.session.current().tracking.store
        deadline = time.monotonic() + 5
        while not store.get_run(run.run_id).metrics and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the background writer, not timing it
        assert store.get_run(run.run_id).metrics == {"x": 1.0}


def test_params_are_write_once(sw: Any) -> None:
    with sw.start_run() as run:
        sw.log_param("depth", 3)
        sw.log_param("depth", 3)
        with pytest.raises(Conflict, match="write-once"):
            sw.log_param("depth", 4)
    assert sw.get_run(run.run_id).params == {"depth": "3"}


def test_a_diverging_loss_does_not_end_the_run(sw: Any, cli: Any) -> None:  # noqa: F811
    with sw.start_run() as run:
        sw.log_metric("loss", 0.7, step=0)
        sw.log_metric("loss", float("nan"), step=1)
        sw.log_metric("grad", float("inf"))
    got = sw.get_run(run.run_id)
    assert math.isnan(got.metrics["loss"]) and got.metrics["grad"] == math.inf
    assert got.status == "FINISHED"
    shown = cli("runs", "show", run.run_id[:8])
    assert "nan" in shown and "inf" in shown
    listed = json.loads(cli("runs", "show", run.run_id, "--json"))
    assert listed["run"]["metrics"] == {"loss": "NaN", "grad": "Infinity"}


def test_bad_metric_values_fail_at_the_call(sw: Any) -> None:
    with sw.start_run():
        with pytest.raises(InvalidArgument, match="must be a number"):
            sw.log_metric("loss", "high")
        with pytest.raises(InvalidArgument, match="whole number"):
            sw.log_metric("loss", 1.0, step=1.5)


def test_environment_is_captured(sw: Any) -> None:
    sw.seed_everything(7)
    with sw.start_run() as run:
        pass
    tags = sw.get_run(run.run_id).tags
    assert tags["shipway.seed"] == "7"
    assert tags["shipway.python"].count(".") == 2
    assert "shipway.package.pandas" in tags and "shipway.command" in tags
    client = sw.session.current().tracking
    environment = client.get_environment(run.run_id)
    assert environment["packages"]["pandas"] == tags["shipway.package.pandas"]
    with sw.start_run() as second:
        pass
    assert sw.get_run(second.run_id).tags["shipway.environment"] == tags["shipway.environment"], (
        "stored once, shared"
    )


def test_artifacts_dict_table_figure(sw: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.txt").write_text("a")
    with sw.start_run() as run:
        sw.log_artifact(tmp_path / "notes.txt")
        sw.log_artifact(tmp_path / "plots", "extra")
        sw.log_dict({"a": 1}, "config.json")
        sw.log_dict({"a": 1}, "config.yaml")
        sw.log_table(pd.DataFrame({"x": [1, 2]}), "table.parquet")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, _ = plt.subplots()
        sw.log_figure(figure, "plot.png")
    client = sw.session.current().tracking
    paths = {a.path for a in client.list_artifacts(run.run_id)}
    assert {
        "notes.txt",
        "extra/plots/a.txt",
        "config.json",
        "config.yaml",
        "table.parquet",
        "plot.png",
    } <= paths
    out = client.download_artifacts(run.run_id, "table.parquet", tmp_path / "dl")
    assert pd.read_parquet(out)["x"].tolist() == [1, 2]
    assert (
        client.download_artifacts(run.run_id, "plot.png", tmp_path / "dl").read_bytes()[:4]
        == b"\x89PNG"
    )


def test_log_dataset_records_lineage(sw: Any, tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2, 3]})
    with sw.start_run() as run:
        version = sw.log_dataset("train", df)
        again = sw.log_dataset("train", df.copy())  # same content, same version
        df.to_parquet(tmp_path / "v.parquet")
        sw.log_dataset("valid", tmp_path / "v.parquet", role="validation")
        run.log_dataset("hashed-only", df, snapshot=False)
    assert again.version == version.version == 1 and version.digest.startswith("blake3:")
    inputs = sw.get_run(run.run_id).inputs
    assert sorted((i.name, i.role, i.rows) for i in inputs) == [
        ("hashed-only", "train", 3),
        ("train", "train", 3),
        ("valid", "validation", 3),
    ]
    changed = pd.DataFrame({"a": [1, 2, 4]})
    with sw.start_run():
        assert sw.log_dataset("train", changed).version == 2


def test_search_runs_frame_and_list(sw: Any) -> None:
    for i in range(6):
        with sw.start_run(experiment="s", params={"model": "ab"[i % 2], "lr": 0.1 * (i + 1)}):
            sw.log_metric("auc", 0.5 + i / 20)
    frame = sw.search_runs(
        "s", filter="metrics.auc >= 0.6 and params.model = 'a'", order_by=["metrics.auc DESC"]
    )
    assert list(frame["params.model"]) == ["a", "a"]
    assert list(frame["metrics.auc"]) == pytest.approx([0.7, 0.6])
    assert {"run_id", "status", "start_time", "tags.shipway.python"} <= set(frame.columns)
    runs = sw.search_runs("s", filter="params.lr > 0.45 or params.model = 'b'", output="list")
    assert len(runs) == 4
    empty = sw.search_runs("s", filter="metrics.auc > 2")
    assert len(empty) == 0 and "run_id" in empty.columns
    with pytest.raises(FilterSyntaxError):
        sw.search_runs("s", filter="metrics.auc >")


def test_logging_outside_a_run_starts_one_as_mlflow_does(sw: Any) -> None:
    """Issue 23, item 20: sw.log_metric with no run started a run, not an error."""
    sw.log_metric("loss", 0.25, step=1)
    sw.log_param("lr", 0.1)
    run = sw.active_run()
    assert run is not None, "the run stays active until sw.end_run()"
    sw.end_run()
    found = sw.get_run(run.run_id)
    assert found.status.value == "FINISHED" and found.params == {"lr": "0.1"}
    assert sw.get_metric_history(run.run_id, "loss")[0].value == 0.25
    assert sw.active_run() is None
