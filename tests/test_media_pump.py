"""The Rust music-on-hold pump (`acdcore._core.MohPump`) against real UDP sockets on
127.0.0.1: ticks driven with `now` given by the test, packets read back by a receiving socket;
then `RtpSession` handing streams to the pump and taking them back (DTMF, prompt then MoH)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import sys

import numpy as np
import pytest
from acdcore._core import RtpPacket, ulaw_encode
from acdcore.media import open_rtp
from acdcore.media import pump as media_pump
from acdcore.media.session import FRAME, SAMPLES
from test_media import sink, tone
from test_sip_transport import run

pytestmark = pytest.mark.skipif(not media_pump.AVAILABLE, reason="the pump is Linux-only")

if media_pump.AVAILABLE:
    from acdcore._core import MohPump


def udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def drain(rx: socket.socket) -> list[tuple[int, RtpPacket]]:
    """Every datagram waiting at `rx`: (source port, packet)."""
    rx.settimeout(2.0)
    out = []
    try:
        while True:
            data, addr = rx.recvfrom(2048)
            out.append((addr[1], RtpPacket.parse(data)))
            rx.settimeout(0.2)
    except TimeoutError:
        pass
    return out


AUDIO = bytes(i % 251 for i in range(400))  # not a whole number of frames: frames straddle


def start(p: MohPump, tx: socket.socket, rx: socket.socket, ssrc: int, **kw: object) -> int:
    args: dict[str, object] = {
        "payload_type": 0,
        "ssrc": ssrc,
        "sequence": 65530,
        "timestamp": 0xFFFFFF00,
        "audio": AUDIO,
        "looping": True,
    }
    args.update(kw)
    sid: int = p.start(0.0, tx.fileno(), "127.0.0.1", rx.getsockname()[1], **args)  # type: ignore[arg-type]
    return sid


def test_streams_are_continuous_and_carry_the_buffer() -> None:
    rx = udp()
    txs = [udp() for _ in range(3)]
    p = MohPump()
    ids = [start(p, tx, rx, 100 + i) for i, tx in enumerate(txs)]
    assert len(p) == 3
    sent = 0
    for n in range(12):
        sent += p.tick(n * FRAME).sent
    assert sent == 36
    got = drain(rx)
    assert len(got) == 36
    looped = (AUDIO * 10)[: 12 * SAMPLES]
    for tx, sid in zip(txs, ids, strict=True):
        port = tx.getsockname()[1]
        mine = [pk for src, pk in got if src == port]  # the source port is the session's
        assert len(mine) == 12
        assert {pk.ssrc for pk in mine} == {100 + ids.index(sid)}
        assert mine[0].marker and not any(pk.marker for pk in mine[1:])
        seqs = [pk.sequence for pk in mine]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))  # wraps at 65535
        stamps = [pk.timestamp for pk in mine]
        assert all((b - a) & 0xFFFFFFFF == SAMPLES for a, b in itertools.pairwise(stamps))
        assert b"".join(pk.payload for pk in mine) == looped
        pos = p.position(sid)
        assert pos is not None and pos[4] == 12 and pos[2] == (12 * SAMPLES) % len(AUDIO)
    for s in [rx, *txs]:
        s.close()


def test_stop_and_start_while_others_run() -> None:
    rx = udp()
    a, b, c = udp(), udp(), udp()
    p = MohPump()
    ida = start(p, a, rx, 1)
    idb = start(p, b, rx, 2)
    p.tick(0.0)
    pos = p.stop(ida)
    assert pos is not None and pos[4] == 1 and pos[0] == 65531  # numbering to continue from
    assert p.stop(ida) is None
    start(p, c, rx, 3, looping=False, audio=AUDIO[:200])  # a one-shot prompt: two frames
    t1 = p.tick(FRAME)
    t2 = p.tick(2 * FRAME)
    t3 = p.tick(3 * FRAME)
    assert (t1.sent, t2.sent, t3.sent) == (2, 2, 1)
    assert [f[0] for f in t3.finished] == [3] and t3.finished[0][1][4] == 2
    got = drain(rx)
    by_port: dict[int, list[RtpPacket]] = {}
    for src, pk in got:
        by_port.setdefault(src, []).append(pk)
    assert len(by_port[a.getsockname()[1]]) == 1
    assert len(by_port[b.getsockname()[1]]) == 4
    prompt = by_port[c.getsockname()[1]]
    assert prompt[1].payload == AUDIO[160:200] + b"\xff" * 120  # padded with silence
    assert len(p) == 1 and p.position(idb) is not None
    for s in (rx, a, b, c):
        s.close()


def test_a_failing_socket_drops_only_its_stream() -> None:
    rx = udp()
    good, bad = udp(), udp()
    p = MohPump()
    start(p, good, rx, 1)
    idbad = start(p, bad, rx, 2)
    p.tick(0.0)
    # No more sending on it; an unconnected UDP socket says ENOTCONN but it takes effect.
    with contextlib.suppress(OSError):
        bad.shutdown(socket.SHUT_WR)
    t = p.tick(FRAME)
    assert [d[0] for d in t.dropped] == [idbad]
    assert "send failed" in t.dropped[0][1]
    assert t.sent == 1 and len(p) == 1
    assert p.tick(2 * FRAME).sent == 1
    assert len(drain(rx)) == 4
    for s in (rx, good, bad):
        s.close()


def test_bad_arguments_are_value_errors() -> None:
    rx, tx = udp(), udp()
    p = MohPump()
    port = rx.getsockname()[1]
    r, w = os.pipe()
    try:
        with pytest.raises(ValueError, match="not a socket"):
            p.start(0.0, r, "127.0.0.1", port, 0, 1, 0, 0, AUDIO, True)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with pytest.raises(ValueError, match="not a datagram"):
            p.start(0.0, tcp.fileno(), "127.0.0.1", port, 0, 1, 0, 0, AUDIO, True)
        tcp.close()
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(ValueError, match="not an IP address"):
        p.start(0.0, tx.fileno(), "example.org", port, 0, 1, 0, 0, AUDIO, True)
    with pytest.raises(ValueError, match="empty"):
        p.start(0.0, tx.fileno(), "127.0.0.1", port, 0, 1, 0, 0, b"", True)
    with pytest.raises(ValueError, match="payload type"):
        p.start(0.0, tx.fileno(), "127.0.0.1", port, 200, 1, 0, 0, AUDIO, True)
    with pytest.raises(ValueError, match="out of range"):
        p.start(0.0, tx.fileno(), "127.0.0.1", 70000, 0, 1, 0, 0, AUDIO, True)
    with pytest.raises(KeyError):
        p.replace(12345, AUDIO, True)
    assert len(p) == 0 and p.next_due() is None
    rx.close()
    tx.close()


def test_closing_the_python_socket_does_not_break_the_pump() -> None:
    """The pump sends on its own duplicate of the fd, so a socket closed under it (and its
    number reused) is never written to by mistake."""
    rx, tx = udp(), udp()
    p = MohPump()
    sid = start(p, tx, rx, 1)
    port = tx.getsockname()[1]
    tx.close()
    p.tick(0.0)
    assert p.stop(sid) is not None
    assert [src for src, _ in drain(rx)] == [port]
    rx.close()


@pytest.mark.skipif(sys.platform != "linux", reason="Linux pump")
def test_session_music_on_hold_goes_through_the_pump_and_back() -> None:
    """`RtpSession` hands the loop to the pump, takes it back for DTMF, and the peer sees one
    unbroken sequence across both."""

    async def body() -> None:
        transport, rx = await sink()
        s = await open_rtp(ports=(30000, 39999), remote=transport.get_extra_info("sockname"))
        codes = ulaw_encode(tone(440, 0.5))
        s.play_encoded(codes, loop=True)
        drv = media_pump.driver(asyncio.get_running_loop())
        assert drv is not None and len(drv.pump) == 1
        await asyncio.sleep(10 * FRAME)
        assert s.stats.sent >= 5
        await s.send_digits("1", duration=0.06)
        assert len(drv.pump) == 0  # this session's pacer took over for the events
        await asyncio.sleep(5 * FRAME)
        s.close()
        await asyncio.sleep(0.05)
        transport.close()
        packets = [RtpPacket.parse(d) for _, d in rx.got]
        assert len(packets) == s.stats.sent
        seqs = [p.sequence for p in packets]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
        assert packets[0].marker
        audio = [p for p in packets if p.payload_type == 0]
        events = [p for p in packets if p.payload_type == 101]
        assert len(events) >= 3
        first_ev = packets.index(events[0])
        # Audio before the events is the loop from its start, continuous.
        before = b"".join(p.payload for p in packets[:first_ev])
        assert before == (codes * 2)[: len(before)]
        stamps = [p.timestamp for p in audio[:first_ev]]
        assert all((b - a) & 0xFFFFFFFF == SAMPLES for a, b in itertools.pairwise(stamps))

    run(body)


def test_prompt_then_music_on_hold_numbers_on() -> None:
    async def body() -> None:
        transport, rx = await sink()
        s = await open_rtp(ports=(30000, 39999), remote=transport.get_extra_info("sockname"))
        prompt = ulaw_encode(tone(800, 5 * FRAME))
        moh = ulaw_encode(tone(440, 1.0))
        await asyncio.wait_for(s.play_encoded(prompt), 10)
        done = s.play_encoded(moh, loop=True)
        await asyncio.sleep(5 * FRAME)
        s.play_encoded(moh, loop=True)  # replaced while running: no new talkspurt
        assert done.done()
        await asyncio.sleep(5 * FRAME)
        s.close()
        await asyncio.sleep(0.05)
        transport.close()
        packets = [RtpPacket.parse(d) for _, d in rx.got]
        assert len(packets) == s.stats.sent >= 10
        seqs = [p.sequence for p in packets]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
        assert b"".join(p.payload for p in packets[:5]) == prompt
        assert packets[0].marker and packets[5].marker  # each play starts a talkspurt
        assert not any(p.marker for p in packets[6:])
        steps = np.diff(np.array([p.timestamp for p in packets], dtype=np.int64))
        assert np.all(steps % SAMPLES == 0) and np.all(steps > 0)

    run(body)
