"""Direct loss estimation (DLE): a regressor's error without labels.

Fit on reference data whose targets are known: a gradient-boosted model learns each row's
absolute error and squared error from the inputs and the prediction. On a window without
labels, the mean of the predicted absolute errors estimates MAE, and the root of the mean of
the predicted squared errors estimates RMSE. The band is three standard errors, from the
spread of the realised metric over reference chunks, scaled to the window's size. Like CBPE
it sees covariate shift, not a change in how the inputs relate to the target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipway.errors import InvalidArgument
from shipway.stats.cbpe import chunk_count

METRICS = ("mae", "rmse")


def _design(
    inputs: Any, predictions: Any, categories: dict[str, list[str]] | None
) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Numbers as they are, categories as codes learned on the reference (ordinal: the trees'
    own categorical support re-encodes every window, which costs more than it finds), and the
    prediction, as one float matrix."""
    import pandas as pd

    frame = pd.DataFrame(inputs).reset_index(drop=True)
    learned = categories if categories is not None else {}
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=float, na_value=np.nan))
        else:
            text = series.astype(str)
            if categories is None:
                learned[str(name)] = sorted(text.unique().tolist())
            codes = {v: i for i, v in enumerate(learned.get(str(name), []))}
            columns.append(text.map(codes).to_numpy(dtype=float, na_value=np.nan))  # unseen: NaN
    columns.append(np.asarray(predictions, dtype=float))
    return np.column_stack(columns), learned


class DLE:
    """``DLE().fit(inputs, predictions, targets)``, then ``estimate(inputs, predictions)``."""

    def __init__(
        self, *, chunk_size: int = 1000, max_iter: int = 100, max_leaf_nodes: int = 15
    ) -> None:
        self.chunk_size = chunk_size
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes  # an error surface needs few splits per tree

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "chunk_size": self.chunk_size,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
        }

    def fit(self, inputs: Any, predictions: Any, targets: Any) -> DLE:
        from sklearn.ensemble import HistGradientBoostingRegressor

        y, p = np.asarray(targets, dtype=float), np.asarray(predictions, dtype=float)
        if len(y) != len(p) or len(y) < 20:
            raise InvalidArgument(
                "DLE needs at least 20 reference rows with predictions and targets"
            )
        design, self.categories_ = _design(inputs, p, None)
        error = np.abs(p - y)

        def trees() -> Any:
            return HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                random_state=0,
            )

        self.absolute_ = trees().fit(design, error)
        self.squared_ = trees().fit(design, error**2)
        chunks = np.array_split(np.arange(len(y)), chunk_count(len(y), self.chunk_size))
        self.reference_chunk_ = len(y) // len(chunks)
        maes = [float(error[c].mean()) for c in chunks]
        rmses = [float(np.sqrt((error[c] ** 2).mean())) for c in chunks]
        self.sampling_std_ = {
            "mae": float(np.std(maes, ddof=1)) if len(chunks) > 1 else None,
            "rmse": float(np.std(rmses, ddof=1)) if len(chunks) > 1 else None,
        }
        return self

    def estimate(self, inputs: Any, predictions: Any) -> dict[str, dict[str, float | None]]:
        if not hasattr(self, "absolute_"):
            raise InvalidArgument("fit DLE on reference data before estimating")
        design, _ = _design(inputs, predictions, self.categories_)
        values = {
            "mae": float(np.clip(self.absolute_.predict(design), 0, None).mean()),
            "rmse": float(np.sqrt(np.clip(self.squared_.predict(design), 0, None).mean())),
        }
        out: dict[str, dict[str, float | None]] = {}
        for metric, value in values.items():
            std = self.sampling_std_[metric]
            half = (
                None
                if std is None
                else 3 * std * np.sqrt(self.reference_chunk_ / max(len(design), 1))
            )
            out[metric] = {
                "value": value,
                "lower": None if half is None else max(value - half, 0.0),
                "upper": None if half is None else value + half,
            }
        return out
