"""What a run ran on: code version, interpreter, packages, platform, command and seeds."""

from __future__ import annotations

import functools
import json
import os
import platform
import random
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "xgboost",
    "lightgbm",
    "torch",
    "shipway",
)
_last_seed: int | None = None


@functools.cache
def git_info(cwd: Path | None = None) -> dict[str, str]:
    """The commit and dirty flag of the git checkout the code runs from, if any."""
    where = str(cwd or Path.cwd())

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=5)

    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {}
        status = git("status", "--porcelain", "--untracked-files=no")
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {
        "shipway.git.commit": commit.stdout.strip(),
        "shipway.git.dirty": str(bool(status.stdout.strip())).lower(),
        "shipway.git.branch": branch.stdout.strip(),
    }


@functools.cache
def installed_packages() -> dict[str, str]:
    """Every installed distribution's version, by its normalised name (PEP 503). Read from
    the ``NAME-VERSION.dist-info`` folder names on ``sys.path``: parsing every METADATA file
    instead costs half a second of each new process's first run."""
    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            name, _, rest = folder.rsplit(".", 1)[0].partition("-")
            version = rest.split("-", 1)[0]  # an egg-info adds -pyX.Y
            if name and version:
                out.setdefault(_normalised(name), version)  # the first on sys.path is imported
    if not out:  # an unusual layout (a zip import): ask importlib
        for dist in metadata.distributions():
            if dist.name:
                out.setdefault(_normalised(dist.name), dist.version)
    return dict(sorted(out.items()))


def _normalised(name: str) -> str:

    return re.sub(r"[-_.]+", "-", name).lower()


def capture() -> tuple[dict[str, str], dict[str, Any]]:
    """Tags to set on the run, and the full environment to store as an artifact.

    The package list and the git state are read once per process: they cost tens of
    milliseconds, and a process that starts thousands of runs should not pay that each time.
    """
    packages = installed_packages()
    tags = {
        "shipway.python": platform.python_version(),
        "shipway.platform": platform.platform(terse=True),
        "shipway.command": " ".join(
            [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
        )[:8000],
        **git_info(Path.cwd()),
    }
    for name in _KEY_PACKAGES:
        if name in packages:
            tags[f"shipway.package.{name}"] = packages[name]
    if _last_seed is not None:
        tags["shipway.seed"] = str(_last_seed)
    full = {
        "python": sys.version,
        "executable_name": Path(sys.executable).name,
        "platform": platform.platform(),
        "packages": packages,
        "tags": tags,
    }
    return tags, full


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy (and torch when present); the seed is recorded on later runs."""
    global _last_seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        from shipway.errors import InvalidArgument

        raise InvalidArgument(f"seed must be a non-negative whole number, got {seed!r}")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses the run starts
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    _last_seed = seed
    return seed


def current_seed() -> int | None:
    return _last_seed


def environment_document(full_env: dict[str, Any]) -> bytes:
    """The environment as the bytes that are stored (and hashed for its key)."""
    return json.dumps(full_env, indent=2, sort_keys=True, default=str).encode()


def environment_key(data: bytes) -> str:
    from shipway.store.artifacts import digest_bytes

    return "environments/" + digest_bytes(data).split(":", 1)[1] + ".json"
