"""`Caller`: one generated call over real SIP, placed with `acdcore.sip.uac`.

It dials a number with an SDP offer, and once answered sends a looped tone, plays its DTMF
script (RFC 4733, each step `(seconds after the answer, digits)`), and stays until the far end
hangs up or its patience, counted from the INVITE, runs out: then it gives up (CANCEL before
the answer, BYE after) and the call is an abandon. `CallResult` says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from acdcore._core import NotAcceptableError, SipParseError, sdp_answer, sdp_offer

from ..media.session import RtpSession, bind_rtp_socket
from ..sip.transport import Addr
from ..sip.uac import CallFailed, OutgoingCall
from .endpoint import UaEndpoint, tone


@dataclass
class CallResult:
    """What a generated call did; `outcome` is "completed" (the far end hung up), "abandoned"
    (our patience ran out) or "failed" (no 2xx: see `status`)."""

    number: str
    outcome: str = "failed"
    status: int | None = None
    reason: str = ""
    answered: bool = False
    setup: float | None = None  # seconds from INVITE to the answer
    connected: float = 0.0  # seconds from the answer to the end
    digits_sent: str = ""
    dtmf_received: str = ""
    rtp_received: int = 0
    rtp_sent: int = 0


@dataclass
class CallerScript:
    """What a caller does: the number, DTMF steps `(seconds after answer, digits)` in order,
    and the patience in seconds from the INVITE."""

    number: str
    digits: Sequence[tuple[float, str]] = ()
    patience: float = 30.0
    from_user: str = "caller"
    steps: list[tuple[float, str]] = field(init=False)

    def __post_init__(self) -> None:
        if not self.patience > 0:
            raise ValueError(f"patience must be positive, got {self.patience!r}")
        self.steps = sorted(self.digits, key=lambda s: s[0])
        for at, digits in self.steps:
            if at < 0:
                raise ValueError(f"DTMF step {digits!r} at {at} s: times must not be negative")


class Caller:
    """Places one call from `endpoint` (a shared `UaEndpoint`) to the server at `target`."""

    def __init__(self, endpoint: UaEndpoint, target: Addr, script: CallerScript) -> None:
        self.endpoint = endpoint
        self.target = target
        self.script = script
        self.result = CallResult(script.number)
        self.call: OutgoingCall | None = None

    async def run(self) -> CallResult:
        loop = asyncio.get_running_loop()
        script, result = self.script, self.result
        host, port = self.endpoint.local
        start = loop.time()
        deadline = start + script.patience
        sock = bind_rtp_socket(host)
        session: RtpSession | None = None
        try:
            offer = sdp_offer(host, sock.getsockname()[1])
            call = self.call = self.endpoint.uac.invite(
                f"sip:{script.number}@{self.target[0]}:{self.target[1]}",
                self.target,
                offer,
                from_uri=f"sip:{script.from_user}@{host}:{port}",
            )
            try:
                response = await asyncio.wait_for(asyncio.shield(call.answered), script.patience)
            except TimeoutError:
                # Nothing at all came back (not even 100): the server is not there.
                silent = not call.provisional
                call.cancel()
                result.outcome = "failed" if silent else "abandoned"
                if silent:
                    result.status, result.reason = 408, "no response before the patience ran out"
                with contextlib.suppress(CallFailed, TimeoutError):
                    # A 2xx crossing the CANCEL is taken and ended with BYE by the UAC.
                    await asyncio.wait_for(asyncio.shield(call.answered), 32.0)
                    await call.bye()
                return result
            except CallFailed as e:
                result.status, result.reason = e.status, e.reason
                return result
            answered = loop.time()
            result.answered, result.status = True, response.status
            result.setup = answered - start
            session = self._media(sock, response.body)
            if session is None:
                await call.bye()
                result.outcome, result.reason = "failed", "unusable SDP answer"
                return result
            await session.start()
            session.play(tone(350.0), loop=True)
            steps = asyncio.ensure_future(self._dial(session, answered))
            left = max(0.0, deadline - loop.time())
            try:
                await asyncio.wait_for(asyncio.shield(call.ended), left)
                result.outcome = "completed"
            except TimeoutError:
                result.outcome = "abandoned"
                await call.bye()
            finally:
                steps.cancel()
            result.connected = loop.time() - answered
            return result
        finally:
            if session is not None:
                session.close()
                result.dtmf_received = session.stats.dtmf
                result.rtp_received = session.stats.received
                result.rtp_sent = session.stats.sent
            else:
                sock.close()

    def _media(self, sock: socket.socket, body: bytes) -> RtpSession | None:
        """The session toward the answer's address; the answer is read by negotiating with it
        as an offer (it lists the one codec the far end chose first)."""
        try:
            answer = sdp_answer(body, sock.getsockname()[0], sock.getsockname()[1])
        except (NotAcceptableError, SipParseError, ValueError):
            return None
        session = RtpSession(sock, answer.codec.upper(), answer.dtmf_payload_type)
        session.payload_type = answer.payload_type
        session.remote = (answer.remote_address, answer.remote_port)
        return session

    async def _dial(self, session: RtpSession, answered: float) -> None:
        loop = asyncio.get_running_loop()
        for at, digits in self.script.steps:
            await asyncio.sleep(max(0.0, answered + at - loop.time()))
            if session.dtmf_payload_type is None:
                return
            await session.send_digits(digits)
            self.result.digits_sent += digits
