"""A project's own files that are odd or hostile: a schema that is a device, notebooks that
are not what Jupyter writes, a step named like a builtin, and a store path in folders that do
not exist. Each is one line and an exit code, and nothing hangs or is made where it should
not be (issue 22, item 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli as cli  # the fixture, here too


def test_a_schema_that_is_a_device_is_refused_at_once(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init", "churn")
    monkeypatch.chdir(tmp_path / "churn")
    config = Path("shipway.toml")
    text = config.read_text()
    assert 'schema = "schema.yaml"' in text
    config.write_text(text.replace('schema = "schema.yaml"', 'schema = "/dev/zero"'))
    out = cli("check", code=1)
    assert "the schema /dev/zero is not a file" in out and "Traceback" not in out


NOTEBOOKS = {
    "cells a string": {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x = 1"},
    "source of numbers": {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "code", "source": [1, 2], "metadata": {}, "outputs": []}],
    },
}


@pytest.mark.parametrize("kind", [*NOTEBOOKS, "deep JSON", "deep code"])
def test_a_malformed_notebook_is_one_line(cli: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "odd.ipynb"
    if kind == "deep JSON":
        path.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "deep code":
        cell = {"cell_type": "code", "source": "x = " + "(" * 5000 + ")" * 5000, "metadata": {}}
        path.write_text(json.dumps({"nbformat": 4, "metadata": {}, "cells": [cell]}))
    else:
        path.write_text(json.dumps(NOTEBOOKS[kind]))
    out = cli("init", "odd", "--from-notebook", "odd.ipynb", code=2)
    assert out.startswith("error:") and "Traceback" not in out, out
    assert len(out.strip().splitlines()) <= 2, out
    assert not (tmp_path / "odd").exists(), "refused before a file was made"


def test_a_cell_whose_metadata_is_null_has_no_tags(cli: Any, tmp_path: Path) -> None:
    cell = {"cell_type": "code", "source": "x = 1", "metadata": None, "outputs": []}
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
    (tmp_path / "null.ipynb").write_text(json.dumps(document))
    cli("init", "null", "--from-notebook", "null.ipynb")
    assert "x = 1" in (tmp_path / "null" / "train.py").read_text()


def test_a_step_named_like_a_builtin_does_not_hide_it(cli: Any, tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        new_code_cell("# step: print\nrows = [1, 2, 3]"),
        new_code_cell("# step: len\nprint(len(rows))"),
    ]
    nbformat.write(new_notebook(cells=cells), tmp_path / "b.ipynb")
    cli("init", "b", "--from-notebook", "b.ipynb")
    source = (tmp_path / "b" / "train.py").read_text()
    assert "def print_step(" in source and "def len_step(" in source
    assert "def print(" not in source and "def len(" not in source
    compile(source, "train.py", "exec")


def test_a_sqlite_store_in_folders_that_do_not_exist_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "no" / "such" / "folders" / "shipway.db"
    env = {**os.environ, "SHIPWAY_TRACKING_URI": f"sqlite:///{deep}"}
    env["SHIPWAY_ARTIFACT_URI"] = str(tmp_path / "artifacts")
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", "experiments", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "does not exist" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "no").exists(), "no folder was made"
