"""Leases: one holder at a time, handed on when it lapses or is released; on SQLite and, when
configured, PostgreSQL, with two processes' worth of stores racing for it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import METADATA_BACKENDS, make_settings


@pytest.fixture(params=METADATA_BACKENDS)
def two_stores(request: Any, tmp_path: Path) -> Any:
    from shipway.store import open_stores

    settings = make_settings(tmp_path, request.param, "local", request)
    first, second = open_stores(settings), open_stores(settings)  # as two processes would
    yield first, second
    first.close()
    second.close()


def test_one_holder_until_it_lapses_or_lets_go(two_stores: Any) -> None:
    from shipway.store.lease_store import LeaseStore

    a, b = (LeaseStore(s.db) for s in two_stores)
    assert a.claim("monitoring", "a", 60, now=1000)
    assert not b.claim("monitoring", "b", 60, now=1010), "a holds it"
    assert a.claim("monitoring", "a", 60, now=1050), "a renews it"
    assert not b.claim("monitoring", "b", 60, now=1100), "renewed until 1110"
    assert b.holder("monitoring", now=1100) == "a"
    assert b.claim("monitoring", "b", 60, now=1111), "a stopped renewing: b takes over"
    assert not a.claim("monitoring", "a", 60, now=1112)
    b.release("monitoring", "a")  # not b's lease to give away: nothing changes
    assert a.holder("monitoring", now=1113) == "b"
    b.release("monitoring", "b")
    assert a.holder("monitoring", now=1113) is None and a.claim("monitoring", "a", 60, now=1113)


def test_racing_first_claims_give_one_holder(two_stores: Any) -> None:
    from shipway.store.lease_store import LeaseStore

    results: dict[str, bool] = {}
    barrier = threading.Barrier(2)

    def claim(name: str, store: Any) -> None:
        barrier.wait()
        results[name] = LeaseStore(store.db).claim("rounds", name, 60)

    threads = [
        threading.Thread(target=claim, args=(n, s)) for n, s in zip("ab", two_stores, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [False, True], results
