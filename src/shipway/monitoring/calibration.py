"""The rows that calibrate estimated performance (CBPE, DLE): rows the model did not train on.

A model is more confident, and more often right, on the rows it was fitted to, so an estimate
calibrated on them is optimistic (a random forest's CBPE said 0.915 where 0.704 came true).
In order of preference, the calibration rows are:

1. a held-out dataset: the reference the user passed, else a dataset the training run logged
   with role ``validation`` or ``test``;
2. out-of-fold predictions on the training rows: the model's estimator refitted on four
   fifths and scored on the fifth it did not see (scikit-learn's ``cross_val_predict``);
3. the training rows themselves, and the report says the estimate is optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

HELD_OUT_ROLES = ("validation", "test")
FOLDS = 5
OUT_OF_FOLD_ROWS = 20_000  # refitting five times on more rows buys little calibration


@dataclass
class Calibration:
    inputs: Any  # the model's prepared inputs
    predictions: Any
    scores: Any  # a classifier's confidence per row; None for a regressor
    labels: Any
    source: str  # said in each report: what the estimate was calibrated on
    optimistic: bool = False


def held_out(model: Any, frame: Any, label: str, source: str) -> Calibration:
    """Calibration rows from a dataset the model did not train on."""
    inputs = model.prepare(frame)
    return Calibration(
        inputs,
        model.predict_prepared(inputs),
        model.score_prepared(inputs),
        frame[label].to_numpy(),
        source,
    )


def out_of_fold(model: Any, inputs: Any, labels: Any) -> Calibration | None:
    """Out-of-fold predictions of a clone of the model's estimator, or None when it cannot be
    cloned and refitted (not a scikit-learn estimator, too few rows of a class, …)."""
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_predict

    raw = model.raw
    if not hasattr(raw, "get_params") or not hasattr(raw, "fit"):
        return None
    if len(inputs) > OUT_OF_FOLD_ROWS:
        keep = np.random.default_rng(0).choice(len(inputs), OUT_OF_FOLD_ROWS, replace=False)
        keep.sort()
        inputs, labels = inputs.iloc[keep], np.asarray(labels)[keep]
    try:
        estimator = clone(raw)
        if is_classifier(estimator) and hasattr(estimator, "predict_proba"):
            proba = cross_val_predict(estimator, inputs, labels, cv=FOLDS, method="predict_proba")
            classes = np.unique(labels)
            predictions = classes[np.argmax(proba, axis=1)]
            scores = proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)
        else:
            predictions, scores = cross_val_predict(estimator, inputs, labels, cv=FOLDS), None
    except Exception:  # any estimator's own refusal: fall back to the training rows, and say so
        return None
    source = f"out-of-fold predictions on {len(inputs):,} training rows ({FOLDS} folds)"
    return Calibration(inputs, predictions, scores, np.asarray(labels), source)


def training_rows(inputs: Any, predictions: Any, scores: Any, labels: Any) -> Calibration:
    return Calibration(
        inputs,
        predictions,
        scores,
        labels,
        "the training rows: the estimate is optimistic; log a validation dataset "
        "(sw.log_dataset(name, df, role='validation')) to calibrate it honestly",
        optimistic=True,
    )
