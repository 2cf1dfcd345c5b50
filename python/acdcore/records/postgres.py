"""PostgreSQL RecordStore (psycopg 3, the `postgres` extra): the same schema and queries."""

from __future__ import annotations

from typing import Any

from acdcore.records import schema
from acdcore.records.store import SqlStore, StoreError


class PostgresStore(SqlStore):
    """Call records in PostgreSQL, `dsn` as psycopg takes it ("host=... dbname=...")."""

    dialect = schema.POSTGRES

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg: pip install 'acdcore[postgres]'") from None
        try:
            conn = psycopg.connect(dsn)
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to PostgreSQL: {e}") from None
        super().__init__(conn)
        try:
            self._migrate()
        except psycopg.Error as e:
            conn.close()
            raise StoreError(f"PostgreSQL: {e}") from None

    def _begin(self, cur: Any) -> None:
        pass  # psycopg opens a transaction on the first statement

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return bool(cur.fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
