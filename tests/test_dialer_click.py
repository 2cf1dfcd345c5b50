"""Click-to-dial in the contact-center app (app/clicktodial.py) over real SIP on 127.0.0.1: an
`AgentPhone` registered as an agent dials a lead's number at the server, answering its digest
challenge; SIPp UAS processes are the leads. An answered lead is bridged to the agent (media
both ways, music while it rang), a DNC or out-of-hours number is refused with 403 naming the
rule and nothing is dialed, an unauthenticated INVITE gets 407 and nothing is dialed, a busy
lead ends the agent's INVITE with 486. Bounded in time; without SIPp these fail in CI and skip
elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acdcore._core import SipMessage
from acdcore.app import ContactCenter, load_config
from acdcore.app.clicktodial import ClickToDial
from acdcore.app.dialer import Dialer
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from acdcore.records.store import StoreError
from acdcore.sip.uac import CallFailed
from acdcore.traffic import AgentPhone
from test_dialer import (
    campaign_files,
    dialer,
    lead_sipp,
    quiet_socket,
    records,
    serving,
    zone_at,
)  # fmt: skip
from test_serve import tone
from test_serve_restart import _serve
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import free_port, run, sipp_totals

CLICK = 'mode = "click-to-dial"'


@contextlib.asynccontextmanager
async def one_lead(
    directory: Path, scenario: str, *args: str, seed: int
) -> AsyncIterator[tuple[ContactCenter, Dialer, AgentPhone, asyncio.Future[int]]]:
    """The center in click-to-dial mode with one lead, +12125550100, that the SIPp `scenario`
    plays, and agent1's phone registered (ann logged in, ready); all closed after."""
    port = free_port()
    path = campaign_files(directory, [("+1 212 555 0100", zone_at(12), port)], extra=CLICK)
    async with serving(path) as center:
        lead = lead_sipp(directory, scenario, port, *args)
        phone = AgentPhone(center.address, "agent1", "secret1", seed=seed)
        await phone.start()
        try:
            yield center, dialer(center), phone, lead
        finally:
            await phone.close()


def test_an_agent_dials_a_lead_and_talks_to_it(tmp_path: Path) -> None:
    async def main() -> None:
        sipp = ("-rtp_echo", "-d", "1500")
        async with one_lead(tmp_path, "uas_lead_rings_answers", *sipp, seed=1) as (
            center, d, phone, lead,
        ):  # fmt: skip
            await asyncio.sleep(1.0)  # ticking with a ready agent: click-to-dial places nothing
            assert d.campaign.stats()["dials"] == 0 and d.stats.placed == 0
            dialing = asyncio.ensure_future(phone.dial("+12125550100", talk=3.0))
            assert await wait_for(lambda: d.stats.placed == 1, 10.0)
            # Out of routing while its lead rings: the engine has it on the lead's call.
            agent = center.engine.agent("ann")
            assert agent.state == "busy" and agent.active_calls == ["spring:0:click-1"]
            call = await asyncio.wait_for(dialing, 20.0)
            assert await phone.wait_until(lambda: call.ended_at is not None, 20.0)
            assert await wait_for(lambda: d.stats.connected == 1 and not d._live, 10.0)
            assert center.engine.agent("ann").state in ("wrap-up", "available")
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert sipp_totals(tmp_path / "uas_lead_rings_answers.csv")["ok"] == 1
            assert call.ended_by == "agent"
            # Music while the lead rang (1.5 s: about 75 packets of 20 ms), then the agent's
            # tone went to the lead, SIPp echoed it, and it came back to the agent.
            assert call.early_rtp > 30
            assert call.rtp_sent > 50 and call.rtp_received - call.early_rtp > 50
            assert center.stats.relayed > 100
            st = d.campaign.stats()
            assert (st["dials"], st["connects"], st["abandoned"]) == (1, 1, 0)
            assert d.campaign.lead(0)["state"] == "done"
            assert d.campaign.lead(0)["attempts"] == 1
            assert d.clicks is not None and d.clicks.stats.dials == 1
            assert "mode=click-to-dial dials=1 connects=1" in d.lines()[0]
            assert d.lines()[0].endswith(" agent_dials=1")
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent, cdr.queue) == ("answered", "ann", "sales")  # type: ignore[attr-defined]
        assert cdr.call_id == "spring:0:click-1"  # type: ignore[attr-defined]
        assert cdr.called == "+12125550100" and cdr.caller == "+15550001111"  # type: ignore[attr-defined]
        assert cdr.attributes == {  # type: ignore[attr-defined]
            "direction": "outbound", "campaign": "spring", "lead": 0,
            "lead_outcome": "click-to-dial",
        }  # fmt: skip
        # From the agent's dial: 1.5 s of ringing and about 3 s of talk.
        assert cdr.talk is not None and 3.5 < cdr.talk < 10.0  # type: ignore[attr-defined]
        assert cdr.disposition == "resolved"  # type: ignore[attr-defined]

    run(main)


def test_refused_and_unauthenticated_dials_dial_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        nobody = free_port()
        leads = [
            ("+12125550101", zone_at(12), nobody),  # on the do-not-call list
            ("+12125550102", zone_at(3), nobody),  # 03:00 where the lead lives
            ("+12125550103", zone_at(12), nobody),  # allowed, but only to an agent
        ]
        path = campaign_files(tmp_path, leads, extra=CLICK, dnc="+1 212 555 0101")
        watch = quiet_socket(nobody)
        try:
            async with serving(path) as center:
                d = dialer(center)
                phone = AgentPhone(center.address, "agent1", "secret1", seed=2)
                stranger = AgentPhone(center.address, "mallory", "guess", seed=3)
                await phone.start(register=False)
                await stranger.start(register=False)
                try:

                    async def refused(p: AgentPhone, number: str, **kw: bool) -> CallFailed:
                        with pytest.raises(CallFailed) as e:
                            await asyncio.wait_for(p.dial(number, **kw), 10.0)
                        return e.value

                    e = await refused(phone, "+12125550103")  # the right password, no login
                    assert (e.status, e.reason) == (403, "agent ann is not logged in")
                    await phone.register()
                    sb = center.sb
                    sb.apply(center.engine.pause(sb.now(), "ann"))  # on a break
                    e = await refused(phone, "+12125550103")
                    assert (e.status, e.reason) == (486, "agent ann is paused")
                    sb.apply(center.engine.unpause(sb.now(), "ann"))
                    e = await refused(phone, "+12125550101")
                    assert (e.status, e.reason) == (403, "do-not-call")
                    e = await refused(phone, "+12125550102")
                    assert (e.status, e.reason) == (403, "calling-hours")
                    e = await refused(phone, "+12125550199")
                    assert e.status == 404 and "not a lead of campaign spring" in e.reason
                    e = await refused(phone, "+12125550103", authenticate=False)
                    assert e.status == 407  # no credentials: challenged, nothing more
                    assert phone.calls == []
                    # A stranger's INVITE to a number (a carrier's inbound call, say) is a
                    # caller's: the flow answers it, and nothing is dialed.
                    call = await asyncio.wait_for(stranger.dial("+12125550103", talk=0.3), 10.0)
                    assert stranger.calls == [call]
                    assert await wait_for(lambda: center.stats.calls == 1, 10.0)
                    assert center.engine.agent("ann").state == "available"
                finally:
                    await phone.close()
                    await stranger.close(unregister=False)
                assert d.stats.placed == 0 and d.campaign.stats()["dials"] == 0
                assert d.campaign.lead(0)["refusal"] == "do-not-call"
                assert d.campaign.lead(0)["state"] == "done"
                assert d.campaign.lead(1)["refusal"] == "calling-hours"
                assert d.campaign.lead(1)["attempts"] == 0
                assert d.campaign.lead(2)["attempts"] == 0
                assert d.campaign.stats()["refused"]["do-not-call"] == 1
            with pytest.raises(BlockingIOError):
                watch.recv(2048)  # nothing was ever sent to the leads' address
        finally:
            watch.close()
        # The stranger's call only, ended in the flow; no dial has a record.
        assert [r.called for r in records(tmp_path)] == ["+12125550103"]  # type: ignore[attr-defined]

    run(main)


def test_a_busy_lead_ends_the_agents_call_with_486(tmp_path: Path) -> None:
    async def main() -> None:
        async with one_lead(tmp_path, "uas_lead_busy", seed=4) as (center, d, phone, lead):
            with pytest.raises(CallFailed) as e:
                await asyncio.wait_for(phone.dial("+12125550100"), 20.0)
            assert (e.value.status, e.value.reason) == (486, "busy")
            assert await wait_for(lambda: not d._live and not d._tasks, 10.0)
            assert center.engine.agent("ann").state in ("wrap-up", "available")
            assert await asyncio.wait_for(lead, 30.0) == 0
            st = d.campaign.stats()
            assert (st["dials"], st["busy"], st["connects"]) == (1, 1, 0)
            info = d.campaign.lead(0)
            assert (info["outcome"], info["attempts"]) == ("busy", 1)
            assert info["state"] == "retry-scheduled"
            assert phone.calls == []
        cdrs = {r.call_id: r for r in records(tmp_path)}  # type: ignore[attr-defined]
        assert set(cdrs) == {"spring:0:click-1", "spring:0:1"}
        agent_cdr, dial_cdr = cdrs["spring:0:click-1"], cdrs["spring:0:1"]
        assert (agent_cdr.agent, agent_cdr.attributes["lead_outcome"]) == ("ann", "click-to-dial")
        assert (dial_cdr.outcome, dial_cdr.queue, dial_cdr.attributes["sip_status"]) == (
            "busy", "spring", 486,
        )  # fmt: skip

    run(main)


def test_the_lead_hanging_up_ends_the_agents_call(tmp_path: Path) -> None:
    async def main() -> None:
        sipp = ("-rtp_echo",)
        async with one_lead(tmp_path, "uas_lead_hangs_up", *sipp, seed=5) as (
            center, d, phone, lead,
        ):  # fmt: skip
            call = await asyncio.wait_for(phone.dial("+12125550100"), 20.0)  # no BYE of its own
            assert await phone.wait_until(lambda: call.ended_at is not None, 20.0)
            assert call.ended_by == "caller"  # our BYE, after the lead's
            assert await wait_for(lambda: not d._tasks, 10.0)
            assert center.engine.agent("ann").state in ("wrap-up", "available")
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert d.campaign.stats()["connects"] == 1
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent) == ("answered", "ann")  # type: ignore[attr-defined]

    run(main)


def test_the_agent_giving_up_cancels_the_ringing_lead(tmp_path: Path) -> None:
    async def main() -> None:
        async with one_lead(tmp_path, "uas_lead_no_answer", seed=6) as (center, d, phone, lead):
            with pytest.raises(CallFailed) as e:
                await asyncio.wait_for(phone.dial("+12125550100", give_up=2.0), 20.0)
            assert e.value.status == 487
            # The lead got our CANCEL well before the 15 s ring timeout.
            assert await asyncio.wait_for(lead, 10.0) == 0
            assert await wait_for(lambda: not d._tasks, 10.0)
            assert center.engine.agent("ann").state in ("wrap-up", "available")
            assert d.stats.by_status == {487: 1}
            info = d.campaign.lead(0)
            # Given up before the ring timeout: a failed attempt (retried), not a no-answer.
            assert (info["outcome"], info["state"]) == ("failed", "retry-scheduled")

    run(main)


async def ctrl(control: int, command: str, params: str) -> None:
    """One baresip ctrl_tcp command (netstring-framed JSON) with its parameters."""
    reader, writer = await asyncio.open_connection("127.0.0.1", control)
    payload = json.dumps({"command": command, "params": params, "token": "1"}).encode()
    writer.write(b"%d:%s," % (len(payload), payload))
    await writer.drain()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(4096), 2.0)
    writer.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_baresip_dials_a_lead_through_the_proxy_challenge(tmp_path: Path, transport: str) -> None:
    """A third-party phone: baresip registered as agent1 (over UDP, or TCP) dials the lead's
    number; it answers our 407 with its account's credentials, hears the lead, and hangs up
    when its 3 s audio file ends, which ends the lead's call too."""

    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)], extra=CLICK)
        text = path.read_text()
        path.write_text(text.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "both"'))
        async with serving(path) as center:
            d = dialer(center)
            home = tmp_path / "agent1"
            home.mkdir()
            _, control = baresip_config(home, center.address, "secret1", "agent1", "auto",
                                        transport=transport)  # fmt: skip
            write_wav(home / "prompt.wav", tone(3.0, 350.0))
            with (home / "config").open("a") as f:
                f.write("module_app menu.so\n")  # its commands: ctrl_tcp's "dial"
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
            async with baresip(home, 30):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 10.0)
                [binding] = center.registrar.lookup("sip:agent1@127.0.0.1")
                assert binding.transport == transport
                challenged = center.registrar.stats.challenged  # its REGISTER's
                host, sip_port = center.address
                params = "" if transport == "udp" else ";transport=tcp"
                await ctrl(control, "dial", f"sip:+12125550100@{host}:{sip_port}{params}")
                assert await wait_for(lambda: d.stats.connected == 1, 15.0)
                assert await wait_for(lambda: not d._tasks, 20.0)  # baresip hung up
                assert await asyncio.wait_for(lead, 30.0) == 0  # and the lead got our BYE
            assert center.registrar.stats.challenged == challenged + 1  # the INVITE's 407
            assert center.stats.relayed > 50  # baresip's audio to the lead and back
            assert d.campaign.stats()["connects"] == 1
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent) == ("answered", "ann")  # type: ignore[attr-defined]
        assert cdr.attributes["lead_outcome"] == "click-to-dial"  # type: ignore[attr-defined]
        assert cdr.talk is not None and 1.5 < cdr.talk < 10.0  # type: ignore[attr-defined]

    run(main)


def test_any_number_is_added_as_a_lead_and_passes_the_rules(tmp_path: Path) -> None:
    """`click_to_dial = "any"`: a number outside the list becomes a lead (in default_zone),
    dialed and bridged; one on the DNC list is added, refused 403 and never dialed; the added
    leads come back after a restart on the same list, and not on another one."""

    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)], extra=CLICK,
                              dnc="+12125550199")  # fmt: skip
        text = path.read_text().replace("{port}", str(port))
        extra = f'click_to_dial = "any"\ndefault_zone = "{zone_at(12)}"\n'
        path.write_text(text.replace('mode = "click-to-dial"', f'mode = "click-to-dial"\n{extra}'))
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
            phone = AgentPhone(center.address, "agent1", "secret1", seed=7)
            await phone.start()
            try:
                call = await asyncio.wait_for(phone.dial("+12125550142", talk=2.0), 20.0)
                assert await phone.wait_until(lambda: call.ended_at is not None, 20.0)
                assert await wait_for(lambda: not d._tasks, 10.0)
                assert await asyncio.wait_for(lead, 30.0) == 0
                ready = lambda: center.engine.agent("ann").state == "available"  # noqa: E731
                assert await wait_for(ready, 5.0)  # after its wrap-up
                with pytest.raises(CallFailed) as e:
                    await asyncio.wait_for(phone.dial("+12125550199"), 10.0)
                assert (e.value.status, e.value.reason) == (403, "do-not-call")
            finally:
                await phone.close()
            assert len(d.campaign) == 3 and d.leads.numbers[1:] == ["+12125550142", "+12125550199"]
            assert d.campaign.lead(1)["state"] == "done" and d.campaign.lead(1)["attempts"] == 1
            assert d.campaign.lead(2)["refusal"] == "do-not-call"
            assert d.campaign.lead(2)["attempts"] == 0 and d.stats.placed == 1
            assert call.rtp_received > 30  # the lead's echo through the bridge
        (cdr,) = records(tmp_path)
        assert (cdr.call_id, cdr.agent, cdr.called) == ("spring:1:click-1", "ann", "+12125550142")  # type: ignore[attr-defined]
        async with serving(path) as center:  # restarted on the same list: both added leads
            d = dialer(center)
            assert d.leads.numbers[1:] == ["+12125550142", "+12125550199"]
            assert d.campaign.lead(2)["refusal"] == "do-not-call"
            assert d.clicks is not None and d.clicks.number("+12125550142") == "+12125550142"
        leads = tmp_path / "leads.csv"
        leads.write_text(leads.read_text() + f"+12125550101,{zone_at(12)},{port}\n")
        with pytest.raises(StoreError, match="leads has 2 leads, the snapshot 3"):
            ContactCenter(load_config(path))  # another list: not mistaken for added leads

    run(main)


def test_click_to_dial_config_and_numbers(tmp_path: Path) -> None:
    def problems(extra: str) -> str:
        directory = tmp_path / str(len(list(tmp_path.iterdir())))
        directory.mkdir()
        path = campaign_files(directory, [("+12125550100", zone_at(12), 5060)], extra=extra)
        with pytest.raises(FlowError) as e:
            load_config(path)
        return str(e.value)

    assert "campaign.click_to_dial: cannot be false in mode 'click-to-dial'" in problems(
        CLICK + "\nclick_to_dial = false"
    )
    assert "campaign.click_to_dial_prefix: must be + and digits" in problems(
        'click_to_dial = true\nclick_to_dial_prefix = "1"'
    )
    assert """campaign.click_to_dial: expected true, false, "leads" or "any", got 'yes'""" in (
        problems('click_to_dial = "yes"')
    )
    anywhere = problems('click_to_dial = "any"')  # the test's dial_uri needs the CSV's port
    assert '"any" needs default_zone' in anywhere
    assert "\"any\": dial_uri uses the CSV column 'port'" in anywhere

    async def numbers() -> None:
        path = campaign_files(
            tmp_path,
            [("+12125550100", zone_at(12), 5060)],
            extra='mode = "progressive"\nclick_to_dial = true\nclick_to_dial_prefix = "+1"',
        )
        async with serving(path) as center:
            clicks = dialer(center).clicks
            assert isinstance(clicks, ClickToDial)  # allowed beside progressive dialing
            assert clicks.number("2125550100") == "+12125550100"
            assert clicks.number("+1-212-555-0100") == "+12125550100"  # separators dropped
            assert clicks.number("+12125550100") == "+12125550100"
            assert clicks.number("+0123") is None

            def invite(user: str, sender: str = "agent1") -> SipMessage:
                return SipMessage.parse(
                    f"INVITE sip:{user}@127.0.0.1 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
                    f"From: <sip:{sender}@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n"
                    "Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".encode()
                )

            assert clicks.takes(invite("+12125550100")) and clicks.takes(invite("2125550100"))
            assert not clicks.takes(invite("support"))  # a caller's call: the flow
            # A number dialed by anyone but an agent's account (a carrier's inbound call to
            # the center's number): a caller's, the flow.
            assert not clicks.takes(invite("+12125550100", sender="+15551234567"))

    run(numbers)


def test_acdcore_serve_killed_mid_talk_byes_the_agent_and_the_lead(tmp_path: Path) -> None:
    """`acdcore serve` SIGKILLed while an agent talks to the lead it dialed: started again on
    the same database, it sends a BYE in both dialogs (the agent's own INVITE's and ours to
    the lead), records the call lost while connected and closes the lead's attempt."""

    async def main() -> None:
        sip, port = free_port(), free_port()
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)], extra=CLICK)
        path.write_text(path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{sip}"))
        phone = AgentPhone(("127.0.0.1", sip), "agent1", "secret1", seed=8)
        lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
        server = None
        try:
            server, _ = await _serve(path)
            await phone.start()
            call = await asyncio.wait_for(phone.dial("+12125550100"), 20.0)  # talks on
            await asyncio.sleep(1.5)  # past the next periodic commit
            server.send_signal(signal.SIGKILL)
            await server.wait()
            assert call.ended_at is None
            server, _ = await _serve(path)
            assert await phone.wait_until(lambda: call.ended_at is not None, 20.0)
            assert call.ended_by == "caller"  # the restarted server's BYE
            assert await asyncio.wait_for(lead, 30.0) == 0  # SIPp got its BYE too
            server.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(server.communicate(), 30.0)
            assert server.returncode == 0, err.decode()
        finally:
            if server is not None and server.returncode is None:
                server.kill()
                await server.wait()
            await phone.close(unregister=False)
        (cdr,) = records(tmp_path)
        assert (cdr.call_id, cdr.outcome, cdr.agent) == ("spring:0:click-1", "lost", "ann")  # type: ignore[attr-defined]
        assert cdr.attributes["lost"] == {"why": "restart", "state": "connected"}  # type: ignore[attr-defined]
        assert cdr.attributes["lead_outcome"] == "click-to-dial"  # type: ignore[attr-defined]

    run(main)
