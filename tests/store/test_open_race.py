"""Opening a SQLite store while other processes create or checkpoint it."""

from __future__ import annotations

import sqlite3

import pytest

from shipway.store import database


def test_a_lock_that_bypasses_the_busy_handler_is_waited_out() -> None:
    calls = []

    def opening() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "open"

    assert database._patiently(opening) == "open"
    assert len(calls) == 3


def test_other_failures_are_not_retried() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("file is not a database")

    with pytest.raises(sqlite3.OperationalError, match="not a database"):
        database._patiently(broken)
    assert len(calls) == 1
