"""The step cache reuses, and so unpickles, only outputs stored by whoever runs the pipeline
or by users the configuration trusts: an editor who plants a cache entry runs nothing in
another user's pipeline (issue 22, item 2)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from shipway.config import PipelineSettings
from shipway.pipelines.runner import KEY, STEP
from tests.security.conftest import Secured


class _Payload:
    """What an attacker pickles: unpickling it runs a command."""

    def __init__(self, planted: Path) -> None:
        self.planted = planted

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.planted}",))


def _as(secured: Secured, user: str, trust: tuple[str, ...] = ()) -> Any:
    return secured.fluent(user, pipelines=PipelineSettings(trust_cache_from=trust))


def _step_runs(sw: Any, step: str) -> list[Any]:
    return [r for r in sw.search_runs("retrain", output="list") if r.tags.get(STEP) == step]


def test_an_editors_planted_output_is_never_reused_by_another_user(
    secured: Secured, tmp_path: Path
) -> None:
    from tests.pipelines.steps_for_tests import retrain

    with _as(secured, "alice") as sw:
        first = retrain.run(rows=50)
        (honest,) = _step_runs(sw, "train")
        assert honest.user == "alice"

    planted = tmp_path / "pwned"
    output = tmp_path / "output.pkl"
    output.write_bytes(pickle.dumps(_Payload(planted)))
    with _as(secured, "ed") as sw:  # reads alice's key, stores a newer entry under it
        key = _step_runs(sw, "train")[0].tags[KEY]
        with sw.start_run(experiment="retrain", tags={KEY: key, STEP: "train"}) as forged:
            sw.log_artifact(str(output))
        assert sw.get_run(forged.run_id).status == "FINISHED"

    said: list[str] = []
    with _as(secured, "alice") as sw:
        again = retrain.run(rows=50, say=said.append)
    assert not planted.exists(), "the planted pickle was never loaded"
    assert "train" in again.cached, "alice's own entry still serves her"
    assert f"train: cached (from run {honest.run_id[:12]})" in said
    assert not any(forged.run_id[:12] in line for line in said)
    assert again.returned is not None and first.returned is not None


def test_users_the_configuration_trusts_share_the_cache(secured: Secured) -> None:
    from tests.pipelines.steps_for_tests import retrain

    with _as(secured, "ed") as sw:
        retrain.run(rows=70)
        ed_train = _step_runs(sw, "train")[0]

    said: list[str] = []
    with _as(secured, "alice") as sw:
        retrain.run(rows=70, say=said.append)
    assert not any("cached" in line for line in said), "alice trusts no one: she runs it all"

    said.clear()
    with _as(secured, "apollo", trust=("ed",)) as sw:
        run = retrain.run(rows=70, say=said.append)
    assert "train" in run.cached
    assert f"train: cached (from run {ed_train.run_id[:12]})" in said
