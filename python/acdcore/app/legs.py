"""`OutboundLegs`: the SIP legs the contact center places — agent phones the engine offers a
call to, and ring-group or transfer targets — and their media.

The engine is live (`auto_accept=False`): an `offer` rings the agent's registered contact, the
agent's 200 is `Engine.accept` (the flow then gets `assign` and bridges the media), a failure
is `Engine.reject`, an `unoffer` cancels the leg.

Wrap-up: the agent keys `*<code>#` on the phone during the call (RFC 4733 or SIP INFO) to set
the disposition; calls without one get the configured default.

Legs are found by (call, agent) or dialog key in dicts: no scan over legs per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acdcore._core import (
    Event,
    NotAcceptableError,
    SipMessage,
    SipParseError,
    StateError,
    Uri,
    sdp_answer,
    sdp_offer,
)
from acdcore.media.session import RtpSession, bind_rtp_socket
from acdcore.sip.dialog import DialogKey
from acdcore.sip.info_dtmf import answer_info
from acdcore.sip.transaction import ServerTransaction
from acdcore.sip.transport import Addr
from acdcore.sip.uac import CallFailed, OutgoingCall

if TYPE_CHECKING:
    from acdcore.app.server import CallerLeg, ContactCenter

log = logging.getLogger(__name__)
CODECS = ("PCMU", "PCMA")


@dataclass
class AgentLeg:
    """A leg we placed to an agent's phone (or a transfer/ring target)."""

    call_id: str  # the caller's engine call id
    target: str  # engine agent id, or the ring/transfer target
    call: OutgoingCall
    rtp: RtpSession
    keys: str = ""  # digits keyed on this leg, for `*<code>#` dispositions


class OutboundLegs:
    def __init__(self, center: ContactCenter, users: dict[str, str]) -> None:
        self.center = center
        self._users = users  # engine agent id -> SIP user
        self.ringing: dict[tuple[str, str], AgentLeg] = {}  # (call, agent) -> leg ringing
        self.answered: dict[tuple[str, str], AgentLeg] = {}  # (call, agent) -> leg answered
        self.by_dialog: dict[DialogKey, AgentLeg] = {}  # answered legs, for in-dialog requests

    async def close(self) -> None:
        """BYE (or CANCEL) to every leg in progress."""
        for leg in list(self.by_dialog.values()) + list(self.ringing.values()):
            leg.call.cancel()
            with contextlib.suppress(Exception):  # shutting down: a failed BYE changes nothing
                await leg.call.bye()
            leg.rtp.close()

    def on_event(self, ev: Event) -> None:
        """Switchboard listener: offers ring agent phones, unoffers cancel them."""
        if ev.call is None or self.center.callbacks.owns(ev.call):
            return  # a caller on virtual hold: app/callbacks.py rings the agent
        if ev.kind == "offer":
            for agent in ev.agents or ([ev.agent] if ev.agent else []):
                if (ev.call, agent) not in self.answered:  # on the line already (`adopt`)
                    self._ring_agent(ev.call, agent)
        elif ev.kind == "unoffer" and ev.agent is not None:
            leg = self.ringing.pop((ev.call, ev.agent), None)
            if leg is not None:
                leg.call.cancel()

    def _ring_agent(self, call_id: str, agent: str) -> None:
        center = self.center
        user = self._users.get(agent)
        aor = f"sip:{user}@{center.address[0]}"
        bindings = [] if user is None else center.registrar.lookup(aor)
        caller = center.caller(call_id)
        if not bindings or caller is None:
            self._reject(call_id, agent)
            return
        binding = max(bindings, key=lambda b: b.expires_at)
        leg = self._place(
            call_id, agent, binding.contact, binding.source, caller, binding.transport
        )
        if leg is None:
            self._reject(call_id, agent)
            return
        self.ringing[(call_id, agent)] = leg
        center.stats.offers += 1
        center.spawn(self._await_agent(leg))

    def adopt(self, leg: AgentLeg) -> None:
        """A leg the agent's phone opened itself (click-to-dial: its INVITE to a number), held
        as answered for its call as if we had rung it: the engine's offer of that call to
        the agent is not rung, and keys and INFO on it set the disposition."""
        self._listen(leg)
        self.answered[(leg.call_id, leg.target)] = leg

    def _listen(self, leg: AgentLeg) -> None:
        """The leg's in-dialog requests and keyed digits come to us."""
        leg.call.on_request = lambda _, txn, request: self._agent_request(leg, txn, request)
        leg.rtp.on_digit = lambda d: self._agent_key(leg, d)

    def _place(
        self,
        call_id: str,
        target: str,
        uri: str,
        dest: Addr,
        caller: CallerLeg,
        transport: str | None,
    ) -> AgentLeg | None:
        leg = place_leg(self.center, call_id, target, uri, dest, caller.leg.remote_uri, transport)
        if leg is not None:
            self._listen(leg)
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
            await start_media(leg.rtp, response.body, self.center.address[0])
        except (NotAcceptableError, SipParseError) as e:
            log.warning("call %s: %s answered with unusable SDP: %s", leg.call_id, leg.target, e)
            await leg.call.bye()
            leg.rtp.close()
            return False
        self.by_dialog[leg.call.leg.key] = leg
        leg.call.ended.add_done_callback(lambda _: self.by_dialog.pop(leg.call.leg.key, None))
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
            self.center.stats.agent_failures += 1
            self._reject(leg.call_id, leg.target)
            return
        self.answered[key] = leg
        sb = self.center.sb
        try:
            sb.apply(self.center.engine.accept(sb.now(), leg.call_id, leg.target))
        except (KeyError, StateError) as e:
            log.warning("engine accept of %s by %s refused: %s", leg.call_id, leg.target, e)
            self.answered.pop(key, None)
            await leg.call.bye()
            leg.rtp.close()

    def _reject(self, call_id: str, agent: str) -> None:
        sb = self.center.sb
        try:
            events = self.center.engine.reject(sb.now(), call_id, agent)
        except (KeyError, StateError) as e:
            log.warning("engine reject of %s by %s refused: %s", call_id, agent, e)
            return
        # Deferred: a re-offer to the same agent must not ring inside this offer's handling.
        asyncio.get_running_loop().call_soon(sb.apply, events)

    def answered_leg(self, call_id: str, agent: str) -> AgentLeg | None:
        return self.answered.pop((call_id, agent), None)

    async def ring_first(
        self, call_id: str, targets: Sequence[str], timeout: float
    ) -> AgentLeg | None:
        """Rings every target (a registered SIP user, or a sip: URI) at once; the first to
        answer is returned, the others cancelled."""
        caller = self.center.caller(call_id)
        if caller is None:
            return None
        legs = []
        for target in targets:
            found = self._resolve(target)
            if found is not None:
                uri, dest, transport = found
                leg = self._place(call_id, target, uri, dest, caller, transport)
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

    def _resolve(self, target: str) -> tuple[str, Addr, str | None] | None:
        """Where to ring `target`: (URI, address, transport), the registered phone's when
        there is one."""
        registrar = self.center.registrar
        if target.startswith("sip:"):
            bindings = registrar.lookup(target)
            if bindings:
                b = max(bindings, key=lambda b: b.expires_at)
                return b.contact, b.source, b.transport
            try:
                uri = Uri.parse(target)
            except SipParseError:
                return None
            return target, (uri.host, uri.port or 5060), uri_transport(uri)
        bindings = registrar.lookup(f"sip:{target}@{self.center.address[0]}")
        if not bindings:
            return None
        b = max(bindings, key=lambda b: b.expires_at)
        return b.contact, b.source, b.transport

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
                    self.center.sb.dispose(leg.call_id, code)
                    self.center.stats.dispositions += 1
            elif len(leg.keys) < 16:
                leg.keys += digit


def place_leg(
    center: ContactCenter,
    call_id: str,
    target: str,
    uri: str,
    dest: Addr,
    from_uri: str | None,
    transport: str | None = None,
) -> AgentLeg | None:
    """An RTP session on a free port and our INVITE with its SDP offer to `uri`, over
    `transport` (a registration's, or `uri_transport`; None: the first served); None when no
    RTP port is free."""
    host = center.address[0]
    try:
        rtp = RtpSession(bind_rtp_socket(host, center.config.rtp_ports))
    except OSError:
        return None
    offer = sdp_offer(host, rtp.local_address[1], CODECS)
    call = center.uac_for(transport).invite(uri, dest, offer, from_uri=from_uri)
    return AgentLeg(call_id, target, call, rtp)


def uri_transport(uri: Uri) -> str | None:
    """The URI's `transport` parameter ("udp", "tcp", ...) lowercased, None without one."""
    for name, value in uri.params:
        if name.lower() == "transport" and value:
            return value.lower()
    return None


async def start_media(rtp: RtpSession, body: bytes, host: str) -> None:
    """Sets `rtp` up from the far end's SDP answer to our offer (read as an offer, it gives
    the codec and address they chose) and starts it; NotAcceptableError or SipParseError
    for an answer we cannot use."""
    got = sdp_answer(body, host, rtp.local_address[1], CODECS)
    configure(rtp, got.codec, got.payload_type, got.dtmf_payload_type)
    rtp.remote = (got.remote_address, got.remote_port)
    await rtp.start()


def configure(rtp: RtpSession, codec: str, pt: int, dtmf: int | None) -> None:
    rtp.codec = codec.upper()
    rtp.payload_type = pt
    rtp.dtmf_payload_type = dtmf
