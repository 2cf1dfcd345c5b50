"""The `RecordStore` interface and the SQL both backends share.

Backends differ only in how they connect, lock and spell a few types (schema.Dialect); every
query is parameterized, and the column names in it come from this module, never from input.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from acdcore.records import schema
from acdcore.records.model import Batch, CallRecord, Checkpoint, LogEvent, dumps


class StoreError(Exception):
    """The database is missing, corrupt, or of a schema this version cannot use."""


_CALL_COLUMNS = (
    "call_id", "caller", "called", "queue", "agent", "arrival", "answer", "end_time",
    "wait", "talk", "hold", "wrapup", "disposition", "outcome",
    "recording_path", "voicemail_path", "survey_score", "attributes",
)  # fmt: skip
_UPSERT = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({', '.join('?' * len(_CALL_COLUMNS))})"
    " ON CONFLICT (call_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CALL_COLUMNS[1:])
)
_LOG_INSERT = (
    "INSERT INTO queue_log (time, event, call_id, queue, agent, data) VALUES (?, ?, ?, ?, ?, ?)"
)
_CHECKPOINT = (
    "INSERT INTO checkpoint (id, engine, state) VALUES (1, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET engine = excluded.engine, state = excluded.state"
)
_BLOB_PUT = (
    "INSERT INTO host_blobs (name, data) VALUES (?, ?)"
    " ON CONFLICT (name) DO UPDATE SET data = excluded.data"
)
# Annotation field -> column (the record's `end` is `end_time` in SQL, a reserved word).
_COLUMN = {"end": "end_time"}


@dataclass(frozen=True)
class Query:
    """Search filters, all optional and combined with AND. Times are UNIX seconds of arrival,
    `start` inclusive and `end` exclusive; `number` matches the caller or the called number."""

    start: float | None = None
    end: float | None = None
    number: str | None = None
    queue: str | None = None
    agent: str | None = None
    disposition: str | None = None
    outcome: str | None = None
    limit: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        terms: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            terms.append("arrival >= ?")
            params.append(self.start)
        if self.end is not None:
            terms.append("arrival < ?")
            params.append(self.end)
        if self.number is not None:
            terms.append("(caller = ? OR called = ?)")
            params += [self.number, self.number]
        for column in ("queue", "agent", "disposition", "outcome"):
            value = getattr(self, column)
            if value is not None:
                terms.append(f"{column} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(terms)) if terms else "", params


class RecordStore(ABC):
    """Where call records, the queue log and the engine checkpoint live.

    `write` is called from one writer thread (records.writer); reads may come from any thread.
    """

    @abstractmethod
    def write(self, batch: Batch) -> None:
        """Write the batch in one transaction: all of it or, on error, none."""

    @abstractmethod
    def checkpoint(self) -> Checkpoint | None: ...

    @abstractmethod
    def blob(self, name: str) -> bytes | None:
        """The host blob last written under `name` (Batch.blobs), or None."""

    @abstractmethod
    def search(self, query: Query) -> list[CallRecord]: ...

    @abstractmethod
    def queue_log(self, call_id: str | None = None) -> list[LogEvent]: ...

    @abstractmethod
    def aggregate(
        self, by: str, interval: float, query: Query, threshold: float, repeat_window: float,
        unresolved: Sequence[str],
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Per-group, per-interval sums for reports (records.reports turns them into rates)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqlStore(RecordStore):
    """A RecordStore over one DB-API connection guarded by a lock."""

    dialect: schema.Dialect

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    # -- backend hooks ---------------------------------------------------------------------
    @abstractmethod
    def _begin(self, cur: Any) -> None: ...

    @abstractmethod
    def _has_table(self, cur: Any, name: str) -> bool: ...

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            self._begin(cur)
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute(self.dialect.sql(sql), list(params))
            rows = cur.fetchall()
            self._conn.commit()  # end the read transaction (PostgreSQL opens one)
            return list(rows)

    def _migrate(self) -> None:
        """Bring the schema to `schema.VERSION`, one migration per transaction."""
        with self._transaction() as cur:
            if not self._has_table(cur, "acd_schema"):
                if self._has_table(cur, "calls"):
                    raise StoreError("not an acdcore records database (no acd_schema table)")
                cur.execute("CREATE TABLE acd_schema (version INTEGER NOT NULL)")
                cur.execute("INSERT INTO acd_schema (version) VALUES (0)")
        while True:
            with self._transaction() as cur:
                cur.execute("SELECT version FROM acd_schema")
                rows = cur.fetchall()
                if len(rows) != 1:
                    raise StoreError("corrupt acd_schema table: expected one row")
                version = int(rows[0][0])
                if version > schema.VERSION:
                    raise StoreError(
                        f"database schema version {version} is newer than this acdcore "
                        f"understands ({schema.VERSION})"
                    )
                if version == schema.VERSION:
                    return
                for statement in schema.MIGRATIONS[version]:
                    cur.execute(self.dialect.ddl(statement))
                cur.execute(self.dialect.sql("UPDATE acd_schema SET version = ?"), [version + 1])

    def version(self) -> int:
        return int(self._read("SELECT version FROM acd_schema")[0][0])

    # -- RecordStore -----------------------------------------------------------------------
    def write(self, batch: Batch) -> None:
        d = self.dialect
        with self._transaction() as cur:
            if batch.calls:
                cur.executemany(d.sql(_UPSERT), [_call_row(r) for r in batch.calls])
            for call_id, fields in batch.updates:
                columns = [_COLUMN.get(k, k) for k in fields]
                unknown = [c for c in columns if c not in _CALL_COLUMNS[1:]]
                if unknown:  # column names go into the SQL text: only ours may
                    raise ValueError(f"unknown call record field {unknown[0]!r}")
                sets = ", ".join(f"{c} = ?" for c in columns)
                sql = f"UPDATE calls SET {sets} WHERE call_id = ?"
                cur.execute(d.sql(sql), [*fields.values(), call_id])
            if batch.log:
                cur.executemany(
                    d.sql(_LOG_INSERT),
                    [
                        (e.time, e.event, e.call_id, e.queue, e.agent, dumps(e.data))
                        for e in batch.log
                    ],
                )
            if batch.checkpoint is not None:
                cp = batch.checkpoint
                cur.execute(d.sql(_CHECKPOINT), [cp.engine, dumps(cp.state)])
            for name, data in batch.blobs.items():
                if data is None:
                    cur.execute(d.sql("DELETE FROM host_blobs WHERE name = ?"), [name])
                else:
                    cur.execute(d.sql(_BLOB_PUT), [name, data])

    def checkpoint(self) -> Checkpoint | None:
        rows = self._read("SELECT engine, state FROM checkpoint WHERE id = 1")
        if not rows:
            return None
        return Checkpoint(engine=bytes(rows[0][0]), state=json.loads(rows[0][1]))

    def blob(self, name: str) -> bytes | None:
        rows = self._read("SELECT data FROM host_blobs WHERE name = ?", [name])
        return bytes(rows[0][0]) if rows else None

    def search(self, query: Query) -> list[CallRecord]:
        where, params = query.where()
        sql = f"SELECT {', '.join(_CALL_COLUMNS)} FROM calls{where} ORDER BY arrival, call_id"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return [_call_from_row(row) for row in self._read(sql, params)]

    def queue_log(self, call_id: str | None = None) -> list[LogEvent]:
        sql = "SELECT time, event, call_id, queue, agent, data FROM queue_log"
        params: list[Any] = []
        if call_id is not None:
            sql += " WHERE call_id = ?"
            params.append(call_id)
        rows = self._read(sql + " ORDER BY id", params)
        return [LogEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def aggregate(
        self, by: str, interval: float, query: Query, threshold: float, repeat_window: float,
        unresolved: Sequence[str],
    ) -> list[dict[str, Any]]:  # fmt: skip
        if by not in ("queue", "agent"):
            raise ValueError(f"report by must be 'queue' or 'agent', got {by!r}")
        where, params = query.where()
        if by == "agent":
            where += (" AND " if where else " WHERE ") + "agent IS NOT NULL"
        else:  # a call the flow ended before any queue (queue "") is no queue's traffic
            where += (" AND " if where else " WHERE ") + "queue <> ''"
        # A withdrawn call (a preview no agent took) had no one waiting: not offered.
        where += (" AND " if where else " WHERE ") + "outcome <> 'withdrawn'"
        answered = "c.answer IS NOT NULL"
        resolved = (
            f"(c.disposition IS NULL OR c.disposition NOT IN ({', '.join('?' * len(unresolved))}))"
            if unresolved
            else "1 = 1"
        )
        repeat = (
            "EXISTS (SELECT 1 FROM calls r WHERE r.caller = c.caller"
            " AND r.arrival > c.arrival AND r.arrival <= c.arrival + ?)"
        )
        bucket = self.dialect.bucket.format(col="c.arrival")
        sql = f"""
            SELECT c.{by}, {bucket} AS bucket,
                COUNT(*),
                SUM(CASE WHEN {answered} THEN 1 ELSE 0 END),
                SUM(CASE WHEN c.outcome = 'abandoned' THEN 1 ELSE 0 END),
                SUM(CASE WHEN c.outcome = 'timeout' THEN 1 ELSE 0 END),
                SUM(CASE WHEN c.outcome = 'lost' THEN 1 ELSE 0 END),
                SUM(CASE WHEN {answered} AND c.wait <= ? THEN 1 ELSE 0 END),
                SUM(CASE WHEN {answered} THEN c.wait ELSE 0 END),
                SUM(CASE WHEN {answered} THEN COALESCE(c.talk, 0) + COALESCE(c.wrapup, 0)
                    ELSE 0 END),
                SUM(CASE WHEN {answered} AND {resolved} AND NOT {repeat} THEN 1 ELSE 0 END),
                COUNT(c.survey_score),
                SUM(c.survey_score)
            FROM calls c{where}
            GROUP BY c.{by}, bucket ORDER BY c.{by}, bucket"""
        all_params = [interval, threshold, *unresolved, repeat_window, *params]
        names = (
            "key", "bucket", "offered", "answered", "abandoned", "timed_out", "lost", "within_sl",
            "wait_sum", "handle_sum", "resolved", "surveys", "survey_sum",
        )  # fmt: skip
        return [dict(zip(names, row, strict=True)) for row in self._read(sql, all_params)]


def _call_row(r: CallRecord) -> tuple[Any, ...]:
    return (
        r.call_id, r.caller, r.called, r.queue, r.agent, r.arrival, r.answer, r.end,
        r.wait, r.talk, r.hold, r.wrapup, r.disposition, r.outcome,
        r.recording_path, r.voicemail_path, r.survey_score, dumps(r.attributes),
    )  # fmt: skip


def _call_from_row(row: Sequence[Any]) -> CallRecord:
    values = dict(zip(_CALL_COLUMNS, row, strict=True))
    values["end"] = values.pop("end_time")
    values["attributes"] = json.loads(values["attributes"])
    return CallRecord(**values)
