"""No search can crash the server or answer 5xx: filters and orders are bounded, with a 400."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.errors import FilterSyntaxError
from shipway.store.filter import MAX_COMPARISONS, MAX_DEPTH, MAX_ORDER_KEYS
from tests.security.conftest import Secured

KEYS = 64


def _search(http: Any, **body: Any) -> Any:
    return http.post("/runs/search", json={"experiments": ["wide"], **body})


def _wide_run(secured: Secured) -> None:
    with secured.http("ed") as http:
        run = http.post("/runs", json={"experiment": "wide"}).json()
        metrics = [{"key": f"m{i}", "value": float(i), "step": 0} for i in range(KEYS)]
        http.post(f"/runs/{run['run_id']}/log-batch", json={"metrics": metrics})


def test_order_by_is_bounded_with_a_400(secured_any: Secured) -> None:
    _wide_run(secured_any)
    with secured_any.http("vera") as http:
        fine = _search(http, order_by=[f"metrics.m{i} DESC" for i in range(MAX_ORDER_KEYS)])
        assert fine.status_code == 200 and len(fine.json()) == 1
        for n in (MAX_ORDER_KEYS + 1, 31, 40, 63, 64, 200):  # 31-63 crashed SQLite 3.40
            refused = _search(http, order_by=[f"metrics.m{i % KEYS} DESC" for i in range(n)])
            assert refused.status_code == 400, (n, refused.text)
            message = refused.json()["error"]["message"]
            assert f"at most {MAX_ORDER_KEYS} keys" in message
        assert http.get("/experiments").status_code == 200  # the server is alive


def test_filters_are_bounded_with_a_400(secured_any: Secured) -> None:
    _wide_run(secured_any)
    widest = " or ".join(f"metrics.m{i % KEYS} >= 0" for i in range(MAX_COMPARISONS))
    deepest = "(" * (MAX_DEPTH - 1) + "not metrics.m1 < 0" + ")" * (MAX_DEPTH - 1)
    with secured_any.http("vera") as http:
        for accepted in (widest, widest.replace(" or ", " and "), deepest):
            answer = _search(http, filter=accepted)
            assert answer.status_code == 200 and len(answer.json()) == 1, answer.text
        hostile = {
            "1,000 parentheses": "(" * 1000 + "metrics.m1 > 0" + ")" * 1000,
            "10,000 nots": "not " * 10_000 + "metrics.m1 > 0",
            "2,000 or terms": " or ".join(f"metrics.m{i % KEYS} > 0" for i in range(2000)),
            "2,000 and terms": " and ".join(f"params.p{i} = 'x'" for i in range(2000)),
            "an IN list of 5,000": "params.p IN (" + ", ".join(f"'{i}'" for i in range(5000)) + ")",
            "a megabyte": "tags.t = '" + "x" * 2**20 + "'",
        }
        for what, text in hostile.items():
            refused = _search(http, filter=text)
            assert refused.status_code == 400, (what, refused.status_code, refused.text[:300])
            assert refused.json()["error"]["code"] == "INVALID_FILTER", what
        assert http.get("/experiments").status_code == 200


def test_a_local_search_refuses_the_order_that_crashed_sqlite(sw: Any) -> None:
    with sw.start_run(experiment="wide"):
        sw.log_metrics({f"m{i}": i for i in range(40)})
    with pytest.raises(FilterSyntaxError, match=f"at most {MAX_ORDER_KEYS} keys"):
        sw.search_runs("wide", order_by=[f"metrics.m{i}" for i in range(40)])
