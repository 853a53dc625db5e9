"""Continuous-training loops' states in the metadata store, each change with its audit event.

The controller keeps nothing in memory between rounds: what a loop has seen, the candidate
it is judging and the step its canary is on are here, so a restarted controller (or another
process that took the lease) carries on where the last round stopped.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from shipway.store import schema as t
from shipway.store.audit import append_event
from shipway.store.database import Database
from shipway.store.loop_state import LoopDetail, LoopState, Phase

__all__ = ["LoopState", "LoopStore", "loop_entity"]


def loop_entity(deployment: str) -> str:
    return f"loop:{deployment}"


class LoopStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> dict[str, LoopState]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.loop_states)).all()
        return {row.deployment: _state(row) for row in rows}

    def find(self, deployment: str) -> LoopState | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(t.loop_states).where(t.loop_states.c.deployment == deployment)
            ).first()
        return _state(row) if row is not None else None

    def forget(self, deployment: str) -> None:
        """Drop a loop's state: its next round starts it anew (its audit events stay)."""
        with self.db.write() as conn:
            conn.execute(t.loop_states.delete().where(t.loop_states.c.deployment == deployment))

    def save(
        self,
        state: LoopState,
        *,
        actor: str,
        action: str | None = None,
        reason: str = "",
        before: Phase | None = None,
    ) -> LoopState:
        """Store ``state``; with ``action``, the change is an audit event with its reason,
        in the same transaction."""
        state.updated_at = time.time()
        values = {
            "state": state.state.value,
            "seen": state.seen,
            "candidate": state.candidate,
            "step": state.step,
            "step_started_at": state.step_started_at,
            "detail": state.detail.to_dict(),
            "updated_at": state.updated_at,
        }
        table = t.loop_states
        with self.db.write() as conn:
            updated = conn.execute(
                table.update().where(table.c.deployment == state.deployment).values(**values)
            ).rowcount
            if not updated:
                conn.execute(table.insert().values(deployment=state.deployment, **values))
            if action is not None:
                append_event(
                    conn,
                    actor,
                    loop_entity(state.deployment),
                    action,
                    None if before is None else before.value,
                    state.state.value,
                    reason,
                    {"candidate": state.candidate, "step": state.step},
                )
        return state


def _state(row: Any) -> LoopState:
    return LoopState(
        row.deployment,
        Phase(row.state),
        dict(row.seen or {}),
        row.candidate,
        row.step,
        row.step_started_at,
        LoopDetail.from_dict(dict(row.detail or {})),
        row.updated_at,
    )
