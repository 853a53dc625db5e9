"""The retraining pipeline of ``loop_break.py``: a model of the newest labelled traffic, the
recipe that follows an abrupt change best (older rows teach the old concept)."""

from __future__ import annotations

from typing import Any

import pandas as pd

import shipway as sw

FEATURES = ["x0", "x1", "x2"]


def model() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=60, random_state=0)


@sw.step(cache=False)  # new labels arrive all the time: always read afresh
def newest(deployment: str, rows: int) -> pd.DataFrame:
    return sw.labelled_traffic(deployment, last_rows=rows)


@sw.step
def fit(frame: pd.DataFrame) -> Any:
    return model().fit(frame[FEATURES], frame["label"].astype(int))


@sw.pipeline
def retrain(deployment: str = "sea-live", rows: int = 2000) -> Any:
    return fit(newest(deployment, rows))
