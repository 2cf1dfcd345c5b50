"""A minimal user agent server: answers calls itself, keeps one `Dialog` per call.

INVITE gets 100 Trying at once, 180 Ringing after `ring_delay`, then 200 with an SDP answer
after `answer_delay` (488 when no codec matches). CANCEL before the 200 ends the call with
487; BYE ends the dialog; a dialog whose 2xx is never acknowledged is dropped. Without a
`media` hook the SDP answer names `rtp_port` and nothing listens there; with one (e.g.
`acdcore.media.CallMedia`) each answered call gets its own RTP port and session.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from acdcore._core import NotAcceptableError, SdpAnswer, SipMessage, SipParseError, sdp_answer

from .reinvite import answer_reinvite
from .transaction import ServerTransaction, Timers, TransactionLayer, open_transactions
from .transport import Addr, SipEndpoint

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
"""The methods a bare `Uas` serves; `Uas.allow` adds those of its `handlers`."""
# Methods we know but do not serve here get 405 with Allow; anything else 501.
_KNOWN = frozenset(
    {"REGISTER", "INFO", "UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"}
)
_OWN = frozenset(m.strip() for m in ALLOW.split(","))
DialogKey = tuple[str, str, str]
"""(Call-ID, local tag, remote tag)."""


@dataclass
class Dialog:
    """One call's dialog state (RFC 3261 section 12) as the UAS sees it."""

    call_id: str
    local_tag: str
    remote_tag: str
    remote_cseq: int
    peer: Addr
    state: str = "early"  # early -> confirmed (ACK) -> ended
    codec: str | None = None
    direction: str = "sendrecv"  # ours, from our last SDP answer (hold: recvonly / inactive)
    sdp_version: int = 0

    @property
    def key(self) -> DialogKey:
        return (self.call_id, self.local_tag, self.remote_tag)


class MediaHook(Protocol):
    """Media for answered calls: a port reserved before the answer is built, started with the
    negotiated answer, ended with the dialog (BYE, timeout) or when the answer fails."""

    def reserve(self, key: DialogKey) -> int: ...
    def start(self, key: DialogKey, answer: SdpAnswer) -> None: ...
    def end(self, key: DialogKey) -> None: ...


@dataclass
class UasStats:
    calls: int = 0
    answered: int = 0
    cancelled: int = 0
    rejected: int = 0
    ended: int = 0
    timed_out: int = 0


@dataclass
class _Pending:
    """An INVITE not yet finally answered, with the timers that will answer it."""

    txn: ServerTransaction
    dialog: Dialog
    handles: list[asyncio.Handle] = field(default_factory=list)


class Uas:
    """The transaction user answering calls; use `serve_uas` to run it on a UDP port."""

    def __init__(
        self,
        media_address: str = "127.0.0.1",
        rtp_port: int = 40000,
        ring_delay: float = 0.0,
        answer_delay: float = 0.0,
        codecs: tuple[str, ...] = ("PCMU", "PCMA"),
        media: MediaHook | None = None,
    ) -> None:
        if ring_delay < 0 or answer_delay < 0:
            raise ValueError("ring_delay and answer_delay must not be negative")
        self.media_address = media_address
        self.rtp_port = rtp_port
        self.ring_delay = ring_delay
        self.answer_delay = answer_delay
        self.codecs = list(codecs)
        self.media = media
        self.dialogs: dict[DialogKey, Dialog] = {}
        self.stats = UasStats()
        self._pending: dict[tuple[str, str], _Pending] = {}
        # Methods served by other modules (REGISTER by the registrar, INFO by a call's owner).
        self.handlers: dict[str, Callable[[ServerTransaction, SipMessage], None]] = {}

    # Transaction user interface.

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
        method = request.method or ""
        handler = self.handlers.get(method)
        if handler is not None:
            handler(txn, request)
        elif method == "INVITE":
            self._invite(txn, request)
        elif method == "OPTIONS":
            txn.respond(
                request.reply(
                    200,
                    to_tag=_tag(),
                    headers=[("Allow", self.allow), ("Accept", "application/sdp")],
                )
            )
        elif method == "BYE":
            self._bye(txn, request)
        elif method == "CANCEL":
            self._cancel(txn, request)
        elif method in _KNOWN:
            txn.respond(request.reply(405, to_tag=_tag(), headers=[("Allow", self.allow)]))
        else:
            txn.respond(request.reply(501, to_tag=_tag(), headers=[("Allow", self.allow)]))

    @property
    def allow(self) -> str:
        """The Allow value (RFC 3261 20.5): our own methods and every method with a handler."""
        extra = [m for m in self.handlers if m not in _OWN]
        return ", ".join([ALLOW, *extra])

    def on_ack(self, request: SipMessage, source: Addr) -> None:
        dialog = self.dialogs.get(_dialog_key(request))
        if dialog is not None and dialog.state == "early":
            dialog.state = "confirmed"

    def on_timeout(self, txn: ServerTransaction) -> None:
        final = txn.final_response
        if txn.invite and final is not None and (final.status or 0) < 300:
            # RFC 3261 13.3.1.4: a 2xx never acknowledged ends the dialog (we send no BYE).
            key = (final.call_id, final.to.tag or "", final.from_.tag or "")
            dialog = self.dialogs.get(key)
            if dialog is not None and dialog.state == "early":
                del self.dialogs[key]
                self.stats.timed_out += 1
                if self.media is not None:
                    self.media.end(key)

    # Methods.

    def _invite(self, txn: ServerTransaction, request: SipMessage) -> None:
        if request.to.tag is not None:
            known = self.dialogs.get(_dialog_key(request))
            if known is None:
                txn.respond(request.reply(481))
            else:
                answer_reinvite(self, txn, request, known)
            return
        txn.respond(request.reply(100))
        remote_tag = request.from_.tag or ""
        dialog = Dialog(
            call_id=request.call_id,
            local_tag=_tag(),
            remote_tag=remote_tag,
            remote_cseq=request.cseq[0],
            peer=txn.source,
        )
        self.stats.calls += 1
        pending = _Pending(txn, dialog)
        self._pending[(txn.key[0], txn.key[1])] = pending
        loop = asyncio.get_running_loop()
        ring, answer = self.ring_delay, self.ring_delay + self.answer_delay
        # No delay: call_soon keeps the timer heap for the transactions' timers.
        for delay, step in ((ring, self._ring), (answer, self._answer)):
            if delay == 0:
                pending.handles.append(loop.call_soon(step, pending))
            else:
                pending.handles.append(loop.call_later(delay, step, pending))

    def _ring(self, pending: _Pending) -> None:
        request = pending.txn.request
        contact = _contact(request)
        pending.txn.respond(
            request.reply(180, to_tag=pending.dialog.local_tag, headers=[("Contact", contact)])
        )

    def _answer(self, pending: _Pending) -> None:
        txn, dialog = pending.txn, pending.dialog
        self._pending.pop((txn.key[0], txn.key[1]), None)
        request = txn.request
        tag = dialog.local_tag
        try:
            port = self.rtp_port if self.media is None else self.media.reserve(dialog.key)
        except OSError as e:
            self.stats.rejected += 1
            txn.respond(request.reply(503, to_tag=tag, headers=[("Warning", _warning(e))]))
            return
        try:
            answer = sdp_answer(request.body, self.media_address, port, self.codecs)
        except (NotAcceptableError, SipParseError) as e:
            if self.media is not None:
                self.media.end(dialog.key)
            self.stats.rejected += 1
            txn.respond(request.reply(488, to_tag=tag, headers=[("Warning", _warning(e))]))
            return
        dialog.codec = answer.codec
        self.dialogs[dialog.key] = dialog
        if self.media is not None:
            self.media.start(dialog.key, answer)
        self.stats.answered += 1
        txn.respond(
            request.reply(
                200,
                to_tag=tag,
                headers=[("Contact", _contact(request)), ("Allow", self.allow)],
                body=answer.sdp,
                content_type="application/sdp",
            )
        )

    def _bye(self, txn: ServerTransaction, request: SipMessage) -> None:
        dialog = self.dialogs.pop(_dialog_key(request), None)
        if dialog is None:
            txn.respond(request.reply(481))
            return
        dialog.state = "ended"
        self.stats.ended += 1
        if self.media is not None:
            self.media.end(dialog.key)
        txn.respond(request.reply(200))

    def _cancel(self, txn: ServerTransaction, request: SipMessage) -> None:
        invite = txn.layer.invite_for(request)
        pending = (
            None if invite is None else self._pending.pop((invite.key[0], invite.key[1]), None)
        )
        if invite is None:
            txn.respond(request.reply(481))
            return
        if pending is None:
            # Already finally answered: CANCEL has no effect but is still answered (9.2).
            txn.respond(request.reply(200))
            return
        for handle in pending.handles:
            handle.cancel()
        self.stats.cancelled += 1
        txn.respond(request.reply(200))
        invite.respond(invite.request.reply(487, to_tag=pending.dialog.local_tag))


def _contact(request: SipMessage) -> str:
    """Our Contact: the address the caller reached us at, over the transport it used."""
    try:
        uri = request.uri()
        host = f"{uri.host}:{uri.port}" if uri.port else uri.host
    except SipParseError:
        host = "127.0.0.1"
    tcp = request.vias()[0].transport.upper() == "TCP"
    return f"<sip:acd@{host}{';transport=tcp' if tcp else ''}>"


def _tag() -> str:
    return secrets.token_hex(5)


def _dialog_key(request: SipMessage) -> DialogKey:
    # At the UAS the local tag is in To, the remote one in From.
    return (request.call_id, request.to.tag or "", request.from_.tag or "")


def _warning(error: Exception) -> str:
    text = str(error).replace('"', "'").replace("\\", "/")
    return f'399 acdcore "{text[:120]}"'


@dataclass
class UasServer:
    """A running UAS: the transport, its transaction layer and the UAS itself."""

    protocol: SipEndpoint
    layer: TransactionLayer
    uas: Uas

    @property
    def address(self) -> Addr:
        return self.protocol.local_address

    def close(self) -> None:
        self.protocol.close()


async def serve_uas(
    uas: Uas,
    host: str = "127.0.0.1",
    port: int = 5060,
    timers: Timers | None = None,
    max_transactions: int = 10000,
    transport: str = "udp",
) -> UasServer:
    """Serves `uas` on UDP or TCP `host:port` until `close()`; one `Uas` may serve both."""
    endpoint, layer = await open_transactions(uas, host, port, timers, max_transactions, transport)
    return UasServer(endpoint, layer, uas)
