"""`ContactCenter`: the example contact-center server on one SIP port.

One transaction user serves everything, over UDP, TCP or both on one port number
(`[sip] transport`): REGISTER (digest-authenticated agents, logged in to
the engine by `AgentLogin`), callers' INVITEs (answered by us with our own RTP session, then
the flow runs on a `SipChannel`), and the legs we place (`OutboundLegs`: agent phones the
engine offers a call to, ring groups, transfers). Records: every engine event goes through the
switchboard to a `CallRecorder` (see `RecordingSwitchboard`), committed to SQLite every second
and before a caller is told its call ended (`durable`); started on a database with a
checkpoint, the center resumes from it (app/restore.py).

Calls are found by dialog key or engine id in dicts: no scan over calls or agents per message.

Transports: a caller is answered, and later hung up, over the transport its INVITE came
over; an agent's phone is rung over the one it registered over (its own TCP connection, as
in `sip/b2bua.py`). Legs to a bare URI (dialer leads, callbacks, ring-group URIs) go over
TCP when the URI says `;transport=tcp` and TCP is served, else over the first transport
served: UDP for "udp" and "both", TCP for "tcp".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acdcore._core import (
    Engine,
    Event,
    NotAcceptableError,
    SipMessage,
    SipParseError,
    sdp_answer,
)
from acdcore.app import restore
from acdcore.app.callbacks import CallbackDialer
from acdcore.app.cdr import engine_never_held, record_unqueued
from acdcore.app.channel import SipChannel
from acdcore.app.config import SIP_TRANSPORTS, Config
from acdcore.app.dialer import Dialer
from acdcore.app.legs import CODECS, OutboundLegs, configure
from acdcore.app.prompts import Prompts
from acdcore.app.switchboard import InFlow, RecordingSwitchboard
from acdcore.flows import FlowContext, FlowRunner, load
from acdcore.flows.result import CallResult
from acdcore.media.session import RtpSession, bind_rtp_socket
from acdcore.records.recorder import CallRecorder
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import StoreError
from acdcore.records.writer import RecordWriter
from acdcore.sip.dialog import DialogKey, Leg, dialog_key_at_uas, new_tag
from acdcore.sip.info_dtmf import answer_info
from acdcore.sip.registrar import AgentLogin, AgentProfile, Registrar
from acdcore.sip.transaction import ServerTransaction, TransactionLayer, open_transactions
from acdcore.sip.transport import Addr, SipEndpoint
from acdcore.sip.uac import Orphan, Uac

log = logging.getLogger(__name__)
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER"


@dataclass
class CallerLeg:
    leg: Leg
    channel: SipChannel
    sdp: bytes  # our answer, sent again for a re-INVITE


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
    def __init__(
        self, config: Config, *, database: str | Path | None = None, fresh: bool = False
    ) -> None:
        """Resumes from the database's checkpoint when it has one (app/restore.py says what
        survives a restart); `fresh` starts an empty engine instead."""
        self.config = config
        self.prompts = Prompts(config.prompts)
        db = Path(database) if database is not None else config.database
        self.store = SqliteStore(db)
        self.writer = RecordWriter(self.store)
        try:
            self.restart = restore.resume(self.store, self.writer, config, fresh=fresh)
            self.recorder: CallRecorder = self.restart.recorder
            self.engine: Engine = self.recorder.engine
            self.flow = load(config.flow, queues=self.engine.queues())
        except BaseException:  # refused: the records file we opened is closed again
            self.writer.close()
            self.store.close()
            raise
        self.sb = RecordingSwitchboard(
            self.engine, self.recorder, clock=restore.wall_clock(self.recorder.epoch)
        )
        for call, (caller_id, queue) in self.restart.callbacks.items():
            self.sb.hold_for_callback(call, caller_id, queue)
        self.registrar = Registrar(
            {a.user: a.password for a in config.agents},
            realm=config.realm,
            algorithms=config.digest,
        )
        profiles = {a.user: AgentProfile(a.id, a.queues, a.skills) for a in config.agents}
        self.login = AgentLogin(
            self.registrar, self.engine, profiles, self.sb.now, lambda evs: self._apply(evs)
        )
        self.login.logged_in.update(self.restart.agents)
        self.runner = FlowRunner(self.flow, FlowContext(switchboard=self.sb, observer=self))
        self.stats = CenterStats()
        self.callers: dict[DialogKey, CallerLeg] = {}
        self._caller_by_id: dict[str, CallerLeg] = {}
        self.legs = OutboundLegs(self, {a.id: a.user for a in config.agents})
        self.sb.listeners.append(self.legs.on_event)
        self.callbacks = CallbackDialer(self)  # virtual hold: calling the caller back
        self.sb.listeners.append(self.callbacks.on_event)
        self.sb.on_hold_request = self.callbacks.requested
        self.sb.on_applied = self.callbacks.kick
        self.callbacks.check(self.flow)
        self.dialer: Dialer | None = None
        if config.campaign is not None:
            try:
                r = self.restart
                self.dialer = Dialer(self, config.campaign, r.campaign, r.campaign_settings)
            except (OSError, ValueError, StoreError):  # leads, DNC, the saved campaign
                self.writer.close()
                self.store.close()
                self.registrar.close()
                raise
        self.callbacks.resume()  # the callbacks the restart kept in line are dialled again
        self._tasks: set[asyncio.Task[Any]] = set()
        self._endpoints: list[SipEndpoint] = []
        self._uacs: dict[str, Uac] = {}  # by transport served, "udp" / "tcp"
        self._uac: Uac | None = None  # the first transport's: legs to bare URIs
        self._local: Addr = config.sip
        self._flows: dict[str, asyncio.Task[Any]] = {}  # caller's call id -> its flow's task
        self._group: asyncio.Future[None] | None = None  # the next commit BYEs wait for
        self._committing = False  # a _group_commits task runs

    # Life cycle.

    async def start(self, sip: tuple[str, int] | None = None, transport: str | None = None) -> Addr:
        """Serves SIP on `sip` (default: the config's) over `transport` ("udp", "tcp" or
        "both"; default: the config's). With both, TCP takes UDP's port number (port 0:
        the free one UDP got)."""
        host, port = sip or self.config.sip
        kind = transport or self.config.transport
        if kind not in SIP_TRANSPORTS:
            raise ValueError(f"unknown SIP transport {kind!r}: expected udp, tcp or both")
        for name in ("udp", "tcp") if kind == "both" else (kind,):
            try:
                endpoint, layer = await open_transactions(self, host, port, transport=name)
            except OSError:
                self._close_endpoints()
                raise
            if not self._endpoints:
                self._local = endpoint.local_address
                port = self._local[1]
            self._endpoints.append(endpoint)
            self._uacs[name] = Uac(layer, self._local)
        self._uac = next(iter(self._uacs.values()))
        restore.restore_registrations(self.registrar, self.restart.registrations)
        self.callbacks.resume_retries(self.restart.retries)
        self.callbacks.arm_expiries()
        # Answers to the dead INVITEs are ours from now on (a 200 may come at once)...
        orphans = [
            self.uac_for(leg.transport).adopt(invite, leg) for invite, leg in self.restart.ringing
        ]
        await self.durable()  # what the restart closed is on disk before anything new
        self._bye_dead_dialogs(self.restart.dialogs)
        self._cancel_dead_invites(orphans)  # ...and their CANCELs go with the BYEs
        self.spawn(self.sb.run())
        self.spawn(self._commit_every(1.0))
        if self.dialer is not None:
            self.spawn(self.dialer.run())
        return self._local

    @property
    def address(self) -> Addr:
        return self._local

    async def stop(self) -> None:
        """BYE to every call in progress, flows ended, records committed and the file closed."""
        await self.callbacks.close()
        if self.dialer is not None:
            await self.dialer.close()
        await self.legs.close()
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
        restore.save(self)
        self.recorder.commit().wait(10.0)
        self.writer.close()
        self.store.close()
        self.registrar.close()
        await asyncio.sleep(0.1)  # let the BYEs leave before the socket closes
        self._close_endpoints()

    def _close_endpoints(self) -> None:
        for endpoint in self._endpoints:
            endpoint.close()
        self._endpoints.clear()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _commit_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            restore.save(self)
            await self.recorder.acommit()

    async def durable(self) -> None:
        """Returns once everything recorded so far is committed. A caller is told its call
        ended (our BYE, or the 200 to its BYE) only after that, so every call a caller saw end
        has its record even if the process is killed the next instant.

        Group commit: one commit in flight at a time; calls ending meanwhile wait together
        for the next one. A commit's checkpoint costs more with more open calls
        (benches/README.md: tens of ms at 1,000), so this bounds that work per second."""
        if self._group is None:
            self._group = asyncio.get_running_loop().create_future()
            if not self._committing:
                self._committing = True
                self.spawn(self._group_commits())
        await asyncio.shield(self._group)

    async def _group_commits(self) -> None:
        try:
            while self._group is not None:
                await asyncio.sleep(0)  # the other calls ending in this turn join the commit
                done, self._group = self._group, None
                try:
                    restore.save(self)
                    await (await self.recorder.acommit()).await_()
                except asyncio.CancelledError:
                    done.cancel()
                    raise
                except Exception as e:
                    done.set_exception(e)
                else:
                    done.set_result(None)
        finally:
            self._committing = False
            if self._group is not None:  # stopped with waiters left: they must not hang
                self._group.cancel()
                self._group = None

    def _apply(self, events: Iterable[object]) -> None:
        self.sb.apply(e for e in events if isinstance(e, Event))

    @property
    def transports(self) -> tuple[str, ...]:
        """What SIP is served over once started: ("udp",), ("tcp",) or ("udp", "tcp")."""
        return tuple(self._uacs)

    @property
    def uac(self) -> Uac:
        """The UAC of the first transport served: legs to a URI that names no transport."""
        assert self._uac is not None, "start() first"
        return self._uac

    def uac_for(self, transport: str | None) -> Uac:
        """The UAC over `transport` ("udp" / "tcp", any case) when it is served, else `uac`:
        a registration's transport, or a URI's `transport` parameter (`uri_transport`)."""
        found = None if transport is None else self._uacs.get(transport.lower())
        return found or self.uac

    def layer_for(self, leg: Leg) -> TransactionLayer:
        """The transaction layer of the transport `leg` runs over (its Via names it)."""
        return self.uac_for(leg.transport).layer

    def voicemail_path(self, path: str) -> Path:
        full = Path(path)
        if not full.is_absolute():
            full = self.store_dir / full
        full.parent.mkdir(parents=True, exist_ok=True)
        return full

    def caller(self, call_id: str) -> CallerLeg | None:
        return self._caller_by_id.get(call_id)

    def adopt_caller(self, leg: Leg, channel: SipChannel) -> None:
        """A call we placed (the dialer's lead), found by id like a caller when its agent leg
        is rung; its dialog stays with the UAC."""
        self._caller_by_id[channel.call_id] = CallerLeg(leg, channel, b"")

    def release_caller(self, call_id: str) -> None:
        self._caller_by_id.pop(call_id, None)

    @property
    def store_dir(self) -> Path:
        return Path(self.store.path).resolve().parent

    # FlowObserver: the call's end sets the default disposition.

    def entered(self, call: str, node: str, kind: str, at: float) -> None:
        flow = self.sb.in_flow.get(call)
        if flow is not None:
            flow.path.append(node)

    def ended(self, result: CallResult) -> None:
        log.info("call %s ended %s via %s", result.call, result.outcome, result.path)
        self.sb.in_flow.pop(result.call, None)
        self.stats.by_outcome[result.outcome] = self.stats.by_outcome.get(result.outcome, 0) + 1
        caller, called = self.sb.callers.pop(result.call, (None, None))
        if engine_never_held(result):
            vm = str(self.voicemail_path(result.voicemail)) if result.voicemail else None
            record_unqueued(self.recorder, result, caller=caller, called=called, voicemail_path=vm)
            return
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
            clicks = None if self.dialer is None else self.dialer.clicks
            if clicks is not None and clicks.takes(request):
                clicks.on_invite(txn, request)  # an agent's phone dialing a lead's number
            else:
                self._new_call(txn, request)
        elif method == "CANCEL":
            # We answer callers' INVITEs at once, so a CANCEL finds them final (RFC 3261
            # 9.2: 200); an agent's dial is pending while the lead rings.
            invite = txn.layer.invite_for(request)
            txn.respond(request.reply(200 if invite is not None else 481))
            if invite is not None and self.dialer is not None and self.dialer.clicks is not None:
                self.dialer.clicks.cancelled(invite)
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
            if not any(uac.on_request(txn, request) for uac in self._uacs.values()):
                txn.respond(request.reply(481))
            return
        if method == "BYE":
            caller.channel.hung_up("bye")
            self._forget_caller(caller)
            self.spawn(self._bye_ok(txn, request, caller.channel.call_id))
        elif method == "INFO":
            digit = answer_info(txn, request)
            if digit is not None:
                caller.channel.digit(digit)
        elif method == "INVITE":  # a re-INVITE: our media does not change
            txn.respond(
                request.reply(
                    200,
                    headers=[self.contact(caller.leg.transport)],
                    body=caller.sdp,
                    content_type="application/sdp",
                )
            )
        else:
            txn.respond(request.reply(405, headers=[("Allow", ALLOW)]))

    async def _bye_ok(self, txn: ServerTransaction, request: SipMessage, call_id: str) -> None:
        """The 200 to a caller's BYE once its flow has ended the call and that is committed
        (the BYE's retransmissions are absorbed meanwhile)."""
        try:
            flow = self._flows.get(call_id)
            if flow is not None:
                await asyncio.wait({flow}, timeout=5.0)
            await self.durable()
        except Exception as e:
            log.warning("call %s: BYE answered before its record was committed: %s", call_id, e)
        finally:
            txn.respond(request.reply(200))

    def contact(self, transport: str = "UDP") -> tuple[str, str]:
        """Our Contact on a caller's leg: over TCP it says so, so the caller's in-dialog
        requests come back over TCP (RFC 3261 8.1.1.8)."""
        param = "" if transport == "UDP" else f";transport={transport.lower()}"
        return ("Contact", f"<sip:acd@{self._local[0]}:{self._local[1]}{param}>")

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
        configure(rtp, answer.codec, answer.payload_type, answer.dtmf_payload_type)
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
        leg.transport = "TCP" if txn.layer.reliable else "UDP"
        caller = CallerLeg(leg, channel, answer.sdp)
        self.callers[leg.key] = caller
        self._caller_by_id[call_id] = caller
        self.sb.callers[call_id] = (caller_id, called)
        self.sb.in_flow[call_id] = InFlow(self.sb.now())
        self.stats.calls += 1
        txn.respond(
            request.reply(
                200,
                to_tag=tag,
                headers=[self.contact(leg.transport), ("Allow", ALLOW)],
                body=answer.sdp,
                content_type="application/sdp",
            )
        )
        self.spawn(self._run_flow(channel))

    async def _run_flow(self, channel: SipChannel) -> None:
        await channel.rtp.start()
        flow = self._flows[channel.call_id] = self.runner.start(channel, channel.call_id)
        try:
            await flow
        finally:
            self._flows.pop(channel.call_id, None)

    def end_caller(self, call_id: str) -> None:
        """Our BYE to the caller (the flow hung up, or we are stopping)."""
        caller = self._caller_by_id.get(call_id)
        if caller is None:
            return
        self._forget_caller(caller)
        gone = caller.channel.gone
        if not gone.done():
            self.spawn(self._bye_when_durable(caller.leg))
        elif gone.result() == "shutdown":
            self._bye(caller.leg)
        caller.channel.hung_up("hung up by us")

    async def _bye_when_durable(self, leg: Leg) -> None:
        """Our BYE once the call's end is committed (see `durable`); sent even if that fails."""
        try:
            await self.durable()
        except Exception as e:
            log.warning("call %s: BYE sent before its record was committed: %s", leg.call_id, e)
        finally:
            self._bye(leg)

    def _bye(self, leg: Leg) -> None:
        txn = self.layer_for(leg).request(leg.request("BYE"), leg.dest)
        txn.response.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _bye_dead_dialogs(self, legs: list[Leg]) -> None:
        """One BYE in each dialog the previous process died with (app/restore.py), so the
        phones at the other end stop waiting; best effort: whatever answer comes, or none,
        is logged at info, and nothing is sent again."""
        for leg in legs:
            layer = self.uac_for(leg.transport).layer
            leg.local = self._local
            leg.transport = "TCP" if layer.reliable else "UDP"
            try:
                dest = restore.bye_dest(leg, layer.reliable)
                txn = layer.request(leg.request("BYE"), dest)
            except (RuntimeError, ValueError, SipParseError, OSError) as e:
                log.info("call %s: no BYE after the restart: %s", leg.call_id, e)
                continue
            txn.response.add_done_callback(functools.partial(_log_dead_bye, leg.call_id))

    def _cancel_dead_invites(self, orphans: list[Orphan]) -> None:
        """A CANCEL for each INVITE the previous process left ringing (app/restore.py), over
        the transport it went out on (its own retransmissions, then given up); one answered
        meanwhile gets none (`Orphan.cancel`). What happens is logged at info."""
        for orphan in orphans:
            layer = orphan.uac.layer
            try:
                txn = orphan.cancel(restore.bye_dest(orphan.leg, layer.reliable))
            except (RuntimeError, ValueError, SipParseError, OSError) as e:
                log.info("call %s: no CANCEL after the restart: %s", orphan.call_id, e)
                continue
            if txn is not None:
                log.info("call %s: ringing at the restart, CANCEL sent", orphan.call_id)

    def _forget_caller(self, caller: CallerLeg) -> None:
        self.callers.pop(caller.leg.key, None)
        self._caller_by_id.pop(caller.channel.call_id, None)
        caller.channel.rtp.close()


def _log_dead_bye(call_id: str, done: asyncio.Future[SipMessage]) -> None:
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:
        log.info("call %s: BYE after the restart got no answer: %r", call_id, error)
    else:
        status = done.result().status
        log.info("call %s: BYE after the restart answered %s", call_id, status)
