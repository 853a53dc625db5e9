"""``shipway init PROJECT``: a small project that works as written, added to what is there.

A file that exists is kept (``force`` overwrites), so running it in a folder with work in it
adds what is missing. The project's data is a sample given with ``--data`` (split into the
training rows and a holdout the gate judges on), or a synthetic one when none is given.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.data.files import read_file, write_file
from shipway.data.schema import infer_schema
from shipway.errors import InvalidArgument
from shipway.project.templates import render

CI_SYSTEMS = ("github", "gitlab")
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class Written:
    path: Path
    written: bool  # False: the file was there already and is kept


@dataclass(frozen=True)
class Project:
    """What the files of a project say about it."""

    name: str
    label: str
    task: str  # classification or regression
    data: str | None  # relative paths, or None when the project has no data yet
    holdout: str | None
    time_column: str | None
    baseline: float  # the score of a model that knows nothing

    @property
    def model(self) -> str:
        return self.name

    @property
    def deployment(self) -> str:
        return f"{self.name}-live"

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "classification" else "r2"


def project_name(folder: Path) -> str:
    """A model name from the folder's name: lower case, letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return name or "model"


def init_project(
    folder: Path,
    *,
    data: Path | None = None,
    label: str | None = None,
    features: bool = False,
    ci: str | None = None,
    notebook: Path | None = None,
    force: bool = False,
) -> list[Written]:
    """Write the project's missing files into ``folder``; returns each file and whether it
    was written or kept."""
    _refuse_bad_options(folder, ci, notebook, data)
    name = project_name(folder)
    notebook_source = None
    if notebook is not None:  # a notebook that cannot be converted writes nothing
        from shipway.project.notebook import pipeline_source

        notebook_source = pipeline_source(notebook, name)
    out: list[Written] = []

    def put(relative: str, content: Any) -> None:
        """Write ``content`` (text, a DataFrame, or a function making either) unless the
        file exists: what is made only to be written is made only when it will be."""
        path = folder / relative
        if path.exists() and not force:
            out.append(Written(path, False))
            return
        _write(path, content() if callable(content) else content)
        out.append(Written(path, True))

    # The data is read and its label checked before any file is made.
    project = _data_files(folder, name, data, label, notebook, put, force)
    _write(folder, None)
    if project.data is not None:
        put("schema.yaml", lambda: _schema_source(folder / project.data))
    put("train.py", notebook_source or _train_source(project, features))
    if features:
        put("features.py", render("features.py", name=project.name))
    put("shipway.toml", _config_source(project, notebook is not None))
    put("tests/test_train.py", render("test_notebook.py" if notebook else "test_train.py"))
    put("requirements.txt", lambda: _requirements_source(folder))
    put(".gitignore", render("gitignore"))
    put("README.md", _readme_source(project, features, ci, notebook))
    if ci == "github":
        put(".github/workflows/shipway.yml", render("github.yml", name=project.name))
    if ci == "gitlab":
        put(".gitlab-ci.yml", render("gitlab.yml"))
    return out


def _write(path: Path, made: Any) -> None:
    """``made`` (text or a DataFrame) at ``path``, its folders made; None: the folder
    ``path`` only. A folder that cannot be made or written is one line."""
    try:
        if made is None:
            path.mkdir(parents=True, exist_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(made, str):
            path.write_text(made, encoding="utf-8")
        else:
            write_file(made, path)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="name a project folder inside one you can write",
        ) from None


def _requirements_source(folder: Path) -> str:
    """shipway pinned; installed from a source checkout, which no index has, a wheel of it
    goes in ``wheels/`` beside the project (commit it: CI installs from there)."""
    from shipway.distribution import WHEELS, requirement, shipway_wheel

    wheels = shipway_wheel(folder / WHEELS)
    return render(
        "requirements.txt",
        where=f", from its wheel in {WHEELS}/ (no index has it)" if wheels else "",
        find_links=f"--find-links {WHEELS}\n" if wheels else "",
        shipway=requirement(),
    )


def _refuse_bad_options(
    folder: Path, ci: str | None, notebook: Path | None, data: Path | None
) -> None:
    if ci is not None and ci not in CI_SYSTEMS:
        raise InvalidArgument(f"--ci is github or gitlab, not {ci!r}")
    if folder.exists() and not folder.is_dir():
        raise InvalidArgument(f"{folder} is a file, not a folder", hint="name a new folder")
    if notebook is not None and not notebook.is_file():
        raise InvalidArgument(f"no notebook at {notebook}")
    if data is not None and not data.is_file():
        raise InvalidArgument(f"no data file at {data}", hint="a .csv or .parquet sample")


def _schema_source(train: Path) -> str:
    """The schema of the training rows as they are on disk (written now or kept)."""

    return infer_schema(read_file(train)).to_yaml()


def _data_files(
    folder: Path,
    name: str,
    data: Path | None,
    label: str | None,
    notebook: Path | None,
    put: Any,
    force: bool,
) -> Project:
    """The training rows and the holdout, from ``data`` or a synthetic sample."""
    if data is None and notebook is not None:
        return Project(name, label or "label", "classification", None, None, None, 0.5)
    if data is None:
        frame = synthetic_sample()
        suffix = ".csv"
    else:
        frame = read_file(data)
        suffix = ".parquet" if data.suffix == ".parquet" else ".csv"
    label = label or "label"
    if label not in frame.columns:
        raise InvalidArgument(
            f"{data.name if data else 'the data'} has no label column {label!r}",
            hint=f"name it with --label; the columns are {', '.join(map(str, frame.columns))}",
        )
    if len(frame) < 10:
        raise InvalidArgument(f"{data} has {len(frame)} rows: a sample needs at least 10")
    import numpy as np

    held = np.random.default_rng(0).random(len(frame)) < HOLDOUT_SHARE
    train, holdout = f"data/train{suffix}", f"data/holdout{suffix}"
    kept = [p for p in (train, holdout) if (folder / p).exists()]
    if kept and not force:
        # One split or none: a new holdout beside kept training rows could share rows with them.
        for relative in kept:
            put(relative, None)  # listed as kept; nothing is written
        if (folder / train).exists():
            frame = read_file(folder / train)
            if label not in frame.columns:
                raise InvalidArgument(f"{train}, which is kept, has no label column {label!r}")
    else:
        put(train, frame[~held].reset_index(drop=True))
        put(holdout, frame[held].reset_index(drop=True))
    task = task_of(frame[label])
    return Project(
        name, label, task, train, holdout, _time_column(frame), _baseline(frame[label], task)
    )


def task_of(labels: Any) -> str:
    """Classification for labels that are few values or not numbers, else regression."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(labels) or not pd.api.types.is_numeric_dtype(labels):
        return "classification"
    if pd.api.types.is_integer_dtype(labels) and labels.nunique() <= 20:
        return "classification"
    return "regression"


def _baseline(labels: Any, task: str) -> float:
    """The score of always answering the commonest class (accuracy), or the mean (r2: 0)."""
    if task == "regression":
        return 0.0
    share = float(labels.value_counts(normalize=True).iloc[0]) if len(labels) else 0.5
    return math.floor(share * 100) / 100


def _time_column(frame: Any) -> str | None:
    """A column of times, for the freshness check: a datetime column, or ISO dates as text."""
    import pandas as pd

    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            return str(column)
        if series.dtype == object and len(series.dropna()):
            head = series.dropna().head(100).astype(str)
            parsed = pd.to_datetime(head, errors="coerce", format="ISO8601")
            if parsed.notna().all() and head.str.contains("-").all():
                return str(column)
    return None


def synthetic_sample(rows: int = 1250, seed: int = 0) -> Any:
    """Customers who churn or stay: a sample to start from when there is no data yet."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    charges = np.round(rng.uniform(20, 120, rows), 2)
    plan = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
    calls = rng.poisson(1.5, rows)
    odds = -1.0 - 0.05 * tenure + 0.02 * charges + 0.45 * calls - 0.6 * (plan == "premium")
    churned = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": charges,
            "plan": plan,
            "support_calls": calls,
            "label": churned,
        }
    )


def _train_source(project: Project, features: bool) -> str:
    classify = project.task == "classification"
    features_import = (
        "\nimport cloudpickle\nfrom sklearn.preprocessing import FunctionTransformer\n\n"
        "import features\n\n"
        "cloudpickle.register_pickle_by_value(features)  # the model carries its feature code\n"
        if features
        else ""
    )
    metrics = (
        '{"accuracy": accuracy_score(test[LABEL], predicted),\n'
        '            "f1": f1_score(test[LABEL], predicted, average="macro")}'
        if classify
        else '{"r2": r2_score(test[LABEL], predicted),\n'
        '            "mae": mean_absolute_error(test[LABEL], predicted)}'
    )
    return render(
        "train.py",
        name=project.name,
        model=project.model,
        data=_quoted(project.data or "data/train.csv"),
        label=_quoted(project.label),
        estimator_module="linear_model",
        estimator="LogisticRegression" if classify else "Ridge",
        estimator_args="max_iter=1000" if classify else "",
        metric_imports="accuracy_score, f1_score" if classify else "mean_absolute_error, r2_score",
        metrics=metrics,
        features_import=features_import,
        features_transformer="FunctionTransformer(features.build)," if features else "",
    )


SMOKE_MARGIN = 0.05  # the smoke run's model learns from few rows: the floor sits below chance


def _quoted(text: str) -> str:
    """``text`` as a string literal that TOML and Python both read back as it was."""
    return json.dumps(text, ensure_ascii=False)


def _config_source(project: Project, from_notebook: bool) -> str:
    floor = max(round(project.baseline - SMOKE_MARGIN, 2), 0.0)
    gate = f"min = {floor:g}, max_drop = 0.02"
    if project.task == "regression":
        gate = "min = 0, max_drop = 0.05"
    lines = [
        'pipeline = "train.py:train"     # smoke-run on `sample` rows in a throwaway store',
        "sample = 200"
        if not from_notebook
        else "sample = 0                      # the notebook's pipeline takes no sample: every row",
    ]
    if project.data is None:
        lines += [
            '# data = "data/train.csv"      # the training data, against its schema',
            '# schema = "schema.yaml"       # shipway data infer data/train.csv --out schema.yaml',
        ]
    else:
        lines += [
            f"data = {_quoted(project.data)}        # the training data, against its schema",
            'schema = "schema.yaml"',
        ]
    lines.append(f"label = {_quoted(project.label)}")
    if project.time_column:
        lines += [
            f"time_column = {_quoted(project.time_column)}   # the newest row's age is reported …",
            "# max_age_days = 7                  # … and, with a limit, a failure past it",
        ]
    lines += [
        f'model = "{project.model}"                # its champion is what a candidate must beat',
        'champion = "production"         # the champion\'s stage or alias',
        (
            f"holdout = {_quoted(project.holdout)}"
            if project.holdout
            else '# holdout = "data/holdout.csv"'
        )
        + "   # rows no model trains on",
        f'gate = {{ metric = "{project.metric}", {gate} }}',
    ]
    if project.task == "classification":
        lines.insert(
            -1,
            f"# Answering the commonest class scores {project.baseline:g}; the smoke run's "
            f"model\n# learns from `sample` rows, so its floor sits {SMOKE_MARGIN:g} below that.",
        )
    classify = project.task == "classification"
    return render(
        "shipway.toml",
        name=project.name,
        check_lines="\n".join(lines),
        deployment=project.deployment,
        label=_quoted(project.label),
        metric=project.metric,
        gate_threshold=gate,
        holdout=project.holdout or "data/holdout.csv",
        alert_name="accuracy drop" if classify else "mae rise",
        alert_metric="estimated.accuracy" if classify else "estimated.mae",
        alert_op="<" if classify else ">",
        alert_threshold=f"{max(project.baseline, 0.5):g}" if classify else "1.0",
    )


def _readme_source(project: Project, features: bool, ci: str | None, notebook: Path | None) -> str:
    rows = []
    if notebook is None:
        what = "a training pipeline, the schema its data must meet, and the checks CI runs"
        rows.append("| `train.py` | the pipeline: load, validate, fit, evaluate, register |")
        run = (
            "shipway pipeline run train.py:train     # train and register a version of "
            + project.model
        )
        next_steps = (
            "```bash\n"
            f'shipway models promote {project.model} 1 --to production --reason "first model"\n'
            f"shipway deploy {project.deployment} --model {project.model} --version 1\n"
            f"shipway serve {project.deployment} --port 8000\n"
            "```\n"
        )
    else:
        what = f"a training pipeline made from `{notebook.name}`, and the checks CI runs"
        rows.append(
            f"| `train.py` | the pipeline, one step per marked cell of `{notebook.name}`; "
            "it returns the model |"
        )
        run = "shipway pipeline run train.py:train     # run the notebook's steps as a pipeline"
        next_steps = (
            "The pipeline returns the model and registers nothing. A loop registers what it\n"
            "returns; to register by hand, log it in a run (`sw.log_model`) and call\n"
            "`sw.register_model`, as the pipeline of `shipway init` without a notebook does.\n"
        )
    if features:
        rows.append("| `features.py` | the features, computed inside the model |")
    if project.data is not None:
        rows.append("| `schema.yaml` | the columns, types and ranges the data must have |")
        rows.append(
            f"| `{project.data}`, `{project.holdout}` | the training rows, and the rows held "
            "out for the gate |"
        )
    rows.append("| `shipway.toml` | what `shipway check` checks; monitoring, alerts, the loop |")
    rows.append("| `tests/` | tests of the pipeline (`pytest`) |")
    rows.append(
        "| `requirements.txt` | what the project installs, shipway pinned to the version "
        "that made it (from `wheels/` when that shipway came from a source checkout: "
        "commit the folder, CI installs from it) |"
    )
    rows.append(
        {
            "github": "| `.github/workflows/shipway.yml` | CI: the tests, then `shipway check` |",
            "gitlab": "| `.gitlab-ci.yml` | CI: the tests, then `shipway check` |",
        }.get(ci or "", "")
    )
    return render(
        "README.md",
        name=project.name,
        what=what,
        rows="\n".join(r for r in rows if r) + "\n",
        run=run,
        next=next_steps,
    )
