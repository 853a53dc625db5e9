"""What a log segment sent to ``shipway server`` must be before it is stored: a file of its
kind that its readers can read. A segment that would not read, or that holds another kind's
columns, is refused on the way in, so it never reaches the log that monitoring and canaries
read."""

from __future__ import annotations

import io
import json
from typing import Any

from shipway.errors import InvalidArgument
from shipway.serving.log_encoding import BASE_TYPES
from shipway.serving.prediction_log import GROUND_TRUTH, HEALTH, PREDICTIONS, health_problem
from shipway.serving.profiles import PROFILES
from shipway.stats.profile import DatasetProfile

SUFFIX = {PREDICTIONS: ".parquet", GROUND_TRUTH: ".parquet", HEALTH: ".json", PROFILES: ".json"}
REQUIRED = {
    PREDICTIONS: ("request_id", "timestamp", "model_version", "output"),
    GROUND_TRUTH: ("label", "timestamp"),
}


def check_segment(kind: str, key: str, data: bytes) -> None:
    """Refuse ``data`` unless it reads as a segment of ``kind`` (raises InvalidArgument)."""
    if not key.endswith(SUFFIX[kind]):
        raise InvalidArgument(f"a {kind} segment is a {SUFFIX[kind]} file, not {key!r}")
    if SUFFIX[kind] == ".parquet":
        _check_parquet(kind, key, data)
    elif kind == HEALTH:
        _check_health(key, _json(key, data))
    else:
        _check_profile(key, _json(key, data))


def _check_parquet(kind: str, key: str, data: bytes) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))  # every page: one that fails is refused now
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidArgument(f"{key} is not a readable Parquet file: {exc}") from None
    missing = [c for c in REQUIRED[kind] if c not in table.schema.names]
    if missing:
        raise InvalidArgument(f"{key} has no column {missing[0]!r}, which every {kind} has")
    for name, wanted in BASE_TYPES.items():
        if name in table.schema.names and not table.schema.field(name).type.equals(wanted):
            found = table.schema.field(name).type
            raise InvalidArgument(f"{key}: column {name!r} is {found}, the log keeps {wanted}")


def _json(key: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidArgument(f"{key} is not a JSON document: {exc}") from None


def _check_health(key: str, record: Any) -> None:
    problem = health_problem(record)
    if problem is not None:
        raise InvalidArgument(f"{key}: {problem}")


def _check_profile(key: str, document: Any) -> None:

    try:
        DatasetProfile.from_dict(document)
    except Exception as exc:  # whatever the reader would meet: refused here instead
        raise InvalidArgument(f"{key} is not a traffic profile: {exc}") from None
