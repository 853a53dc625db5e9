"""Pipelines as a user runs them: steps as nested runs with lineage, the cache, --from,
retries, parallel steps, failures, and the CLI in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import InvalidArgument, NotFound
from shipway.pipelines.runner import StepFailed
from tests.cli.conftest import cli  # noqa: F401 - the fixture
from tests.pipelines import steps_for_tests as steps

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    steps.calls.clear()
    steps.flaky_failures["left"] = 0


def test_a_run_is_tracked_step_by_step_with_lineage(sw: Any) -> None:
    run = steps.retrain.run(rows=300, c=0.5)
    assert run.cached == [] and steps.calls == {"load": 1, "features": 1, "summary": 1, "train": 1}
    parent = sw.get_run(run.run_id)
    assert parent.status.value == "FINISHED" and parent.params == {"rows": "300", "c": "0.5"}
    assert parent.tags["shipway.pipeline"] == "retrain"
    train = sw.get_run(run.steps["train"].run_id)
    assert train.parent_run_id == run.run_id and train.params == {"c": "0.5"}
    lineage = json.loads(train.tags["shipway.step.inputs"])
    assert lineage == {
        "frame": {"step": "features", "run_id": run.steps["features"].run_id},
        "summary": {"step": "summary", "run_id": run.steps["summary"].run_id},
    }
    probe = run.output("features")[["x", "x2"]].head(1)
    assert run.returned.predict(probe).shape == (1,), "the pipeline returns the model"
    artifacts = {
        a.path for a in sw.session.current().tracking.list_artifacts(run.steps["load"].run_id)
    }
    assert artifacts == {"output.parquet"}
    assert run.steps["summary"].value == {
        "rows": 300,
        "positive": pytest.approx(run.output("load")["y"].mean()),
    }


def test_the_cache_skips_unchanged_steps_and_reruns_what_changed(sw: Any) -> None:
    first = steps.retrain.run(rows=200)
    again = steps.retrain.run(rows=200)
    assert again.cached == ["load", "features", "summary", "train"]
    assert steps.calls == {"load": 1, "features": 1, "summary": 1, "train": 1}, "nothing ran twice"
    assert (
        sw.get_run(again.steps["train"].run_id).tags["shipway.step.cached_from"]
        == first.steps["train"].run_id
    )
    assert again.output("load").equals(first.output("load"))
    changed = steps.retrain.run(rows=200, c=3.0)
    assert changed.cached == ["load", "features", "summary"] and steps.calls["train"] == 2
    other_rows = steps.retrain.run(rows=201)
    assert other_rows.cached == [], "new rows: every step downstream of load sees new inputs"
    uncached = steps.retrain.run(rows=200, cache=False)
    assert uncached.cached == [] and steps.calls["load"] == 3
    from_features = steps.retrain.run(rows=200, from_step="features")
    assert from_features.cached == ["load"], "--from reruns that step and those after it"
    with pytest.raises(InvalidArgument, match="no step 'nope'.*its steps: load, features"):
        steps.retrain.run(rows=200, from_step="nope")


def test_a_step_whose_output_is_gone_runs_again(sw: Any) -> None:
    first = steps.retrain.run(rows=50)
    stores = sw.session.current().stores
    experiment = sw.get_run(first.run_id).experiment_id
    stores.artifacts.delete(f"{experiment}/{first.steps['load'].run_id}/artifacts")
    again = steps.retrain.run(rows=50)
    assert "load" not in again.cached and steps.calls["load"] == 2
    assert again.cached == ["features", "summary", "train"], "the same content: the rest is cached"


def test_the_cache_holds_however_many_times_a_run_is_repeated(sw: Any) -> None:
    steps.retrain.run(rows=60)
    for _ in range(8):  # reuses are runs too; they never crowd the original out of reach
        assert steps.retrain.run(rows=60).cached == ["load", "features", "summary", "train"]
    assert steps.calls == {"load": 1, "features": 1, "summary": 1, "train": 1}


@pytest.mark.parametrize("tampered", [b'{"rows": 999, "positive": 0.5}', b"not a pickle"])
def test_a_stored_output_changed_since_it_was_written_is_never_reused(
    sw: Any, tampered: bytes
) -> None:
    first = steps.retrain.run(rows=70)
    stores = sw.session.current().stores
    experiment = sw.get_run(first.run_id).experiment_id
    step = "summary" if tampered.startswith(b"{") else "train"
    (output,) = stores.artifacts.list(f"{experiment}/{first.steps[step].run_id}")
    stores.artifacts.put_bytes(tampered, output)  # the bytes change; the record does not
    said: list[str] = []
    from shipway.pipelines.runner import Runner

    original = Runner.__init__

    def listening(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.say = said.append

    import unittest.mock

    with unittest.mock.patch.object(Runner, "__init__", listening):
        again = steps.retrain.run(rows=70)
    assert step not in again.cached and steps.calls[step] == 2, "it ran again"
    assert any("has changed since it was written" in line for line in said), said
    if step == "summary":
        assert again.output("summary")["rows"] == 70  # not the tampered 999


def test_retries_then_failure_leave_a_failed_run_that_says_why(sw: Any) -> None:
    steps.flaky_failures["left"] = 2
    run = steps.retrain.run(rows=40)
    assert run.steps["train"].attempts == 3 and steps.calls["train"] == 3
    with pytest.raises(StepFailed, match="step 'broken' failed after 1 attempt.*column 'z'"):
        steps.failing.run(rows=10)
    (failed,) = [r for r in sw.search_runs("failing", output="list") if r.parent_run_id is None]
    assert failed.status.value == "FAILED"
    (broken,) = sw.search_runs("failing", "tags.`shipway.step` = 'broken'", output="list")
    assert broken.status.value == "FAILED" and "column 'z'" in broken.tags["shipway.step.error"]


def test_a_result_that_cannot_be_stored_fails_the_step_cleanly(sw: Any) -> None:
    with pytest.raises(StepFailed, match="returned a lock that cannot be stored"):
        steps.leaky.run(n=1)
    assert {r.status.value for r in sw.search_runs("leaky", output="list")} == {"FAILED"}


def test_independent_steps_run_at_the_same_time(sw: Any) -> None:
    assert steps.fan.run(n=3).returned == [4, 6]  # left and right wait for each other


def test_steps_outside_a_pipeline_are_plain_functions() -> None:
    assert steps.join(1, 2) == [1, 2]


def test_the_pipeline_command(
    cli: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = f"{HERE / 'steps_for_tests.py'}:retrain"
    out = cli("pipeline", "run", reference, "--param", "rows=120", "-p", "c=0.3")
    assert "0 of 4 step(s) from the cache" in out
    second = json.loads(
        cli("pipeline", "run", reference, "--param", "rows=120", "-p", "c=0.3", "--json")
    )
    assert all(s["cached"] for s in second["steps"].values())
    listed = cli("pipeline", "list", "retrain")
    assert second["run_id"][:12] in listed
    shown = cli("pipeline", "show", second["run_id"][:12])
    assert "cached" in shown and "features" in shown
    assert "not KEY=VALUE" in cli("pipeline", "run", reference, "--param", "rows", code=2)
    unknown = cli("pipeline", "run", reference, "--param", "bogus=1", code=2)
    assert "unexpected keyword argument 'bogus'" in unknown and "its parameters: rows, c" in unknown
    assert "Traceback" not in unknown
    (tmp_path / "boom.py").write_text("raise RuntimeError('the config server is down')\n")
    monkeypatch.chdir(tmp_path)
    broken = cli("pipeline", "run", "boom:train", code=2)
    assert "boom fails to load: RuntimeError: the config server is down (line 1)" in broken
    assert "Traceback" not in broken
    assert "module:function" in cli("pipeline", "run", "nothing", code=2)
    failed = cli("pipeline", "run", f"{HERE / 'steps_for_tests.py'}:failing", code=1)
    assert "step 'broken' failed after 1 attempt(s): column 'z' is missing" in failed
    assert "Traceback" not in failed


def test_parameters_are_checked_against_the_type_hints_before_anything_runs(
    sw: Any,
    cli: Any,  # noqa: F811
) -> None:
    """Issue 23, item 16: ``--param rows=abc`` for ``rows: int`` is one clear line."""
    reference = f"{HERE / 'steps_for_tests.py'}"
    typed = cli("pipeline", "run", f"{reference}:retrain", "--param", "rows=abc", code=2)
    assert "--param rows='abc': rows is int" in typed and "Traceback" not in typed
    loose = cli("pipeline", "run", f"{reference}:loose", "--param", "rows=abc", code=2)
    assert "step 'load': parameter 'rows' is int, not 'abc'" in loose
    with pytest.raises(InvalidArgument, match="parameter 'c' is float"):
        steps.retrain.run(rows=50, c="strong")
    with pytest.raises(NotFound):  # a refused run leaves nothing behind, not even its experiment
        sw.search_runs(experiment="retrain")
    assert steps.retrain.run(rows=50, c=1).returned is not None, "an int is a float"


def test_a_second_process_reuses_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(HERE.parents[1])}
    command = [
        str(Path(sys.executable).parent / "shipway"),
        "pipeline",
        "run",
        "tests.pipelines.steps_for_tests:retrain",
        "-p",
        "rows=80",
        "--json",
    ]
    runs = [
        json.loads(
            subprocess.run(
                command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(2)
    ]
    assert not any(s["cached"] for s in runs[0]["steps"].values())
    assert all(s["cached"] for s in runs[1]["steps"].values())


def test_the_ray_executor_gives_the_same_results_and_shares_the_cache(sw: Any) -> None:
    pytest.importorskip("ray")  # the extra; CI installs it
    local = steps.retrain.run(rows=90)
    on_ray = steps.retrain.run(rows=90, cache=False, executor="ray")
    assert on_ray.cached == []
    assert steps.calls["load"] == 1, "this process ran load once: on Ray it ran elsewhere"
    for name in ("load", "features", "summary", "train"):  # the model too: the same bytes
        assert on_ray.steps[name].digest == local.steps[name].digest, name
    assert steps.retrain.run(rows=90, executor="ray").cached == [
        "load",
        "features",
        "summary",
        "train",
    ]
    steps.flaky_failures["left"] = 0
    with pytest.raises(StepFailed, match="column 'z' is missing"):
        steps.failing.run(rows=5, executor="ray")
    with pytest.raises(InvalidArgument, match="unknown executor"):
        steps.retrain.run(rows=90, executor="dask")


def test_loading_a_pipeline_again_does_not_grow_the_import_path() -> None:
    """Issue 24: a long-running controller loads its pipeline at every training."""
    import sys

    from shipway.pipelines.pipeline import load

    before = list(sys.path)
    for _ in range(3):
        load("tests.pipelines.steps_for_tests:retrain")
        load(f"{HERE / 'steps_for_tests.py'}:retrain")
    assert sys.path == before


def _project(folder: Path, answer: int) -> Path:
    folder.mkdir()
    (folder / "features.py").write_text(f"ANSWER = {answer}\n")
    (folder / "train.py").write_text(
        "import features\n\n"
        "class Model:\n"
        "    def predict(self):\n"
        "        return features.ANSWER\n\n"
        "def retrain():\n"
        "    return Model()\n"
    )
    return folder / "train.py"


def test_two_projects_train_py_in_one_process_keep_their_own_code(tmp_path: Path) -> None:
    """Issue 24: a controller with two loops loads two projects' train.py; each is imported
    under a name unique to its path, with its own features.py, and neither replaces the
    other. What the file defines pickles with its code, since its name imports nowhere else."""
    import sys

    import cloudpickle

    from shipway.pipelines.pipeline import load

    first = load(f"{_project(tmp_path / 'churn', 1)}:retrain")
    second = load(f"{_project(tmp_path / 'fraud', 2)}:retrain")
    assert first.fn.__module__ != second.fn.__module__
    assert "train" not in sys.modules or sys.modules["train"].__file__ is None
    assert (first.fn().predict(), second.fn().predict()) == (1, 2)
    again = load(f"{tmp_path / 'churn' / 'train.py'}:retrain")
    assert again.fn.__module__ == first.fn.__module__ and again.fn().predict() == 1
    model = cloudpickle.loads(cloudpickle.dumps(second.fn()))
    assert model.predict() == 2
    del sys.modules[second.fn.__module__]  # as in a process that never loaded the file
    assert b"fraud" not in cloudpickle.dumps(first.fn())  # by value: no path, no name to import
