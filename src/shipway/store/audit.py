"""The append-only audit log: one row per change, written in the change's own transaction."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import Connection

from shipway.store import schema as t


def append_event(
    conn: Connection,
    actor: str,
    entity: str,
    action: str,
    from_value: str | None,
    to_value: str | None,
    reason: str,
    details: dict[str, Any],
) -> None:
    conn.execute(
        t.audit_log.insert().values(
            timestamp=time.time(),
            actor=actor,
            entity=entity,
            action=action,
            from_value=from_value,
            to_value=to_value,
            reason=reason or "",
            details=details,
        )
    )
