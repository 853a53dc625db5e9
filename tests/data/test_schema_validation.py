"""Schemas: inference, YAML/JSON round trips; validation: every broken expectation, reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipway.data import Check, ColumnSchema, Schema, infer_schema, validate, validate_record
from shipway.errors import InvalidArgument


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
            "visits": rng.integers(0, 20, n),
            "plan": rng.choice(["free", "pro", "team"], n),
            "email": [f"user{i}@example.com" for i in range(n)],
            "active": rng.random(n) < 0.5,
            "joined": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )


def test_inference(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    by_name = {c.name: c for c in schema.columns}
    assert {n: c.type for n, c in by_name.items()} == {
        "customer_id": "integer",
        "amount": "float",
        "visits": "integer",
        "plan": "category",
        "email": "string",
        "active": "boolean",
        "joined": "datetime",
    }
    assert by_name["amount"].nullable and not by_name["visits"].nullable
    assert by_name["plan"].allowed == ["free", "pro", "team"]
    assert by_name["customer_id"].unique and not by_name["visits"].unique
    # no negative visits: the minimum 0 fails when broken; the maximum, widened by a tenth
    # of the span, only warns
    assert (by_name["visits"].min, by_name["visits"].max) == (0, 21)
    assert by_name["visits"].warn == ("max",)
    assert by_name["joined"].min < "2024-01-01" and by_name["joined"].max is None
    assert validate(frame, schema).ok, "data is valid against its own schema"


def test_a_schema_inferred_from_half_the_data_holds_for_the_other_half() -> None:
    """Issue 23, item 16: a sample's extremes are not the data's limits."""
    from importlib.resources import files

    flights = pd.read_parquet(str(files("shipway.demo") / "flights.parquet"))
    first = flights.sample(frac=0.5, random_state=0)
    rest = flights.drop(first.index)
    result = validate(rest, infer_schema(first))
    # what fails is what a check is for: two flights to places the data never flew to
    # otherwise (one of them LaGuardia, from New York), not the sample's extremes
    assert [(f.column, f.check, f.failing_rows) for f in result.failures] == [
        ("dest", "allowed", 2)
    ], result.summary()
    assert {w.check for w in result.warnings} <= {"min", "max"}
    assert all(w.share < 0.001 for w in result.warnings), result.summary()
    strict = validate(rest, infer_schema(first, range_margin=0, limits="error"))
    assert {f.check for f in strict.failures} == {"min", "allowed"}, "hard limits fail"
    negative = rest.head(100).assign(distance=-5)
    broken = validate(negative, infer_schema(first))
    assert [(f.column, f.check) for f in broken.failures] == [("distance", "min")]


def test_categories_warn_when_the_sample_saw_some_only_once() -> None:
    """Good-Turing: categories seen once say more data holds ones the sample missed."""
    often = pd.DataFrame({"plan": ["free", "pro"] * 100})
    rare = pd.DataFrame({"plan": ["free", "pro"] * 100 + ["team"]})
    assert infer_schema(often).columns[0].warn == ()
    assert infer_schema(rare).columns[0].warn == ("allowed",)
    assert validate(pd.DataFrame({"plan": ["max"]}), infer_schema(rare)).ok


def test_warned_expectations_round_trip_and_never_refuse_a_record() -> None:
    schema = Schema.from_yaml(
        "columns:\n- {name: temp, type: float, min: -10, max: 40, warn: [max]}\n"
    )
    assert Schema.from_yaml(schema.to_yaml()) == schema
    assert validate_record({"temp": 45.0}, schema) == []
    assert [f.check for f in validate_record({"temp": -20.0}, schema)] == ["min"]
    hot = validate(pd.DataFrame({"temp": [20.0, 45.0]}), schema)
    assert hot.ok and "warning: temp: values above the maximum 40" in hot.summary()
    with pytest.raises(InvalidArgument, match="warn names 'mean'"):
        Schema.from_yaml("columns:\n- {name: t, type: float, warn: [mean]}\n")


def test_round_trips(frame: pd.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(frame)
    with_check = Schema(
        schema.columns[:-1]
        + (ColumnSchema("joined", "datetime", checks=(Check("max_length", 30),)),),
        strict=True,
        min_rows=10,
    )
    for name in ("s.yaml", "s.json"):
        assert Schema.load(with_check.save(tmp_path / name)) == with_check
    with pytest.raises(InvalidArgument, match="cannot be saved"):
        Schema(
            (ColumnSchema("x", "float", checks=(Check("positive", fn=lambda s: s > 0),)),)
        ).to_yaml()
    with pytest.raises(InvalidArgument, match="unknown type 'text'"):
        Schema.from_yaml("columns:\n- {name: a, type: text}\n")
    with pytest.raises(InvalidArgument, match="unknown check 'palindrome'"):
        Schema.from_yaml("columns:\n- {name: a, type: string, checks: [{palindrome: true}]}\n")


def test_every_broken_expectation_is_reported(frame: pd.DataFrame) -> None:
    schema = Schema(
        infer_schema(frame).columns + (ColumnSchema("email2", "string", nullable=True),),
        strict=True,
        min_rows=500,
    )
    bad = frame.drop(columns=["email"]).copy()
    bad["amount"] = bad["amount"].astype(object)
    bad.loc[0, "amount"] = "lots"
    bad.loc[1, "amount"] = np.inf
    bad.loc[2:4, "plan"] = "enterprise"
    bad.loc[5, "customer_id"] = 6
    bad.loc[7, "visits"] = -1
    bad.loc[8, "visits"] = None
    bad["extra"] = 1
    result = validate(bad, schema)
    found = {(f.column, f.check): (f.failing_rows, f.examples) for f in result.failures}
    assert found == {
        (None, "min_rows"): (200, []),
        ("amount", "type"): (1, ["lots"]),
        ("amount", "finite"): (1, [float("inf")]),
        ("customer_id", "unique"): (2, [6]),
        ("visits", "not_null"): (1, []),
        ("visits", "min"): (1, [-1.0]),
        ("plan", "allowed"): (3, ["enterprise"]),
        ("email", "present"): (200, []),
        ("email2", "present"): (200, []),
        ("extra", "expected_column"): (200, []),
    }
    plan = next(f for f in result.failures if f.check == "allowed")
    assert plan.share == pytest.approx(3 / 200)
    assert (
        "plan: values outside the allowed categories — 3 row(s), 1.50%; e.g. 'enterprise'"
        in result.summary()
    )


def test_custom_and_builtin_checks() -> None:
    schema = Schema(
        (
            ColumnSchema(
                "code", "string", checks=(Check("regex", r"[A-Z]{3}"), Check("max_length", 3))
            ),
            ColumnSchema(
                "score",
                "float",
                checks=(
                    Check("in_range", [0, 1]),
                    Check("not_two_hundredths", fn=lambda s: s != 0.02),
                ),
            ),
        )
    )
    df = pd.DataFrame({"code": ["ABC", "abcd", "XYZ"], "score": [0.5, 1.5, 0.02]})
    checks = {(f.column, f.check): f.failing_rows for f in validate(df, schema).failures}
    assert checks == {
        ("code", "regex"): 1,
        ("code", "max_length"): 1,
        ("score", "in_range"): 1,
        ("score", "not_two_hundredths"): 1,
    }


def test_empty_and_wrong_input() -> None:
    schema = Schema((ColumnSchema("a", "float"),))
    empty = validate(pd.DataFrame({"a": pd.Series([], dtype=float)}), schema)
    assert not empty.ok and empty.failures[0].check == "not_empty"
    with pytest.raises(InvalidArgument, match="only validate a DataFrame"):
        validate([1, 2], schema)  # type: ignore[arg-type]
    assert validate(pd.DataFrame({"a": [None, None]}), schema).ok, (
        "all-null is fine in a nullable column"
    )


@pytest.mark.parametrize(
    "row",
    [
        {
            "customer_id": 1,
            "amount": 50.0,
            "visits": 3,
            "plan": "pro",
            "email": "a@b.c",
            "active": True,
            "joined": "2024-02-01",
        },
        {
            "customer_id": 1,
            "amount": "lots",
            "visits": 3,
            "plan": "pro",
            "email": "a@b.c",
            "active": True,
            "joined": "2024-02-01",
        },
        {
            "customer_id": 1,
            "amount": None,
            "visits": -3,
            "plan": "gold",
            "email": "a@b.c",
            "active": "yes",
            "joined": "2024-02-01",
        },
        {
            "customer_id": 1,
            "amount": 1.0,
            "visits": 2.5,
            "plan": "pro",
            "email": "a@b.c",
            "active": False,
            "joined": "2024-02-01",
        },
    ],
)
def test_record_fast_path_agrees_with_frame_validation(frame: pd.DataFrame, row: dict) -> None:
    schema = Schema(tuple(c for c in infer_schema(frame).columns if c.name != "joined"))
    row = {k: v for k, v in row.items() if k != "joined"}
    one_row = pd.DataFrame([row]).astype({"active": object})
    from_frame = {
        (f.column, f.check) for f in validate(one_row, schema).failures if f.check != "unique"
    }
    from_record = {(f.column, f.check) for f in validate_record(row, schema)}
    assert from_record == from_frame
