"""Model signatures: the input columns a model expects (name, type, required) and its output.

A signature is inferred from an input example when a model is logged, stored with it, and
checked on every prediction, so a wrong column or type is refused with a message that names
it before the model sees the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shipway.errors import InvalidArgument

TYPES = ("boolean", "integer", "long", "float", "double", "string", "datetime", "binary")
_NUMERIC = {"integer", "long", "float", "double"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required}


@dataclass(frozen=True)
class Signature:
    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            tuple(ColumnSpec(**c) for c in data.get("inputs", [])),
            tuple(ColumnSpec(**c) for c in data.get("outputs", [])),
        )

    def validate(self, df: Any) -> Any:
        """The frame with the signature's columns, in its order and types; refuses what does not fit.

        Extra columns are dropped (as MLflow does); integers are accepted where floats are expected.
        """
        import pandas as pd

        missing = [c.name for c in self.inputs if c.required and c.name not in df.columns]
        if missing:
            raise InvalidArgument(
                f"missing input column(s): {', '.join(missing)}",
                hint=f"the model expects {', '.join(self.columns)}",
                details={"column": missing[0], "expected": "present", "found": "missing"},
            )
        # Fast path: when every column already has a fitting dtype (the usual case for a
        # serving request), only reorder. Touching each column costs ~40 µs in pandas.
        dtypes = dict(zip(df.columns, df.dtypes, strict=True))
        if all(c.name in dtypes and _fits(dtypes[c.name], c) for c in self.inputs) and all(
            _all_text(df[c.name]) for c in self.inputs if c.type == "string"
        ):
            return df if list(df.columns) == self.columns else df[self.columns]
        out = {}
        for spec in self.inputs:
            if spec.name not in df.columns:
                out[spec.name] = pd.Series([None] * len(df), index=df.index, dtype=object)
                continue
            out[spec.name] = _convert(df[spec.name], spec)
        return pd.DataFrame(out, index=df.index)

    def validate_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The one-row fast path: plain Python checks, no pandas."""
        clean: dict[str, Any] = {}
        for spec in self.inputs:
            if spec.name not in record:
                if spec.required:
                    raise InvalidArgument(
                        f"missing input column: {spec.name}",
                        details={"column": spec.name, "expected": spec.type, "found": "missing"},
                    )
                clean[spec.name] = None
                continue
            clean[spec.name] = check_value(spec, record[spec.name])
        return clean


def _type_error(spec: ColumnSpec, found: str, example: Any) -> InvalidArgument:
    return InvalidArgument(
        f"column {spec.name!r} expects {spec.type} values but got {found} (for example {example!r})",
        details={"column": spec.name, "expected": spec.type, "found": found},
    )


def check_value(spec: ColumnSpec, value: Any) -> Any:
    """One value checked (and converted, e.g. numeric text to a number) for its column."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    if spec.type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value) if spec.type in ("float", "double") else int(value)
                except ValueError:
                    raise _type_error(spec, "text", value) from None
            raise _type_error(spec, type(value).__name__, value)
        if spec.type in ("integer", "long") and isinstance(value, float) and not value.is_integer():
            raise _type_error(spec, "a fractional number", value)
        return value
    if spec.type == "boolean" and not isinstance(value, bool):
        raise _type_error(spec, type(value).__name__, value)
    if spec.type == "string" and not isinstance(value, str):
        return str(value)
    return value


def _fits(dtype: Any, spec: ColumnSpec) -> bool:
    """Whether a column of ``dtype`` passes ``_convert`` unchanged (without looking at values)."""
    kind = getattr(dtype, "kind", "")
    if spec.type in ("float", "double"):
        return kind in "iuf" and kind != ""
    if spec.type in ("integer", "long"):
        return kind in "iu" and kind != ""
    if spec.type == "boolean":
        return kind == "b"
    if spec.type == "datetime":
        return kind == "M"
    if spec.type == "string":
        return kind in "OU" and kind != ""
    return False


def _convert(series: Any, spec: ColumnSpec) -> Any:
    if spec.type in _NUMERIC:
        return _convert_numbers(series, spec)
    if spec.type == "boolean":
        return _convert_booleans(series, spec)
    if spec.type == "datetime":
        import pandas as pd

        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError):
            raise _type_error(spec, "values that are not dates", series.iloc[0]) from None
    if spec.type == "string":
        return _convert_text(series, spec)
    return series


def _convert_numbers(series: Any, spec: ColumnSpec) -> Any:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        raise _type_error(spec, "boolean", bool(series.iloc[0]) if len(series) else True)
    if pd.api.types.is_numeric_dtype(series.dtype):
        if spec.type in ("integer", "long") and pd.api.types.is_float_dtype(series.dtype):
            fractional = series.dropna() % 1 != 0
            if fractional.any():
                raise _type_error(
                    spec, "fractional numbers", float(series.dropna()[fractional].iloc[0])
                )
        return series
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        raise _type_error(spec, "text", series[bad].iloc[0])
    return converted


def _convert_booleans(series: Any, spec: ColumnSpec) -> Any:
    import pandas as pd

    if not pd.api.types.is_bool_dtype(series.dtype):
        values = series.dropna()
        if len(values) and not values.map(lambda v: isinstance(v, bool)).all():
            raise _type_error(spec, str(series.dtype), values.iloc[0])
    return series


def _convert_text(series: Any, spec: ColumnSpec) -> Any:
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype) or _all_text(series):
        return series
    if not pd.api.types.is_object_dtype(series.dtype):
        return series.astype(str)
    values = series.tolist()
    for value in values:  # numbers and booleans become text, as one value would
        if not (value is None or isinstance(value, str | bool | int | float)):
            raise _type_error(spec, type(value).__name__, value)
    return pd.Series([_as_text(v) for v in values], index=series.index, dtype=object)


def _all_text(series: Any) -> bool:
    """Whether every value of a text column is text or missing (no objects, lists, numbers)."""
    import pandas as pd

    if isinstance(series.dtype, pd.StringDtype):
        return True
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str) or (isinstance(value, float) and math.isnan(value)):
        return value
    return str(value)


def _spec_for(name: str, dtype: Any) -> ColumnSpec:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        kind = "boolean"
    elif pd.api.types.is_integer_dtype(dtype):
        kind = "long" if getattr(dtype, "itemsize", 8) == 8 else "integer"
    elif pd.api.types.is_float_dtype(dtype):
        kind = "float" if getattr(dtype, "itemsize", 8) == 4 else "double"
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        kind = "datetime"
    elif getattr(dtype, "kind", "") == "S":
        kind = "binary"
    else:
        kind = "string"
    return ColumnSpec(str(name), kind)


def as_frame(data: Any, columns: list[str] | None = None) -> Any:
    """A DataFrame from a frame, a record, a list of records, a dict of columns or an array."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T if data.index.dtype == object else data.to_frame()
    if isinstance(data, dict):
        if all(isinstance(v, list | tuple | np.ndarray) for v in data.values()):
            return pd.DataFrame(data)
        return pd.DataFrame([data])
    if isinstance(data, list):
        if data and isinstance(data[0], dict):
            return pd.DataFrame(data)
        return pd.DataFrame(np.asarray(data), columns=columns)
    if isinstance(data, np.ndarray):
        return pd.DataFrame(data if data.ndim == 2 else data.reshape(1, -1), columns=columns)
    raise InvalidArgument(
        f"cannot read model input of type {type(data).__name__}",
        hint="pass a DataFrame, a dict, a list of dicts or an array",
    )


def infer_signature(input_example: Any, output: Any = None) -> Signature:
    """The signature of an input example (and optionally of the model's output on it)."""
    import numpy as np
    import pandas as pd

    frame = as_frame(input_example)
    inputs = tuple(_spec_for(name, dtype) for name, dtype in frame.dtypes.items())
    outputs: tuple[ColumnSpec, ...] = ()
    if output is not None:
        if isinstance(output, pd.DataFrame):
            outputs = tuple(_spec_for(str(n), d) for n, d in output.dtypes.items())
        else:
            array = np.asarray(output)
            outputs = (
                _spec_for(
                    "prediction", pd.Series(array.ravel()[:1]).dtype if array.size else array.dtype
                ),
            )
    return Signature(inputs, outputs)
