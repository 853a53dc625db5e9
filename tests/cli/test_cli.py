"""The shipway command, in-process and (for exit behaviour) as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _seed(tmp_path: Path) -> tuple[str, str]:
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    import shipway as sw

    ids = []
    for depth in (2, 3):
        X = np.arange(40).reshape(20, 2).astype(float)
        with sw.start_run(experiment="cli", params={"depth": depth}) as run:
            sw.log_metric("acc", depth / 4)
            run.log_model(DecisionTreeClassifier(max_depth=depth).fit(X, [0, 1] * 10), "model")
        ids.append(run.run_id)
    return ids[0], ids[1]


def test_runs_and_experiments(cli: Any, tmp_path: Path) -> None:
    first, second = _seed(tmp_path)
    assert "cli" in cli("experiments", "list")
    listed = json.loads(
        cli("runs", "list", "--experiment", "cli", "--filter", "metrics.acc > 0.6", "--json")
    )
    assert [r["run_id"] for r in listed] == [second]
    assert second[:12] in cli("runs", "list", "-e", "cli", "-o", "metrics.acc DESC")
    shown = cli("runs", "show", first[:10])
    assert "depth" in shown and "model/MODEL.json" in shown
    compared = json.loads(cli("runs", "compare", first, second, "--json"))
    assert compared[first]["params"]["depth"] == "2" and compared[second]["metrics"]["acc"] == 0.75
    table = cli("runs", "compare", first, second)
    assert "depth" in table and "[bold" not in table, "a differing key is styled, not marked up"
    listed = json.loads(cli("artifacts", "list", first, "model", "--json"))
    assert {a["path"] for a in listed} >= {"model/MODEL.json", "model/model.pkl"} and all(
        a["digest"].startswith("blake3:") for a in listed
    )
    out = tmp_path / "dl"
    cli("artifacts", "get", first, "model", "--out", str(out))
    assert (out / "model" / "MODEL.json").exists()


def test_models_lifecycle(cli: Any, tmp_path: Path) -> None:
    first, second = _seed(tmp_path)
    assert json.loads(cli("models", "register", first, "--name", "churn", "--json"))["version"] == 1
    cli("models", "register", f"runs:/{second}/model", "--name", "churn")
    cli("models", "policy", "churn", "--approvals", "1")
    assert "needs 1 approval" in cli(
        "models", "promote", "churn", "1", "--to", "production", code=2
    )
    cli("models", "approve", "churn", "1", "--comment", "ok")
    cli("models", "promote", "churn", "1", "--to", "production", "--reason", "first")
    cli("models", "approve", "churn", "2")
    cli("models", "promote", "churn", "2", "--to", "production", "--reason", "beats v1")
    cli("models", "alias", "churn", "champion", "2")
    assert "production is churn version 1" in cli(
        "models", "rollback", "churn", "--reason", "bad"
    ).replace("[bold]", "")
    shown = json.loads(cli("models", "show", "churn", "--json"))
    assert {v["version"]: v["stage"] for v in shown["versions"]} == {1: "production", 2: "archived"}
    history = json.loads(cli("models", "history", "churn", "--json"))
    assert [e["action"] for e in history][-1] == "rollback" and history[-1]["actor"] == "cli-user"
    cli("models", "archive", "churn", "2")
    cli("models", "alias", "churn", "champion", "--delete")
    listed = json.loads(cli("models", "list", "--json"))
    assert listed[0]["stages"] == {"production": 1}


@pytest.mark.filterwarnings("ignore:X has feature names")  # _seed's models fit on arrays
def test_every_verb_takes_the_run_id_prefix_runs_list_prints(cli: Any, tmp_path: Path) -> None:
    first, second = _seed(tmp_path)
    short = {run: run[:12] for run in (first, second)}  # what `runs list` shows
    assert short[first] in cli("runs", "list", "-e", "cli")
    assert (
        json.loads(cli("models", "register", short[first], "-n", "churn", "--json"))["run_id"]
        == first
    )
    version = json.loads(
        cli("models", "register", f"runs:/{short[second]}/model", "-n", "churn", "--json")
    )
    assert version["run_id"] == second and version["version"] == 2
    compared = json.loads(cli("runs", "compare", short[first], short[second], "--json"))
    assert set(compared) == {first, second}
    assert "model/MODEL.json" in cli("artifacts", "list", short[second])
    frame = tmp_path / "in.csv"
    frame.write_text("0,1\n" + "\n".join(f"{i}.0,{i + 1}.0" for i in range(0, 40, 2)) + "\n")
    cli("predict", f"runs:/{short[first]}/model", "-i", str(frame), "-o", str(tmp_path / "o.csv"))
    assert (tmp_path / "o.csv").read_text().count("\n") == 21
    assert "no run" in cli("models", "register", "f" * 12, "-n", "other", code=2).lower()


def test_user_errors_are_one_line_and_change_nothing(cli: Any, tmp_path: Path) -> None:
    out = cli("models", "promote", "nope", "1", code=2)
    assert "no registered model named 'nope'" in out and "Traceback" not in out
    assert "invalid filter" in cli("runs", "list", "--filter", "metrics.x >", code=2)
    assert "unknown stage" not in cli("models", "list")


def test_init_keeps_what_is_there(cli: Any, tmp_path: Path) -> None:
    cli("init")
    config = tmp_path / "shipway.toml"
    assert config.read_text().startswith("# shipway settings")
    config.write_text("# mine\n")
    (tmp_path / "README.md").unlink()
    out = cli("init")
    assert "kept  shipway.toml" in out and "wrote README.md" in out
    assert config.read_text() == "# mine\n"
    cli("init", "--force")
    assert config.read_text().startswith("# shipway settings")


def test_real_process_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "h")}
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", "models", "show", "ghost"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "no registered model named 'ghost'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["models", "promte", "x"], "No such command 'promte'"),
        (["runs", "list", "--colour"], "No such option: --colour"),
        (["runs"], "Commands"),  # a group without a verb shows its help
        (["alerts", "ack", "abc"], "valid integer"),
        (["runs", "show"], "Missing argument"),
    ],
)
def test_usage_errors_show_the_usage_line_and_exit_2(
    tmp_path: Path, args: list[str], says: str
) -> None:
    """In a real process, as a user types it: click's usage line, no traceback, exit 2."""
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "h"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    shown = done.stderr + done.stdout
    assert done.returncode == 2, shown
    assert "Traceback" not in shown
    assert "Usage: shipway" in shown and says in shown


def test_version_prints_once_and_exits_0(tmp_path: Path) -> None:
    from shipway import __version__

    for args in (["--version"], ["version"]):
        done = subprocess.run(
            [sys.executable, "-m", "shipway.cli.app", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "SHIPWAY_HOME": str(tmp_path / "h")},
            cwd=tmp_path,
        )
        assert done.returncode == 0 and __version__ in done.stdout, done.stderr
        assert done.stderr == ""


def test_install_hints_keep_their_extra(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich markup must not eat ``[postgres]`` in ``pip install 'shipway[postgres]'``."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    monkeypatch.setenv("SHIPWAY_TRACKING_URI", "postgresql://127.0.0.1:1/test")
    assert "shipway[postgres]" in cli("runs", "list", code=2)


def test_tokens_create_list_revoke(cli: Any) -> None:
    created = json.loads(cli("tokens", "create", "--user", "alice", "--role", "approver", "--json"))
    assert (
        created["token"].startswith(f"sw_{created['token_id']}_") and created["role"] == "approver"
    )
    listed = json.loads(cli("tokens", "list", "--json"))
    assert [(t["user"], t["role"], t["revoked_at"]) for t in listed] == [
        ("alice", "approver", None)
    ]
    assert "token" not in listed[0], "secrets are never listed"
    cli("tokens", "revoke", created["token_id"])
    assert json.loads(cli("tokens", "list", "--json"))[0]["revoked_at"] is not None
    assert "unknown role 'boss'" in cli(
        "tokens", "create", "--user", "bob", "--role", "boss", code=2
    )
    assert "no active token" in cli("tokens", "revoke", created["token_id"], code=2)


def test_a_port_out_of_range_or_in_use_and_a_folder_that_cannot_be_made_are_one_line(
    cli: Any,
) -> None:
    """Issue 23, item 11: no traceback, and nothing says "serving" before it can."""
    import socket

    out = cli("serve", "anything", "--port", "99999", code=2)
    assert "Invalid value for '--port'" in out and "Traceback" not in out
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = cli("server", "--port", str(port), code=2)
    assert f"cannot listen on 127.0.0.1:{port}" in out and "shipway server on" not in out
    out = cli("init", "/proc/no/such/project", code=2)
    assert out.startswith("error:") and "Traceback" not in out
