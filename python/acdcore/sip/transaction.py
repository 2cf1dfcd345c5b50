"""RFC 3261 section 17 transactions over UDP or a stream transport (TCP).

Server transactions are keyed by top-Via branch, sent-by and method (section 17.2.3; ACK
matches its INVITE). A 2xx to an INVITE is retransmitted by the transaction until the ACK,
which carries a new branch and is matched by Call-ID, From tag and CSeq number (the
"Accepted" state of RFC 6026). Client transactions are keyed by branch and method (17.1.3).

Time comes from the event loop (`loop.time()`) and every timer is a `loop.call_at` handle
cancelled when its transaction ends, so the table only holds live transactions; at
`max_transactions` in progress new requests get 503 with Retry-After instead of a new entry.
A transaction that has its final answer and only lingers to absorb retransmissions (timers
D, I, J, K: J is 64*T1 = 32 s for every BYE we answered over UDP) does not count there: at a
steady 300 calls/s those alone would fill 10,000 entries. Lingering ones are bounded on their
own (`max_lingering`): past it the oldest ends early, losing only its retransmission cover. On a
reliable transport (`reliable=True`) requests and non-2xx responses are not retransmitted
(timers A, E, G are off) and the wait states end at once (D, I, J, K are zero); the 2xx is
still retransmitted until ACK (section 13.3.1.4 asks it end to end).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from acdcore._core import SipMessage

from .transport import Addr, SipEndpoint, open_tcp, open_udp

Send = Callable[[bytes, Addr], None]
ServerKey = tuple[str, str, str]
"""(branch, sent-by, method) of a server transaction; ACK and CANCEL use their own rules."""
ClientKey = tuple[str, str]
AckKey = tuple[str, str, int]

_COOKIE = "z9hG4bK"


@dataclass(frozen=True)
class Timers:
    """T1 (RTT estimate), T2 (retransmit cap for non-INVITE and responses), T4 (network
    lifetime), D (client INVITE completed wait, at least 32 s on UDP); seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0

    def __post_init__(self) -> None:
        for name in ("t1", "t2", "t4", "d"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"timer {name} must be positive, got {value!r}")
        if self.t2 < self.t1:
            raise ValueError(f"timer t2 ({self.t2}) must not be below t1 ({self.t1})")


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie plus 64 random bits)."""
    return _COOKIE + secrets.token_hex(8)


def server_key(request: SipMessage) -> ServerKey:
    """The key of the server transaction a request belongs to; ACK maps to its INVITE.

    Requests from RFC 2543 peers (no magic cookie) fall back to Call-ID, From tag and CSeq
    number in place of the branch, which is what section 17.2.3 asks of them in effect.
    """
    via = request.vias()[0]
    sent_by = f"{via.host}:{via.port or 5060}"
    method = request.method or ""
    if method == "ACK":
        method = "INVITE"
    branch = via.branch or ""
    if not branch.startswith(_COOKIE):
        branch = f"2543:{request.call_id}:{request.from_.tag}:{request.cseq[0]}:{branch}"
    return (branch, sent_by, method)


def _ack_key(message: SipMessage) -> AckKey:
    return (message.call_id, message.from_.tag or "", message.cseq[0])


class TransactionUser(Protocol):
    """What sits above the transactions: a UAS, later a B2BUA."""

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
        """A new request; answer through `txn.respond`."""

    def on_ack(self, request: SipMessage, source: Addr) -> None:
        """An ACK for a 2xx (its own transaction in RFC 3261), or one nothing matched."""

    def on_timeout(self, txn: ServerTransaction) -> None:
        """A final response was never acknowledged (timer H, or L for a 2xx)."""


class _Timed:
    """The two timers every transaction holds (a retransmission and a deadline) and its end."""

    def __init__(self, layer: TransactionLayer, request: SipMessage, state: str) -> None:
        self.layer = layer
        self.request = request
        self.invite = request.method == "INVITE"
        self.state = state
        self.retransmissions = 0
        self._interval = layer.timers.t1
        self._retransmit: asyncio.TimerHandle | None = None
        self._timeout: asyncio.TimerHandle | None = None

    @property
    def terminated(self) -> bool:
        return self.state == "terminated"

    def _cancel(self) -> None:
        for handle in (self._retransmit, self._timeout):
            if handle is not None:
                handle.cancel()
        self._retransmit = self._timeout = None

    def _terminate(self) -> None:
        if self.terminated:
            return
        self._cancel()
        self.state = "terminated"
        self._forget()

    def _forget(self) -> None:
        raise NotImplementedError


class ServerTransaction(_Timed):
    """One request received and the responses sent to it."""

    def __init__(
        self, layer: TransactionLayer, key: ServerKey, request: SipMessage, source: Addr
    ) -> None:
        invite = request.method == "INVITE"
        super().__init__(layer, request, "proceeding" if invite else "trying")
        self.key = key
        self.source = source
        self.final_status: int | None = None
        self.final_response: SipMessage | None = None
        self.ack_key: AckKey | None = None  # set while a 2xx waits for its ACK
        self._last: bytes | None = None

    def respond(self, response: SipMessage) -> None:
        """Sends a response from the TU; ignored once a final response went out."""
        status = response.status
        if status is None:
            raise ValueError("respond() needs a response, got a request")
        if self.final_status is not None or self.terminated:
            return
        self._last = response.to_bytes()
        self.layer.send(self._last, self.source)
        if status < 200:
            self.state = "proceeding"
            return
        self.final_status = status
        self.final_response = response
        timers = self.layer.timers
        if not self.invite:
            self.state = "completed"
            self.layer.linger(self, self.layer.wait(64 * timers.t1))  # J
            return
        # Timer G (and the RFC 6026 2xx retransmission) until ACK, timer H / L to give up.
        self.state = "accepted" if status < 300 else "completed"
        if status < 300:
            self.layer.expect_ack(self)
        if status < 300 or not self.layer.reliable:
            self._retransmit = self.layer.at(self._interval, self._resend)
        self._timeout = self.layer.at(64 * timers.t1, self._timed_out)

    def _resend(self) -> None:
        if self._last is None or self.terminated:
            return
        self.retransmissions += 1
        self.layer.stats.retransmissions_sent += 1
        self.layer.send(self._last, self.source)
        self._interval = min(2 * self._interval, self.layer.timers.t2)
        self._retransmit = self.layer.at(self._interval, self._resend)

    def _timed_out(self) -> None:
        self._terminate()
        self.layer.tu.on_timeout(self)

    def on_retransmission(self) -> None:
        """The peer sent the request again: repeat the last response (17.2.1, 17.2.2)."""
        if self._last is not None and self.state != "confirmed":
            self.layer.send(self._last, self.source)

    def on_ack(self) -> None:
        if self.state == "completed" and self.invite:
            self.state = "confirmed"
            self._cancel()
            self.layer.linger(self, self.layer.wait(self.layer.timers.t4))  # I
        elif self.state == "accepted":
            # Once the ACK is in the caller has stopped retransmitting the INVITE.
            self._terminate()

    def _forget(self) -> None:
        self.layer.forget(self)


class ClientTransaction(_Timed):
    """One request sent; `response` resolves with the final response or TimeoutError."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipMessage,
        dest: Addr,
        on_provisional: Callable[[SipMessage], None] | None,
    ) -> None:
        via = request.vias()[0]
        if not via.branch:
            raise ValueError("a client request needs a Via branch (see new_branch())")
        super().__init__(layer, request, "calling" if request.method == "INVITE" else "trying")
        self.dest = dest
        self.key: ClientKey = (via.branch, request.cseq[1])
        self.on_provisional = on_provisional
        self.response: asyncio.Future[SipMessage] = layer.loop.create_future()
        self._data = request.to_bytes()
        self._ack: bytes | None = None

    def start(self) -> None:
        self.layer.send(self._data, self.dest)
        if not self.layer.reliable:
            self._retransmit = self.layer.at(self._interval, self._resend)  # timer A / E
        self._timeout = self.layer.at(64 * self.layer.timers.t1, self._timed_out)  # B / F

    def _resend(self) -> None:
        if self.state not in ("calling", "trying", "proceeding"):
            return
        self.retransmissions += 1
        self.layer.stats.retransmissions_sent += 1
        self.layer.send(self._data, self.dest)
        if self.invite:
            self._interval *= 2
        elif self.state == "proceeding":
            self._interval = self.layer.timers.t2
        else:
            self._interval = min(2 * self._interval, self.layer.timers.t2)
        self._retransmit = self.layer.at(self._interval, self._resend)

    def _timed_out(self) -> None:
        self._terminate()
        if not self.response.done():
            self.response.set_exception(
                TimeoutError(f"no final response to {self.request.method} from {self.dest}")
            )

    def on_response(self, response: SipMessage) -> None:
        status = response.status or 0
        if self.state in ("completed", "terminated"):
            # A retransmitted final response: repeat the ACK (17.1.1.2), otherwise absorb it.
            if self._ack is not None:
                self.layer.send(self._ack, self.dest)
            return
        if status < 200:
            if self.invite:
                # A provisional stops timers A and B (a phone may ring for minutes); for a
                # non-INVITE, E slows to T2 and F keeps running.
                self._cancel()
            self.state = "proceeding"
            if self.on_provisional is not None:
                self.on_provisional(response)
            return
        if not self.response.done():
            self.response.set_result(response)
        if self.invite and status < 300:
            # The ACK for a 2xx is the UAC core's, in its own transaction.
            self._terminate()
            return
        self._cancel()
        self.state = "completed"
        if self.invite:
            self._ack = self.request.ack_for(response).to_bytes()
            self.layer.send(self._ack, self.dest)
            self.layer.linger(self, self.layer.wait(self.layer.timers.d))  # D
        else:
            self.layer.linger(self, self.layer.wait(self.layer.timers.t4))  # K

    def _forget(self) -> None:
        self.layer.forget_client(self)


@dataclass
class TransactionStats:
    created: int = 0
    retransmissions_sent: int = 0
    retransmissions_absorbed: int = 0
    overloaded: int = 0
    stray_responses: int = 0
    unmatched_acks: int = 0
    lingering_ended_early: int = 0  # past max_lingering: retransmission cover cut short


class TransactionLayer:
    """Matches messages to transactions and owns their table; plug `receive` into a transport."""

    def __init__(
        self,
        tu: TransactionUser,
        send: Send,
        timers: Timers | None = None,
        max_transactions: int = 10000,
        loop: asyncio.AbstractEventLoop | None = None,
        reliable: bool = False,
        max_lingering: int = 50000,
    ) -> None:
        if max_transactions < 1:
            raise ValueError(f"max_transactions must be at least 1, got {max_transactions}")
        if max_lingering < 1:
            raise ValueError(f"max_lingering must be at least 1, got {max_lingering}")
        self.tu = tu
        self.send = send
        self.timers = timers or Timers()
        self.max_transactions = max_transactions
        self.max_lingering = max_lingering
        self.reliable = reliable
        self.loop = loop or asyncio.get_running_loop()
        self.stats = TransactionStats()
        self.server: dict[ServerKey, ServerTransaction] = {}
        self.client: dict[ClientKey, ClientTransaction] = {}
        self._awaiting_ack: dict[AckKey, ServerTransaction] = {}
        # Transactions past their final answer, in the order they got there (a dict keeps
        # insertion order): the first is the one to end early when there are too many.
        self._lingering: dict[_Timed, None] = {}
        # Responses no client transaction matches (a retransmitted 2xx: the UAC core re-ACKs).
        self.on_stray: Callable[[SipMessage, Addr], None] | None = None

    def __len__(self) -> int:
        return len(self.server) + len(self.client)

    @property
    def in_progress(self) -> int:
        """Transactions still at work: what `max_transactions` caps (lingering ones are not)."""
        return len(self) - len(self._lingering)

    @property
    def lingering(self) -> int:
        return len(self._lingering)

    def linger(self, txn: _Timed, wait: float) -> None:
        """`txn` has its final answer and only absorbs retransmissions for `wait` seconds."""
        txn._timeout = self.at(wait, txn._terminate)
        self._lingering[txn] = None
        if len(self._lingering) > self.max_lingering:
            self.stats.lingering_ended_early += 1
            next(iter(self._lingering))._terminate()

    def at(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_at(self.loop.time() + delay, callback)

    def wait(self, unreliable: float) -> float:
        """How long a completed transaction absorbs retransmissions (D, I, J, K): none on TCP."""
        return 0.0 if self.reliable else unreliable

    def receive(self, message: SipMessage, source: Addr) -> None:
        if message.is_request:
            self._request(message, source)
            return
        method = message.cseq[1]
        branch = message.vias()[0].branch or ""
        txn = self.client.get((branch, method))
        if txn is None:
            self.stats.stray_responses += 1
            if self.on_stray is not None:
                self.on_stray(message, source)
            return
        txn.on_response(message)

    def _request(self, request: SipMessage, source: Addr) -> None:
        key = server_key(request)
        if request.method == "ACK":
            txn = self.server.get(key)
            if txn is not None and txn.final_status is not None and txn.final_status >= 300:
                txn.on_ack()
                return
            accepted = self._awaiting_ack.get(_ack_key(request))
            if accepted is not None:
                accepted.on_ack()
            else:
                self.stats.unmatched_acks += 1
            self.tu.on_ack(request, source)
            return
        txn = self.server.get(key)
        if txn is not None:
            self.stats.retransmissions_absorbed += 1
            txn.on_retransmission()
            return
        if self.in_progress >= self.max_transactions:
            self.stats.overloaded += 1
            busy = request.reply(503, headers=[("Retry-After", "5")])
            self.send(busy.to_bytes(), source)
            return
        txn = ServerTransaction(self, key, request, source)
        self.server[key] = txn
        self.stats.created += 1
        self.tu.on_request(txn, request)

    def invite_for(self, cancel: SipMessage) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (section 9.2), if still live."""
        branch, sent_by, _ = server_key(cancel)
        return self.server.get((branch, sent_by, "INVITE"))

    def request(
        self,
        request: SipMessage,
        dest: Addr,
        on_provisional: Callable[[SipMessage], None] | None = None,
    ) -> ClientTransaction:
        """Starts a client transaction; await `.response` for the final response."""
        if self.in_progress >= self.max_transactions:
            raise RuntimeError(f"transaction table full ({self.max_transactions})")
        txn = ClientTransaction(self, request, dest, on_provisional)
        if txn.key in self.client:
            raise ValueError(f"a client transaction with branch {txn.key[0]!r} is live")
        self.client[txn.key] = txn
        txn.start()
        return txn

    def expect_ack(self, txn: ServerTransaction) -> None:
        txn.ack_key = _ack_key(txn.request)
        self._awaiting_ack[txn.ack_key] = txn

    def forget(self, txn: ServerTransaction) -> None:
        self._lingering.pop(txn, None)
        if self.server.get(txn.key) is txn:
            del self.server[txn.key]
        if txn.ack_key is not None and self._awaiting_ack.get(txn.ack_key) is txn:
            del self._awaiting_ack[txn.ack_key]

    def forget_client(self, txn: ClientTransaction) -> None:
        self._lingering.pop(txn, None)
        if self.client.get(txn.key) is txn:
            del self.client[txn.key]


async def open_transactions(
    tu: TransactionUser,
    host: str = "127.0.0.1",
    port: int = 5060,
    timers: Timers | None = None,
    max_transactions: int = 10000,
    transport: str = "udp",
) -> tuple[SipEndpoint, TransactionLayer]:
    """A UDP or TCP transport on `host:port` with a transaction layer delivering to `tu`."""
    if transport not in ("udp", "tcp"):
        raise ValueError(f"unknown SIP transport {transport!r}: expected 'udp' or 'tcp'")
    layers: list[TransactionLayer] = []

    def deliver(message: SipMessage, source: Addr) -> None:
        layers[0].receive(message, source)

    endpoint: SipEndpoint
    if transport == "udp":
        endpoint = await open_udp(deliver, host, port)
    else:
        endpoint = await open_tcp(deliver, host, port)
    # Sends go through the endpoint attribute at call time so a test can wrap `endpoint.send`.
    layer = TransactionLayer(
        tu,
        lambda data, addr: endpoint.send(data, addr),
        timers,
        max_transactions,
        reliable=transport == "tcp",
    )
    layers.append(layer)
    return endpoint, layer
