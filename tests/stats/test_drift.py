from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipway.errors import InvalidArgument
from shipway.stats import DriftDetector, detect_drift


def frame(n: int, seed: int, shift: float = 0.0, skew: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.exponential(2, n),
            "few": rng.integers(0, 3, n),
            "city": rng.choice(["a", "b", "c", "d"], n, p=[0.7, 0.1, 0.1, 0.1] if skew else None),
            "flag": rng.random(n) < 0.3,
        }
    )


def test_large_samples_use_distances_and_find_only_the_shift() -> None:
    result = detect_drift(frame(20_000, 0), frame(20_000, 1, shift=0.5, skew=True))
    methods = {c.column: c.method for c in result.columns}
    assert methods == {
        "x": "wasserstein",
        "y": "wasserstein",
        "few": "jensenshannon",
        "city": "jensenshannon",
        "flag": "jensenshannon",
    }
    assert sorted(result.drifted_columns) == ["city", "x"]
    assert (
        result.n_drifted == 2
        and result.share_drifted == pytest.approx(0.4)
        and not result.dataset_drift
    )
    assert result.column("x").score == pytest.approx(0.5, abs=0.05)


def test_small_samples_use_pvalue_tests() -> None:
    result = detect_drift(frame(500, 0), frame(400, 1, shift=1.0))
    methods = {c.column: c.method for c in result.columns}
    assert methods == {"x": "ks", "y": "ks", "few": "chisquare", "city": "chisquare", "flag": "z"}
    assert result.column("x").drifted and result.column("x").score < 1e-6
    assert all(c.threshold == 0.05 for c in result.columns)


def test_tiny_shift_on_a_million_rows_is_not_an_alarm() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=1_000_000)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, size=1_000_000)})
    assert not detect_drift(ref, cur).column("x").drifted
    assert detect_drift(ref, cur, method="ks").column("x").drifted, (
        "a p-value test would cry wolf here"
    )


def test_unshifted_columns_raise_no_false_alarm() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({f"c{i}": rng.normal(size=100_000) for i in range(25)})
    cur = pd.DataFrame({f"c{i}": rng.normal(size=100_000) for i in range(25)})
    result = detect_drift(ref, cur)
    assert result.drifted_columns == [] and max(c.score for c in result.columns) < 0.02


def test_settings_are_honoured_and_reported() -> None:
    detector = DriftDetector(
        num_method="psi", cat_method="chisquare", per_column_threshold={"x": 0.5}, drift_share=0.2
    )
    result = detector.fit(frame(5000, 0)).score(frame(5000, 1, shift=0.6))
    assert result.column("x").method == "psi" and result.column("x").threshold == 0.5
    assert result.column("city").method == "chisquare"
    assert result.settings["num_method"] == "psi" and result.to_dict()["drift_share"] == 0.2
    assert DriftDetector(method="psi").get_params()["method"] == "psi"


def test_bonferroni_correction_reduces_false_alarms() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(40)})
    cur = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(40)})
    plain = detect_drift(ref, cur)
    strict = detect_drift(ref, cur, correction="bonferroni")
    assert (
        len(strict.drifted_columns) <= len(plain.drifted_columns) and strict.drifted_columns == []
    )


def test_bad_input_is_reported_not_crashed() -> None:
    ref = pd.DataFrame(
        {
            "a": [1.0, 2, 3, np.inf],
            "b": [None, None, None, None],
            "c": ["x", "y", "x", "y"],
            "only_ref": [1, 2, 3, 4],
        }
    )
    cur = pd.DataFrame(
        {
            "a": [1.0, np.inf, -np.inf, 2],
            "b": [1.0, 2, 3, 4],
            "c": ["x", "z", "z", "q"],
            "only_cur": ["p", "q", "r", "s"],
        }
    )
    result = detect_drift(ref, cur)
    status = {c.column: c.status for c in result.columns}
    assert status == {
        "a": "ok",
        "b": "empty_reference",
        "c": "ok",
        "only_ref": "missing_in_current",
        "only_cur": "missing_in_reference",
    }
    assert "infinite" in result.column("a").note
    assert result.column("c").note == "unseen categories (75.0% of values): q, z"
    assert result.column("c").drifted and result.column("c").unseen_share == 0.75
    empty = detect_drift(ref, ref.head(0))
    assert {c.status for c in empty.columns if c.column in ("a", "c")} == {
        "empty_current"
    } and not empty.dataset_drift
    mixed = detect_drift(
        pd.DataFrame({"m": [1, "two", 3.0, None]}), pd.DataFrame({"m": ["one", 2, 3, 4]})
    )
    assert mixed.column("m").kind == "categorical" and mixed.column("m").status == "ok"


def test_numbers_arriving_as_text_are_a_type_change() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"age": rng.normal(40, 5, 2000), "n": rng.normal(size=2000)})
    as_text = pd.DataFrame({"age": ["forty"] * 500, "n": rng.normal(size=500)})
    result = detect_drift(ref, as_text)
    age = result.column("age")
    assert age.status == "type_changed" and age.drifted, age
    assert "500 of 500 value(s) are text" in age.note and age.missing_current == 0
    assert result.n_drifted == 1 and result.share_drifted == 0.5
    partly = as_text.assign(age=[*rng.normal(40, 5, 400), *["n/a"] * 100])
    some = detect_drift(ref, partly).column("age")
    assert some.status == "type_changed" and some.drifted and some.score is not None
    assert detect_drift(ref, ref.sample(500, random_state=1)).column("age").status == "ok"


def test_unseen_categories_drift_past_their_share() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"plan": rng.choice(["free", "pro"], 5000)})
    few = pd.DataFrame({"plan": [*rng.choice(["free", "pro"], 999), "enterprise"]})
    many = pd.DataFrame({"plan": [*rng.choice(["free", "pro"], 980), *["enterprise"] * 20]})
    assert not detect_drift(ref, few).column("plan").drifted, "0.1% is under the 1% default"
    verdict = detect_drift(ref, many).column("plan")
    assert verdict.drifted and verdict.score < verdict.threshold, "drifted by the unseen share"
    assert detect_drift(ref, few, unseen_share=0.001).column("plan").drifted
    with pytest.raises(InvalidArgument, match="unseen_share"):
        detect_drift(ref, few, unseen_share=2)


def test_wrong_settings_say_what_to_fix() -> None:
    with pytest.raises(InvalidArgument, match="unknown drift method 'kss'"):
        DriftDetector(method="kss").fit(frame(10, 0))
    with pytest.raises(InvalidArgument, match="drift_share"):
        DriftDetector(drift_share=0).fit(frame(10, 0))
    with pytest.raises(InvalidArgument, match="fit the detector"):
        DriftDetector().score(frame(10, 0))
    with pytest.raises(InvalidArgument, match="needs a numeric column"):
        detect_drift(frame(2000, 0), frame(2000, 1), per_column_method={"city": "wasserstein"})
