"""`CallbackDialer`: virtual hold carried through — the caller who asked for a callback hung
up with the call still in line; when its turn comes, we call back. Two orders
(`[callbacks] order`), each a trade-off a manager reads in the records (`callback_order`,
`callback_agent_wait`: the agent's seconds waiting for the customer, `callback_connect_wait`:
the customer's seconds waiting for the agent after answering).

Agent first (the default): the engine's `offer` of a held call rings the agent's phone as for
any call (its From shows the customer's number); the agent's answer is the engine's `accept`.
Only then is the customer dialled (`[callbacks] uri` with `{number}`), the agent hearing music
meanwhile; the customer's 200 bridges the two legs' media. Why it is the default:

- a customer who picks up is never left waiting for an agent or in silence (the nuisance an
  outbound call must not make);
- the agent's side keeps the engine's offer semantics exactly as for inbound calls (the
  queue's `ring_timeout`, the no-answer count, reject and rest); dialling the customer while
  the offer rang would have to fit the customer's ringing inside that ring timeout.
Its cost: the agent waits through the customer's ringing (10-20 s a callback, or a whole
`ring_timeout` when nobody answers).

Customer first: the held call is parked in the engine (`Engine.park`: it keeps its place and
its timers, agents freeing up pass it by). When it is at the head of its queue (position 1)
and an agent eligible for it is predicted free within `lead_time` seconds (the customer's
expected time to answer) — one available now or a wrap-up ending by then
(`Engine.agent_free_in`), or the head of the line's expected wait (mean handle time over
the staffed agents, counted from when it came to the head) within it — the customer is
dialled. Of a queue's parked callbacks the
one the engine ranks first is looked at, and one customer per queue is dialled at a time.
On their answer they hear `connect_prompt`, then music, and the same engine call is released
(`Engine.unpark`) from its place: offered to agents as any call, the agent's answer bridges.
Past `max_connect_wait` without an agent they hear the queue's position and wait
announcements (the flow's queue node for that queue) between music: still in line, never in
silence. A customer hanging up first is an abandon with the callback attributes
(`callback_result = "abandoned"`). Why not the default: a prediction can be wrong (a wrap-up
ends but the agent is given a call that arrived since), and then the customer waits. One
customer per queue is dialled at a time (the head); the next one when the first leaves the
line. The check runs after each engine event and operation (`RecordingSwitchboard.on_applied`:
an agent logging in brings no event) and at the predicted moment (one timer), never by
polling; it looks at one callback per queue.

A customer who does not answer within `ring_timeout`, is busy or fails: in agent-first the
agent leg is ended and the engine call hung up (the agent wraps up and is free); in
customer-first no agent was involved and the engine call is withdrawn (`Engine.withdraw`:
no abandon in the engine; the record "withdrawn", saying `callback_result`). After
`retry_after` seconds the callback enters its queue again as a new engine call
`<call>~cb<n>` (parked at once in customer-first) whose record names the original
(`callback_of`), up to `max_attempts` tries; the last failure writes a queue-log "callback"
line with `result = "failed"`. Each try's record carries `callback_result` and
`callback_attempt`.

A held callback is exempt from its queue's `max_wait` (the switchboard's `hold_for_callback`,
and a retry enters exempt): no caller is on the line to time out, and a promise must not
vanish at a limit meant for live callers. `[callbacks] expire_after` bounds it instead: a
callback still in line that long after the request (retries included) leaves the engine with
outcome and queue-log "callback-expired". One ringing an agent, connected, or whose customer is
being dialled or is on the line when it falls due is being served and is left alone; if the
offer comes back to the line, it expires then. The request time is engine time (`Held.since`),
in the record's `callback_requested` attribute (UNIX time) and in saved retries, so a restart
arms the same expiries. After a restart (`resume`) each callback in line is parked again in
customer-first (a customer who was on the line lost the call with the process: they are
dialled again) and released in agent-first.

The engine's `Switchboard.on_callback` hook fires once, for the first agent of the first
offer; the dialer needs every offer (ring-all, re-offers after a reject or a ring timeout), so
it listens to the switchboard's events instead. State is in dicts by engine call id and
(call, agent): no scan over calls or legs per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from acdcore._core import (
    Event,
    NotAcceptableError,
    SipMessage,
    SipParseError,
    StateError,
    Uri,
)
from acdcore.app.legs import AgentLeg, place_leg, start_media, uri_transport
from acdcore.flows.model import Callback, Flow, Queue
from acdcore.media.bridge import bridge
from acdcore.media.session import RtpSession
from acdcore.sip.transaction import ServerTransaction
from acdcore.sip.uac import CallFailed

if TYPE_CHECKING:
    from acdcore.app.server import ContactCenter

log = logging.getLogger(__name__)
BUSY = (486, 600)  # Busy Here, Busy Everywhere


@dataclass
class Held:
    """A callback owed: the engine holds `call` in line for it."""

    number: str  # the caller's number, put into the dial plan
    queue: str
    origin: str  # the caller's own engine call id (a retry's call id differs)
    called: str = ""
    attempt: int = 1
    priority: int = 0
    since: float = 0.0  # engine time the customer asked for the callback (expiry counts from it)


HELD_FIELDS = tuple(f.name for f in fields(Held))


@dataclass
class CallbackStats:
    requested: int = 0
    attempts: int = 0  # customer dials placed
    connected: int = 0
    failed: int = 0  # callbacks given up after the last try
    expired: int = 0  # callbacks still in line `expire_after` seconds after the request
    to_customer: int = 0  # RTP packets sent to customers on bridged callbacks
    from_customer: int = 0  # RTP packets received from them
    abandoned: int = 0  # customer-first: customers who hung up before an agent came


@dataclass
class Connecting:
    """Customer first: the customer's leg, dialled before any agent, until the talk ends."""

    done: asyncio.Future[AgentLeg | None]  # the agent leg that answered; None: the call left
    leg: AgentLeg | None = None  # the customer's leg, once answered
    answered: float = 0.0  # engine time the customer answered


class CallbackDialer:
    def __init__(self, center: ContactCenter) -> None:
        self.center = center
        self.config = center.config.callbacks
        self.users = {a.id: a.user for a in center.config.agents}  # engine agent id -> SIP user
        self.held: dict[str, Held] = {}  # engine call id -> the callback it stands for
        self.retrying: dict[str, tuple[Held, float]] = {}  # origin -> (last try, due UNIX time)
        self.ringing: dict[tuple[str, str], AgentLeg] = {}  # (call, agent) -> agent leg ringing
        self.stats = CallbackStats()
        self._live: dict[str, AgentLeg] = {}  # SIP Call-ID -> leg placed, not yet closed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._expiry: dict[str, asyncio.TimerHandle] = {}  # engine call id -> its expiry
        self.customer_first = self.config.order == "customer-first"
        # Customer first: queue -> its parked callbacks not yet dialled, oldest request first
        # (a dict as an ordered set), and the callbacks whose customer is dialled or on the line.
        self.parked: dict[str, dict[str, None]] = {}
        self.connecting: dict[str, Connecting] = {}
        self._check: asyncio.Handle | None = None  # a `_consider` on its way
        self._wake: asyncio.TimerHandle | None = None  # the next predicted dialling moment
        # Parked call -> switchboard time it came to the head of its line (its expected wait
        # for an agent counts from then).
        self._head_since: dict[str, float] = {}
        self._nodes: dict[str, Queue | None] = {}  # queue -> the flow's node announcing it

    def check(self, flow: Flow) -> None:
        """Warn at start when the flow offers callbacks that nobody could dial."""
        if self.config.uri is None and any(isinstance(n, Callback) for n in flow.nodes.values()):
            log.warning("the flow has callback nodes but [callbacks] has no uri: none will be made")

    def owns(self, call: str) -> bool:
        return call in self.held

    # What the flow and the engine tell us.

    def requested(self, call: str, caller_id: str, queue: str) -> None:
        """The flow put `call` on virtual hold: queue-log "callback" and the record marked."""
        if call in self.held:
            return  # already known
        sb = self.center.sb
        priority = 0
        with contextlib.suppress(KeyError):
            priority = round(sb.engine.call(call).priority)
        called = sb.callers.get(call, (caller_id, ""))[1]
        now = sb.now()
        self.held[call] = Held(caller_id, queue, call, called, 1, priority, now)
        self.stats.requested += 1
        # What fell due first goes to the flows and listeners too; at the engine's own time the
        # recorder's advance then finds nothing more to run. Customer first, `park` runs them.
        if not (self.customer_first and self._park(call, now)):
            sb.apply(sb.engine.advance(now))
        recorder = self.center.recorder
        with contextlib.suppress(KeyError):  # a call entered without the records: no row
            recorder.callback(now, call, caller_id)
            recorder.add_attributes(
                call,
                callback_attempt=1,
                callback_requested=recorder.epoch + now,
                callback_order=self.config.order,
            )
        self._arm(call)
        self.kick()

    def _park(self, call: str, now: float) -> bool:
        """Customer first: the held call stays in line unoffered until its customer answers.
        False when the engine has it no longer waiting (gone, or ringing an agent already)."""
        sb = self.center.sb
        try:
            sb.apply(sb.engine.park(now, call))
        except (KeyError, StateError):
            return False
        held = self.held.get(call)
        if held is not None:
            self.parked.setdefault(held.queue, {})[call] = None
        return True

    def resume(self) -> int:
        """After a restart from the records (`CallRecorder.resume`): the callbacks the restored
        engine still holds in line are ours again. Returns how many. (A retry that was waiting
        out `retry_after` is not in the engine: `resume_retries` takes those back.)"""
        for call, rec in self.center.recorder.open_calls().items():
            if not rec["callback"] or rec["answer"] is not None or call in self.held:
                continue
            attrs = rec["attributes"]
            number = rec["notes"].get("callback_number") or rec["caller"] or ""
            held = Held(number, rec["queue"], attrs.get("callback_of", call), rec["called"] or "")
            held.attempt = int(attrs.get("callback_attempt", 1))
            requested = attrs.get("callback_requested")  # absent in records of older versions
            held.since = (
                rec["arrival"]
                if requested is None
                else float(requested) - self.center.recorder.epoch
            )
            with contextlib.suppress(KeyError):
                held.priority = round(self.center.engine.call(call).priority)
            self.held[call] = held
            # The order may have changed with the restart; a customer on the line lost the call
            # with the process: parked again, they are dialled again.
            if self.customer_first:
                self._park(call, self.center.sb.now())
            else:
                sb = self.center.sb
                with contextlib.suppress(KeyError, StateError):
                    sb.apply(sb.engine.unpark(sb.now(), call))
        return len(self.held)

    def arm_expiries(self) -> int:
        """After `resume`: each held callback's expiry, due when it was (at once if that time
        passed during the downtime). Needs the running loop: called from `start`."""
        for call in self.held:
            self._arm(call)
        self.kick()  # the callbacks `resume` parked: due now, maybe
        return len(self._expiry)

    def _arm(self, call: str) -> None:
        after = self.config.expire_after
        held = self.held.get(call)
        if after is None or held is None:
            return
        old = self._expiry.pop(call, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, held.since + after - self.center.sb.now())
        self._expiry[call] = asyncio.get_running_loop().call_later(delay, self._expire, call)

    def _overdue(self, held: Held) -> bool:
        after = self.config.expire_after
        return after is not None and self.center.sb.now() >= held.since + after

    def _expire(self, call: str) -> None:
        """The callback's expiry fell due: one still in line leaves the engine, recorded as
        "callback-expired"; one ringing an agent or connected is being served."""
        self._expiry.pop(call, None)
        held = self.held.get(call)
        after = self.config.expire_after
        if held is None or after is None:
            return
        if call in self.connecting:
            return  # its customer is being dialled or on the line: being served
        sb = self.center.sb
        sb.apply(sb.engine.advance(sb.now()))  # what fell due first (a fallback may end it)
        if call not in self.held or not sb.waiting(call):
            return  # gone, or with an agent: an offer back in line expires it then
        self._drop(call)
        self.stats.expired += 1
        log.info("callback %s expired: still in line %.0f s after the request", call, after)
        try:
            sb.expire_callback(call, after)
        except KeyError:  # entered without the records: the engine call still goes
            sb.hangup(call)

    def _drop(self, call: str) -> Held | None:
        """`call` is no longer a callback we owe: forget it and its expiry."""
        self._head_since.pop(call, None)
        handle = self._expiry.pop(call, None)
        if handle is not None:
            handle.cancel()
        held = self.held.pop(call, None)
        if held is not None:
            waiting = self.parked.get(held.queue)
            if waiting is not None:
                waiting.pop(call, None)
                if not waiting:
                    del self.parked[held.queue]
        connecting = self.connecting.get(call)
        if connecting is not None and not connecting.done.done():
            connecting.done.set_result(None)  # the customer's side learns the call left
        return held

    def on_event(self, ev: Event) -> None:
        """Switchboard listener for held calls: offers ring agents, unoffers cancel them."""
        if self.parked:
            self.kick()  # any event may make a parked callback due (a wrap-up, a call leaving)
        call = ev.call
        if call is None or call not in self.held:
            return
        if ev.kind == "offer":
            for agent in ev.agents or ([ev.agent] if ev.agent else []):
                self._ring_agent(call, agent)
        elif ev.kind == "unoffer" and ev.agent is not None:
            leg = self.ringing.pop((call, ev.agent), None)
            if leg is not None:
                leg.call.cancel()
            if self._overdue(self.held[call]):  # back in line past its expiry, unless re-offered
                asyncio.get_running_loop().call_soon(self._expire, call)
        elif ev.kind == "overflow" and ev.target is not None:
            held = self.held[call]
            waiting = self.parked.get(held.queue, {})
            if call in waiting:
                del waiting[call]
                if not waiting:
                    del self.parked[held.queue]
                self.parked.setdefault(ev.target, {})[call] = None
            held.queue = ev.target
        elif ev.kind in ("timeout", "fallback", "abandon", "withdraw", "overflow"):
            self._drop(call)  # the engine let it go; the records say how

    # The agent.

    def _ring_agent(self, call: str, agent: str) -> None:
        center = self.center
        held = self.held[call]
        if self.config.uri is None:
            log.warning("call %s: a callback is due but [callbacks] has no uri", call)
            self._spawn(self._give_up(call, agent, "no [callbacks] uri in the config"))
            return
        host = center.address[0]
        user = self.users.get(agent)
        bindings = [] if user is None else center.registrar.lookup(f"sip:{user}@{host}")
        leg = None
        if bindings:
            binding = max(bindings, key=lambda b: b.expires_at)
            leg = self._place(
                call, agent, binding.contact, binding.source, held.number, binding.transport
            )
        if leg is None:
            self._reject(call, agent)
            return
        leg.call.on_request = lambda _, txn, request: center.legs._agent_request(leg, txn, request)
        leg.rtp.on_digit = lambda d: center.legs._agent_key(leg, d)
        self.ringing[(call, agent)] = leg
        center.stats.offers += 1
        self._spawn(self._agent_answers(leg))

    def _place(
        self,
        call: str,
        target: str,
        uri: str,
        dest: tuple[str, int],
        number: str | None,
        transport: str | None,
    ) -> AgentLeg | None:
        host = self.center.address[0]
        from_uri = None if number is None else f"sip:{number}@{host}"
        leg = place_leg(self.center, call, target, uri, dest, from_uri, transport)
        if leg is None:
            return None
        self._live[leg.call.leg.call_id] = leg
        return leg

    def _reject(self, call: str, agent: str) -> None:
        sb = self.center.sb
        try:
            events = sb.engine.reject(sb.now(), call, agent)
        except (KeyError, StateError) as e:
            log.warning("engine reject of callback %s by %s refused: %s", call, agent, e)
            return
        # Deferred: a re-offer must not ring inside the handling of this one.
        loop = asyncio.get_running_loop()
        loop.call_soon(sb.apply, events)
        held = self.held.get(call)
        if held is not None and self._overdue(held):  # back in line past its expiry (a reject
            loop.call_soon(self._expire, call)  # emits no unoffer), unless re-offered first

    async def _agent_answers(self, leg: AgentLeg) -> None:
        key = (leg.call_id, leg.target)
        ok = await self.center.legs._answered(leg)
        if self.ringing.get(key) is not leg:  # withdrawn meanwhile
            await self._close(leg)
            return
        del self.ringing[key]
        if not ok:
            self.center.stats.agent_failures += 1
            self._close_now(leg)
            self._reject(leg.call_id, leg.target)
            return
        sb = self.center.sb
        try:
            sb.apply(sb.engine.accept(sb.now(), leg.call_id, leg.target))
        except (KeyError, StateError) as e:
            log.warning(
                "engine accept of callback %s by %s refused: %s", leg.call_id, leg.target, e
            )
            await self._close(leg)
            return
        connecting = self.connecting.get(leg.call_id)
        if connecting is not None and connecting.done.done():  # the customer left meanwhile
            await self._close(leg)
            sb.hangup(leg.call_id)
        elif connecting is not None:
            connecting.done.set_result(leg)  # `_dial_first` bridges and owns the leg now
        else:  # agent first (or a call offered before it could be parked): dial now
            await self._call_customer(leg)

    # The customer.

    async def _call_customer(self, agent: AgentLeg) -> None:
        """Agent first: the agent answered; dial the customer while the agent hears music."""
        center, sb = self.center, self.center.sb
        call = agent.call_id
        held = self.held[call]
        music = center.prompts.encoded(center.config.music, agent.rtp.codec)
        if music is not None:
            agent.rtp.play_encoded(music, loop=True)
        self.stats.attempts += 1
        customer: AgentLeg | None = None
        accepted = sb.now()
        try:
            customer, why, status = await self._dial(call, held, agent.call.ended, "agent-left")
            agent.rtp.stop_playing()
            if customer is None:
                await self._failed(agent, call, held, why, status)
                return
            await self._connected(agent, customer, held, sb.now() - accepted, 0.0)
        finally:
            await self._close(agent)
            if customer is not None:
                await self._close(customer)

    async def _connected(
        self, agent: AgentLeg, customer: AgentLeg, held: Held, agent_wait: float, wait: float
    ) -> None:
        """Both legs answered: the queue-log "connected", the talk, then the engine call ends.
        `agent_wait`: the agent's seconds waiting for the customer; `wait`: the customer's."""
        center, sb = self.center, self.center.sb
        call = agent.call_id
        center.recorder.callback_result(
            sb.now(),
            call,
            held.queue,
            agent.target,
            result="connected",
            attempt=held.attempt,
            number=held.number,
            sip_call_id=customer.call.leg.call_id,
            order=self.config.order,
            agent_wait=round(agent_wait, 3),
            connect_wait=round(wait, 3),
        )
        with contextlib.suppress(KeyError):
            center.recorder.add_attributes(
                call, callback_agent_wait=agent_wait, callback_connect_wait=wait
            )
        self.stats.connected += 1
        await self._talk(agent, customer)
        with contextlib.suppress(KeyError):
            center.recorder.add_attributes(
                call,
                callback_result="connected",
                callback_rtp={
                    "to_customer": customer.rtp.stats.sent,
                    "from_customer": customer.rtp.stats.received,
                },
            )
        self.stats.to_customer += customer.rtp.stats.sent
        self.stats.from_customer += customer.rtp.stats.received
        self._drop(call)
        sb.hangup(call)  # the talk ends in the engine: CDR outcome "callback"
        code = sb.disposition(call) or center.config.default_disposition
        with contextlib.suppress(KeyError, ValueError):
            center.recorder.annotate(call, disposition=code)

    async def _dial(
        self, call: str, held: Held, gone: asyncio.Future[Any], gone_why: str
    ) -> tuple[AgentLeg | None, str, int | None]:
        """The customer's leg once answered, else None, why ("no-answer", "busy", "failed",
        or `gone_why` when `gone` completes first) and the SIP status."""
        assert self.config.uri is not None  # checked before any dialling
        uri = self.config.uri.format(number=held.number)
        try:
            target = Uri.parse(uri)
        except SipParseError as e:
            log.warning("callback %s: dial plan gave a bad URI %r: %s", call, uri, e)
            return None, "failed", None
        dest = (target.host, target.port or 5060)
        leg = self._place(call, uri, uri, dest, None, uri_transport(target))
        if leg is None:
            return None, "failed", None
        leg.call.on_request = _customer_request
        answered = leg.call.answered
        waits: set[asyncio.Future[Any]] = {answered, gone}
        done, _ = await asyncio.wait(
            waits, timeout=self.config.ring_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if answered not in done:
            leg.call.cancel()  # a 200 crossing the CANCEL is acknowledged and ended by the UAC
            self._close_now(leg)
            return None, gone_why if gone in done else "no-answer", None
        try:
            response = answered.result()
        except CallFailed as e:
            self._close_now(leg)
            return None, "busy" if e.status in BUSY else "failed", e.status
        try:
            await start_media(leg.rtp, response.body, self.center.address[0])
        except (NotAcceptableError, SipParseError) as e:
            log.warning("callback %s: customer answered with unusable SDP: %s", call, e)
            await self._close(leg)
            return None, "failed", 488
        return leg, "connected", response.status

    # Customer first.

    def kick(self) -> None:
        """A `_consider` soon (one however many ask), when serving: after each engine event
        and each operation (`RecordingSwitchboard.on_applied`), so nothing polls."""
        if not self.customer_first or not self.parked or self._check is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving yet (a restart's `resume`): `arm_expiries` kicks
            return
        self._check = loop.call_soon(self._consider)

    def _consider(self) -> None:
        """Dial the customer of each queue's head callback that is due (`_due_in`); wake at the
        earliest predicted moment of the others. One callback dialled for per queue: the one
        the engine ranks first (priority, then arrival), which need not be the first to ask."""
        self._check = None
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        wake: float | None = None
        for queue, waiting in list(self.parked.items()):
            call = self._first_in_line(waiting)
            if call is None:
                continue
            due = self._due_in(call, queue)
            if due is None:
                continue
            if due <= 0.0:
                self._drop_parked(call, queue)
                self._spawn(self._dial_first(call))
                continue
            wake = due if wake is None else min(wake, due)
        if wake is not None:
            self._wake = asyncio.get_running_loop().call_later(wake, self._consider)

    def _drop_parked(self, call: str, queue: str) -> None:
        self._head_since.pop(call, None)
        waiting = self.parked.get(queue, {})
        waiting.pop(call, None)
        if not waiting:
            self.parked.pop(queue, None)

    def _first_in_line(self, waiting: dict[str, None]) -> str | None:
        """The parked call of a queue the engine ranks first: a position query (O(log n)) per
        parked callback of that queue, a few, never a scan of the queue's calls. The dict's
        order is the order callers asked in, not the engine's."""
        engine = self.center.sb.engine
        best: tuple[int, str] | None = None
        for call in waiting:
            try:
                at = engine.position(call)
            except (KeyError, StateError):
                continue
            if best is None or at < best[0]:
                best = (at, call)
        return None if best is None else best[1]

    def _due_in(self, call: str, queue: str) -> float | None:
        """Seconds until the customer of `call` should be dialled (0 or less: now); None when
        no agent is in sight (the next engine event looks again). Due at the head of the queue
        `lead_time` before an eligible agent is expected free: one free now or a wrap-up ending
        (`agent_free_in`), or the head of the line's expected wait counted from when it came to
        the head, the mean handle time over the staffed agents (when the next of them
        finishes). So a small team whose agents free up straight into the next live caller
        (no wrap-up) still comes to the callback. Not the queue's `estimated_wait`: that is a
        new caller's, at the back, behind the callback and everyone after it."""
        sb = self.center.sb
        engine = sb.engine
        lead = self.config.lead_time
        try:
            if engine.position(call) != 1:
                self._head_since.pop(call, None)
                return None
            free_in = engine.agent_free_in(call)
            stats = engine.queue_stats(queue)
        except (KeyError, StateError, ValueError):
            return None
        now = sb.now()
        since = self._head_since.setdefault(call, now)
        agents = stats.agents
        staffed = sum(agents.values()) - agents.get("logged-out", 0) - agents.get("paused", 0)
        waits = []
        if free_in is not None:
            waits.append(engine.now + free_in - lead - now)  # `free_in` from the engine's time
        if stats.aht is not None and staffed > 0:
            waits.append(since + stats.aht / staffed - lead - now)
        return min(waits) if waits else None

    async def _dial_first(self, call: str) -> None:
        """Customer first: dial; on the answer release the call to agents and hold the
        customer until one answers (`_hold_customer`), then bridge."""
        held = self.held.get(call)
        if held is None:
            return
        if self.config.uri is None:
            log.warning("call %s: a callback is due but [callbacks] has no uri", call)
            await self._give_up(call, None, "no [callbacks] uri in the config")
            return
        sb = self.center.sb
        connecting = Connecting(asyncio.get_running_loop().create_future())
        self.connecting[call] = connecting
        self.stats.attempts += 1
        customer: AgentLeg | None = None
        try:
            customer, why, status = await self._dial(call, held, connecting.done, "gone")
            if customer is None:
                if why != "gone":  # the engine let the call go meanwhile: its records say how
                    await self._failed(None, call, held, why, status)
                return
            connecting.leg, connecting.answered = customer, sb.now()
            self.center.recorder.callback_result(
                sb.now(),
                call,
                held.queue,
                None,
                result="answered",
                attempt=held.attempt,
                number=held.number,
                sip_call_id=customer.call.leg.call_id,
                order=self.config.order,
            )
            agent = await self._hold_customer(call, held, connecting)
            if agent is None:
                return
            try:
                await self._connected(agent, customer, held, 0.0, sb.now() - connecting.answered)
            finally:
                await self._close(agent)
        finally:
            self.connecting.pop(call, None)
            if customer is not None:
                await self._close(customer)

    async def _hold_customer(
        self, call: str, held: Held, connecting: Connecting
    ) -> AgentLeg | None:
        """The customer is on the line: the call is released to agents; the customer hears the
        connect prompt, music, then the queue's announcements. The agent leg that answered,
        or None when the customer hung up or the call left the engine (recorded here)."""
        center, sb = self.center, self.center.sb
        assert connecting.leg is not None
        customer = connecting.leg
        media = asyncio.ensure_future(
            self._treatment(call, held, customer.rtp, connecting.answered)
        )
        try:
            try:
                sb.apply(sb.engine.unpark(sb.now(), call))
            except (KeyError, StateError):  # gone since the dial began
                return None
            waits: set[asyncio.Future[Any]] = {connecting.done, customer.call.ended}
            await asyncio.wait(
                waits, timeout=center.flow.max_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            media.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await media
            customer.rtp.stop_playing()
        if connecting.done.done():
            return connecting.done.result()
        wait = sb.now() - connecting.answered
        result = "abandoned" if customer.call.ended.done() else "connect-timeout"
        log.info("callback %s: customer %s after %.1f s on the line", call, result, wait)
        with contextlib.suppress(KeyError):
            center.recorder.add_attributes(call, callback_result=result, callback_connect_wait=wait)
        self.stats.abandoned += 1
        sb.hangup(call)  # an abandon in the engine; an agent ringing has the offer withdrawn
        return None

    async def _treatment(self, call: str, held: Held, rtp: RtpSession, answered: float) -> None:
        """What a customer on the line hears until an agent comes: the connect prompt, music;
        past `max_connect_wait`, the queue's position and wait announcements between music."""
        center, sb = self.center, self.center.sb
        prompt = center.prompts.encoded(self.config.connect_prompt, rtp.codec)
        if prompt is not None:
            await rtp.play_encoded(prompt)
        self._music(rtp)
        await asyncio.sleep(max(0.0, answered + self.config.max_connect_wait - sb.now()))
        node = self._queue_node(held.queue)
        every = 30.0 if node is None else node.announce_every
        while True:  # cancelled when the agent comes or the customer leaves
            await self._announce(call, held, rtp, node)
            self._music(rtp)
            await asyncio.sleep(every)

    def _music(self, rtp: RtpSession) -> None:
        music = self.center.prompts.encoded(self.center.config.music, rtp.codec)
        if music is not None:
            rtp.play_encoded(music, loop=True)

    async def _announce(self, call: str, held: Held, rtp: RtpSession, node: Queue | None) -> None:
        engine = self.center.sb.engine
        names = []
        try:
            position = engine.position(call)
        except (KeyError, StateError):
            return
        position_prompt = "position-{position}" if node is None else node.position_prompt
        wait_prompt = "wait-{minutes}-minutes" if node is None else node.wait_prompt
        if position_prompt is not None:
            names.append(position_prompt.format(position=position))
        wait = engine.queue_stats(held.queue).estimated_wait
        if wait_prompt is not None and wait is not None:
            names.append(wait_prompt.format(minutes=max(1, math.ceil(wait / 60))))
        for name in names:
            codes = self.center.prompts.encoded(name, rtp.codec)
            if codes is not None:
                await rtp.play_encoded(codes)

    def _queue_node(self, queue: str) -> Queue | None:
        """The flow's queue node for `queue` (its announcements), the first one found."""
        if queue not in self._nodes:
            nodes = self.center.flow.nodes.values()
            found = [n for n in nodes if isinstance(n, Queue) and n.queue == queue]
            self._nodes[queue] = found[0] if found else None
        return self._nodes[queue]

    async def _talk(self, agent: AgentLeg, customer: AgentLeg) -> None:
        """Bridge until either side hangs up (bounded by the flow's time limit)."""
        link = bridge(agent.rtp, customer.rtp)
        try:
            ends: set[asyncio.Future[str]] = {agent.call.ended, customer.call.ended}
            await asyncio.wait(
                ends,
                timeout=self.center.flow.max_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            link.close()
            self.center.stats.relayed += link.relayed

    async def _failed(
        self, agent: AgentLeg | None, call: str, held: Held, why: str, status: int | None
    ) -> None:
        """This try failed: log it, free the agent (agent first), and retry later or record
        the failure. Customer first, no agent was rung: the engine call is withdrawn."""
        center, sb = self.center, self.center.sb
        last = held.attempt >= self.config.max_attempts
        log.info("callback %s try %d: %s (%s)", call, held.attempt, why, status)
        center.recorder.callback_result(
            sb.now(),
            call,
            held.queue,
            None if agent is None else agent.target,
            result=why,
            attempt=held.attempt,
            number=held.number,
            status=status,
        )
        with contextlib.suppress(KeyError):
            center.recorder.add_attributes(call, callback_result="failed" if last else why)
        if agent is not None:
            await self._close(agent)
            self._drop(call)
            sb.hangup(call)  # the agent goes to wrap-up, then is free
        else:  # customer first: nobody was reached, nobody rung
            self._drop(call)
            sb.let_go(call)
        if last:
            self._record_failure(call, held)
        else:
            self.schedule_retry(held)

    def _record_failure(self, call: str, held: Held) -> None:
        sb = self.center.sb
        self.stats.failed += 1
        self.center.recorder.callback_result(
            sb.now(),
            call,
            held.queue,
            None,
            result="failed",
            attempts=held.attempt,
            number=held.number,
            of=held.origin,
        )

    def schedule_retry(self, previous: Held, due: float | None = None) -> None:
        """The next try at `previous.origin`'s callback, at UNIX time `due` (default: after
        `retry_after`). Until it is due it is in `retrying`, which each checkpoint saves, so
        a restart schedules it again (`resume_retries`)."""
        due = time.time() + self.config.retry_after if due is None else due
        self.retrying[previous.origin] = (previous, due)
        self._spawn(self._retry(previous, due))

    def pending_retries(self) -> list[dict[str, Any]]:
        """The retries waiting to be due, for the checkpoint (app/restore.py `save`)."""
        return [{**asdict(held), "due": due} for held, due in self.retrying.values()]

    def resume_retries(self, saved: list[dict[str, Any]]) -> int:
        """After a restart: the retries the old process was waiting out, due when they were
        (at once if that time has passed). Needs the running loop: called from `start`."""
        for r in saved:  # `since` is missing from checkpoints of older versions
            held = Held(**{k: r[k] for k in HELD_FIELDS if k in r})
            self.schedule_retry(held, float(r["due"]))
        return len(saved)

    async def _retry(self, previous: Held, due: float) -> None:
        # Cancelled (a stop), the retry stays in `retrying` for the last checkpoint.
        await asyncio.sleep(max(0.0, due - time.time()))
        self.retrying.pop(previous.origin, None)
        sb = self.center.sb
        attempt = previous.attempt + 1
        call = f"{previous.origin}~cb{attempt}"
        held = Held(
            previous.number,
            previous.queue,
            previous.origin,
            previous.called,
            attempt,
            previous.priority,
            previous.since,
        )
        self.held[call] = held  # before the enqueue: an agent free now is offered it at once
        sb.callers[call] = (held.number, held.called)
        try:
            sb.enqueue(
                call,
                held.queue,
                priority=held.priority,
                max_wait_exempt=True,
                parked=self.customer_first,  # never offered before its customer answers
            )
        except (KeyError, ValueError, StateError) as e:
            log.warning("callback %s: the retry could not enter %s: %s", call, held.queue, e)
            self._drop(call)
            self._record_failure(previous.origin, held)
            return
        finally:
            sb.callers.pop(call, None)
        if not sb.waiting(call) and call not in self.held:
            self._record_failure(call, held)  # refused at once (a full queue)
            return
        recorder = self.center.recorder
        with contextlib.suppress(KeyError):
            recorder.callback(sb.engine.now, call, held.number)
            recorder.add_attributes(
                call,
                callback_of=held.origin,
                callback_attempt=attempt,
                callback_requested=recorder.epoch + held.since,
                callback_order=self.config.order,
            )
        if self.customer_first:
            self.parked.setdefault(held.queue, {})[call] = None
            self.kick()
        self._arm(call)  # at once if the request is older than the expiry already

    async def _give_up(self, call: str, agent: str | None, why: str) -> None:
        """No way to dial: the call leaves the engine (the offer is withdrawn)."""
        held = self._drop(call)
        if held is None:
            return
        sb = self.center.sb
        self.center.recorder.callback_result(
            sb.now(), call, held.queue, agent, result="failed", why=why, number=held.number
        )
        with contextlib.suppress(KeyError):
            self.center.recorder.add_attributes(call, callback_result="failed")
        self.stats.failed += 1
        self.center.sb.let_go(call)  # an agent ringing has the offer withdrawn

    # Life cycle.

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    def _close_now(self, leg: AgentLeg) -> None:
        leg.rtp.close()
        self._live.pop(leg.call.leg.call_id, None)

    async def _close(self, leg: AgentLeg) -> None:
        leg.call.cancel()
        await leg.call.bye()
        self._close_now(leg)

    async def close(self) -> None:
        """Stops retries, expiries and tries in progress, BYE to their legs."""
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()
        for pending in (self._check, self._wake):
            if pending is not None:
                pending.cancel()
        self._check = self._wake = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for leg in list(self._live.values()):
            with contextlib.suppress(Exception):  # shutting down: a failed BYE changes nothing
                await self._close(leg)


def _customer_request(_: object, txn: ServerTransaction, request: SipMessage) -> None:
    if request.method != "BYE":  # BYE is answered by the UAC; `ended` ends the bridge
        txn.respond(request.reply(488 if request.method == "INVITE" else 405))


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("callback task failed", exc_info=task.exception())
