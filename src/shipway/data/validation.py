"""Checking data against a schema: every broken expectation, with counts, shares and examples.

``validate`` is vectorised (whole columns at once); ``validate_record`` is the plain-Python
fast path for one serving request.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from shipway.data.schema import ColumnSchema, Schema, plain_scalar
from shipway.errors import InvalidArgument


@dataclass(frozen=True)
class Failure:
    column: str | None
    check: str
    failing_rows: int
    share: float
    examples: list[Any]
    message: str


@dataclass(frozen=True)
class ValidationResult:
    rows: int
    failures: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)  # broken, but marked ``warn``

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "failures": [asdict(f) for f in self.failures],
            "warnings": [asdict(f) for f in self.warnings],
        }

    def summary(self) -> str:
        if self.ok:
            lines = [f"valid: {self.rows:,} rows meet every expectation"]
            if self.warnings:
                lines[0] = f"valid, with {len(self.warnings)} warning(s): {self.rows:,} rows"
        else:
            lines = [f"invalid: {len(self.failures)} broken expectation(s) in {self.rows:,} rows"]
        lines += [_line(f) for f in self.failures]
        lines += [_line(f, "warning: ") for f in self.warnings]
        return "\n".join(lines)


def _line(f: Failure, prefix: str = "") -> str:
    where = f.column if f.column is not None else "(table)"
    examples = f"; e.g. {', '.join(repr(e) for e in f.examples)}" if f.examples else ""
    return f"  {prefix}{where}: {f.message} — {f.failing_rows:,} row(s), {f.share:.2%}{examples}"


def _examples(values: Any, limit: int) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        plain = plain_scalar(value)
        if plain not in seen:
            seen.append(plain)
        if len(seen) == limit:
            break
    return seen


def validate(df: Any, schema: Schema, *, max_examples: int = 5) -> ValidationResult:
    """Check ``df`` against ``schema``; reports every broken expectation, never stops early."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidArgument(f"can only validate a DataFrame, not a {type(df).__name__}")
    rows = len(df)
    failures: list[Failure] = []
    warnings: list[Failure] = []
    warned = {(c.name, w) for c in schema.columns for w in c.warn}

    def fail(column: str | None, check: str, mask_or_count: Any, values: Any, message: str) -> None:
        count = int(mask_or_count) if isinstance(mask_or_count, int) else int(mask_or_count.sum())
        if count:
            (warnings if (column, check) in warned else failures).append(
                Failure(
                    column,
                    check,
                    count,
                    count / rows if rows else 1.0,
                    _examples(values, max_examples),
                    message,
                )
            )

    if rows == 0:
        failures.append(Failure(None, "not_empty", 0, 1.0, [], "the data has no rows"))
    if schema.min_rows is not None and 0 < rows < schema.min_rows:
        failures.append(
            Failure(
                None,
                "min_rows",
                rows,
                1.0,
                [],
                f"expected at least {schema.min_rows:,} rows, found {rows:,}",
            )
        )
    names = [str(c) for c in df.columns]
    for spec in schema.columns:
        if spec.name not in names:
            failures.append(Failure(spec.name, "present", rows, 1.0, [], "the column is missing"))
            continue
        _check_column(df[spec.name], spec, rows, fail)
    if schema.strict:
        expected = {c.name for c in schema.columns}
        for extra in (n for n in names if n not in expected):
            failures.append(
                Failure(
                    extra,
                    "expected_column",
                    rows,
                    1.0,
                    [],
                    "the column is not in the schema (strict)",
                )
            )
    return ValidationResult(rows, failures, warnings)


def _check_column(series: Any, spec: ColumnSchema, rows: int, fail: Any) -> None:
    missing = series.isna()
    if not spec.nullable:
        fail(spec.name, "not_null", missing, [], "missing values in a column that may not have any")
    if spec.max_missing_share is not None and rows and missing.mean() > spec.max_missing_share:
        count = int(missing.sum())
        fail(
            spec.name,
            "max_missing_share",
            count,
            [],
            f"{missing.mean():.1%} missing, more than the allowed {spec.max_missing_share:.1%}",
        )
    present = series[~missing]
    by_type = {
        "integer": _check_numbers,
        "float": _check_numbers,
        "datetime": _check_dates,
        "boolean": _check_booleans,
    }
    by_type.get(spec.type, _check_categories)(spec, present, fail)
    if spec.unique:
        duplicated = present.duplicated(keep=False)
        fail(
            spec.name,
            "unique",
            duplicated,
            present[duplicated],
            "duplicate values in a unique column",
        )
    _run_checks(spec, present, fail)


def _check_numbers(spec: ColumnSchema, present: Any, fail: Any) -> None:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(present.dtype):
        fail(
            spec.name, "type", len(present), present, f"expected {spec.type} values, found booleans"
        )
        return
    numbers = (
        present
        if pd.api.types.is_numeric_dtype(present.dtype)
        else pd.to_numeric(present, errors="coerce")
    )
    unparsable = numbers.isna()
    fail(
        spec.name,
        "type",
        unparsable,
        present[unparsable],
        f"expected {spec.type} values, found values that are not numbers",
    )
    numbers = numbers[~unparsable].astype(float)
    infinite = np.isinf(numbers)
    fail(spec.name, "finite", infinite, numbers[infinite], "infinite values")
    numbers = numbers[~infinite]
    if spec.type == "integer":
        fractional = numbers % 1 != 0
        fail(
            spec.name,
            "type",
            fractional,
            numbers[fractional],
            "expected whole numbers, found fractions",
        )
    _range(spec, numbers, fail)


def _check_dates(spec: ColumnSchema, present: Any, fail: Any) -> None:
    import pandas as pd

    moments = pd.to_datetime(
        present, errors="coerce", utc=getattr(present.dtype, "tz", None) is not None
    )
    unparsable = moments.isna()
    fail(
        spec.name,
        "type",
        unparsable,
        present[unparsable],
        "expected dates, found values that are not dates",
    )
    moments = moments[~unparsable]
    if spec.min is not None:
        below = moments < pd.Timestamp(spec.min)
        fail(spec.name, "min", below, moments[below], f"dates before {spec.min}")
    if spec.max is not None:
        above = moments > pd.Timestamp(spec.max)
        fail(spec.name, "max", above, moments[above], f"dates after {spec.max}")


def _check_booleans(spec: ColumnSchema, present: Any, fail: Any) -> None:
    import numpy as np
    import pandas as pd

    if not pd.api.types.is_bool_dtype(present.dtype):
        wrong = ~present.map(lambda v: isinstance(v, bool | np.bool_))
        fail(spec.name, "type", wrong, present[wrong], "expected booleans")


def _check_categories(spec: ColumnSchema, present: Any, fail: Any) -> None:
    """Strings and categories: only the allowed values, when the schema lists them."""
    if spec.allowed is not None:
        allowed = {str(v) for v in spec.allowed}
        text = present.astype(str)
        unseen = ~text.isin(allowed)
        fail(spec.name, "allowed", unseen, text[unseen], "values outside the allowed categories")


def _run_checks(spec: ColumnSchema, present: Any, fail: Any) -> None:
    for check in spec.checks:
        try:
            passes = check.passes(present).astype(bool)
        except Exception as exc:  # a check that cannot run is itself a failure to report
            fail(spec.name, check.name, len(present), [], f"the check could not run: {exc}")
            continue
        fail(
            spec.name,
            check.name,
            ~passes,
            present[~passes],
            f"values failing the check {check.name}"
            + (f" {check.argument!r}" if check.argument is not None else ""),
        )


def _range(spec: ColumnSchema, numbers: Any, fail: Any) -> None:
    if spec.min is not None:
        below = numbers < float(spec.min)
        fail(spec.name, "min", below, numbers[below], f"values below the minimum {spec.min}")
    if spec.max is not None:
        above = numbers > float(spec.max)
        fail(spec.name, "max", above, numbers[above], f"values above the maximum {spec.max}")


def validate_record(record: dict[str, Any], schema: Schema) -> list[Failure]:
    """The checks of :func:`validate` for one row, in plain Python (for serving requests).

    Uniqueness and missing shares need many rows and are not checked here; expectations
    marked ``warn`` are left out (a row is refused only for what fails).
    """
    if not isinstance(record, dict):
        raise InvalidArgument(
            f"a record is a dict of column to value, not a {type(record).__name__}"
        )
    failures: list[Failure] = []
    for spec in schema.columns:
        if spec.name not in record:
            failures.append(Failure(spec.name, "present", 1, 1.0, [], "the column is missing"))
            continue
        value = record[spec.name]
        problem = _record_problem(spec, value)
        if problem is not None:
            failures.append(
                Failure(
                    spec.name, problem[0], 1, 1.0, [value] if value is not None else [], problem[1]
                )
            )
    if schema.strict:
        expected = {c.name for c in schema.columns}
        failures += [
            Failure(k, "expected_column", 1, 1.0, [], "the column is not in the schema (strict)")
            for k in record
            if k not in expected
        ]
    warned = {(c.name, w) for c in schema.columns for w in c.warn}
    return [f for f in failures if (f.column, f.check) not in warned]


def _record_problem(spec: ColumnSchema, value: Any) -> tuple[str, str] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (
            None
            if spec.nullable
            else ("not_null", "missing values in a column that may not have any")
        )
    kind = spec.type
    if kind in ("integer", "float"):
        problem = _number_problem(spec, value)
    elif kind == "boolean":
        problem = None if isinstance(value, bool) else ("type", "expected booleans")
    elif kind in ("string", "category") and spec.allowed is not None:
        allowed = str(value) in {str(v) for v in spec.allowed}
        problem = None if allowed else ("allowed", "values outside the allowed categories")
    else:
        problem = None
    return problem or _record_check_problem(spec, value)


def _number_problem(spec: ColumnSchema, value: Any) -> tuple[str, str] | None:
    if isinstance(value, bool):
        return "type", f"expected {spec.type} values, found booleans"
    if not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return "type", f"expected {spec.type} values, found values that are not numbers"
    if math.isinf(value):
        return "finite", "infinite values"
    if spec.type == "integer" and value % 1 != 0:
        return "type", "expected whole numbers, found fractions"
    if spec.min is not None and value < float(spec.min):
        return "min", f"values below the minimum {spec.min}"
    if spec.max is not None and value > float(spec.max):
        return "max", f"values above the maximum {spec.max}"
    return None


def _record_check_problem(spec: ColumnSchema, value: Any) -> tuple[str, str] | None:
    for check in spec.checks:
        if check.fn is None and check.name in ("regex", "in_range", "max_length"):
            import pandas as pd

            if not bool(check.passes(pd.Series([value])).iloc[0]):
                return check.name, f"values failing the check {check.name} {check.argument!r}"
    return None
