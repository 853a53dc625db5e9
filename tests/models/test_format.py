"""Saving and loading models of every flavor, and refusing altered ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from shipway.errors import IntegrityError, InvalidArgument
from shipway.models import ModelContext, PythonModel, load_model, save_model


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=200),
            "city": rng.choice(["a", "b", "c"], 200),
            "visits": rng.integers(0, 9, 200),
        }
    )
    y = ((X["amount"] > 0) ^ (X["city"] == "a")).astype(int)
    return X, y


def test_sklearn_pipeline_round_trip(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    model = Pipeline(
        [
            (
                "enc",
                ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
            ),
            ("lr", LogisticRegression()),
        ]
    ).fit(X, y)
    info = save_model(model, tmp_path / "m", input_example=X.head(3))
    assert info.flavor == "sklearn" and any(
        r.startswith("scikit-learn==") for r in info.requirements
    )
    assert [(c.name, c.type) for c in info.signature.inputs] == [
        ("amount", "double"),
        ("city", "string"),
        ("visits", "long"),
    ]
    loaded = load_model(tmp_path / "m")
    assert list(loaded.predict(X)) == list(model.predict(X))
    assert loaded.predict_proba(X.head(2)).shape == (2, 2)
    assert list(loaded.predict({"amount": 1.0, "city": "b", "visits": 2})) == list(
        model.predict(
            X.head(0).pipe(lambda f: pd.DataFrame([{"amount": 1.0, "city": "b", "visits": 2}]))
        )
    )
    assert len(loaded.input_example) == 3
    assert (tmp_path / "m" / "requirements.txt").read_text().startswith("scikit-learn==")


def test_boosters_round_trip(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    xgboost = pytest.importorskip("xgboost")
    lightgbm = pytest.importorskip("lightgbm")
    X, y = data
    numeric = X[["amount", "visits"]]
    for name, model in (
        ("xgb", xgboost.XGBClassifier(n_estimators=5)),
        ("lgb", lightgbm.LGBMClassifier(n_estimators=5, verbose=-1)),
    ):
        model.fit(numeric, y)
        info = save_model(model, tmp_path / name, input_example=numeric.head())
        assert info.flavor == {"xgb": "xgboost", "lgb": "lightgbm"}[name]
        np.testing.assert_array_equal(
            load_model(tmp_path / name).predict(numeric), model.predict(numeric)
        )
    assert (tmp_path / "xgb" / "model.ubj").exists(), (
        "xgboost models also keep the portable native file"
    )
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1}, lightgbm.Dataset(numeric, y), num_boost_round=3
    )
    save_model(booster, tmp_path / "booster")
    np.testing.assert_allclose(
        load_model(tmp_path / "booster").predict(numeric), booster.predict(numeric)
    )


class Doubler(PythonModel):
    def load_context(self, context: ModelContext) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context: ModelContext, model_input: Any) -> Any:
        return model_input["x"] * self.factor


class Plain:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["x"].to_numpy() + 1


def test_custom_and_plain_models(tmp_path: Path) -> None:
    (tmp_path / "factor.txt").write_text("2.5")
    save_model(
        Doubler(),
        tmp_path / "custom",
        input_example=pd.DataFrame({"x": [1.0]}),
        extra_files={"factor": str(tmp_path / "factor.txt")},
    )
    assert list(load_model(tmp_path / "custom").predict([{"x": 2.0}, {"x": 4.0}])) == [5.0, 10.0]
    info = save_model(Plain(), tmp_path / "plain", input_example={"x": 1})
    assert info.flavor == "python"
    assert list(load_model(tmp_path / "plain").predict({"x": 41})) == [42]
    with pytest.raises(InvalidArgument, match="no predict method"):
        save_model(object(), tmp_path / "nothing")


def test_signature_refuses_bad_input(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    model = LogisticRegression().fit(X[["amount", "visits"]], y)
    save_model(model, tmp_path / "m", input_example=X[["amount", "visits"]].head())
    loaded = load_model(tmp_path / "m")
    with pytest.raises(InvalidArgument, match=r"missing input column\(s\): visits") as missing:
        loaded.predict(pd.DataFrame({"amount": [1.0]}))
    assert missing.value.details == {"column": "visits", "expected": "present", "found": "missing"}
    with pytest.raises(
        InvalidArgument,
        match="column 'amount' expects double values but got text \\(for example 'lots'\\)",
    ):
        loaded.predict(pd.DataFrame({"amount": ["lots"], "visits": [1]}))
    with pytest.raises(
        InvalidArgument, match="column 'visits' expects long values but got fractional numbers"
    ):
        loaded.predict(pd.DataFrame({"amount": [1.0], "visits": [1.5]}))
    with pytest.raises(InvalidArgument, match="column 'amount' expects double values but got text"):
        loaded.signature.validate_record({"amount": "lots", "visits": 1})
    extra = loaded.predict(pd.DataFrame({"visits": [1], "amount": [0.3], "ignored": ["x"]}))
    assert len(extra) == 1, "extra columns are dropped, order follows the signature"
    assert loaded.signature.validate_record({"amount": "1.5", "visits": 2}) == {
        "amount": 1.5,
        "visits": 2,
    }


tripped = {"unpickled": False}


class Trap:
    def predict(self, frame: Any) -> Any:
        return frame

    def __setstate__(self, state: dict[str, Any]) -> None:
        tripped["unpickled"] = True
        self.__dict__.update(state)


def test_altered_or_missing_files_are_refused_before_unpickling(tmp_path: Path) -> None:
    save_model(Trap(), tmp_path / "m")
    pickled = tmp_path / "m" / "model.pkl"
    data = bytearray(pickled.read_bytes())
    data[-3] ^= 0x01
    pickled.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="'model.pkl' was altered"):
        load_model(tmp_path / "m")
    assert not tripped["unpickled"]
    save_model(Trap(), tmp_path / "n")
    (tmp_path / "n" / "requirements.txt").unlink()
    with pytest.raises(IntegrityError, match="'requirements.txt' is missing"):
        load_model(tmp_path / "n")
    document = json.loads((tmp_path / "n" / "MODEL.json").read_text())
    assert set(document["files"]) == {"model.pkl", "requirements.txt"}


def test_validate_reorders_fitting_frames_and_converts_the_rest() -> None:
    import pandas as pd

    from shipway.errors import InvalidArgument
    from shipway.models.signature import ColumnSpec, Signature

    sig = Signature((ColumnSpec("a", "double"), ColumnSpec("b", "long"), ColumnSpec("c", "string")))
    fitting = pd.DataFrame({"c": ["x"], "extra": [1], "b": [2], "a": [1]})
    out = sig.validate(fitting)
    assert list(out.columns) == ["a", "b", "c"] and out.iloc[0].tolist() == [1, 2, "x"]
    same = pd.DataFrame({"a": [1.5], "b": [2], "c": ["x"]})
    assert sig.validate(same) is same, "a frame that fits exactly is passed through"
    text_numbers = sig.validate(pd.DataFrame({"a": ["1.5"], "b": [2.0], "c": ["x"]}))
    assert text_numbers["a"].tolist() == [1.5] and text_numbers["b"].tolist() == [2.0]
    with pytest.raises(InvalidArgument, match="'b' expects long"):
        sig.validate(pd.DataFrame({"a": [1.0], "b": [2.5], "c": ["x"]}))
