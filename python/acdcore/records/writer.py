"""A writer thread between the event loop and the disk.

Producers hand over batches; the thread merges whatever is waiting into one transaction (so
a burst costs one commit, not one per call) and completes each batch's future after its
commit. The queue is bounded: when the disk falls behind, `put` blocks and `aput` awaits,
which slows the producer instead of growing memory without limit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from acdcore.records.model import Batch
from acdcore.records.store import RecordStore

_STOP = None


class WriterClosed(RuntimeError):
    """The writer was closed, or its thread stopped on a write error."""


class RecordWriter:
    """Writes batches to `store` on its own thread, `max_merge` records per transaction at
    most, with up to `max_pending` batches waiting."""

    def __init__(self, store: RecordStore, *, max_pending: int = 1024, max_merge: int = 5000):
        if max_pending < 1 or max_merge < 1:
            raise ValueError("max_pending and max_merge must be at least 1")
        self.store = store
        self._max_merge = max_merge
        self._queue: queue.Queue[tuple[Batch, Future[None]] | None] = queue.Queue(max_pending)
        self._error: BaseException | None = None
        self._closed = False
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="acdcore-records", daemon=True)
        self._thread.start()

    def put(self, batch: Batch) -> Future[None]:
        """Queue `batch`, blocking while the queue is full; the future is done at commit."""
        future = self._check()
        self._queue.put((batch, future))
        return future

    async def aput(self, batch: Batch) -> Future[None]:
        """As `put`, but a full queue awaits (in an executor thread) instead of blocking."""
        future = self._check()
        try:
            self._queue.put_nowait((batch, future))
        except queue.Full:
            await asyncio.to_thread(self._queue.put, (batch, future))
        return future

    def flush(self) -> None:
        """Wait until everything queued so far is committed (raises the write error, if any)."""
        self.put(Batch()).result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread. Idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise WriterClosed(f"records writer stopped: {self._error}") from self._error

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> Future[None]:
        if self._error is not None:
            raise WriterClosed(f"records writer stopped: {self._error}") from self._error
        if self._closed:
            raise WriterClosed("records writer is closed")
        future: Future[None] = Future()
        # Running from the start: a waiter giving up (asyncio.wrap_future cancels the future
        # it wraps) cannot cancel it, so the thread's set_result never meets a cancelled one.
        future.set_running_or_notify_cancel()
        return future

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                break
            merged, futures = Batch(), []
            while item is not None:
                merged.merge(item[0])
                futures.append(item[1])
                if len(merged) >= self._max_merge:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                stop = item is _STOP
            if self._error is None:
                try:
                    self.store.write(merged)
                    self.commits += 1
                except BaseException as e:  # every later batch fails with it, none hangs
                    self._error = e
            for f in futures:
                if self._error is None:
                    f.set_result(None)
                else:
                    f.set_exception(self._error)
