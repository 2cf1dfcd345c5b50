"""`RtpSession`: one call's audio over a UDP socket. Python does the socket and the timers;
packets are parsed and built and samples coded in Rust (`acdcore._core`).

Sending is paced on absolute times (start + n * 20 ms on the loop's clock), so timers firing
late do not accumulate drift; after a stall of two frames or more the missed frames are
skipped (the RTP timestamp jumps with them) instead of being sent in a burst.

Music on hold and prompts normally go through the loop's Rust pump (`pump.py`: one 20 ms
timer for every session, `sendmmsg` from Rust); the per-session pacer here takes over where the
pump does not apply (DTMF being sent, relaying, recording, no pump on this platform), with
sequence numbers and timestamps carried across either way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, cast

import numpy as np

from acdcore._core import (
    RtpPacket,
    TelephoneEvent,
    alaw_decode,
    alaw_encode,
    rtp_build,
    telephone_event,
    ulaw_decode,
    ulaw_encode,
)

from . import pump
from .wav import RATE, Samples, load_wav, write_stereo

FRAME = 0.020
"""Seconds of audio per packet (ptime 20)."""
SAMPLES = 160
"""Samples (and G.711 bytes) per packet at 8 kHz."""
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
_ENCODE = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
_DECODE = {"PCMU": ulaw_decode, "PCMA": alaw_decode}
_SILENCE = {"PCMU": 0xFF, "PCMA": 0xD5}
Addr = tuple[str, int]


def bind_rtp_socket(
    host: str = "127.0.0.1", ports: tuple[int, int] = (40000, 49999)
) -> socket.socket:
    """A UDP socket on the first free even port in `ports` (inclusive; RTCP would take the odd
    one above). Binding is synchronous so an SDP answer can name the port at once."""
    low, high = ports
    if not 0 < low <= high <= 65535:
        raise ValueError(f"RTP port range {low}-{high} is not within 1-65535")
    start = low + (low % 2)
    span = max(1, (high - start) // 2 + 1)
    offset = next(_cursor) % span  # spread concurrent calls so a busy port is rarely retried
    for i in range(span):
        port = start + 2 * ((offset + i) % span)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            continue
        sock.setblocking(False)
        return sock
    raise OSError(f"no free RTP port in {low}-{high} on {host}")


_cursor = itertools.count(secrets.randbelow(1 << 16))


@dataclass
class _Source:
    """How a received stream (one SSRC) is tracked: RFC 3550 A.1/A.3 sequence state and A.8
    jitter, and where its timestamps fall in the recording."""

    base_seq: int
    max_seq: int
    cycles: int = 0
    received: int = 0
    transit: int | None = None
    jitter: float = 0.0  # timestamp units
    anchor: int | None = None  # recording sample of timestamp 0

    @property
    def expected(self) -> int:
        return self.cycles + self.max_seq - self.base_seq + 1

    def update_seq(self, seq: int) -> None:
        delta = (seq - self.max_seq) & 0xFFFF
        if 0 < delta < 0x8000:  # in order, possibly with a gap; older packets change nothing
            if seq < self.max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq
        self.received += 1

    def update_jitter(self, arrival: int, timestamp: int) -> None:
        transit = arrival - timestamp
        if self.transit is not None:
            d = abs(transit - self.transit)
            self.jitter += (d - self.jitter) / 16
        self.transit = transit


@dataclass
class RtpStats:
    received: int = 0
    lost: int = 0
    """Expected minus received over every source (RFC 3550 A.3), never negative."""
    jitter: float = 0.0
    """Interarrival jitter of the latest source in seconds (RFC 3550 A.8)."""
    malformed: int = 0
    sent: int = 0
    skipped: int = 0
    """Frames skipped by the pacer after a stall (not sent late in a burst)."""
    dtmf: str = ""
    """Digits received, in order."""


@dataclass
class _Play:
    """Encoded audio being sent, frame by frame; `loop` wraps without a gap."""

    codes: bytes
    loop: bool
    done: asyncio.Future[None]
    pos: int = 0

    def frame(self, silence: int) -> bytes | None:
        if self.pos >= len(self.codes):
            if not self.loop:
                return None
            self.pos = 0
        chunk = self.codes[self.pos : self.pos + SAMPLES]
        self.pos += SAMPLES
        if len(chunk) < SAMPLES:
            if self.loop:
                # The frame across the loop point takes its tail from the start.
                rest = SAMPLES - len(chunk)
                chunk += (self.codes * (rest // len(self.codes) + 1))[:rest]
                self.pos = rest % len(self.codes)
            else:
                chunk += bytes([silence]) * (SAMPLES - len(chunk))
        return chunk

    def skip(self, frames: int) -> None:
        self.pos += frames * SAMPLES
        if self.loop and self.codes:
            self.pos %= len(self.codes)


@dataclass
class _Digit:
    event: str
    frames: int
    sent: int = 0
    timestamp: int = 0


@dataclass
class _Recording:
    path: Path
    start: float
    caller: list[tuple[int, Samples]] = field(default_factory=list)
    ours: list[tuple[int, Samples]] = field(default_factory=list)

    def save(self) -> None:
        write_stereo(self.path, _lay(self.caller), _lay(self.ours))


def _lay(pieces: list[tuple[int, Samples]]) -> Samples:
    """Frames placed at their sample positions; gaps are silence, overlaps the later frame."""
    if not pieces:
        return np.zeros(0, dtype=np.int16)
    end = max(pos + len(s) for pos, s in pieces)
    out = np.zeros(max(0, end), dtype=np.int16)
    for pos, s in pieces:
        if pos >= 0:
            out[pos : pos + len(s)] = s
    return out


class RtpSession(asyncio.DatagramProtocol):
    """One RTP stream pair. Open with `open_rtp` (or `start` on a socket from
    `bind_rtp_socket`); `remote` comes from the SDP (or is learnt from the first packet)."""

    use_pump: ClassVar[bool] = True
    """Send music on hold and prompts through the loop's Rust pump where it applies (False:
    always the per-session Python pacer, as benches/rtp_moh.py --path python compares)."""

    def __init__(
        self,
        sock: socket.socket,
        codec: str = "PCMU",
        dtmf_payload_type: int | None = 101,
        remote: Addr | None = None,
    ) -> None:
        if codec not in PAYLOAD_TYPES:
            raise ValueError(f"codec {codec!r} is not supported (PCMU or PCMA)")
        self.sock = sock
        self.codec = codec
        self.payload_type = PAYLOAD_TYPES[codec]
        self.dtmf_payload_type = dtmf_payload_type
        self._pump_id: int | None = None
        self._pump_driver: pump.Driver | None = None
        self._pump_base = (0, 0)  # stats.sent, stats.skipped when the pump took the stream
        self._remote = remote
        self._stats = RtpStats()
        self.echo = False
        self.on_packet: Callable[[RtpSession, RtpPacket], None] | None = None
        """Called for every valid packet received (a bridge relays from here)."""
        self.on_digit: Callable[[str], None] | None = None
        self._sources: dict[int, _Source] = {}
        self._last_event: tuple[int, int, int, bool] | None = None  # ssrc, ts, event, ended
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._play: _Play | None = None
        self._digits: list[_Digit] = []
        self._digits_done: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._t0 = 0.0
        self._n = 0
        self._marker = True
        self._forward: dict[int, int] = {}  # relayed source SSRC -> timestamp offset
        self._recording: _Recording | None = None
        self.closed = False

    @property
    def stats(self) -> RtpStats:
        if self._pump_id is not None:
            assert self._pump_driver is not None
            pos = self._pump_driver.position(self._pump_id)
            if pos is not None:
                self._count(pos)
        return self._stats

    @stats.setter
    def stats(self, value: RtpStats) -> None:
        self._stats = value

    @property
    def remote(self) -> Addr | None:
        return self._remote

    @remote.setter
    def remote(self, value: Addr | None) -> None:
        moved = value != self._remote
        self._remote = value
        if moved and self._pump_id is not None:
            self._unpump()  # re-INVITE to a new address: re-route through the pump
            self._pace_play()

    @property
    def local_address(self) -> Addr:
        host, port = self.sock.getsockname()[:2]
        return (host, port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self.closed:
            return
        await loop.create_datagram_endpoint(lambda: self, sock=self.sock)
        if self.closed and self._transport is not None:
            self._transport.close()  # closed (BYE) while the endpoint was being set up

    # asyncio protocol.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        try:
            p = RtpPacket.parse(data)
        except ValueError:
            self.stats.malformed += 1
            return
        if self._remote is None:
            self.remote = addr  # symmetric RTP when the SDP gave nothing usable
        loop = self._loop
        assert loop is not None
        self.stats.received += 1
        src = self._sources.get(p.ssrc)
        if src is None:
            src = self._sources[p.ssrc] = _Source(p.sequence, p.sequence - 1 & 0xFFFF)
        src.update_seq(p.sequence)
        self.stats.lost = max(0, sum(s.expected - s.received for s in self._sources.values()))
        if p.payload_type == self.dtmf_payload_type and self.dtmf_payload_type is not None:
            self._event(p)
        elif p.payload_type == self.payload_type:
            src.update_jitter(round(loop.time() * RATE), p.timestamp)
            self.stats.jitter = src.jitter / RATE
            if self._recording is not None:
                if src.anchor is None:
                    src.anchor = round((loop.time() - self._recording.start) * RATE) - p.timestamp
                pos = src.anchor + p.timestamp
                self._recording.caller.append((pos, _DECODE[self.codec](p.payload)))
            if self.echo:
                self.forward(p.payload, self.payload_type, p.marker, p.timestamp, p.ssrc)
        if self.on_packet is not None:
            self.on_packet(self, p)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable while the peer is not yet listening: keep going

    # Receiving DTMF.

    def _event(self, p: RtpPacket) -> None:
        try:
            e = TelephoneEvent.parse(p.payload)
        except ValueError:
            self.stats.malformed += 1
            return
        last = self._last_event
        # One event spans many packets with one timestamp; its end is sent three times. A new
        # event has a new timestamp, code or source, or follows an ended one without E set.
        same = (
            last is not None
            and last[:3] == (p.ssrc, p.timestamp, e.event)
            and (e.end or not last[3])
        )
        self._last_event = (p.ssrc, p.timestamp, e.event, e.end)
        if not same and e.digit is not None:
            self.stats.dtmf += e.digit
            if self.on_digit is not None:
                self.on_digit(e.digit)

    # Sending.

    def play(self, audio: Samples | str | Path, loop: bool = False) -> asyncio.Future[None]:
        """Sends `audio` (8 kHz mono int16, or a WAV path) paced at 20 ms, replacing what was
        playing; with `loop` it repeats (music on hold) until `stop_playing`. The future is done
        when a non-looping play ends or is replaced."""
        samples = load_wav(audio) if isinstance(audio, (str, Path)) else audio
        return self.play_encoded(
            _ENCODE[self.codec](np.ascontiguousarray(samples, dtype=np.int16)), loop
        )

    def play_encoded(self, codes: bytes, loop: bool = False) -> asyncio.Future[None]:
        """`play` for audio already encoded in this session's codec (one encoding shared by
        many calls, as music on hold is)."""
        if not codes:
            raise ValueError("nothing to play: the audio is empty")
        done: asyncio.Future[None] = self._running_loop().create_future()
        if self._pump_id is not None:
            assert self._pump_driver is not None
            old = self._play
            self._pump_driver.pump.replace(self._pump_id, codes, loop)  # numbering goes on
            self._play = _Play(codes, loop, done)
            if old is not None and not old.done.done():
                old.done.set_result(None)
            return done
        self.stop_playing()
        self._play = _Play(codes, loop, done)
        self._pace_play()
        return done

    def _pace_play(self) -> None:
        """Hands the play to the pump where it applies, else to this session's pacer."""
        if not self._pump_start():
            self._pace()

    def _pump_start(self) -> bool:
        play = self._play
        if (
            not self.use_pump
            or play is None
            or self._timer is not None  # the Python pacer is running (DTMF): let it go on
            or self._digits
            or self._recording is not None
            or self._transport is None
            or self._remote is None
            or self.closed
        ):
            return False
        drv = pump.driver(self._running_loop())
        if drv is None:
            return False
        try:
            host = str(ipaddress.ip_address(self._remote[0]))
        except ValueError:
            return False  # a host name: the transport resolves it
        self._pump_base = (self._stats.sent, self._stats.skipped)
        self._pump_id = drv.start(
            self._pump_ended,
            fd=self.sock.fileno(),
            host=host,
            port=self._remote[1],
            payload_type=self.payload_type,
            ssrc=self._ssrc,
            sequence=self._seq,
            timestamp=self._ts,
            audio=play.codes,
            looping=play.loop,
            marker=True,
            offset=play.pos,
            silence=_SILENCE[self.codec],
        )
        self._pump_driver = drv
        return True

    def _count(self, pos: pump.Position) -> None:
        self._stats.sent = self._pump_base[0] + pos[4]
        self._stats.skipped = self._pump_base[1] + pos[5]

    def _unpump(self) -> None:
        """Takes the stream back from the pump, numbering on from where it stopped."""
        sid, drv = self._pump_id, self._pump_driver
        self._pump_id = None
        if sid is None or drv is None:
            return
        pos = drv.stop(sid)
        if pos is not None:
            self._seq, self._ts, self._marker = pos[0], pos[1], pos[3]
            self._count(pos)
            if self._play is not None:
                self._play.pos = pos[2]

    def _pump_ended(self, reason: str | None, pos: pump.Position) -> None:
        """The pump finished a one-shot play, or dropped the stream on a socket error (the
        driver logged why); either way the play is over and numbering goes on from `pos`."""
        self._pump_id = None
        self._seq, self._ts = pos[0], pos[1]
        self._count(pos)
        play, self._play = self._play, None
        if play is not None and not play.done.done():
            play.done.set_result(None)

    def stop_playing(self) -> None:
        self._unpump()
        if self._play is not None and not self._play.done.done():
            self._play.done.set_result(None)
        self._play = None

    def send_digits(self, digits: str, duration: float = 0.1) -> asyncio.Future[None]:
        """Sends RFC 4733 events (one per digit, `duration` seconds each, the end three times),
        in place of audio while they last."""
        if self.dtmf_payload_type is None:
            raise ValueError("the call negotiated no telephone-event payload type")
        frames = max(1, round(duration / FRAME))
        for d in digits:
            telephone_event(d)  # ValueError naming a bad digit before anything is queued
        self._unpump()  # events take the place of audio: this session's pacer interleaves them
        self._digits.extend(_Digit(d, frames) for d in digits)
        if self._digits_done is None or self._digits_done.done():
            self._digits_done = self._running_loop().create_future()
        done = self._digits_done
        if not self._digits:
            done.set_result(None)
        self._pace()
        return done

    def forward(
        self, payload: bytes, payload_type: int, marker: bool, timestamp: int, source: int
    ) -> None:
        """Sends a payload relayed from `source` (an SSRC) at once, keeping its timestamp
        spacing under our SSRC and sequence (echo, bridges)."""
        if self._pump_id is not None:
            self._unpump()  # one sequence for both: this session's pacer sends the play
            self._pace(marker=self._marker)
        offset = self._forward.get(source)
        if offset is None:
            offset = self._forward[source] = (self._ts - timestamp) & 0xFFFFFFFF
        self._send(payload, payload_type, marker, (timestamp + offset) & 0xFFFFFFFF)

    def _send(self, payload: bytes, payload_type: int, marker: bool, timestamp: int) -> None:
        if self._transport is None or self.remote is None or self.closed:
            return
        packet = rtp_build(payload_type, self._seq, timestamp, self._ssrc, payload, marker)
        self._seq = (self._seq + 1) & 0xFFFF
        self._transport.sendto(packet, self.remote)
        self.stats.sent += 1

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _pace(self, marker: bool = True) -> None:
        if self._timer is not None or self.closed:
            return
        loop = self._running_loop()
        self._t0, self._n, self._marker = loop.time(), 0, marker
        self._timer = loop.call_at(self._t0, self._tick)

    def _tick(self) -> None:
        loop = self._running_loop()
        now = loop.time()
        behind = int((now - (self._t0 + self._n * FRAME)) / FRAME)
        # Up to one frame late: send now and the next one on time (the peer's jitter buffer
        # absorbs it). Later: a stall; skip what it missed rather than send it in a burst.
        if behind >= 2:
            self._n += behind
            self._ts = (self._ts + behind * SAMPLES) & 0xFFFFFFFF
            self.stats.skipped += behind
            if self._play is not None:
                self._play.skip(behind)
        if not self._send_frame():
            self._timer = None
            return
        self._n += 1
        self._ts = (self._ts + SAMPLES) & 0xFFFFFFFF
        self._timer = loop.call_at(self._t0 + self._n * FRAME, self._tick)

    def _send_frame(self) -> bool:
        """One 20 ms frame: a DTMF event packet if digits are queued, else audio. False when
        there is nothing left to send (the pacer stops until there is)."""
        if self._digits:
            self._send_event(self._digits[0])
            return True
        play = self._play
        if play is None:
            return False
        frame = play.frame(_SILENCE[self.codec])
        if frame is None:
            self.stop_playing()
            return False
        self._send(frame, self.payload_type, self._marker, self._ts)
        self._marker = False
        if self._recording is not None:
            pos = round((self._t0 + self._n * FRAME - self._recording.start) * RATE)
            self._recording.ours.append((pos, _DECODE[self.codec](frame)))
        return True

    def _send_event(self, d: _Digit) -> None:
        assert self.dtmf_payload_type is not None
        if d.sent == 0:
            d.timestamp = self._ts
        d.sent += 1
        duration = min(0xFFFF, d.sent * SAMPLES)
        end = d.sent >= d.frames
        payload = telephone_event(d.event, end=end, duration=duration)
        for _ in range(3 if end else 1):
            self._send(payload, self.dtmf_payload_type, d.sent == 1, d.timestamp)
        if end:
            self._digits.pop(0)
            self._marker = True
            done = self._digits_done
            if not self._digits and done is not None and not done.done():
                done.set_result(None)

    # Recording.

    def record(self, path: str | Path) -> None:
        """Records from now until `close`: a stereo WAV, left what the caller sent, right
        what this session sent."""
        if self._pump_id is not None:
            self._unpump()  # the recording needs our frames: this session's pacer sends them
            self._pace(marker=self._marker)
        self._recording = _Recording(Path(path), self._running_loop().time())
        for src in self._sources.values():
            src.anchor = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stop_playing()
        if self._digits_done is not None and not self._digits_done.done():
            self._digits_done.set_result(None)
        if self._recording is not None:
            self._recording.save()
            self._recording = None
        if self._transport is not None:
            self._transport.close()
        else:
            self.sock.close()


async def open_rtp(
    host: str = "127.0.0.1",
    ports: tuple[int, int] = (40000, 49999),
    codec: str = "PCMU",
    dtmf_payload_type: int | None = 101,
    remote: Addr | None = None,
) -> RtpSession:
    """An `RtpSession` listening on a free even port of `ports`."""
    session = RtpSession(bind_rtp_socket(host, ports), codec, dtmf_payload_type, remote)
    await session.start()
    return session
