"""SqliteStore on real files: schema versions and migrations, WAL, batched writes, searches
by every filter, the writer thread's batching, back-pressure and errors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from acdcore.records import (
    Batch,
    CallRecord,
    LogEvent,
    Query,
    RecordWriter,
    SqliteStore,
    StoreError,
    WriterClosed,
    schema,
)
from acdcore.records.model import Checkpoint
from acdcore.records.store import RecordStore


def _cdr(i: int, **kw: object) -> CallRecord:
    base: dict[str, object] = dict(
        call_id=f"c{i}",
        queue="sales" if i % 2 else "support",
        arrival=1000.0 + i * 60,
        outcome="answered",
        caller=f"+1{i % 3}",
        called="+1800",
        agent=f"a{i % 4}",
        answer=1010.0 + i * 60,
        end=1100.0 + i * 60,
        wait=10.0,
        talk=90.0,
        disposition="sale" if i % 5 == 0 else None,
        attributes={"i": i},
    )
    base.update(kw)
    return CallRecord(**base)  # type: ignore[arg-type]


def _sql(path: Path, *statements: str) -> None:
    """Change a database behind the store's back."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_new_database_is_wal_at_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with SqliteStore(path) as store:
        assert store.version() == schema.VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"calls_caller", "calls_queue", "calls_agent", "calls_arrival"} <= names


def test_old_schema_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _sql(
        path,
        "CREATE TABLE acd_schema (version INTEGER NOT NULL)",
        "INSERT INTO acd_schema VALUES (1)",
        *(schema.SQLITE.ddl(statement) for statement in schema.MIGRATIONS[0]),
        "INSERT INTO calls (call_id, queue, arrival, outcome) VALUES ('x', 'q', 5, 'abandoned')",
    )
    with SqliteStore(path) as store:
        assert store.version() == schema.VERSION
        assert [r.call_id for r in store.search(Query(queue="q"))] == ["x"]
    plan = (
        sqlite3.connect(path)
        .execute(
            "EXPLAIN QUERY PLAN SELECT * FROM calls WHERE caller = ? AND arrival >= ?", ("1", 0)
        )
        .fetchall()
    )
    assert "calls_caller" in str(plan)


def test_newer_missing_corrupt_and_foreign_databases_are_clear_errors(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    SqliteStore(newer).close()
    _sql(newer, "UPDATE acd_schema SET version = 99")
    with pytest.raises(StoreError, match="version 99 is newer"):
        SqliteStore(newer)
    with pytest.raises(StoreError, match="no such records database"):
        SqliteStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.db: not a usable records database"):
        SqliteStore(junk)
    foreign = tmp_path / "foreign.db"
    _sql(foreign, "CREATE TABLE calls (x)")
    with pytest.raises(StoreError, match="not an acdcore records database"):
        SqliteStore(foreign)
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(tmp_path / "s.db", synchronous="OFF")


def test_searches_filter_by_each_column(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "r.db") as store:
        store.write(Batch(calls=[_cdr(i) for i in range(20)]))
        ids = lambda q: [r.call_id for r in store.search(q)]  # noqa: E731
        assert ids(Query(start=1000 + 5 * 60, end=1000 + 8 * 60)) == ["c5", "c6", "c7"]
        assert ids(Query(number="+11")) == [f"c{i}" for i in range(20) if i % 3 == 1]
        assert ids(Query(number="+1800", limit=2)) == ["c0", "c1"]
        assert ids(Query(queue="sales", agent="a1")) == ["c1", "c5", "c9", "c13", "c17"]
        assert ids(Query(disposition="sale")) == ["c0", "c5", "c10", "c15"]
        assert ids(Query(outcome="abandoned")) == []
        # Parameters, not SQL: a quote in a filter is just a character.
        assert ids(Query(queue="x' OR '1'='1")) == []
        got = store.search(Query(start=1000, end=1001))[0]
        assert got == _cdr(0)


def test_batch_is_one_transaction(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "r.db") as store:
        bad = Batch(calls=[_cdr(1), _cdr(2, queue=None)])  # NOT NULL violated by the second
        with pytest.raises(sqlite3.IntegrityError):
            store.write(bad)
        assert store.search(Query()) == []
        store.write(Batch(calls=[_cdr(1)], updates=[("c1", {"survey_score": 4, "end": 2000.0})]))
        r = store.search(Query())[0]
        assert (r.survey_score, r.end) == (4, 2000.0)


class _SlowStore(RecordStore):
    """Records what the writer asks of it; `gate` holds writes back."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.batches: list[Batch] = []
        self.fail = False

    def write(self, batch: Batch) -> None:
        self.gate.wait()
        if self.fail:
            raise sqlite3.OperationalError("disk I/O error")
        self.batches.append(batch)

    def checkpoint(self):  # type: ignore[no-untyped-def]
        return None

    def blob(self, name):  # type: ignore[no-untyped-def]
        return None

    def search(self, query):  # type: ignore[no-untyped-def]
        return []

    def queue_log(self, call_id=None):  # type: ignore[no-untyped-def]
        return []

    def aggregate(self, *a):  # type: ignore[no-untyped-def]
        return []

    def close(self) -> None:
        pass


def _log(i: int) -> Batch:
    return Batch(log=[LogEvent(float(i), "enter", f"c{i}", "q")])


def test_writer_merges_waiting_batches_and_applies_back_pressure() -> None:
    store = _SlowStore()
    writer = RecordWriter(store, max_pending=3)
    first = writer.put(_log(0))  # the thread takes it and waits at the gate
    while not writer._queue.empty():
        pass
    futures = [writer.put(_log(i)) for i in (1, 2, 3)]  # fills the queue
    blocked = threading.Thread(target=lambda: futures.append(writer.put(_log(4))))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive(), "a full queue must block the producer"
    store.gate.set()
    blocked.join(5)
    writer.close()
    assert first.done() and all(f.done() for f in futures)
    assert [e.call_id for b in store.batches for e in b.log] == [f"c{i}" for i in range(5)]
    assert len(store.batches) < 5, "waiting batches were not merged into one commit"


def test_async_put_awaits_a_full_queue_without_blocking_the_loop() -> None:
    store = _SlowStore()
    writer = RecordWriter(store, max_pending=1)

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(ticker())
        futures = [await writer.aput(_log(0))]
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, store.gate.set)
        for i in range(1, 4):
            futures.append(await writer.aput(_log(i)))  # waits while the disk is held
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        t.cancel()
        return ticks

    ticks = asyncio.run(main())
    writer.close()
    assert ticks >= 10, "the event loop stalled while the writer queue was full"
    assert [e.call_id for b in store.batches for e in b.log] == ["c0", "c1", "c2", "c3"]


def test_write_error_reaches_waiters_and_later_puts() -> None:
    store = _SlowStore()
    store.fail = True
    store.gate.set()
    writer = RecordWriter(store)
    f = writer.put(_log(0))
    with pytest.raises(sqlite3.OperationalError):
        f.result(5)
    with pytest.raises(WriterClosed, match="disk I/O error"):
        writer.put(_log(1))
    with pytest.raises(WriterClosed):
        writer.close()


def test_close_flushes_what_is_queued(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    writer = RecordWriter(store)
    for i in range(50):
        writer.put(Batch(calls=[_cdr(i)]))
    writer.close()
    writer.close()
    assert len(store.search(Query())) == 50
    with pytest.raises(WriterClosed, match="closed"):
        writer.put(Batch())


def test_batches_queued_behind_a_failed_write_fail_too() -> None:
    store = _SlowStore()
    store.fail = True
    writer = RecordWriter(store, max_merge=1)  # one batch per transaction
    futures = [writer.put(_log(i)) for i in range(3)]  # the first waits at the gate
    store.gate.set()
    for f in futures:
        with pytest.raises(sqlite3.OperationalError):
            f.result(5)
    with pytest.raises(WriterClosed):
        writer.close()


def test_updates_name_only_record_fields(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "r.db") as store:
        store.write(Batch(calls=[_cdr(1)]))
        with pytest.raises(ValueError, match="'call_id = 1; --'"):
            store.write(Batch(updates=[("c1", {"call_id = 1; --": 0})]))
        assert store.search(Query())[0] == _cdr(1)


def test_a_waiter_giving_up_does_not_stop_the_writer() -> None:
    """A task awaiting a commit is cancelled (a server stopping): the commit still happens
    and the thread keeps writing (it once died setting a result on a cancelled future)."""
    store = _SlowStore()
    writer = RecordWriter(store)

    async def main() -> None:
        from acdcore.records.recorder import Commit

        commit = Commit(writer.put(_log(0)), [])
        waiter = asyncio.ensure_future(commit.await_())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not commit.future.cancel()
        store.gate.set()
        await asyncio.wait_for(asyncio.wrap_future(writer.put(_log(1))), 10.0)

    asyncio.run(main())
    writer.close()
    assert [e.call_id for b in store.batches for e in b.log] == ["c0", "c1"]


def test_host_blobs_are_written_with_their_batch_replaced_and_deleted(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with SqliteStore(path) as store:
        assert store.blob("campaign") is None
        cp = Checkpoint(b"engine-1", {"n": 1})
        store.write(Batch(calls=[_cdr(1)], checkpoint=cp, blobs={"campaign": b"\x00one"}))
        assert store.blob("campaign") == b"\x00one"
        merged = Batch(blobs={"campaign": b"two", "other": b"x"})
        merged.merge(Batch(blobs={"campaign": b"three"}))  # the later batch's value wins
        store.write(merged)
        assert (store.blob("campaign"), store.blob("other")) == (b"three", b"x")
        store.write(Batch(blobs={"other": None}))
        assert store.blob("other") is None
        # A failed batch writes none of its blobs (one transaction with the records).
        with pytest.raises(sqlite3.IntegrityError):
            store.write(Batch(calls=[_cdr(2, queue=None)], blobs={"campaign": b"torn"}))  # type: ignore[arg-type]
        assert store.blob("campaign") == b"three"
    with SqliteStore(path) as store:  # and they are on disk
        assert store.blob("campaign") == b"three"
