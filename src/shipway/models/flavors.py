"""Model flavors: how each kind of model is saved to a folder and loaded back.

Flavors are listed by name here and their libraries imported only when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, require
from shipway.models.pyfunc import PythonModel

# flavor -> the packages whose versions go into requirements.txt
REQUIREMENTS = {
    "sklearn": ["scikit-learn", "numpy", "pandas", "cloudpickle"],
    "xgboost": ["xgboost", "scikit-learn", "numpy", "pandas"],
    "lightgbm": ["lightgbm", "scikit-learn", "numpy", "pandas", "cloudpickle"],
    "python": ["cloudpickle", "numpy", "pandas"],
    "pyfunc": ["cloudpickle", "numpy", "pandas"],
}
FLAVORS = tuple(REQUIREMENTS)


def detect_flavor(model: Any) -> str:
    """The flavor for ``model``, by its class's module."""
    if isinstance(model, PythonModel):
        return "pyfunc"
    module = type(model).__module__.split(".")[0]
    if module == "xgboost":
        return "xgboost"
    if module == "lightgbm":
        return "lightgbm"
    if module == "sklearn" or (hasattr(model, "get_params") and hasattr(model, "fit")):
        return "sklearn"
    if callable(getattr(model, "predict", None)):
        return "python"
    raise InvalidArgument(
        f"cannot log a {type(model).__name__}: it has no predict method",
        hint="log a scikit-learn, xgboost or lightgbm model, an object with predict, or a sw.PythonModel",
    )


def save(flavor: str, model: Any, folder: Path) -> str:
    """Save ``model`` into ``folder``; returns the model file's name."""
    if flavor == "xgboost":
        require("xgboost", "xgboost")
        if hasattr(model, "save_model") and hasattr(model, "get_booster"):  # the scikit-learn API
            import cloudpickle

            # The native file keeps the trees portable across versions; the pickle keeps the class.
            model.save_model(folder / "model.ubj")
            (folder / "model.pkl").write_bytes(cloudpickle.dumps(model))
            return "model.pkl"
        model.save_model(folder / "model.ubj")
        return "model.ubj"
    if flavor == "lightgbm":
        require("lightgbm", "lightgbm")
        if type(model).__name__ == "Booster":
            model.save_model(str(folder / "model.txt"))
            return "model.txt"
    import cloudpickle

    # LGBMClassifier/Regressor, scikit-learn estimators and plain objects keep their class by pickle.
    (folder / "model.pkl").write_bytes(cloudpickle.dumps(model))
    return "model.pkl"


def load(flavor: str, folder: Path, model_file: str) -> Any:
    path = folder / model_file
    if flavor == "xgboost" and model_file == "model.ubj":
        xgboost = require("xgboost", "xgboost")
        booster = xgboost.Booster()
        booster.load_model(path)
        return booster
    if flavor == "lightgbm" and model_file == "model.txt":
        lightgbm = require("lightgbm", "lightgbm")
        return lightgbm.Booster(model_file=str(path))
    if flavor in ("xgboost", "lightgbm"):
        require(flavor, flavor)
    import cloudpickle

    with path.open("rb") as f:
        return cloudpickle.load(f)
