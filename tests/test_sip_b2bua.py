"""The UAC core and the B2BUA with in-process peers on 127.0.0.1: what real phones cannot be
made to do on cue (answer 401, 486, never answer, retransmit a 2xx), the guards (allowed
addresses, 503 beyond max_setups) and bad INFO bodies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acdcore.sip import SipMessage, sdp_offer
from acdcore.sip.b2bua import B2bua, B2buaServer, serve_b2bua
from acdcore.sip.digest import DigestServer, Verdict
from acdcore.sip.registrar import Registrar
from acdcore.sip.transaction import new_branch, open_transactions
from acdcore.sip.transport import SipEndpoint, SipTcpServer
from acdcore.sip.uac import CallFailed, Credentials, Uac
from acdcore.sip.uas import Uas, serve_uas
from test_sip_registrar import Phone
from test_sip_transport import (
    FAST,
    Peer,
    free_port,
    open_peer,
    request,
    run,
    run_sipp,
    sipp_totals,
)

AOR = "sip:agent1@127.0.0.1"
OFFER = sdp_offer("127.0.0.1", 40000)


@contextlib.asynccontextmanager
async def setup(**options: object) -> AsyncIterator[tuple[B2buaServer, Peer, Peer]]:
    """A B2BUA, an in-process agent phone registered to it, and an in-process caller."""
    reg = Registrar({"agent1": "secret"}, min_expires=1)
    b2bua = B2bua(reg, route=lambda r: AOR, **options)  # type: ignore[arg-type]
    server = await serve_b2bua(b2bua, port=0, timers=FAST)
    agent, caller = await open_peer(), await open_peer()
    try:
        phone = Phone(agent, server.address)
        ok = await phone.send(contact=f"<sip:agent1@127.0.0.1:{agent.port}>", expires=60)
        assert ok.status == 200
        yield server, agent, caller
    finally:
        reg.close()
        agent.close()
        caller.close()
        server.close()


@contextlib.asynccontextmanager
async def lone_b2bua(**options: object) -> AsyncIterator[tuple[B2buaServer, Peer]]:
    """A B2BUA with no agent registered, and an in-process caller."""
    server = await serve_b2bua(B2bua(Registrar({}), **options), port=0, timers=FAST)  # type: ignore[arg-type]
    caller = await open_peer()
    try:
        yield server, caller
    finally:
        caller.close()
        server.close()


@contextlib.asynccontextmanager
async def uac_and_peer() -> AsyncIterator[tuple[Uac, SipEndpoint, Peer]]:
    """A UAC on its own transaction layer and an in-process callee."""
    peer = await open_peer()
    endpoint, layer = await open_transactions(Uas(), port=0, timers=FAST)
    try:
        yield Uac(layer, endpoint.local_address), endpoint, peer
    finally:
        peer.close()
        endpoint.close()


def agent_request(invite: SipMessage, method: str, cseq: int, body: bytes = b"") -> SipMessage:
    """A request from the agent in the dialog the B2BUA's `invite` created (agent tag ag1)."""
    port = invite.to.uri.port
    return SipMessage.request(
        method,
        invite.contacts()[0].uri.text,
        [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"),
            ("From", f"{invite.to.text};tag=ag1"),
            ("To", invite.from_.text),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<{invite.to.uri.text}>"),
        ],
        body,
        "application/sdp" if body else None,
    )


def invite(caller: Peer, server: B2buaServer, call_id: str) -> SipMessage:
    message = request(caller.port, "INVITE", server.address, call_id, body=OFFER)
    caller.send(message, server.address)
    return message


async def next_request(peer: Peer, method: str) -> SipMessage:
    while True:
        message = await peer.next()
        if message.method == method:
            return message


async def next_status(peer: Peer, status: int) -> SipMessage:
    while True:
        message = await peer.next()
        if message.status == status:
            return message


async def next_final(peer: Peer) -> SipMessage:
    while True:
        message = await peer.next()
        if (message.status or 0) >= 200:
            return message


def reply(peer: Peer, server: B2buaServer, req: SipMessage, status: int, **kw: object) -> None:
    peer.send(req.reply(status, **kw), server.address)  # type: ignore[arg-type]


def test_agent_busy_gives_the_caller_486_and_the_agent_leg_is_acked() -> None:
    async def main() -> None:
        async with setup() as (server, agent, caller):
            invite(caller, server, "busy-1")
            out = await next_request(agent, "INVITE")
            assert out.body == OFFER  # SDP passed through
            reply(agent, server, out, 486, to_tag="ag1")
            assert (await next_request(agent, "ACK")).cseq == (out.cseq[0], "ACK")
            final = await next_final(caller)
            assert final.status == 486 and "486" in (final.reason or "")
            assert server.b2bua.stats.failed == 1

    run(main)


def test_ring_timeout_cancels_the_agent_and_the_caller_gets_480() -> None:
    async def main() -> None:
        async with setup(ring_timeout=0.3) as (server, agent, caller):
            invite(caller, server, "late-1")
            out = await next_request(agent, "INVITE")
            reply(agent, server, out, 180, to_tag="ag1")
            assert (await next_status(caller, 180)).status == 180
            cancel = await next_request(agent, "CANCEL")
            reply(agent, server, cancel, 200)
            reply(agent, server, out, 487, to_tag="ag1")
            final = await next_final(caller)
            assert (final.status, final.reason) == (480, "Agent did not answer")

    run(main)


def test_caller_cancel_cancels_the_agent_leg() -> None:
    async def main() -> None:
        async with setup() as (server, agent, caller):
            first = invite(caller, server, "cancel-1")
            out = await next_request(agent, "INVITE")
            reply(agent, server, out, 180, to_tag="ag1")
            await next_status(caller, 180)
            caller.send(first.cancel(), server.address)
            cancel = await next_request(agent, "CANCEL")
            assert cancel.vias()[0].branch == out.vias()[0].branch
            statuses = {(await caller.next()).status for _ in range(2)}
            assert statuses == {200, 487}
            assert server.b2bua.stats.cancelled == 1

    run(main)


def test_no_registered_agent_gets_480_naming_the_aor() -> None:
    async def main() -> None:
        async with lone_b2bua() as (server, caller):
            invite(caller, server, "nobody-1")
            final = await next_final(caller)
            assert final.status == 480 and "sip:service@127.0.0.1" in (final.reason or "")

    run(main)


def test_overload_503_for_new_invites_while_a_setup_in_progress_still_works() -> None:
    async def main() -> None:
        async with setup(max_setups=1, retry_after=7) as (server, agent, caller):
            first = invite(caller, server, "load-1")
            out = await next_request(agent, "INVITE")
            invite(caller, server, "load-2")
            busy = await next_final(caller)
            assert (busy.status, busy.call_id, busy.header("Retry-After")) == (503, "load-2", "7")
            assert server.b2bua.stats.overloaded == 1
            # The call in progress is still served: the agent answers, the caller gets 200.
            reply(agent, server, out, 200, to_tag="ag1", body=OFFER, content_type="application/sdp")
            ok = await next_final(caller)
            assert (ok.status, ok.call_id, ok.body) == (200, "load-1", OFFER)
            caller.send(first.ack_for(ok), server.address)
            # With the setup done a new INVITE is accepted again (100 Trying, then routed).
            invite(caller, server, "load-3")
            assert (await caller.next()).status == 100

    run(main)


def test_allowed_addresses() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="bad allowed address 'nowhere'"):
            B2bua(Registrar({}), allowed=["nowhere"])
        async with lone_b2bua(allowed=["10.0.0.0/8"]) as (server, caller):
            invite(caller, server, "outsider-1")
            refused = await next_final(caller)
            assert (refused.status, refused.reason) == (403, "Forbidden (address not allowed)")
            assert server.b2bua.stats.calls == 0

    run(main)


def test_bridged_call_info_bodies_and_bye_from_the_agent() -> None:
    async def main() -> None:
        digits: list[str] = []
        async with setup(on_dtmf=lambda c, d: digits.append(d)) as (server, agent, caller):
            first = invite(caller, server, "info-1")
            out = await next_request(agent, "INVITE")
            agent_contact = [("Contact", f"<sip:agent1@127.0.0.1:{agent.port}>")]
            reply(agent, server, out, 200, to_tag="ag1", headers=agent_contact, body=OFFER,
                  content_type="application/sdp")  # fmt: skip
            assert (await next_request(agent, "ACK")).header("To") is not None
            ok = await next_final(caller)
            caller.send(first.ack_for(ok), server.address)
            tag = ok.to.tag
            for n, (body, kind, want) in enumerate(
                [
                    (b"Signal=5\r\nDuration=100\r\n", "application/dtmf-relay", 200),
                    (b"*", "application/dtmf", 200),
                    (b"Signal=Z\r\n", "application/dtmf-relay", 400),
                    (b"Duration=100\r\n", "application/dtmf-relay", 400),
                    (b"5", "text/plain", 415),
                ],
                start=2,
            ):
                info = request(caller.port, "INFO", server.address, "info-1", cseq=n, to_tag=tag)
                info = SipMessage.request("INFO", info.request_uri or "", info.headers, body, kind)
                caller.send(info, server.address)
                answer = await next_final(caller)
                assert answer.status == want, (body, answer.reason)
            assert digits == ["5", "*"]
            # The agent puts the caller on hold: the re-INVITE is relayed, the answer back.
            hold = OFFER.replace(b"a=sendrecv", b"a=sendonly")
            agent.send(agent_request(out, "INVITE", 2, body=hold), server.address)
            relayed = await next_request(caller, "INVITE")
            assert (relayed.body, relayed.to.tag, relayed.from_.tag) == (hold, "peer1", tag)
            held = hold.replace(b"a=sendonly", b"a=recvonly")
            reply(caller, server, relayed, 200, body=held, content_type="application/sdp")
            assert (await next_request(caller, "ACK")).cseq == (relayed.cseq[0], "ACK")
            back = await next_final(agent)
            assert (back.status, back.body, back.cseq) == (200, held, (2, "INVITE"))
            # The agent hangs up: 200 to it, BYE to the caller in the caller's dialog.
            agent.send(agent_request(out, "BYE", 3), server.address)
            assert (await next_final(agent)).status == 200
            their_bye = await next_request(caller, "BYE")
            assert (their_bye.call_id, their_bye.from_.tag, their_bye.to.tag) == (
                "info-1",
                tag,
                "peer1",
            )
            reply(caller, server, their_bye, 200)
            assert server.b2bua.calls == {}

    run(main)


def test_uac_answers_a_401_with_digest_and_acks_the_2xx_per_13_2_2_4() -> None:
    async def main() -> None:
        digest = DigestServer("pbx", {"acd": "pw"})
        async with uac_and_peer() as (uac, endpoint, callee):
            call = uac.invite(
                f"sip:agent@127.0.0.1:{callee.port}",
                ("127.0.0.1", callee.port),
                OFFER,
                credentials=Credentials("acd", "pw"),
            )
            first = await next_request(callee, "INVITE")
            challenge = [("WWW-Authenticate", v) for v in digest.challenge(0.0)]
            callee.send(first.reply(401, to_tag="c1", headers=challenge), endpoint.local_address)
            assert (await next_request(callee, "ACK")).cseq == (first.cseq[0], "ACK")
            second = await next_request(callee, "INVITE")
            assert second.cseq[0] == first.cseq[0] + 1 and second.call_id == first.call_id
            assert digest.check(second, 1.0).verdict is Verdict.OK
            contact = [("Contact", f"<sip:agent@127.0.0.1:{callee.port}>")]
            ok = second.reply(200, to_tag="c2", headers=contact, body=OFFER,
                              content_type="application/sdp")  # fmt: skip
            callee.send(ok, endpoint.local_address)
            assert (await asyncio.wait_for(call.answered, 2.0)).status == 200
            ack = await next_request(callee, "ACK")
            # 13.2.2.4: the INVITE's CSeq number, a new branch, the To tag, its credentials.
            assert ack.cseq == (second.cseq[0], "ACK")
            assert ack.vias()[0].branch != second.vias()[0].branch
            assert ack.to.tag == "c2" and ack.header("Authorization") is not None
            assert ack.request_uri == f"sip:agent@127.0.0.1:{callee.port}"
            # A retransmitted 2xx gets the same ACK again.
            callee.send(ok, endpoint.local_address)
            again = await next_request(callee, "ACK")
            assert again.to_bytes() == ack.to_bytes()
            # BYE in the dialog, answered.
            bye_task = asyncio.ensure_future(call.bye())
            bye = await next_request(callee, "BYE")
            assert bye.cseq[0] > second.cseq[0] and bye.to.tag == "c2"
            callee.send(bye.reply(200), endpoint.local_address)
            await asyncio.wait_for(bye_task, 2.0)
            assert call.ended.result() == "bye-sent" and uac.calls == {}

    run(main)


def test_uac_timeout_and_rejection_are_call_failed() -> None:
    async def main() -> None:
        async with uac_and_peer() as (uac, endpoint, silent):
            call = uac.invite("sip:x@127.0.0.1", ("127.0.0.1", silent.port), OFFER)
            with pytest.raises(CallFailed) as info:
                await asyncio.wait_for(call.answered, 10.0)
            assert info.value.status == 408 and call.state == "failed"
            # A 401 without credentials to answer it is the final answer.
            call = uac.invite("sip:x@127.0.0.1", ("127.0.0.1", silent.port), OFFER)
            got = await next_request(silent, "INVITE")
            while got.cseq[0] != 1 or got.call_id != call.leg.call_id:
                got = await next_request(silent, "INVITE")
            silent.send(got.reply(401, to_tag="t"), endpoint.local_address)
            with pytest.raises(CallFailed, match="401"):
                await asyncio.wait_for(call.answered, 2.0)

    run(main)


def test_uac_in_dialog_requests_follow_the_record_route_set_12_1_2() -> None:
    async def main() -> None:
        async with uac_and_peer() as (uac, endpoint, callee):
            target = f"sip:agent@127.0.0.1:{callee.port}"
            contact = [("Contact", f"<{target}>")]
            # Two loose routers: the 2xx lists the one nearest the callee first.
            call = uac.invite(target, ("127.0.0.1", callee.port), OFFER)
            first = await next_request(callee, "INVITE")
            assert first.header("Route") is None
            rr = [("Record-Route", "<sip:p2@127.0.0.1:5999;lr>, <sip:p1@127.0.0.1:5998;lr>")]
            ok = first.reply(200, to_tag="r1", headers=contact + rr, body=OFFER,
                             content_type="application/sdp")  # fmt: skip
            callee.send(ok, endpoint.local_address)
            await asyncio.wait_for(call.answered, 2.0)
            ack = await next_request(callee, "ACK")
            routes = ["<sip:p1@127.0.0.1:5998;lr>", "<sip:p2@127.0.0.1:5999;lr>"]
            assert ack.header_lines("Route") == routes and ack.request_uri == target
            bye_task = asyncio.ensure_future(call.bye())
            bye = await next_request(callee, "BYE")
            assert bye.header_lines("Route") == routes and bye.request_uri == target
            callee.send(bye.reply(200), endpoint.local_address)
            await asyncio.wait_for(bye_task, 2.0)
            # A strict router (no ;lr) becomes the Request-URI, the target the last Route.
            call = uac.invite(target, ("127.0.0.1", callee.port), OFFER)
            second = await next_request(callee, "INVITE")
            while second.call_id != call.leg.call_id:
                second = await next_request(callee, "INVITE")
            strict = [("Record-Route", "<sip:p1@127.0.0.1:5998>")]
            ok = second.reply(200, to_tag="r2", headers=contact + strict, body=OFFER,
                              content_type="application/sdp")  # fmt: skip
            callee.send(ok, endpoint.local_address)
            await asyncio.wait_for(call.answered, 2.0)
            ack = await next_request(callee, "ACK")
            while ack.call_id != call.leg.call_id:
                ack = await next_request(callee, "ACK")
            assert ack.request_uri == "sip:p1@127.0.0.1:5998"
            assert ack.header_lines("Route") == [f"<{target}>"]

    run(main)


async def answer_first(agent: Peer, server: B2buaServer, answered: int) -> None:
    """The agent phone: answers its first `answered` INVITEs, only rings for the rest;
    answers BYE, and CANCEL with 200 and 487 (the B2BUA's ring timeout)."""
    invites: dict[str, SipMessage] = {}
    while True:
        message = await agent.next(60.0)
        if message.method == "INVITE":
            invites[message.call_id] = message
            if len(invites) <= answered:
                reply(agent, server, message, 200, to_tag="ag1", body=OFFER,
                      content_type="application/sdp")  # fmt: skip
            else:
                reply(agent, server, message, 180, to_tag="ag1")
        elif message.method in ("BYE", "CANCEL"):
            reply(agent, server, message, 200)
            ringing = invites.get(message.call_id)
            if message.method == "CANCEL" and ringing is not None:
                reply(agent, server, ringing, 487, to_tag="ag1")


def test_sipp_flood_beyond_max_setups_gets_503_while_established_calls_go_on(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with setup(max_setups=2, retry_after=3, ring_timeout=3.0) as (server, agent, _):
            # Every 503 the B2BUA sends, read off its own socket.
            refused: dict[str, str | None] = {}
            real_send = server.protocol.send

            def spy(data: bytes, addr: tuple[str, int]) -> None:
                if data.startswith(b"SIP/2.0 503"):
                    busy = SipMessage.parse(data)
                    refused[busy.call_id] = busy.header("Retry-After")
                real_send(data, addr)

            server.protocol.send = spy  # type: ignore[method-assign]
            phone = asyncio.ensure_future(answer_first(agent, server, answered=2))
            stat = tmp_path / "flood.csv"
            try:
                # 30 calls at 20/s: 2 answered and held 1 s (their BYE comes mid-flood),
                # 2 left ringing hold both setup slots, so every later INVITE is refused.
                await run_sipp(
                    server.address, "-sn", "uac", "-s", "agent1", "-r", "20", "-m", "30",
                    "-d", "1000", stat=stat,
                )  # fmt: skip
            finally:
                phone.cancel()
            stats = server.b2bua.stats
            assert sipp_totals(stat) == {"ok": 2, "failed": 28, "created": 30}
            assert (stats.answered, stats.ended) == (2, 2)
            assert stats.overloaded >= 20 and len(refused) == stats.overloaded
            assert set(refused.values()) == {"3"}
            assert server.b2bua.calls == {}

    run(main)


def test_uac_calls_over_tcp_to_a_tcp_uas_and_hangs_up() -> None:
    async def main() -> None:
        callee = Uas()
        server = await serve_uas(callee, port=0, timers=FAST, transport="tcp")
        endpoint, layer = await open_transactions(Uas(), port=0, timers=FAST, transport="tcp")
        try:
            uac = Uac(layer, endpoint.local_address)
            host, port = server.address
            call = uac.invite(f"sip:agent@{host}:{port};transport=tcp", server.address, OFFER)
            ok = await asyncio.wait_for(call.answered, 5.0)
            assert ok.status == 200 and ok.vias()[0].transport == "TCP"
            assert ok.contacts()[0].uri.text.endswith(";transport=tcp")
            for _ in range(100):  # the ACK confirms the callee's dialog
                if [d.state for d in callee.dialogs.values()] == ["confirmed"]:
                    break
                await asyncio.sleep(0.02)
            assert [d.state for d in callee.dialogs.values()] == ["confirmed"]
            await asyncio.wait_for(call.bye(), 5.0)
            assert call.ended.result() == "bye-sent"
            assert callee.stats.ended == 1 and callee.dialogs == {}
            # One connection carried the whole dialog; nothing was dropped.
            # INVITE, ACK, BYE (and an ACK again if a loaded machine let the 2xx be resent).
            assert endpoint.stats.dropped == 0 and endpoint.stats.sent >= 3
            assert isinstance(endpoint, SipTcpServer)
            assert list(endpoint.connections) == [server.address]
        finally:
            endpoint.close()
            server.close()

    run(main)


def test_uac_over_tcp_to_nobody_fails_with_408() -> None:
    async def main() -> None:
        endpoint, layer = await open_transactions(Uas(), port=0, timers=FAST, transport="tcp")
        try:
            uac = Uac(layer, endpoint.local_address)
            call = uac.invite("sip:x@127.0.0.1", ("127.0.0.1", free_port()), OFFER)
            with pytest.raises(CallFailed) as info:
                await asyncio.wait_for(call.answered, 10.0)
            assert info.value.status == 408 and endpoint.stats.dropped == 1
        finally:
            endpoint.close()

    run(main)
