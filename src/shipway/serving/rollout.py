"""Rollout decisions: how a deployment changes on deploy, promote and rollback.

Pure functions from the stored record (None when there is none yet) to the new one, so they
can be tested exhaustively and run inside the store's write transaction.
"""

from __future__ import annotations

import dataclasses

from shipway.errors import InvalidArgument
from shipway.types import Deployment, Strategy


def strategy_of(value: str | Strategy) -> Strategy:
    try:
        return Strategy(str(value).lower().replace("_", "-"))
    except ValueError as exc:
        raise InvalidArgument(
            f"unknown strategy {value!r}",
            hint=f"use one of: {', '.join(s.value for s in Strategy)}",
        ) from exc


def check_sticky_key(strategy: Strategy, sticky_key: str | None) -> None:
    """An A/B test routes each user by a key of theirs: it cannot do without one."""
    if strategy == Strategy.AB and not sticky_key:
        raise InvalidArgument(
            "an A/B deployment needs --sticky-key", hint="name the input field, e.g. customer_id"
        )


def deploy(
    current: Deployment | None,
    *,
    name: str,
    model: str,
    version: int,
    strategy: Strategy,
    weight: float | None = None,
    sticky_key: str | None = None,
    follow: str | None = None,
) -> Deployment:
    """Put ``version`` into the deployment: as its only version, or as the candidate."""
    if current is not None and current.model != model:
        raise InvalidArgument(
            f"deployment {name!r} serves model {current.model!r}, not {model!r}",
            hint="use another deployment name for another model",
        )
    share = _weight(strategy, weight)
    check_sticky_key(strategy, sticky_key)
    if current is None or current.stable is None or strategy == Strategy.DIRECT:
        if strategy not in (Strategy.DIRECT, Strategy.BLUE_GREEN) and current is None:
            raise InvalidArgument(
                f"deployment {name!r} has no stable version to compare a {strategy.value} with",
                hint="deploy a first version with --strategy direct",
            )
        if current is None:
            return Deployment(name, model, version, follow=follow)
        previous = current.stable if current.stable != version else current.previous
        return dataclasses.replace(
            current,
            stable=version,
            strategy=Strategy.DIRECT,
            candidate=None,
            weight=0.0,
            sticky_key=None,
            follow=follow,
            previous=previous,
        )
    if version == current.stable:
        raise InvalidArgument(
            f"version {version} is already the stable version of {name!r}",
            hint="deploy another version as the candidate",
        )
    return dataclasses.replace(
        current,
        strategy=strategy,
        candidate=version,
        weight=share,
        sticky_key=sticky_key if strategy == Strategy.AB else None,
    )


def set_weight(current: Deployment | None, weight: float) -> Deployment:
    """Move a canary's or an A/B test's share of traffic."""
    found = _require(current)
    if found.candidate is None or found.strategy not in (Strategy.CANARY, Strategy.AB):
        raise InvalidArgument(f"deployment {found.name!r} has no canary or A/B candidate to weigh")
    return dataclasses.replace(found, weight=_weight(found.strategy, weight))


def batching(current: Deployment | None, max_batch: int, max_wait_ms: float) -> Deployment:
    """Turn micro-batching on (``max_batch`` > 1) or off (0 or 1) for a deployment."""
    found = _require(current)
    if not 0 <= max_batch <= 10_000:
        raise InvalidArgument(f"--max-batch is between 0 (off) and 10,000 rows; got {max_batch}")
    if not 0 < max_wait_ms <= 1000:
        raise InvalidArgument(f"--max-wait-ms is between 0 and 1,000; got {max_wait_ms}")
    return dataclasses.replace(
        found, max_batch=0 if max_batch <= 1 else max_batch, max_wait_ms=float(max_wait_ms)
    )


def promote(current: Deployment | None) -> Deployment:
    """The candidate becomes the stable version and takes all the traffic."""
    found = _require(current)
    if found.candidate is None:
        raise InvalidArgument(
            f"deployment {found.name!r} has no candidate to promote",
            hint="deploy one with --strategy canary, shadow, ab or blue-green",
        )
    return dataclasses.replace(
        found,
        stable=found.candidate,
        previous=found.stable,
        candidate=None,
        strategy=Strategy.DIRECT,
        weight=0.0,
        sticky_key=None,
    )


def rollback(current: Deployment | None) -> Deployment:
    """Drop the candidate; with none, return to the stable version before the last promotion."""
    found = _require(current)
    if found.candidate is not None:
        return dataclasses.replace(
            found, candidate=None, strategy=Strategy.DIRECT, weight=0.0, sticky_key=None
        )
    if found.previous is None:
        raise InvalidArgument(
            f"deployment {found.name!r} has no earlier version to roll back to",
            hint="deploy the version you want with --strategy direct",
        )
    return dataclasses.replace(found, stable=found.previous, previous=found.stable, follow=None)


def follow_stage(
    current: Deployment | None, *, name: str, model: str, version: int, follow: str
) -> Deployment:
    """A deployment whose stable version follows a stage or alias (``serve models:/m@production``)."""
    if current is not None and current.stable == version and current.follow == follow:
        return current
    if current is not None and current.model != model:
        raise InvalidArgument(f"deployment {name!r} serves model {current.model!r}, not {model!r}")
    previous = current.stable if current is not None and current.stable != version else None
    base = current or Deployment(name, model, version)
    return dataclasses.replace(base, stable=version, follow=follow, previous=previous)


def _weight(strategy: Strategy, weight: float | None) -> float:
    if strategy not in (Strategy.CANARY, Strategy.AB):
        return 0.0
    if weight is None:
        raise InvalidArgument(f"a {strategy.value} deployment needs --weight (percent of traffic)")
    if not 0 < weight < 100:
        raise InvalidArgument(
            f"--weight is the candidate's percent of traffic, between 0 and 100; got {weight}"
        )
    return float(weight)


def _require(current: Deployment | None) -> Deployment:
    if current is None:
        raise InvalidArgument("no such deployment", hint="see `shipway deploy list`")
    return current
