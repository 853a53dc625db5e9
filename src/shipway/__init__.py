"""shipway: carry a model from a notebook to production and keep it healthy there.

``import shipway as sw`` gives the whole user API. Names are imported on first use, so
``import shipway`` stays fast (see tests/test_imports.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # settings and errors
    "configure": "shipway.session",
    "Settings": "shipway.config",
    "ShipwayError": "shipway.errors",
    # tracking
    "start_run": "shipway.fluent.tracking",
    "active_run": "shipway.fluent.tracking",
    "end_run": "shipway.fluent.tracking",
    "log_param": "shipway.fluent.tracking",
    "log_params": "shipway.fluent.tracking",
    "log_metric": "shipway.fluent.tracking",
    "log_metrics": "shipway.fluent.tracking",
    "log_batch": "shipway.fluent.tracking",
    "set_tag": "shipway.fluent.tracking",
    "set_tags": "shipway.fluent.tracking",
    "log_artifact": "shipway.fluent.tracking",
    "log_artifacts": "shipway.fluent.tracking",
    "log_dict": "shipway.fluent.tracking",
    "log_text": "shipway.fluent.tracking",
    "log_figure": "shipway.fluent.tracking",
    "log_table": "shipway.fluent.tracking",
    "log_dataset": "shipway.fluent.data",
    "get_dataset": "shipway.fluent.data",
    "load_dataset": "shipway.fluent.data",
    "detect_drift": "shipway.stats",
    "drift_report": "shipway.data.drift_report",
    "infer_schema": "shipway.data.schema",
    "validate": "shipway.data.validation",
    "Schema": "shipway.data.schema",
    "DriftDetector": "shipway.stats",
    "log_model": "shipway.fluent.tracking",
    "flush": "shipway.fluent.tracking",
    "get_run": "shipway.fluent.tracking",
    "get_metric_history": "shipway.fluent.tracking",
    "search_runs": "shipway.fluent.tracking",
    "create_experiment": "shipway.fluent.tracking",
    "list_experiments": "shipway.fluent.tracking",
    "seed_everything": "shipway.tracking.environment",
    "autolog": "shipway.fluent.autolog",
    "Metric": "shipway.types",
    # models and registry
    "PythonModel": "shipway.models",
    "infer_signature": "shipway.models",
    "register_model": "shipway.fluent.registry",
    "load_model": "shipway.fluent.registry",
    "get_model_version": "shipway.fluent.registry",
    "promote": "shipway.fluent.registry",
    "approve": "shipway.fluent.registry",
    "set_alias": "shipway.fluent.registry",
    "set_policy": "shipway.fluent.registry",
    "rollback": "shipway.fluent.registry",
    "model_history": "shipway.fluent.registry",
    # serving
    "deploy": "shipway.fluent.serving",
    "get_deployment": "shipway.fluent.serving",
    "log_ground_truth": "shipway.fluent.serving",
    "read_predictions": "shipway.fluent.serving",
    "traffic_profile": "shipway.fluent.serving",
    "promote_deployment": "shipway.fluent.serving",
    "rollback_deployment": "shipway.fluent.serving",
    # monitoring
    "monitor": "shipway.fluent.monitoring",
    "alerts": "shipway.fluent.monitoring",
    "labelled_traffic": "shipway.fluent.monitoring",
    "AlertRule": "shipway.monitoring.rules",
    # pipelines
    "step": "shipway.pipelines.graph",
    "pipeline": "shipway.pipelines.pipeline",
}

# literal, so type checkers know the public names without running anything
__all__ = [
    "AlertRule",
    "DriftDetector",
    "Metric",
    "PythonModel",
    "Schema",
    "Settings",
    "ShipwayError",
    "__version__",
    "active_run",
    "alerts",
    "approve",
    "autolog",
    "configure",
    "create_experiment",
    "deploy",
    "detect_drift",
    "drift_report",
    "end_run",
    "flush",
    "get_dataset",
    "get_deployment",
    "get_metric_history",
    "get_model_version",
    "get_run",
    "infer_schema",
    "infer_signature",
    "labelled_traffic",
    "list_experiments",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dataset",
    "log_dict",
    "log_figure",
    "log_ground_truth",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "model_history",
    "monitor",
    "pipeline",
    "promote",
    "promote_deployment",
    "read_predictions",
    "register_model",
    "rollback",
    "rollback_deployment",
    "search_runs",
    "seed_everything",
    "set_alias",
    "set_policy",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "traffic_profile",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipway' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # the real objects, re-exported explicitly for type checkers and IDEs
    from shipway.config import Settings as Settings
    from shipway.data.drift_report import drift_report as drift_report
    from shipway.data.schema import Schema as Schema
    from shipway.data.schema import infer_schema as infer_schema
    from shipway.data.validation import validate as validate
    from shipway.errors import ShipwayError as ShipwayError
    from shipway.fluent.autolog import autolog as autolog
    from shipway.fluent.data import get_dataset as get_dataset
    from shipway.fluent.data import load_dataset as load_dataset
    from shipway.fluent.data import log_dataset as log_dataset
    from shipway.fluent.monitoring import alerts as alerts
    from shipway.fluent.monitoring import labelled_traffic as labelled_traffic
    from shipway.fluent.monitoring import monitor as monitor
    from shipway.fluent.registry import approve as approve
    from shipway.fluent.registry import get_model_version as get_model_version
    from shipway.fluent.registry import load_model as load_model
    from shipway.fluent.registry import model_history as model_history
    from shipway.fluent.registry import promote as promote
    from shipway.fluent.registry import register_model as register_model
    from shipway.fluent.registry import rollback as rollback
    from shipway.fluent.registry import set_alias as set_alias
    from shipway.fluent.registry import set_policy as set_policy
    from shipway.fluent.serving import deploy as deploy
    from shipway.fluent.serving import get_deployment as get_deployment
    from shipway.fluent.serving import log_ground_truth as log_ground_truth
    from shipway.fluent.serving import promote_deployment as promote_deployment
    from shipway.fluent.serving import read_predictions as read_predictions
    from shipway.fluent.serving import rollback_deployment as rollback_deployment
    from shipway.fluent.serving import traffic_profile as traffic_profile
    from shipway.fluent.tracking import active_run as active_run
    from shipway.fluent.tracking import create_experiment as create_experiment
    from shipway.fluent.tracking import end_run as end_run
    from shipway.fluent.tracking import flush as flush
    from shipway.fluent.tracking import get_metric_history as get_metric_history
    from shipway.fluent.tracking import get_run as get_run
    from shipway.fluent.tracking import list_experiments as list_experiments
    from shipway.fluent.tracking import log_artifact as log_artifact
    from shipway.fluent.tracking import log_artifacts as log_artifacts
    from shipway.fluent.tracking import log_batch as log_batch
    from shipway.fluent.tracking import log_dict as log_dict
    from shipway.fluent.tracking import log_figure as log_figure
    from shipway.fluent.tracking import log_metric as log_metric
    from shipway.fluent.tracking import log_metrics as log_metrics
    from shipway.fluent.tracking import log_model as log_model
    from shipway.fluent.tracking import log_param as log_param
    from shipway.fluent.tracking import log_params as log_params
    from shipway.fluent.tracking import log_table as log_table
    from shipway.fluent.tracking import log_text as log_text
    from shipway.fluent.tracking import search_runs as search_runs
    from shipway.fluent.tracking import set_tag as set_tag
    from shipway.fluent.tracking import set_tags as set_tags
    from shipway.fluent.tracking import start_run as start_run
    from shipway.models import PythonModel as PythonModel
    from shipway.models import infer_signature as infer_signature
    from shipway.monitoring.rules import AlertRule as AlertRule
    from shipway.pipelines.graph import step as step
    from shipway.pipelines.pipeline import pipeline as pipeline
    from shipway.session import configure as configure
    from shipway.stats import DriftDetector as DriftDetector
    from shipway.stats import detect_drift as detect_drift
    from shipway.tracking.environment import seed_everything as seed_everything
    from shipway.types import Metric as Metric
