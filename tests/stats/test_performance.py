"""Performance metrics match scikit-learn's; CBPE estimates track the realised ones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from shipway.errors import InvalidArgument
from shipway.stats.cbpe import CBPE
from shipway.stats.performance import classification_metrics, regression_metrics, roc_auc


def test_classification_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500), 2)  # rounded: many ties
    p = (s > 0.4).astype(int)
    got = classification_metrics(y, p, s)
    assert got["rows"] == 500
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, p), abs=1e-12)
    assert got["precision"] == pytest.approx(metrics.precision_score(y, p), abs=1e-12)
    assert got["recall"] == pytest.approx(metrics.recall_score(y, p), abs=1e-12)
    assert got["f1"] == pytest.approx(metrics.f1_score(y, p), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, s), abs=1e-9)


def test_multi_class_and_text_labels_are_macro_averaged_like_sklearn() -> None:
    truth = ["cat", "dog", "bird", "cat", "dog", "bird"]
    guess = ["cat", "dog", "bird", "cat", "dog", "cat"]  # one bird taken for a cat
    got = classification_metrics(truth, guess)
    assert got["average"] == "macro" and got["accuracy"] == pytest.approx(5 / 6)
    for name, score in (
        ("precision", metrics.precision_score),
        ("recall", metrics.recall_score),
        ("f1", metrics.f1_score),
    ):
        assert got[name] == pytest.approx(score(truth, guess, average="macro"), abs=1e-12)
        assert got[name] < 1.0
    assert got["per_class"]["bird"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    numbers = classification_metrics([0, 1, 2, 2], [0.0, 1.0, 2.0, 1.0])
    assert numbers["average"] == "macro" and set(numbers["per_class"]) == {"0", "1", "2"}
    mixed = classification_metrics([1, "0", True, "false"], [1.0, 0, "1", False])
    assert mixed["average"] == "binary" and mixed["accuracy"] == 1.0


def test_missing_labels_are_left_out_and_degenerate_cases_are_none() -> None:
    labels = np.array([1, 0, np.nan, 1])
    got = classification_metrics(labels, [1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2])
    assert got["rows"] == 3 and got["accuracy"] == pytest.approx(1 / 3)
    assert roc_auc([1, 1], [0.2, 0.3]) is None
    assert classification_metrics([], [])["accuracy"] is None
    assert classification_metrics([0, 0], [0, 0])["precision"] is None


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 300)
    p = y + rng.normal(0, 1, 300)
    got = regression_metrics(y, p)
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, p)))
    assert got["mape"] == pytest.approx(metrics.mean_absolute_percentage_error(y, p))
    assert got["r2"] == pytest.approx(metrics.r2_score(y, p))
    assert regression_metrics([1.0], [np.nan])["rows"] == 0


def _calibrated(
    rng: np.random.Generator, n: int, a: float, b: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = rng.beta(a, b, n)
    labels = (rng.random(n) < scores).astype(int)
    return scores, labels, (scores >= 0.5).astype(int)


def test_cbpe_tracks_realised_performance_under_covariate_shift() -> None:
    rng = np.random.default_rng(2)
    reference = _calibrated(rng, 20_000, 2, 2)
    cbpe = CBPE(chunk_size=2000).fit(*reference)
    errors = {m: [] for m in ("accuracy", "f1", "roc_auc")}
    inside = 0
    for a, b in [(2, 2), (1, 3), (3, 1), (0.7, 0.7), (5, 5), (1, 1)]:  # shifts change true accuracy
        scores, labels, predicted = _calibrated(rng, 2000, a, b)
        estimate = cbpe.estimate(scores, predicted)
        realised = classification_metrics(labels, predicted, scores)
        for metric, found in errors.items():
            found.append(abs(estimate[metric]["value"] - realised[metric]))
        band = estimate["accuracy"]
        inside += band["lower"] <= realised["accuracy"] <= band["upper"]
    assert np.mean(errors["accuracy"]) < 0.015 and np.mean(errors["roc_auc"]) < 0.02
    assert np.mean(errors["f1"]) < 0.03
    assert inside >= 5, "the three-standard-error band holds the realised accuracy"


def test_cbpe_calibrates_scores_that_need_it() -> None:
    rng = np.random.default_rng(3)
    truth = rng.beta(2, 2, 20_000)
    labels = (rng.random(20_000) < truth).astype(int)
    skewed = truth**3  # the model's scores are badly calibrated; ranking is intact
    predicted = (truth >= 0.5).astype(int)
    cbpe = CBPE().fit(skewed, labels, predicted)
    assert cbpe.calibrator_ is not None
    scores_new = rng.beta(2, 2, 3000)
    labels_new = (rng.random(3000) < scores_new).astype(int)
    estimate = cbpe.estimate(scores_new**3, (scores_new >= 0.5).astype(int))
    realised = classification_metrics(labels_new, (scores_new >= 0.5).astype(int))
    assert abs(estimate["accuracy"]["value"] - realised["accuracy"]) < 0.02
    assert CBPE(calibrate="none").fit(skewed, labels, predicted).calibrator_ is None


def test_cbpe_errors_say_what_to_fix() -> None:
    with pytest.raises(InvalidArgument, match="fit CBPE"):
        CBPE().estimate([0.5], [1])
    with pytest.raises(InvalidArgument, match="0 or 1"):
        CBPE().fit([0.1, 0.9], [0, 2], [0, 1])
    with pytest.raises(InvalidArgument, match="same"):
        CBPE().fit([0.1, 0.9], [0], [0, 1])
    assert CBPE(chunk_size=10).get_params() == {"chunk_size": 10, "calibrate": "auto"}


def test_fairness_gaps_between_groups() -> None:
    from shipway.stats.fairness import fairness

    groups = ["a"] * 4 + ["b"] * 4
    predicted = [1, 1, 0, 0, 1, 0, 0, 0]
    labels = [1, 0, 1, 0, 1, 1, 0, 0]
    found = fairness(groups, predicted, labels)
    a, b = found["groups"]["a"], found["groups"]["b"]
    assert (a["selection_rate"], b["selection_rate"]) == (0.5, 0.25)
    assert (a["tpr"], b["tpr"], a["fpr"], b["fpr"]) == (0.5, 0.5, 0.5, 0.0)
    assert found["demographic_parity_difference"] == 0.25
    assert found["equalised_odds_difference"] == 0.5
    only_predictions = fairness(groups, predicted)
    assert (
        only_predictions["groups"]["a"]["tpr"] is None
        and only_predictions["equalised_odds_difference"] is None
    )


def test_dle_estimates_a_regressors_error_under_covariate_shift() -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from shipway.stats.dle import DLE
    from shipway.stats.performance import regression_metrics

    rng = np.random.default_rng(5)

    def world(n: int, loc: float) -> tuple[pd.DataFrame, np.ndarray]:
        x = rng.normal(loc, 1, n)
        kind = rng.choice(["a", "b"], n)
        noise = rng.normal(0, 0.2 + 0.5 * np.abs(x), n)  # the error grows with |x|: shift matters
        return pd.DataFrame({"x": x, "kind": kind}), 3 * x + (kind == "a") + noise

    X, y = world(6000, 0.0)
    model = LinearRegression().fit(pd.get_dummies(X), y)
    predict = lambda frame: model.predict(pd.get_dummies(frame))  # noqa: E731
    dle = DLE().fit(X, predict(X), y)
    for loc in (0.0, 1.5):
        window, truth = world(2000, loc)
        estimate = dle.estimate(window, predict(window))
        realised = regression_metrics(truth, predict(window))
        assert abs(estimate["mae"]["value"] - realised["mae"]) < 0.08 * realised["mae"], loc
        assert abs(estimate["rmse"]["value"] - realised["rmse"]) < 0.1 * realised["rmse"], loc
    with pytest.raises(InvalidArgument, match="fit DLE"):
        DLE().estimate(X, predict(X))
