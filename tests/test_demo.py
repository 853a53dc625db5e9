"""The demo runs end to end on a fresh store and leaves a production model behind."""

from __future__ import annotations

from typing import Any

from shipway.types import Stage


def test_quick_demo_trains_registers_and_promotes(sw: Any) -> None:
    from shipway.demo.run import MODEL_NAME, run_demo

    run_demo(quick=True)
    production = sw.get_model_version(MODEL_NAME, 1)
    assert production.stage == Stage.PRODUCTION and "champion" in production.aliases
    assert production.lineage["metrics"]["roc_auc"] > 0.6
    assert {d["role"] for d in production.lineage["datasets"]} == {"train", "validation"}
    runs = sw.search_runs("flight-delay", filter="metrics.roc_auc > 0", output="list")
    assert len(runs) == 2 and all(
        len(sw.get_metric_history(r.run_id, "train_loss")) > 10 for r in runs
    )
