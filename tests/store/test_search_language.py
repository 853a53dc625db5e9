"""The run search language: parsing, errors that point at the token, and SQL results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shipway.errors import FilterSyntaxError
from shipway.store.filter import And, Comparison, Not, Or, OrderKey, parse_filter, parse_order_by
from shipway.types import DatasetInput, Metric


def test_mlflow_filters_parse() -> None:
    assert parse_filter("metrics.acc > 0.5 and params.model = 'x'") == And(
        (Comparison("metric", "acc", ">", 0.5), Comparison("param", "model", "=", "x"))
    )
    assert parse_filter("attributes.run_id IN ('a', 'b')") == Comparison(
        "attribute", "run_id", "IN", ("a", "b")
    )
    assert parse_filter("metrics.`f1-score` >= 1e-3") == Comparison(
        "metric", "f1-score", ">=", 0.001
    )
    assert parse_filter("tags.\"my tag\" LIKE '%x%'") == Comparison("tag", "my tag", "LIKE", "%x%")
    assert parse_filter("params.x IS NOT NULL") == Comparison("param", "x", "IS NOT NULL", None)
    assert parse_filter("run.status != 'FAILED'") == Comparison(
        "attribute", "status", "!=", "FAILED"
    )
    assert parse_filter("datasets.digest = 'blake3:ab'") == Comparison(
        "dataset", "digest", "=", "blake3:ab"
    )
    assert parse_filter("params.name = 'it''s'") == Comparison("param", "name", "=", "it's")
    assert parse_filter("  ") is None


def test_or_not_and_parentheses_with_precedence() -> None:
    a, b, c = (Comparison("metric", k, ">", 1.0) for k in "abc")
    assert parse_filter("metrics.a > 1 or metrics.b > 1 and metrics.c > 1") == Or((a, And((b, c))))
    assert parse_filter("(metrics.a > 1 or metrics.b > 1) and metrics.c > 1") == And(
        (Or((a, b)), c)
    )
    assert parse_filter("not metrics.a > 1 AND metrics.b > 1") == And((Not(a), b))
    assert parse_filter("params.lr < 0.01") == Comparison("param", "lr", "<", 0.01)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("metrics.auc >", 13, "expected a value after '>' but found 'end of input'"),
        ("metrics.auc > 0.9 and", 21, "expected an identifier"),
        ("metricz.auc > 1", 0, "unknown identifier prefix 'metricz'"),
        ("attributes.colour = 'red'", 0, "unknown attribute 'colour'"),
        ("metrics.auc = 'high'", 14, "compares with numbers"),
        ("tags.team > 3", 12, "compares with quoted strings"),
        ("params.lr LIKE 3", 15, "needs a quoted string"),
        ("(metrics.a > 1", 14, "expected ')' to close the '('"),
        ("metrics.a > 1 metrics.b > 2", 14, "expected AND, OR or the end"),
        ("params.m IN ()", 13, "expected a value in the IN list"),
        ("params.m IN ('a', 2)", 19, "mixes numbers and strings"),
        ("auc > 1", 0, "needs a prefix"),
        ("metrics.a ~ 1", 10, "unexpected character '~'"),
        ("metrics.a > 1; DROP TABLE runs", 13, "unexpected character ';'"),
    ],
)
def test_errors_point_at_the_token(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.details["position"] == position
    assert fragment in str(info.value)
    caret_line = str(info.value).splitlines()[-1]
    assert caret_line.index("^") - 2 == position


def test_order_by() -> None:
    assert parse_order_by(["metrics.acc DESC", "params.model", "start_time asc"]) == [
        OrderKey("metric", "acc", True),
        OrderKey("param", "model", False),
        OrderKey("attribute", "start_time", False),
    ]
    for bad, fragment in (
        ("metrics.acc DOWN", "expected ASC or DESC"),
        ("accuracy", "needs a prefix"),
        ("datasets.name", "cannot be ordered"),
    ):
        with pytest.raises(FilterSyntaxError, match=fragment):
            parse_order_by([bad])


@pytest.fixture
def populated(stores: Any) -> tuple[Any, str, dict[str, str]]:
    tracking = stores.tracking
    exp = tracking.create_experiment("search")
    ids: dict[str, str] = {}
    rows = [
        ("a", {"model": "rf", "lr": "0.1", "note": "Fast"}, {"auc": 0.91}, {"team": "x"}),
        ("b", {"model": "rf", "lr": "0.01"}, {"auc": 0.85}, {"team": "y"}),
        ("c", {"model": "xgb", "lr": "1e-3"}, {"auc": 0.95, "loss": 0.2}, {}),
        ("d", {"model": "lin", "lr": "fast"}, {}, {"team": "x"}),
    ]
    for i, (name, params, metrics, tags) in enumerate(rows):
        run = tracking.create_run(
            exp.experiment_id,
            name=name,
            user="u" if i % 2 else "v",
            artifact_root="r",
            params=params,
            tags=tags,
            start_time=1000.0 + i,
        )
        tracking.log_batch(run.run_id, [Metric(k, v) for k, v in metrics.items()])
        ids[name] = run.run_id
    tracking.log_inputs(ids["c"], [DatasetInput("flights", "blake3:aa", "train")])
    tracking.end_run(ids["b"], "FAILED")
    return tracking, exp.experiment_id, ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.auc > 0.9", {"a", "c"}),
        ("metrics.auc > 0.9 and params.model = 'rf'", {"a"}),
        ("params.model = 'xgb' or tags.team = 'y'", {"b", "c"}),
        ("(params.model = 'rf' or params.model = 'lin') and tags.team = 'x'", {"a", "d"}),
        ("params.lr < 0.05", {"b", "c"}),  # numeric, although params are stored as text
        ("params.lr = 'fast'", {"d"}),
        ("params.model IN ('rf', 'lin')", {"a", "b", "d"}),
        ("params.model NOT IN ('rf')", {"c", "d"}),
        ("params.note ILIKE 'fa%'", {"a"}),
        ("params.model LIKE 'r%'", {"a", "b"}),
        ("metrics.loss IS NULL", {"a", "b", "d"}),
        ("tags.team IS NOT NULL", {"a", "b", "d"}),
        ("metrics.auc != 0.91", {"b", "c"}),
        ("not metrics.auc > 0.9", {"b", "d"}),
        ("attributes.status = 'FAILED'", {"b"}),
        ("attributes.user = 'u' and attributes.start_time >= 1002", {"d"}),
        ("attributes.run_name IN ('a', 'd')", {"a", "d"}),
        ("datasets.name = 'flights' and datasets.role = 'train'", {"c"}),
        ("metrics.auc > 2", set()),
    ],
)
def test_search_finds_exactly_the_matching_runs(
    populated: tuple[Any, str, dict[str, str]], text: str, expected: set[str]
) -> None:
    tracking, experiment_id, ids = populated
    found = tracking.search_runs([experiment_id], text)
    assert {r.name for r in found} == expected


def test_order_limit_and_offset(populated: tuple[Any, str, dict[str, str]]) -> None:
    tracking, experiment_id, _ = populated
    names = lambda runs: [r.name for r in runs]  # noqa: E731
    assert names(tracking.search_runs([experiment_id], order_by=["metrics.auc DESC"])) == [
        "c",
        "a",
        "b",
        "d",
    ]
    assert names(tracking.search_runs([experiment_id], order_by=["metrics.auc ASC"])) == [
        "b",
        "a",
        "c",
        "d",
    ], "runs without the value last"
    assert names(tracking.search_runs([experiment_id], order_by=["params.lr"])) == [
        "c",
        "b",
        "a",
        "d",
    ], "numeric params sort as numbers"
    assert names(tracking.search_runs([experiment_id])) == ["d", "c", "b", "a"], (
        "newest first by default"
    )
    assert names(tracking.search_runs([experiment_id], max_results=2, offset=1)) == ["c", "b"]


def test_a_page_sorted_by_a_metric_is_the_page_of_the_whole_sort(stores: Any) -> None:
    """Sorted by a metric, a page is read from the runs at least as good as the page's last
    (on SQLite, found in the metric's index first): with ties, NaN, runs without the
    metric, a filter, both directions and every offset, it is the page a full sort gives."""
    import math
    import random

    from shipway.types import Metric

    tracking = stores.tracking
    experiment = tracking.create_experiment("pages").experiment_id
    rng = random.Random(3)
    expected_rows = []
    for i in range(120):
        run = tracking.create_run(
            experiment, name=f"r{i}", user="u", params={"g": str(i % 3)}, artifact_root="a"
        )
        value = rng.choice([0.1, 0.2, 0.2, 0.3, math.nan, None])
        if value is not None:
            tracking.log_batch(run.run_id, [Metric("m", value, 0, 1.0)])
        expected_rows.append((run, None if value is None or math.isnan(value) else value))

    def expected(descending: bool, group: str | None) -> list[str]:
        rows = [(r, v) for r, v in expected_rows if group is None or r.params["g"] == group]
        valued = sorted(
            (x for x in rows if x[1] is not None),
            key=lambda x: (-x[1] if descending else x[1], -x[0].start_time, x[0].run_id),
        )
        rest = sorted(
            (x for x in rows if x[1] is None), key=lambda x: (-x[0].start_time, x[0].run_id)
        )
        return [r.run_id for r, _ in valued + rest]

    expected_rows_by_id = [(r.run_id, v) for r, v in expected_rows]

    both = tracking.search_runs([experiment], "metrics.m < 0.25", ["metrics.m DESC"], 5)
    assert (
        [r.run_id for r in both]
        == [  # a filter on a metric too: its own subquery
            r
            for r in expected(True, None)
            if dict(expected_rows_by_id)[r] is not None and dict(expected_rows_by_id)[r] < 0.25
        ][:5]
    )
    for descending in (True, False):
        for group in (None, "1"):
            whole = expected(descending, group)
            text = None if group is None else f"params.g = '{group}'"
            order = [f"metrics.m {'DESC' if descending else 'ASC'}"]
            for offset in (0, 7, 30, len(whole) - 3):
                page = tracking.search_runs([experiment], text, order, 10, offset)
                assert [r.run_id for r in page] == whole[offset : offset + 10], (
                    descending,
                    group,
                    offset,
                )


def test_metric_filter_uses_an_index(stores: Any, tmp_path: Path) -> None:
    from shipway.store.filter import parse_filter as parse
    from shipway.store.schema import runs
    from shipway.store.search import compile_filter

    query = sa.select(runs.c.run_id).where(
        compile_filter(parse("metrics.acc > 0.5 and params.model = 'x'"))
    )
    with stores.db.read() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " ".join(
            str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        )
    assert "ix_latest_metrics_key_value" in plan and "ix_params_key_value" in plan
    assert "SCAN latest_metrics" not in plan and "SCAN params" not in plan


@pytest.mark.parametrize(
    "text",
    [
        "metrics.auc > 0.9 and params.model = 'rf'",
        "params.model = 'xgb' or tags.team = 'y'",
        "not metrics.auc > 0.9",
        "params.lr < 0.05 and datasets.name = 'flights'",
        "metrics.loss IS NULL and params.model IN ('rf', 'lin')",
    ],
)
def test_both_sql_forms_agree(populated: tuple[Any, str, dict[str, str]], text: str) -> None:
    from shipway.store.schema import runs
    from shipway.store.search import compile_filter

    tracking, experiment_id, _ = populated
    node = parse_filter(text)
    with tracking.db.read() as conn:
        found = [
            set(
                conn.execute(
                    sa.select(runs.c.name).where(
                        runs.c.experiment_id == experiment_id, compile_filter(node, correlated)
                    )
                ).scalars()
            )
            for correlated in (False, True)
        ]
    assert found[0] == found[1]
