"""A viewer reads monitoring through ``shipway server``: ``shipway monitor run`` and
``monitor report`` use the read routes, which a viewer may call, and say that the server's
alert rules did not run for them (issue 23, item 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli as cli  # the fixture, here too
from tests.security.conftest import Secured
from tests.security.conftest import secured as secured  # the fixture, here too
from tests.security.test_damaged_log import _churn_with_its_training_data
from tests.serving.conftest import predict_as
from tests.serving.conftest import serve as serve  # the fixture, here too


def test_a_viewer_runs_monitor_run_and_report_through_a_server(
    secured: Secured,
    sw: Any,
    serve: Any,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shipway import session as context

    frame = _churn_with_its_training_data(sw)
    sw.deploy("churn-live", model="churn", version=1)
    client, server = serve("churn-live")
    records = frame[["customer_id", "spend", "plan"]].to_dict("records")
    predict_as(client, secured.tokens["vera"], records, 3)
    server.log.flush()

    monkeypatch.setenv("SHIPWAY_TRACKING_URI", secured.url)
    monkeypatch.setenv("SHIPWAY_TOKEN", secured.tokens["vera"])
    local, context._current = context._current, None  # the CLI as the viewer, through the server
    try:
        out = cli("monitor", "run", "churn-live", "--window", "day")
        assert "read only" in out and "churn-live: 1 window(s)" in out
        cli("monitor", "report", "churn-live", "--out", str(tmp_path / "report.html"))
        assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")
    finally:
        if context._current is not None:
            context._current.close()
        context._current = local
