"""Whether a classifier's label is the most probable class, so that one model pass gives
both (an inference call that asks for ``predict`` and ``probabilities`` then costs one).

Only estimators whose ``predict`` is documented as the argmax of ``predict_proba`` qualify
(forests, trees, gradient boosting, logistic regression, naive Bayes, neighbours, and the
scikit-learn wrappers of XGBoost and LightGBM), the last step of a scikit-learn pipeline
included; and the server confirms it on the version's input example when it loads it. An
SVC with ``probability=True``, whose two answers can disagree, keeps two passes.
"""

from __future__ import annotations

from typing import Any

_ARGMAX_MODULES = (
    "sklearn.ensemble._forest",
    "sklearn.ensemble._gb",
    "sklearn.ensemble._hist_gradient_boosting",
    "sklearn.tree.",
    "sklearn.linear_model._logistic",
    "sklearn.naive_bayes",
    "sklearn.neighbors._classification",
    "xgboost.sklearn",
    "lightgbm.sklearn",
)


def final_estimator(raw: Any) -> Any:
    """The estimator that decides: the last step of a scikit-learn pipeline, else ``raw``."""
    steps = getattr(raw, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return final_estimator(steps[-1][-1])
    return raw


def is_argmax_classifier(raw: Any) -> bool:
    """Whether ``raw``'s labels are, by its kind, the class of highest probability."""
    estimator = final_estimator(raw)
    module = type(estimator).__module__ + "."
    return getattr(raw, "classes_", None) is not None and module.startswith(_ARGMAX_MODULES)


def labels_of(scores: Any, classes: Any) -> Any:
    """The most probable class of each row of ``scores`` ([n, classes])."""
    import numpy as np

    return np.asarray(classes).take(np.asarray(scores).argmax(axis=1))


def agrees(raw: Any, frame: Any, predicted: Any) -> bool:
    """Whether ``predicted`` (``raw``'s labels for ``frame``) are its most probable classes."""
    import numpy as np

    scores = np.asarray(raw.predict_proba(frame))
    if scores.ndim != 2:
        return False
    return bool(np.array_equal(labels_of(scores, raw.classes_), np.asarray(predicted)))
