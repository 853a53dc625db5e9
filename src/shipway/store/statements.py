"""SQL statement helpers shared by the stores: dialect-aware upserts and per-name numbering."""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    update: list[str],
    *,
    where_newer: str | None = None,
) -> Any:
    """An upsert of ``rows``; with ``where_newer``, only rows whose column is not smaller win."""

    # only the dialect in use: PostgreSQL's module (with asyncpg's) costs 45 ms to import
    name = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    dialect: Any = importlib.import_module(f"sqlalchemy.dialects.{name}")
    statement = dialect.insert(table).values(rows)
    where = None
    if where_newer is not None:
        where = getattr(statement.excluded, where_newer) >= table.c[where_newer]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={col: getattr(statement.excluded, col) for col in update},
        where=where,
    )


def next_number(conn: Connection, column: sa.Column[Any], owner: sa.Column[Any], name: str) -> int:
    """1 + the highest number stored for ``name`` (call inside the write transaction that inserts it)."""
    current = conn.execute(sa.select(sa.func.max(column)).where(owner == name)).scalar()
    return int(current or 0) + 1
