"""The live engine seen from the flows: one clock, events routed to the call they concern.

Every engine operation of the flows (enqueue, hang-up, timers falling due) goes through `apply`,
which hands each event to the waiting call's inbox, fires the callback hook for calls on
virtual hold and tells the listeners (a wallboard, call records). The engine runs timers only
when it is called, so `run()` sleeps until `Engine.next_timer_at()` and then calls `advance`:
ring timeouts, wrap-up ends and max waits fire at their own time, with no ticking in between.
An operation can set a timer earlier than the one `run()` sleeps for (an offer's ring timeout,
a wrap-up): `apply` wakes it to look again. Agent-side operations (accept, reject, login) go
through `apply` as well; a host that changes the engine some other way calls `wake()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from acdcore._core import Engine, Event, StateError


@dataclass(frozen=True)
class CallbackRequest:
    """A caller on virtual hold whose turn came: `agent` was picked for the call by `event`
    ("offer" in live mode: accept it once the caller answers; "assign" with auto_accept)."""

    call: str
    caller_id: str
    queue: str
    agent: str | None
    event: str


CallbackHook = Callable[[CallbackRequest], Awaitable[None]]
Listener = Callable[[Event], None]


class Switchboard:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] | None = None,
        tick: float | None = None,
        on_callback: CallbackHook | None = None,
        listeners: Iterable[Listener] = (),
    ) -> None:
        if tick is not None and not tick > 0:
            raise ValueError(f"tick must be positive, got {tick}")
        self.engine = engine
        start = time.monotonic() - engine.now
        self._clock = clock or (lambda: time.monotonic() - start)
        # Longest sleep of `run()` (None: until the next timer or a wake-up). Only a safety net
        # for engine changes made behind the switchboard's back without `wake()`.
        self.tick = tick
        self.on_callback = on_callback
        self.listeners = list(listeners)
        self._inboxes: dict[str, asyncio.Queue[Event]] = {}
        self._callbacks: dict[str, tuple[str, str]] = {}
        self._dispositions: dict[str, str] = {}
        self._hooks: set[asyncio.Task[None]] = set()
        # While `run()` sleeps: what wakes it, and the timer it sleeps until (None: none).
        self._wake_up: asyncio.Event | None = None
        self._sleeping_for: float | None = None

    def now(self) -> float:
        """Seconds on the engine's time line (never behind the engine's last `now`)."""
        return max(self._clock(), self.engine.now)

    def apply(self, events: Iterable[Event]) -> list[Event]:
        out = list(events)
        for ev in out:
            for listen in self.listeners:
                listen(ev)
            if ev.call is None:
                continue
            inbox = self._inboxes.get(ev.call)
            if inbox is not None:
                inbox.put_nowait(ev)
            held = self._callbacks.get(ev.call)
            if held is not None and ev.kind in ("offer", "assign", "fallback", "timeout"):
                del self._callbacks[ev.call]
                if ev.kind in ("offer", "assign") and self.on_callback is not None:
                    agent = ev.agent or (ev.agents[0] if ev.agents else None)
                    req = CallbackRequest(ev.call, held[0], ev.queue or held[1], agent, ev.kind)
                    task = asyncio.ensure_future(self.on_callback(req))
                    self._hooks.add(task)
                    task.add_done_callback(self._hooks.discard)
        self.wake()
        return out

    def wake(self) -> None:
        """Tells `run()` to look at the engine's next timer again when it is earlier than the
        one it sleeps for (every `apply` does; cheap when nothing changed)."""
        if self._wake_up is None or self._wake_up.is_set():
            return
        nxt = self.engine.next_timer_at()
        if nxt is not None and (self._sleeping_for is None or nxt < self._sleeping_for):
            self._wake_up.set()

    def watch(self, call: str) -> asyncio.Queue[Event]:
        return self._inboxes.setdefault(call, asyncio.Queue())

    def unwatch(self, call: str) -> None:
        self._inboxes.pop(call, None)

    def enqueue(
        self,
        call: str,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        preferred_agent: str | None = None,
        preferred_wait: float = 0.0,
        attributes: dict[str, Any] | None = None,
        max_wait_exempt: bool = False,
        parked: bool = False,
    ) -> list[Event]:
        """`attributes`: what the flow learnt of the call (login, menu keys, CRM), for a
        subclass that records calls; the engine does not route on them. `max_wait_exempt`:
        the queue's max wait never applies (a callback entering again); `parked`: in line but not
        offered until `Engine.unpark` (a callback dialling its customer first)."""
        return self.apply(
            self.engine.enqueue(
                self.now(),
                call,
                queue,
                priority=priority,
                skills=skills or None,
                preferred_agent=preferred_agent,
                preferred_wait=preferred_wait if preferred_agent else 0.0,
                max_wait_exempt=max_wait_exempt,
                parked=parked,
            )
        )

    def hangup(self, call: str) -> list[Event]:
        """End the call in the engine (an abandon while waiting, the end of talk once assigned);
        a call the engine no longer holds is fine (a timer due now that ended it has its
        events routed)."""
        try:
            events = self.engine.hangup(self.now(), call)
        except (KeyError, StateError):
            events = self.engine.take_events()
        return self.apply(events)

    def waiting(self, call: str) -> bool:
        """Whether the call is in line (held for its preferred agent counts)."""
        try:
            return self.engine.call(call).state in ("waiting", "held")
        except KeyError:
            return False

    def hold_for_callback(self, call: str, caller_id: str, queue: str) -> None:
        """The caller hung up but keeps the call's place; the hook fires when its turn comes.

        The call is exempt from its queue's `max_wait` from now on (`Engine.exempt_max_wait`):
        nobody is on the line to time out, and a callback promised must not vanish at a limit
        meant for live callers. Its escalation steps still apply."""
        self._callbacks[call] = (caller_id, queue)
        # At the engine's own time: no timer runs, so nothing is routed from inside the request
        # (nor, at a restart, before the listeners are attached).
        with contextlib.suppress(KeyError, StateError):  # gone, or already with an agent
            self.apply(self.engine.exempt_max_wait(self.engine.now, call))

    def on_hold(self) -> list[str]:
        return list(self._callbacks)

    def dispose(self, call: str, code: str) -> None:
        """The agent's disposition code for a call (set during or after the talk)."""
        self._dispositions[call] = code

    def disposition(self, call: str) -> str | None:
        return self._dispositions.get(call)

    async def run(self) -> None:
        """Run the engine's timers, each at its time, until cancelled."""
        wake_up = self._wake_up = asyncio.Event()
        try:
            while True:
                self.apply(self.engine.advance(self.now()))
                nxt = self.engine.next_timer_at()
                delay = None if nxt is None else max(0.0, nxt - self.now())
                if self.tick is not None:
                    delay = self.tick if delay is None else min(delay, self.tick)
                self._sleeping_for = nxt
                wake_up.clear()
                # A timer woken for a hair early (clock rounding) just loops once more.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake_up.wait(), delay)
        finally:
            self._wake_up = None
            self._sleeping_for = None

    async def close(self) -> None:
        for task in list(self._hooks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
