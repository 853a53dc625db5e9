"""Compiling a parsed filter and order to SQL over the runs tables, with bound parameters only.

Each comparison on a metric, param, tag or dataset becomes ``runs.run_id IN (SELECT run_id
FROM <table> WHERE key = :k AND value <op> :v)``, which both SQLite and PostgreSQL answer
from the (key, value) indexes without touching the rows of other keys.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.store import schema as t
from shipway.store.filter import And, Comparison, Node, Not, Or, OrderKey

_ATTRIBUTE_COLUMNS = {
    "run_id": t.runs.c.run_id, "run_name": t.runs.c.name, "status": t.runs.c.status, "user": t.runs.c.user,
    "start_time": t.runs.c.start_time, "end_time": t.runs.c.end_time, "artifact_uri": t.runs.c.artifact_uri,
    "experiment_id": t.runs.c.experiment_id, "parent_run_id": t.runs.c.parent_run_id,
}  # fmt: skip
_KEYED = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}


def _compare(column: Any, op: str, value: Any) -> Any:
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return column.like(value)
    if op == "ILIKE":
        return sa.func.lower(column).like(sa.func.lower(sa.literal(value)))
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    raise ValueError(op)  # the parser admits no other operator


def _comparison(node: Comparison) -> Any:
    if node.kind == "attribute":
        column = _ATTRIBUTE_COLUMNS[node.key]
        if node.op == "IS NULL":
            return column.is_(None)
        if node.op == "IS NOT NULL":
            return column.is_not(None)
        return _compare(column, node.op, node.value)
    if node.kind == "dataset":
        inputs = t.run_inputs
        return t.runs.c.run_id.in_(
            sa.select(inputs.c.run_id).where(_compare(inputs.c[node.key], node.op, node.value))
        )
    table = _KEYED[node.kind]
    has_key = sa.select(table.c.run_id).where(table.c.key == node.key)
    if node.op == "IS NULL":
        return t.runs.c.run_id.not_in(has_key)
    if node.op == "IS NOT NULL":
        return t.runs.c.run_id.in_(has_key)
    sample = node.value[0] if isinstance(node.value, tuple) else node.value
    column = table.c.value
    if node.kind == "param" and isinstance(sample, float):
        column = table.c.value_num  # params that hold numbers compare as numbers
    return t.runs.c.run_id.in_(has_key.where(_compare(column, node.op, node.value)))


def compile_filter(node: Node | None) -> Any:
    """A boolean SQL expression on ``runs`` for the filter (``true`` for no filter)."""
    if node is None:
        return sa.true()
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, And):
        return sa.and_(*[compile_filter(n) for n in node.items])
    if isinstance(node, Or):
        return sa.or_(*[compile_filter(n) for n in node.items])
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.item))
    raise TypeError(node)


def search_run_ids(
    conn: Connection,
    experiment_ids: list[str],
    node: Node | None,
    order: list[OrderKey],
    max_results: int,
    offset: int = 0,
) -> list[str]:
    query = sa.select(t.runs.c.run_id).where(
        t.runs.c.experiment_id.in_(experiment_ids), compile_filter(node)
    )
    clauses: list[Any] = []
    for i, key in enumerate(order):
        if key.kind == "attribute":
            column: Any = _ATTRIBUTE_COLUMNS[key.key]
            sort_columns = [column]
        else:
            table = _KEYED[key.kind].alias(f"order_{i}")
            query = query.outerjoin(
                table, sa.and_(table.c.run_id == t.runs.c.run_id, table.c.key == key.key)
            )
            sort_columns = (
                [table.c.value_num, table.c.value] if key.kind == "param" else [table.c.value]
            )
        for column in sort_columns:
            clauses.append(column.is_(None))  # runs without the value come last either way
            clauses.append(column.desc() if key.descending else column.asc())
    clauses += [t.runs.c.start_time.desc(), t.runs.c.run_id]
    query = query.order_by(*clauses).limit(max_results).offset(offset)
    return list(conn.execute(query).scalars())
