"""Call records (CDR), the queue log, reports and crash-safe engine checkpoints.

store = SqliteStore("records.db")           # or PostgresStore("host=... dbname=...")
with RecordWriter(store) as writer:         # a thread: the event loop never waits on disk
    rec = CallRecorder(engine, writer, epoch=time.time())
    rec.enter(now, "c1", "support", caller="+15551234")
    rec.feed(engine.advance(now2))          # every event of every engine operation
    rec.commit()                            # records + engine snapshot, one transaction
CallRecorder.resume(store, writer)          # after a crash: engine and open calls back
"""

from acdcore.records.export import write_csv
from acdcore.records.model import LOG_EVENTS, OUTCOMES, Batch, CallRecord, Checkpoint, LogEvent
from acdcore.records.postgres import PostgresStore
from acdcore.records.recorder import CallRecorder, Commit
from acdcore.records.reports import report
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query, RecordStore, StoreError
from acdcore.records.writer import RecordWriter, WriterClosed

__all__ = [
    "LOG_EVENTS",
    "OUTCOMES",
    "Batch",
    "CallRecord",
    "CallRecorder",
    "Checkpoint",
    "Commit",
    "LogEvent",
    "PostgresStore",
    "Query",
    "RecordStore",
    "RecordWriter",
    "SqliteStore",
    "StoreError",
    "WriterClosed",
    "report",
    "write_csv",
]
