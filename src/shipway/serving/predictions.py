"""The prediction log of the local stores (see :class:`shipway.services.PredictionBackend`):
reading it, adding late labels, writing batch predictions into it, and the traffic profiles."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from shipway.errors import InvalidArgument
from shipway.services import PredictionBackend
from shipway.serving.labelling import ANYONE, Labeller, admit, logged_requests
from shipway.serving.prediction_log import GROUND_TRUTH, PREDICTIONS, PredictionLog, read_log
from shipway.serving.profiles import ProfileWriter, Reference, read_profile
from shipway.session import Session
from shipway.stats.profile import DatasetProfile

KINDS = (PREDICTIONS, GROUND_TRUTH)


class LocalPredictions(PredictionBackend):
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _artifacts(self) -> Any:
        return self.session.stores.artifacts

    def read(
        self,
        deployment: str,
        kind: str = PREDICTIONS,
        *,
        start: float | None = None,
        end: float | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """A deployment's logged predictions (or labels, ``kind="ground_truth"``) as a DataFrame."""
        if kind not in KINDS:
            raise InvalidArgument(f"unknown log {kind!r}", hint=f"use {' or '.join(KINDS)}")
        self.session.deployments.get(deployment)
        return read_log(
            self._artifacts,
            kind,
            deployment,
            columns=list(columns) if columns is not None else None,
            start=start,
            end=end,
        )

    def log_ground_truth(self, deployment: str, labels: Any, labeller: Labeller = ANYONE) -> int:
        """Record true labels by ``request_id`` (and ``row`` of a multi-row request) or
        ``key``, for requests the log holds that ``labeller`` may label; labels for requests
        never answered are counted in the health record and kept nowhere. The count kept."""
        frame = ground_truth_frame(labels)
        self.session.deployments.get(deployment)
        ids = [str(i) for i in frame["request_id"].dropna().unique()]
        logged = read_log(  # only the labelled requests' rows are read
            self._artifacts,
            PREDICTIONS,
            deployment,
            columns=["request_id", "row", "caller", "output"],
            request_ids=ids,
        )
        kept, unknown = admit(frame, labeller, lambda wanted: logged_requests(logged, wanted))
        kept, declared = typed_like_outputs(kept, logged)
        log = PredictionLog(self._artifacts)
        try:
            if len(kept):
                log.append(GROUND_TRUTH, deployment, kept, declared=declared)
            if unknown:
                log.note_unknown_labels(deployment, unknown)
        finally:
            log.close()
        return len(kept)

    def writer(self) -> PredictionLog:
        """A log writer for batch predictions: it waits rather than drops, and profiles."""
        profiles = ProfileWriter(self._artifacts, reference_profiles(self.session))
        return PredictionLog(self._artifacts, max_pending=10**9, profiles=profiles)

    def traffic_profile(
        self,
        deployment: str,
        *,
        version: int | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> DatasetProfile | None:
        """The merged profile of a deployment's live inputs and predictions, or None."""
        return read_profile(self._artifacts, deployment, version=version, start=start, end=end)


def ground_truth_frame(labels: Any) -> Any:
    """Labels as the log keeps them: ``request_id``, ``row``, ``key`` (JSON), ``label``, time."""
    import pandas as pd

    frame = labels if isinstance(labels, pd.DataFrame) else pd.DataFrame(labels)
    if "label" not in frame.columns or not ({"request_id", "key"} & set(frame.columns)):
        raise InvalidArgument(
            "ground truth needs a 'label' column and a 'request_id' or 'key' column"
        )
    values = frame["label"].tolist()
    if any(isinstance(v, dict | list) or v is None for v in values):
        raise InvalidArgument("each label is one value: a number, text or a boolean")
    return pd.DataFrame(
        {
            "request_id": frame["request_id"].astype(str) if "request_id" in frame else None,
            "row": frame["row"].astype("Int64") if "row" in frame else None,
            "key": (
                frame["key"].map(lambda k: json.dumps(k, sort_keys=True))
                if "key" in frame
                else None
            ),
            "label": frame["label"],
            "timestamp": time.time(),
        }
    )


def typed_like_outputs(labels: Any, logged: Any) -> tuple[Any, dict[str, Any]]:
    """Labels of the type the model's answers were logged with, and that type to pin the
    label column to: text for a model that answered numbers is refused here, so one bad
    label can never make a segment the log's readers cannot merge."""
    import pandas as pd
    import pyarrow as pa

    if "output" not in logged.columns or len(labels) == 0:
        return labels, {}
    answered = logged["output"].dropna()
    if len(answered) == 0:
        return labels, {}
    values = labels["label"]
    if not pd.api.types.is_numeric_dtype(answered):  # text answers: text labels
        return labels.assign(label=values.map(str)), {"label": pa.string()}
    values = values.map(_number)
    numeric = values.map(lambda v: isinstance(v, int | float) and math.isfinite(float(v)))
    if not bool(numeric.all()):
        bad = values[~numeric].iloc[0]
        raise InvalidArgument(
            f"label {bad!r} is not a finite number, and the model answers with numbers",
            hint="send each label as the model's output would be (true/false count as 1/0)",
        )
    if pd.api.types.is_integer_dtype(answered) or pd.api.types.is_bool_dtype(answered):
        whole = values.map(lambda v: float(v).is_integer())
        if bool(whole.all()):
            return labels.assign(label=values.astype("int64")), {"label": pa.int64()}
    return labels.assign(label=values.astype("float64")), {"label": pa.float64()}


def _number(value: Any) -> Any:
    """``"1"`` as 1 and ``"0.5"`` as 0.5, as the model server takes them; else as it was."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def reference_profiles(session: Session) -> Reference:
    """(deployment, version) -> the profile of that version's training data, if recorded."""
    cache: dict[tuple[str, int], DatasetProfile | None] = {}

    def reference(deployment: str, version: int) -> DatasetProfile | None:
        if (deployment, version) not in cache:
            found = None
            try:
                model = session.deployments.get(deployment).model
                ref = session.registry.get_version(model, version).lineage.get("reference")
                if ref:
                    profile = session.datasets.get(ref["dataset"], int(ref["version"])).profile
                    found = DatasetProfile.from_dict(profile) if profile else None
            except Exception:  # no reference: the first live profile sets the bins
                found = None
            cache[(deployment, version)] = found
        return cache[(deployment, version)]

    return reference
