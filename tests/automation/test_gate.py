"""The gate: candidate and champion on the same held-out rows, value and change thresholds,
errors judged the other way round, every slice too, and no bar means no pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.automation.gate import Gate, judge
from shipway.errors import InvalidArgument


def _world(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    noisy = x + np.where(region == "south", 2.0, 0.0) + rng.normal(scale=0.7, size=n)
    return pd.DataFrame({"x": x, "region": region, "y": (noisy > 0.5).astype(int)})


def _model(sw: Any, frame: pd.DataFrame, features: list[str], name: str) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encoder = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), [c for c in features if c == "region"]),
        remainder="passthrough",
    )
    fitted = make_pipeline(encoder, LogisticRegression()).fit(frame[features], frame["y"])
    with sw.start_run(experiment="gate") as run:
        run.log_model(fitted, "model", input_example=frame[features].head())
    sw.register_model(run, name)
    return sw.load_model(f"models:/{name}/latest")


@pytest.fixture
def models(sw: Any) -> tuple[Any, Any, pd.DataFrame]:
    train, holdout = _world(3000, 1), _world(1500, 2)
    weak = _model(sw, train, ["x"], "weak")  # blind to the region
    strong = _model(sw, train, ["x", "region"], "strong")
    return weak, strong, holdout


def test_value_and_change_thresholds(models: Any) -> None:
    weak, strong, holdout = models
    better = judge(Gate("accuracy", min=0.7, max_drop=0.01), strong, weak, holdout, "y")
    assert better.passed and better.reasons == [] and better.candidate > better.champion
    assert better.rows == 1500 and better.holdout == "holdout"
    worse = judge(Gate("accuracy", max_drop=0.01), weak, strong, holdout, "y")
    assert not worse.passed and "drops more than 0.01 from the champion's" in worse.reasons[0]
    assert not judge(Gate("accuracy", min_gain=0.5), strong, weak, holdout, "y").passed
    first = judge(Gate("accuracy", min=0.99, max_drop=0.01), strong, None, holdout, "y")
    assert first.champion is None and first.reasons == [
        f"accuracy {first.candidate:.4g} is under the minimum 0.99"
    ], "with no champion only value thresholds apply"
    assert judge(Gate("roc_auc", min=0.5), strong, weak, holdout, "y").passed


def test_errors_are_judged_the_other_way_round(models: Any) -> None:
    weak, strong, holdout = models
    assert judge(Gate("log_loss", max_rise=0.0), strong, weak, holdout, "y").passed
    failed = judge(Gate("log_loss", max_rise=0.0), weak, strong, holdout, "y")
    assert "rises more than 0 over the champion's" in failed.reasons[0]
    with pytest.raises(InvalidArgument, match="min does not apply, since lower is better; use max"):
        Gate("mae", min=1.0)
    with pytest.raises(InvalidArgument, match="max_rise does not apply, since higher is better"):
        Gate("accuracy", max_rise=0.1)


def test_every_slice_must_pass(models: Any) -> None:
    weak, strong, holdout = models
    gate = Gate("accuracy", min=0.75, slices="region")
    verdict = judge(gate, weak, None, holdout, "y")
    assert set(verdict.slices) == {"north", "south"}
    failing = [name for name, s in verdict.slices.items() if not s["passed"]]
    assert failing and all(f"region={name}" in " ".join(verdict.reasons) for name in failing)


def test_no_bar_passes_nothing_and_bad_gates_say_what_to_fix(models: Any) -> None:
    weak, strong, holdout = models
    verdict = judge(Gate("accuracy"), strong, weak, holdout, "y")
    assert not verdict.passed and verdict.reasons == [
        "the gate has no threshold: it passes nothing"
    ]
    with pytest.raises(InvalidArgument, match="not one of accuracy"):
        Gate("acc")
    with pytest.raises(InvalidArgument, match="unknown setting gate.minimum"):
        Gate.from_dict({"metric": "accuracy", "minimum": 0.7})
    with pytest.raises(InvalidArgument, match="no label column 'label'"):
        judge(Gate("accuracy", min=0.5), strong, weak, holdout, "label")
    assert (
        Gate.from_dict({"metric": "accuracy", "min": 0.7, "holdout_rows": 500}).holdout_rows == 500
    )


def test_the_paired_margin_is_the_gain_row_by_row_with_its_error() -> None:
    import numpy as np

    from shipway.automation.gate import paired_margin

    truth = np.array([1, 0, 1, 1, 0, 1, 0, 0])
    better = truth.copy()
    worse = np.array([0, 0, 1, 0, 0, 1, 1, 0])  # 5 of 8 right
    found = paired_margin("accuracy", truth, better, worse)
    assert found is not None and found["gain"] == pytest.approx(3 / 8)
    gains = np.array([1, 0, 0, 1, 0, 0, 1, 0], dtype=float)
    assert found["stderr"] == pytest.approx(gains.std(ddof=1) / np.sqrt(8), abs=1e-6)
    assert found["z"] == pytest.approx(found["gain"] / found["stderr"], rel=1e-3)
    mae = paired_margin("mae", [1.0, 2.0, 3.0], [1.0, 2.0, 3.5], [2.0, 2.0, 3.0])
    assert mae is not None and mae["gain"] == pytest.approx((1 + 0 - 0.5) / 3, abs=1e-6)
    assert paired_margin("roc_auc", truth, better, worse) is None, "not a mean over rows"
    assert paired_margin("accuracy", truth[:1], better[:1], worse[:1]) is None
