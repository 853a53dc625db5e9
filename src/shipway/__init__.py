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

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipway' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from shipway.config import Settings
    from shipway.data.drift_report import drift_report
    from shipway.data.schema import Schema, infer_schema
    from shipway.data.validation import validate
    from shipway.errors import ShipwayError
    from shipway.fluent.autolog import autolog
    from shipway.fluent.data import get_dataset, load_dataset, log_dataset
    from shipway.fluent.monitoring import alerts, labelled_traffic, monitor
    from shipway.fluent.registry import (
        approve,
        get_model_version,
        load_model,
        model_history,
        promote,
        register_model,
        rollback,
        set_alias,
        set_policy,
    )
    from shipway.fluent.serving import (
        deploy,
        get_deployment,
        log_ground_truth,
        promote_deployment,
        read_predictions,
        rollback_deployment,
        traffic_profile,
    )
    from shipway.fluent.tracking import (
        active_run,
        create_experiment,
        end_run,
        flush,
        get_metric_history,
        get_run,
        list_experiments,
        log_artifact,
        log_artifacts,
        log_batch,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_model,
        log_param,
        log_params,
        log_table,
        log_text,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from shipway.models import PythonModel, infer_signature
    from shipway.monitoring.rules import AlertRule
    from shipway.pipelines.graph import step
    from shipway.pipelines.pipeline import pipeline
    from shipway.session import configure
    from shipway.stats import DriftDetector, detect_drift
    from shipway.tracking.environment import seed_everything
    from shipway.types import Metric
