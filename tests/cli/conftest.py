"""The cli fixture: the shipway command in-process, on a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway import session as context
from shipway.cli.app import main


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPWAY_USER", "cli-user")
    context._current = None

    def run(*args: str, code: int = 0) -> str:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
            raise SystemExit(0)
        out, err = capsys.readouterr()
        assert exit_info.value.code == code, (out, err)
        return out + err

    yield run
    if context._current is not None:
        context._current.close()
    context._current = None
