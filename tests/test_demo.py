"""The demo runs end to end on a fresh store and leaves a production model behind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shipway.types import Stage


def _look_at_commands() -> list[list[str]]:
    """The shipway commands of the README's block after "Look at what it did"."""
    import shlex

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    after = re.split(r"Look\s+at\s+what\s+it\s+did[^:]*:", readme, maxsplit=1)[1]
    block = after.split("```bash", 1)[1].split("```", 1)[0]
    commands = [
        shlex.split(line.split("#", 1)[0])[1:]
        for line in block.splitlines()
        if line.startswith(".venv/bin/shipway ")
    ]
    assert len(commands) >= 6, block
    return commands


def test_quick_demo_trains_registers_promotes_serves_and_monitors(
    sw: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipway.demo.loop import DEPLOYMENT
    from shipway.demo.run import MODEL_NAME, run_demo

    run_demo(quick=True)
    production = sw.get_model_version(MODEL_NAME, 1)
    serving = sw.get_model_version(MODEL_NAME, sw.get_deployment(DEPLOYMENT).stable)
    assert "champion" in serving.aliases, "the alias follows what the loop serves"
    promoted = [e for e in sw.model_history(MODEL_NAME) if e.to_value == "production"]
    assert promoted[0].actor == "tester"  # the demo promoted version 1; the loop the later ones
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
    charted = page.split("<h2>Model versions</h2>", 1)[1].split("<h2>", 1)[0]
    shown = set(re.findall(r">(v\d+)<", charted))
    assert "<svg" in charted and "v1" in shown and len(shown) >= 2, "the versions, charted"
    assert ">March<" in page, "the demo's windows are its months"

    # every command of the README's "Look at what it did" block exits 0 (issue 23)
    from shipway.cli.app import main

    for command in _look_at_commands():  # on the demo's store (the session it used)
        with pytest.raises(SystemExit) as exit_info:
            main(command)
            raise SystemExit(0)
        out, err = capsys.readouterr()
        assert exit_info.value.code == 0, (command, out, err)
    gate = ["monitor", "run", DEPLOYMENT, "--window", "1500", "--fail-on-drift"]
    with pytest.raises(SystemExit) as exit_info:  # the same windows, as a CI gate: drift is 1
        main(gate)
    assert exit_info.value.code == 1 and "drift found in window" in capsys.readouterr().err

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


def test_the_demo_can_leave_its_model_server_and_ui_up_until_ctrl_c(tmp_path: Path) -> None:
    """``shipway demo --keep-running`` in its own process, as a person runs it: the model
    server and the UI stay up until Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from shipway.demo.loop import DEPLOYMENT

    environment = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    demo = subprocess.Popen(
        [str(Path(sys.executable).parent / "shipway"), "demo", "--quick", "--keep-running"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    assert demo.stdout is not None
    said = []
    for line in demo.stdout:
        said.append(line)
        found = re.search(
            r"the UI is up at (http://localhost:[0-9]+)/ and the model server at (http://[0-9.:]+)",
            line,
        )
        if found:
            ui, model_server = found.groups()
            with urllib.request.urlopen(f"{model_server}/v2/models/{DEPLOYMENT}") as answer:
                assert answer.status == 200 and DEPLOYMENT in answer.read().decode()
            with urllib.request.urlopen(f"{ui}/") as page:
                assert page.status == 200 and '<div id="app">' in page.read().decode()
            with urllib.request.urlopen(f"{ui}/api/v1/loops") as loops:
                shown = json.loads(loops.read())  # the demo's loop, as it left it
                assert [loop["deployment"] for loop in shown] == [DEPLOYMENT]
                assert shown[0]["state"] != "idle" and shown[0]["champion"] > 1
            demo.send_signal(signal.SIGINT)
    code = demo.wait(timeout=120)
    demo.stdout.close()
    assert code == 0, "".join(said[-20:])
    assert any("done in" in line for line in said), "Ctrl-C ends the wait, and the demo its run"
