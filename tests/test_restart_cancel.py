"""A leg ringing when the contact center dies gets a CANCEL from the restarted one (issue 6,
app/restore.py): the dialer's lead is a SIPp UAS on 127.0.0.1 that rings; the center is
dropped after a commit, as in tests/test_campaign_restart.py, and started again on the same
records database and SIP port. A lead that never answers must see the CANCEL (200 to it, 487
to the INVITE, our ACK: SIPp's scenario fails otherwise); one that answers while the center
is down gets an ACK and a BYE; `acdcore serve` SIGKILLed does the same. `Uac.adopt` alone,
against a bare socket: forks, retransmitted answers, the 487's ACK, the orphan forgotten.
Bounded: each wait has a timeout, SIPp its own 30 s."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import pytest
from acdcore import Engine
from acdcore._core import SipMessage
from acdcore.app import ContactCenter, load_config, restore
from acdcore.app.dialer import Dialer
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore
from acdcore.records.store import StoreError
from acdcore.sip.dialog import Leg
from acdcore.sip.transaction import open_transactions
from acdcore.sip.uac import Orphan, OutgoingCall, Uac
from acdcore.sip.uas import Uas
from acdcore.traffic import AgentPhone
from test_campaign_restart import _kill
from test_dialer import campaign_files, lead_sipp, zone_at
from test_serve import CONFIG, center_files
from test_serve_restart import _checkpoint_host, _serve
from test_sip_peers import wait_for
from test_sip_transport import FAST, free_port, run

ONE_ATTEMPT = "max_attempts = 1\nretry = { failed = 0 }"  # the lead is not dialed again


def _files(tmp_path: Path, lead_port: int) -> Path:
    """A campaign of one lead on `lead_port`, the center on a fixed SIP port: the restarted
    center listens where the INVITE's Via said, so the lead's answers reach it."""
    path = campaign_files(tmp_path, [("+12125550100", zone_at(12), lead_port)], extra=ONE_ATTEMPT)
    path.write_text(path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{free_port()}"))
    return path


def _ringing(center: ContactCenter) -> list[OutgoingCall]:
    return [c for c in center.uac.ringing.values() if c.state == "ringing"]


def _dialer(center: ContactCenter) -> Dialer:
    assert center.dialer is not None
    return center.dialer


async def _ring_then_kill(path: Path) -> tuple[str, AgentPhone]:
    """Starts a center, lets its dialer ring the lead, commits and drops it; returns the
    ringing INVITE's Call-ID and the agent's phone (still registered, to close)."""
    first = ContactCenter(load_config(path))
    phone = AgentPhone(await first.start(), "agent1", "secret1", talk_mean=None)
    await phone.start()
    assert await wait_for(lambda: bool(_ringing(first)), 20.0)
    (call,) = _ringing(first)
    await first.durable()  # the checkpoint holds the ringing INVITE
    _kill(first)
    return call.leg.call_id, phone


def _orphan_of(center: ContactCenter, call_id: str) -> Orphan:
    (orphan,) = [o for key, o in center.uac.orphans.items() if key[0] == call_id]
    return orphan


def test_a_lead_ringing_at_the_kill_gets_a_cancel_after_the_restart(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = _files(tmp_path, port)
        lead = lead_sipp(tmp_path, "uas_lead_no_answer", port)
        call_id, phone = await _ring_then_kill(path)
        try:
            second = ContactCenter(load_config(path))
            ((invite, leg),) = second.restart.ringing
            assert (invite.call_id, leg.call_id, leg.remote_tag) == (call_id, call_id, "")
            assert "1 ringing legs to cancel" in second.restart.summary()
            await second.start()
            try:
                # SIPp exits 0 only after CANCEL -> 200, 487 -> our ACK.
                assert await asyncio.wait_for(lead, 25.0) == 0
                orphan = _orphan_of(second, call_id)
                assert (orphan.cancel_status, orphan.final) == (200, 487)
                assert orphan.byes == []  # no dialog: no BYE
                assert _dialer(second).campaign.lead(0)["outcome"] == "failed"
            finally:
                await second.stop()
        finally:
            await phone.close(unregister=False)
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (cdr,) = store.search(Query())
            assert (cdr.outcome, cdr.attributes["lost"]["state"]) == ("lost", "dialing")

    run(main)


def test_a_lead_answering_after_the_kill_gets_an_ack_and_a_bye(tmp_path: Path) -> None:
    """The lead answers 2 s after ringing, while the center is down; the restarted one gets
    the 200's retransmission (no transaction of its own matches it), acknowledges it and
    hangs up: SIPp's scenario passes only on ACK then BYE (after a CANCEL or not)."""

    async def main() -> None:
        port = free_port()
        path = _files(tmp_path, port)
        lead = lead_sipp(tmp_path, "uas_lead_answers_after_kill", port, "-d", "2000")
        call_id, phone = await _ring_then_kill(path)
        try:
            await asyncio.sleep(2.5)  # the lead answers meanwhile, into the dead socket
            second = ContactCenter(load_config(path))
            assert [i.call_id for i, _ in second.restart.ringing] == [call_id]
            await second.start()
            try:
                assert await asyncio.wait_for(lead, 25.0) == 0
                orphan = _orphan_of(second, call_id)
                assert orphan.final == 200
                (bye,) = orphan.byes
                assert (await asyncio.wait_for(bye.response, 5.0)).status == 200
                assert bye.request.cseq == (invite_cseq(second, call_id) + 1, "BYE")
            finally:
                await second.stop()
        finally:
            await phone.close(unregister=False)

    run(main)


def invite_cseq(center: ContactCenter, call_id: str) -> int:
    (invite,) = [i for i, _ in center.restart.ringing if i.call_id == call_id]
    return invite.cseq[0]


def test_saved_ringing_legs_come_back_as_invites_to_cancel_and_broken_ones_are_refused(
    tmp_path: Path,
) -> None:
    """What `save` keeps of a ringing INVITE is what its CANCEL needs (RFC 3261 9.1): the
    rebuilt CANCEL has the INVITE's Request-URI, top Via (its branch), From with its tag, To
    without one, Call-ID, CSeq number and Route. A saved entry that is not one stops the
    restart naming it."""
    config = load_config(center_files(tmp_path, CONFIG))
    via = "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKdead01;rport"
    saved = [
        "c-9@x", "sip:+331@10.0.0.9:5072", via, "<sip:acd@127.0.0.1:5080>;tag=ours",
        "<sip:+331@10.0.0.9:5072>", 3, ["<sip:10.0.0.7:5070;lr>"], ["10.0.0.7", 5070], "UDP",
    ]  # fmt: skip

    def resume(name: str, ringing: list[object]) -> restore.Restart:
        with SqliteStore(tmp_path / f"{name}.db") as store:
            writer = RecordWriter(store)
            try:
                rec = CallRecorder(Engine(), writer, epoch=1_800_000_000.0)
                rec.add_queue("sales")
                rec.host["center"] = {"ringing": ringing}
                rec.commit().wait(10)
                return restore.resume(store, writer, config)
            finally:
                writer.close()

    ((invite, leg),) = resume("good", [saved]).ringing
    cancel = invite.cancel()
    assert (cancel.method, cancel.request_uri, cancel.call_id) == (
        "CANCEL", "sip:+331@10.0.0.9:5072", "c-9@x",
    )  # fmt: skip
    assert cancel.vias()[0].text == via and cancel.cseq == (3, "CANCEL")
    assert (cancel.from_.tag, cancel.to.tag) == ("ours", None)
    assert cancel.header_lines("Route") == ["<sip:10.0.0.7:5070;lr>"]
    assert (leg.local_tag, leg.remote_uri, leg.dest, leg.cseq) == (
        "ours", "sip:+331@10.0.0.9:5072", ("10.0.0.7", 5070), 3,
    )  # fmt: skip
    assert restore.bye_dest(leg, reliable=True) == ("10.0.0.7", 5070)  # the route, over TCP

    for n, (broken, named) in enumerate(
        (
            (saved[:4], r"ValueError.*c-9@x"),
            ([*saved[:2], via.replace(";branch=z9hG4bKdead01", ""), *saved[3:]], "Via branch"),
            ([*saved[:5], "three", *saved[6:]], r"ValueError.*three"),
        )
    ):
        with pytest.raises(StoreError, match=rf"ringing legs: .*{named}"):
            resume(f"broken{n}", [broken])


def test_acdcore_serve_sigkilled_while_a_lead_rings_cancels_it_when_started_again(
    tmp_path: Path,
) -> None:
    """The same through the real process: `acdcore serve` SIGKILLed once its once-a-second
    commit holds the ringing INVITE; started again, its CANCEL reaches the SIPp lead (which
    passes only on CANCEL -> 200, 487 -> ACK), and it stops cleanly."""

    async def main() -> None:
        port = free_port()
        path = _files(tmp_path, port)
        lead = lead_sipp(tmp_path, "uas_lead_no_answer", port)
        server, _ = await _serve(path)
        phone = AgentPhone(load_config(path).sip, "agent1", "secret1", talk_mean=None)
        try:
            await phone.start()

            def saved_ringing() -> bool:
                found = _checkpoint_host(tmp_path / "records.db")
                ringing = [] if found is None else found[1].get("ringing", [])
                return isinstance(ringing, list) and len(ringing) == 1

            assert await wait_for(saved_ringing, 20.0)
            server.send_signal(signal.SIGKILL)
            await server.wait()
            assert not lead.done()  # still ringing: nobody cancelled it yet
            server, _ = await _serve(path)
            assert await asyncio.wait_for(lead, 25.0) == 0
            server.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(server.communicate(), 30.0)
            assert server.returncode == 0, err.decode()
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
            await phone.close(unregister=False)

    run(main)


def test_an_orphan_acks_every_answer_ends_each_answered_fork_once_and_cancels_a_ringing_one() -> (
    None
):
    """`Uac.adopt` on a real UDP transaction layer, a bare socket on 127.0.0.1 as the callee.
    An answered orphan: each 2xx gets an ACK (CSeq of the INVITE, new branch), the first copy
    of each fork's 2xx a BYE (the next CSeq), a retransmission only the ACK again; no CANCEL.
    A ringing one: its CANCEL repeats the INVITE's branch and CSeq number, and the 487 gets
    the hop-by-hop ACK on that branch. Both are forgotten 64*T1 later."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        there = peer.getsockname()
        endpoint, layer = await open_transactions(Uas(), port=0, timers=FAST)
        here = endpoint.local_address
        uac = Uac(layer, here)

        def orphan(call_id: str) -> tuple[Orphan, SipMessage]:
            target = f"sip:+1212@127.0.0.1:{there[1]}"
            leg = Leg(call_id, f"ours-{call_id}", "", "sip:acd@127.0.0.1", target, target, there,
                      here, 7)  # fmt: skip
            invite = leg.request("INVITE", cseq=7)
            return uac.adopt(invite, leg), invite

        async def got(n: int) -> list[SipMessage]:
            out = []
            for _ in range(n):
                data = await asyncio.wait_for(loop.sock_recv(peer, 65536), 2.0)
                out.append(SipMessage.parse(data))
            return out

        def answer(message: SipMessage, status: int, tag: str) -> None:
            contact = [("Contact", f"<sip:+1212@127.0.0.1:{there[1]}>")]
            peer.sendto(message.reply(status, to_tag=tag, headers=contact).to_bytes(), here)

        try:
            answered, invite = orphan("answered")
            answer(invite, 200, "a")
            ack, bye = await got(2)
            assert (ack.method, ack.cseq, ack.to.tag) == ("ACK", (7, "ACK"), "a")
            assert ack.vias()[0].branch != invite.vias()[0].branch  # its own transaction
            assert (bye.method, bye.cseq, bye.to.tag, bye.from_.tag) == (
                "BYE", (8, "BYE"), "a", "ours-answered",
            )  # fmt: skip
            peer.sendto(bye.reply(200).to_bytes(), here)
            answer(invite, 200, "a")  # a retransmission: the ACK again, no second BYE
            (again,) = await got(1)
            assert again.to_bytes() == ack.to_bytes()
            answer(invite, 200, "b")  # another fork answered: its own ACK and BYE
            ack_b, bye_b = await got(2)
            assert (ack_b.method, ack_b.to.tag, bye_b.method, bye_b.to.tag) == (
                "ACK", "b", "BYE", "b",
            )  # fmt: skip
            peer.sendto(bye_b.reply(200).to_bytes(), here)
            assert answered.cancel(there) is None and answered.final == 200
            assert [(await b.response).status for b in answered.byes] == [200, 200]

            ringing, invite2 = orphan("ringing")
            txn = ringing.cancel(there)
            assert txn is not None
            (cancel,) = await got(1)
            assert (cancel.method, cancel.cseq, cancel.call_id) == (
                "CANCEL",
                (7, "CANCEL"),
                "ringing",
            )
            assert cancel.vias()[0].branch == invite2.vias()[0].branch
            assert cancel.to.tag is None and cancel.from_.tag == "ours-ringing"
            peer.sendto(cancel.reply(200, to_tag="r").to_bytes(), here)
            answer(invite2, 487, "r")
            (ack487,) = await got(1)
            assert (ack487.method, ack487.cseq, ack487.to.tag) == ("ACK", (7, "ACK"), "r")
            assert ack487.vias()[0].branch == invite2.vias()[0].branch  # hop-by-hop (17.1.1.3)
            assert (ringing.cancel_status, ringing.final, ringing.byes) == (200, 487, [])

            await asyncio.sleep(64 * FAST.t1 + 0.2)
            assert uac.orphans == {}  # forgotten: a late answer is a stray like any other
        finally:
            endpoint.close()
            peer.close()

    run(main)
