"""Which version answers a request: pure functions of the deployment and the request.

Canary draws at random per request. A/B hashes the sticky key of each row, so one user
always sees the same variant, whichever server answers. Shadow answers from the stable
version and also sends the request to the candidate, whose answer is only logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from shipway.types import Deployment, Strategy


@dataclass(frozen=True)
class Route:
    version: int  # answers
    shadow: int | None = None  # also runs; its answer is logged, never returned


def bucket(key: object) -> float:
    """A stable position in [0, 100) for a sticky key: the same on every server and run."""
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * 100


def route(deployment: Deployment, draw: float) -> Route:
    """The route of a whole request; ``draw`` is uniform in [0, 1) (random per request)."""
    stable = deployment.stable
    assert stable is not None, "a deployment without a stable version serves nothing"
    candidate = deployment.candidate
    if candidate is None:
        return Route(stable)
    if deployment.strategy == Strategy.CANARY:
        return Route(candidate if draw * 100 < deployment.weight else stable)
    if deployment.strategy == Strategy.SHADOW:
        return Route(stable, shadow=candidate)
    return Route(stable)  # direct, blue-green before its switch; A/B is routed per row


def route_rows(deployment: Deployment, keys: list[object]) -> list[int]:
    """For A/B: the version of each row, by the hash of its sticky key."""
    stable, candidate = deployment.stable, deployment.candidate
    assert stable is not None
    if candidate is None or deployment.strategy != Strategy.AB:
        return [stable] * len(keys)
    return [candidate if bucket(k) < deployment.weight else stable for k in keys]
