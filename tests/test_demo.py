"""The demo runs end to end on a fresh store and leaves a production model behind."""

from __future__ import annotations

import re
from typing import Any

from shipway.types import Stage


def test_quick_demo_trains_registers_promotes_serves_and_monitors(sw: Any) -> None:
    from shipway.demo.loop import DEPLOYMENT
    from shipway.demo.run import MODEL_NAME, run_demo

    run_demo(quick=True)
    production = sw.get_model_version(MODEL_NAME, 1)
    assert "champion" in production.aliases
    promoted = [e for e in sw.model_history(MODEL_NAME) if e.to_value == "production"]
    assert promoted[0].actor == "tester"  # the demo promoted version 1; the loop the later ones
    serving = sw.get_model_version(MODEL_NAME, sw.get_deployment(DEPLOYMENT).stable)
    assert serving.stage == Stage.PRODUCTION
    assert production.lineage["metrics"]["roc_auc"] > 0.6
    assert {d["role"] for d in production.lineage["datasets"]} == {"train", "validation"}
    runs = sw.search_runs("flight-delay", filter="metrics.roc_auc > 0", output="list")
    assert len(runs) == 2 and all(
        len(sw.get_metric_history(r.run_id, "train_loss")) > 10 for r in runs
    )

    # then the model went to production and was watched there
    assert len(sw.read_predictions(DEPLOYMENT)) == 6 * 400, "six months through the model server"
    fired = {a.rule for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True)}
    assert "weather drift" in fired, "spring weather is not winter's"
    # and the loop retrained on the labelled traffic, judged each candidate at the gate
    gated = [e for e in sw.model_history(MODEL_NAME) if e.action.startswith("gate:")]
    assert gated and all(e.actor == "shipway-controller" for e in gated)
    assert all("labelled rows" in e.details["holdout"] for e in gated)
    retrained = sw.get_model_version(MODEL_NAME, 2)
    assert retrained.lineage["trigger"] and retrained.created_by == "shipway-controller"
    report = sw.session.current().settings.home / "reports" / f"{DEPLOYMENT}.html"
    page = report.read_text()
    assert page.startswith("<!doctype html>")
    assert "v1 100%" in page and re.search(r"v\d+ \d+%, v\d+ \d+%", page), "versions by window"

    # run again on the same store: it judges its own traffic, and its alerts fire anew
    first = {a.alert_id for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True)}
    run_demo(quick=True)
    again = [
        a
        for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True)
        if a.alert_id not in first
    ]
    assert "weather drift" in {a.rule for a in again}
    assert all(
        a.status == "resolved"
        for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True)
        if a.alert_id in first
    ), "the first run's alerts were closed, not left open"
