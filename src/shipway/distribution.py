"""How this shipway was installed, and a wheel of it for what is made from it.

A packaged model and a project made by ``shipway init`` install shipway themselves. From
an index, the pinned requirement finds it; installed from a source checkout (no index has
it under this name), a wheel of it is built beside them and the requirements point there.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from shipway import __version__
from shipway.errors import ShipwayError

WHEELS = "wheels"  # the folder beside a project or package that holds the wheel


def requirement() -> str:
    """This shipway, pinned."""

    return f"shipway=={__version__}"


def source_checkout() -> str | None:
    """The folder this shipway was installed from (``pip install PATH`` or ``-e PATH``),
    or None when it came from an index."""
    try:
        direct = metadata.distribution("shipway").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    url = json.loads(direct).get("url", "") if direct else ""
    return url.removeprefix("file://") if url.startswith("file://") else None


def shipway_wheel(folder: Path) -> Path | None:
    """A wheel of this shipway in ``folder`` when it was installed from a source checkout
    (returns the folder), else None: the requirement alone finds it then."""
    source = source_checkout()
    if source is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    built = _built(source)
    shutil.copy2(built, folder / built.name)
    return folder


@functools.cache
def _built(source: str) -> Path:
    """The wheel of ``source``, built once a process (a few seconds: pip builds it)."""

    folder = Path(tempfile.mkdtemp(prefix="shipway-wheel-"))
    atexit.register(shutil.rmtree, folder, True)
    # pip builds in the checkout (build/, *.egg-info): one build at a time per checkout
    key = hashlib.sha256(source.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"shipway-wheel-{key}.lock", "w") as lock:
        _exclusive(lock)
        built = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                "-w",
                str(folder),
                source,
            ],
            capture_output=True,
            text=True,
        )
    found = list(folder.glob(f"shipway-{__version__}-*.whl"))
    if built.returncode != 0 or not found:
        shutil.rmtree(folder, ignore_errors=True)
        raise ShipwayError(
            f"could not build a wheel of shipway from {source}: {built.stderr[-500:]}"
        )
    return found[0]


def _exclusive(lock: Any) -> None:
    """Hold ``lock`` (an open file) exclusively until it is closed; where there is no
    ``fcntl`` (Windows), builds are not serialised."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(lock, fcntl.LOCK_EX)
