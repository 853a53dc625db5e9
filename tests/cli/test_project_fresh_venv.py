"""A project from `shipway init`, checked in a virtual environment that has nothing else:
what its requirements.txt installs is all `shipway check` and its tests get."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pandas as pd

import shipway

REPO = Path(shipway.__file__).parents[2]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_init_then_check_passes_in_a_fresh_venv_and_fails_on_broken_data(tmp_path: Path) -> None:
    assert (REPO / "pyproject.toml").is_file(), "the tests run from a checkout of shipway"
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPWAY_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    installed = _run([str(bin_dir / "pip"), "install", "--quiet", str(REPO)], tmp_path, env)
    assert installed.returncode == 0, installed.stderr[-3000:]

    made = _run([str(bin_dir / "shipway"), "init", "churn", "--ci", "github"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "churn"
    pinned = (project / "requirements.txt").read_text()
    assert f"shipway=={shipway.__version__}" in pinned and "--find-links wheels" in pinned
    assert list((project / "wheels").glob(f"shipway-{shipway.__version__}-*.whl"))

    # The project installs as its README and workflow say, in an environment that has
    # never seen this checkout: shipway from the wheel beside it, the rest from the index.
    workflow = (project / ".github/workflows/shipway.yml").read_text()
    assert "- run: pip install -r requirements.txt" in workflow
    clean_dir = tmp_path / "clean-venv"
    venv.create(clean_dir, with_pip=True)
    bin_dir = clean_dir / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    requirements = _run(
        [str(bin_dir / "pip"), "install", "--quiet", "-r", "requirements.txt"], project, env
    )
    assert requirements.returncode == 0, requirements.stderr[-3000:]
    version = _run([str(bin_dir / "shipway"), "--version"], project, env)
    assert version.stdout.strip() == f"shipway {shipway.__version__}", version.stderr

    checked = _run([str(bin_dir / "shipway"), "check", "--junit", "check.xml"], project, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (project / "check.xml").is_file()
    tested = _run([str(bin_dir / "python"), "-m", "pytest", "-q"], project, env)
    assert tested.returncode == 0, tested.stdout + tested.stderr

    frame = pd.read_csv(project / "data/train.csv")
    frame = frame.drop(columns=["support_calls"])  # a column the schema expects is gone
    frame.to_csv(project / "data/train.csv", index=False)
    broken = _run([str(bin_dir / "shipway"), "check"], project, env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    failures = [line for line in broken.stderr.splitlines() if line.startswith("data:")]
    assert failures and "support_calls" in failures[0], broken.stderr
    assert "Traceback" not in broken.stderr
