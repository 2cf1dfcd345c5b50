"""The flows' Switchboard with call records: every engine event is also fed to a
`CallRecorder`, and enqueues go through `CallRecorder.enter` so each record opens with the
caller's and the called number, and the flow's attributes (login, menu keys, CRM)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from acdcore._core import Engine, Event, StateError
from acdcore.flows import Switchboard
from acdcore.records.model import dumps
from acdcore.records.recorder import CallRecorder


@dataclass
class InFlow:
    """A call in the flow that no queue has held yet: the records know nothing of it, so a
    restart reads this (saved with each commit) to record it as lost."""

    arrival: float  # engine time
    path: list[str] = field(default_factory=list)  # the flow's nodes so far


class RecordingSwitchboard(Switchboard):
    """A Switchboard whose every engine event also feeds the call records; enqueues go
    through `CallRecorder.enter` so each record opens with the caller's number."""

    def __init__(self, engine: Engine, recorder: CallRecorder, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.recorder = recorder
        self.callers: dict[str, tuple[str, str]] = {}  # engine call id -> (caller, called)
        # Calls the host put in the flow (`InFlow`); one leaves it on entering a queue.
        self.in_flow: dict[str, InFlow] = {}
        # Told of each call the flows put on virtual hold (the app's CallbackDialer).
        self.on_hold_request: Callable[[str, str, str], None] | None = None
        # Told after each operation's events are routed, even none: an agent logging in or
        # unpausing changes who is free without an event (the CallbackDialer's prediction).
        self.on_applied: Callable[[], None] | None = None

    def apply(self, events: Iterable[Event]) -> list[Event]:
        out = list(events)
        self.recorder.feed(out)
        routed = super().apply(out)
        if self.on_applied is not None:
            self.on_applied()
        return routed

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
        caller, called = self.callers.get(call, (None, None))
        try:
            dumps(attributes or {})
        except ValueError:  # a callable's attribute JSON cannot hold: queue the call anyway
            attributes = None
        events = self.recorder.enter(
            self.now(),
            call,
            queue,
            caller=caller,
            called=called,
            attributes=attributes,
            priority=priority,
            skills=skills or None,
            preferred_agent=preferred_agent,
            preferred_wait=preferred_wait if preferred_agent else 0.0,
            max_wait_exempt=max_wait_exempt,
            parked=parked,
        )
        self.in_flow.pop(call, None)  # the records hold it now
        return super().apply(events)  # enter() fed the records already

    def hold_for_callback(self, call: str, caller_id: str, queue: str) -> None:
        super().hold_for_callback(call, caller_id, queue)
        if self.on_hold_request is not None:
            self.on_hold_request(call, caller_id, queue)

    def withdraw(self, call: str) -> list[Event]:
        """Take a call nobody answered back from its queue, not as an abandon
        (`CallRecorder.withdraw`), and route what that caused."""
        events = self.recorder.withdraw(self.now(), call)
        return super().apply(events)  # recorded already

    def let_go(self, call: str) -> list[Event]:
        """The host gives up on a call of its own making (a preview, a click-to-dial, a
        callback): withdrawn while no agent has answered it (nobody was on the line, so no
        abandon), hung up once one has (the agent wraps up); a call already gone is fine."""
        try:
            events = self.recorder.withdraw(self.now(), call)
        except StateError:  # an agent has it
            return self.hangup(call)
        except KeyError:  # unknown to the records: the engine alone may still hold it
            try:
                events = self.engine.withdraw(self.now(), call)
            except StateError:
                return self.hangup(call)
            except KeyError:  # gone, perhaps by a timer due now: its events still to route
                events = self.engine.take_events()
            return self.apply(events)
        return super().apply(events)  # recorded already

    def expire_callback(self, call: str, after: float) -> list[Event]:
        """Close a held callback that waited `after` seconds unanswered
        (`CallRecorder.expire_callback`), and route what that caused."""
        events = self.recorder.expire_callback(self.now(), call, after)
        return super().apply(events)  # recorded already
