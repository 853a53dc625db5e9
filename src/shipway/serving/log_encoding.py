"""Log rows into Arrow tables with a fixed schema, leaving out only the rows that do not fit.

The columns the log defines (request id, row, time, version, latency, score) and the inputs a
model's signature declares always have the same type, whatever a segment holds, so every file
of a deployment's log reads as one table. Columns with no declared type (a model's output, the
inputs of a model without a signature) take the type Arrow infers, or become JSON text when
their values mix types. A value that cannot take its column's type costs its own row, which is
counted, never the segment around it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from shipway.models.signature import Signature

# The types the log itself fixes, whatever the model.
BASE_TYPES: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "row": pa.int64(),
    "timestamp": pa.float64(),
    "model_version": pa.int64(),
    "latency_ms": pa.float64(),
    "score": pa.float64(),
    "shadow_version": pa.int64(),
    "key": pa.string(),
    "caller": pa.string(),
}
_SIGNATURE_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "long": pa.int64(),
    "float": pa.float64(),
    "double": pa.float64(),
    "string": pa.string(),
    "binary": pa.binary(),
}
_ARROW_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    TypeError,
    ValueError,
    OverflowError,
)


def arrow_type(signature_type: str) -> pa.DataType | None:
    """The log's type for a signature column type (None: let Arrow infer it, e.g. datetimes)."""
    return _SIGNATURE_TYPES.get(signature_type)


def input_types(signature: Signature | None) -> dict[str, pa.DataType]:
    """``input.NAME`` -> type, for the inputs a signature declares."""
    if signature is None:
        return {}
    found = {}
    for spec in signature.inputs:
        wanted = arrow_type(spec.type)
        if wanted is not None:
            found[f"input.{spec.name}"] = wanted
    return found


@dataclass(frozen=True)
class Encoded:
    table: pa.Table | None  # None when no row could be encoded
    bad_rows: list[int]  # positions in the frame that were left out
    problem: str | None  # the first column that refused a value, and why


def encode(frame: Any, declared: dict[str, pa.DataType] | None = None) -> Encoded:
    """``frame`` as an Arrow table: declared types for the columns that have one."""
    types = {**BASE_TYPES, **(declared or {})}
    arrays, bad, problem = {}, set(), None
    for name in frame.columns:
        array, refused, why = _column(frame[name], types.get(str(name)))
        if refused:
            bad.update(refused)
            problem = problem or f"column {name!r}: {why}"
        else:
            arrays[str(name)] = array
    if not bad:
        return Encoded(pa.table(arrays), [], None)
    keep = [i for i in range(len(frame)) if i not in bad]
    if not keep:
        return Encoded(None, sorted(bad), problem)
    rest = encode(frame.iloc[keep].reset_index(drop=True), declared)
    return Encoded(rest.table, sorted(bad), problem)


def _column(series: Any, wanted: pa.DataType | None) -> tuple[pa.Array, list[int], str | None]:
    if wanted is not None:
        try:
            return pa.array(series, type=wanted, from_pandas=True), [], None
        except _ARROW_ERRORS as exc:
            refused = [i for i, v in enumerate(series.tolist()) if not _fits(v, wanted)]
            if refused:
                example = series.iloc[refused[0]]
                return pa.array([]), refused, f"{example!r} is not {wanted} ({exc})"
            return pa.array([_text(v) for v in series.tolist()], type=pa.string()), [], None
    try:
        return pa.array(series, from_pandas=True), [], None
    except _ARROW_ERRORS:  # mixed types: keep every value, as JSON text
        return pa.array([_text(v) for v in series.tolist()], type=pa.string()), [], None


def _fits(value: Any, wanted: pa.DataType) -> bool:
    try:
        pa.array([value], type=wanted, from_pandas=True)
    except _ARROW_ERRORS:
        return False
    return True


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)
    except RecursionError:
        return "<a value nested too deeply to log>"
