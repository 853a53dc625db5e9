"""The retraining pipeline a loop runs in the tests: learn from the deployment's labelled
traffic (as a user's ``train.py`` would), optionally made slow, to be caught by the canary."""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd

import shipway as sw
from shipway.demo.data import FEATURES
from shipway.demo.run import build_pipeline

DEPLOYMENT = "flights-live"
seen: dict[str, Any] = {}  # what the last run's traffic step read
release = threading.Event()  # what the pipeline `waits` waits for


class Slow:
    """A fitted model that answers ``ms`` milliseconds late (a regression in serving)."""

    def __init__(self, model: Any, ms: float) -> None:
        self.model, self.ms = model, ms
        self.classes_ = model.classes_

    def predict(self, frame: Any) -> Any:
        time.sleep(self.ms / 1000)
        return self.model.predict(frame)

    def predict_proba(self, frame: Any) -> Any:
        return self.model.predict_proba(frame)


class RaisesOn:
    """A fitted model that raises on requests holding flights of one carrier."""

    def __init__(self, model: Any, carrier: str) -> None:
        self.model, self.carrier = model, carrier
        self.classes_ = model.classes_

    def predict(self, frame: Any) -> Any:
        if (frame["carrier"] == self.carrier).any():
            raise ValueError(f"no answer for carrier {self.carrier}")
        return self.model.predict(frame)

    def predict_proba(self, frame: Any) -> Any:
        return self.model.predict_proba(frame)


@sw.step(cache=False)  # new labels arrive between runs: always read afresh
def traffic(deployment: str) -> pd.DataFrame:
    rows = sw.labelled_traffic(deployment)
    seen.update(rows=len(rows), newest=rows["timestamp"].max() if len(rows) else None)
    seen.setdefault("runs", []).append(len(rows))
    return rows


@sw.step
def train(rows: pd.DataFrame, slow_ms: float) -> Any:
    model = build_pipeline(0.1, 60).fit(rows[FEATURES], rows["label"].astype(int))
    return Slow(model, slow_ms) if slow_ms else model


@sw.pipeline
def retrain(deployment: str = DEPLOYMENT, slow_ms: float = 0.0) -> Any:
    return train(traffic(deployment), slow_ms)


@sw.pipeline
def broken(deployment: str = DEPLOYMENT) -> Any:
    rows = traffic(deployment)
    return fails(rows)


@sw.step
def fails(rows: pd.DataFrame) -> Any:
    raise RuntimeError(f"the feature store is down ({len(rows)} rows read)")


@sw.step(cache=False)
def held(rows: pd.DataFrame) -> pd.DataFrame:
    if not release.wait(timeout=60):
        raise RuntimeError("the test never let the pipeline go on")
    return rows


@sw.pipeline
def waits(deployment: str = DEPLOYMENT) -> Any:
    """A training that takes as long as the test wants."""
    return train(held(traffic(deployment)), 0.0)


@sw.step
def breaks_on(model: Any, carrier: str) -> Any:
    return RaisesOn(model, carrier)


@sw.pipeline
def raising(deployment: str = DEPLOYMENT, carrier: str = "WN") -> Any:
    """A candidate that fails every request holding a flight of ``carrier``."""
    return breaks_on(train(traffic(deployment), 0.0), carrier)
