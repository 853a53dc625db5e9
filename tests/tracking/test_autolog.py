"""sw.autolog() records params, training metrics and the model, once per user-level fit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


@pytest.fixture
def autologged(sw: Any) -> Iterator[Any]:
    sw.autolog()
    yield sw
    sw.autolog(disable=True)


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    return X, (X["a"] - X["b"] > 0).astype(int)


def test_pipeline_fit_is_one_run_with_params_metrics_and_model(autologged: Any) -> None:
    X, y = _data()
    make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
    runs = autologged.search_runs(output="list")
    assert len(runs) == 1, "inner fits of the pipeline must not start runs of their own"
    run = runs[0]
    assert run.params["logisticregression__C"] == "0.5"
    assert run.tags["shipway.autolog.estimator"] == "sklearn.pipeline.Pipeline"
    assert 0.9 < run.metrics["training_accuracy_score"] <= 1.0 and "training_roc_auc" in run.metrics
    loaded = autologged.load_model(f"runs:/{run.run_id}/model")
    assert list(loaded.predict(X.head(10))) == list(
        make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y).predict(X.head(10))
    )


def test_fit_inside_an_active_run_logs_into_it(autologged: Any) -> None:
    X, y = _data()
    with autologged.start_run(experiment="mine") as run:
        LinearRegression().fit(X, X["a"] * 2)
    info = autologged.get_run(run.run_id)
    assert info.metrics["training_r2_score"] == pytest.approx(1.0)
    assert "training_root_mean_squared_error" in info.metrics


def test_disable_stops_logging(sw: Any) -> None:
    sw.autolog()
    sw.autolog(disable=True)
    X, y = _data()
    LogisticRegression().fit(X, y)
    assert sw.search_runs(output="list") == []


def test_xgboost_and_lightgbm_are_logged(autologged: Any) -> None:
    xgboost = pytest.importorskip("xgboost")
    lightgbm = pytest.importorskip("lightgbm")
    X, y = _data()
    xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    runs = autologged.search_runs(output="list")
    estimators = sorted(r.tags["shipway.autolog.estimator"].rsplit(".", 1)[1] for r in runs)
    assert estimators == ["LGBMClassifier", "XGBClassifier"]
    assert all(r.params.get("n_estimators") == "5" for r in runs)


def test_native_training_apis_are_logged(autologged: Any) -> None:
    xgboost = pytest.importorskip("xgboost")
    lightgbm = pytest.importorskip("lightgbm")
    X, y = _data()
    train = xgboost.DMatrix(X, label=y)
    xgboost.train(
        {"max_depth": 2, "eta": 0.3, "objective": "binary:logistic"},
        train,
        4,
        evals=[(train, "train")],
        verbose_eval=False,
    )
    lgb_train = lightgbm.Dataset(X, y)
    lightgbm.train(
        {"objective": "binary", "verbose": -1},
        lgb_train,
        num_boost_round=3,
        valid_sets=[lgb_train],
        valid_names=["train"],
    )
    runs = {r.tags["shipway.autolog.estimator"]: r for r in autologged.search_runs(output="list")}
    assert set(runs) == {"xgboost.train", "lightgbm.train"}
    xgb_run, lgb_run = runs["xgboost.train"], runs["lightgbm.train"]
    assert xgb_run.params["max_depth"] == "2" and xgb_run.params["num_boost_round"] == "4"
    assert [m.step for m in autologged.get_metric_history(xgb_run.run_id, "train-logloss")] == [
        0,
        1,
        2,
        3,
    ]
    assert len(autologged.get_metric_history(lgb_run.run_id, "train-binary_logloss")) == 3
    booster = autologged.load_model(f"runs:/{lgb_run.run_id}/model")
    assert booster.predict(X).shape == (len(X),)
    assert autologged.load_model(f"runs:/{xgb_run.run_id}/model").predict(X).shape == (len(X),)
