"""A back-to-back user agent joining a caller to a registered agent phone (signaling only).

A caller's INVITE to us (the UAS leg) starts an INVITE from us (the UAC leg) to the contact
the registrar holds for the agent the `route` picks (by default the Request-URI's user).
180/183 and the 200 are relayed with the caller's dialog tag we chose; the agent's failure
becomes one clear final response for the caller (486 when busy, 480 otherwise, the agent's
status in the reason); CANCEL from the caller cancels the agent leg; BYE on either side ends
both; a re-INVITE (hold, resume) on either side is relayed to the other and its answer
relayed back; INFO DTMF digits from the caller reach `on_dtmf` in order. SDP is passed
through untouched, so media flows directly between the two phones: anchoring it through our
RTP sessions comes with the media layer.

Two guards: an allowed-address list (requests from elsewhere get 403, their ACKs are
dropped) and a cap on calls being set up at once (`max_setups`: new INVITEs beyond it get 503
with Retry-After while calls already up keep working).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field

from acdcore._core import SipMessage, SipParseError

from .dialog import DialogKey, Leg, dialog_key_at_uas, new_tag
from .info_dtmf import answer_info
from .registrar import Binding, Registrar, aor_of
from .transaction import ServerTransaction, Timers, TransactionLayer, open_transactions
from .transport import Addr
from .uac import CallFailed, OutgoingCall, Uac
from .uas import Uas, UasServer

_BUSY = frozenset({486, 600, 603})


@dataclass
class BridgedCall:
    """A caller leg and the agent leg we opened for it."""

    caller: Leg
    invite: ServerTransaction
    aor: str
    agent: OutgoingCall | None = None
    state: str = "routing"  # routing -> answered -> ended; or failed, cancelled
    ended_by: str | None = None  # "caller", "agent", "timeout"
    digits: list[str] = field(default_factory=list)
    _ring_timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    _rang_out: bool = False


@dataclass
class B2buaStats:
    calls: int = 0
    answered: int = 0
    failed: int = 0
    cancelled: int = 0
    ended: int = 0
    overloaded: int = 0
    forbidden: int = 0
    dtmf: int = 0
    reinvites: int = 0


class B2bua:
    """The transaction user of a B2BUA; `serve_b2bua` runs it over UDP, TCP or both."""

    def __init__(
        self,
        registrar: Registrar,
        uas: Uas | None = None,
        route: Callable[[SipMessage], str | None] | None = None,
        allowed: Sequence[str] | None = None,
        max_setups: int = 1000,
        retry_after: int = 5,
        ring_timeout: float = 30.0,
        on_dtmf: Callable[[BridgedCall, str], None] | None = None,
    ) -> None:
        if max_setups < 1:
            raise ValueError(f"max_setups must be at least 1, got {max_setups}")
        if not ring_timeout > 0:
            raise ValueError(f"ring_timeout must be positive, got {ring_timeout!r}")
        self.registrar = registrar
        self.uas = uas or Uas()
        self.uas.handlers.setdefault("REGISTER", registrar.on_register)
        self.route = route or self._by_user
        self.allowed = None if allowed is None else [_network(a) for a in allowed]
        self.max_setups = max_setups
        self.retry_after = retry_after
        self.ring_timeout = ring_timeout
        self.on_dtmf = on_dtmf
        self.on_ended: list[Callable[[BridgedCall], None]] = []
        self.stats = B2buaStats()
        self.calls: dict[DialogKey, BridgedCall] = {}  # by caller dialog, once answered
        self._setting_up: dict[tuple[str, str], BridgedCall] = {}
        self._by_agent: dict[DialogKey, BridgedCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._uac: Uac | None = None
        self._uacs: dict[str, Uac] = {}  # by transport, "udp" / "tcp": one per layer served
        self._local: Addr = ("127.0.0.1", 5060)

    def attach(self, layer: TransactionLayer, local: Addr) -> None:
        """Serves `layer`; the first one attached is the default for agent legs, and an agent
        registered over another attached transport is called over that one."""
        uac = Uac(layer, local)
        self._uacs.setdefault("tcp" if layer.reliable else "udp", uac)
        if self._uac is None:
            self._uac = uac
            self._local = local

    def uac_for(self, binding: Binding) -> Uac:
        """The UAC core on the transport the agent's phone registered over (its TCP
        connection is reused: `binding.source` is the phone's end of it)."""
        return self._uacs.get(binding.transport) or self.uac

    def _caller_leg(self, txn: ServerTransaction, request: SipMessage, tag: str) -> Leg:
        leg = Leg.from_request(request, tag, txn.source, self._local)
        leg.transport = "TCP" if txn.layer.reliable else "UDP"
        return leg

    def _layer_for(self, leg: Leg) -> TransactionLayer:
        uac = self._uacs.get(leg.transport.lower())
        return (uac or self.uac).layer

    @property
    def uac(self) -> Uac:
        if self._uac is None:
            raise RuntimeError("B2bua.attach(layer, address) first (serve_b2bua does it)")
        return self._uac

    def _by_user(self, request: SipMessage) -> str | None:
        """The Request-URI's user at our host: `sip:agent1@acd` calls agent1."""
        user = request.uri().user
        return None if not user else aor_of(f"sip:{user}@{self._local[0]}")

    def _contact(self) -> tuple[str, str]:
        return ("Contact", f"<sip:acd@{self._local[0]}:{self._local[1]}>")

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Transaction user interface.

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
        if not self._allowed(txn.source):
            self.stats.forbidden += 1
            txn.respond(request.reply(403, "Forbidden (address not allowed)"))
            return
        method = request.method or ""
        if request.to.tag is not None:
            call = self.calls.get(dialog_key_at_uas(request))
            if call is not None:
                self._in_dialog(call, call.agent.leg if call.agent else None, txn, request)
                return
            if any(uac.on_request(txn, request) for uac in self._uacs.values()):
                return
        elif method == "INVITE":
            self._new_call(txn, request)
            return
        if method == "CANCEL":
            invite = txn.layer.invite_for(request)
            setting_up = None if invite is None else self._setting_up.get(invite.key[:2])
            if setting_up is not None:
                self._cancel(setting_up, txn, request)
                return
        self.uas.on_request(txn, request)

    def on_ack(self, request: SipMessage, source: Addr) -> None:
        if not self._allowed(source):
            return
        call = self.calls.get(dialog_key_at_uas(request))
        if call is not None:
            call.caller.state = "confirmed"
            return
        self.uas.on_ack(request, source)

    def on_timeout(self, txn: ServerTransaction) -> None:
        final = txn.final_response
        if txn.invite and final is not None and (final.status or 0) < 300:
            key = (final.call_id, final.to.tag or "", final.from_.tag or "")
            call = self.calls.get(key)
            if call is not None and call.caller.state == "early":
                # The caller never acknowledged our 200 (13.3.1.4): end both legs.
                self._end(call, "timeout")
                self._hang_up_agent(call)
                return
        self.uas.on_timeout(txn)

    # Call setup.

    def _admit(self, txn: ServerTransaction, request: SipMessage) -> bool:
        """503 beyond `max_setups`, else 100 Trying and the call is counted."""
        if len(self._setting_up) >= self.max_setups:
            self.stats.overloaded += 1
            txn.respond(request.reply(503, headers=[("Retry-After", str(self.retry_after))]))
            return False
        txn.respond(request.reply(100))
        self.stats.calls += 1
        return True

    def _new_call(self, txn: ServerTransaction, request: SipMessage) -> None:
        if not self._admit(txn, request):
            return
        tag = new_tag()
        try:
            aor = self.route(request)
        except SipParseError:
            aor = None
        bindings = [] if aor is None else self.registrar.lookup(aor)
        if not bindings:
            self.stats.failed += 1
            reason = f"No agent registered for {aor}" if aor else "No agent to route to"
            txn.respond(request.reply(480, reason, to_tag=tag))
            return
        assert aor is not None
        binding = max(bindings, key=lambda b: b.expires_at)
        call = BridgedCall(self._caller_leg(txn, request, tag), txn, aor)
        self._setting_up[txn.key[:2]] = call
        agent = self.uac_for(binding).invite(
            binding.contact,
            binding.source,
            request.body,
            from_uri=request.from_.uri.text,
            on_provisional=lambda r: self._agent_provisional(call, r),
        )
        agent.on_request = lambda _, t, r: self._agent_request(call, t, r)
        call.agent = agent
        loop = asyncio.get_running_loop()
        call._ring_timer = loop.call_later(self.ring_timeout, self._ring_timed_out, call)
        self._spawn(self._await_answer(call))

    def _agent_provisional(self, call: BridgedCall, response: SipMessage) -> None:
        status = response.status or 0
        if call.state != "routing" or status not in (180, 183):
            return
        request = call.invite.request
        body = response.body
        call.invite.respond(
            request.reply(
                status,
                to_tag=call.caller.local_tag,
                headers=[self._contact()],
                body=body,
                content_type=response.content_type if body else None,
            )
        )

    def _ring_timed_out(self, call: BridgedCall) -> None:
        if call.state == "routing" and call.agent is not None:
            call._rang_out = True
            call.agent.cancel()

    async def _await_answer(self, call: BridgedCall) -> None:
        assert call.agent is not None
        request = call.invite.request
        tag = call.caller.local_tag
        try:
            response = await call.agent.answered
        except CallFailed as e:
            self._setup_done(call)
            if call.state == "cancelled":
                return
            call.state = "failed"
            self.stats.failed += 1
            status, reason = self._caller_status(e, call._rang_out)
            call.invite.respond(request.reply(status, reason, to_tag=tag))
            return
        self._setup_done(call)
        if call.state == "cancelled":
            return  # the UAC core has sent BYE to the agent that answered too late
        call.state = "answered"
        self.stats.answered += 1
        self.calls[call.caller.key] = call
        self._by_agent[call.agent.leg.key] = call
        body = response.body
        call.invite.respond(
            request.reply(
                200,
                to_tag=tag,
                headers=[self._contact(), ("Allow", self.allow)],
                body=body,
                content_type=response.content_type if body else None,
            )
        )

    @staticmethod
    def _caller_status(e: CallFailed, rang_out: bool) -> tuple[int, str]:
        if rang_out or e.status == 408:
            return 480, "Agent did not answer"
        if e.status in _BUSY:
            return 486, f"Agent busy ({e.status} {e.reason})"
        return 480, f"Agent unavailable ({e.status} {e.reason})"

    def _setup_done(self, call: BridgedCall) -> None:
        self._setting_up.pop(call.invite.key[:2], None)
        if call._ring_timer is not None:
            call._ring_timer.cancel()

    def _cancel(self, call: BridgedCall, txn: ServerTransaction, request: SipMessage) -> None:
        txn.respond(request.reply(200))
        call.state = "cancelled"
        self.stats.cancelled += 1
        self._setup_done(call)
        call.invite.respond(call.invite.request.reply(487, to_tag=call.caller.local_tag))
        if call.agent is not None:
            call.agent.cancel()

    # In-dialog requests.

    def _agent_request(
        self, call: BridgedCall, txn: ServerTransaction, request: SipMessage
    ) -> None:
        if request.method == "BYE":
            # The UAC core has answered the agent's BYE.
            if call.state == "answered":
                self._end(call, "agent")
                bye = call.caller.request("BYE")
                self._spawn(self._request(call.caller, bye))
            return
        self._in_dialog(call, call.caller, txn, request)

    def _in_dialog(
        self, call: BridgedCall, other: Leg | None, txn: ServerTransaction, request: SipMessage
    ) -> None:
        method = request.method
        from_caller = other is not call.caller
        if method == "BYE" and from_caller:
            txn.respond(request.reply(200))
            self._end(call, "caller")
            self._hang_up_agent(call)
        elif method == "INFO":
            self._info(call, txn, request)
        elif method == "INVITE" and other is not None and call.state == "answered":
            self.stats.reinvites += 1
            self._spawn(self._relay_reinvite(txn, request, other))
        elif method == "OPTIONS":
            txn.respond(request.reply(200, headers=[("Allow", self.allow)]))
        else:
            txn.respond(
                request.reply(405 if method != "INVITE" else 491, headers=[("Allow", self.allow)])
            )

    def _info(self, call: BridgedCall, txn: ServerTransaction, request: SipMessage) -> None:
        digit = answer_info(txn, request)
        if digit is None:
            return
        call.digits.append(digit)
        self.stats.dtmf += 1
        if self.on_dtmf is not None:
            self.on_dtmf(call, digit)

    async def _relay_reinvite(self, txn: ServerTransaction, request: SipMessage, out: Leg) -> None:
        """The other leg gets the same offer; its answer (or refusal) goes back (RFC 3264 8)."""
        body = request.body
        reinvite = out.request("INVITE", body, request.content_type if body else None)
        try:
            response = await self._layer_for(out).request(reinvite, out.dest).response
        except TimeoutError:
            txn.respond(request.reply(408))
            return
        status = response.status or 500
        headers = []
        if status < 300:
            ack = out.request("ACK", cseq=reinvite.cseq[0])
            self._layer_for(out).send(ack.to_bytes(), out.dest)
            headers.append(self._contact())
        answer = response.body
        txn.respond(
            request.reply(
                status,
                response.reason,
                headers=headers,
                body=answer,
                content_type=response.content_type if answer else None,
            )
        )

    # Ending.

    def _end(self, call: BridgedCall, by: str) -> None:
        if call.state == "ended":
            return
        call.state = "ended"
        call.ended_by = by
        call.caller.state = "ended"
        self.calls.pop(call.caller.key, None)
        if call.agent is not None:
            self._by_agent.pop(call.agent.leg.key, None)
        self.stats.ended += 1
        for listener in self.on_ended:
            listener(call)

    def _hang_up_agent(self, call: BridgedCall) -> None:
        if call.agent is not None:
            self._spawn(call.agent.bye())

    async def _request(self, leg: Leg, request: SipMessage) -> None:
        txn = self._layer_for(leg).request(request, leg.dest)
        with contextlib.suppress(TimeoutError):
            await txn.response

    @property
    def allow(self) -> str:
        """Allow in our answers: the UAS's methods (REGISTER with the registrar) and INFO."""
        allow = self.uas.allow
        return allow if "INFO" in self.uas.handlers else f"{allow}, INFO"

    def _allowed(self, source: Addr) -> bool:
        if self.allowed is None:
            return True
        try:
            address = ipaddress.ip_address(source[0])
        except ValueError:
            return False
        return any(address in network for network in self.allowed)


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"bad allowed address {text!r}: expected an IP address or network"
        ) from None


@dataclass
class B2buaServer(UasServer):
    """A running B2BUA: `uas` is the one serving OPTIONS and REGISTER beside it; `others` the
    further transports on the same port number (TCP beside UDP)."""

    b2bua: B2bua
    others: list[UasServer] = field(default_factory=list)

    def close(self) -> None:
        super().close()
        for other in self.others:
            other.close()


async def serve_b2bua(
    b2bua: B2bua,
    host: str = "127.0.0.1",
    port: int = 5060,
    timers: Timers | None = None,
    max_transactions: int = 10000,
    transport: str = "udp",
) -> B2buaServer:
    """Serves `b2bua` (and its registrar) on `host:port` until `close()`: over "udp", "tcp"
    or "both" (UDP first, `port=0` picks its port, TCP on the same number). With both, an
    agent phone that registered over TCP gets its leg over its own TCP connection."""
    if transport not in ("udp", "tcp", "both"):
        raise ValueError(f"unknown SIP transport {transport!r}: expected 'udp', 'tcp' or 'both'")
    kinds = ("udp", "tcp") if transport == "both" else (transport,)
    endpoint, layer = await open_transactions(b2bua, host, port, timers, max_transactions, kinds[0])
    local = endpoint.local_address
    b2bua.attach(layer, local)
    server = B2buaServer(endpoint, layer, b2bua.uas, b2bua)
    for kind in kinds[1:]:
        try:
            other, other_layer = await open_transactions(
                b2bua, host, local[1], timers, max_transactions, kind
            )
        except OSError:
            server.close()
            raise
        b2bua.attach(other_layer, local)
        server.others.append(UasServer(other, other_layer, b2bua.uas))
    return server
