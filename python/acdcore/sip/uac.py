"""A UAC core (RFC 3261 section 13.2): outgoing INVITE, ACK for a 2xx, CANCEL, BYE.

`Uac.invite` sends an INVITE on a client transaction and returns an `OutgoingCall` at once;
await `call.answered` for the 2xx (or `CallFailed` with the final status, 408 when nothing
came back). A 401/407 is answered once with digest credentials when the call has them. The
2xx is acknowledged here, in its own transaction, per 13.2.2.4 (same CSeq number, method ACK,
a new branch, the credentials of the INVITE), and again for each retransmitted 2xx (the
transaction layer hands those over as stray responses). CANCEL waits for a provisional
(9.1); a 2xx that crosses a CANCEL is acknowledged and ended with BYE.

`Uac.ringing` holds the INVITEs still without a final answer, for a checkpoint to save
(app/restore.py). After a restart, `Uac.adopt` takes one such INVITE of the dead process back
as an `Orphan`: its CANCEL goes out in a new transaction (retransmitted on the timers of
17.1.2, so a bounded number of times), the final answer to the dead INVITE, which no client
transaction matches any more, is routed to it from the stray responses: a non-2xx gets its
hop-by-hop ACK (17.1.1.3), a 2xx (the callee answered before the CANCEL reached it) its ACK and
then a BYE (15: the UAC ends a dialog it does not want), each fork's 2xx its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from acdcore._core import SipMessage, SipParseError

from .dialog import DialogKey, Leg, dialog_key_at_uas, new_tag
from .digest import ALGORITHMS, DigestError, authorization
from .transaction import ClientTransaction, ServerTransaction, TransactionLayer
from .transport import Addr

log = logging.getLogger(__name__)


class CallFailed(Exception):
    """An outgoing call that ended without a 2xx: the final status and reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


InDialog = Callable[["OutgoingCall", ServerTransaction, SipMessage], None]


@dataclass
class OutgoingCall:
    """One INVITE we sent and the dialog it created."""

    uac: Uac
    leg: Leg
    sdp: bytes
    credentials: Credentials | None
    on_provisional: Callable[[SipMessage], None] | None = None
    # The callee's BYE, re-INVITE or INFO once confirmed; BYE is answered here first.
    on_request: InDialog | None = None
    state: str = "calling"  # calling -> ringing -> confirmed -> ended, or failed
    answered: asyncio.Future[SipMessage] = field(init=False)
    ended: asyncio.Future[str] = field(init=False)
    _invite: SipMessage | None = field(default=None, init=False)
    _ack: bytes | None = field(default=None, init=False)
    _auth: list[tuple[str, str]] = field(default_factory=list, init=False)
    _cancel_wanted: bool = field(default=False, init=False)
    _cancel_sent: bool = field(default=False, init=False)
    provisional: bool = field(default=False, init=False)  # any 1xx, 100 too: CANCEL may go

    def __post_init__(self) -> None:
        loop = self.uac.layer.loop
        self.answered = loop.create_future()
        self.ended = loop.create_future()
        # Failures are read through `answered`; nobody awaiting must not warn.
        self.answered.add_done_callback(lambda f: f.cancelled() or f.exception())

    @property
    def invite(self) -> SipMessage | None:
        """The INVITE last sent (a new one after a digest challenge), None before the first."""
        return self._invite

    async def _run(self) -> None:
        try:
            await self._invite_and_answer()
        finally:
            self.uac.ringing.pop(self.leg.call_id, None)

    async def _invite_and_answer(self) -> None:
        try:
            response = await self._send_invite()
            status = response.status or 0
            if status in (401, 407) and self.credentials and not self._cancel_wanted:
                self._authorize(response)
                response = await self._send_invite()
                status = response.status or 0
        except TimeoutError:
            self._fail(408, "Request Timeout")
            return
        except (DigestError, SipParseError) as e:
            self._fail(500, f"cannot authenticate: {e}")
            return
        if status >= 300:
            self._fail(status, response.reason or "")
            return
        self._confirm(response)
        if self._cancel_wanted:
            await self.bye()
        if not self.answered.done():
            self.answered.set_result(response)

    async def _send_invite(self) -> SipMessage:
        request = self.leg.request(
            "INVITE", self.sdp, "application/sdp" if self.sdp else None, self._auth
        )
        self._invite = request
        self.uac.ringing[self.leg.call_id] = self
        txn = self.uac.layer.request(request, self.leg.dest, self._provisional)
        return await txn.response

    def _authorize(self, response: SipMessage) -> None:
        assert self.credentials is not None
        proxy = response.status == 407
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        challenges = response.auth(name)
        usable = [c for c in challenges if (c.param("algorithm") or "MD5").upper() in ALGORITHMS]
        if not usable:
            raise DigestError(f"no usable {name} challenge in the {response.status}")
        value = authorization(
            usable[0],
            "INVITE",
            self.leg.remote_target,
            self.credentials.username,
            self.credentials.password,
        )
        self._auth = [("Proxy-Authorization" if proxy else "Authorization", value)]

    def _provisional(self, response: SipMessage) -> None:
        self.provisional = True
        if (response.status or 0) > 100 and self.state == "calling":
            self.state = "ringing"
        if self._cancel_wanted:
            self._send_cancel()
        if self.on_provisional is not None:
            self.on_provisional(response)

    def _confirm(self, response: SipMessage) -> None:
        leg = self.leg
        leg.remote_tag = response.to.tag or ""
        contacts = response.contacts()
        if contacts:
            leg.remote_target = contacts[0].uri.text
        leg.take_routes(response)
        leg.state = self.state = "confirmed"
        assert self._invite is not None
        ack = leg.request("ACK", cseq=self._invite.cseq[0], headers=self._auth)
        self._ack = ack.to_bytes()
        self.uac.calls[leg.key] = self
        self.uac.layer.send(self._ack, leg.dest)

    def _fail(self, status: int, reason: str) -> None:
        self.state = "failed"
        if not self.answered.done():
            self.answered.set_exception(CallFailed(status, reason))
        if not self.ended.done():
            self.ended.set_result("failed")

    def reack(self) -> None:
        """A retransmitted 2xx: the ACK again (13.2.2.4)."""
        if self._ack is not None:
            self.uac.layer.send(self._ack, self.leg.dest)

    def cancel(self) -> None:
        """Gives up before the answer; the INVITE then ends with 487 (CallFailed)."""
        if self.state not in ("calling", "ringing") or self._cancel_wanted:
            return
        self._cancel_wanted = True
        if self.provisional:
            self._send_cancel()

    def _send_cancel(self) -> None:
        if self._invite is None or self._cancel_sent:
            return
        self._cancel_sent = True
        txn = self.uac.layer.request(self._invite.cancel(), self.leg.dest)
        txn.response.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def bye(self) -> None:
        """Ends a confirmed call; a BYE that times out still ends it on our side."""
        if self.state != "confirmed":
            return
        self.state = self.leg.state = "ended"
        self.uac.calls.pop(self.leg.key, None)
        txn = self.uac.layer.request(self.leg.request("BYE"), self.leg.dest)
        with contextlib.suppress(TimeoutError):
            await txn.response
        if not self.ended.done():
            self.ended.set_result("bye-sent")

    def remote_bye(self, txn: ServerTransaction, request: SipMessage) -> None:
        self.state = self.leg.state = "ended"
        self.uac.calls.pop(self.leg.key, None)
        txn.respond(request.reply(200))
        if not self.ended.done():
            self.ended.set_result("bye-received")


class Uac:
    """Starts calls on a transaction layer; `local` is our address for Via and Contact.

    On a TCP layer (`open_transactions(..., transport="tcp")`) calls go over TCP: the
    connection to `dest` is opened on the first request and reused in the dialog."""

    def __init__(self, layer: TransactionLayer, local: Addr) -> None:
        self.layer = layer
        self.local = local
        self.calls: dict[DialogKey, OutgoingCall] = {}
        # INVITEs sent and not yet finally answered, by Call-ID: what a checkpoint saves.
        self.ringing: dict[str, OutgoingCall] = {}
        # A dead process's INVITEs taken back (`adopt`), by Call-ID and From tag: found per
        # stray response in a dict, never by a scan.
        self.orphans: dict[tuple[str, str], Orphan] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        layer.on_stray = self._stray

    def invite(
        self,
        target: str,
        dest: Addr,
        sdp: bytes = b"",
        from_uri: str | None = None,
        credentials: Credentials | None = None,
        on_provisional: Callable[[SipMessage], None] | None = None,
    ) -> OutgoingCall:
        """Calls `target` (a SIP URI) at `dest`; returns at once, see `OutgoingCall.answered`."""
        host, port = self.local
        leg = Leg(
            call_id=f"{new_tag()}{new_tag()}@{host}",
            local_tag=new_tag(),
            remote_tag="",
            local_uri=from_uri or f"sip:acd@{host}:{port}",
            remote_uri=target,
            remote_target=target,
            dest=dest,
            local=self.local,
            cseq=0,
            transport="TCP" if self.layer.reliable else "UDP",
        )
        call = OutgoingCall(self, leg, sdp, credentials, on_provisional)
        task = asyncio.ensure_future(call._run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> bool:
        """Serves a request in one of our calls' dialogs; False when it is not ours."""
        call = self.calls.get(dialog_key_at_uas(request))
        if call is None:
            return False
        if request.method == "BYE":
            call.remote_bye(txn, request)
            if call.on_request is not None:
                call.on_request(call, txn, request)
        elif call.on_request is not None:
            call.on_request(call, txn, request)
        else:
            txn.respond(request.reply(488 if request.method == "INVITE" else 405))
        return True

    def adopt(self, invite: SipMessage, leg: Leg) -> Orphan:
        """Takes back an INVITE a previous process sent over this transport and died with
        (`leg`: the dialog it would make, no remote tag): from now on the answers to it are
        the orphan's. Send its CANCEL with `Orphan.cancel`."""
        leg.local = self.local
        leg.transport = "TCP" if self.layer.reliable else "UDP"  # of the ACK and BYE we may send
        orphan = Orphan(self, invite, leg)
        self.orphans[(invite.call_id, invite.from_.tag or "")] = orphan
        orphan.keep()
        return orphan

    def _stray(self, response: SipMessage, source: Addr) -> None:
        if response.cseq[1] != "INVITE":
            return
        orphan = self.orphans.get((response.call_id, response.from_.tag or ""))
        if orphan is not None and response.cseq[0] == orphan.invite.cseq[0]:
            orphan.on_final(response, source)
            return
        if not 200 <= (response.status or 0) < 300:
            return
        key = (response.call_id, response.from_.tag or "", response.to.tag or "")
        call = self.calls.get(key)
        if call is not None:
            call.reack()


class Orphan:
    """An INVITE of a dead process, still without a final answer at its last checkpoint, and
    what this process does about it (module doc). Forgotten 64*T1 after the last thing that
    happened to it (adopted, its CANCEL ended, a final answer came): the time a UAS goes on
    retransmitting a final response (timers G/H, and 13.3.1.4 for a 2xx)."""

    def __init__(self, uac: Uac, invite: SipMessage, leg: Leg) -> None:
        self.uac = uac
        self.invite = invite  # as sent, without its body: what CANCEL and ACK copy
        self.leg = leg
        self.final: int | None = None  # the status of the first final answer
        self.cancel_status: int | None = None  # the CANCEL's answer, None before or without
        self.cancel_sent = False
        self.byes: list[ClientTransaction] = []  # one per 2xx dialog, to see them answered
        self._acks: dict[str, bytes] = {}  # a 2xx's To tag -> its ACK, sent again per copy
        self._forget: asyncio.TimerHandle | None = None

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    def keep(self) -> None:
        """(Re)arms the timer that forgets this orphan (class doc)."""
        if self._forget is not None:
            self._forget.cancel()
        layer = self.uac.layer
        self._forget = layer.at(64 * layer.timers.t1, self._drop)

    def _drop(self) -> None:
        key = (self.call_id, self.leg.local_tag)
        if self.uac.orphans.get(key) is self:
            del self.uac.orphans[key]

    def cancel(self, dest: Addr) -> ClientTransaction | None:
        """Sends the CANCEL to `dest`, unless a final answer came first (nothing to cancel
        then). Its answer, or its timeout, is logged at info."""
        if self.final is not None or self.cancel_sent:
            return None
        self.cancel_sent = True
        txn = self.uac.layer.request(self.invite.cancel(), dest)
        txn.response.add_done_callback(self._cancel_done)
        txn.response.add_done_callback(functools.partial(_log_answer, self.call_id, "CANCEL"))
        return txn

    def _cancel_done(self, done: asyncio.Future[SipMessage]) -> None:
        if done.cancelled():
            return
        self.keep()
        if done.exception() is None:
            self.cancel_status = done.result().status

    def on_final(self, response: SipMessage, source: Addr) -> None:
        """A response to the dead INVITE (the transaction layer has no transaction for it)."""
        status = response.status or 0
        if status < 200:
            return  # still ringing: the CANCEL, or the callee, ends it
        if self.final is None:
            self.final = status
            log.info("call %s: the INVITE before the restart answered %s", self.call_id, status)
        self.keep()
        if status >= 300:
            # Hop-by-hop ACK, as the dead client transaction would have sent (17.1.1.3).
            self.uac.layer.send(self.invite.ack_for(response).to_bytes(), source)
            return
        tag = response.to.tag or ""
        ack = self._acks.get(tag)
        if ack is not None:  # a retransmitted 2xx: the same ACK again (13.2.2.4)
            self.uac.layer.send(ack, source)
            return
        leg = dataclasses.replace(self.leg, remote_tag=tag, dest=source, cseq=self.invite.cseq[0])
        try:
            contacts = response.contacts()
        except SipParseError:
            contacts = []  # the ACK and BYE still reach the callee at `source`
        if contacts:
            leg.remote_target = contacts[0].uri.text
        leg.take_routes(response)
        ack = self._acks[tag] = leg.request("ACK", cseq=leg.cseq).to_bytes()
        self.uac.layer.send(ack, source)
        # The dialog is not wanted: nobody took this call's place in the new process.
        try:
            bye = self.uac.layer.request(leg.request("BYE"), source)
        except RuntimeError as e:  # the transaction table is full
            log.info("call %s: no BYE to the answer after the restart: %s", self.call_id, e)
            return
        self.byes.append(bye)
        bye.response.add_done_callback(functools.partial(_log_answer, self.call_id, "BYE"))


def _log_answer(call_id: str, method: str, done: asyncio.Future[SipMessage]) -> None:
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:
        log.info("call %s: %s after the restart got no answer: %r", call_id, method, error)
    else:
        log.info("call %s: %s after the restart answered %s", call_id, method, done.result().status)
