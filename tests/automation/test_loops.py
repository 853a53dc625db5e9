"""Loops as declared in shipway.toml: checked when loaded, with errors that say what to fix;
and which triggers are due, each event starting the loop once."""

from __future__ import annotations

import calendar
import re
import time
from pathlib import Path

import pytest

from shipway.automation.loops import Facts, Loop, Seen, Trigger, acted, due, loops_from_settings
from shipway.config import Settings
from shipway.errors import InvalidArgument

LOOP = """
[loops.churn-live]
pipeline = "train.py:retrain"
params = { rows = 5000 }
triggers = ["alert:accuracy drop", "schedule:0 3 * * 1", "dataset:customers", "labels:500"]
gate = { metric = "accuracy", min = 0.70, max_drop = 0.01, holdout_rows = 1000 }
approval = "manual"
rollout = { strategy = "canary", steps = [10, 50, 100], min_requests = 200 }
"""


def _loops(tmp_path: Path, text: str) -> dict[str, Loop]:
    (tmp_path / "shipway.toml").write_text(text)
    return loops_from_settings(Settings.resolve(environ={}, cwd=tmp_path))


def _readme_loop_blocks() -> list[str]:
    """The loops the README and the continuous-training guide show."""
    root = Path(__file__).parents[2]
    text = "".join((root / p).read_text() for p in ("README.md", "docs/guide/loops.md"))
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    return [b for b in blocks if "[loops." in b]


def test_every_loop_the_docs_show_loads_as_written(tmp_path: Path) -> None:
    blocks = _readme_loop_blocks()
    assert len(blocks) >= 2
    for block in blocks:
        loops = _loops(tmp_path, block)
        assert loops and all(loop.triggers for loop in loops.values()), block


def test_a_rollout_may_spread_over_lines_as_toml_1_1_allows(tmp_path: Path) -> None:
    text = LOOP.replace(
        'rollout = { strategy = "canary", steps = [10, 50, 100], min_requests = 200 }',
        'rollout = { strategy = "canary", steps = [10, 50, 100], min_requests = 200,\n'
        "            max_error_rate = 0.01, max_latency_ratio = 1.5, max_metric_drop = 0.02 }",
    )
    (loop,) = _loops(tmp_path, text).values()
    rollout = loop.rollout
    assert (rollout.min_requests, rollout.max_error_rate) == (200, 0.01)
    assert (rollout.max_latency_ratio, rollout.max_metric_drop) == (1.5, 0.02)


def test_a_loop_as_the_readme_writes_it(tmp_path: Path) -> None:
    (loop,) = _loops(tmp_path, LOOP).values()
    assert loop.deployment == "churn-live" and loop.params == {"rows": 5000}
    assert [str(t) for t in loop.triggers] == [
        "alert:accuracy drop",
        "schedule:0 3 * * 1",
        "dataset:customers",
        "labels:500",
    ]
    assert loop.gate.max_drop == 0.01 and loop.approval == "manual"
    assert loop.rollout.steps == (10, 50, 100) and loop.rollout.max_error_rate == 0.01


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("schedule:0 3 * * 1", "schedule:every monday"), "'every monday' is not a cron schedule"),
        (("labels:500", "labels:0"), "labels:N takes a whole number of rows from 1"),
        (
            ("dataset:customers", "datset:customers"),
            r"unknown trigger 'datset:customers' \(did you mean 'dataset'\?\)",
        ),
        (('"manual"', '"sometimes"'), "approval is auto or manual"),
        (("min = 0.70", "max = 0.70"), "max does not apply, since higher is better"),
        (("[10, 50, 100]", "[50, 10, 100]"), r"must rise from above 0 to 100"),
        (("min_requests = 200", "min_request = 200"), "unknown setting rollout.min_request"),
        (('"train.py:retrain"', '"train.py"'), "not module:function"),
        (
            ('approval = "manual"', 'approval = "manual"\nsinks = ["slak:x"]'),
            "unknown sink 'slak:x'",
        ),
        (("min_requests = 200", 'min_requests = "many"'), "min_requests is a whole number"),
        (("min_requests = 200", 'max_error_rate = "1%"'), "max_error_rate is a number, not '1%'"),
        (("[10, 50, 100]", '"10,100"'), "steps is a list of whole numbers"),
        (("holdout_rows = 1000", 'holdout_rows = "x"'), "holdout_rows is a whole number"),
        (("min = 0.70", 'min = "high"'), "gate.min is a number, not 'high'"),
        (("holdout_rows = 1000", 'refit = "yes"'), "refit is true or false, not 'yes'"),
        (("holdout_rows = 1000", 'holdout = "customers"'), "not a dataset NAME@VERSION"),
        (
            ("min_requests = 200", "max_wait_minutes = -5"),
            "max_wait_minutes must be a finite number, not negative",
        ),
        (("min_requests = 200", 'min_minutes = "a"'), "min_minutes is a number"),
    ],
)
def test_a_bad_loop_names_itself_and_what_to_fix(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    with pytest.raises(
        InvalidArgument, match=rf"\[loops.churn-live\] in .*shipway.toml: .*{complaint}"
    ):
        _loops(tmp_path, LOOP.replace(*change))


def test_a_loop_without_triggers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="at least one trigger"):
        _loops(tmp_path, '[loops.x]\npipeline = "m:f"\n')


def _at(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")))


def test_each_event_starts_the_loop_once(tmp_path: Path) -> None:
    (loop,) = _loops(tmp_path, LOOP).values()
    monday = _at("2026-11-30 03:00")  # a Monday
    start = Facts(
        now=_at("2026-11-29 12:00"),
        dataset_versions={"customers": 3},
        open_alerts={"accuracy drop": [7]},
        labelled_rows=900,
    )
    seen = Seen.starting(start)
    assert due(loop, seen, start) == [], "what exists when the loop starts is not news"
    quiet = Facts(
        now=monday - 60,
        dataset_versions={"customers": 3},
        open_alerts={"accuracy drop": [7]},
        labelled_rows=1300,
    )
    assert due(loop, seen, quiet) == []
    busy = Facts(
        now=monday + 60,
        dataset_versions={"customers": 4},
        open_alerts={"accuracy drop": [7, 9]},
        labelled_rows=1400,
    )
    reasons = due(loop, seen, busy)
    assert reasons == [
        "alert:accuracy drop: alert 9 fired",
        f"schedule:0 3 * * 1: the schedule passed at {monday:.0f}",
        "dataset:customers: version 4 is new",
        "labels:500: 500 new labelled rows",
    ]
    acted(seen, busy)
    assert due(loop, seen, busy) == [], "an alert that stays open does not start it again"
    later = Facts(
        now=monday + 7 * 86400 + 60,
        dataset_versions={"customers": 4},
        open_alerts={"accuracy drop": [7, 9]},
        labelled_rows=1500,
    )
    assert due(loop, seen, later) == [
        f"schedule:0 3 * * 1: the schedule passed at {monday + 7 * 86400:.0f}"
    ]


def test_a_trigger_parses_and_says_itself() -> None:
    assert str(Trigger.parse("labels:100")) == "labels:100"
    with pytest.raises(InvalidArgument, match="names no alert"):
        Trigger.parse("alert:")
