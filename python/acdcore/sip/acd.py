"""The B2BUA with the engine choosing the agent: callers to a queue's number wait in the
engine, and the phone of the agent it offers the call to rings.

A caller's INVITE whose Request-URI user is a queue number (`queues` maps it to an engine
queue id) gets 100 and 180 Ringing and is enqueued in a live `Engine` (`auto_accept=False`);
any other INVITE is routed as the plain `B2bua` does. Each `offer` event rings the offered
agents' registered contacts (AgentLogin logs an agent in when its phone registers); the
agent's 200 is `Engine.accept` and the 200 to the caller, its refusal or failure
`Engine.reject` (the engine then re-offers by its rules); an `unoffer` (ring timeout, taken,
withdrawn) cancels that agent's leg. The caller's CANCEL is `Engine.hangup` (an abandon
while waiting), a BYE on either side after the answer is `Engine.hangup` too. Engine time
is the engine's time at start plus the `loop.time()` seconds since; one loop timer is set for
`Engine.next_timer_at()` and set again after every batch of engine events (an operation may add
an earlier timer), so ring timeouts, wrap-up ends and max waits fire on time without a tick.
Media is not anchored: SDP passes through as in the B2BUA, and the waiting caller hears
ringback, not music.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acdcore import Engine, StateError
from acdcore._core import Event, SipMessage, SipParseError

from .b2bua import B2bua, BridgedCall
from .dialog import new_tag
from .registrar import AgentLogin, AgentProfile, Registrar
from .transaction import ServerTransaction, TransactionLayer
from .transport import Addr
from .uac import CallFailed, OutgoingCall
from .uas import ALLOW, Uas

log = logging.getLogger(__name__)


@dataclass
class QueuedCall:
    """A caller waiting in (or served from) an engine queue, and the agent legs ringing for it."""

    id: str  # the engine's call id
    queue: str
    bridged: BridgedCall
    ringing: dict[str, OutgoingCall] = field(default_factory=dict)  # by engine agent id
    agent: str | None = None  # the engine agent that answered


@dataclass
class AcdStats:
    queued: int = 0
    offers: int = 0
    rejected: int = 0  # agent legs that failed, reported with Engine.reject
    withdrawn: int = 0  # agent legs we cancelled on an unoffer
    abandoned: int = 0


class AcdB2bua(B2bua):
    """A `B2bua` whose queue numbers route through `engine` offers; `serve_b2bua` runs it."""

    def __init__(
        self,
        registrar: Registrar,
        engine: Engine,
        queues: Mapping[str, str],
        agents: Mapping[str, AgentProfile],
        uas: Uas | None = None,
        tick: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(registrar, uas, **options)
        if engine.auto_accept:
            raise ValueError("the engine must be live (auto_accept=False): agents answer offers")
        if tick is not None and not tick > 0:
            raise ValueError(f"tick must be positive, got {tick!r}")
        known = set(engine.queues())
        for number, queue in queues.items():
            if queue not in known:
                raise ValueError(f"queue number {number!r} names unknown engine queue {queue!r}")
        self.engine = engine
        self.queue_numbers = dict(queues)
        # Longest wait between two looks at the engine's timers (None: only when one is due):
        # a safety net for engine changes made without going through `_events`.
        self.tick = tick
        self.acd = AcdStats()
        self.login = AgentLogin(registrar, engine, agents, self.now, self._events)
        self._users = {profile.agent: user for user, profile in agents.items()}
        self.queued: dict[str, QueuedCall] = {}  # by engine call id, until the engine is done
        self._by_bridged: dict[int, QueuedCall] = {}  # by id() of the caller's BridgedCall
        self._epoch: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None  # engine time `_timer` is set for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[Event] = deque()
        self._draining = False
        self.on_ended.append(self._bridged_ended)

    def now(self) -> float:
        """Engine time: the engine's own time when the server started plus the loop's
        monotonic seconds since, so it never runs behind what the engine has seen."""
        loop = asyncio.get_running_loop()
        if self._epoch is None:
            self._epoch = loop.time() - self.engine.now
        return loop.time() - self._epoch

    def attach(self, layer: TransactionLayer, local: Addr) -> None:
        super().attach(layer, local)
        self.now()
        self._loop = layer.loop
        self._arm()

    def close(self) -> None:
        """Stops the engine timer (the transport is closed by its server)."""
        self._loop = None
        self._disarm()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_at = None

    def _arm(self) -> None:
        """Sets the one loop timer for the engine's next timer (or the `tick`, if sooner)."""
        if self._loop is None:
            return
        nxt = self.engine.next_timer_at()
        if self.tick is not None:
            nxt = self.now() + self.tick if nxt is None else min(nxt, self.now() + self.tick)
        # A timer set for earlier stays: at worst it finds nothing due (its engine timer was
        # cancelled) and comes back here.
        at = self._timer_at
        if self._timer is not None and at is not None and (nxt is None or at <= nxt):
            return
        self._disarm()
        if nxt is not None:
            self._timer_at = nxt
            self._timer = self._loop.call_later(max(0.0, nxt - self.now()), self._advance)

    def _advance(self) -> None:
        self._timer = self._timer_at = None
        # A timer woken a hair early (clock rounding) fires nothing; `_events` sets it again.
        self._events(self.engine.advance(self.now()))

    # Caller side.

    def _new_call(self, txn: ServerTransaction, request: SipMessage) -> None:
        try:
            user = request.uri().user or ""
        except SipParseError:
            user = ""
        queue = self.queue_numbers.get(user)
        if queue is None:
            super()._new_call(txn, request)
            return
        if not self._admit(txn, request):
            return
        call_id = f"{request.call_id};{request.from_.tag or ''}"
        if call_id in self.queued:
            txn.respond(request.reply(482, "Loop Detected (call already queued)"))
            return
        tag = new_tag()
        bridged = BridgedCall(self._caller_leg(txn, request, tag), txn, "")
        queued = QueuedCall(call_id, queue, bridged)
        self._setting_up[txn.key[:2]] = bridged
        self.queued[call_id] = queued
        self._by_bridged[id(bridged)] = queued
        txn.respond(request.reply(180, to_tag=tag, headers=[self._contact()]))
        self.acd.queued += 1
        self._events(self.engine.enqueue(self.now(), call_id, queue))

    def _cancel(self, call: BridgedCall, txn: ServerTransaction, request: SipMessage) -> None:
        super()._cancel(call, txn, request)
        queued = self._by_bridged.get(id(call))
        if queued is not None:
            self._hang_up(queued)

    def _bridged_ended(self, call: BridgedCall) -> None:
        queued = self._by_bridged.get(id(call))
        if queued is not None:
            self._hang_up(queued)

    def _hang_up(self, queued: QueuedCall) -> None:
        """The caller (or the answering agent) is gone: the engine ends or abandons the call."""
        if self.queued.pop(queued.id, None) is None:
            return
        self._by_bridged.pop(id(queued.bridged), None)
        try:
            events = self.engine.hangup(self.now(), queued.id)
        except (KeyError, StateError) as e:
            log.warning("engine hangup of %s refused: %s", queued.id, e)
            return
        self._events(events)
        for leg in list(queued.ringing.values()):
            leg.cancel()
        queued.ringing.clear()

    # Engine events.

    def _events(self, events: Iterable[object]) -> None:
        """Acts on engine events in order; events caused while acting are queued behind."""
        self._pending.extend(e for e in events if isinstance(e, Event))
        if self._draining:
            return
        self._draining = True
        try:
            while self._pending:
                event = self._pending.popleft()
                if event.kind == "abandon":
                    self.acd.abandoned += 1
                if event.call is None:
                    continue
                queued = self.queued.get(event.call)
                if queued is None:
                    continue
                if event.kind == "offer":
                    for agent in event.agents or ([event.agent] if event.agent else []):
                        self._ring(queued, agent)
                elif event.kind == "unoffer" and event.agent is not None:
                    leg = queued.ringing.pop(event.agent, None)
                    if leg is not None:
                        self.acd.withdrawn += 1
                        leg.cancel()
                elif event.kind in ("fallback", "timeout") or (
                    event.kind == "overflow" and event.target is None
                ):
                    self._give_up(queued, event)  # an overflow with a target keeps waiting
        finally:
            self._draining = False
        self._arm()

    def _give_up(self, queued: QueuedCall, event: Event) -> None:
        """The engine let the call go without an agent: the caller gets 480 naming why."""
        self.queued.pop(queued.id, None)
        self._by_bridged.pop(id(queued.bridged), None)
        bridged = queued.bridged
        self._setup_done(bridged)
        if bridged.state != "routing":
            return
        bridged.state = "failed"
        self.stats.failed += 1
        reason = f"Queue {queued.queue}: {event.kind} {event.target or event.why or ''}".strip()
        request = bridged.invite.request
        bridged.invite.respond(request.reply(480, reason[:120], to_tag=bridged.caller.local_tag))

    # Agent side.

    def _ring(self, queued: QueuedCall, agent: str) -> None:
        user = self._users.get(agent)
        bindings = [] if user is None else self.registrar.lookup(f"sip:{user}@{self._local[0]}")
        if not bindings:
            self._reject(queued, agent)
            return
        binding = max(bindings, key=lambda b: b.expires_at)
        request = queued.bridged.invite.request
        leg = self.uac_for(binding).invite(
            binding.contact, binding.source, request.body, from_uri=request.from_.uri.text
        )
        leg.on_request = lambda _, t, r: self._agent_request(queued.bridged, t, r)
        queued.ringing[agent] = leg
        self.acd.offers += 1
        self._spawn(self._await_agent(queued, agent, leg))

    def _reject(self, queued: QueuedCall, agent: str) -> None:
        self.acd.rejected += 1
        try:
            events = self.engine.reject(self.now(), queued.id, agent)
        except (KeyError, StateError) as e:
            log.warning("engine reject of %s by %s refused: %s", queued.id, agent, e)
            return
        # Deferred: a re-offer to the same agent must not ring inside this offer's handling.
        asyncio.get_running_loop().call_soon(self._events, events)

    async def _await_agent(self, queued: QueuedCall, agent: str, leg: OutgoingCall) -> None:
        try:
            response = await leg.answered
        except CallFailed:
            if queued.ringing.get(agent) is leg:
                del queued.ringing[agent]
                self._reject(queued, agent)
            return
        bridged = queued.bridged
        if queued.ringing.get(agent) is not leg or bridged.state != "routing":
            await leg.bye()  # answered after the offer was withdrawn or the caller left
            return
        del queued.ringing[agent]
        try:
            events = self.engine.accept(self.now(), queued.id, agent)
        except (KeyError, StateError) as e:
            log.warning("engine accept of %s by %s refused: %s", queued.id, agent, e)
            await leg.bye()
            return
        queued.agent = agent
        bridged.agent = leg
        bridged.aor = f"sip:{self._users[agent]}@{self._local[0]}"
        self._setup_done(bridged)
        bridged.state = "answered"
        self.stats.answered += 1
        self.calls[bridged.caller.key] = bridged
        self._by_agent[leg.leg.key] = bridged
        body = response.body
        request = bridged.invite.request
        bridged.invite.respond(
            request.reply(
                200,
                to_tag=bridged.caller.local_tag,
                headers=[self._contact(), ("Allow", ALLOW + ", INFO")],
                body=body,
                content_type=response.content_type if body else None,
            )
        )
        self._events(events)
