"""A pipeline as a user writes it in a module, for the tests and the CLI."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

import shipway as sw

calls: dict[str, int] = {}
flaky_failures = {"left": 0}
barrier = threading.Barrier(2, timeout=10)  # two steps that must run at the same time


def _count(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


@sw.step
def load(rows: int) -> pd.DataFrame:
    _count("load")
    rng = np.random.default_rng(rows)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "y": (x + rng.normal(scale=0.5, size=rows) > 0).astype(int)})


@sw.step
def features(frame: pd.DataFrame) -> pd.DataFrame:
    _count("features")
    return frame.assign(x2=frame["x"] ** 2)


@sw.step
def summary(frame: pd.DataFrame) -> dict[str, float]:
    _count("summary")
    return {"rows": len(frame), "positive": float(frame["y"].mean())}


@sw.step(retries=2, backoff=0.0)
def train(frame: pd.DataFrame, summary: dict[str, float], c: float = 1.0) -> object:
    _count("train")
    if flaky_failures["left"]:
        flaky_failures["left"] -= 1
        raise ConnectionError("the feature store blinked")
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c).fit(frame[["x", "x2"]], frame["y"])


@sw.pipeline
def retrain(rows: int = 200, c: float = 1.0) -> object:
    frame = features(load(rows))
    return train(frame, summary(frame), c=c)


@sw.step
def left(n: int) -> int:
    barrier.wait()  # returns only when ``right`` waits too: they run at once
    return n + 1


@sw.step
def right(n: int) -> int:
    barrier.wait()
    return n * 2


@sw.step
def join(a: int, b: int) -> list[int]:
    return [a, b]


@sw.pipeline
def fan(n: int = 3) -> list[int]:
    return join(left(n), right(n))


@sw.step
def broken(frame: pd.DataFrame) -> None:
    raise ValueError("column 'z' is missing")


@sw.pipeline
def failing(rows: int = 10) -> None:
    broken(load(rows))


@sw.step
def unstorable(n: int) -> object:
    import threading

    return threading.Lock()  # cannot be pickled


@sw.pipeline
def leaky(n: int = 1) -> None:
    unstorable(n)


@sw.pipeline
def loose(rows=200):  # type: ignore[no-untyped-def]  # no hint: the step's is checked
    return summary(features(load(rows)))
