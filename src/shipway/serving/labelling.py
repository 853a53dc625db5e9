"""Who may label which prediction.

A label is evidence: a canary is judged on it and a ``labels:N`` trigger starts a training.
So where callers hold tokens, a label is kept only for a request that exists, and only from
whoever made that request or from a role made for labelling (``labeller``, or an approver or
admin). Labels for ids no server answered are counted apart (``unknown``) and written
nowhere, so they can neither decide a rollout nor trigger a loop. Where no token is needed
(the local stores, a server on loopback with no token) there is no identity to bind to, and
labels are kept as sent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shipway.errors import Forbidden

# A request id two callers both used (ids may be chosen by the caller): only a labeller,
# approver or admin labels it, so no caller can label another's request by reusing its id.
CONTESTED = "\x00contested"


@dataclass(frozen=True)
class Asked:
    """Who made a request (None: a caller no token names, or CONTESTED) and its rows."""

    caller: str | None
    rows: int


Finder = Callable[[list[str]], dict[str, Asked]]


@dataclass(frozen=True)
class Labeller:
    """Who sends labels: ``user`` (None on an open server or the local stores), and whether
    they may label any request (``labeller``, approver, admin; everyone where no token is
    needed) or only those they made."""

    user: str | None
    any_request: bool


ANYONE = Labeller(None, True)


class RecentRequests:
    """The request ids a model server answered lately, who asked, and how many rows: a
    label may arrive before the log has written its request (the log writes every half
    second). Bounded: older requests are found in the log."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple[str, str], Asked] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, deployment: str, request_id: str, caller: str | None, rows: int) -> None:
        key = (deployment, request_id)
        with self._lock:
            known = self._seen.pop(key, None)
            if known is not None and known.caller != caller:
                caller = CONTESTED
            self._seen[key] = Asked(caller, max(rows, known.rows if known else 0))
            if len(self._seen) > self.limit:
                self._seen.popitem(last=False)

    def find(self, deployment: str, ids: Iterable[str]) -> dict[str, Asked]:
        with self._lock:
            return {i: self._seen[(deployment, i)] for i in ids if (deployment, i) in self._seen}


def logged_requests(logged: Any, ids: list[str]) -> dict[str, Asked]:
    """Which of ``ids`` the logged predictions hold (a frame with ``request_id``, ``row``
    and, where the servers recorded it, ``caller``), who made each and its rows."""
    if len(logged) == 0 or "request_id" not in logged.columns:
        return {}
    wanted = logged[logged["request_id"].isin(set(ids))]
    if "caller" not in wanted.columns:
        wanted = wanted.assign(caller=None)
    if "row" not in wanted.columns:
        wanted = wanted.assign(row=0)
    found = {}
    for request_id, rows in wanted.groupby("request_id"):
        callers = {None if c is None or c != c else str(c) for c in rows["caller"]}  # c != c: NaN
        caller = callers.pop() if len(callers) == 1 else CONTESTED
        found[str(request_id)] = Asked(caller, int(rows["row"].max()) + 1)
    return found


def admit(frame: Any, labeller: Labeller, find: Finder) -> tuple[Any, int]:
    """The labels of ``frame`` (columns ``request_id`` and/or ``key``) that may be kept, and
    how many name a request no server answered. A label for another caller's request, or by
    ``key``, from a caller who may label only their own requests refuses the whole batch."""
    import pandas as pd

    if labeller.user is None:
        # no token names the caller (the local stores, a server with no token): whoever
        # can send this can write the store itself, and a label may come before its request
        # is written, so nothing is checked or held back
        return frame, 0
    ids_column = (
        frame["request_id"]
        if "request_id" in frame.columns
        else pd.Series([None] * len(frame), index=frame.index, dtype=object)
    )
    by_id = ids_column.notna()
    if not labeller.any_request and not bool(by_id.all()):
        raise Forbidden(
            f"{labeller.user} may label only requests it made, by request_id; labels by key "
            "need the labeller role",
            hint="`shipway tokens create --role labeller` makes a token that labels any request",
        )
    ids = sorted({str(i) for i in ids_column[by_id]})
    found = find(ids) if ids else {}
    if not labeller.any_request:
        foreign = [i for i in ids if i in found and found[i].caller != labeller.user]
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise Forbidden(
                f"{labeller.user} may label only requests it made, and request "
                f"{foreign[0]!r}{more} was made by another caller",
                hint="labels come from the caller that asked, or a token of role labeller",
            )
    rows = frame["row"] if "row" in frame.columns else pd.Series(0, index=frame.index)
    within = [
        bool(has_id)
        and str(i) in found
        and (row is None or row != row or 0 <= int(row) < found[str(i)].rows)
        for has_id, i, row in zip(by_id, ids_column, rows, strict=True)
    ]
    known = ~by_id | pd.Series(within, index=frame.index)
    kept = frame[known]
    # one label per row of a request: the last sent wins, and a repeat counts once
    identity = [c for c in ("request_id", "row", "key") if c in kept.columns]
    kept = kept.astype({c: object for c in identity}).drop_duplicates(identity, keep="last")
    return kept, int((~known).sum())
