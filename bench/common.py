"""Helpers shared by the benchmarks: timing, load average, result tables."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
console = Console()


def user_environ() -> dict[str, str]:
    """This process's environment as a user's machine has it: a fresh process of any tool
    reads cached bytecode (an installed package's is written at install, an editable
    checkout's on its first run), whatever this machine's PYTHONDONTWRITEBYTECODE says."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cpu_and_wall(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """CPU seconds of this process (all threads) and wall seconds spent in ``fn``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def repeat(fn: Callable[[], Any], times: int = 5) -> tuple[float, float, Any]:
    """Best and median CPU seconds over ``times`` calls, and the last result."""
    timings, result = [], None
    for _ in range(times):
        cpu, _, result = cpu_and_wall(fn)
        timings.append(cpu)
    return min(timings), statistics.median(timings), result


def in_subprocess(code: str, times: int = 5) -> float:
    """Best of ``times``: the float a fresh interpreter prints after running ``code``."""
    values = []
    for _ in range(times):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        values.append(float(out.strip().splitlines()[-1]))
    return min(values)


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def report(title: str, rows: list[dict[str, Any]], name: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("task", "shipway", "peer", "peer / shipway", "target", "met"):
        table.add_column(column, justify="left" if column in ("task", "target") else "right")
    for row in rows:
        ratio = row["peer"] / row["shipway"] if row.get("peer") and row["shipway"] else None
        table.add_row(
            row["task"],
            f"{row['shipway']:.4g} {row['unit']}",
            f"{row['peer']:.4g} {row['unit']}" if row.get("peer") is not None else "-",
            f"{ratio:.1f}×" if ratio else "-",
            row.get("target", ""),
            {True: "yes", False: "NO", None: ""}[row.get("met")],
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"load_average": load(), "rows": rows}, indent=2)
    )


def wait_until_up(
    name: str, process: subprocess.Popen, url: str, *, seconds: float, poll: float
) -> None:  # type: ignore[type-arg]
    """Poll ``url`` until it answers 200; the deadline only bounds a broken start."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            err = process.stderr.read().decode()[-2000:] if process.stderr else ""
            raise RuntimeError(f"{name} did not start: {err}")
        time.sleep(poll)
