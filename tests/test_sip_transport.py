"""The asyncio SIP transport, RFC 3261 transactions and the minimal UAS, on 127.0.0.1 only.

Real SIPp drives calls (built-in `uac`, tests/sipp/uac_cancel.xml, built-in `uas` for our
client transactions); in-process peers check what SIPp cannot show: the retransmission
schedule of a 2xx whose first copies are lost, timer H, client timers E/F, and garbage
datagrams. Every test picks free ports and is bounded in calls and seconds. Without `sipp`
the SIPp tests fail in CI (CI=true) and skip elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, cast

import pytest
from acdcore.sip import SipMessage, sdp_offer
from acdcore.sip.transaction import (
    ServerTransaction,
    Timers,
    new_branch,
    open_transactions,
)
from acdcore.sip.transport import (
    UDP_BATCH,
    Addr,
    SipEndpoint,
    SipUdpProtocol,
    error_reply,
    open_tcp,
)
from acdcore.sip.uas import Uas, UasServer, serve_uas

SCENARIOS = Path(__file__).resolve().parent / "sipp"
FAST = Timers(t1=0.05, t2=0.2, t4=0.25, d=0.5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(binary: str, package: str) -> str:
    """The path of a peer program; fails in CI (CI=true) and skips elsewhere when missing."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not found: apt-get install -y {package}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def sipp() -> str:
    return need("sipp", "sip-tester")


async def run_sipp(
    target: Addr | None, *args: str, stat: Path, port: int = 0, timeout: float = 60.0
) -> int:
    """Runs SIPp (against `target`, if any) on free ports; returns its exit code."""
    media = free_port() & ~1
    cmd = [
        sipp(),
        *([f"{target[0]}:{target[1]}"] if target else []),
        "-i", "127.0.0.1", "-p", str(port or free_port()),
        "-mi", "127.0.0.1", "-mp", str(media), "-cp", str(free_port()),
        "-nostdin", "-buff_size", "4194304", "-timeout", "30s", "-timeout_error",
        "-trace_stat", "-stf", str(stat), *args,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=stat.parent
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"sipp did not finish in {timeout} s: {cmd}") from None
    assert proc.returncode is not None
    if proc.returncode != 0:
        print(err.decode(errors="replace"))
    return proc.returncode


def sipp_totals(stat: Path) -> dict[str, int]:
    """Successful and failed call totals from the last row of SIPp's -trace_stat CSV."""
    lines = [line for line in stat.read_text().splitlines() if line.strip()]
    names = lines[0].split(";")
    row = lines[-1].split(";")
    values = dict(zip(names, row, strict=False))
    return {
        "ok": int(values["SuccessfulCall(C)"]),
        "failed": int(values["FailedCall(C)"]),
        "created": int(values["TotalCallCreated"]),
    }


def drop_first(protocol: SipEndpoint, prefix: bytes, count: int) -> list[float]:
    """Loses the first `count` datagrams starting with `prefix`; returns every send time of them."""
    real_send = protocol.send
    loop = asyncio.get_running_loop()
    times: list[float] = []

    def lossy(data: bytes, addr: Addr) -> None:
        if data.startswith(prefix):
            times.append(loop.time())
            if len(times) <= count:
                return
        real_send(data, addr)

    protocol.send = lossy  # type: ignore[method-assign]
    return times


class Peer(asyncio.DatagramProtocol):
    """An in-process SIP peer on a UDP socket: records what arrives, parsed, with loop time."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.inbox.put_nowait((asyncio.get_running_loop().time(), data))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self, message: SipMessage | bytes, addr: Addr) -> None:
        assert self.transport is not None
        data = message if isinstance(message, bytes) else message.to_bytes()
        self.transport.sendto(data, addr)

    async def next(self, timeout: float = 2.0) -> SipMessage:
        _, data = await asyncio.wait_for(self.inbox.get(), timeout)
        return SipMessage.parse(data)

    async def drain(self, seconds: float) -> list[tuple[float, SipMessage]]:
        await asyncio.sleep(seconds)
        out = []
        while not self.inbox.empty():
            at, data = self.inbox.get_nowait()
            out.append((at, SipMessage.parse(data)))
        return out

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_peer() -> Peer:
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    return peer


@contextlib.asynccontextmanager
async def uas_and_peer(uas: Uas, **options: Any) -> AsyncIterator[tuple[UasServer, Peer]]:
    """A UAS on a free port with FAST timers and an in-process peer, both closed after."""
    server = await serve_uas(uas, port=0, timers=FAST, **options)
    peer = await open_peer()
    try:
        yield server, peer
    finally:
        peer.close()
        server.close()


def request(
    port: int,
    method: str,
    target: Addr,
    call_id: str,
    *,
    cseq: int = 1,
    branch: str | None = None,
    to_tag: str | None = None,
    body: bytes = b"",
    transport: str = "UDP",
) -> SipMessage:
    to = f"<sip:service@{target[0]}:{target[1]}>" + (f";tag={to_tag}" if to_tag else "")
    headers = [
        ("Via", f"SIP/2.0/{transport} 127.0.0.1:{port};branch={branch or new_branch()}"),
        ("From", f"<sip:peer@127.0.0.1:{port}>;tag=peer1"),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", "70"),
        ("Contact", f"<sip:peer@127.0.0.1:{port}>"),
    ]
    content_type = "application/sdp" if body else None
    return SipMessage.request(
        method, f"sip:service@{target[0]}:{target[1]}", headers, body, content_type
    )


def run(test: Callable[[], Coroutine[None, None, None]]) -> None:
    asyncio.run(test())


# SIPp against the UAS.


def test_sipp_uac_calls_all_succeed(tmp_path: Path) -> None:
    async def main() -> None:
        server = await serve_uas(Uas(), port=0, timers=FAST)
        try:
            stat = tmp_path / "uac.csv"
            rc = await run_sipp(server.address, "-sn", "uac", "-r", "10", "-m", "20", stat=stat)
            assert rc == 0
            assert sipp_totals(stat) == {"ok": 20, "failed": 0, "created": 20}
            uas = server.uas
            assert (uas.stats.calls, uas.stats.answered, uas.stats.ended) == (20, 20, 20)
            assert uas.dialogs == {}
            assert server.protocol.stats.malformed == 0
            assert server.protocol.stats.handler_errors == 0
            # BYE transactions linger for timer J (64*T1), then the table is empty.
            await asyncio.sleep(64 * FAST.t1 + 0.5)
            assert len(server.layer) == 0
        finally:
            server.close()

    run(main)


def test_sipp_cancel_before_answer(tmp_path: Path) -> None:
    async def main() -> None:
        server = await serve_uas(Uas(answer_delay=10.0), port=0, timers=FAST)
        try:
            stat = tmp_path / "cancel.csv"
            scenario = str(SCENARIOS / "uac_cancel.xml")
            rc = await run_sipp(server.address, "-sf", scenario, "-r", "5", "-m", "5", stat=stat)
            assert rc == 0
            assert sipp_totals(stat) == {"ok": 5, "failed": 0, "created": 5}
            uas = server.uas
            assert (uas.stats.calls, uas.stats.cancelled, uas.stats.answered) == (5, 5, 0)
            assert uas.dialogs == {}
            await asyncio.sleep(64 * FAST.t1 + 0.5)
            assert len(server.layer) == 0
        finally:
            server.close()

    run(main)


def test_sipp_gets_the_200_when_its_first_copies_are_lost(tmp_path: Path) -> None:
    async def main() -> None:
        server = await serve_uas(Uas(), port=0, timers=FAST)
        try:
            sends = drop_first(server.protocol, b"SIP/2.0 200", 3)
            stat = tmp_path / "lossy.csv"
            rc = await run_sipp(server.address, "-sn", "uac", "-m", "1", stat=stat)
            assert rc == 0
            assert sipp_totals(stat)["ok"] == 1
            # Three 200s for the INVITE lost, the fourth got through, then one 200 for BYE.
            assert len(sends) == 5
            assert server.layer.stats.retransmissions_sent == 3
            assert server.uas.stats.ended == 1
        finally:
            server.close()

    run(main)


def test_client_transactions_against_sipp_uas(tmp_path: Path) -> None:
    class Ignore:
        def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
            txn.respond(request.reply(501))

        def on_ack(self, request: SipMessage, source: Addr) -> None:
            pass

        def on_timeout(self, txn: ServerTransaction) -> None:
            pass

    async def main() -> None:
        target = ("127.0.0.1", free_port())
        stat = tmp_path / "uas.csv"
        sipp_task = asyncio.create_task(
            run_sipp(None, "-sn", "uas", "-m", "1", stat=stat, port=target[1])
        )
        await asyncio.sleep(0.5)  # SIPp binds its port
        protocol, layer = await open_transactions(Ignore(), port=0, timers=FAST)
        port = protocol.local_address[1]
        try:
            ringing: list[int] = []
            offer = sdp_offer("127.0.0.1", 6000)
            invite = SipMessage.request(
                "INVITE",
                f"sip:service@127.0.0.1:{target[1]}",
                [
                    ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"),
                    ("From", f"<sip:acd@127.0.0.1:{port}>;tag=acd1"),
                    ("To", f"<sip:service@127.0.0.1:{target[1]}>"),
                    ("Call-ID", "client-txn-1"),
                    ("CSeq", "1 INVITE"),
                    ("Contact", f"<sip:acd@127.0.0.1:{port}>"),
                    ("Max-Forwards", "70"),
                ],
                offer,
                "application/sdp",
            )
            txn = layer.request(invite, target, lambda r: ringing.append(r.status or 0))
            ok = await asyncio.wait_for(txn.response, 10)
            assert ok.status == 200 and ringing == [180]
            assert txn.state == "terminated"
            # The 2xx ACK is a new transaction (new branch) sent by the UAC core, here by hand.
            ack = invite.ack_for(ok).without_header("Via")
            ack = ack.with_header("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}")
            protocol.send(ack.to_bytes(), target)
            bye = SipMessage.request(
                "BYE",
                f"sip:service@127.0.0.1:{target[1]}",
                [
                    ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"),
                    ("From", f"<sip:acd@127.0.0.1:{port}>;tag=acd1"),
                    ("To", ok.header("To") or ""),
                    ("Call-ID", "client-txn-1"),
                    ("CSeq", "2 BYE"),
                    ("Max-Forwards", "70"),
                ],
            )
            bye_txn = layer.request(bye, target)
            done = await asyncio.wait_for(bye_txn.response, 10)
            assert done.status == 200 and bye_txn.state == "completed"
            assert await sipp_task == 0
            assert sipp_totals(stat)["ok"] == 1
            await asyncio.sleep(FAST.t4 + 0.1)  # timer K
            assert len(layer) == 0
        finally:
            protocol.close()
            if not sipp_task.done():
                sipp_task.cancel()

    run(main)


# In-process peers: timers and bad input.


def test_2xx_retransmitted_on_timer_g_schedule_until_ack() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas()) as (server, peer):
            sends = drop_first(server.protocol, b"SIP/2.0 200", 4)
            offer = sdp_offer("127.0.0.1", 6000)
            peer.send(
                request(peer.port, "INVITE", server.address, "g-1", body=offer), server.address
            )
            replies = [await peer.next() for _ in range(3)]
            assert [r.status for r in replies] == [100, 180, 200]
            # Four copies lost; intervals double from T1 and stop growing at T2.
            gaps = [b - a for a, b in itertools.pairwise(sends)]
            assert len(gaps) == 4
            for gap, want in zip(gaps, [0.05, 0.1, 0.2, 0.2], strict=True):
                assert want - 0.005 <= gap < want + 0.15
            # The ACK for a 2xx has its own branch; it is matched by Call-ID, From tag, CSeq.
            ack = request(peer.port, "ACK", server.address, "g-1", to_tag=replies[2].to.tag)
            peer.send(ack, server.address)
            assert await peer.drain(3 * FAST.t2) == []
            assert len(sends) == 5
            assert len(server.layer) == 0
            (dialog,) = server.uas.dialogs.values()
            assert dialog.state == "confirmed" and dialog.codec == "PCMU"
            # BYE ends it; a second BYE (same branch) is a retransmission and gets the same 200.
            bye = request(peer.port, "BYE", server.address, "g-1", cseq=2, to_tag=replies[2].to.tag)
            peer.send(bye, server.address)
            assert (await peer.next()).status == 200
            peer.send(bye, server.address)
            assert (await peer.next()).status == 200
            assert server.uas.dialogs == {} and server.uas.stats.ended == 1
            assert server.layer.stats.retransmissions_absorbed == 1

    run(main)


def test_unacknowledged_2xx_gives_up_at_64_t1_and_drops_the_dialog() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas()) as (server, peer):
            offer = sdp_offer("127.0.0.1", 6000)
            peer.send(
                request(peer.port, "INVITE", server.address, "h-1", body=offer), server.address
            )
            await asyncio.sleep(64 * FAST.t1 / 2)
            assert len(server.uas.dialogs) == 1
            got = await peer.drain(64 * FAST.t1 / 2 + 0.3)
            oks = [m for _, m in got if m.status == 200]
            # 0.05 + 0.1 + 0.2 * n <= 3.2 s: the first 200 and then 1 + 1 + 15 retransmissions.
            assert 14 <= len(oks) <= 19
            assert server.uas.dialogs == {} and server.uas.stats.timed_out == 1
            assert len(server.layer) == 0
            assert await peer.drain(2 * FAST.t2) == []

    run(main)


def test_non_2xx_final_retransmitted_until_ack_then_absorbed() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas()) as (server, peer):
            # G.729 only: nothing in common, 488.
            offer = (
                b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                b"m=audio 6000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
            )
            branch = new_branch()
            invite = request(peer.port, "INVITE", server.address, "n-1", branch=branch, body=offer)
            peer.send(invite, server.address)
            replies = [await peer.next() for _ in range(3)]
            assert [r.status for r in replies] == [100, 180, 488]
            again = await peer.next(timeout=1.0)
            assert again.status == 488  # timer G
            # The ACK for a non-2xx shares the INVITE's branch (17.1.1.3).
            ack = request(
                peer.port, "ACK", server.address, "n-1", branch=branch, to_tag=replies[2].to.tag
            )
            peer.send(ack, server.address)
            await peer.drain(0.05)
            assert await peer.drain(3 * FAST.t2) == []
            assert len(server.layer) == 0  # timer I = T4 has run out
            assert server.uas.dialogs == {} and server.uas.stats.rejected == 1

    run(main)


def test_options_unknown_methods_and_dialogs_we_do_not_have() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas()) as (server, peer):
            target = server.address
            peer.send(request(peer.port, "OPTIONS", target, "o-1"), target)
            ok = await peer.next()
            assert ok.status == 200 and ok.to.tag
            assert ok.values("Allow") == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"]
            assert ok.header("Accept") == "application/sdp"
            peer.send(request(peer.port, "REGISTER", target, "o-2"), target)
            refused = await peer.next()
            assert refused.status == 405 and "INVITE" in (refused.header("Allow") or "")
            peer.send(request(peer.port, "FROB", target, "o-3"), target)
            assert (await peer.next()).status == 501
            peer.send(request(peer.port, "BYE", target, "o-4", to_tag="nosuch"), target)
            assert (await peer.next()).status == 481
            peer.send(request(peer.port, "CANCEL", target, "o-5"), target)
            assert (await peer.next()).status == 481

    run(main)


GOOD = (
    b"OPTIONS sip:service@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-garbage-1\r\n"
    b"From: <sip:peer@127.0.0.1>;tag=g1\r\n"
    b"To: <sip:service@127.0.0.1>\r\n"
    b"Call-ID: garbage-1\r\n"
    b"CSeq: 7 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 5\r\n\r\n"
    b"hello"
)


def test_error_reply_is_built_from_raw_headers_only_when_possible() -> None:
    bad = GOOD.replace(b"CSeq: 7 OPTIONS", b"CSeq: 7 BYE")
    reply = error_reply(bad, 400, "bad CSeq header: method\r\nX: y")
    assert reply is not None
    parsed = SipMessage.parse(reply)
    assert parsed.status == 400 and parsed.reason == "bad CSeq header: method  X: y"
    assert (parsed.call_id, parsed.cseq, parsed.from_.tag) == ("garbage-1", (7, "BYE"), "g1")
    assert error_reply(bad.replace(b"Call-ID: garbage-1\r\n", b""), 400, "x") is None
    assert error_reply(b"SIP/2.0 200 OK\r\n" + bad.split(b"\r\n", 1)[1], 400, "x") is None
    assert error_reply(b"\xff\xfe garbage", 400, "x") is None


def test_garbage_gets_400_or_is_dropped_and_the_server_keeps_answering() -> None:
    async def main() -> None:
        rng = random.Random(5)
        async with uas_and_peer(Uas()) as (server, peer):
            target = server.address
            garbage = [
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))) for _ in range(200)
            ]
            garbage += [GOOD[:n] for n in range(1, len(GOOD) - 1, 3)]
            garbage += [
                GOOD.replace(b"CSeq: 7 OPTIONS", b"CSeq: 7 BYE"),
                GOOD.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1),
                GOOD.replace(b"Content-Length: 5", b"Content-Length: 50"),
            ]
            for i, data in enumerate(garbage):
                peer.send(data, target)
                if i % 20 == 0:
                    await asyncio.sleep(0.01)  # the server shares this loop: let it read
            got = await peer.drain(1.0)
            statuses = [m.status for _, m in got]
            assert statuses and all(s in (400, 416, 505, 513) for s in statuses)
            stats = server.protocol.stats
            assert stats.malformed == len(garbage) == stats.rejected + stats.dropped
            assert stats.rejected == len(got) and stats.handler_errors == 0
            reasons = {m.call_id: m.reason for _, m in got}
            assert reasons["garbage-1"]
            assert len(server.layer) == 0
            for i in range(3):
                peer.send(request(peer.port, "OPTIONS", target, f"after-{i}"), target)
                assert (await peer.next()).status == 200

    run(main)


def test_server_transaction_table_is_capped_with_503() -> None:
    async def main() -> None:
        # INVITEs waiting for their answer are in progress; the cap counts those.
        async with uas_and_peer(Uas(answer_delay=1.0), max_transactions=3) as (server, peer):
            target = server.address
            offer = sdp_offer("127.0.0.1", 6000)
            for i in range(5):
                peer.send(request(peer.port, "INVITE", target, f"cap-{i}", body=offer), target)
            got = sorted([m.status or 0 for m in [await peer.next() for _ in range(8)]])
            assert got == [100, 100, 100, 180, 180, 180, 503, 503]
            assert server.layer.stats.overloaded == 2 and server.layer.in_progress == 3
            peer.send(request(peer.port, "OPTIONS", target, "cap-options"), target)
            assert (await peer.next()).status == 503
            answers: dict[str, SipMessage] = {}  # by Call-ID: the 200s are retransmitted
            for _ in range(50):
                if len(answers) == 3:
                    break
                m = await peer.next(5.0)
                if m.status == 200:
                    answers[m.call_id] = m
            assert len(answers) == 3
            for answer in answers.values():  # the ACK ends each accepted INVITE
                ack = request(peer.port, "ACK", target, answer.call_id, to_tag=answer.to.tag)
                peer.send(ack, target)
            for _ in range(100):
                if server.layer.in_progress == 0:
                    break
                await asyncio.sleep(0.02)
            assert server.layer.in_progress == 0
            peer.send(request(peer.port, "OPTIONS", target, "cap-later"), target)
            for _ in range(50):  # past any 200 retransmitted before its ACK arrived
                m = await peer.next()
                if m.call_id == "cap-later":
                    break
            assert m.status == 200

    run(main)


def test_answered_transactions_linger_outside_the_cap_and_are_bounded() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas(), max_transactions=3) as (server, peer):
            layer, target = server.layer, server.address
            layer.max_lingering = 5
            sent = []
            for i in range(20):  # each answered at once, then lingering for timer J
                sent.append(request(peer.port, "OPTIONS", target, f"linger-{i}"))
                peer.send(sent[-1], target)
                assert (await peer.next()).status == 200
            assert layer.stats.overloaded == 0
            assert (layer.lingering, layer.in_progress, len(layer)) == (5, 0, 5)
            assert layer.stats.lingering_ended_early == 15
            # The newest still absorbs a retransmission, answering it the same way.
            peer.send(sent[-1], target)
            again = await peer.next()
            assert (again.status, again.call_id) == (200, "linger-19")
            assert layer.stats.retransmissions_absorbed == 1
            await asyncio.sleep(64 * FAST.t1 + 0.3)  # timer J ends the rest
            assert len(layer) == 0 and layer.lingering == 0

    run(main)


def test_client_non_invite_retransmits_on_timer_e_and_times_out_on_f() -> None:
    async def main() -> None:
        sink = await open_peer()  # receives, never answers
        protocol, layer = await open_transactions(Uas(), port=0, timers=FAST)
        try:
            options = request(sink.port, "OPTIONS", ("127.0.0.1", sink.port), "e-1")
            txn = layer.request(options, ("127.0.0.1", sink.port))
            with pytest.raises(TimeoutError, match="no final response to OPTIONS"):
                await asyncio.wait_for(txn.response, 64 * FAST.t1 + 1)
            got = await sink.drain(0.05)
            times = [t for t, _ in got]
            assert all(m.call_id == "e-1" for _, m in got)
            # 0.05, 0.1, 0.2, 0.2, ... until 64*T1 = 3.2 s: 1 + 17 or so sends.
            assert 15 <= len(times) <= 19 and txn.retransmissions == len(times) - 1
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert gaps[0] >= 0.045 and all(g <= 0.35 for g in gaps)
            assert len(layer) == 0
            with pytest.raises(ValueError, match="Via branch"):
                layer.request(
                    options.without_header("Via").with_header("Via", "SIP/2.0/UDP h:1"),
                    ("127.0.0.1", 9),
                )
        finally:
            sink.close()
            protocol.close()

    run(main)


def test_client_invite_retransmits_on_timer_a_and_times_out_on_b() -> None:
    async def main() -> None:
        sink = await open_peer()
        protocol, layer = await open_transactions(Uas(), port=0, timers=FAST)
        try:
            dest = ("127.0.0.1", sink.port)
            invite = request(sink.port, "INVITE", dest, "a-1", body=sdp_offer("127.0.0.1", 6000))
            txn = layer.request(invite, dest)
            with pytest.raises(TimeoutError, match="no final response to INVITE"):
                await asyncio.wait_for(txn.response, 64 * FAST.t1 + 1)
            times = [t for t, _ in await sink.drain(0.05)]
            # Timer A doubles without the T2 cap: sends at 0, .05, .15, .35, .75, 1.55, 3.15.
            assert len(times) in (6, 7) and txn.retransmissions == len(times) - 1
            gaps = [b - a for a, b in itertools.pairwise(times)]
            # Never early (that is the doubling); late by up to a loaded machine's scheduling delay.
            for gap, want in zip(gaps, [0.05, 0.1, 0.2, 0.4, 0.8, 1.6], strict=False):
                assert want - 0.005 <= gap < 2 * want + 0.15
            assert len(layer) == 0
        finally:
            sink.close()
            protocol.close()

    run(main)


def test_client_invite_rejected_acks_again_when_the_final_is_retransmitted() -> None:
    async def main() -> None:
        server = await serve_uas(Uas(), port=0, timers=FAST)
        protocol, layer = await open_transactions(Uas(), port=0, timers=FAST)
        try:
            acks = drop_first(protocol, b"ACK ", 1)
            rejects = drop_first(server.protocol, b"SIP/2.0 488", 0)
            port = protocol.local_address[1]
            offer = (
                b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                b"m=audio 6000 RTP/AVP 18\r\n"
            )
            invite = SipMessage.request(
                "INVITE",
                f"sip:service@127.0.0.1:{server.address[1]}",
                [
                    ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"),
                    ("From", f"<sip:acd@127.0.0.1:{port}>;tag=c1"),
                    ("To", "<sip:service@127.0.0.1>"),
                    ("Call-ID", "d-1"),
                    ("CSeq", "1 INVITE"),
                    ("Max-Forwards", "70"),
                ],
                offer,
                "application/sdp",
            )
            provisional: list[int] = []
            txn = layer.request(invite, server.address, lambda r: provisional.append(r.status or 0))
            final = await asyncio.wait_for(txn.response, 2)
            assert final.status == 488 and provisional == [100, 180]
            assert txn.state == "completed"
            await asyncio.sleep(4 * FAST.t1)
            # The first ACK was lost: timer G repeated the 488 and the client ACKed again.
            assert len(acks) == 2 and len(rejects) == 2
            await asyncio.sleep(FAST.d + 0.1)  # timer D on the client, I on the server
            assert len(layer) == 0 and len(server.layer) == 0
            assert len(rejects) == 2
        finally:
            server.close()
            protocol.close()

    run(main)


def test_sipp_uac_calls_over_tcp(tmp_path: Path) -> None:
    async def main() -> None:
        server = await serve_uas(Uas(), port=0, timers=FAST, transport="tcp")
        try:
            stat = tmp_path / "tcp.csv"
            args = ("-sn", "uac", "-t", "t1", "-r", "10", "-m", "20")
            assert await run_sipp(server.address, *args, stat=stat) == 0
            assert sipp_totals(stat) == {"ok": 20, "failed": 0, "created": 20}
            uas = server.uas
            assert (uas.stats.answered, uas.stats.ended, uas.dialogs) == (20, 20, {})
            # No retransmission on TCP: completed transactions end at once.
            await asyncio.sleep(0.2)
            assert len(server.layer) == 0
            assert server.protocol.stats.malformed == 0
        finally:
            server.close()

    run(main)


async def read_response(reader: asyncio.StreamReader, buffer: bytearray) -> SipMessage | None:
    """The next framed message from a TCP stream, or None at end of stream."""
    while True:
        message, consumed = SipMessage.parse_stream(bytes(buffer))
        if message is not None:
            del buffer[:consumed]
            return message
        chunk = await asyncio.wait_for(reader.read(65536), 2)
        if not chunk:
            return None
        buffer += chunk


def test_tcp_framing_keepalives_and_a_bad_message_closing_the_connection() -> None:
    async def main() -> None:
        server = await serve_uas(Uas(), port=0, timers=FAST, transport="tcp")
        host, port = server.address
        try:
            reader, writer = await asyncio.open_connection(host, port)
            mine = writer.get_extra_info("sockname")[1]
            buffer = bytearray()

            def options(call_id: str) -> bytes:
                return request(mine, "OPTIONS", (host, port), call_id, transport="TCP").to_bytes()

            writer.write(b"\r\n\r\n")  # RFC 5626 keepalive
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(options("t-1") + options("t-2"))  # two in one segment
            third = options("t-3")
            for part in (third[:10], third[10:200], third[200:]):
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(0.02)
            got = [await read_response(reader, buffer) for _ in range(3)]
            assert [(m.status, m.call_id) for m in got if m] == [
                (200, "t-1"),
                (200, "t-2"),
                (200, "t-3"),
            ]
            assert server.protocol.stats.keepalives == 1
            writer.write(options("t-4").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 BYE"))
            refused = await read_response(reader, buffer)
            assert refused is not None and refused.status == 400
            assert (refused.reason or "").startswith("bad CSeq header")
            assert await read_response(reader, buffer) is None  # closed: framing is lost
            writer.close()
            # Without Content-Length a stream message cannot be framed.
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(options("t-5").replace(b"Content-Length: 0\r\n", b""))
            missing = await read_response(reader, bytearray())
            assert missing is not None and missing.status == 400
            assert "Content-Length" in (missing.reason or "")
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            mine = writer.get_extra_info("sockname")[1]
            writer.write(options("t-6"))
            again = await read_response(reader, bytearray())
            assert again is not None and (again.status, again.call_id) == (200, "t-6")
            writer.close()
            stats = server.protocol.stats
            assert stats.malformed == 2 == stats.rejected and stats.handler_errors == 0
        finally:
            server.close()

    run(main)


def test_idle_tcp_connections_are_closed_and_keepalives_keep_them() -> None:
    async def main() -> None:
        received: list[SipMessage] = []
        server = await open_tcp(lambda m, _: received.append(m), port=0, idle_timeout=1.0)
        host, port = server.local_address
        try:
            loop = asyncio.get_running_loop()
            silent_reader, silent = await asyncio.open_connection(host, port)
            chatty_reader, chatty = await asyncio.open_connection(host, port)
            opened = loop.time()
            for _ in range(15):  # 1.5 s of CRLF keepalives, ten a timeout
                chatty.write(b"\r\n\r\n")
                await chatty.drain()
                await asyncio.sleep(0.1)
            # The silent one is gone (EOF), after the timeout and not long before it.
            assert await asyncio.wait_for(silent_reader.read(1), 5) == b""
            assert loop.time() - opened >= 1.0
            assert server.stats.idle_closed == 1 and len(server.connections) == 1
            assert server.stats.keepalives >= 1  # writes may coalesce into one segment
            # Writes from our side count as activity too.
            (peer,) = server.connections
            for _ in range(15):
                server.send(b"\r\n\r\n", peer)
                await asyncio.sleep(0.1)
            assert server.stats.idle_closed == 1
            assert await asyncio.wait_for(chatty_reader.read(4), 2) == b"\r\n\r\n"
            # Then silence: closed too.
            for _ in range(100):
                if not server.connections:
                    break
                await asyncio.sleep(0.05)
            assert server.stats.idle_closed == 2 and not server.connections
            silent.close()
            chatty.close()
        finally:
            server.close()

    run(main)


def test_tcp_idle_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="idle_timeout must be positive or None, got 0"):
        asyncio.run(open_tcp(lambda m, _: None, port=0, idle_timeout=0))


def test_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SIP transport 'sctp'"):
        asyncio.run(open_transactions(Uas(), port=0, transport="sctp"))


def test_client_invite_waits_past_timer_b_once_it_rings() -> None:
    async def main() -> None:
        server = await serve_uas(Uas(answer_delay=1.6), port=0, timers=FAST)
        quick = Timers(t1=0.02, t2=0.08, t4=0.1, d=0.2)  # timer B = 1.28 s
        protocol, layer = await open_transactions(Uas(), port=0, timers=quick)
        try:
            me = protocol.local_address[1]
            offer = sdp_offer("127.0.0.1", 6000)
            invite = request(me, "INVITE", server.address, "b-1", body=offer)
            txn = layer.request(invite, server.address)
            answer = await asyncio.wait_for(txn.response, 5)
            assert answer.status == 200 and txn.retransmissions == 0
        finally:
            protocol.close()
            server.close()

    run(main)


def test_timers_validate() -> None:
    with pytest.raises(ValueError, match="t1"):
        Timers(t1=0)
    with pytest.raises(ValueError, match="t2"):
        Timers(t1=1.0, t2=0.5)


def test_a_burst_of_queued_datagrams_is_read_in_batches_and_every_one_answered() -> None:
    async def main() -> None:
        async with uas_and_peer(Uas()) as (server, peer):
            protocol = server.protocol
            assert isinstance(protocol, SipUdpProtocol)
            wakeups = [0]
            real = protocol.datagram_received

            def counted(data: bytes, addr: tuple[str | int, ...]) -> None:
                wakeups[0] += 1
                real(data, addr)

            protocol.datagram_received = counted  # type: ignore[method-assign]
            target = server.address
            # All queued in the socket before the loop runs again.
            for i in range(100):
                peer.send(request(peer.port, "OPTIONS", target, f"burst-{i}"), target)
            answers = [await peer.next(5.0) for _ in range(100)]
            assert sorted(a.call_id for a in answers) == sorted(f"burst-{i}" for i in range(100))
            assert {a.status for a in answers} == {200}
            assert protocol.stats.received == 100
            assert wakeups[0] <= 100 // UDP_BATCH + 10  # ~2 wake-ups, not 100

    run(main)
