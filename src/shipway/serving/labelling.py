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

# request id -> the user whose token made it (None: a caller no token names)
Finder = Callable[[list[str]], dict[str, str | None]]


@dataclass(frozen=True)
class Labeller:
    """Who sends labels: ``user`` (None on an open server or the local stores), and whether
    they may label any request (``labeller``, approver, admin; everyone where no token is
    needed) or only those they made."""

    user: str | None
    any_request: bool


ANYONE = Labeller(None, True)


class RecentRequests:
    """The request ids a model server answered lately, and who asked: a label may arrive
    before the log has written its request (the log writes once a second)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit = limit
        self._seen: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, deployment: str, request_id: str, caller: str | None) -> None:
        with self._lock:
            self._seen[(deployment, request_id)] = caller
            if len(self._seen) > self.limit:  # bounded: the log answers for older requests
                self._seen.popitem(last=False)

    def find(self, deployment: str, ids: Iterable[str]) -> dict[str, str | None]:
        with self._lock:
            return {i: self._seen[(deployment, i)] for i in ids if (deployment, i) in self._seen}


def logged_callers(logged: Any, ids: list[str]) -> dict[str, str | None]:
    """Which of ``ids`` the logged predictions (a frame with ``request_id`` and, where the
    servers recorded it, ``caller``) hold, and who made each."""
    if len(logged) == 0 or "request_id" not in logged.columns:
        return {}
    wanted = logged[logged["request_id"].isin(set(ids))]
    callers = wanted["caller"] if "caller" in wanted.columns else [None] * len(wanted)
    return {
        str(i): (None if c is None or c != c else str(c))  # c != c: a missing value (NaN)
        for i, c in zip(wanted["request_id"], callers, strict=True)
    }


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
        foreign = [i for i in ids if i in found and found[i] != labeller.user]
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise Forbidden(
                f"{labeller.user} may label only requests it made, and request "
                f"{foreign[0]!r}{more} was made by another caller",
                hint="labels come from the caller that asked, or a token of role labeller",
            )
    known = ~by_id | ids_column.astype(str).isin(set(found))
    return frame[known], int((~known).sum())
