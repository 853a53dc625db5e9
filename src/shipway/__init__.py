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
    "configure": "shipway.tracking.context",
    "Settings": "shipway.config",
    "ShipwayError": "shipway.errors",
    # tracking
    "start_run": "shipway.tracking.fluent",
    "active_run": "shipway.tracking.fluent",
    "end_run": "shipway.tracking.fluent",
    "log_param": "shipway.tracking.fluent",
    "log_params": "shipway.tracking.fluent",
    "log_metric": "shipway.tracking.fluent",
    "log_metrics": "shipway.tracking.fluent",
    "log_batch": "shipway.tracking.fluent",
    "set_tag": "shipway.tracking.fluent",
    "set_tags": "shipway.tracking.fluent",
    "log_artifact": "shipway.tracking.fluent",
    "log_artifacts": "shipway.tracking.fluent",
    "log_dict": "shipway.tracking.fluent",
    "log_text": "shipway.tracking.fluent",
    "log_figure": "shipway.tracking.fluent",
    "log_table": "shipway.tracking.fluent",
    "log_dataset": "shipway.data.fluent",
    "get_dataset": "shipway.data.fluent",
    "load_dataset": "shipway.data.fluent",
    "detect_drift": "shipway.stats",
    "drift_report": "shipway.data.drift_report",
    "infer_schema": "shipway.data.schema",
    "validate": "shipway.data.validation",
    "Schema": "shipway.data.schema",
    "DriftDetector": "shipway.stats",
    "log_model": "shipway.tracking.fluent",
    "flush": "shipway.tracking.fluent",
    "get_run": "shipway.tracking.fluent",
    "get_metric_history": "shipway.tracking.fluent",
    "search_runs": "shipway.tracking.fluent",
    "create_experiment": "shipway.tracking.fluent",
    "list_experiments": "shipway.tracking.fluent",
    "seed_everything": "shipway.tracking.environment",
    "autolog": "shipway.tracking.autolog",
    "Metric": "shipway.types",
    # models and registry
    "PythonModel": "shipway.models",
    "infer_signature": "shipway.models",
    "register_model": "shipway.registry.fluent",
    "load_model": "shipway.registry.fluent",
    "get_model_version": "shipway.registry.fluent",
    "promote": "shipway.registry.fluent",
    "approve": "shipway.registry.fluent",
    "set_alias": "shipway.registry.fluent",
    "set_policy": "shipway.registry.fluent",
    "rollback": "shipway.registry.fluent",
    "model_history": "shipway.registry.fluent",
    # serving
    "deploy": "shipway.serving.fluent",
    "get_deployment": "shipway.serving.fluent",
    "log_ground_truth": "shipway.serving.fluent",
    "read_predictions": "shipway.serving.fluent",
    "traffic_profile": "shipway.serving.fluent",
    "promote_deployment": "shipway.serving.fluent",
    "rollback_deployment": "shipway.serving.fluent",
    # monitoring
    "monitor": "shipway.monitoring.fluent",
    "alerts": "shipway.monitoring.fluent",
    "AlertRule": "shipway.monitoring.rules",
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
    from shipway.data.fluent import get_dataset, load_dataset, log_dataset
    from shipway.data.schema import Schema, infer_schema
    from shipway.data.validation import validate
    from shipway.errors import ShipwayError
    from shipway.models import PythonModel, infer_signature
    from shipway.monitoring.fluent import alerts, monitor
    from shipway.monitoring.rules import AlertRule
    from shipway.registry.fluent import (
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
    from shipway.serving.fluent import (
        deploy,
        get_deployment,
        log_ground_truth,
        promote_deployment,
        read_predictions,
        rollback_deployment,
        traffic_profile,
    )
    from shipway.stats import DriftDetector, detect_drift
    from shipway.tracking.autolog import autolog
    from shipway.tracking.context import configure
    from shipway.tracking.environment import seed_everything
    from shipway.tracking.fluent import (
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
    from shipway.types import Metric
