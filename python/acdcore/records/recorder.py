"""From engine events to records: the host feeds every event an Engine returns, plus what
only it knows (caller numbers, attributes, transfers, callbacks, dispositions, surveys).

One CDR is written when a call finishes in the engine (ended after an answer, abandoned,
timed out, refused, or left to a fallback); queue-log events as they happen. `commit()` hands
the records and a checkpoint (engine snapshot + the open calls' host state) to the writer as
one transaction, so after a crash `resume()` continues from exactly what was committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from acdcore._core import Engine, Event
from acdcore.records.model import (
    OUTCOMES,
    Batch,
    CallRecord,
    Checkpoint,
    LogEvent,
    check_annotations,
    dumps,
)
from acdcore.records.store import RecordStore, StoreError
from acdcore.records.writer import RecordWriter

STATE_VERSION = 1
# Fallback targets that are outcomes of their own; any other target is a transfer.
_FALLBACK_OUTCOMES = {"voicemail": "voicemail", "callback": "callback"}


@dataclass
class Commit:
    """A commit handed to the writer: `ended` are the calls whose CDRs it holds."""

    future: Future[None]
    ended: list[str]

    def wait(self, timeout: float | None = None) -> list[str]:
        self.future.result(timeout)
        return self.ended

    async def await_(self) -> list[str]:
        # Shielded: a cancelled waiter must not cancel the writer's future (its thread sets it).
        await asyncio.shield(asyncio.wrap_future(self.future))
        return self.ended


@dataclass
class _Open:
    """A call the engine still holds, as the records layer knows it (JSON-safe)."""

    queue: str
    arrival: float
    caller: str | None = None
    called: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None
    answer: float | None = None
    wait: float | None = None
    callback: bool = False
    transferred: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    lost: str | None = None  # why, once `lose` closes it
    expired: float | None = None  # the expiry (seconds), once `expire_callback` closes it
    withdrawn: bool = False  # once `withdraw` closes it


class CallRecorder:
    """Turns one engine's events into records for `writer`.

    `epoch` is the UNIX time of engine time 0 (stored times are `epoch + t`); `wrapup` gives
    each queue's wrap-up seconds for the records (the host configured the queues). `host` is
    free JSON state of the host's, checkpointed with the engine.
    """

    def __init__(
        self,
        engine: Engine,
        writer: RecordWriter,
        *,
        epoch: float = 0.0,
        wrapup: dict[str, float] | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.epoch = float(epoch)
        self.wrapup = dict(wrapup or {})
        self.host: dict[str, Any] = {}
        self._open: dict[str, _Open] = {}
        self._pending = Batch()

    # -- what the host tells us -------------------------------------------------------------
    def add_queue(self, id: str, **kwargs: Any) -> None:
        """Define the queue in the engine; its wrap-up goes into the records."""
        self.engine.add_queue(id, **kwargs)
        self.wrapup[id] = float(kwargs.get("wrapup", 0.0))

    def enter(
        self,
        now: float,
        call: str,
        queue: str,
        *,
        caller: str | None = None,
        called: str | None = None,
        attributes: dict[str, Any] | None = None,
        **enqueue: Any,
    ) -> list[Event]:
        """Enqueue `call` in the engine and open its record; returns the engine's events."""
        attrs = dict(attributes or {})
        dumps(attrs)  # refuse unserialisable attributes before the engine takes the call
        for name, value in (("caller", caller), ("called", called)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {value!r}")
        events = self.engine.enqueue(now, call, queue, **enqueue)
        # Timers that fell due before `now` come first, so the log stays in time order.
        early = 0
        while early < len(events) and events[early].t < now:
            early += 1
        self.feed(events[:early])
        self._open[call] = _Open(queue, now, caller, called, attrs)
        self._log(now, "enter", call, queue, None, {})
        self.feed(events[early:])
        return events

    def hangup(self, now: float, call: str) -> list[Event]:
        """Hang `call` up in the engine and record what that caused."""
        events = self.engine.hangup(now, call)
        self.feed(events)
        return events

    def callback(self, now: float, call: str, number: str | None = None) -> list[Event]:
        """The waiting caller chose a callback: the call keeps its place in the engine.

        Returns the events of the timers that fell due before `now` (recorded already), for
        the host to route as it routes any engine event."""
        rec = self._get(call)
        events = self.engine.advance(now)
        self.feed(events)  # what fell due before, first (and in the log)
        rec.callback = True
        rec.notes["callback_number"] = number or rec.caller
        self._log(now, "callback", call, rec.queue, None, {"number": number or rec.caller})
        return events

    def callback_result(
        self, now: float, call: str, queue: str | None, agent: str | None, **data: Any
    ) -> None:
        """A queue-log "callback" line for a try at calling the caller back (`result`
        connected / no-answer / busy / failed...); the call may have ended already."""
        dumps(data)
        self._log(now, "callback", call, queue, agent, data)

    def add_attributes(self, call: str, **attributes: Any) -> None:
        """Merge JSON-safe attributes into an open call's record (e.g. a callback's result)."""
        dumps(attributes)
        self._get(call).attributes.update(attributes)

    def transfer(self, now: float, call: str, target: str) -> list[Event]:
        """The agent transferred the call out; its record ends as `transferred`. Returns the
        events of the timers due before `now` (recorded already), for the host to route."""
        rec = self._get(call)
        events = self.engine.advance(now)
        self.feed(events)
        rec.transferred = target
        self._log(now, "transfer", call, rec.queue, rec.agent, {"to": target})
        return events

    def unqueued(
        self,
        arrival: float,
        end: float,
        call: str,
        outcome: str,
        *,
        caller: str | None = None,
        called: str | None = None,
        attributes: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """The CDR of a call that ended before any queue (closed hours, a failed login, a
        transfer or voicemail from the menu): the engine never held it, so no event will
        write it. Its queue is "" and it has no queue-log events."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
        if call in self._open:
            raise ValueError(f"call {call!r} is in a queue: the engine's events record it")
        check_annotations(fields)
        attrs = dict(attributes or {})
        dumps(attrs)
        record = CallRecord(
            call_id=call,
            queue="",
            arrival=self.epoch + arrival,
            outcome=outcome,
            caller=caller,
            called=called,
            end=self.epoch + end,
            attributes=attrs,
        )
        for name, value in fields.items():
            setattr(record, name, value)
        self._pending.calls.append(record)

    def lose(self, call: str, why: str) -> list[Event]:
        """Close an open call that a restart cut off (its SIP dialogs died with the process).

        It is hung up in the engine at the engine's own time, the last instant the checkpoint
        knew the call alive, and recorded with outcome "lost" and `why` (a "lost" queue-log
        event instead of the abandon or complete the hang-up would log), so it is neither
        dropped nor counted as an abandon or a finished talk."""
        rec = self._get(call)
        rec.lost = why
        now = self.engine.now
        return self._hang_up(now, call, lambda: self._close_lost(now, call, rec, None))

    def expire_callback(self, now: float, call: str, after: float) -> list[Event]:
        """Close a held callback nobody took within `after` seconds (`[callbacks]
        expire_after`): hung up in the engine at `now` and recorded with outcome
        "callback-expired", attribute `callback_result = "expired"` and a "callback-expired"
        queue-log event (`data`: `wait` since it entered the line, `after`) instead of the
        abandon the hang-up would log: the promise broken is on record, not counted as a
        caller giving up. Returns the engine's events (recorded already) for the host to
        route. For a call in line; one that timers end first (a fallback) keeps that outcome."""
        rec = self._get(call)
        rec.expired = after
        return self._hang_up(now, call, lambda: self._close_expired(now, call, rec))

    def withdraw(self, now: float, call: str) -> list[Event]:
        """Close a call the host took back from its queue before anyone answered it (a
        preview lead no agent took: nobody was waiting on the line): taken out of the engine
        at `now` and recorded with outcome "withdrawn" and a "withdraw" queue-log event
        (`data.wait`), so the record's and the engine's abandon figures count callers who
        gave up only (`Engine.withdraw`: not abandoned, not offered). Returns the engine's
        events (recorded already) for the host to route; a call timers ended first keeps
        that outcome; a connected call is a StateError and stays as it was."""
        rec = self._get(call)
        rec.withdrawn = True
        try:
            return self._hang_up(
                now, call, lambda: self._close_withdrawn(now, call, rec), self.engine.withdraw
            )
        except Exception:  # refused (connected: StateError; a clock gone back): no withdrawal
            rec.withdrawn = False
            raise

    def _hang_up(
        self, now: float, call: str, close: Callable[[], None],
        op: Callable[[float, str], list[Event]] | None = None,
    ) -> list[Event]:  # fmt: skip
        """Takes `call` out of the engine at `now` (`op`, by default a hang-up) and records
        the events; `close` writes the record when the call is still open after them (the
        engine no longer holding it closes it too, unless a timer ended it first: then the
        timer's events, taken from the engine, close it). `op`'s StateError propagates."""
        rec = self._open.get(call)
        try:
            events = (op or self.engine.hangup)(now, call)
        except KeyError:
            # A timer due by `now` (a max wait, a fallback step) may have ended the call in the
            # op's own advance: its events wait in the engine, and give the record its outcome.
            events = self.engine.take_events()
        self.feed(events)
        if rec is not None and self._open.get(call) is rec:
            close()
        return events

    def annotate(self, call: str, **fields: Any) -> None:
        """Set disposition, hold, wrapup, recording_path, voicemail_path, survey_score (or
        caller/called) on a call, open or already written."""
        check_annotations(fields)
        rec = self._open.get(call)
        if rec is not None:
            rec.notes.update(fields)
            return
        for r in self._pending.calls:  # finished but not committed yet
            if r.call_id == call:
                for name, value in fields.items():
                    setattr(r, name, value)
                return
        self._pending.updates.append((call, dict(fields)))

    def save_blob(self, name: str, data: bytes | None) -> None:
        """Write `data` as the host blob `name` (None deletes it) in the next commit, the
        same transaction as its records and checkpoint: for state too big for `host`, saved
        only when it changed (`RecordStore.blob` reads it back)."""
        self._pending.blobs[name] = None if data is None else bytes(data)

    def add_record(self, record: CallRecord) -> None:
        """A record the host makes itself, for a call the engine never held (an outbound
        dial nobody answered); written with the next commit."""
        self._pending.calls.append(record)

    # -- what the engine tells us -----------------------------------------------------------
    def feed(self, events: Iterable[Event]) -> None:
        for ev in events:
            handler = _HANDLERS.get(ev.kind)
            if handler is not None and ev.call is not None:
                handler(self, ev, ev.call)

    def _on_assign(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        # The caller's wait since arrival (the engine's restarts on overflow to another queue).
        rec.agent, rec.answer, rec.wait = ev.agent, ev.t, ev.t - rec.arrival
        if ev.queue is not None:
            rec.queue = ev.queue
        self._log(ev.t, "connect", call, rec.queue, ev.agent, {"wait": ev.wait})

    def _on_end(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        if rec.lost is not None:
            self._close_lost(ev.t, call, rec, ev.talk)
            return
        self._log(ev.t, "complete", call, rec.queue, rec.agent, {"talk": ev.talk})
        outcome = "transferred" if rec.transferred else "callback" if rec.callback else "answered"
        self._finish(call, rec, ev.t, outcome, talk=ev.talk)

    def _on_abandon(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        if rec.lost is not None:
            self._close_lost(ev.t, call, rec, None)
            return
        if rec.expired is not None:
            self._close_expired(ev.t, call, rec)
            return
        if rec.withdrawn:
            self._close_withdrawn(ev.t, call, rec)
            return
        self._log(ev.t, "abandon", call, rec.queue, None, {"wait": ev.t - rec.arrival})
        self._finish(call, rec, ev.t, "abandoned")

    def _on_withdraw(self, ev: Event, call: str) -> None:
        self._close_withdrawn(ev.t, call, self._opened(ev, call))

    def _on_timeout(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        self._log(ev.t, "timeout", call, rec.queue, None, {"wait": ev.t - rec.arrival})
        self._finish(call, rec, ev.t, "timeout")

    def _on_overflow(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        if ev.target is None:  # the queue (and its overflow chain) was full: refused
            self._log(ev.t, "timeout", call, rec.queue, None, {"why": "full"})
            self._finish(call, rec, ev.t, "refused")
            return
        self._log(ev.t, "transfer", call, rec.queue, None, {"to": ev.target, "why": "overflow"})
        rec.notes.setdefault("queues", [rec.queue]).append(ev.target)
        rec.queue = ev.target
        self._log(ev.t, "enter", call, ev.target, None, {"from": ev.queue})

    def _on_fallback(self, ev: Event, call: str) -> None:
        rec = self._opened(ev, call)
        target = ev.target or ""
        outcome = _FALLBACK_OUTCOMES.get(target, "transferred")
        event = "callback" if outcome == "callback" else "transfer"
        self._log(ev.t, event, call, rec.queue, None, {"to": target, "why": "fallback"})
        if outcome == "transferred":
            rec.transferred = target
        self._finish(call, rec, ev.t, outcome)

    # -- commits ----------------------------------------------------------------------------
    def commit(self) -> Commit:
        """Hand the pending records and a checkpoint to the writer (blocks if it is full)."""
        batch, ended = self._take()
        return Commit(self.writer.put(batch), ended)

    async def acommit(self) -> Commit:
        """As `commit`, awaiting instead of blocking when the writer is full."""
        batch, ended = self._take()
        return Commit(await self.writer.aput(batch), ended)

    def answer_time(self, call: str) -> float | None:
        """Engine time an open call was answered; None while it waits (or is not open)."""
        rec = self._open.get(call)
        return None if rec is None else rec.answer

    def open_calls(self) -> dict[str, dict[str, Any]]:
        """Calls the engine still holds, with what the records know of them."""
        return {k: dict(vars(v)) for k, v in self._open.items()}

    @classmethod
    def resume(
        cls, store: RecordStore, writer: RecordWriter, *, wrapup: dict[str, float] | None = None
    ) -> CallRecorder | None:
        """The recorder (and its engine) as of the last commit in `store`, or None if the
        store has no checkpoint yet."""
        cp = store.checkpoint()
        if cp is None:
            return None
        state = cp.state
        if state.get("version") != STATE_VERSION:
            raise StoreError(f"checkpoint state version {state.get('version')!r} is unknown")
        try:
            engine = Engine.restore(cp.engine)
            wrapup = state["wrapup"] if wrapup is None else wrapup
            rec = cls(engine, writer, epoch=state["epoch"], wrapup=wrapup)
            rec.host = state["host"]
            rec._open = {k: _Open(**v) for k, v in state["calls"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise StoreError(f"corrupt checkpoint: {e}") from None
        return rec

    # -- internals --------------------------------------------------------------------------
    def _take(self) -> tuple[Batch, list[str]]:
        batch, self._pending = self._pending, Batch()
        state = {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "host": self.host,
            "wrapup": self.wrapup,
            "calls": self.open_calls(),
        }
        batch.checkpoint = Checkpoint(self.engine.snapshot(), state)
        return batch, [r.call_id for r in batch.calls]

    def _get(self, call: str) -> _Open:
        rec = self._open.get(call)
        if rec is None:
            raise KeyError(f"call {call!r} is not open in the records")
        return rec

    def _opened(self, ev: Event, call: str) -> _Open:
        """The open record of `call`; calls the host enqueued without `enter` (a replay)
        open on their first event, arrival worked back from the wait."""
        rec = self._open.get(call)
        if rec is None:
            arrival = ev.t - ev.wait if ev.wait is not None else ev.t
            rec = self._open[call] = _Open(ev.queue or "", arrival)
        return rec

    def _log(
        self, t: float, event: str, call: str, queue: str | None, agent: str | None, data: Any
    ) -> None:
        self._pending.log.append(LogEvent(self.epoch + t, event, call, queue, agent, data))

    def _close_lost(self, t: float, call: str, rec: _Open, talk: float | None) -> None:
        state = "waiting" if rec.answer is None else "connected"
        data: dict[str, Any] = {"why": rec.lost, "state": state}
        if talk is not None:
            data["talk"] = talk
        self._log(t, "lost", call, rec.queue, rec.agent, data)
        rec.notes["lost"] = {"why": rec.lost, "state": state}
        self._finish(call, rec, t, "lost", talk=talk)

    def _close_expired(self, t: float, call: str, rec: _Open) -> None:
        data = {"wait": t - rec.arrival, "after": rec.expired}
        self._log(t, "callback-expired", call, rec.queue, None, data)
        rec.attributes["callback_result"] = "expired"
        self._finish(call, rec, t, "callback-expired")

    def _close_withdrawn(self, t: float, call: str, rec: _Open) -> None:
        self._log(t, "withdraw", call, rec.queue, None, {"wait": t - rec.arrival})
        self._finish(call, rec, t, "withdrawn")

    def _finish(
        self, call: str, rec: _Open, t: float, outcome: str, *, talk: float | None = None
    ) -> None:
        del self._open[call]
        attributes = dict(rec.attributes)
        for key in ("queues", "callback_number", "lost"):
            if key in rec.notes:
                attributes[key] = rec.notes.pop(key)
        if rec.transferred:
            attributes["transferred_to"] = rec.transferred
        wait = rec.wait if rec.answer is not None else t - rec.arrival
        record = CallRecord(
            call_id=call,
            queue=rec.queue,
            arrival=self.epoch + rec.arrival,
            outcome=outcome,
            caller=rec.caller,
            called=rec.called,
            agent=rec.agent,
            answer=None if rec.answer is None else self.epoch + rec.answer,
            end=self.epoch + t,
            wait=wait,
            talk=talk,
            wrapup=self.wrapup.get(rec.queue) if rec.answer is not None else None,
            attributes=attributes,
        )
        for name, value in rec.notes.items():
            setattr(record, name, value)
        self._pending.calls.append(record)


_HANDLERS = {
    "assign": CallRecorder._on_assign,
    "end": CallRecorder._on_end,
    "abandon": CallRecorder._on_abandon,
    "withdraw": CallRecorder._on_withdraw,
    "timeout": CallRecorder._on_timeout,
    "overflow": CallRecorder._on_overflow,
    "fallback": CallRecorder._on_fallback,
}
