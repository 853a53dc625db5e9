"""What a user writes, from the README's main examples, typed as a strict project types it."""

from __future__ import annotations

import pandas as pd

import shipway as sw


def train(frame: pd.DataFrame) -> None:
    sw.seed_everything(42)
    with sw.start_run(experiment="churn", name="rf", params={"n_estimators": 300}) as run:
        sw.log_dataset("customers", frame, role="train")
        for epoch in range(3):
            sw.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
        sw.log_metrics({"auc": 0.91, "f1": 0.74})
        sw.log_dict({"depth": 3}, "config.yaml")
        sw.set_tag("team", "growth")
        print(run.run_id)
    found: pd.DataFrame = sw.search_runs("churn", filter="metrics.auc > 0.9")
    print(len(found))


def ship(run_id: str) -> None:
    version = sw.register_model(run_id, "churn")
    sw.promote("churn", version.version, to="production")
    model = sw.load_model("models:/churn@production")
    print(model.predict(pd.DataFrame({"x": [1.0]})))
    sw.deploy("churn-live", model="churn", version=version.version)
    sw.deploy("churn-live", model="churn", version=version.version, strategy="canary", weight=10)


def watch(reference: pd.DataFrame) -> None:
    rule = sw.AlertRule("accuracy drop", "realised.accuracy", "<", 0.8)
    reports = sw.monitor("churn-live", window="day", label="churned", rules=[rule])
    for report in reports:
        print(report.window, report.data_drift["drifted_columns"])
    schema = sw.infer_schema(reference)
    result = sw.validate(reference, schema)
    print(result.ok, result.summary())
    drift = sw.detect_drift(reference, reference)
    print(drift.drifted_columns)


@sw.step
def load(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": range(rows)})


@sw.step(retries=2)
def count(frame: pd.DataFrame) -> int:
    return len(frame)


@sw.pipeline
def retrain(rows: int = 100) -> object:
    return count(load(rows))


def run_pipeline() -> None:
    print(retrain.run(rows=10).returned)
