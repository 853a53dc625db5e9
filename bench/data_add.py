"""`shipway data add` vs `dvc add` of the same large file, each into a fresh, empty store.

Usage: python bench/data_add.py [--quick] [--mib 1024]
Both run as their command-line tools in a subprocess; CPU is the children's user+sys time.
A second run of each on the unchanged file shows the stat-cache path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import RESULTS, console, load, report

BIN = Path(__file__).parent / ".venv" / "bin"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    mib = 64 if args.quick else args.mib
    free_gib = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
    if free_gib < 4 * mib / 1024 + 2:
        mib = max(16, int((free_gib - 2) * 1024 / 4))
        console.print(f"[yellow]only {free_gib:.1f} GiB free: using {mib} MiB[/]")
    console.print(f"load average at start: {load()}")
    root = Path(tempfile.mkdtemp(prefix="bench-data-add-"))
    try:
        data = root / "big.bin"
        with data.open("wb") as out:
            for _ in range(mib):
                out.write(os.urandom(2**20))
        env = {**os.environ, "SHIPWAY_HOME": str(root / "shipway-home"), "DVC_NO_ANALYTICS": "1"}
        ours = [
            timed([str(BIN / "shipway"), "data", "add", str(data), "--name", "big"], root, env)
            for _ in range(2)
        ]
        repo = root / "dvc-repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=repo, check=True, env=env)
        shutil.move(str(data), repo / "big.bin")
        theirs = [timed([str(BIN / "dvc"), "add", "big.bin"], repo, env) for _ in range(2)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    console.print(f"load average at end: {load()}")
    rows = [
        {
            "task": f"add a {mib:,} MiB file, first time (wall)",
            "unit": "s",
            "shipway": ours[0][0],
            "peer": theirs[0][0],
            "target": "≥ 3× faster",
            "met": theirs[0][0] / ours[0][0] >= 3,
        },
        {
            "task": f"add a {mib:,} MiB file, first time (CPU)",
            "unit": "s",
            "shipway": ours[0][1],
            "peer": theirs[0][1],
        },
        {
            "task": "add it again, unchanged (wall)",
            "unit": "s",
            "shipway": ours[1][0],
            "peer": theirs[1][0],
        },
    ]
    report(
        f"shipway data add vs dvc add ({mib:,} MiB of random bytes; fresh stores)", rows, "data_add"
    )
    (RESULTS / "data_add_raw.json").write_text(json.dumps({"shipway": ours, "dvc": theirs}))


if __name__ == "__main__":
    main()
