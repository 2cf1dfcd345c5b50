"""`ContactCenter`: the example contact-center server on one SIP port.

One transaction user serves everything: REGISTER (digest-authenticated agents, logged in to
the engine by `AgentLogin`), callers' INVITEs (answered by us with our own RTP session, then
the flow runs on a `SipChannel`), and the agent legs we place when the engine offers a call.
The engine is live (`auto_accept=False`): an `offer` rings the agent's registered contact, the
agent's 200 is `Engine.accept` (the flow then gets `assign` and bridges the media), a failure
is `Engine.reject`, an `unoffer` cancels the leg. Records: every engine event goes through the
switchboard to a `CallRecorder` (see `RecordingSwitchboard`), committed to SQLite every second.

Wrap-up: the agent keys `*<code>#` on the phone during the call (RFC 4733 or SIP INFO) to set
the disposition; calls without one get the configured default.

Calls are found by dialog key or engine id in dicts: no scan over calls or agents per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acdcore._core import (
    Engine,
    Event,
    NotAcceptableError,
    SipMessage,
    SipParseError,
    StateError,
    sdp_answer,
    sdp_offer,
)
from acdcore.app.channel import SipChannel
from acdcore.app.config import Config
from acdcore.app.prompts import Prompts
from acdcore.app.switchboard import RecordingSwitchboard
from acdcore.flows import FlowContext, FlowRunner, load
from acdcore.flows.result import CallResult
from acdcore.media.session import RtpSession, bind_rtp_socket
from acdcore.records.recorder import CallRecorder
from acdcore.records.sqlite import SqliteStore
from acdcore.records.writer import RecordWriter
from acdcore.sip.dialog import DialogKey, Leg, dialog_key_at_uas, new_tag
from acdcore.sip.info_dtmf import answer_info
from acdcore.sip.registrar import AgentLogin, AgentProfile, Registrar
from acdcore.sip.transaction import ServerTransaction, TransactionLayer, open_transactions
from acdcore.sip.transport import Addr, SipEndpoint
from acdcore.sip.uac import CallFailed, OutgoingCall, Uac

log = logging.getLogger(__name__)
CODECS = ("PCMU", "PCMA")
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER"


@dataclass
class CallerLeg:
    leg: Leg
    channel: SipChannel
    sdp: bytes  # our answer, sent again for a re-INVITE


@dataclass
class AgentLeg:
    """A leg we placed to an agent's phone (or a transfer/ring target)."""

    call_id: str  # the caller's engine call id
    target: str  # engine agent id, or the ring/transfer target
    call: OutgoingCall
    rtp: RtpSession
    keys: str = ""  # digits keyed on this leg, for `*<code>#` dispositions


@dataclass
class CenterStats:
    calls: int = 0
    rejected: int = 0
    offers: int = 0
    agent_failures: int = 0
    dispositions: int = 0
    relayed: int = 0  # RTP packets bridged between callers and agents
    by_outcome: dict[str, int] = field(default_factory=dict)


class ContactCenter:
    def __init__(self, config: Config, *, database: str | Path | None = None) -> None:
        self.config = config
        self.prompts = Prompts(config.prompts)
        self.engine = Engine(auto_accept=False)
        db = Path(database) if database is not None else config.database
        self.store = SqliteStore(db)
        self.writer = RecordWriter(self.store)
        self.recorder = CallRecorder(self.engine, self.writer, epoch=time.time())
        for q in config.queues:
            self.recorder.add_queue(q.id, **q.options)
        self.flow = load(config.flow, queues=self.engine.queues())
        self.sb = RecordingSwitchboard(self.engine, self.recorder)
        self.sb.listeners.append(self._engine_event)
        self.registrar = Registrar(
            {a.user: a.password for a in config.agents},
            realm=config.realm,
            algorithms=config.digest,
        )
        self._users = {a.id: a.user for a in config.agents}
        profiles = {a.user: AgentProfile(a.id, a.queues, a.skills) for a in config.agents}
        self.login = AgentLogin(
            self.registrar, self.engine, profiles, self.sb.now, lambda evs: self._apply(evs)
        )
        self.runner = FlowRunner(self.flow, FlowContext(switchboard=self.sb, observer=self))
        self.stats = CenterStats()
        self.callers: dict[DialogKey, CallerLeg] = {}
        self._caller_by_id: dict[str, CallerLeg] = {}
        self.ringing: dict[tuple[str, str], AgentLeg] = {}  # (call, agent) -> leg ringing
        self.answered: dict[tuple[str, str], AgentLeg] = {}  # (call, agent) -> leg answered
        self._by_agent_leg: dict[DialogKey, AgentLeg] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._endpoint: SipEndpoint | None = None
        self._layer: TransactionLayer | None = None
        self._uac: Uac | None = None
        self._local: Addr = config.sip

    # Life cycle.

    async def start(self, sip: tuple[str, int] | None = None) -> Addr:
        host, port = sip or self.config.sip
        self._endpoint, self._layer = await open_transactions(self, host, port)
        self._local = self._endpoint.local_address
        self._uac = Uac(self._layer, self._local)
        self._spawn(self.sb.run())
        self._spawn(self._commit_every(1.0))
        return self._local

    @property
    def address(self) -> Addr:
        return self._local

    async def stop(self) -> None:
        """BYE to every call in progress, flows ended, records committed and the file closed."""
        for leg in list(self._by_agent_leg.values()) + list(self.ringing.values()):
            leg.call.cancel()
            with contextlib.suppress(Exception):
                await leg.call.bye()
            leg.rtp.close()
        for caller in list(self.callers.values()):
            caller.channel.hung_up("shutdown")
            self.end_caller(caller.channel.call_id)
        if self.runner.tasks:
            await asyncio.wait(list(self.runner.tasks), timeout=5.0)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sb.close()
        self.recorder.commit().wait(10.0)
        self.writer.close()
        self.store.close()
        self.registrar.close()
        await asyncio.sleep(0.1)  # let the BYEs leave before the socket closes
        if self._endpoint is not None:
            self._endpoint.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.recorder.acommit()

    def _apply(self, events: Iterable[object]) -> None:
        self.sb.apply(e for e in events if isinstance(e, Event))

    @property
    def layer(self) -> TransactionLayer:
        assert self._layer is not None, "start() first"
        return self._layer

    @property
    def uac(self) -> Uac:
        assert self._uac is not None, "start() first"
        return self._uac

    def voicemail_path(self, path: str) -> Path:
        full = Path(path)
        if not full.is_absolute():
            full = self.store_dir / full
        full.parent.mkdir(parents=True, exist_ok=True)
        return full

    @property
    def store_dir(self) -> Path:
        return Path(self.store.path).resolve().parent

    # FlowObserver: the call's end sets the default disposition.

    def entered(self, call: str, node: str, kind: str, at: float) -> None:
        pass

    def ended(self, result: CallResult) -> None:
        log.info("call %s ended %s via %s", result.call, result.outcome, result.path)
        self.stats.by_outcome[result.outcome] = self.stats.by_outcome.get(result.outcome, 0) + 1
        self.sb.callers.pop(result.call, None)
        notes: dict[str, Any] = {}
        if result.agent is not None:
            code = result.agent_disposition or self.config.default_disposition
            notes["disposition"] = code
        if result.voicemail:
            notes["voicemail_path"] = str(self.voicemail_path(result.voicemail))
        if result.survey_score is not None:
            notes["survey_score"] = result.survey_score
        if notes and result.queue is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.recorder.annotate(result.call, **notes)

    # Transaction user.

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
        method = request.method or ""
        if method == "REGISTER":
            self.registrar.on_register(txn, request)
        elif request.to.tag is not None:
            self._in_dialog(txn, request)
        elif method == "INVITE":
            self._new_call(txn, request)
        elif method == "CANCEL":
            # We answer INVITEs at once, so a CANCEL finds them final (RFC 3261 9.2: 200).
            found = txn.layer.invite_for(request) is not None
            txn.respond(request.reply(200 if found else 481))
        elif method == "OPTIONS":
            txn.respond(request.reply(200, to_tag=new_tag(), headers=[("Allow", ALLOW)]))
        else:
            txn.respond(request.reply(405, to_tag=new_tag(), headers=[("Allow", ALLOW)]))

    def on_ack(self, request: SipMessage, source: Addr) -> None:
        caller = self.callers.get(dialog_key_at_uas(request))
        if caller is not None:
            caller.leg.state = "confirmed"

    def on_timeout(self, txn: ServerTransaction) -> None:
        final = txn.final_response
        if txn.invite and final is not None and (final.status or 0) < 300:
            key = (final.call_id, final.to.tag or "", final.from_.tag or "")
            caller = self.callers.get(key)
            if caller is not None and caller.leg.state == "early":
                caller.channel.hung_up("no ACK")  # 13.3.1.4: never acknowledged
                self._forget_caller(caller)

    def _in_dialog(self, txn: ServerTransaction, request: SipMessage) -> None:
        method = request.method or ""
        caller = self.callers.get(dialog_key_at_uas(request))
        if caller is None:
            if not self.uac.on_request(txn, request):
                txn.respond(request.reply(481))
            return
        if method == "BYE":
            txn.respond(request.reply(200))
            caller.channel.hung_up("bye")
            self._forget_caller(caller)
        elif method == "INFO":
            digit = answer_info(txn, request)
            if digit is not None:
                caller.channel.digit(digit)
        elif method == "INVITE":  # a re-INVITE: our media does not change
            txn.respond(
                request.reply(
                    200,
                    headers=[self._contact()],
                    body=caller.sdp,
                    content_type="application/sdp",
                )
            )
        else:
            txn.respond(request.reply(405, headers=[("Allow", ALLOW)]))

    def _contact(self) -> tuple[str, str]:
        return ("Contact", f"<sip:acd@{self._local[0]}:{self._local[1]}>")

    # Callers.

    def _new_call(self, txn: ServerTransaction, request: SipMessage) -> None:
        txn.respond(request.reply(100))
        tag = new_tag()
        host = self._local[0]
        try:
            rtp = RtpSession(bind_rtp_socket(host, self.config.rtp_ports))
        except OSError as e:
            self.stats.rejected += 1
            txn.respond(request.reply(503, f"No RTP port: {e}"[:100], to_tag=tag))
            return
        try:
            answer = sdp_answer(request.body, host, rtp.local_address[1], CODECS)
        except (NotAcceptableError, SipParseError) as e:
            rtp.close()
            self.stats.rejected += 1
            txn.respond(request.reply(488, str(e)[:100], to_tag=tag))
            return
        _configure(rtp, answer.codec, answer.payload_type, answer.dtmf_payload_type)
        rtp.remote = (answer.remote_address, answer.remote_port)
        call_id = request.call_id
        if call_id in self._caller_by_id:
            rtp.close()
            txn.respond(request.reply(482, "Loop Detected", to_tag=tag))
            return
        try:
            called = request.uri().user or ""
        except SipParseError:
            called = ""
        caller_id = request.from_.uri.user or request.from_.uri.text
        channel = SipChannel(self, call_id, caller_id, called, rtp)
        leg = Leg.from_request(request, tag, txn.source, self._local)
        caller = CallerLeg(leg, channel, answer.sdp)
        self.callers[leg.key] = caller
        self._caller_by_id[call_id] = caller
        self.sb.callers[call_id] = (caller_id, called)
        self.stats.calls += 1
        txn.respond(
            request.reply(
                200,
                to_tag=tag,
                headers=[self._contact(), ("Allow", ALLOW)],
                body=answer.sdp,
                content_type="application/sdp",
            )
        )
        self._spawn(self._run_flow(channel))

    async def _run_flow(self, channel: SipChannel) -> None:
        await channel.rtp.start()
        await self.runner.start(channel, channel.call_id)

    def end_caller(self, call_id: str) -> None:
        """Our BYE to the caller (the flow hung up, or we are stopping)."""
        caller = self._caller_by_id.get(call_id)
        if caller is None:
            return
        self._forget_caller(caller)
        if not caller.channel.gone.done() or caller.channel.gone.result() == "shutdown":
            txn = self.layer.request(caller.leg.request("BYE"), caller.leg.dest)
            txn.response.add_done_callback(lambda f: f.cancelled() or f.exception())
        caller.channel.hung_up("hung up by us")

    def _forget_caller(self, caller: CallerLeg) -> None:
        self.callers.pop(caller.leg.key, None)
        self._caller_by_id.pop(caller.channel.call_id, None)
        caller.channel.rtp.close()

    # Agents: engine offers ring their phones.

    def _engine_event(self, ev: Event) -> None:
        if ev.call is None:
            return
        if ev.kind == "offer":
            for agent in ev.agents or ([ev.agent] if ev.agent else []):
                self._ring_agent(ev.call, agent)
        elif ev.kind == "unoffer" and ev.agent is not None:
            leg = self.ringing.pop((ev.call, ev.agent), None)
            if leg is not None:
                leg.call.cancel()

    def _ring_agent(self, call_id: str, agent: str) -> None:
        user = self._users.get(agent)
        aor = f"sip:{user}@{self._local[0]}"
        bindings = [] if user is None else self.registrar.lookup(aor)
        caller = self._caller_by_id.get(call_id)
        if not bindings or caller is None:
            self._reject(call_id, agent)
            return
        binding = max(bindings, key=lambda b: b.expires_at)
        leg = self._place(call_id, agent, binding.contact, binding.source, caller)
        if leg is None:
            self._reject(call_id, agent)
            return
        self.ringing[(call_id, agent)] = leg
        self.stats.offers += 1
        self._spawn(self._await_agent(leg))

    def _place(
        self, call_id: str, target: str, uri: str, dest: Addr, caller: CallerLeg
    ) -> AgentLeg | None:
        host = self._local[0]
        try:
            rtp = RtpSession(bind_rtp_socket(host, self.config.rtp_ports))
        except OSError:
            return None
        offer = sdp_offer(host, rtp.local_address[1], CODECS)
        out = self.uac.invite(uri, dest, offer, from_uri=caller.leg.remote_uri)
        leg = AgentLeg(call_id, target, out, rtp)
        out.on_request = lambda _, txn, request: self._agent_request(leg, txn, request)
        rtp.on_digit = lambda d: self._agent_key(leg, d)
        return leg

    async def _answered(self, leg: AgentLeg) -> bool:
        """Awaits the leg's 2xx and sets its media up from the answer; False when it failed."""
        try:
            response = await leg.call.answered
        except CallFailed as e:
            log.info("call %s: %s did not answer: %s", leg.call_id, leg.target, e)
            leg.rtp.close()
            return False
        try:
            # Their answer read as an offer gives the codec and address they chose.
            got = sdp_answer(response.body, self._local[0], leg.rtp.local_address[1], CODECS)
        except (NotAcceptableError, SipParseError) as e:
            log.warning("call %s: %s answered with unusable SDP: %s", leg.call_id, leg.target, e)
            await leg.call.bye()
            leg.rtp.close()
            return False
        _configure(leg.rtp, got.codec, got.payload_type, got.dtmf_payload_type)
        leg.rtp.remote = (got.remote_address, got.remote_port)
        await leg.rtp.start()
        self._by_agent_leg[leg.call.leg.key] = leg
        leg.call.ended.add_done_callback(lambda _: self._by_agent_leg.pop(leg.call.leg.key, None))
        return True

    async def _await_agent(self, leg: AgentLeg) -> None:
        key = (leg.call_id, leg.target)
        ok = await self._answered(leg)
        if self.ringing.get(key) is not leg:
            if ok:  # answered after the offer was withdrawn or the caller left
                await leg.call.bye()
                leg.rtp.close()
            return
        del self.ringing[key]
        if not ok:
            self.stats.agent_failures += 1
            self._reject(leg.call_id, leg.target)
            return
        self.answered[key] = leg
        try:
            self.sb.apply(self.engine.accept(self.sb.now(), leg.call_id, leg.target))
        except (KeyError, StateError) as e:
            log.warning("engine accept of %s by %s refused: %s", leg.call_id, leg.target, e)
            self.answered.pop(key, None)
            await leg.call.bye()
            leg.rtp.close()

    def _reject(self, call_id: str, agent: str) -> None:
        try:
            events = self.engine.reject(self.sb.now(), call_id, agent)
        except (KeyError, StateError) as e:
            log.warning("engine reject of %s by %s refused: %s", call_id, agent, e)
            return
        # Deferred: a re-offer to the same agent must not ring inside this offer's handling.
        asyncio.get_running_loop().call_soon(self.sb.apply, events)

    def answered_leg(self, call_id: str, agent: str) -> AgentLeg | None:
        return self.answered.pop((call_id, agent), None)

    async def ring_first(
        self, call_id: str, targets: Sequence[str], timeout: float
    ) -> AgentLeg | None:
        """Rings every target (a registered SIP user, or a sip: URI) at once; the first to
        answer is returned, the others cancelled."""
        caller = self._caller_by_id.get(call_id)
        if caller is None:
            return None
        legs = []
        for target in targets:
            found = self._resolve(target)
            if found is not None:
                leg = self._place(call_id, target, found[0], found[1], caller)
                if leg is not None:
                    legs.append(leg)
        if not legs:
            return None
        tasks = {asyncio.ensure_future(self._answered(leg)): leg for leg in legs}
        winner: AgentLeg | None = None
        try:
            async with asyncio.timeout(timeout):
                for next_done in asyncio.as_completed(list(tasks)):
                    if await next_done:
                        break
        except TimeoutError:
            pass
        finally:
            for task, leg in tasks.items():
                if task.done() and not task.cancelled() and task.result() and winner is None:
                    winner = leg
                    continue
                leg.call.cancel()
                if task.done() and not task.cancelled() and task.result():
                    await leg.call.bye()
                leg.rtp.close()
                task.cancel()
        return winner

    def _resolve(self, target: str) -> tuple[str, Addr] | None:
        if target.startswith("sip:"):
            bindings = self.registrar.lookup(target)
            if bindings:
                b = max(bindings, key=lambda b: b.expires_at)
                return b.contact, b.source
            from acdcore._core import Uri

            try:
                uri = Uri.parse(target)
            except SipParseError:
                return None
            return target, (uri.host, uri.port or 5060)
        bindings = self.registrar.lookup(f"sip:{target}@{self._local[0]}")
        if not bindings:
            return None
        b = max(bindings, key=lambda b: b.expires_at)
        return b.contact, b.source

    def _agent_request(self, leg: AgentLeg, txn: ServerTransaction, request: SipMessage) -> None:
        if request.method == "BYE":
            return  # answered by the UAC; `ended` wakes the bridge
        if request.method == "INFO":
            digit = answer_info(txn, request)
            if digit is not None:
                self._agent_key(leg, digit)
        else:
            txn.respond(request.reply(488 if request.method == "INVITE" else 405))

    def _agent_key(self, leg: AgentLeg, digit: str) -> None:
        """`*<code>#` keyed on the agent leg sets the call's disposition."""
        if digit == "*":
            leg.keys = "*"
        elif leg.keys.startswith("*"):
            if digit == "#":
                code = leg.keys[1:]
                leg.keys = ""
                if code:
                    self.sb.dispose(leg.call_id, code)
                    self.stats.dispositions += 1
            elif len(leg.keys) < 16:
                leg.keys += digit


def _configure(rtp: RtpSession, codec: str, pt: int, dtmf: int | None) -> None:
    rtp.codec = codec.upper()
    rtp.payload_type = pt
    rtp.dtmf_payload_type = dtmf
