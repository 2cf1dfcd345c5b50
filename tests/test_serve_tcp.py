"""`acdcore serve` over SIP TCP (`[sip] transport`) with real peers on 127.0.0.1: a baresip agent
phone registers over TCP, a SIPp caller comes in over TCP or UDP (`-t t1` / `-t u1`) to a
center serving both, the agent answers over its own TCP connection and the CDR is written;
a TCP-only center takes a SIPp caller over TCP; the dialer calls a SIPp lead over TCP when its
URI says `;transport=tcp`. Config mistakes and the `--transport` override. Bounded in time;
without the peers these fail in CI and skip elsewhere."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from acdcore.sip.transport import Addr
from acdcore.traffic import AgentPhone
from test_dialer import campaign_files, dialer, lead_sipp, zone_at
from test_serve import CONFIG, center_files, tone
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

BOTH = CONFIG.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "both"')


def _count_sends(center: ContactCenter) -> dict[str, Counter[bytes]]:
    """Wraps each SIP endpoint's send: the first word of each distinct message sent, per
    transport (TCP passes a message queued while it connects through `send` twice, and UDP
    retransmissions are the same bytes)."""
    sent: dict[str, Counter[bytes]] = {}
    seen: set[bytes] = set()
    for kind, endpoint in zip(center.transports, center._endpoints, strict=True):
        sent[kind] = Counter()
        real = endpoint.send

        def record(data: bytes, addr: Addr, k: str = kind, send: Any = real) -> None:
            if data not in seen:
                seen.add(data)
                sent[k][data.split(b" ", 1)[0]] += 1
            send(data, addr)

        endpoint.send = record  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("caller", ["tcp", "udp"])
def test_tcp_agent_answers_a_caller_over_tcp_or_udp_and_the_cdr_is_written(
    tmp_path: Path, caller: str
) -> None:
    async def main() -> None:
        center = ContactCenter(load_config(center_files(tmp_path, BOTH)))
        await center.start()
        try:
            assert center.transports == ("udp", "tcp")
            home = tmp_path / "agent1"
            home.mkdir()
            baresip_config(home, center.address, "secret1", "agent1", "auto", transport="tcp")
            write_wav(home / "prompt.wav", tone(30.0, 350.0))  # outlasts the talk
            async with baresip(home, 40):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 10.0)
                [binding] = center.registrar.lookup("sip:agent1@127.0.0.1")
                assert binding.transport == "tcp"
                sent = _count_sends(center)
                stat = tmp_path / "caller.csv"
                scenario = str(SCENARIOS / "uac_menu_wait_bye.xml")
                rc = await run_sipp(
                    center.address, "-sf", scenario, "-s", "5000", "-m", "1", "-d", "6000",
                    "-t", "t1" if caller == "tcp" else "u1", stat=stat,
                )  # fmt: skip
                assert rc == 0
                assert sipp_totals(stat) == {"ok": 1, "failed": 0, "created": 1}
                assert await wait_for(lambda: center.stats.by_outcome, 10.0)
            assert center.stats.by_outcome == {"answered": 1}
            assert center.stats.offers == 1 and center.stats.relayed > 50
            # The agent's INVITE, ACK and BYE went over its TCP connection; the caller's
            # answers over the transport it called on. Over UDP with a TCP caller: nothing.
            assert sent["tcp"][b"INVITE"] == 1 and sent["tcp"][b"ACK"] == 1
            assert sent["tcp"][b"BYE"] == 1
            assert sent[caller][b"SIP/2.0"] >= 3  # 100 and 200 to the INVITE, 200 to the BYE
            if caller == "tcp":
                assert sum(sent["udp"].values()) == 0
            else:
                assert set(sent["udp"]) == {b"SIP/2.0"}
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.agent, record.outcome) == ("sales", "ann", "answered")
            assert record.caller == "+33111111111" and record.called == "5000"
            assert record.talk is not None and 1.0 < record.talk < 10.0

    run(main)


def test_tcp_only_serves_no_udp_and_a_caller_hanging_up_in_queue_is_an_abandon(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        config = CONFIG.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "tcp"')
        center = ContactCenter(load_config(center_files(tmp_path, config)))
        await center.start()
        try:
            assert center.transports == ("tcp",)
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:  # nothing listens on UDP: the port number is free there
                probe.bind(center.address)
            finally:
                probe.close()
            stat = tmp_path / "caller.csv"
            scenario = str(SCENARIOS / "uac_menu_wait_bye.xml")
            rc = await run_sipp(
                center.address, "-sf", scenario, "-s", "5000", "-m", "1", "-d", "3000",
                "-t", "t1", stat=stat,
            )  # fmt: skip
            assert rc == 0 and sipp_totals(stat) == {"ok": 1, "failed": 0, "created": 1}
            assert await wait_for(lambda: center.stats.by_outcome, 10.0)
            assert center.stats.by_outcome == {"abandoned": 1}
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.outcome) == ("sales", "abandoned")

    run(main)


def test_the_dialer_calls_a_lead_over_tcp_when_its_uri_says_so(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+1 212 555 0100", zone_at(12), port)])
        text = path.read_text().replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "both"')
        path.write_text(text.replace('{port}"', '{port};transport=tcp"'))
        center = ContactCenter(load_config(path))
        await center.start()
        try:
            sent = _count_sends(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-t", "t1")
            phone = AgentPhone(
                center.address, "agent1", "secret1", answer_delay=0.2, talk_mean=2.0,
                talk_min=1.5, seed=1,
            )  # fmt: skip
            await phone.start()
            try:
                assert await phone.wait_until(lambda: any(c.ended_at for c in phone.calls), 30)
                d = dialer(center)
                assert await wait_for(lambda: d.stats.connected == 1 and not d._live, 10.0)
            finally:
                await phone.close()
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert sipp_totals(tmp_path / "uas_lead_answers.csv")["ok"] == 1
            # The lead's INVITE, ACK and BYE over TCP; the agent (registered over UDP) over UDP.
            assert (sent["tcp"][b"INVITE"], sent["tcp"][b"ACK"], sent["tcp"][b"BYE"]) == (1, 1, 1)
            assert sent["udp"][b"INVITE"] == 1
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (cdr,) = store.search(Query())
            assert (cdr.outcome, cdr.agent, cdr.called) == ("answered", "ann", "+12125550100")

    run(main)


def test_a_bad_sip_transport_or_field_names_the_file_line_and_field(tmp_path: Path) -> None:
    bad = CONFIG.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "sctp"\ntransprot = 1')
    path = center_files(tmp_path, bad)
    with pytest.raises(FlowError) as e:
        load_config(path)
    text = str(e.value)
    assert f"{path}:5: sip.transport: unknown transport 'sctp' (known: udp, tcp, both)" in text
    assert f"{path}:6: sip.transprot: unknown field (known: address, transport, realm," in text
    other = tmp_path / "other"
    other.mkdir()
    wrong_type = CONFIG.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = 6')
    with pytest.raises(FlowError, match=r"config.toml:5: sip.transport: expected str, got 6"):
        load_config(center_files(other, wrong_type))


def test_the_transport_defaults_to_udp_and_the_cli_overrides_it(tmp_path: Path) -> None:
    path = center_files(tmp_path)
    assert load_config(path).transport == "udp"
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--duration", "1",
         "--transport", "both"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(udp+tcp), records in" in done.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--transport", "tls"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "--transport: invalid choice: 'tls'" in refused.stderr
