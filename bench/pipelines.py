"""Pipelines: shipway vs ZenML and Metaflow on the same trivial 3-step and 12-step chains.

Each invocation is a fresh Python process that runs the pipeline once, as a user's
`python train.py` would, so import and start-up count. Per tool: the first run, the same run
again (cached where the tool caches; Metaflow does not) and the cost of one more step, from
the 3-step and 12-step chains. CPU is the process's and its children's (resource.RUSAGE_CHILDREN).

Usage: bench/.venv-pipelines/bin/python bench/pipelines.py [--quick]
(that environment has shipway, ZenML and Metaflow: see bench/README.md).
Targets: a cached 3-step re-run under 0.5 s; one more step under 50 ms of CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import console, load, user_environ
from rich.table import Table

SHIPWAY = """
import shipway as sw

@sw.step
def first(n: int) -> int:
    return n + 1

{steps}

@sw.pipeline
def chain(n: int = 1):
    value = first(n)
{calls}
    return value

if __name__ == "__main__":
    chain.run(n=1)
"""

ZENML = """
from zenml import pipeline, step

@step
def first(n: int) -> int:
    return n + 1

{steps}

@pipeline
def chain(n: int = 1):
    value = first(n)
{calls}

if __name__ == "__main__":
    chain(n=1)
"""

METAFLOW = """
from metaflow import FlowSpec, step

class Chain(FlowSpec):
    @step
    def start(self):
        self.value = 1
        self.next(self.s1)

{steps}

    @step
    def end(self):
        pass

if __name__ == "__main__":
    Chain()
"""


def _sources(steps: int) -> dict[str, str]:
    """The same chain of ``steps`` steps in each tool's form."""
    names = [f"s{i}" for i in range(1, steps)]
    plain = "\n\n".join(
        f"@{{decorator}}\ndef {name}(value: int) -> int:\n    return value + 1" for name in names
    )
    calls = "\n".join(f"    value = {name}(value)" for name in names)
    metaflow_steps = []
    for i in range(1, steps - 1):  # start and end are steps too
        following = f"s{i + 1}" if i < steps - 2 else "end"
        metaflow_steps.append(
            f"    @step\n    def s{i}(self):\n        self.value += 1\n        self.next(self.{following})"
        )
    return {
        "shipway": SHIPWAY.format(steps=plain.format(decorator="sw.step"), calls=calls),
        "zenml": ZENML.format(steps=plain.format(decorator="step"), calls=calls),
        "metaflow": METAFLOW.format(steps="\n\n".join(metaflow_steps)),
    }


def _invoke(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def _tool(tool: str, steps: int, work: Path) -> dict[str, dict[str, float]]:
    folder = work / f"{tool}-{steps}"
    folder.mkdir()
    (folder / "chain.py").write_text(textwrap.dedent(_sources(steps)[tool]))
    env = {
        **user_environ(),  # bytecode cached after the first run, for every tool
        "SHIPWAY_HOME": str(folder / "home"),
        "ZENML_CONFIG_PATH": str(folder / "zenml-config"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_VERBOSITY": "ERROR",
        "METAFLOW_HOME": str(folder / "metaflow-home"),
        "USERNAME": "bench",
    }
    python = sys.executable
    setup = None
    if tool == "zenml":
        setup = _invoke([str(Path(python).parent / "zenml"), "init"], folder, env)
    command = [python, "chain.py"] + (["--quiet", "run"] if tool == "metaflow" else [])
    first = _invoke(command, folder, env)
    again = _invoke(command, folder, env)
    out = {"first": first, "again": again}
    if setup is not None:
        out["init"] = setup
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shipway only")
    args = parser.parse_args()
    tools = ["shipway"] if args.quick else ["shipway", "zenml", "metaflow"]
    console.print(f"load average at start: {load()}")
    work = Path(tempfile.mkdtemp(prefix="bench-pipelines-"))
    results: dict[str, dict[int, dict[str, dict[str, float]]]] = {}
    for tool in tools:
        results[tool] = {}
        for steps in (3, 12):
            with console.status(f"{tool}: {steps} steps"):
                results[tool][steps] = _tool(tool, steps, work)
    console.print(f"load average at end: {load()}")
    table = Table(title="A trivial chain of steps, one fresh process per run (wall s / CPU s)")
    for column in (
        "tool",
        "3 steps, first",
        "3 steps, again",
        "12 steps, first",
        "12 steps, again",
        "+1 step (CPU, first / again)",
    ):
        table.add_column(column)
    for tool, by_steps in results.items():
        three, twelve = by_steps[3], by_steps[12]
        per_step = [(twelve[k]["cpu"] - three[k]["cpu"]) / 9 for k in ("first", "again")]
        table.add_row(
            tool,
            *(
                f"{r['wall']:.2f} / {r['cpu']:.2f}"
                for r in (three["first"], three["again"], twelve["first"], twelve["again"])
            ),
            f"{per_step[0] * 1000:.0f} ms / {per_step[1] * 1000:.0f} ms",
        )
    console.print(table)
    mine = results["shipway"]
    for tool in tools[1:]:
        console.print(
            f"{tool} / shipway, 3 steps again (wall): "
            f"{results[tool][3]['again']['wall'] / mine[3]['again']['wall']:.1f}x"
        )
    cached = mine[3]["again"]["wall"]
    step_cpu = (mine[12]["again"]["cpu"] - mine[3]["again"]["cpu"]) / 9
    console.print(
        f"targets: cached 3-step re-run {cached:.2f} s (< 0.5 s: {'met' if cached < 0.5 else 'NOT met'}); "
        f"one more cached step {step_cpu * 1000:.0f} ms CPU (< 50 ms: {'met' if step_cpu < 0.05 else 'NOT met'})"
    )
    (Path(__file__).parent / "results").mkdir(exist_ok=True)
    (Path(__file__).parent / "results" / "pipelines.json").write_text(
        json.dumps({"results": results, "load_average": load()}, indent=2)
    )


if __name__ == "__main__":
    main()
