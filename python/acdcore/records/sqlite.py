"""SQLite RecordStore: the default, one file, WAL journal."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from acdcore.records import schema
from acdcore.records.store import SqlStore, StoreError

SYNCHRONOUS = ("FULL", "NORMAL")


class SqliteStore(SqlStore):
    """Call records in a SQLite file in WAL mode.

    `synchronous="FULL"` (the default) syncs the WAL at every commit, so a committed record
    survives power loss too; "NORMAL" survives a killed process but may lose the last commits
    on power loss (docs/records.md has the measured cost of each). With `create=False` a
    missing file is a StoreError instead of a new database.
    """

    dialect = schema.SQLITE

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, synchronous: str = "FULL"
    ) -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, got {synchronous!r}")
        self.path = os.fspath(path)
        if not create and not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no such records database")
        try:
            # Writes come from the writer thread, reads from any: the SqlStore lock serialises.
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open: {e}") from None
        super().__init__(conn)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL mode (got {mode})")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise StoreError(f"{self.path}: not a usable records database: {e}") from None
        except StoreError as e:
            conn.close()
            raise StoreError(f"{self.path}: {e}") from None

    def _begin(self, cur: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a second writer waits instead of failing
        # half-way through the batch.
        cur.execute("BEGIN IMMEDIATE")

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return cur.fetchone() is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
