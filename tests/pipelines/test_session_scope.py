"""``using`` points the fluent API at a session in one context only: a loop's pipeline in
the controller acts through the controller's session while other threads keep their own,
and the steps, which run on the runner's threads, act through the session of their caller."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import shipway as sw
from shipway.config import Settings
from shipway.monitoring.traffic import held_out_from, holding_out
from shipway.session import Session, current, using

seen: dict[str, Any] = {}


@sw.step(cache=False)
def where() -> str:
    seen["session"] = current()
    seen["held_out"] = held_out_from("live")
    return "here"


@sw.pipeline
def report() -> Any:
    return where()


def test_a_step_acts_through_its_callers_session_and_other_threads_keep_theirs(
    sw: Any, tmp_path: Path
) -> None:
    process_wide = current()
    other = Session(
        Settings.resolve({"home": tmp_path / "other", "user": "other"}, environ={}, cwd=tmp_path)
    )
    inside, outside = threading.Event(), threading.Event()
    found: dict[str, Any] = {}

    def meanwhile() -> None:  # another thread while the pipeline runs under `using`
        inside.wait(timeout=10)
        found["other thread"] = current()
        outside.set()

    thread = threading.Thread(target=meanwhile)
    thread.start()
    try:
        with using(other), holding_out("live", 123.0):
            inside.set()
            assert outside.wait(timeout=10)
            run = report.run(tracking=other.tracking)
        assert run.returned == "here"
        assert seen["session"] is other and seen["held_out"] == 123.0
        assert found["other thread"] is process_wide
        assert current() is process_wide and held_out_from("live") is None
        assert [r.run_id for r in other.tracking.search_runs("report", output="list")]
    finally:
        thread.join()
        other.close()
