"""Rollout decisions and routing: pure functions, tested without any I/O."""

from __future__ import annotations

import pytest

from shipway.errors import InvalidArgument
from shipway.serving import rollout, routing
from shipway.types import Deployment, Strategy


def _deploy(
    current: Deployment | None, version: int, strategy: str = "direct", **kw: object
) -> Deployment:
    return rollout.deploy(
        current,
        name="live",
        model="churn",
        version=version,
        strategy=rollout.strategy_of(strategy),
        **kw,
    )  # type: ignore[arg-type]


def test_first_deploy_then_candidates_then_promote_and_rollback() -> None:
    first = _deploy(None, 1)
    assert (first.stable, first.candidate, first.strategy) == (1, None, Strategy.DIRECT)
    canary = _deploy(first, 2, "canary", weight=5)
    assert (canary.stable, canary.candidate, canary.weight) == (1, 2, 5.0)
    promoted = rollout.promote(canary)
    assert (promoted.stable, promoted.candidate, promoted.previous) == (2, None, 1)
    assert rollout.rollback(promoted).stable == 1, "no candidate: back to the previous version"
    aborted = rollout.rollback(_deploy(promoted, 3, "shadow"))
    assert (aborted.stable, aborted.candidate, aborted.strategy) == (2, None, Strategy.DIRECT)
    direct = _deploy(promoted, 3)
    assert (direct.stable, direct.previous) == (3, 2)
    assert rollout.set_weight(_deploy(first, 2, "ab", weight=50, sticky_key="id"), 20).weight == 20


@pytest.mark.parametrize(
    ("strategy", "kwargs", "message"),
    [
        ("canary", {}, "needs --weight"),
        ("canary", {"weight": 0}, "between 0 and 100"),
        ("canary", {"weight": 100}, "between 0 and 100"),
        ("ab", {"weight": 50}, "needs --sticky-key"),
        ("rainbow", {}, "unknown strategy"),
    ],
)
def test_bad_rollouts_say_what_to_fix(
    strategy: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        _deploy(_deploy(None, 1), 2, strategy, **kwargs)


def test_refusals() -> None:
    first = _deploy(None, 1)
    with pytest.raises(InvalidArgument, match="no stable version"):
        _deploy(None, 1, "canary", weight=5)
    with pytest.raises(InvalidArgument, match="already the stable version"):
        _deploy(first, 1, "canary", weight=5)
    with pytest.raises(InvalidArgument, match="serves model 'churn'"):
        rollout.deploy(first, name="live", model="other", version=1, strategy=Strategy.DIRECT)
    with pytest.raises(InvalidArgument, match="no candidate to promote"):
        rollout.promote(first)
    with pytest.raises(InvalidArgument, match="no earlier version"):
        rollout.rollback(first)
    with pytest.raises(InvalidArgument, match="no canary or A/B candidate"):
        rollout.set_weight(first, 10)


def test_canary_sends_exactly_its_share() -> None:
    d = _deploy(_deploy(None, 1), 2, "canary", weight=10)
    versions = [routing.route(d, i / 1000).version for i in range(1000)]
    assert versions.count(2) == 100 and versions.count(1) == 900


def test_shadow_answers_from_stable_and_shadows_the_candidate() -> None:
    d = _deploy(_deploy(None, 1), 2, "shadow")
    assert {routing.route(d, i / 10) for i in range(10)} == {routing.Route(1, shadow=2)}


def test_blue_green_serves_blue_until_the_switch() -> None:
    d = _deploy(_deploy(None, 1), 2, "blue-green")
    assert {routing.route(d, i / 10).version for i in range(10)} == {1}
    assert routing.route(rollout.promote(d), 0.5).version == 2


def test_ab_is_sticky_and_near_its_weight() -> None:
    d = _deploy(_deploy(None, 1), 2, "ab", weight=30, sticky_key="customer_id")
    keys = list(range(5000))
    first = routing.route_rows(d, keys)
    assert routing.route_rows(d, keys) == first, "the same key always gets the same variant"
    assert 0.27 < first.count(2) / len(keys) < 0.33
    assert routing.route_rows(d, ["7", 7]) == [routing.route_rows(d, ["7"])[0]] * 2
