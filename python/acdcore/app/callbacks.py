"""`CallbackDialer`: virtual hold carried through — the caller who asked for a callback hung
up with the call still in line; when the engine picks an agent for it, we call back.

Order: agent first, then the customer. The engine's `offer` of a held call rings the agent's
phone as for any call (its From shows the customer's number); the agent's answer is the
engine's `accept`. Only then is the customer dialled (`[callbacks] uri` with `{number}`), the
agent hearing music meanwhile; the customer's 200 bridges the two legs' media. Why:

- a customer who picks up is never left waiting for an agent or in silence (the nuisance an
  outbound call must not make);
- the agent's side keeps the engine's offer semantics exactly as for inbound calls (the
  queue's `ring_timeout`, the no-answer count, reject and rest); dialling the customer while
  the offer rang would have to fit the customer's ringing inside that ring timeout.

A customer who does not answer within `ring_timeout`, is busy or fails: the agent leg is
ended and the engine call hung up (the agent wraps up and is free). After `retry_after`
seconds the callback enters its queue again as a new engine call `<call>~cb<n>` whose record
names the original (`callback_of`), up to `max_attempts` tries; the last failure writes a
queue-log "callback" line with `result = "failed"`. Each try's record carries
`callback_result` and `callback_attempt`.

A held callback is exempt from its queue's `max_wait` (the switchboard's `hold_for_callback`,
and a retry enters exempt): no caller is on the line to time out, and a promise must not
vanish at a limit meant for live callers. `[callbacks] expire_after` bounds it instead: a
callback still in line that long after the request (retries included) leaves the engine with
outcome and queue-log "callback-expired". One ringing an agent or connected when it falls due
is being served and is left alone; if the offer comes back to the line, it expires then. The
request time is engine time (`Held.since`), in the record's `callback_requested` attribute
(UNIX time) and in saved retries, so a restart arms the same expiries.

The engine's `Switchboard.on_callback` hook fires once, for the first agent of the first
offer; the dialer needs every offer (ring-all, re-offers after a reject or a ring timeout), so
it listens to the switchboard's events instead. State is in dicts by engine call id and
(call, agent): no scan over calls or legs per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from acdcore.flows.model import Callback, Flow
from acdcore.media.bridge import bridge
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
        # recorder's advance then finds nothing more to run.
        sb.apply(sb.engine.advance(now))
        recorder = self.center.recorder
        with contextlib.suppress(KeyError):  # a call entered without the records: no row
            recorder.callback(now, call, caller_id)
            recorder.add_attributes(
                call, callback_attempt=1, callback_requested=recorder.epoch + now
            )
        self._arm(call)

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
        return len(self.held)

    def arm_expiries(self) -> int:
        """After `resume`: each held callback's expiry, due when it was (at once if that time
        passed during the downtime). Needs the running loop: called from `start`."""
        for call in self.held:
            self._arm(call)
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
        handle = self._expiry.pop(call, None)
        if handle is not None:
            handle.cancel()
        return self.held.pop(call, None)

    def on_event(self, ev: Event) -> None:
        """Switchboard listener for held calls: offers ring agents, unoffers cancel them."""
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
            self.held[call].queue = ev.target
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
        await self._call_customer(leg)

    # The customer.

    async def _call_customer(self, agent: AgentLeg) -> None:
        center, sb = self.center, self.center.sb
        call = agent.call_id
        held = self.held[call]
        music = center.prompts.encoded(center.config.music, agent.rtp.codec)
        if music is not None:
            agent.rtp.play_encoded(music, loop=True)
        self.stats.attempts += 1
        customer: AgentLeg | None = None
        try:
            customer, why, status = await self._dial(agent, held)
            agent.rtp.stop_playing()
            if customer is None:
                await self._failed(agent, held, why, status)
                return
            center.recorder.callback_result(
                sb.now(),
                call,
                held.queue,
                agent.target,
                result="connected",
                attempt=held.attempt,
                number=held.number,
                sip_call_id=customer.call.leg.call_id,
            )
            self.stats.connected += 1
            await self._talk(agent, customer)
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
        finally:
            await self._close(agent)
            if customer is not None:
                await self._close(customer)

    async def _dial(self, agent: AgentLeg, held: Held) -> tuple[AgentLeg | None, str, int | None]:
        """The customer's leg once answered, else None, why ("no-answer", "busy", "failed",
        "agent-left") and the SIP status."""
        assert self.config.uri is not None  # _ring_agent checked
        uri = self.config.uri.format(number=held.number)
        try:
            target = Uri.parse(uri)
        except SipParseError as e:
            log.warning("callback %s: dial plan gave a bad URI %r: %s", agent.call_id, uri, e)
            return None, "failed", None
        dest = (target.host, target.port or 5060)
        leg = self._place(agent.call_id, uri, uri, dest, None, uri_transport(target))
        if leg is None:
            return None, "failed", None
        leg.call.on_request = _customer_request
        answered, gone = leg.call.answered, agent.call.ended
        waits: set[asyncio.Future[Any]] = {answered, gone}
        done, _ = await asyncio.wait(
            waits, timeout=self.config.ring_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if answered not in done:
            leg.call.cancel()  # a 200 crossing the CANCEL is acknowledged and ended by the UAC
            self._close_now(leg)
            return None, "agent-left" if gone in done else "no-answer", None
        try:
            response = answered.result()
        except CallFailed as e:
            self._close_now(leg)
            return None, "busy" if e.status in BUSY else "failed", e.status
        try:
            await start_media(leg.rtp, response.body, self.center.address[0])
        except (NotAcceptableError, SipParseError) as e:
            log.warning("callback %s: customer answered with unusable SDP: %s", agent.call_id, e)
            await self._close(leg)
            return None, "failed", 488
        return leg, "connected", response.status

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

    async def _failed(self, agent: AgentLeg, held: Held, why: str, status: int | None) -> None:
        """This try failed: log it, free the agent, and retry later or record the failure."""
        center, sb = self.center, self.center.sb
        call = agent.call_id
        last = held.attempt >= self.config.max_attempts
        log.info("callback %s try %d: %s (%s)", call, held.attempt, why, status)
        center.recorder.callback_result(
            sb.now(),
            call,
            held.queue,
            agent.target,
            result=why,
            attempt=held.attempt,
            number=held.number,
            status=status,
        )
        with contextlib.suppress(KeyError):
            center.recorder.add_attributes(call, callback_result="failed" if last else why)
        await self._close(agent)
        self._drop(call)
        sb.hangup(call)  # the agent goes to wrap-up, then is free
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
            sb.enqueue(call, held.queue, priority=held.priority, max_wait_exempt=True)
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
            )
        self._arm(call)  # at once if the request is older than the expiry already

    async def _give_up(self, call: str, agent: str, why: str) -> None:
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
        sb.hangup(call)  # an abandon in the engine: the agent's offer is withdrawn

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
