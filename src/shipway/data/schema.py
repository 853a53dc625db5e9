"""Data schemas: what each column must hold. Inferred from training data, edited or declared
in Python or YAML, saved with the dataset and the model, checked by :mod:`validation`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument

TYPES = ("integer", "float", "boolean", "string", "category", "datetime")
BUILTIN_CHECKS = ("regex", "in_range", "max_length")


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

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise InvalidArgument(
                f"column {self.name!r} has unknown type {self.type!r}",
                hint=f"use one of: {', '.join(TYPES)}",
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
        fields = {k: v for k, v in data.items() if k != "checks"}
        return cls(**fields, checks=tuple(checks))


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


def plain_scalar(value: Any) -> Any:
    """A JSON/YAML-friendly scalar."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def infer_schema(df: Any, *, max_categories: int = 50, category_share: float = 0.05) -> Schema:
    """A schema describing ``df`` as it is: types, nullability, ranges, categories.

    Text columns with at most ``max_categories`` distinct values, and no more than
    ``category_share`` of the rows, become categories with those values allowed. A column is
    marked unique only when it looks like an id (its name ends in ``id``, all values are
    distinct and there are at least 100 rows) — uniqueness in a sample is weak evidence.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidArgument(
            f"can only infer a schema from a DataFrame, not a {type(df).__name__}"
        )
    columns = []
    rows = len(df)
    for name in df.columns:
        series = df[name]
        dtype = series.dtype
        nullable = bool(series.isna().any()) or rows == 0
        values = series.dropna()
        spec: dict[str, Any] = {"name": str(name), "nullable": nullable}
        if pd.api.types.is_bool_dtype(dtype):
            spec["type"] = "boolean"
        elif pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
            spec["type"] = "integer" if pd.api.types.is_integer_dtype(dtype) else "float"
            finite = values[values.abs() != float("inf")] if spec["type"] == "float" else values
            if len(finite):
                spec["min"], spec["max"] = plain_scalar(finite.min()), plain_scalar(finite.max())
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            spec["type"] = "datetime"
            if len(values):
                spec["min"], spec["max"] = plain_scalar(values.min()), plain_scalar(values.max())
        else:
            distinct: Any = values.astype(str).unique() if len(values) else []
            few = len(distinct) <= max_categories and len(distinct) <= max(category_share * rows, 2)
            if isinstance(dtype, pd.CategoricalDtype) or (few and len(values)):
                spec["type"] = "category"
                spec["allowed"] = sorted(str(v) for v in distinct)
            else:
                spec["type"] = "string"
        looks_like_id = str(name).lower().endswith("id") and rows >= 100
        if (
            looks_like_id
            and spec["type"] in ("integer", "string")
            and not nullable
            and values.is_unique
        ):
            spec["unique"] = True
        columns.append(ColumnSchema(**spec))
    return Schema(tuple(columns))
