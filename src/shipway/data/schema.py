"""Data schemas: what each column must hold. Inferred from training data, edited or declared
in Python or YAML, saved with the dataset and the model, checked by :mod:`validation`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument

TYPES = ("integer", "float", "boolean", "string", "category", "datetime")
BUILTIN_CHECKS = ("regex", "in_range", "max_length")
# what a column's ``warn`` may name, besides its checks: a broken one is then a warning
WARNABLE = ("min", "max", "allowed", "unique", "max_missing_share", "not_null")


@dataclass(frozen=True)
class Check:
    """A named expectation on a column. Built-ins (regex, in_range, max_length) round-trip
    through YAML; a Python ``fn`` (Series -> boolean Series, True = passes) does not."""

    name: str
    argument: Any = None
    fn: Callable[[Any], Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.name not in BUILTIN_CHECKS:
            raise InvalidArgument(
                f"the custom check {self.name!r} is Python code and cannot be saved",
                hint="declare it in Python",
            )
        return {self.name: self.argument}

    def passes(self, values: Any) -> Any:
        """A boolean Series over the non-missing values."""
        if self.fn is not None:
            return self.fn(values)
        if self.name == "regex":
            pattern = re.compile(self.argument)
            return values.astype(str).map(lambda v: bool(pattern.fullmatch(v)))
        if self.name == "in_range":
            low, high = self.argument
            return (values >= low) & (values <= high)
        if self.name == "max_length":
            return values.astype(str).str.len() <= int(self.argument)
        raise InvalidArgument(
            f"unknown check {self.name!r}", hint=f"use one of: {', '.join(BUILTIN_CHECKS)}"
        )


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    type: str
    nullable: bool = True
    min: float | str | None = None
    max: float | str | None = None
    allowed: list[Any] | None = None
    unique: bool = False
    max_missing_share: float | None = None
    checks: tuple[Check, ...] = ()
    warn: tuple[str, ...] = ()  # expectations that only warn when broken (e.g. min, max)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise InvalidArgument(
                f"column {self.name!r} has unknown type {self.type!r}",
                hint=f"use one of: {', '.join(TYPES)}",
            )
        known = WARNABLE + tuple(c.name for c in self.checks)
        unknown = [w for w in self.warn if w not in known]
        if unknown:
            raise InvalidArgument(
                f"column {self.name!r}: warn names {unknown[0]!r}, which it does not check",
                hint=f"name some of: {', '.join(known)}",
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        for key in ("min", "max", "allowed", "max_missing_share"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.unique:
            out["unique"] = True
        if self.checks:
            out["checks"] = [c.to_dict() for c in self.checks]
        if self.warn:
            out["warn"] = list(self.warn)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        known = {
            "name",
            "type",
            "nullable",
            "min",
            "max",
            "allowed",
            "unique",
            "max_missing_share",
            "checks",
            "warn",
        }
        unknown = set(data) - known
        if unknown:
            raise InvalidArgument(
                f"column {data.get('name')!r}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        checks = []
        for item in data.get("checks", []) or []:
            if not isinstance(item, dict) or len(item) != 1:
                raise InvalidArgument(
                    f"column {data.get('name')!r}: a check is one of {', '.join(BUILTIN_CHECKS)} with its argument"
                )
            ((name, argument),) = item.items()
            if name not in BUILTIN_CHECKS:
                raise InvalidArgument(
                    f"unknown check {name!r}", hint=f"use one of: {', '.join(BUILTIN_CHECKS)}"
                )
            checks.append(Check(name, argument))
        fields = {k: v for k, v in data.items() if k not in ("checks", "warn")}
        warn = data.get("warn") or []
        if isinstance(warn, str) or not isinstance(warn, list):
            raise InvalidArgument(
                f"column {data.get('name')!r}: warn is a list of expectations, such as [min, max]"
            )
        return cls(**fields, checks=tuple(checks), warn=tuple(str(w) for w in warn))


@dataclass(frozen=True)
class Schema:
    columns: tuple[ColumnSchema, ...]
    strict: bool = False  # unexpected columns are failures
    min_rows: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "columns": [c.to_dict() for c in self.columns],
            "strict": self.strict,
        }
        if self.min_rows is not None:
            out["min_rows"] = self.min_rows
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise InvalidArgument(
                "a schema needs a list of columns",
                hint="see `shipway data schema FILE` for an example",
            )
        return cls(
            tuple(ColumnSchema.from_dict(c) for c in data["columns"]),
            bool(data.get("strict", False)),
            data.get("min_rows"),
        )

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> Schema:
        import yaml

        try:
            return cls.from_dict(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"the schema is not valid YAML: {exc}") from exc

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(
            json.dumps(self.to_dict(), indent=2, default=str)
            if target.suffix == ".json"
            else self.to_yaml()
        )
        return target

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        source = Path(path)
        if not source.is_file():  # a device (/dev/zero) or a folder would read forever or fail
            raise InvalidArgument(f"the schema {source} is not a file")
        if source.stat().st_size > MAX_SCHEMA_BYTES:
            raise InvalidArgument(
                f"the schema {source} is {source.stat().st_size:,} bytes; a schema is at most "
                f"{MAX_SCHEMA_BYTES:,}"
            )
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read the schema {source}: {exc}") from None
        if source.suffix == ".json":
            try:
                return cls.from_dict(json.loads(text))
            except json.JSONDecodeError as exc:
                raise InvalidArgument(f"{source.name} is not valid JSON: {exc}") from exc
        return cls.from_yaml(text)


MAX_SCHEMA_BYTES = 16 * 2**20  # a schema of thousands of columns is well under this


def _described(
    series: Any, rows: int, max_categories: int, category_share: float, margin: float
) -> tuple[dict[str, Any], bool]:
    """One column's type, nullability and limits, and whether it is a category some of whose
    values were seen only once."""
    import pandas as pd

    dtype = series.dtype
    values = series.dropna()
    spec: dict[str, Any] = {
        "name": str(series.name),
        "nullable": bool(series.isna().any()) or rows == 0,
    }
    if pd.api.types.is_bool_dtype(dtype):
        spec["type"] = "boolean"
    elif pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        spec["type"] = "integer" if pd.api.types.is_integer_dtype(dtype) else "float"
        finite = values[values.abs() != float("inf")] if spec["type"] == "float" else values
        if len(finite):
            low, high = _widened(finite.min(), finite.max(), margin, spec["type"])
            spec["min"], spec["max"] = (0 if finite.min() >= 0 else low), high
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        spec["type"] = "datetime"
        if len(values):
            spec["min"] = plain_scalar(values.min() - (values.max() - values.min()) * margin)
    else:
        counts = values.astype(str).value_counts()
        few = len(counts) <= max_categories and len(counts) <= max(category_share * rows, 2)
        if isinstance(dtype, pd.CategoricalDtype) or (few and len(values)):
            spec["type"] = "category"
            spec["allowed"] = sorted(str(v) for v in counts.index)
            return spec, bool((counts == 1).any())
        spec["type"] = "string"
    return spec, False


def _widened(low: Any, high: Any, margin: float, kind: str) -> tuple[Any, Any]:
    """``[low, high]`` widened by ``margin`` of its span on each side (by ``margin`` of the
    value when the span is 0), rounded outwards (whole numbers, or four significant digits
    of the span)."""

    low, high = float(low), float(high)
    pad = (high - low) * margin or abs(high) * margin
    wide_low, wide_high = low - pad, high + pad
    if kind == "integer":
        return int(math.floor(wide_low)), int(math.ceil(wide_high))
    # rounded outwards to four significant digits of the span: a limit a person can read
    exponent = math.floor(math.log10(max(wide_high - wide_low, 1e-12))) - 3
    step = 10.0**exponent
    digits = max(0, -exponent)
    return (
        round(math.floor(wide_low / step) * step, digits),
        round(math.ceil(wide_high / step) * step, digits),
    )


def plain_scalar(value: Any) -> Any:
    """A JSON/YAML-friendly scalar."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def infer_schema(
    df: Any,
    *,
    max_categories: int = 50,
    category_share: float = 0.05,
    range_margin: float = 0.1,
    limits: str = "warn",
) -> Schema:
    """A schema describing ``df`` as it is: types, nullability, ranges, categories.

    A sample's smallest and largest values are weak evidence of the limits, so a number's
    range is widened by ``range_margin`` of its span on each side (whole numbers rounded
    outwards) and a date's has only a lower limit (new data is later); broken, they only
    warn (``limits="warn"``; pass ``"error"`` to make them fail). A column with no negative
    values gets the minimum 0, which fails when broken: a sign is structure, not chance.
    Allowed categories warn too when some were seen only once: by Good-Turing's estimate,
    more data then holds categories the sample missed. Text columns with at most ``max_categories`` distinct
    values, and no more than ``category_share`` of the rows, become categories with those
    values allowed. A column is marked unique only when it looks like an id (its name ends in
    ``id``, all values are distinct and there are at least 100 rows): uniqueness in a sample
    is weak evidence.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidArgument(
            f"can only infer a schema from a DataFrame, not a {type(df).__name__}"
        )
    if limits not in ("warn", "error"):
        raise InvalidArgument(f"limits is 'warn' or 'error', not {limits!r}")
    if not 0 <= range_margin <= 10:
        raise InvalidArgument(f"range_margin is a share of the span, 0 to 10, not {range_margin}")
    rows = len(df)
    columns = []
    for name in df.columns:
        spec, seen_once = _described(df[name], rows, max_categories, category_share, range_margin)
        if limits == "warn":
            chance = [k for k in ("min", "max") if k in spec and not (k == "min" and spec[k] == 0)]
            spec["warn"] = (*chance, *(["allowed"] if seen_once else []))
        looks_like_id = str(name).lower().endswith("id") and rows >= 100
        if (
            looks_like_id
            and spec["type"] in ("integer", "string")
            and not spec["nullable"]
            and df[name].is_unique
        ):
            spec["unique"] = True
        columns.append(ColumnSchema(**spec))
    return Schema(tuple(columns))
