"""Connecting to the metadata database: engines, transactions, creation and migration.

SQLite runs in WAL mode so readers never block the writer, and every write transaction
starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead
of failing with "database is locked" when a read lock cannot be upgraded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from shipway.errors import Conflict, InvalidArgument, StoreUnavailable, require
from shipway.store import schema

# The idempotency key of the request this context serves, if any (see ``Database.write``).
applying: ContextVar[str | None] = ContextVar("shipway_applying_key", default=None)

# The newest Alembic revision; a fresh database is created at it directly.
HEAD_REVISION = "0013_loop_states"
_BUSY_TIMEOUT_MS = 60_000
_T = TypeVar("_T")


def _patiently(action: Callable[[], _T]) -> _T:
    """``action()``, retried while SQLite says the database is locked.

    Some of SQLite's lock waits bypass the busy handler: switching a new file to WAL while
    another process does the same, or reading the WAL index while another process recovers
    it. Both clear within milliseconds, so they are retried with backoff up to the busy
    timeout instead of failing a process that merely opened the store at the same moment."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return action()
        except (sqlite3.OperationalError, sa.exc.OperationalError) as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings shipway relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql"):
        require("psycopg", "postgres")
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise StoreUnavailable(
        f"unsupported metadata store URL {url!r}",
        hint="use sqlite:///path/to/shipway.db or postgresql://user@host:5432/db",
    )


def _sqlite_engine(url: str) -> Engine:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        folder = Path(database).parent
        if not folder.parent.is_dir():  # one missing folder is made, never a path of them
            raise StoreUnavailable(
                f"the folder of the metadata store {database} does not exist ({folder.parent})",
                hint="make it first, or point SHIPWAY_HOME or the tracking URI elsewhere",
            )
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot make the folder of the metadata store {database}: {exc.strerror}",
                hint="point SHIPWAY_HOME or the tracking URI at a folder you can write",
            ) from exc
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        _patiently(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("shipway_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """One metadata database: read and write transactions, created or migrated on open."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(shipway_write=True)
        self._ensure_schema()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: all of it is stored, or none of it.

        Inside a request that holds an idempotency key (:data:`applying`), the transaction
        also marks that key as applied, so the mark and the change commit together."""
        with self._translate(), self._writer.begin() as conn:
            yield conn
            key = applying.get()
            if key is not None:
                conn.execute(
                    schema.idempotency_keys.update()
                    .where(schema.idempotency_keys.c.key == key)
                    .values(applied=True)
                )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translate(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """The database's refusals as the errors users get: what the input did wrong."""
        try:
            yield
        except sa.exc.IntegrityError as exc:
            if not _unique_violation(exc):
                raise  # a broken rule of the schema (the append-only audit log): a bug
            raise Conflict(  # a concurrent writer stored the same key first
                "another writer stored the same thing at the same moment; nothing was written",
                hint="retry",
            ) from exc
        except sa.exc.DataError as exc:  # values PostgreSQL cannot store (SQLite takes them)
            if "NUL" in str(exc.orig):
                raise InvalidArgument(
                    "text may not contain a NUL character (\\x00)", hint="remove it"
                ) from exc
            raise InvalidArgument(f"the metadata store refused a value: {exc.orig}") from exc
        except sa.exc.OperationalError as exc:
            if (
                "locked" in str(exc)
                or "could not connect" in str(exc)
                or "Connection refused" in str(exc)
            ):
                raise StoreUnavailable(
                    f"the metadata store at {self._safe_url()} is unavailable: {exc.orig}"
                ) from exc
            raise

    def _safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _ensure_schema(self) -> None:
        try:
            has_version, current = (
                _patiently(lambda: _revision_of(self.engine))
                if self.dialect == "sqlite"
                else _revision_of(self.engine)
            )
        except sa.exc.DatabaseError as exc:  # unreachable, or a file that is not SQLite
            raise StoreUnavailable(
                f"cannot open the metadata store at {self._safe_url()}: {exc.orig}",
                hint="check the tracking URI; a SQLite store is a file shipway created",
            ) from exc
        if current == HEAD_REVISION:
            return
        if not has_version:
            self._create_fresh()
        else:
            self.migrate()

    def _create_fresh(self) -> None:
        """Create every table at the head revision in one go (faster than replaying migrations)."""
        for attempt in range(5):
            try:
                with self._writer.begin() as conn:
                    if sa.inspect(conn).has_table("alembic_version"):
                        return  # another process won the race
                    schema.metadata.create_all(conn)
                    for statement in schema.append_only_ddl(self.dialect):
                        conn.exec_driver_sql(statement)
                    conn.exec_driver_sql(
                        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
                    )
                    conn.execute(
                        sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": HEAD_REVISION}
                    )
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))  # concurrent creators on PostgreSQL

    def migrate(self) -> None:
        """Bring an older database up to the newest schema with Alembic."""
        from shipway.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _revision_of(engine: Engine) -> tuple[bool, str | None]:
    """Whether the database has a revision table, and the revision it records."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False, None
        found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return True, None if found is None else str(found)


def schema_revision(url: str) -> str | None:
    """The schema revision of the database at ``url`` (None: no shipway store there), read
    without creating or migrating anything: for callers that must only look."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    engine = create_engine(url)
    try:
        return _revision_of(engine)[1]
    except sa.exc.DatabaseError as exc:
        raise StoreUnavailable(f"cannot read the metadata store: {exc.orig}") from exc
    finally:
        engine.dispose()


def _unique_violation(exc: sa.exc.IntegrityError) -> bool:
    """Whether the database refused a duplicate key (SQLite's message, PostgreSQL's 23505)."""
    return (
        "UNIQUE constraint failed" in str(exc.orig) or getattr(exc.orig, "sqlstate", "") == "23505"
    )
