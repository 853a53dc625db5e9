"""The monitors of one deployment, window by window: drift, prediction drift, data quality,
realised performance from late labels, and estimated performance without them: CBPE for
classifiers, direct loss estimation (DLE) for regressors.

The reference is what the model was trained on: the training data recorded at registration
(``lineage["reference"]``), scored by the model itself, so the reference predictions, and
with a ``label`` column the calibration of CBPE, come from the same rows.

Data drift and data quality come from the window's merged traffic profile when there is one
(the servers write them as they log), so the wide input columns are never re-read; what needs
each row (prediction drift, labels, CBPE, fairness, latency) reads only the narrow columns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipway.errors import InvalidArgument
from shipway.monitoring.calibration import Calibration
from shipway.stats.cbpe import CBPE
from shipway.stats.columns import CATEGORICAL, text_count
from shipway.stats.dle import DLE
from shipway.stats.drift import (
    COMPARED,
    ColumnDrift,
    DriftDetector,
    DriftResult,
    type_change_note,
    unseen_note,
)
from shipway.stats.fairness import fairness
from shipway.stats.performance import classification_metrics, regression_metrics
from shipway.stats.profile import DatasetProfile, build_profile, profile_distance
from shipway.types import WindowReport

__all__ = ["Monitor", "Reference", "WindowReport"]


@dataclass
class Reference:
    inputs: Any  # DataFrame of the model's input columns
    predictions: Any  # the model's outputs on those rows
    scores: Any = None  # a classifier's confidence per row
    labels: Any = None  # the true labels, when the reference has them
    task: str = "classification"
    # the rows CBPE and DLE are fitted on; None: the reference rows (held out by the caller)
    calibration: Calibration | None = None


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
        self.reference_profiles_: dict[Any, DatasetProfile] = {}  # binned like each traffic profile
        self.data_detector_ = DriftDetector(drift_share=self.drift_share).fit(reference.inputs)
        self.prediction_detector_ = DriftDetector().fit(_frame("prediction", reference.predictions))
        self.target_detector_ = None
        if reference.labels is not None:
            self.binary_target_ = reference.task == "classification" and _binary(reference.labels)
            self.target_detector_ = DriftDetector().fit(
                _frame("label", self._target(reference.labels))
            )
        self.cbpe_ = None
        self.dle_ = None
        cal = reference.calibration
        if cal is None and reference.labels is not None:
            cal = Calibration(
                reference.inputs,
                reference.predictions,
                reference.scores,
                reference.labels,
                "the reference rows",
            )
        self.calibration_ = cal
        if (
            cal is not None
            and reference.task == "classification"
            and cal.scores is not None
            and _binary(cal.labels, cal.predictions)
        ):
            self.cbpe_ = CBPE().fit(cal.scores, _as_binary(cal.labels), _as_binary(cal.predictions))
        if cal is not None and reference.task == "regression":
            self.dle_ = DLE().fit(cal.inputs, cal.predictions, cal.labels)
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

    def row_inputs(self) -> list[str]:
        """The input columns :meth:`evaluate` needs from each row when it has a profile."""
        return list(self.columns_) if self.dle_ is not None else list(self.sensitive)

    def evaluate(
        self,
        window: str,
        rows: Any,
        *,
        profile: DatasetProfile | None = None,
        health: list[dict[str, Any]] | None = None,
    ) -> WindowReport:
        """Judge one window's ``rows``; with its ``profile``, data drift and quality come from
        the profile and ``rows`` need only :meth:`row_inputs`. ``health`` are the servers'
        records of errors and dropped rows in the window."""
        inputs = rows[[f"input.{c}" for c in self.columns_ if f"input.{c}" in rows]]
        inputs = inputs.rename(columns=lambda c: c.removeprefix("input."))
        outputs = rows["output"]
        labelled = rows["label"].notna() if "label" in rows else np.zeros(len(rows), dtype=bool)
        enough = len(rows) >= self.min_rows
        if profile is not None:
            drift = self._judged(self._profile_drift(profile))
            quality = self._profile_quality(profile)
        else:
            drift = self._judged(self.data_detector_.score(inputs))
            quality = self._quality(inputs)
        prediction = self._judged(
            self.prediction_detector_.score(_frame("prediction", outputs))
        ).columns[0]
        report = WindowReport(
            window=window,
            rows=len(rows),
            versions=sorted(int(v) for v in rows["model_version"].unique()),
            label_coverage=float(np.mean(labelled)) if len(rows) else 0.0,
            data_drift={
                "dataset_drift": drift.dataset_drift and enough,
                "share_drifted": drift.share_drifted,
                "drifted_columns": drift.drifted_columns if enough else [],
                "scores": {c.column: c.score for c in drift.columns},
                "strengths": {c.column: c.strength for c in drift.columns},
                "pvalues": [c.column for c in drift.columns if c.is_pvalue],
            },
            prediction_drift={
                "drifted": prediction.drifted and enough,
                "method": prediction.method,
                "score": prediction.score,
            },
            quality=quality,
            realised=self._realised(rows[labelled]) if np.any(labelled) else None,
        )
        if self.target_detector_ is not None and np.any(labelled):
            labels = self._target(rows.loc[labelled, "label"])
            target = self._judged(self.target_detector_.score(_frame("label", labels))).columns[0]
            report.target_drift = {
                "drifted": bool(target.drifted and len(labels) >= self.min_rows),
                "method": target.method,
                "score": target.score,
                "rows": int(len(labels)),
            }
        report.extra["health"] = _health(rows, health or [])
        report.extra["source"] = "profile" if profile is not None else "rows"
        if len(rows):  # the time the window's rows cover, for links to it
            report.extra["span"] = [float(rows["timestamp"].min()), float(rows["timestamp"].max())]
        if self.sensitive and self.reference_.task == "classification":
            report.extra["fairness"] = {
                column: fairness(
                    rows[f"input.{column}"],
                    _as_binary(outputs),
                    _as_binary(rows["label"]) if "label" in rows else None,
                )
                for column in self.sensitive
                if f"input.{column}" in rows
            }
        if self.dle_ is not None and len(inputs) and all(c in inputs for c in self.columns_):
            report.estimated = self.dle_.estimate(
                inputs[self.columns_], outputs.astype(float).to_numpy()
            )
        if self.cbpe_ is not None and "score" in rows and rows["score"].notna().any():
            scored = rows[rows["score"].notna()]
            report.estimated = self.cbpe_.estimate(
                scored["score"].to_numpy(), _as_binary(scored["output"])
            )
        if report.estimated is not None and self.calibration_ is not None:
            report.extra["estimated_from"] = self.calibration_.source
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
            drifted = self.data_detector_.counts_as_drift(
                c.score >= threshold, c.status == "type_changed", c.unseen_share
            )
            columns.append(dataclasses.replace(c, threshold=threshold, drifted=drifted))
        compared = [c for c in columns if c.status in COMPARED]
        n_drifted = sum(c.drifted for c in compared)
        share = n_drifted / len(compared) if compared else 0.0
        return dataclasses.replace(
            result,
            columns=columns,
            n_drifted=n_drifted,
            share_drifted=share,
            dataset_drift=share >= result.drift_share,
        )

    def _reference_profile(self, like: DatasetProfile) -> DatasetProfile:
        """The reference binned like the traffic profile (cached per set of bin edges)."""
        key = tuple(
            (c, p.kind, tuple(p.edges)) for c, p in like.columns.items() if c in self.columns_
        )
        if key not in self.reference_profiles_:
            present = [c for c in self.columns_ if c in like.columns]
            self.reference_profiles_[key] = build_profile(
                self.reference_.inputs[present], like=like
            )
        return self.reference_profiles_[key]

    def _profile_drift(self, profile: DatasetProfile) -> DriftResult:
        """Per-column distances between the window's profile and the reference's: the
        detector's own choice of distance, with its p-value tests (small references) replaced by
        their distance counterparts, since binned summaries give no honest p-values."""
        reference = self._reference_profile(profile)
        detector = self.data_detector_
        verdicts: list[ColumnDrift] = []
        for name in self.columns_:
            ref, cur = reference.columns.get(name), profile.columns.get(name)
            learned = detector.reference_[name]
            if cur is None or ref is None:
                verdicts.append(
                    ColumnDrift(
                        name,
                        learned.kind,
                        None,
                        None,
                        None,
                        False,
                        learned.n,
                        0,
                        status="missing_in_current",
                        note="the column is not in the current data",
                    )
                )
                continue
            method = detector.method_for(name)
            method = {"ks": "wasserstein", "chisquare": "jensenshannon", "z": "jensenshannon"}.get(
                method, method
            )
            if ref.kind != cur.kind:  # the servers binned it as another kind: not comparable
                verdicts.append(
                    ColumnDrift(
                        name,
                        ref.kind,
                        None,
                        None,
                        None,
                        False,
                        ref.count,
                        cur.count,
                        status="empty_current",
                        note="profiled as another kind of column",
                    )
                )
                continue
            if cur.count == 0:
                verdicts.append(
                    ColumnDrift(
                        name,
                        ref.kind,
                        method,
                        None,
                        None,
                        bool(cur.text),
                        ref.count,
                        0,
                        missing_current=cur.missing_share,
                        status="type_changed" if cur.text else "empty_current",
                        note=type_change_note(cur.text, cur.text)
                        or "no values in the current data",
                    )
                )
                continue
            if ref.kind == CATEGORICAL and method not in ("jensenshannon", "psi"):
                method = "jensenshannon"
            _, score = profile_distance(ref, cur, method)
            threshold = detector.threshold_for(name, method)
            unseen = sorted(k for k in cur.categories if k not in learned.counts)
            unseen_share = sum(cur.categories[k] for k in unseen) / cur.count
            notes = [type_change_note(cur.text, cur.rows - cur.missing)] if cur.text else []
            if unseen:
                notes.append(unseen_note(unseen, unseen_share))
            verdicts.append(
                ColumnDrift(
                    name,
                    ref.kind,
                    method,
                    score,
                    threshold,
                    detector.counts_as_drift(score >= threshold, bool(cur.text), unseen_share),
                    ref.count,
                    cur.count,
                    ref.missing_share,
                    cur.missing_share,
                    status="type_changed" if cur.text else "ok",
                    note="; ".join(notes),
                    unseen_share=unseen_share,
                )
            )
        compared = [v for v in verdicts if v.status in COMPARED]
        drifted = sum(v.drifted for v in compared)
        share = drifted / len(compared) if compared else 0.0
        return DriftResult(
            verdicts, self.drift_share, drifted, share, bool(compared) and share >= self.drift_share
        )

    def _profile_quality(self, profile: DatasetProfile) -> dict[str, Any]:
        missing, out_of_range, unseen, changed = {}, {}, {}, {}
        for c in self.columns_:
            found = profile.columns.get(c)
            if found is None:
                continue
            if found.missing:
                missing[c] = found.missing_share
            if found.text:
                changed[c] = found.text / (found.rows - found.missing)
            if c in self.ranges_ and found.out_of_range and found.rows:
                out_of_range[c] = found.out_of_range / found.rows
            if c in self.categories_ and found.count:
                new = sum(n for k, n in found.categories.items() if k not in self.categories_[c])
                if new:
                    unseen[c] = new / found.count
        absent = [c for c in self.columns_ if c not in profile.columns]
        return {
            "missing": missing,
            "out_of_range": out_of_range,
            "unseen_categories": unseen,
            "type_changed": changed,
            "absent_columns": absent,
        }

    def _target(self, labels: Any) -> np.ndarray:
        """Labels as numbers, whichever way they were logged (``1``, ``1.0``, ``"1"``, ``true``)."""
        if self.reference_.task == "regression":
            return np.asarray(labels, dtype=float)
        return _as_binary(labels) if self.binary_target_ else np.asarray(labels).astype(str)

    def _realised(self, rows: Any) -> dict[str, Any]:
        if self.reference_.task == "regression":
            return regression_metrics(rows["label"].astype(float), rows["output"].astype(float))
        scores = rows["score"] if "score" in rows and rows["score"].notna().all() else None
        return classification_metrics(rows["label"], rows["output"], scores)

    def _quality(self, inputs: Any) -> dict[str, Any]:
        import pandas as pd

        missing = {
            c: float(inputs[c].isna().mean()) for c in inputs.columns if inputs[c].isna().any()
        }
        out_of_range, changed = {}, {}
        for c, (low, high) in self.ranges_.items():
            if c in inputs:
                text = text_count(inputs[c])
                if text:  # numbers arrived as text: a change of type, not an out-of-range value
                    changed[c] = text / int(inputs[c].notna().sum())
                values = pd.to_numeric(inputs[c], errors="coerce").astype(float)
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
        return {
            "missing": missing,
            "out_of_range": out_of_range,
            "unseen_categories": unseen,
            "type_changed": changed,
            "absent_columns": absent,
        }


def _health(rows: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Traffic and latency per version, from the log (each request's latency, once); errors
    and dropped rows from the servers' health records. The error rate is of all requests:
    those answered (and logged) and those refused or failed."""
    versions: dict[str, Any] = {}
    span = float(rows["timestamp"].max() - rows["timestamp"].min()) if len(rows) > 1 else 0.0
    by_code: dict[str, int] = {}
    for record in records:
        for code, n in record.get("errors", {}).items():
            by_code[code] = by_code.get(code, 0) + int(n)
    errors = sum(by_code.values())
    answered = int(rows["request_id"].nunique()) if len(rows) else 0
    out: dict[str, Any] = {
        "requests": answered + errors,
        "errors": errors,
        "errors_by_status": by_code,
        "error_rate": errors / (answered + errors) if answered + errors else None,
        "server_errors": sum(n for code, n in by_code.items() if code.startswith("5")),
        "dropped_rows": sum(int(r.get("dropped_rows", 0)) for r in records),
        # log segments no reader could read (quarantined), and the rows their footers told
        "unreadable_segments": sum(int(r.get("unreadable_segments", 0)) for r in records),
        "unreadable_rows": sum(int(r.get("unreadable_rows", 0)) for r in records),
        # labels sent for requests no server answered: counted, kept nowhere
        "unknown_labels": sum(int(r.get("unknown_labels", 0)) for r in records),
        "versions": versions,
    }
    by_version: dict[str, int] = {}
    for record in records:
        for version, n in record.get("errors_by_version", {}).items():
            by_version[version] = by_version.get(version, 0) + int(n)
    for version, part in rows.groupby("model_version"):
        requests = part.drop_duplicates("request_id")
        latency = requests["latency_ms"].to_numpy(dtype=float)
        failed = by_version.get(str(int(version)), 0)
        versions[str(int(version))] = {
            "errors": failed,
            "error_rate": failed / (len(requests) + failed),
            "requests": int(len(requests)) + failed,
            "rows": int(len(part)),
            "requests_per_second": float(len(requests) / span) if span > 0 else None,
            "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else None,
            "latency_p99_ms": float(np.percentile(latency, 99)) if len(latency) else None,
        }
    for version, failed in by_version.items():  # a version that failed every request it got
        versions.setdefault(
            version,
            {
                "errors": failed,
                "error_rate": 1.0,
                "requests": failed,
                "rows": 0,
                "requests_per_second": None,
                "latency_p50_ms": None,
                "latency_p99_ms": None,
            },
        )
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
    numbers = pd.to_numeric(
        pd.Series(array, dtype=object).map(lambda v: mapped.get(str(v).lower(), v)), errors="coerce"
    )
    return numbers.to_numpy(dtype=float)


def _binary(*arrays: Any) -> bool:
    return all(np.isin(_as_binary(a)[~np.isnan(_as_binary(a))], (0, 1)).all() for a in arrays)
