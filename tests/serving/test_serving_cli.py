"""``shipway deploy``, ``shipway predict`` and a real ``shipway serve`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tests.cli.conftest import cli  # noqa: F401 - the fixture
from tests.client.conftest import free_port, wait_until_ready
from tests.conftest import stop_process
from tests.serving.conftest import register_churn


def test_deploy_commands(cli: Any) -> None:  # noqa: F811
    import shipway as sw

    register_churn(sw, rows=30)
    made = cli("deploy", "create", "live", "--model", "churn", "--version", "1")
    assert "live serves churn version 1" in made and "note:" not in made
    out = cli("deploy", "live", "-m", "churn", "-v", "2", "--strategy", "canary", "--weight", "5")
    assert "candidate version 2 (canary at 5%)" in out, "the old spelling still works"
    assert "is now `shipway deploy create live ...`" in out, "with a note"
    assert "at 20%" in cli("deploy", "weight", "live", "20")
    assert "live" in cli("deploy", "list")
    assert json.loads(cli("deploy", "status", "live", "--json"))["candidate"] == 2
    assert "serves churn version 2" in cli("deploy", "promote", "live", "--reason", "good")
    assert "serves churn version 1" in cli("deploy", "rollback", "live")
    assert "promote" in cli("deploy", "history", "live")
    for args, says in (
        (("deploy", "live", "-m", "churn", "-v", "9"), "version 9"),
        (
            ("deploy", "live", "-m", "churn", "-v", "2", "--strategy", "ab", "--weight", "5"),
            "sticky-key",
        ),
        (("deploy", "promote"), "Missing argument 'name'"),
        (("deploy", "promote", "nope"), "no deployment 'nope'"),
        (("deploy", "other"), "needs --model and --version"),
        (("serve", "nope"), "no deployment 'nope'"),
    ):
        out = cli(*args, code=2)
        assert says in out and "Traceback" not in out, out
    assert json.loads(cli("deploy", "status", "live", "--json"))["revision"] == 5, (
        "refusals wrote nothing"
    )


def test_deploy_obeys_the_approval_policy(cli: Any) -> None:  # noqa: F811
    """The reported defect: with approvals required, a canary then a promotion served an
    unapproved version to all traffic. Now the policy guards both, and the stage follows."""
    import shipway as sw

    register_churn(sw, rows=30)
    cli("deploy", "churn-live", "--model", "churn", "--version", "1")
    assert sw.get_model_version("churn", 1).stage.value == "production"
    out = cli("models", "policy", "churn", "--approvals", "1", "--two-person")
    assert "unapproved versions may run as shadow, blue-green" in out
    canary = ("deploy", "churn-live", "-m", "churn", "-v", "2", "--strategy", "canary")
    refused = cli(*canary, "--weight", "50", code=2)
    assert "not as canary" in refused
    assert refused.count("shipway models approve churn 2") == 1, "the hint is said once"
    assert "needs 1 approval" in cli("deploy", "churn-live", "-m", "churn", "-v", "2", code=2)
    cli("deploy", "churn-live", "-m", "churn", "-v", "2", "--strategy", "blue-green")
    assert "needs 1 approval" in cli("deploy", "promote", "churn-live", code=2)
    assert json.loads(cli("deploy", "status", "churn-live", "--json"))["stable"] == 1
    cli("models", "policy", "churn", "--approvals", "1", "--unapproved", "none")
    assert "unapproved as nothing" in cli("models", "show", "churn")
    shadow = ("deploy", "churn-live", "-m", "churn", "-v", "2", "--strategy", "shadow")
    assert "only as no strategy" in cli(*shadow, code=2)
    sw.approve("churn", 2, "reviewed")  # the test's user did not register it as cli-user
    promoted = cli("deploy", "promote", "churn-live")
    assert "serves churn version 2" in promoted
    assert "registry: churn v1: production -> archived" in promoted  # said, not silent
    assert "registry: churn v2: none -> production" in promoted
    assert sw.get_model_version("churn", 2).stage.value == "production"
    assert sw.get_model_version("churn", 1).stage.value == "archived"
    # issue 23, item 3: archived by the promotion, version 1 deploys no more (direct or
    # canary); rollback is the way back, and it says what it does to the registry
    for strategy in ("direct", "canary"):
        refused = cli(
            "deploy", "churn-live", "-m", "churn", "-v", "1", "--strategy", strategy, code=2
        )
        assert "version 1 is archived" in refused and "deploy rollback" in refused
    rolled = cli("deploy", "rollback", "churn-live")
    assert "registry: churn v1: archived -> production" in rolled
    assert "registry: churn v2: production -> archived" in rolled
    history = json.loads(cli("models", "history", "churn", "--json"))
    reasons = [event["reason"] for event in history]
    assert any("deployment churn-live serves it to all traffic (promote)" in r for r in reasons)
    assert "deployment churn-live serves it to all traffic (rollback)" in reasons[-1]


def test_predict_scores_files_in_chunks(cli: Any, tmp_path: Path) -> None:  # noqa: F811
    import shipway as sw

    frame = register_churn(sw, rows=30)
    sw.promote("churn", 2, to="production")
    big = pd.concat([frame] * 10, ignore_index=True)
    big.to_parquet(tmp_path / "in.parquet")
    cli(
        "predict",
        "models:/churn@production",
        "-i",
        str(tmp_path / "in.parquet"),
        "-o",
        str(tmp_path / "out.parquet"),
        "--chunk-rows",
        "7",
    )
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert len(scored) == 300 and set(scored["prediction"]) == {1}
    assert list(scored["customer_id"]) == list(big["customer_id"])
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.to_csv(folder / "a.csv", index=False)
    frame.to_parquet(folder / "b.parquet")
    cli("predict", "models:/churn/1", "-i", str(folder), "-o", str(tmp_path / "out.csv"))
    assert len(pd.read_csv(tmp_path / "out.csv")) == 60
    cli("predict", "models:/churn/2", "-i", str(folder), "-o", str(tmp_path / "p.csv"), "--proba")
    with_scores = pd.read_csv(tmp_path / "p.csv")
    assert [c for c in with_scores.columns if c.startswith("score_")] == ["score_1"]
    assert (with_scores["score_1"] == 1.0).all() and (with_scores["prediction"] == 1).all()
    bad = frame.drop(columns="spend")
    bad.to_parquet(tmp_path / "bad.parquet")
    out = cli(
        "predict",
        "models:/churn/1",
        "-i",
        str(tmp_path / "bad.parquet"),
        "-o",
        str(tmp_path / "x.parquet"),
        code=2,
    )
    assert "spend" in out and not (tmp_path / "x.parquet").exists(), (
        "a failed scoring leaves no output"
    )
    assert "cannot write" in cli(
        "predict", "models:/churn/1", "-i", str(folder), "-o", str(tmp_path / "x.txt"), code=2
    )


def test_shipway_serve_follows_the_store(tmp_path: Path, monkeypatch: Any) -> None:
    import shipway as sw
    from shipway import session as context

    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "home"))
    context._current = None
    try:
        frame = register_churn(sw, rows=30)
        sw.promote("churn", 1, to="production")
        port = free_port()
        env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home")}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipway.cli.app",
                "serve",
                "models:/churn@production",
                "--port",
                str(port),
                "--poll",
                "0.2",
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(f"{url}/v2/health/ready", process)
            record = frame.head(1).to_dict("records")
            first = httpx.post(f"{url}/v1/models/churn/predict", json=record)
            assert first.status_code == 200 and first.headers["x-model-version"] == "1"
            sw.promote("churn", 2, to="production")
            deadline = time.monotonic() + 30
            while (
                httpx.post(f"{url}/v1/models/churn/predict", json=record).headers["x-model-version"]
                != "2"
            ):
                assert time.monotonic() < deadline, (
                    "the server did not pick up the new production version"
                )
                time.sleep(0.1)
        finally:
            stop_process(process)
        logged = sw.read_predictions("churn")
        assert len(logged) >= 2 and {1, 2} <= set(logged["model_version"]), (
            "a clean stop wrote the log"
        )
    finally:
        if context._current is not None:
            context._current.close()
        context._current = None


def test_predict_on_ray_scores_each_file_as_a_task(cli: Any, tmp_path: Path) -> None:  # noqa: F811
    import shipway as sw

    frame = register_churn(sw, rows=30)
    folder = tmp_path / "parts"
    (folder / "2026-11").mkdir(parents=True)
    for i in range(3):
        frame.iloc[i * 10 : (i + 1) * 10].to_parquet(folder / f"part-{i}.parquet")
    frame.head(5).to_parquet(folder / "2026-11" / "part-0.parquet")  # the same name in a subfolder
    try:
        cli(
            "predict",
            "models:/churn/2",
            "-i",
            str(folder),
            "-o",
            str(tmp_path / "scored"),
            "--engine",
            "ray",
        )
        outputs = sorted(p.name for p in (tmp_path / "scored").iterdir())
        assert outputs == [
            "2026-11__part-0.parquet",
            "part-0.parquet",
            "part-1.parquet",
            "part-2.parquet",
        ]
        scored = pd.concat(pd.read_parquet(tmp_path / "scored" / name) for name in outputs)
        assert len(scored) == 35 and set(scored["prediction"]) == {1}
        out = cli(
            "predict",
            "models:/churn/2",
            "-i",
            str(folder),
            "-o",
            str(tmp_path / "x.parquet"),
            "--engine",
            "ray",
            code=2,
        )
        assert "the output is a folder" in out
    finally:
        import ray

        ray.shutdown()
