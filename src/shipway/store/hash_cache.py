"""A per-machine cache of file hashes keyed by (path, inode, size, mtime), so an unchanged file
is not hashed again. Local SQLite, next to the embedded stores, whatever the metadata store is."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path


class HashCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, timeout=30, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, digest TEXT)"
        )
        self._lock = threading.Lock()

    @staticmethod
    def _key(path: Path) -> tuple[str, int, int, int]:
        st = os.stat(path)
        return str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns

    def get(self, path: Path) -> str | None:
        key = self._key(path)
        with self._lock:
            row = self._conn.execute(
                "SELECT inode, size, mtime_ns, digest FROM hashes WHERE path = ?", (key[0],)
            ).fetchone()
        return row[3] if row and tuple(row[:3]) == key[1:] else None

    def put(self, path: Path, digest: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", (*self._key(path), digest)
            )

    def get_many(self, paths: list[Path]) -> dict[Path, str]:
        """Cached digests of the unchanged files among ``paths``, in one query per 500 paths."""
        keys = {p: self._key(p) for p in paths}
        rows: dict[str, tuple[int, int, int, str]] = {}
        names = [k[0] for k in keys.values()]
        with self._lock:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                query = f"SELECT path, inode, size, mtime_ns, digest FROM hashes WHERE path IN ({','.join('?' * len(chunk))})"
                rows.update({r[0]: tuple(r[1:]) for r in self._conn.execute(query, chunk)})
        out = {}
        for path, key in keys.items():
            row = rows.get(key[0])
            if row is not None and tuple(row[:3]) == key[1:]:
                out[path] = row[3]
        return out

    def put_many(self, items: list[tuple[Path, str]]) -> None:
        """Remember many digests in one transaction."""
        rows = [(*self._key(path), digest) for path, digest in items]
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
