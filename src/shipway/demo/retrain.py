"""The demo's retraining pipeline, as a user's ``train.py`` would be: the training data the
first model learnt from, and every labelled row of the deployment's traffic since (the loop
hides the rows its gate will judge on). Of the recipes tried on the flights (the newest
one, two or three months, weighted 1 to 4 above the winter), all the traffic at weight 1
gained most over a static model, month by month."""

from __future__ import annotations

from typing import Any

import pandas as pd

import shipway as sw
from shipway.demo.data import FEATURES, LABEL

DEPLOYMENT = "flight-delay-live"
HISTORY = "flights-jan-feb"  # the dataset the first model was trained on


@sw.step(cache=False)  # new labels arrive every month: always read afresh
def labelled(deployment: str, rows: int | None) -> pd.DataFrame:
    return sw.labelled_traffic(deployment, last_rows=rows)


@sw.step(cache=False)
def history(name: str) -> pd.DataFrame:
    frame = sw.load_dataset(name)
    return frame[[*FEATURES, LABEL]].rename(columns={LABEL: "label"})


@sw.step
def fit(recent: pd.DataFrame, older: pd.DataFrame, recent_weight: float) -> Any:
    from shipway.demo.run import build_pipeline

    rows = pd.concat([older, recent[[*FEATURES, "label"]]], ignore_index=True)
    weights = [1.0] * len(older) + [recent_weight] * len(recent)
    model = build_pipeline(0.1, 100)
    return model.fit(rows[FEATURES], rows["label"].astype(int), model__sample_weight=weights)


@sw.pipeline
def retrain(
    deployment: str = DEPLOYMENT, rows: int | None = None, recent_weight: float = 1.0
) -> Any:
    return fit(labelled(deployment, rows), history(HISTORY), recent_weight)
