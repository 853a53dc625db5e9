"""`shipway init` writes a project that `shipway check` passes, and check finds what breaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from junitparser import JUnitXml

from shipway.data.files import read_file
from shipway.demo.data import FEATURES, LABEL, load_flights


def _edit_check(project: Path, old: str, new: str) -> None:
    config = project / "shipway.toml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


@pytest.fixture
def project(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli("init", "churn", "--ci", "github")
    folder = tmp_path / "churn"
    monkeypatch.chdir(folder)
    return folder


def test_the_template_passes_its_checks_and_reports_them(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    out = cli("check", "--junit", "reports/check.xml", "--summary", "reports/check.md")
    assert "passed" in out and "failed" not in out
    xml = JUnitXml.fromfile(str(project / "reports/check.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {"data", "smoke", "gate", "serving"}
    assert all(case.is_passed for case in cases.values())
    summary = (project / "reports/check.md").read_text()
    assert summary.startswith("## shipway check: passed")
    assert "| gate | ✅ passed | accuracy" in summary


def test_broken_data_fails_the_check_with_the_column_named(cli: Any, project: Path) -> None:
    frame = read_file(project / "data/train.csv")
    frame.loc[3, "monthly_charges"] = -5.0
    frame.to_csv(project / "data/train.csv", index=False)
    out = cli("check", "--junit", "check.xml", "--summary", "check.md", code=1)
    assert "data: column 'monthly_charges': values below the minimum" in out
    xml = JUnitXml.fromfile(str(project / "check.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    assert not cases["data"].is_passed and cases["smoke"].is_passed
    assert "monthly_charges" in cases["data"].result[0].message
    assert "### Failures" in (project / "check.md").read_text()


def test_a_pipeline_that_fails_on_the_sample_fails_the_smoke_run(cli: Any, project: Path) -> None:
    frame = read_file(project / "data/train.csv")
    frame["plan"] = "gold"  # every row: the sample is sure to hold it
    frame.to_csv(project / "data/train.csv", index=False)
    out = cli("check", code=1)
    smoke = [line for line in out.splitlines() if line.startswith("smoke:")]
    assert len(smoke) == 1 and "step 'validate' failed" in smoke[0] and "plan" in smoke[0]


def _row_counts(database: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(database) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_the_gate_judges_against_the_champion_of_the_store(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    cli("pipeline", "run", "train.py:train")
    cli("models", "promote", "churn", "1", "--to", "production", "--reason", "first")
    _edit_check(project, "max_drop = 0.02", "min_gain = 0.5")
    out = cli("check", code=1)
    assert "gate: accuracy" in out and "gains less than 0.5 over the champion's" in out
    # the champion itself, judged with --model, and nothing written to the store by the check
    before = _row_counts(tmp_path / "home" / "shipway.db")
    _edit_check(project, "min_gain = 0.5", "max_drop = 0.0")
    cli("check", "--model", "models:/churn/1")
    cli("check")
    assert _row_counts(tmp_path / "home" / "shipway.db") == before


def test_stale_data_fails_on_freshness(cli: Any, project: Path) -> None:
    frame = read_file(project / "data/train.csv")
    frame["event_time"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(frame.index, "h")
    frame.to_csv(project / "data/train.csv", index=False)
    _edit_check(project, 'schema = "schema.yaml"', 'time_column = "event_time"\nmax_age_days = 30')
    out = cli("check", "--sample", "50", code=1)
    assert "data: column 'event_time': the newest row is from 2020-02-11" in out
    assert "[check] allows 30" in out


def test_a_model_that_refuses_its_input_fails_serving(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    import shipway as sw

    sw.configure(home=tmp_path / "home")
    frame = read_file(project / "data/train.csv")
    with sw.start_run(experiment="odd") as run:  # trained on two columns; example has four
        model = LogisticRegression().fit(frame[["tenure_months", "support_calls"]], frame["label"])
        sw.log_model(model, "model", input_example=frame.drop(columns=["label"]).head(3))
        sw.log_model(model, "bare")  # no example, no signature
    out = cli("check", "--model", f"runs:/{run.run_id}/model", code=1)
    assert "serving: the model refuses its input example: The feature names should match" in out
    assert "gate: the models cannot score data/holdout.csv" in out
    out = cli("check", "--model", f"runs:/{run.run_id}/bare", code=1)
    assert f"serving: runs:/{run.run_id}/bare has no signature" in out


def test_requirements_that_no_index_offers_do_not_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shipway.project import requirements

    problems = requirements.unresolved(["shipway-no-such-package-anywhere==1.0"])
    assert len(problems) == 1 and "do not resolve" in problems[0]
    assert "No matching distribution" in problems[0]
    # pip that cannot run is not a verdict on the pins
    monkeypatch.setattr(requirements.sys, "executable", "/bin/false")
    (problem,) = requirements.unresolved(["shipway-no-such-package-anywhere==1.0"])
    assert problem.startswith("cannot check the pinned requirements")


def test_check_without_a_check_section_says_what_to_add(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text('home = ".shipway"\n')
    out = cli("check", code=2)
    assert "nothing to check" in out and "[check]" in out and "Traceback" not in out


def test_the_github_workflow_is_valid_and_runs_the_check(project: Path) -> None:
    workflow = project / ".github/workflows/shipway.yml"
    document = yaml.safe_load(workflow.read_text())
    assert set(document["jobs"]) == {"test", "check"}
    steps = [s.get("run", "") for s in document["jobs"]["check"]["steps"]]
    assert any(s.startswith("shipway check --junit") for s in steps)
    schema = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_the_gitlab_pipeline_reports_junit(cli: Any, tmp_path: Path) -> None:
    cli("init", "lab", "--ci", "gitlab")
    document = yaml.safe_load((tmp_path / "lab/.gitlab-ci.yml").read_text())
    assert document["stages"] == ["test", "check"]
    assert document["check"]["artifacts"]["reports"]["junit"] == "reports/check.xml"
    assert "shipway check" in document["check"]["script"][0]


def test_init_from_a_sample_infers_its_schema_and_holds_out_rows(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flights = load_flights([1]).sample(2000, random_state=0)
    flights = flights[[*FEATURES, LABEL]]
    flights = flights.rename(columns={LABEL: "late"}).reset_index(drop=True)
    flights.to_parquet(tmp_path / "sample.parquet")
    out = cli("init", "late", "--data", "sample.parquet", code=2)
    assert "no label column 'label'" in out and "carrier" in out
    assert not (tmp_path / "late").exists()  # a refused init leaves nothing behind
    cli("init", "late", "--data", "sample.parquet", "--label", "late", "--features")
    project = tmp_path / "late"
    train, holdout = (
        read_file(project / "data/train.parquet"),
        read_file(project / "data/holdout.parquet"),
    )
    assert len(train) + len(holdout) == len(flights) and 0.1 < len(holdout) / len(flights) < 0.3
    schema = yaml.safe_load((project / "schema.yaml").read_text())
    carrier = next(c for c in schema["columns"] if c["name"] == "carrier")
    assert set(carrier["allowed"]) == set(flights["carrier"].unique())
    config = (project / "shipway.toml").read_text()
    assert 'label = "late"' in config and 'data = "data/train.parquet"' in config
    assert (project / "features.py").is_file()
    monkeypatch.chdir(project)
    cli("check", "--sample", "400", "--json")  # the project from the sample passes too


def test_notebook_cells_become_steps(cli: Any, tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from shipway.project.scaffold import synthetic_sample

    folder = tmp_path / "nb"
    folder.mkdir()
    synthetic_sample(300).to_csv(folder / "customers.csv", index=False)
    cells = [
        new_markdown_cell("# Churn"),
        new_code_cell("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression"),
        new_code_cell("# step: load\ncustomers = pd.read_csv('customers.csv')\n%time 1"),
        new_code_cell(
            "# step: features\nX = customers.drop(columns=['label', 'plan'])\ny = customers.label"
        ),
        new_code_cell("def fit(X, y):\n    return LogisticRegression(max_iter=500).fit(X, y)"),
        new_code_cell("model = None  # still the features step"),
        new_code_cell("", metadata={"tags": ["step:train"]}),
        new_code_cell("model = fit(X, y)\nprint(model.score(X, y))"),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "churn.ipynb")
    before = (folder / "churn.ipynb").read_bytes()
    cli("init", "nb", "--from-notebook", "nb/churn.ipynb")
    assert (folder / "churn.ipynb").read_bytes() == before
    source = (folder / "train.py").read_text()
    assert "def load()" in source and "def features(state" in source
    assert "def train_step(state" in source and "# (IPython, not run) %time 1" in source
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", "pipeline", "run", "train.py:train", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "SHIPWAY_HOME": str(tmp_path / "nbhome")},
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout[done.stdout.index("{") :]  # after what the notebook's code prints
    assert set(json.loads(printed)["steps"]) == {"load", "features", "train_step"}


def test_an_unmarked_notebook_is_one_step_and_a_broken_cell_is_named(
    cli: Any, tmp_path: Path
) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from shipway.project.notebook import read_code_cells, split_steps

    plain = tmp_path / "plain.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("y = x + 1")]), plain)
    _, _, steps = split_steps(read_code_cells(plain))
    assert [s.name for s in steps] == ["notebook"] and steps[0].cells == [1, 2]
    broken = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("def (")]), broken)
    out = cli("init", "b", "--from-notebook", "broken.ipynb", code=2)
    assert "cell 2 of the notebook is not valid Python" in out
    assert not (tmp_path / "b").exists()  # refused before a file was made


def test_a_stored_dataset_is_as_fresh_as_its_version(cli: Any, project: Path) -> None:
    cli("data", "add", "data/train.csv", "--name", "customers")
    _edit_check(project, 'data = "data/train.csv"', 'data = "customers"\nmax_age_days = 30')
    out = cli("check", "--sample", "50", "--json")
    data = next(c for c in json.loads(out)["checks"] if c["name"] == "data")
    assert data["status"] == "passed" and "stored 0.0 days ago" in data["summary"]
    _edit_check(project, "max_age_days = 30", "max_age_days = 0")
    assert "data: customers@1 was stored 0.0 days ago; [check] allows 0" in cli("check", code=1)
    _edit_check(project, 'data = "customers"', 'data = "data/train.csv"')
    assert "max_age_days needs a time_column" in cli("check", code=1)


def test_check_creates_no_store_where_there_is_none(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    import shutil

    shutil.rmtree(tmp_path / "home")  # what `shipway init` created: a fresh CI checkout has none
    out = cli("check", "--json")
    gate = next(c for c in json.loads(out)["checks"] if c["name"] == "gate")
    assert gate["status"] == "passed" and "only value thresholds apply" in gate["notes"][0]
    assert not (tmp_path / "home").exists()
    _edit_check(project, 'data = "data/train.csv"', 'data = "customers"')
    assert "data: cannot read customers: there is no store at" in cli("check", code=1)
    assert not (tmp_path / "home").exists()


NOTEBOOK_FLOW = [
    "from __future__ import annotations\nimport pandas as pd\nfrom sklearn import preprocessing",
    "from sklearn.ensemble import RandomForestClassifier",
    "# step: state\nSEED = 3\ndf = pd.read_csv('c.csv')\ntotal = 0\n"
    "cols = [c for c in df.columns if c not in ('label', 'plan')]\ntmp = 1\ndel tmp\n"
    "display(df.shape)",
    "# step: preprocessing\nfor c in cols:\n    total += 1\n"
    "mask = (\n    df['tenure_months']\n    != 0\n)\nX, y = df[cols], df.label\n"
    "if total:\n    !echo hi",
    "def make(seed=SEED):\n    return RandomForestClassifier(n_estimators=5, random_state=seed)",
    "# step: train\nrf = make().fit(X, y)",
    "%%bash\necho not run",
    '# step: report\ntext = """\n%not a magic\n"""\nprint(text.strip(), total, int(mask.sum()))',
]


def test_a_notebook_keeps_its_meaning_as_a_pipeline(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`total += 1` reads total, a comprehension's variable is its own, `del` passes nothing
    on, a function that reads a cell's variable stays where it can see it, `!=` is not a
    shell escape, a string is not code, and the model of an earlier step is returned."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from shipway.project.scaffold import synthetic_sample

    folder = tmp_path / "flow"
    folder.mkdir()
    synthetic_sample(120).to_csv(folder / "c.csv", index=False)
    nbformat.write(
        new_notebook(cells=[new_code_cell(c) for c in NOTEBOOK_FLOW]), folder / "n.ipynb"
    )
    cli("init", "flow", "--from-notebook", "flow/n.ipynb")
    source = (folder / "train.py").read_text()
    assert "def state_step()" in source and "def preprocessing_step(state" in source
    assert "!= 0" in source and "%not a magic" in source and "pass  # (IPython" in source
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", "pipeline", "run", "train.py:train"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "SHIPWAY_HOME": str(tmp_path / "flowhome")},
    )
    assert done.returncode == 0, done.stderr
    assert "%not a magic 3 120" in done.stdout  # three columns counted, every row kept
    monkeypatch.chdir(folder)
    out = cli("check", "--json")  # no data in [check]: serving cannot be tried, and says so
    report, _ = json.JSONDecoder().raw_decode(out)  # stdout; what the notebook prints follows
    serving = next(c for c in report["checks"] if c["name"] == "serving")
    assert serving["status"] == "skipped" and "set data in [check]" in serving["summary"]
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_check_never_migrates_a_store_of_another_schema(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    import sqlite3

    database = tmp_path / "home" / "shipway.db"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0012_older'")
    out = cli("check", code=1)
    assert "gate: the store sqlite:///" in out and "is at schema revision 0012_older" in out
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            "0012_older"
        )


def test_a_numeric_label_makes_a_regression_project(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"size": rng.uniform(20, 200, 600), "rooms": rng.integers(1, 6, 600)})
    frame["price"] = 3.0 * frame["size"] + 20 * frame["rooms"] + rng.normal(0, 10, 600)
    frame["sold_at"] = 1_700_000_000 + np.arange(600) * 60  # epoch seconds, November 2023
    frame.to_csv(tmp_path / "homes.csv", index=False)
    cli("init", "homes", "--data", "homes.csv", "--label", "price")
    project = tmp_path / "homes"
    assert "Ridge" in (project / "train.py").read_text()
    assert 'metric = "r2"' in (project / "shipway.toml").read_text()
    monkeypatch.chdir(project)
    _edit_check(
        project, 'schema = "schema.yaml"', 'schema = "schema.yaml"\ntime_column = "sold_at"'
    )
    report, _ = json.JSONDecoder().raw_decode(cli("check", "--json"))
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["gate"]["summary"].startswith("r2 0.9")
    assert ", newest sold_at " in checks["data"]["summary"]  # epoch seconds read as times
    _edit_check(project, 'time_column = "sold_at"', 'time_column = "sold_at"\nmax_age_days = 30')
    assert "data: column 'sold_at': the newest row is from 2023-11-15" in cli("check", code=1)


def test_junit_holds_no_character_xml_cannot_carry() -> None:
    import xml.etree.ElementTree as ET

    from shipway.project.check import CheckReport, Outcome
    from shipway.project.check_report import junit_xml

    broken = Outcome("smoke")
    broken.fail("\x1b[31mstep failed\x1b[0m on \x00 bytes")
    parsed = ET.fromstring(junit_xml(CheckReport([broken, Outcome("gate")])).split("\n", 1)[1])
    failure = parsed.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "step failed on  bytes"


def test_the_workflow_init_writes_counts_as_data_validated_in_ci(cli: Any, project: Path) -> None:
    report = json.loads(cli("maturity", "--json"))
    ci = next(c for c in report["capabilities"] if c["name"] == "data validated in CI")
    assert ci["holds"] and "shipway.yml" in ci["evidence"]
