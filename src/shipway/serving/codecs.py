"""Request bodies into DataFrames, predictions into response bodies, for the JSON formats
(the Open Inference Protocol has its own module, :mod:`shipway.serving.oip`).

- Plain JSON: ``{"records": [...]}``, ``{"columns": {...}}``, or a list of records.
- MLflow's ``/invocations``: ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``.

Every problem is an :class:`InvalidArgument` that names the field, so the server answers 400.
"""

from __future__ import annotations

import io
from typing import Any

from shipway.errors import InvalidArgument


def _frame(data: Any, columns: list[str] | None = None) -> Any:
    import pandas as pd

    try:
        return pd.DataFrame(data, columns=columns)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"the input is not a table: {exc}") from exc


def _require_dict(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidArgument(f"{what} is a JSON object, not {type(body).__name__}")
    return body


def plain_request(body: Any) -> Any:
    """``{"records": [...]}``, ``{"columns": {...}}``, or a bare list of records."""
    if isinstance(body, list):
        return _records(body, "the body")
    body = _require_dict(body, "a prediction request")
    if "records" in body:
        return _records(body["records"], "'records'")
    if "columns" in body:
        columns = body["columns"]
        if not isinstance(columns, dict) or not all(isinstance(v, list) for v in columns.values()):
            raise InvalidArgument("'columns' maps each column to a list of values")
        if len({len(v) for v in columns.values()}) > 1:
            raise InvalidArgument("the lists in 'columns' have different lengths")
        return _frame(columns)
    raise InvalidArgument(
        "a prediction request has 'records' (a list of objects) or 'columns' (an object of lists)"
    )


def _records(records: Any, what: str) -> Any:
    if not isinstance(records, list) or not records:
        raise InvalidArgument(f"{what} is a non-empty list of objects")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidArgument(f"{what}[{i}] is an object of column to value")
    return _frame(records)


def invocations_request(body: Any, columns: list[str] | None) -> Any:
    """MLflow's scoring formats, so existing clients keep working."""
    body = _require_dict(body, "an /invocations request")
    formats = [
        k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body
    ]
    if len(formats) != 1:
        raise InvalidArgument(
            "an /invocations request has exactly one of dataframe_split, dataframe_records, "
            "instances or inputs"
        )
    kind, value = formats[0], body[formats[0]]
    if kind == "dataframe_split":
        split = _require_dict(value, "dataframe_split")
        if not isinstance(split.get("data"), list):
            raise InvalidArgument("dataframe_split needs 'columns' and a 'data' list of rows")
        return _frame(split["data"], split.get("columns") or columns)
    if kind == "dataframe_records":
        return _records(value, "dataframe_records")
    if isinstance(value, dict):  # inputs / instances as columns
        return _frame(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _records(value, kind)
    if isinstance(value, list) and value and isinstance(value[0], list):
        return _frame(value, columns)
    raise InvalidArgument(f"{kind} is a list of rows or records, or an object of columns")


def csv_request(body: bytes, columns: list[str] | None) -> Any:
    """An ``/invocations`` body of ``text/csv``: a header row of column names, then rows, as
    ``mlflow models serve`` takes it."""

    import pandas as pd

    if not body.strip():
        raise InvalidArgument("the CSV body is empty: send a header row and at least one row")
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise InvalidArgument(f"the body is not CSV: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise InvalidArgument("the CSV body has a header but no rows")
    if columns and list(frame.columns) != columns and set(frame.columns) == set(columns):
        frame = frame[columns]  # the signature's order
    return frame


def predictions_list(predictions: Any) -> list[Any]:
    import numpy as np

    return list(np.asarray(predictions).tolist())
