"""asyncio UDP and TCP transports for SIP: every message goes through the Rust parser.

A datagram the parser refuses is answered with the status the parser chose (400, 416, 505,
513) and its reason when the raw text still holds the headers a response needs (Via, From,
To, Call-ID, CSeq); otherwise it is dropped and counted. Nothing raised by the parser or the
handler escapes `datagram_received`: one bad packet must not stop the server.

Responses go back to the address the request came from (symmetric response, as with
`rport`, RFC 3581): it is what NATed phones and SIPp expect, and it needs no DNS. On TCP a
message is framed by Content-Length (`SipMessage.parse_stream`); one that does not parse
gets its error response and the connection is closed, since the framing can no longer be
trusted. TCP dials out when asked to send to an address it has no connection with. A TCP
connection with nothing read or written for `idle_timeout` seconds is closed, so peers that
vanish without a FIN do not hold sockets forever; CRLF keepalives (RFC 5626) count as
activity. The default, `IDLE_TIMEOUT`, outlasts the registrar's default longest
registration (3600 s): a phone registered over TCP refreshes before it, and is reached over
that connection.

Under load the UDP endpoint reads up to `UDP_BATCH` queued datagrams per readiness callback
(non-blocking `recvfrom` until EAGAIN) instead of one event-loop turn each.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from acdcore._core import SipMessage, SipParseError

log = logging.getLogger(__name__)

Addr = tuple[str, int]
"""(host, port) of the peer a datagram came from or goes to."""

UDP_BATCH = 64
"""Datagrams read per wake-up at most: bounded so timers and other sockets still get turns."""
_DATAGRAM = 65536
IDLE_TIMEOUT = 3900.0
"""Seconds a TCP connection may carry nothing before we close it (see the module doc)."""

Handler = Callable[[SipMessage, Addr], None]

# Headers a response must copy from its request (RFC 3261 section 8.2.6.2), with compact forms.
_REPLY_HEADERS = {
    "via": "Via",
    "v": "Via",
    "from": "From",
    "f": "From",
    "to": "To",
    "t": "To",
    "call-id": "Call-ID",
    "i": "Call-ID",
    "cseq": "CSeq",
}
_REASON_MAX = 120


@dataclass
class TransportStats:
    """Counters a test or an operator reads to see what the transport did with its input."""

    received: int = 0
    sent: int = 0
    malformed: int = 0
    rejected: int = 0
    dropped: int = 0
    keepalives: int = 0
    handler_errors: int = 0
    idle_closed: int = 0  # TCP connections closed after idle_timeout


def error_reply(data: bytes, status: int, reason: str) -> bytes | None:
    """A response to a request the parser refused, or None when the text cannot carry one.

    Built from the raw header lines (copied as they are) because the parser gave no message:
    a request line, and each of Via, From, To, Call-ID and CSeq at least once.
    """
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].split(" ")
    if len(first) != 3 or first[0].startswith("SIP/") or not first[2].startswith("SIP/"):
        return None
    copied: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line[:1] in (" ", "\t") or ":" not in line:
            # Folded continuations are not copied: a header cut in two is not worth echoing.
            continue
        name, value = line.split(":", 1)
        canonical = _REPLY_HEADERS.get(name.strip().lower())
        if canonical is not None and value.strip():
            copied.setdefault(canonical, []).append(value.strip())
    if any(name not in copied for name in ("Via", "From", "To", "Call-ID", "CSeq")):
        return None
    phrase = "".join(c if c.isprintable() else " " for c in reason)[:_REASON_MAX]
    out = [f"SIP/2.0 {status} {phrase or 'Bad Request'}"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        values = copied[name] if name == "Via" else copied[name][:1]
        out.extend(f"{name}: {v}" for v in values)
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8")


class SipEndpoint(Protocol):
    """What the transaction layer needs of a transport, UDP or TCP."""

    stats: TransportStats

    @property
    def local_address(self) -> Addr: ...

    def send(self, data: bytes, addr: Addr) -> None: ...

    def close(self) -> None: ...


class SipUdpProtocol(asyncio.DatagramProtocol):
    """Parses each datagram and hands messages to `handler(message, source)`."""

    def __init__(
        self, handler: Handler, max_message: int = 65535, sock: socket.socket | None = None
    ) -> None:
        self.handler = handler
        self.max_message = max_message
        self.stats = TransportStats()
        self.transport: asyncio.DatagramTransport | None = None
        # The bound socket asyncio reads from, for draining what else is queued (open_udp).
        self._sock = sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: nothing to do but note it.
        log.debug("SIP UDP error: %s", exc)

    @property
    def local_address(self) -> Addr:
        if self.transport is None:
            raise RuntimeError("the SIP transport is closed")
        host, port = self.transport.get_extra_info("sockname")[:2]
        return (str(host), int(port))

    def send(self, data: bytes, addr: Addr) -> None:
        """Sends one datagram; the single exit point, so tests can wrap it to lose packets."""
        if self.transport is None:
            return
        self.stats.sent += 1
        self.transport.sendto(data, addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._receive(data, addr)
        sock = self._sock
        if sock is None:
            return
        for _ in range(UDP_BATCH - 1):
            if self.transport is None:
                return
            try:
                data, addr = sock.recvfrom(_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # ICMP errors surface here too; asyncio would log them
                self.error_received(e)
                return
            self._receive(data, addr)

    def _receive(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = (str(addr[0]), int(addr[1]))
        self.stats.received += 1
        if not data.strip(b"\r\n"):
            # RFC 5626 CRLF keepalives and empty datagrams.
            self.stats.keepalives += 1
            return
        try:
            message = SipMessage.parse(data, self.max_message)
        except SipParseError as e:
            self.stats.malformed += 1
            reply = error_reply(data, e.status, str(e))
            if reply is None:
                self.stats.dropped += 1
            else:
                self.stats.rejected += 1
                self.send(reply, source)
            return
        except Exception:  # the parser must not be able to stop the server
            self.stats.malformed += 1
            self.stats.dropped += 1
            log.exception("SIP parser raised on a datagram from %s", source)
            return
        try:
            self.handler(message, source)
        except Exception:  # one bad message must not stop the server
            self.stats.handler_errors += 1
            log.exception("SIP handler failed on a message from %s", source)


async def open_udp(
    handler: Handler, host: str = "127.0.0.1", port: int = 5060, max_message: int = 65535
) -> SipUdpProtocol:
    """Binds a SIP UDP endpoint; `port=0` picks a free port (see `local_address`)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    _, protocol = await loop.create_datagram_endpoint(
        lambda: SipUdpProtocol(handler, max_message, sock), sock=sock
    )
    return protocol


class SipTcpConnection(asyncio.Protocol):
    """One accepted TCP connection: buffers bytes and hands each framed message on."""

    def __init__(self, server: SipTcpServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.peer: Addr | None = None
        self.transport: asyncio.Transport | None = None
        # Activity only stamps the time; one timer per connection checks it when it falls
        # due and re-arms for the remainder, so a busy connection costs no timer churn.
        self.last_active = 0.0
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = (str(host), int(port))
        self.server.connections[self.peer] = self
        if self.server.idle_timeout is not None:
            loop = asyncio.get_running_loop()
            self.last_active = loop.time()
            self._idle = loop.call_at(self.last_active + self.server.idle_timeout, self._check)

    def _check(self) -> None:
        timeout = self.server.idle_timeout
        if self.transport is None or timeout is None:
            return
        loop = asyncio.get_running_loop()
        due = self.last_active + timeout
        if loop.time() < due:
            self._idle = loop.call_at(due, self._check)
            return
        self._idle = None
        self.server.stats.idle_closed += 1
        log.debug("SIP TCP connection with %s idle for %s s: closed", self.peer, timeout)
        self.transport.close()

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.last_active = asyncio.get_running_loop().time()
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.server.connections.get(self.peer) is self:
            del self.server.connections[self.peer]
        self.transport = None
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def data_received(self, data: bytes) -> None:
        self.last_active = asyncio.get_running_loop().time()
        self.buffer += data
        stats = self.server.stats
        while self.buffer and self.transport is not None and self.peer is not None:
            try:
                message, consumed = SipMessage.parse_stream(
                    bytes(self.buffer), self.server.max_message
                )
            except SipParseError as e:
                stats.malformed += 1
                reply = error_reply(bytes(self.buffer), e.status, str(e))
                if reply is None:
                    stats.dropped += 1
                else:
                    stats.rejected += 1
                    self.server.send(reply, self.peer)
                self.transport.close()
                return
            except Exception:  # the parser must not be able to stop the server
                stats.malformed += 1
                stats.dropped += 1
                log.exception("SIP parser raised on a stream from %s", self.peer)
                self.transport.close()
                return
            if consumed == 0:
                return  # wait for the rest of the message
            del self.buffer[:consumed]
            if message is None:
                stats.keepalives += 1
                continue
            stats.received += 1
            try:
                self.server.handler(message, self.peer)
            except Exception:  # one bad message must not stop the server
                stats.handler_errors += 1
                log.exception("SIP handler failed on a message from %s", self.peer)


class SipTcpServer:
    """A listening SIP TCP socket and its open connections, keyed by peer address.

    Sending to an address with no connection opens one (a UAC's requests, RFC 3261 18.1.1);
    what is sent meanwhile waits in order and is dropped (counted) if the connect fails."""

    def __init__(
        self, handler: Handler, max_message: int = 65535, idle_timeout: float | None = IDLE_TIMEOUT
    ) -> None:
        if idle_timeout is not None and not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive or None, got {idle_timeout!r}")
        self.handler = handler
        self.max_message = max_message
        self.idle_timeout = idle_timeout
        self.stats = TransportStats()
        self.connections: dict[Addr, SipTcpConnection] = {}
        self.server: asyncio.Server | None = None
        self._connecting: dict[Addr, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def local_address(self) -> Addr:
        if self.server is None or not self.server.sockets:
            raise RuntimeError("the SIP TCP server is closed")
        host, port = self.server.sockets[0].getsockname()[:2]
        return (str(host), int(port))

    def send(self, data: bytes, addr: Addr) -> None:
        """Writes to the connection with `addr`, opening one when there is none."""
        connection = self.connections.get(addr)
        if connection is not None and connection.transport is not None:
            self.stats.sent += 1
            connection.write(data)
            return
        if self._closed:
            self.stats.dropped += 1
            return
        waiting = self._connecting.get(addr)
        if waiting is None:
            waiting = self._connecting[addr] = []
            task = asyncio.ensure_future(self._connect(addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        waiting.append(data)

    async def _connect(self, addr: Addr) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                lambda: SipTcpConnection(self), addr[0], addr[1]
            )
        except OSError as e:
            log.debug("SIP TCP connect to %s failed: %s", addr, e)
            self.stats.dropped += len(self._connecting.pop(addr, []))
            return
        # Keyed by the address we were given too, in case the peer name reads differently.
        self.connections.setdefault(addr, connection)
        for data in self._connecting.pop(addr, []):
            self.send(data, addr)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self.connections.values()):
            if connection.transport is not None:
                connection.transport.close()


async def open_tcp(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 5060,
    max_message: int = 65535,
    idle_timeout: float | None = IDLE_TIMEOUT,
) -> SipTcpServer:
    """Listens for SIP over TCP; `port=0` picks a free port (see `local_address`)."""
    server = SipTcpServer(handler, max_message, idle_timeout)
    loop = asyncio.get_running_loop()
    server.server = await loop.create_server(lambda: SipTcpConnection(server), host, port)
    return server
