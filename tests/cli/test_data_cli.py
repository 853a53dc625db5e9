"""shipway data … and shipway drift, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _frames(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "city": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame(
        {"x": rng.normal(1.0, 1, size=3000), "city": rng.choice(["a", "b", "c"], 3000)}
    )
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def test_add_list_show_get_diff(cli: Any, tmp_path: Path) -> None:
    ref, cur = _frames(tmp_path)
    first = json.loads(cli("data", "add", str(ref), "--name", "flights", "--json"))
    assert first["new"] and first["version"]["version"] == 1 and first["version"]["rows"] == 3000
    assert "unchanged" in cli("data", "add", str(ref), "--name", "flights")
    pd.read_csv(cur).to_parquet(tmp_path / "v2.parquet")
    cli("data", "add", str(tmp_path / "v2.parquet"), "--name", "flights")
    assert "flights" in cli("data", "list")
    shown = cli("data", "show", "flights@1")
    assert "datasets:/flights/1" in shown and "city" in shown
    versions = json.loads(cli("data", "show", "flights", "--json"))
    assert [v["version"] for v in versions] == [1, 2]
    changes = json.loads(cli("data", "diff", "flights", "1", "2", "--json"))
    detail = {c[0]: c for c in changes["columns"]}
    assert detail["city"][1] == "changed" and "new categories: c" in detail["city"][2]
    cli("data", "get", "flights@1", "--out", str(tmp_path / "back.parquet"))
    assert (tmp_path / "back.parquet").read_bytes() == ref.read_bytes()


def test_folder_versions_and_file_diff(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text(str(i))
    cli("data", "add", str(folder))
    (folder / "5.txt").write_text("new")
    cli("data", "add", str(folder))
    changes = json.loads(cli("data", "diff", "imgs", "1", "2", "--json"))
    assert changes["files"] == [["5.txt", "added"]] and changes["summary"]["files"] == [5, 6]
    cli("data", "get", "imgs@1", "--out", str(tmp_path / "restored"))
    assert sorted(p.name for p in (tmp_path / "restored").iterdir()) == [
        f"{i}.txt" for i in range(5)
    ]


def test_drift_command_reports_and_gates(cli: Any, tmp_path: Path) -> None:
    ref, cur = _frames(tmp_path)
    out = cli(
        "drift",
        "--reference",
        str(ref),
        "--current",
        str(cur),
        "--report",
        str(tmp_path / "d.html"),
        "--json-out",
        str(tmp_path / "d.json"),
        code=1,
    )
    assert "dataset drift" in out
    result = json.loads((tmp_path / "d.json").read_text())
    assert result["dataset_drift"] and {c["column"] for c in result["columns"] if c["drifted"]} == {
        "x",
        "city",
    }
    page = (tmp_path / "d.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 2 and "<script" not in page
    same = cli("drift", "--reference", str(ref), "--current", str(ref), "--json")
    assert json.loads(same)["n_drifted"] == 0


def test_data_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    assert "no file or folder" in cli("data", "add", str(tmp_path / "nope.csv"), code=2)
    assert "no dataset named 'ghost'" in cli("data", "show", "ghost@1", code=2)
    assert "no file at" in cli(
        "drift", "-r", str(tmp_path / "a.parquet"), "-c", str(tmp_path / "b.parquet"), code=2
    )


def test_schema_and_validate_gate_ci(cli: Any, tmp_path: Path) -> None:
    ref, cur = _frames(tmp_path)
    cli("data", "schema", str(ref), "--out", str(tmp_path / "schema.yaml"))
    assert "type: category" in (tmp_path / "schema.yaml").read_text()
    assert "valid: 3,000 rows" in cli(
        "data", "validate", str(ref), "--schema", str(tmp_path / "schema.yaml")
    )
    out = cli("data", "validate", str(cur), "--schema", str(tmp_path / "schema.yaml"), code=1)
    assert "city: values outside the allowed categories" in out and "'c'" in out
    report = json.loads(
        cli(
            "data",
            "validate",
            str(cur),
            "--schema",
            str(tmp_path / "schema.yaml"),
            "--json",
            code=1,
        )
    )
    assert not report["ok"] and {f["check"] for f in report["failures"]} >= {"allowed"}
    assert "no schema file" in cli(
        "data", "validate", str(ref), "--schema", str(tmp_path / "none.yaml"), code=2
    )
