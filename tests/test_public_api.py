"""The public API, the layer rule and the import budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import shipway

SRC = Path(shipway.__file__).parent

EXPECTED = {
    "__version__",
    "Settings",
    "ShipwayError",
    "Metric",
    "configure",
    "start_run",
    "active_run",
    "end_run",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "log_batch",
    "set_tag",
    "set_tags",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_text",
    "log_figure",
    "log_table",
    "log_dataset",
    "log_model",
    "flush",
    "get_run",
    "get_metric_history",
    "search_runs",
    "create_experiment",
    "list_experiments",
    "seed_everything",
    "autolog",
    "PythonModel",
    "infer_signature",
    "register_model",
    "load_model",
    "get_model_version",
    "promote",
    "approve",
    "set_alias",
    "set_policy",
    "rollback",
    "model_history",
    "get_dataset",
    "load_dataset",
    "detect_drift",
    "DriftDetector",
    "drift_report",
    "infer_schema",
    "validate",
    "Schema",
    "deploy",
    "get_deployment",
    "log_ground_truth",
    "read_predictions",
    "traffic_profile",
    "promote_deployment",
    "rollback_deployment",
    "step",
    "pipeline",
    "labelled_traffic",
    "monitor",
    "alerts",
    "AlertRule",
}


def test_public_exports_are_pinned() -> None:
    assert set(shipway.__all__) == EXPECTED
    for name in shipway.__all__:
        assert getattr(shipway, name) is not None


def test_import_is_light() -> None:
    code = "import sys, shipway; heavy = [m for m in ('sqlalchemy', 'pandas', 'numpy', 'sklearn', 'typer') if m in sys.modules]; print(heavy)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"import shipway pulled in {out}"


def test_the_controller_imports_no_data_library() -> None:
    """``shipway controller --once`` over idle deployments must not pay for pandas, pyarrow or
    scikit-learn (bench/controller.py: a fresh process within 1 s of CPU); a round that finds
    traffic imports them when it reads it."""
    code = (
        "import sys, shipway.cli.app, shipway.cli.loops, shipway.automation.controller; "
        "print([m for m in ('pandas', 'pyarrow', 'sklearn', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"the controller's modules pulled in {out}"
