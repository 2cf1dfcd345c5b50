"""The contact-center app's dialer (acdcore.app.dialer) over real SIP on 127.0.0.1: SIPp UAS
processes are the called leads (answering, busy, never answering), `AgentPhone`s the agents.
Progressive dialing bridges an answered lead to an agent with media both ways; an answered
lead no agent takes hears the information message within 2 s of the 200 (timed from SIPp's
message log and the RTP a test socket receives); busy and unanswered leads get their outcomes;
do-not-call and out-of-hours leads are never dialed, with the reason on the lead. Every call
leaves a CDR. Bounded in time; without SIPp these fail in CI and skip elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acdcore._core import tone_amplitude, ulaw_decode
from acdcore.app import ContactCenter, load_config
from acdcore.app.dialer import Dialer
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from acdcore.records.reports import report
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from acdcore.traffic import AgentPhone
from test_serve import CONFIG, center_files, tone
from test_sip_peers import wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

INFO_HZ = 1200.0


def zone_at(hour: int) -> str:
    """An IANA zone where the local time now is `hour`:MM (Etc/GMT-5 is UTC+5)."""
    k = (hour - dt.datetime.now(dt.UTC).hour) % 24
    if k > 14:
        k -= 24
    return "Etc/GMT" if k == 0 else f"Etc/GMT{-k:+d}"


def campaign_files(
    directory: Path, leads: list[tuple[str, str, int]], *, extra: str = "", dnc: str = ""
) -> Path:
    """The test center's files plus a [campaign] on the sales queue and its leads CSV."""
    rows = "\n".join(f"{phone},{zone},{port}" for phone, zone, port in leads)
    (directory / "leads.csv").write_text(f"phone,timezone,port\n{rows}\n")
    (directory / "dnc.txt").write_text(f"# do not call\n{dnc}\n")
    config = (
        CONFIG
        + f"""
[campaign]
id = "spring"
leads = "leads.csv"
dnc = "dnc.txt"
queue = "sales"
dial_uri = "sip:{{number}}@127.0.0.1:{{port}}"
caller_id = "sip:+15550001111@127.0.0.1"
info_message = "info"
ring_timeout = 15
tick = 0.3
{extra}
"""
    )
    path = center_files(directory, config)
    write_wav(directory / "prompts" / "info.wav", tone(1.5, INFO_HZ))
    return path


@contextlib.asynccontextmanager
async def serving(path: Path) -> AsyncIterator[ContactCenter]:
    center = ContactCenter(load_config(path))
    await center.start()
    try:
        yield center
    finally:
        await center.stop()


def dialer(center: ContactCenter) -> Dialer:
    assert center.dialer is not None
    return center.dialer


def lead_sipp(directory: Path, name: str, port: int, *args: str) -> asyncio.Future[int]:
    """A SIPp UAS lead on `port` for one call, running in the background."""
    stat = directory / f"{name}.csv"
    scenario = str(SCENARIOS / f"{name}.xml")
    return asyncio.ensure_future(
        run_sipp(None, "-sf", scenario, "-m", "1", *args, stat=stat, port=port)
    )


def quiet_socket(port: int) -> socket.socket:
    """A UDP socket on the port of leads that must never be dialed: `recv` raises
    BlockingIOError when nothing came."""
    watch = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    watch.bind(("127.0.0.1", port))
    watch.setblocking(False)
    return watch


def records(directory: Path) -> list[object]:
    with SqliteStore(directory / "records.db", create=False) as store:
        return list(store.search(Query()))


def test_progressive_lead_reaches_an_agent_with_media_both_ways(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+1 212 555 0100", zone_at(12), port)])
        async with serving(path) as center:
            d = dialer(center)
            await asyncio.sleep(1.0)  # ticking with no agent logged in: nothing is dialed
            assert d.campaign.stats()["dials"] == 0
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
            phone = AgentPhone(
                center.address, "agent1", "secret1", answer_delay=0.2, talk_mean=3.0,
                talk_min=2.5, seed=1,
            )  # fmt: skip
            await phone.start()
            try:
                assert await phone.wait_until(lambda: any(c.ended_at for c in phone.calls), 30)
                assert await wait_for(lambda: d.stats.connected == 1 and not d._live, 10.0)
            finally:
                await phone.close()
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert sipp_totals(tmp_path / "uas_lead_answers.csv")["ok"] == 1
            (call,) = phone.calls
            assert call.ended_by == "agent" and call.caller.startswith("sip:+12125550100@")
            # The agent's tone went to the lead, SIPp echoed it, and it came back to the agent.
            assert call.rtp_sent > 50 and call.rtp_received > 50
            assert center.stats.relayed > 100
            st = d.campaign.stats()
            assert (st["dials"], st["connects"], st["abandoned"]) == (1, 1, 0)
            assert d.campaign.lead(0)["state"] == "done"
            assert d.stats.info_messages == []
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent, cdr.queue) == ("answered", "ann", "sales")  # type: ignore[attr-defined]
        assert cdr.called == "+12125550100" and cdr.caller == "+15550001111"  # type: ignore[attr-defined]
        assert cdr.attributes == {  # type: ignore[attr-defined]
            "direction": "outbound", "campaign": "spring", "lead": 0,
            "lead_outcome": "human", "sip_status": 200,
        }  # fmt: skip
        assert cdr.talk is not None and 1.5 < cdr.talk < 10.0  # type: ignore[attr-defined]
        assert cdr.disposition == "resolved"  # type: ignore[attr-defined]

    run(main)


class Receiver(asyncio.DatagramProtocol):
    """The called party's RTP port: every packet with its arrival time."""

    def __init__(self) -> None:
        self.packets: list[tuple[float, bytes]] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.append((time.time(), data))


def sipp_time_of(log: Path, first_line: str, kind: str = "sent") -> float:
    """Unix time SIPp logged sending (or with `kind` "received", receiving) the message that
    starts with `first_line`."""
    text = log.read_text(errors="replace")
    for block in re.split(r"(?:^|\n)-{20,} ", text):
        head, _, body = block.partition("\n")
        if f"message {kind}" in body.split("\n", 1)[0] and first_line in body:
            when = dt.datetime.strptime(head.strip()[:26], "%Y-%m-%d %H:%M:%S.%f")
            return when.astimezone().timestamp()
    raise AssertionError(f"no {kind} {first_line!r} in {log}:\n{text[:2000]}")


def test_an_answered_lead_no_agent_takes_hears_the_message_within_2_s(tmp_path: Path) -> None:
    async def main() -> None:
        port, rtp_port = free_port(), free_port() & ~1
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)])
        loop = asyncio.get_running_loop()
        receiver = Receiver()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: receiver, local_addr=("127.0.0.1", rtp_port)
        )
        messages = tmp_path / "lead_messages.log"
        try:
            async with serving(path) as center:
                d = dialer(center)
                lead = lead_sipp(
                    tmp_path, "uas_lead_answers_to", port, "-key", "rtp_port", str(rtp_port),
                    "-trace_msg", "-message_file", str(messages),
                )  # fmt: skip
                # The agent is offered the call but answers too late for the lead.
                phone = AgentPhone(center.address, "agent1", "secret1", answer_delay=8.0, seed=2)
                await phone.start()
                try:
                    assert await wait_for(lambda: d.stats.abandoned == 1 and not d._live, 30.0)
                    assert await asyncio.wait_for(lead, 30.0) == 0
                    await asyncio.sleep(0.5)
                    assert phone.calls == []  # its ringing was cancelled
                finally:
                    await phone.close()
                st = d.campaign.stats()
                assert (st["dials"], st["connects"], st["abandoned"]) == (1, 1, 1)
                assert st["abandon_rate"] == 1.0
                (info,) = d.stats.info_messages
                assert info.started <= info.deadline == pytest.approx(info.answered + 2.0)
        finally:
            transport.close()
        ok_sent = sipp_time_of(messages, "SIP/2.0 200 OK")
        first_tone = None
        for at, data in receiver.packets:
            samples = ulaw_decode(data[12:])
            if len(samples) and tone_amplitude(samples, INFO_HZ) > 2000:
                first_tone = at
                break
        assert first_tone is not None, f"no information message in {len(receiver.packets)} packets"
        delay = first_tone - ok_sent
        print(f"information message heard {delay:.3f} s after the 200")
        assert 0.0 < delay < 2.0
        # The whole message (1.5 s, 75 packets of 20 ms) reached the lead before our BYE.
        assert sum(1 for _, p in receiver.packets if len(p) == 172) >= 70
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent) == ("abandoned", None)  # type: ignore[attr-defined]
        assert cdr.attributes["direction"] == "outbound"  # type: ignore[attr-defined]

    run(main)


def test_busy_no_answer_dnc_and_out_of_hours_leads(tmp_path: Path) -> None:
    async def main() -> None:
        busy, silent, nobody = free_port(), free_port(), free_port()
        leads = [
            ("+12125550101", zone_at(12), busy),
            ("+12125550102", zone_at(12), silent),
            ("+12125550103", zone_at(12), nobody),  # on the do-not-call list
            ("+12125550104", zone_at(3), nobody),  # 03:00 where the lead lives
            ("555-0105", zone_at(12), nobody),  # not E.164: reported, skipped
        ]
        path = campaign_files(
            tmp_path, leads, extra='mode = "power"\nratio = 4.0', dnc="+1 212 555 0103"
        )
        watch = quiet_socket(nobody)
        try:
            async with serving(path) as center:
                d = dialer(center)
                b = lead_sipp(tmp_path, "uas_lead_busy", busy)
                n = lead_sipp(tmp_path, "uas_lead_no_answer", silent)
                phone = AgentPhone(center.address, "agent1", "secret1", seed=3)
                await phone.start()
                try:
                    done = lambda: d.campaign.stats()["no_answers"] == 1 and not d._live  # noqa: E731
                    assert await wait_for(done, 40.0)
                finally:
                    await phone.close()
                assert await asyncio.wait_for(b, 30.0) == 0
                assert await asyncio.wait_for(n, 30.0) == 0
                st = d.campaign.stats()
                assert (st["dials"], st["busy"], st["no_answers"], st["connects"]) == (2, 1, 1, 0)
                assert [(b.row, b.column) for b in d.leads.bad_rows] == [(6, "phone")]
                assert len(d.campaign) == 4
                assert d.campaign.lead(2)["refusal"] == "do-not-call"
                assert d.campaign.lead(2)["state"] == "done"
                assert d.campaign.lead(3)["refusal"] == "calling-hours"
                assert d.campaign.lead(3)["attempts"] == 0
                assert d.stats.by_status == {486: 1, 487: 1}
                assert phone.calls == []
            with pytest.raises(BlockingIOError):
                watch.recv(2048)  # nothing was ever sent to the refused leads' address
        finally:
            watch.close()
        cdrs = {r.called: r for r in records(tmp_path)}  # type: ignore[attr-defined]
        assert set(cdrs) == {"+12125550101", "+12125550102"}
        b_cdr, n_cdr = cdrs["+12125550101"], cdrs["+12125550102"]
        assert (b_cdr.outcome, b_cdr.queue, b_cdr.attributes["sip_status"]) == (
            "busy",
            "spring",
            486,
        )  # type: ignore[attr-defined]
        assert (n_cdr.outcome, n_cdr.attributes["sip_status"]) == ("no-answer", 487)  # type: ignore[attr-defined]
        assert n_cdr.wait >= 15.0  # type: ignore[attr-defined]

    run(main)


def test_campaign_config_mistakes_name_the_line_and_field(tmp_path: Path) -> None:
    path = campaign_files(
        tmp_path,
        [("+12125550100", "UTC", 5999)],
        extra='mode = "preview-ish"\nconnect_wait = 1.9',
    )
    text = (
        path.read_text()
        .replace("ring_timeout = 15", "ring_timeout = 10")
        .replace('info_message = "info"', 'info_message = "nothing"')
        .replace('caller_id = "sip:+15550001111@127.0.0.1"', 'caller_id = "+1555"')
    )
    path.write_text(text)
    with pytest.raises(FlowError) as e:
        load_config(path)
    message = str(e.value)
    assert "campaign.ring_timeout: must ring at least 15 s before giving up, got 10.0" in message
    assert "campaign.info_message: no prompt 'nothing'" in message
    assert "campaign.mode: unknown dialing mode 'preview-ish'" in message
    assert "campaign.connect_wait: must be above 0 and at most 1.5 s" in message
    assert "campaign.caller_id: must be a sip: URI (our From), got '+1555'" in message
    lines = text.splitlines()
    start = lines.index("[campaign]")
    ring_line = next(
        i for i, line in enumerate(lines, 1) if i > start and line.startswith("ring_timeout")
    )
    assert f"{path}:{ring_line}: campaign.ring_timeout" in message


def test_a_dial_target_field_no_lead_fills_is_refused(tmp_path: Path) -> None:
    path = campaign_files(tmp_path, [("+12125550100", "UTC", 5999)])
    path.write_text(path.read_text().replace("{port}", "{gateway}"))

    async def main() -> None:
        with pytest.raises(ValueError, match=r"leads.csv:2: campaign.dial_uri needs 'gateway'"):
            ContactCenter(load_config(path))

    run(main)


def test_sip_statuses_map_to_lead_outcomes(tmp_path: Path) -> None:
    path = campaign_files(tmp_path, [("+12125550100", "UTC", 5999)])

    async def main() -> None:
        center = ContactCenter(load_config(path))
        try:
            d = dialer(center)
            assert d.outcome(486, 1.0, True) == "busy"
            assert d.outcome(600, 1.0, True) == "busy"
            assert d.outcome(487, 15.2, True) == "no-answer"
            assert d.outcome(408, 16.0, True) == "no-answer"
            assert d.outcome(480, 3.0, True) == "failed"  # gave up before our ring timeout
            assert d.outcome(408, 32.0, False) == "failed"  # nothing ever answered the INVITE
            assert d.outcome(503, 1.0, True) == "failed"
            assert d.outcome(404, 1.0, True) == "failed"
        finally:
            center.writer.close()
            center.store.close()
            center.registrar.close()

    run(main)


def test_preview_shows_the_lead_to_the_agent_who_answers_to_dial_it(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(
            tmp_path, [("+12125550100", zone_at(12), port)], extra='mode = "preview"'
        )
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
            phone = AgentPhone(
                center.address, "agent1", "secret1", answer_delay=0.3, talk_mean=4.0,
                talk_min=3.5, seed=4,
            )  # fmt: skip
            await phone.start()
            try:
                # The agent's phone rings first, showing the lead; the lead is not dialed yet.
                assert await phone.wait_until(lambda: phone.calls, 20)
                assert d.campaign.lead(0)["attempts"] == 0 and d.stats.placed == 0
                assert await phone.wait_until(lambda: any(c.ended_at for c in phone.calls), 30)
                assert await wait_for(lambda: d.stats.connected == 1 and not d._live, 10.0)
            finally:
                await phone.close()
            assert await asyncio.wait_for(lead, 30.0) == 0
            (call,) = phone.calls
            assert call.caller.startswith("sip:+12125550100@")
            assert call.rtp_received > 50  # the lead's (echoed) audio reached the agent
            st = d.campaign.stats()
            assert (st["dials"], st["connects"], st["abandoned"]) == (1, 1, 0)
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.agent, cdr.called) == ("answered", "ann", "+12125550100")  # type: ignore[attr-defined]
        assert cdr.attributes["lead_outcome"] == "preview"  # type: ignore[attr-defined]

    run(main)


def test_a_preview_no_agent_takes_puts_the_lead_back_undialed(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(
            tmp_path,
            [("+12125550100", zone_at(12), port)],
            extra='mode = "preview"\npreview_timeout = 2.0',
        )
        watch = quiet_socket(port)
        try:
            async with serving(path) as center:
                d = dialer(center)
                phone = AgentPhone(center.address, "agent1", "secret1", answer_delay=30.0)
                await phone.start()
                try:
                    state = lambda: d.campaign.lead(0)["state"]  # noqa: E731
                    assert await wait_for(lambda: state() == "previewing", 20.0)
                    assert await wait_for(lambda: center.stats.offers >= 1, 10.0)
                    # Not answered within preview_timeout: the lead is put back (then
                    # offered again at a later tick).
                    assert await wait_for(lambda: state() == "new", 10.0)
                finally:
                    await phone.close()
                assert d.campaign.stats()["dials"] == 0 and d.stats.placed == 0
            with pytest.raises(BlockingIOError):
                watch.recv(2048)  # the lead was never called
        finally:
            watch.close()
        # Each withdrawn preview (put back, or cut off by the stop) is on record, but not as
        # an abandon: nobody was on the line, so the queue's figures do not count it.
        cdrs = records(tmp_path)
        assert cdrs and {(r.outcome, r.queue) for r in cdrs} == {("withdrawn", "sales")}  # type: ignore[attr-defined]
        assert all(r.attributes["lead_outcome"] == "preview" for r in cdrs)  # type: ignore[attr-defined]
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            events = {e.event for r in cdrs for e in store.queue_log(r.call_id)}  # type: ignore[attr-defined]
            assert events == {"enter", "withdraw"}
            assert report(store) == []  # offered nothing, abandoned nothing

    run(main)


def test_serve_runs_a_campaign_and_reports_it(tmp_path: Path) -> None:
    """`acdcore serve --config` with a [campaign]: a busy SIPp lead, an agent phone logged in;
    the wallboard lines and the stop summary carry the campaign's figures."""

    async def main() -> None:
        sip, busy = free_port(), free_port()
        path = campaign_files(tmp_path, [("+12125550101", zone_at(12), busy)])
        path.write_text(
            path.read_text()
            .replace("127.0.0.1:0", f"127.0.0.1:{sip}")
            .replace("[prompts]", "[wallboard]\nevery = 0.5\n\n[prompts]")
        )
        lead = lead_sipp(tmp_path, "uas_lead_busy", busy)
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--duration", "6",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            first = await asyncio.wait_for(server.stdout.readline(), 30.0)
            assert f"SIP on 127.0.0.1:{sip}" in first.decode()
            phone = AgentPhone(("127.0.0.1", sip), "agent1", "secret1", seed=5)
            await phone.start()
            try:
                out, err = await asyncio.wait_for(server.communicate(), 30.0)
            finally:
                await phone.close(unregister=False)
            assert server.returncode == 0, err.decode()
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
        assert await asyncio.wait_for(lead, 30.0) == 0
        text = out.decode()
        assert "campaign=spring mode=progressive dials=0" in text  # before the agent came
        summary = [line for line in text.splitlines() if line.startswith("acdcore serve: t=")]
        assert len(summary) == 1 and "dials=1 connects=0 busy=1" in summary[0], text
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.called) == ("busy", "+12125550101")  # type: ignore[attr-defined]

    run(main)


def test_the_example_outbound_config_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "contact_center"
    config = load_config(example / "outbound.toml")
    campaign = config.campaign
    assert campaign is not None
    assert (campaign.queue, campaign.mode, campaign.info_message) == (
        "outbound", "progressive", "outbound-info",
    )  # fmt: skip
    assert campaign.wrapup == 5.0  # the outbound queue's wrap-up, for the pacer
    assert (campaign.click_to_dial, campaign.click_to_dial_prefix) == ("leads", None)

    async def main() -> None:
        center = ContactCenter(config, database=tmp_path / "outbound.db")
        try:
            d = dialer(center)
            assert len(d.leads) == 5 and d.leads.bad_rows == []
            assert d.target(0) == ("+12125550100", "sip:12125550100@127.0.0.1:5080")
            assert d.clicks is not None  # agents' phones may dial leads beside progressive
            assert center.prompts.encoded("outbound-info", "PCMU")  # the shipped message
        finally:
            center.writer.close()
            center.store.close()
            center.registrar.close()

    run(main)


def test_power_dialing_abandons_the_answer_no_agent_is_free_for_at_once(tmp_path: Path) -> None:
    """Power mode, ratio 2, one agent: both leads answer; one reaches the agent, the other
    finds nobody free and hears the information message at once."""

    async def main() -> None:
        port = free_port()
        leads = [("+12125550101", zone_at(12), port), ("+12125550102", zone_at(12), port)]
        path = campaign_files(tmp_path, leads, extra='mode = "power"\nratio = 2.0')
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo", "-m", "2")
            phone = AgentPhone(
                center.address, "agent1", "secret1", answer_delay=0.2, talk_mean=2.0,
                talk_min=1.5, seed=6,
            )  # fmt: skip
            await phone.start()
            try:
                done = lambda: d.stats.connected + d.stats.abandoned == 2 and not d._live  # noqa: E731
                assert await wait_for(done, 30.0)
            finally:
                await phone.close()
            assert await asyncio.wait_for(lead, 30.0) == 0
            st = d.campaign.stats()
            assert (st["dials"], st["connects"], st["abandoned"]) == (2, 2, 1)
            assert d.stats.connected == 1 and len(phone.calls) == 1
            (info,) = d.stats.info_messages
            assert info.started - info.answered < 1.0  # nobody to wait for: at once
        outcomes = sorted((r.outcome, r.agent) for r in records(tmp_path))  # type: ignore[attr-defined]
        assert outcomes == [("abandoned", None), ("answered", "ann")]

    run(main)


def test_predictive_dialing_over_sip_keeps_its_books(tmp_path: Path) -> None:
    """Predictive pacing with two agents and five answering leads: however many it dials at
    once, every answer is either bridged to an agent or abandoned with the message, and every
    dial has its CDR."""

    async def main() -> None:
        port = free_port()
        leads = [(f"+1212555010{i}", zone_at(12), port) for i in range(5)]
        path = campaign_files(tmp_path, leads, extra='mode = "predictive"\naht = 3.0')
        path.write_text(
            path.read_text().replace(
                'queues = ["sales"]',
                'queues = ["sales"]\n\n[[agents]]\nid = "bob"\nuser = "agent2"\n'
                'password = "secret2"\nqueues = ["sales"]',
            )
        )
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo", "-m", "5")
            phones = [
                AgentPhone(center.address, user, secret, answer_delay=0.2, talk_mean=2.0,
                           talk_min=1.5, seed=7 + i)
                for i, (user, secret) in enumerate([("agent1", "secret1"), ("agent2", "secret2")])
            ]  # fmt: skip
            for phone in phones:
                await phone.start()
            try:
                # Abandoned leads are rescheduled (a day later): count the answers instead.
                done = lambda: d.stats.connected + d.stats.abandoned == 5 and not d._live  # noqa: E731
                assert await wait_for(done, 60.0), (d.campaign.stats(), d.stats)
            finally:
                for phone in phones:
                    await phone.close()
            assert await asyncio.wait_for(lead, 30.0) == 0
            st = d.campaign.stats()
            assert st["dials"] == 5 and st["connects"] == 5
            assert d.stats.connected + d.stats.abandoned == 5
            assert st["abandoned"] == d.stats.abandoned == len(d.stats.info_messages)
            assert all(m.started <= m.deadline for m in d.stats.info_messages)
            assert sum(len(p.calls) for p in phones) == d.stats.connected >= 2
        assert len(records(tmp_path)) == 5

    run(main)
