"""The loop's phases, the moves allowed between them, its typed details as stored, and a
trigger kind added as one class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.automation.triggers import KINDS, Facts, Seen, Trigger, TriggerKind, due, trigger_kind
from shipway.errors import InvalidArgument
from shipway.store.database import Database
from shipway.store.loop_state import (
    RESTING,
    TRANSITIONS,
    IllegalMove,
    LoopDetail,
    LoopState,
    Phase,
    check_move,
)
from shipway.store.loop_store import LoopStore


def test_every_phase_has_its_moves_and_every_move_leads_somewhere_known() -> None:
    assert set(TRANSITIONS) == set(Phase)
    for targets in TRANSITIONS.values():
        assert targets and targets <= set(Phase)


def test_a_resting_loop_starts_only_on_a_trigger_or_a_canary_made_by_hand() -> None:
    for resting in RESTING:
        assert TRANSITIONS[resting] == {Phase.TRAINING, Phase.CANARY}
    with pytest.raises(IllegalMove, match="a loop in idle cannot move to promoted"):
        check_move(Phase.IDLE, Phase.PROMOTED)


def test_nothing_ships_without_passing_through_ready_or_a_canary() -> None:
    """Promotion comes only from a rollout (ready) or a canary's last step: never straight
    from training, the gate or a wait for approval."""
    reaching = {p for p, targets in TRANSITIONS.items() if Phase.PROMOTED in targets}
    assert reaching == {Phase.READY, Phase.CANARY}
    with pytest.raises(IllegalMove):
        check_move(Phase.WAITING_APPROVAL, Phase.CANARY)  # approval first makes it ready
    with pytest.raises(IllegalMove):
        check_move(Phase.TRAINING, Phase.READY)  # the gate's verdict first


def test_every_phase_under_way_may_fail_so_a_loop_can_always_give_up() -> None:
    for phase in set(Phase) - RESTING:
        check_move(phase, Phase.FAILED)


def test_details_round_trip_as_stored_and_keep_the_names_status_shows() -> None:
    detail = LoopDetail(
        message="version 3 passed the gate",
        trigger="labels:100: 120 new labelled rows",
        started=1.5,
        attempts=1,
        verdict={"passed": True},
        told=["approval wanted"],
    )
    detail.judged_against(None)  # judged against no champion: not the same as not judged
    stored = detail.to_dict()
    assert stored["champion"] is None and "evidence" not in stored and "faults" not in stored
    assert LoopDetail.from_dict(stored) == detail
    assert not LoopDetail.from_dict({"message": "x"}).champion_known


def test_a_state_stored_by_an_older_version_loads(tmp_path: Path) -> None:
    store = LoopStore(Database(f"sqlite:///{tmp_path}/db.sqlite"))
    state = LoopState("churn", Phase.CANARY, detail=LoopDetail(message="at 10%"))
    store.save(state, actor="test")
    with store.db.write() as conn:  # a detail with a key this version does not know
        from shipway.store import schema as t

        conn.execute(t.loop_states.update().values(detail={"message": "at 10%", "retired_key": 1}))
    found = store.find("churn")
    assert found is not None and found.state is Phase.CANARY
    assert found.detail == LoopDetail(message="at 10%")


@pytest.fixture
def weekday_kind() -> Iterator[None]:
    @trigger_kind
    class WeekdayTrigger(TriggerKind):  # a new kind: one class, nothing else touched
        name, example = "weekday", "weekday:N"

        def check(self, text: str, value: str) -> None:
            if value not in "0123456":
                raise InvalidArgument(f"trigger {text!r}: a weekday is 0 (Monday) to 6")

        def due(self, value: str, seen: Seen, facts: Facts) -> str | None:
            import datetime

            today = datetime.datetime.fromtimestamp(facts.now, datetime.UTC).weekday()
            return "it is the day" if str(today) == value else None

    yield
    del KINDS["weekday"]


@pytest.mark.usefixtures("weekday_kind")
def test_a_new_trigger_kind_is_one_registered_class() -> None:
    class Loop:
        triggers = (Trigger.parse("weekday:0"), Trigger.parse("labels:5"))

    monday = 1_796_601_600.0  # 2026-12-07, a Monday
    seen = Seen(started_at=monday)
    assert due(Loop(), seen, Facts(monday)) == ["weekday:0: it is the day"]
    assert due(Loop(), seen, Facts(monday + 86400, labelled_rows=5)) == [
        "labels:5: 5 new labelled rows"
    ]
    with pytest.raises(InvalidArgument, match="a weekday is 0"):
        Trigger.parse("weekday:9")
    with pytest.raises(InvalidArgument, match="weekday:N"):
        Trigger.parse("monthly:1")  # the error lists the kinds, the new one with them


def test_only_the_records_module_of_the_controller_touches_the_stores() -> None:
    """Issue 24: the controller's parts ask :class:`ControlRecords`; none reaches into the
    stores, their tables or the log's files itself."""
    import re

    import shipway.automation as automation

    folder = Path(automation.__file__).parent
    reach = re.compile(
        r"\.stores\b|shipway\.store\.(alert_store|lease_store|loop_store|audit|database)\b"
        r"|\b(log_keys|read_health|append_event)\b"
    )
    offenders = {
        path.name: sorted({m.group(0) for m in reach.finditer(path.read_text())})
        for path in folder.glob("*.py")
        if path.name != "records.py"
    }
    assert {name: found for name, found in offenders.items() if found} == {}
