"""True labels that arrive at a model server (``POST /v1/feedback``): each record checked,
its label against the model's output, before any is kept: all or nothing."""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

from shipway.errors import InvalidArgument
from shipway.models.signature import ColumnSpec, check_value
from shipway.serving.labelling import (
    ANYONE,
    Asked,
    Finder,
    Labeller,
    RecentRequests,
    admit,
    logged_requests,
)
from shipway.serving.log_encoding import arrow_type
from shipway.serving.prediction_log import GROUND_TRUTH, PREDICTIONS, PredictionLog, read_log
from shipway.serving.state import ServerState

if TYPE_CHECKING:
    from shipway.session import Session

USAGE = "feedback is {'request_id' or 'key', 'label'} or {'records': [...]}"


def accept_feedback(
    body: Any,
    state: ServerState,
    log: PredictionLog | None,
    labeller: Labeller = ANYONE,
    recent: RecentRequests | None = None,
) -> tuple[int, int]:
    """Check every record of ``body`` and queue the labels for the log: those for requests
    this server answered lately (``recent``) or that its log holds, and that ``labeller`` may
    label. The counts accepted and unknown (for no request ever answered: not kept)."""
    import pandas as pd

    records = body.get("records") if isinstance(body, dict) and "records" in body else [body]
    if not isinstance(records, list) or not records:
        raise InvalidArgument(USAGE)
    specs: dict[str, Any] = {}  # deployment -> the output a label must match
    rows = [_row(i, record, state, specs) for i, record in enumerate(records)]
    frame = pd.DataFrame(rows)
    admitted: list[tuple[str, Any, int]] = []
    for deployment, part in frame.groupby("deployment"):
        name = str(deployment)
        kept, missing = admit(part, labeller, _finder(state, name, recent))
        admitted.append((name, kept, missing))
    if log is not None:  # only once every deployment's part was admitted: all or nothing
        for name, kept, missing in admitted:
            if missing:
                log.note_unknown_labels(name, missing)
            spec = specs[name]
            wanted = arrow_type(spec.type) if spec is not None else None
            declared = {"label": wanted} if wanted is not None else {}
            if len(kept):
                log.append(GROUND_TRUTH, name, kept.drop(columns="deployment"), declared=declared)
    return sum(len(kept) for _, kept, _ in admitted), sum(m for _, _, m in admitted)


def _finder(state: ServerState, deployment: str, recent: RecentRequests | None) -> Finder:
    """Request ids answered lately by this server, else found in the deployment's log."""

    def find(ids: list[str]) -> dict[str, Asked]:
        found = recent.find(deployment, ids) if recent is not None else {}
        rest = [i for i in ids if i not in found]
        if rest:
            found.update(logged_requests(_logged(state.session, deployment, rest), rest))
        return found

    return find


def _logged(session: Session, deployment: str, ids: list[str]) -> Any:
    """The logged rows of requests ``ids``: only theirs on the stores; through a server, the
    narrow columns of the whole log (the API reads no ids)."""
    columns = ["request_id", "row", "caller"]
    if session.is_remote:
        return session.predictions.read(deployment, columns=columns)
    return read_log(
        session.stores.artifacts, PREDICTIONS, deployment, columns=columns, request_ids=ids
    )


def _row(index: int, record: Any, state: ServerState, specs: dict[str, Any]) -> dict[str, Any]:
    if (
        not isinstance(record, dict)
        or "label" not in record
        or not (isinstance(record.get("request_id"), str) or isinstance(record.get("key"), dict))
    ):
        raise InvalidArgument(
            f"feedback record {index} needs 'label' and a 'request_id' or a 'key' object"
        )
    deployment = record.get("deployment") or (state.names[0] if len(state.names) == 1 else None)
    if deployment not in state.names:
        raise InvalidArgument(
            f"feedback record {index} needs 'deployment', one of {', '.join(state.names)}"
        )
    _check_identity(index, record)
    if deployment not in specs:
        served = state.get(deployment)
        loaded = served.versions.get(served.deployment.stable or -1)
        specs[deployment] = loaded.output_spec if loaded is not None else None
    return {
        "deployment": deployment,
        "request_id": record.get("request_id"),
        "row": record.get("row"),
        "key": json.dumps(record["key"], sort_keys=True) if "key" in record else None,
        "label": checked_label(record["label"], specs[deployment], index),
        "timestamp": time.time(),
    }


def _check_identity(index: int, record: dict[str, Any]) -> None:
    """The row, the key and the request id say which prediction the label is for."""
    row = record.get("row")
    if row is not None and (not isinstance(row, int) or isinstance(row, bool) or row < 0):
        raise InvalidArgument(
            f"feedback record {index}: 'row' is the row's position in its request (0, 1, …)"
        )
    key = record.get("key")
    if isinstance(key, dict) and not all(
        isinstance(v, str | int | float | bool) for v in key.values()
    ):
        raise InvalidArgument(
            f"feedback record {index}: each value of 'key' is one number or text, as logged"
        )
    request_id = record.get("request_id")
    if isinstance(request_id, str) and len(request_id) > 128:
        raise InvalidArgument(f"feedback record {index}: a request id has at most 128 characters")


def checked_label(value: Any, spec: Any, index: int) -> Any:
    """A label as the model's output would be: a number for a model that predicts numbers,
    text for one that predicts text; never an object, a list or a non-finite number."""
    if value is None or isinstance(value, dict | list):
        kind = type(value).__name__ if value is not None else "null"
        raise InvalidArgument(
            f"feedback record {index}: 'label' is one value (a number, text or a boolean), not {kind}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"feedback record {index}: 'label' is a finite number, not {value}")
    if spec is None:
        return value
    if isinstance(value, bool) and spec.type in ("integer", "long", "float", "double"):
        value = int(value)  # true/false for a model that predicts 1/0
    try:
        return check_value(ColumnSpec("label", spec.type), value)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"feedback record {index}: {exc.message}; the model predicts {spec.type} values",
            details=exc.details,
        ) from None
