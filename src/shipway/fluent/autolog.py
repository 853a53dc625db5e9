"""Autologging: ``sw.autolog()`` records params, training metrics and the fitted model.

It wraps ``fit`` of every scikit-learn estimator, and of xgboost's and lightgbm's
scikit-learn classes, and their native ``train`` functions (per-iteration evaluation
metrics, the booster), when those libraries are installed. A ``fit`` called inside another
autologged one (a Pipeline's steps, a grid search's candidates, the ``train`` inside
``XGBClassifier.fit``) is not logged again.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from shipway.fluent import tracking as fluent

if TYPE_CHECKING:
    from shipway.tracking.run import ActiveRun

log = logging.getLogger(__name__)

_state = threading.local()
_patched: dict[type, Any] = {}
_options: dict[str, Any] = {"log_models": True, "disable": False}


def autolog(*, log_models: bool = True, disable: bool = False) -> None:
    """Turn autologging on (or off with ``disable=True``) for scikit-learn, xgboost, lightgbm."""
    _options.update(log_models=log_models, disable=disable)
    if disable:
        return
    for cls in _estimator_classes():
        if cls not in _patched and "fit" in cls.__dict__:
            _patched[cls] = cls.__dict__["fit"]
            cls.fit = _wrap(cls.__dict__["fit"])  # type: ignore[attr-defined]
    for library in ("xgboost", "lightgbm"):
        try:
            module: Any = __import__(library)
        except ImportError:
            continue
        if not getattr(module.train, "_shipway_autolog", False):
            module.train = _wrap_train(library, module.train)


def _wrap_train(library: str, train: Any) -> Any:
    @functools.wraps(train)
    def train_and_log(params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if _options["disable"] or getattr(_state, "depth", 0) > 0:
            return train(params, *args, **kwargs)
        history = _recorded_history(library, kwargs)
        own_run = fluent.active_run() is None
        run = fluent.start_run(name=f"{library}.train") if own_run else fluent.active_run()
        assert run is not None
        _state.depth = 1
        try:
            booster = train(params, *args, **kwargs)
        except BaseException:
            if own_run:
                run.end("FAILED")
            raise
        finally:
            _state.depth = 0
        rounds = args[1] if len(args) > 1 else kwargs.get("num_boost_round")
        _log_training(run, library, {**dict(params), "num_boost_round": rounds}, history, booster)
        if own_run:
            run.end("FINISHED")
        return booster

    train_and_log._shipway_autolog = True  # type: ignore[attr-defined]
    return train_and_log


def _recorded_history(library: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Ask the library's ``train`` to record every iteration's evaluation metrics."""
    history: dict[str, Any] = {}
    if library == "xgboost":
        found: dict[str, Any] = kwargs.setdefault("evals_result", {})
        return found
    import lightgbm

    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), lightgbm.record_evaluation(history)]
    return history


def _log_training(
    run: ActiveRun, library: str, params: dict[str, Any], history: dict[str, Any], booster: Any
) -> None:
    try:
        existing = run.client.get_run(run.run_id).params
        logged = {k: str(v)[:6000] for k, v in params.items() if v is not None}
        run.log_params({k: v for k, v in logged.items() if k not in existing})
        run.set_tags({"shipway.autolog.estimator": f"{library}.train"})
        for dataset, by_metric in history.items():
            for metric, values in by_metric.items():
                for step, value in enumerate(values):
                    run.log_metric(f"{dataset}-{metric}", value, step=step)
        if _options["log_models"]:
            run.log_model(booster, "model")
    except Exception as exc:  # logging must never break training
        log.warning("shipway autolog could not log %s.train: %s", library, exc)


def _estimator_classes() -> list[type]:
    classes: list[type] = []
    from sklearn.utils import all_estimators

    classes.extend(cls for _, cls in all_estimators())
    from sklearn.pipeline import Pipeline

    classes.append(Pipeline)
    for module, names in (
        ("xgboost", ("XGBClassifier", "XGBRegressor")),
        ("lightgbm", ("LGBMClassifier", "LGBMRegressor")),
    ):
        try:
            imported = __import__(module)
        except ImportError:
            continue
        classes.extend(getattr(imported, n) for n in names if hasattr(imported, n))
    return classes


def _wrap(fit: Any) -> Any:
    @functools.wraps(fit)
    def fit_and_log(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _options["disable"] or getattr(_state, "depth", 0) > 0 or not _is_model(self):
            return fit(self, *args, **kwargs)
        _state.depth = 1
        try:
            return _fit_in_run(fit, self, *args, **kwargs)
        finally:
            _state.depth = 0

    return fit_and_log


def _is_model(estimator: Any) -> bool:
    """Models and pipelines are logged; a transformer fitted on its own is not worth a run."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.pipeline import Pipeline

    return isinstance(estimator, Pipeline) or is_classifier(estimator) or is_regressor(estimator)


def _fit_in_run(fit: Any, estimator: Any, *args: Any, **kwargs: Any) -> Any:

    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    own_run = fluent.active_run() is None
    run = fluent.start_run(name=type(estimator).__name__) if own_run else fluent.active_run()
    assert run is not None
    try:
        result = fit(estimator, *args, **kwargs)
        try:
            _log_fitted(run, estimator, X, y)
        except Exception as exc:  # logging must never break training
            log.warning("shipway autolog could not log %s: %s", type(estimator).__name__, exc)
    except BaseException:
        if own_run:
            run.end("FAILED")
        raise
    if own_run:
        run.end("FINISHED")
    return result


def _log_fitted(run: ActiveRun, estimator: Any, X: Any, y: Any) -> None:
    params = {}
    for key, value in estimator.get_params(deep=True).items():
        if hasattr(value, "get_params"):  # nested estimators are recorded by their class name
            value = type(value).__name__
        params[key] = str(value)[:6000]
    existing = run.client.get_run(run.run_id).params
    run.log_params({k: v for k, v in params.items() if k not in existing})
    run.set_tags(
        {"shipway.autolog.estimator": f"{type(estimator).__module__}.{type(estimator).__name__}"}
    )
    if y is not None:
        run.log_metrics({f"training_{k}": v for k, v in training_metrics(estimator, X, y).items()})
    if _options["log_models"]:
        example = X[:5] if hasattr(X, "__getitem__") else None
        if hasattr(X, "iloc"):
            example = X.iloc[:5]
        run.log_model(estimator, "model", input_example=example)


def training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """The usual scores on the training data, by the kind of estimator."""
    import numpy as np
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if is_classifier(estimator):
        predicted = estimator.predict(X)
        out["accuracy_score"] = float(metrics.accuracy_score(y, predicted))
        out["precision_score"] = float(
            metrics.precision_score(y, predicted, average="weighted", zero_division=0)
        )
        out["recall_score"] = float(
            metrics.recall_score(y, predicted, average="weighted", zero_division=0)
        )
        out["f1_score"] = float(metrics.f1_score(y, predicted, average="weighted", zero_division=0))
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            out["log_loss"] = float(metrics.log_loss(y, proba, labels=estimator.classes_))
            if proba.shape[1] == 2:
                out["roc_auc"] = float(metrics.roc_auc_score(y, proba[:, 1]))
    elif is_regressor(estimator):
        predicted = estimator.predict(X)
        mse = float(metrics.mean_squared_error(y, predicted))
        out.update(
            mean_squared_error=mse,
            root_mean_squared_error=float(np.sqrt(mse)),
            mean_absolute_error=float(metrics.mean_absolute_error(y, predicted)),
            r2_score=float(metrics.r2_score(y, predicted)),
        )
    return out
