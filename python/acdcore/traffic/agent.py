"""`AgentPhone`: an auto-answering agent phone for generated traffic, over real SIP.

It registers with digest authentication and refreshes at half the granted expiry, answers
each INVITE after `answer_delay` with its own RTP session (a looped tone out, counters and
RFC 4733 digits in), and hangs up after a talk time drawn from its seeded generator (or
waits for the far end's BYE when `talk_mean` is None). Before its own BYE it can send a
disposition as RFC 4733 digits on the call (`*42#`). `unregister` takes it away.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from acdcore._core import (
    Challenge,
    NotAcceptableError,
    SipMessage,
    SipParseError,
    sdp_answer,
    sdp_offer,
    telephone_event,
)

from ..media.session import RtpSession, bind_rtp_socket
from ..sip.dialog import DialogKey, Leg, dialog_key_at_uas, new_tag
from ..sip.digest import ALGORITHMS, DigestError, authorization
from ..sip.transaction import ServerTransaction, Timers, new_branch
from ..sip.transport import Addr
from ..sip.uac import CallFailed, Credentials
from .endpoint import UaEndpoint, open_endpoint, tone


class RegistrationError(Exception):
    """The registrar refused the phone: its final status and reason."""

    def __init__(self, user: str, status: int, reason: str) -> None:
        super().__init__(f"agent phone {user!r}: REGISTER got {status} {reason}")
        self.status = status


@dataclass
class AgentCall:
    """One call the phone took: what happened on it."""

    call_id: str
    caller: str
    answered_at: float
    ended_at: float | None = None
    ended_by: str | None = None  # "agent" or "caller"
    talk: float | None = None  # the drawn talk time; None waits for the caller
    digits_sent: str = ""
    dtmf_received: str = ""
    rtp_received: int = 0
    rtp_sent: int = 0
    early_rtp: int = 0  # a call the phone dialed: packets heard before the answer (ringback)


@dataclass
class _Live:
    call: AgentCall
    leg: Leg
    session: RtpSession
    task: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class AgentPhone:
    """An agent's phone on its own UDP port of `host`, registering at `server`."""

    def __init__(
        self,
        server: Addr,
        user: str,
        password: str,
        *,
        domain: str | None = None,
        answer_delay: float = 0.5,
        talk_mean: float | None = 5.0,
        talk_min: float = 1.0,
        disposition: str | None = None,
        seed: int = 0,
        expires: int = 300,
        host: str = "127.0.0.1",
        timers: Timers | None = None,
    ) -> None:
        if answer_delay < 0 or talk_min < 0:
            raise ValueError("answer_delay and talk_min must not be negative")
        if talk_mean is not None and not talk_mean > 0:
            raise ValueError(f"talk_mean must be positive or None, got {talk_mean!r}")
        if expires < 1:
            raise ValueError(f"expires must be at least 1 second, got {expires}")
        for digit in disposition or "":
            telephone_event(digit)  # ValueError naming a bad disposition digit
        self.server = server
        self.user = user
        self.password = password
        self.domain = domain or server[0]
        self.answer_delay = answer_delay
        self.talk_mean = talk_mean
        self.talk_min = talk_min
        self.disposition = disposition
        self.expires = expires
        self.host = host
        self.timers = timers
        self.rng = random.Random(seed)
        self.calls: list[AgentCall] = []
        self.registered = False
        self.granted: int | None = None
        self.refreshes = 0
        self._endpoint: UaEndpoint | None = None
        self._live: dict[DialogKey, _Live] = {}
        # By INVITE transaction key[:2]: the answer timer and the To tag the 180 carried.
        self._ringing: dict[tuple[str, str], tuple[asyncio.TimerHandle, str]] = {}
        self._call_id = f"{new_tag()}{new_tag()}@{host}"
        self._from_tag = new_tag()
        self._cseq = 0
        self._challenge: tuple[Challenge, int] | None = None  # (Challenge, nc)
        self._refresh: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tone = tone(440.0)
        self._changed = asyncio.Event()

    @property
    def endpoint(self) -> UaEndpoint:
        if self._endpoint is None:
            raise RuntimeError(f"agent phone {self.user!r} is not started")
        return self._endpoint

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    async def start(self, register: bool = True) -> None:
        """Opens the phone's port and registers; RegistrationError when refused. Without
        `register` it only answers calls sent to its address (SIPp, a test's UAC)."""
        if self._endpoint is None:
            self._endpoint = await open_endpoint(self.host, self.timers)
            self._endpoint.incoming = self._incoming
        if register:
            await self.register()

    # Registration.

    async def register(self, expires: int | None = None) -> int:
        """One REGISTER (answering a digest challenge); the expiry granted, 0 when removed."""
        wanted = self.expires if expires is None else expires
        response = await self._send_register(wanted, use_cached=True)
        if (response.status or 0) in (401, 407):
            self._answer_challenge(response)
            response = await self._send_register(wanted, use_cached=True)
        status = response.status or 0
        if status != 200:
            self._challenge = None
            raise RegistrationError(self.user, status, response.reason or "")
        # The registrar lists every binding of the AOR; ours is the one on our port.
        granted = response.expires if response.expires is not None else wanted
        port = self.endpoint.local[1]
        for contact in response.contacts():
            if contact.uri.port == port and contact.expires is not None:
                granted = contact.expires
        self.granted = granted if wanted > 0 else 0
        self.registered = wanted > 0
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        if self.registered:
            loop = asyncio.get_running_loop()
            self._refresh = loop.call_later(max(1.0, granted / 2), self._spawn_refresh)
        self._changed.set()
        return self.granted

    def _spawn_refresh(self) -> None:
        self._refresh = None
        self._spawn(self._refresh_once())

    async def _refresh_once(self) -> None:
        try:
            await self.register()
            self.refreshes += 1
        except (RegistrationError, TimeoutError):
            self.registered = False

    async def unregister(self) -> None:
        """Removes the phone's binding (Expires: 0): the agent goes away."""
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        if self._endpoint is not None and self.registered:
            await self.register(0)

    def _contact(self) -> str:
        host, port = self.endpoint.local
        return f"<sip:{self.user}@{host}:{port}>"

    async def _send_register(self, expires: int, use_cached: bool) -> SipMessage:
        self._cseq += 1
        host, port = self.endpoint.local
        uri = f"sip:{self.domain}"
        headers = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.aor}>;tag={self._from_tag}"),
            ("To", f"<{self.aor}>"),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", self._contact()),
            ("Expires", str(expires)),
        ]
        if use_cached and self._challenge is not None:
            challenge, nc = self._challenge
            self._challenge = (challenge, nc + 1)
            value = authorization(challenge, "REGISTER", uri, self.user, self.password, nc=nc)
            headers.append(("Authorization", value))
        request = SipMessage.request("REGISTER", uri, headers)
        txn = self.endpoint.layer.request(request, self.server)
        return await txn.response

    def _answer_challenge(self, response: SipMessage) -> None:
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        usable = [
            c for c in response.auth(name) if (c.param("algorithm") or "MD5").upper() in ALGORITHMS
        ]
        if not usable:
            raise RegistrationError(self.user, response.status or 0, f"no usable {name}")
        try:
            authorization(usable[0], "REGISTER", f"sip:{self.domain}", self.user, self.password)
        except DigestError as e:
            raise RegistrationError(self.user, response.status or 0, str(e)) from None
        self._challenge = (usable[0], 1)

    # Calls.

    def _incoming(self, txn: ServerTransaction, request: SipMessage) -> None:
        method = request.method
        if method == "INVITE" and request.to.tag is None:
            self._ring(txn, request)
        elif method == "CANCEL":
            self._cancelled(txn, request)
        elif method == "BYE":
            live = self._live.get(dialog_key_at_uas(request))
            txn.respond(request.reply(200 if live else 481))
            if live is not None:
                self._end(live, "caller")
        elif method in ("INFO", "OPTIONS"):
            txn.respond(request.reply(200))
        else:
            txn.respond(request.reply(488 if method == "INVITE" else 405))

    def _ring(self, txn: ServerTransaction, request: SipMessage) -> None:
        if self._live or self._ringing:
            txn.respond(request.reply(486))  # one line: an agent on a call is busy
            return
        tag = new_tag()
        txn.respond(request.reply(180, to_tag=tag, headers=[("Contact", self._contact())]))
        loop = asyncio.get_running_loop()
        key = (txn.key[0], txn.key[1])
        handle = loop.call_later(self.answer_delay, self._answer, txn, request, tag)
        self._ringing[key] = (handle, tag)

    def _cancelled(self, txn: ServerTransaction, request: SipMessage) -> None:
        invite = self.endpoint.layer.invite_for(request)
        ringing = None if invite is None else self._ringing.pop(invite.key[:2], None)
        txn.respond(request.reply(200 if invite is not None else 481))
        if invite is not None and ringing is not None:
            ringing[0].cancel()
            invite.respond(invite.request.reply(487, to_tag=ringing[1]))

    def _answer(self, txn: ServerTransaction, request: SipMessage, tag: str) -> None:
        self._ringing.pop((txn.key[0], txn.key[1]), None)
        try:
            sock = bind_rtp_socket(self.host)
        except OSError as e:
            txn.respond(request.reply(503, f"no RTP port: {e}"[:100], to_tag=tag))
            return
        try:
            answer = sdp_answer(request.body, self.host, sock.getsockname()[1])
        except (NotAcceptableError, SipParseError, ValueError) as e:
            sock.close()
            txn.respond(request.reply(488, str(e)[:100], to_tag=tag))
            return
        session = RtpSession(sock, answer.codec.upper(), answer.dtmf_payload_type)
        session.payload_type = answer.payload_type
        session.remote = (answer.remote_address, answer.remote_port)
        leg = Leg.from_request(request, tag, txn.source, self.endpoint.local)
        leg.state = "confirmed"
        loop = asyncio.get_running_loop()
        talk = None
        if self.talk_mean is not None:
            talk = self.talk_min + self.rng.expovariate(1 / self.talk_mean)
        call = AgentCall(request.call_id, request.from_.uri.text, loop.time(), talk=talk)
        live = _Live(call, leg, session)
        self._live[leg.key] = live
        self.calls.append(call)
        txn.respond(
            request.reply(
                200,
                to_tag=tag,
                headers=[("Contact", self._contact())],
                body=answer.sdp,
                content_type="application/sdp",
            )
        )
        live.task = loop.create_task(self._talk(live))
        self._changed.set()

    async def dial(
        self,
        number: str,
        *,
        talk: float | None = None,
        authenticate: bool = True,
        give_up: float | None = None,
    ) -> AgentCall:
        """Click-to-dial from the phone: INVITE `sip:<number>@<domain>` at the server with our
        SDP, answering a 401/407 with the phone's credentials (none with `authenticate`
        False). Audio heard before the answer (ringback, music) counts in `early_rtp`; once
        answered the call is in `calls` and runs as an answered one: tone out, our BYE after
        `talk` seconds (None: the far end hangs up). Unanswered after `give_up` seconds it is
        cancelled. CallFailed with the final status when it is not answered."""
        session = RtpSession(bind_rtp_socket(self.host), "PCMU", 101)
        offer = sdp_offer(self.host, session.local_address[1], ("PCMU", "PCMA"))
        out = self.endpoint.uac.invite(
            f"sip:{number}@{self.domain}", self.server, offer, from_uri=self.aor,
            credentials=Credentials(self.user, self.password) if authenticate else None,
        )  # fmt: skip
        await session.start()  # hears early media from the 183 on
        loop = asyncio.get_running_loop()
        cancel = None if give_up is None else loop.call_later(give_up, out.cancel)
        try:
            response = await out.answered
            got = sdp_answer(response.body, self.host, session.local_address[1])
        except (CallFailed, NotAcceptableError, SipParseError):
            session.close()
            if out.state == "confirmed":
                await out.bye()
            raise
        finally:
            if cancel is not None:
                cancel.cancel()
        early = session.stats.received
        session.codec, session.payload_type = got.codec.upper(), got.payload_type
        session.dtmf_payload_type = got.dtmf_payload_type
        session.remote = (got.remote_address, got.remote_port)
        call = AgentCall(out.leg.call_id, out.leg.remote_uri, loop.time(), talk=talk)
        call.early_rtp = early
        live = _Live(call, out.leg, session)
        self._live[out.leg.key] = live
        self.calls.append(call)
        out.ended.add_done_callback(lambda _: self._end(live, "caller"))
        live.task = loop.create_task(self._talk(live, started=True))
        self._changed.set()
        return call

    async def _talk(self, live: _Live, started: bool = False) -> None:
        session = live.session
        if not started:
            await session.start()
        if session.closed:
            return
        session.play(self._tone, loop=True)
        if live.call.talk is None:
            return  # the caller hangs up
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.ended.wait(), live.call.talk)
        if live.ended.is_set():
            return
        if self.disposition and session.dtmf_payload_type is not None:
            live.call.digits_sent = self.disposition
            await session.send_digits(self.disposition)
            await asyncio.sleep(0.1)  # the end packets leave before the BYE
        if live.ended.is_set():
            return
        self._end(live, "agent")
        txn = self.endpoint.layer.request(live.leg.request("BYE"), live.leg.dest)
        with contextlib.suppress(TimeoutError):
            await txn.response

    def _end(self, live: _Live, by: str) -> None:
        if live.ended.is_set():
            return
        live.ended.set()
        self._live.pop(live.leg.key, None)
        call = live.call
        call.ended_by = by
        call.ended_at = asyncio.get_running_loop().time()
        live.session.close()
        call.dtmf_received = live.session.stats.dtmf
        call.rtp_received = live.session.stats.received
        call.rtp_sent = live.session.stats.sent
        self._changed.set()

    @property
    def busy(self) -> bool:
        return bool(self._live)

    async def wait_until(self, done: Callable[[], object], timeout: float) -> bool:
        """Waits (at most `timeout` seconds) until `done()` is true; checked on each change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, unregister: bool = True) -> None:
        """Hangs up what is live, unregisters (when asked and possible) and closes the port."""
        for handle, _ in self._ringing.values():
            handle.cancel()
        self._ringing.clear()
        for live in list(self._live.values()):
            if live.task is not None:
                live.task.cancel()
            self._end(live, "agent")
            txn = self.endpoint.layer.request(live.leg.request("BYE"), live.leg.dest)
            txn.response.add_done_callback(lambda f: f.cancelled() or f.exception())
        if unregister:
            with contextlib.suppress(RegistrationError, TimeoutError):
                await self.unregister()
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        for task in list(self._tasks):
            task.cancel()
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None
