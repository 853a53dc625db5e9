"""The monitors of one deployment, window by window: drift, prediction drift, data quality,
realised performance from late labels, and estimated performance without them: CBPE for
classifiers, direct loss estimation (DLE) for regressors.

The reference is what the model was trained on: the training data recorded at registration
(``lineage["reference"]``), scored by the model itself, so the reference predictions, and
with a ``label`` column the calibration of CBPE, come from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipway.errors import InvalidArgument
from shipway.stats.cbpe import CBPE
from shipway.stats.dle import DLE
from shipway.stats.drift import DriftDetector
from shipway.stats.fairness import fairness
from shipway.stats.performance import classification_metrics, regression_metrics


@dataclass
class Reference:
    inputs: Any  # DataFrame of the model's input columns
    predictions: Any  # the model's outputs on those rows
    scores: Any = None  # a classifier's confidence per row
    labels: Any = None  # the true labels, when the reference has them
    task: str = "classification"


@dataclass
class WindowReport:
    window: str
    rows: int
    versions: list[int]
    label_coverage: float
    data_drift: dict[str, Any]
    prediction_drift: dict[str, Any]
    quality: dict[str, Any]
    realised: dict[str, Any] | None
    estimated: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)


class Monitor:
    """Fit on a :class:`Reference`, then ``evaluate`` windows of logged traffic."""

    def __init__(
        self, *, drift_share: float = 0.5, min_rows: int = 30, sensitive: tuple[str, ...] = ()
    ) -> None:
        self.drift_share = drift_share
        self.min_rows = min_rows
        self.sensitive = sensitive  # input columns whose groups are compared for fairness

    def fit(self, reference: Reference) -> Monitor:
        if reference.task not in ("classification", "regression"):
            raise InvalidArgument("task is classification or regression")
        self.reference_ = reference
        self.columns_ = [str(c) for c in reference.inputs.columns]
        self.data_detector_ = DriftDetector(drift_share=self.drift_share).fit(reference.inputs)
        self.prediction_detector_ = DriftDetector().fit(_frame("prediction", reference.predictions))
        self.cbpe_ = None
        if (reference.task == "classification" and reference.scores is not None
                and reference.labels is not None and _binary(reference.labels, reference.predictions)):  # fmt: skip
            self.cbpe_ = CBPE().fit(reference.scores, reference.labels, reference.predictions)
        self.dle_ = None
        if reference.task == "regression" and reference.labels is not None:
            self.dle_ = DLE().fit(reference.inputs, reference.predictions, reference.labels)
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        numeric = [
            c
            for c in self.columns_
            if is_numeric_dtype(reference.inputs[c]) and not is_bool_dtype(reference.inputs[c])
        ]
        self.ranges_ = {
            c: (float(reference.inputs[c].min()), float(reference.inputs[c].max())) for c in numeric
        }
        self.categories_ = {
            c: set(reference.inputs[c].dropna().astype(str))
            for c in self.columns_
            if c not in self.ranges_
        }
        return self

    def evaluate(self, window: str, rows: Any) -> WindowReport:
        inputs = rows[[f"input.{c}" for c in self.columns_ if f"input.{c}" in rows]]
        inputs = inputs.rename(columns=lambda c: c.removeprefix("input."))
        outputs = rows["output"]
        labelled = rows["label"].notna() if "label" in rows else np.zeros(len(rows), dtype=bool)
        enough = len(rows) >= self.min_rows
        drift = self._judged(self.data_detector_.score(inputs))
        prediction = self._judged(
            self.prediction_detector_.score(_frame("prediction", outputs))
        ).columns[0]
        report = WindowReport(
            window=window, rows=len(rows),
            versions=sorted(int(v) for v in rows["model_version"].unique()),
            label_coverage=float(np.mean(labelled)) if len(rows) else 0.0,
            data_drift={"dataset_drift": drift.dataset_drift and enough, "share_drifted": drift.share_drifted,
                        "drifted_columns": drift.drifted_columns if enough else [],
                        "scores": {c.column: c.score for c in drift.columns}},
            prediction_drift={"drifted": prediction.drifted and enough, "method": prediction.method,
                              "score": prediction.score},
            quality=self._quality(inputs),
            realised=self._realised(rows[labelled]) if np.any(labelled) else None,
        )  # fmt: skip
        report.extra["health"] = _health(rows)
        if self.sensitive and self.reference_.task == "classification":
            report.extra["fairness"] = {
                column: fairness(rows[f"input.{column}"], _as_binary(outputs),
                                 _as_binary(rows["label"]) if "label" in rows else None)
                for column in self.sensitive if f"input.{column}" in rows
            }  # fmt: skip
        if self.dle_ is not None and len(inputs):
            report.estimated = self.dle_.estimate(
                inputs[self.columns_], outputs.astype(float).to_numpy()
            )
        if self.cbpe_ is not None and "score" in rows and rows["score"].notna().any():
            scored = rows[rows["score"].notna()]
            report.estimated = self.cbpe_.estimate(
                scored["score"].to_numpy(), _as_binary(scored["output"])
            )
        if not enough:
            report.extra["note"] = f"fewer than {self.min_rows} rows: drift is not judged"
        return report

    def _judged(self, result: Any) -> Any:
        """Raise each distance threshold to this window's noise floor.

        A distance between two samples of one distribution is not zero: it shrinks like
        sqrt(1/n_reference + 1/n_window). With windows of a few hundred rows the fixed 0.1
        threshold is inside that noise and a calm window would be flagged, so the threshold
        here is at least the 99th percentile of the no-drift distance (measured by simulation).
        """
        import dataclasses

        columns = []
        for c in result.columns:
            if (
                c.score is None
                or c.method not in ("wasserstein", "jensenshannon")
                or not c.n_current
            ):
                columns.append(c)
                continue
            spread = np.sqrt(1 / c.n_current + 1 / max(c.n_reference, 1))
            if c.method == "wasserstein":
                floor = 3.0 * spread
            else:
                k = len(self.categories_.get(c.column, ())) + 1 or 2
                floor = (0.5 * np.sqrt(k) + 0.4) * spread
            threshold = max(c.threshold or 0.0, float(floor))
            columns.append(
                dataclasses.replace(c, threshold=threshold, drifted=c.score >= threshold)
            )
        drifted = sum(c.drifted for c in columns)
        share = drifted / len(columns) if columns else 0.0
        return dataclasses.replace(result, columns=columns, n_drifted=drifted, share_drifted=share,
                                   dataset_drift=share >= result.drift_share)  # fmt: skip

    def _realised(self, rows: Any) -> dict[str, Any]:
        if self.reference_.task == "regression":
            return regression_metrics(rows["label"].astype(float), rows["output"].astype(float))
        scores = rows["score"] if "score" in rows and rows["score"].notna().all() else None
        return classification_metrics(_as_binary(rows["label"]), _as_binary(rows["output"]), scores)

    def _quality(self, inputs: Any) -> dict[str, Any]:
        missing = {
            c: float(inputs[c].isna().mean()) for c in inputs.columns if inputs[c].isna().any()
        }
        out_of_range = {}
        for c, (low, high) in self.ranges_.items():
            if c in inputs:
                values = inputs[c].astype(float)
                share = float(((values < low) | (values > high)).mean())
                if share:
                    out_of_range[c] = share
        unseen = {}
        for c, known in self.categories_.items():
            if c in inputs:
                new = inputs[c].dropna().astype(str)
                share = float((~new.isin(known)).mean()) if len(new) else 0.0
                if share:
                    unseen[c] = share
        absent = [c for c in self.columns_ if c not in inputs.columns]
        return {"missing": missing, "out_of_range": out_of_range, "unseen_categories": unseen,
                "absent_columns": absent}  # fmt: skip


def _health(rows: Any) -> dict[str, Any]:
    """Traffic and latency per version, from the log (each request's latency, once)."""
    out: dict[str, Any] = {}
    span = float(rows["timestamp"].max() - rows["timestamp"].min()) if len(rows) > 1 else 0.0
    for version, part in rows.groupby("model_version"):
        requests = part.drop_duplicates("request_id")
        latency = requests["latency_ms"].to_numpy(dtype=float)
        out[str(int(version))] = {
            "requests": int(len(requests)), "rows": int(len(part)),
            "requests_per_second": float(len(requests) / span) if span > 0 else None,
            "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else None,
            "latency_p99_ms": float(np.percentile(latency, 99)) if len(latency) else None,
        }  # fmt: skip
    return out


def _frame(name: str, values: Any) -> Any:
    import pandas as pd

    return pd.DataFrame({name: np.asarray(values)})


def _as_binary(values: Any) -> np.ndarray:
    """Labels or predictions as 0.0/1.0 (NaN where missing): numbers, booleans or their text."""
    import pandas as pd

    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return array.astype(float)
    mapped = {"true": 1.0, "false": 0.0}
    numbers = pd.to_numeric(pd.Series(array, dtype=object).map(lambda v: mapped.get(str(v).lower(), v)),
                            errors="coerce")  # fmt: skip
    return numbers.to_numpy(dtype=float)


def _binary(*arrays: Any) -> bool:
    return all(np.isin(_as_binary(a)[~np.isnan(_as_binary(a))], (0, 1)).all() for a in arrays)
