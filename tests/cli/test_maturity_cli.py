"""``shipway maturity``: the level a project has reached, each capability with its evidence,
and the next step, from an empty store to the whole loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.serving.conftest import register_churn


def test_the_level_rises_with_the_evidence_and_names_the_next_step(
    tmp_path: Path, cli: Any
) -> None:
    import shipway as sw
    from shipway.session import current
    from shipway.store.loop_store import LoopState, LoopStore

    def level() -> dict[str, Any]:
        return dict(json.loads(cli("maturity", "--json")))

    empty = level()
    assert empty["level"] == 0 and "sw.start_run" in empty["next_step"]
    assert not any(c["holds"] for c in empty["capabilities"])

    from tests.pipelines import steps_for_tests as steps

    steps.retrain.run(rows=50)  # a pipeline: tracked runs and training as a pipeline
    found = level()
    assert found["level"] == 1 and "shipway models register" in found["next_step"]

    register_churn(sw)
    sw.promote("churn", 1, to="production", reason="the first")
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("jobs:\n  test:\n    steps:\n      - run: pytest\n")
    found = level()
    data = next(c for c in found["capabilities"] if c["name"] == "data validated in CI")
    assert not data["holds"] and "validate(s) no data" in data["evidence"]
    workflow.write_text("jobs:\n  data:\n    steps:\n      - run: shipway data validate x\n")
    sw.deploy("churn-live", model="churn", version=1)
    (tmp_path / "shipway.toml").write_text(
        '[[alerts]]\nname = "drift"\nmetric = "data_drift.share_drifted"\nop = ">="\n'
        "threshold = 0.3\n"
    )
    current().close()
    from shipway import session as context

    context._current = None  # read shipway.toml anew
    found = level()
    assert found["level"] == 2, found
    assert "[loops.DEPLOYMENT]" in found["next_step"]

    store = LoopStore(current().stores.db)
    store.save(LoopState("churn-live"), actor="shipway-controller", action="loop:training")
    current().registry.set_policy("churn", required_approvals=1, unapproved_strategies=("canary",))
    sw.deploy("churn-live", model="churn", version=2, strategy="canary", weight=10)
    found = level()
    assert found["level"] == 3 and found["next_step"] is None
    text = cli("maturity")
    assert "level 3 of 3" in text and "next: nothing" in text


def test_maturity_refuses_a_project_folder_that_is_not_there(cli: Any) -> None:
    out = cli("maturity", "--project", "nowhere", code=2)
    assert "no folder nowhere" in out and "Traceback" not in out
