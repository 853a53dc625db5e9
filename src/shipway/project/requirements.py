"""Whether a model's pinned requirements resolve: what ``shipway package`` would install.

Pins this environment satisfies exactly resolve by construction. The others are handed to
pip's resolver (``pip install --dry-run``, nothing installed), which reads the configured
index: a pin that no index offers, or that conflicts with another, is found in CI rather
than when the image is built.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

PIP_SECONDS = 300
# What pip says when the index answered and the pins cannot be met.
_UNRESOLVABLE = ("No matching distribution", "ResolutionImpossible", "conflicting dependencies")


def unresolved(pins: list[str]) -> list[str]:
    """One line per problem with ``pins`` (``package==version``); empty when they resolve."""
    missing = []
    for pin in pins:
        package, equals, version = pin.partition("==")
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = None
        if not equals or installed != version:
            missing.append(pin)
    if not missing:
        return []
    return _pip_resolves(missing)


def _pip_resolves(pins: list[str]) -> list[str]:
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", *pins]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_SECONDS)
    except subprocess.TimeoutExpired:
        return [f"pip did not resolve {', '.join(pins)} within {PIP_SECONDS} s"]
    except OSError as exc:
        return [f"cannot run pip to resolve {', '.join(pins)}: {exc}"]
    if done.returncode == 0:
        return []
    errors = [line.strip() for line in done.stderr.splitlines() if "ERROR" in line]
    why = errors[-1] if errors else (done.stderr.strip().splitlines() or ["pip failed"])[-1]
    if any(sign in done.stderr for sign in _UNRESOLVABLE):
        return [f"the pinned requirements {', '.join(pins)} do not resolve: {why}"]
    # No pip, no index, an old pip without --dry-run: the pins were not judged at all.
    return [f"cannot check the pinned requirements {', '.join(pins)}: {why}"]
