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
    assert (by_name["visits"].min, by_name["visits"].max) == (
        int(frame.visits.min()),
        int(frame.visits.max()),
    )
    assert by_name["joined"].min == "2024-01-01T00:00:00"
    assert validate(frame, schema).ok, "data is valid against its own schema"


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
