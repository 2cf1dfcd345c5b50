"""Answering-machine detection in the dialer, over real SIP on 127.0.0.1: a SIPp lead answers
and plays speech (a shipped espeak-ng prompt written as RTP into a pcap SIPp replays). A
voicemail-like greeting is hung up as "machine" before any agent is involved; a short greeting
then silence goes on as a person, timed from the end of the greeting."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import numpy as np
import pytest
from acdcore import prompts
from acdcore._core import rtp_build, ulaw_encode
from acdcore.app import load_config
from acdcore.flows.errors import FlowError
from acdcore.media import load_wav
from acdcore.traffic import AgentPhone
from test_dialer import campaign_files, dialer, records, serving, sipp_time_of, zone_at
from test_sip_peers import wait_for
from test_sip_transport import free_port, run, run_sipp

AMD = "\n[campaign.amd]\ntotal = 4.0\n"


def write_pcap(path: Path, samples: np.ndarray) -> None:
    """`samples` (8 kHz) as PCMU RTP packets of 20 ms in a pcap (Ethernet, IPv4, UDP), the
    format SIPp's play_pcap_audio replays with the packets' own timing."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n, i in enumerate(range(0, len(samples) - 159, 160)):
        rtp = rtp_build(0, n, n * 160, 0x1234, ulaw_encode(samples[i : i + 160]), n == 0)
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                                   bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))  # fmt: skip
        words = struct.unpack("!10H", bytes(ip))
        total = sum(words)
        total = (total & 0xFFFF) + (total >> 16)
        ip[10:12] = struct.pack("!H", ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF)
        frame = b"\x00" * 12 + b"\x08\x00" + bytes(ip) + udp
        usec = n * 20_000
        out.append(
            struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        )
        out.append(frame)
    path.write_bytes(b"".join(out))


def speaking_lead(directory: Path, name: str, audio: np.ndarray) -> Path:
    """A SIPp UAS lead that answers (PCMU), plays `audio` and waits for our BYE."""
    pcap = directory / f"{name}.pcap"
    write_pcap(pcap, audio)
    scenario = directory / f"{name}.xml"
    scenario.write_text(f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="lead speaks">
  <recv request="INVITE" crlf="true"/>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=lead 53655765 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
  ]]></send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
</scenario>
""")
    return scenario


def hiss(seconds: float) -> np.ndarray:
    return np.random.default_rng(3).normal(0, 30, int(seconds * 8000)).astype(np.int16)


def test_a_voicemail_greeting_is_hung_up_as_machine(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)], extra=AMD)
        greeting = np.concatenate([load_wav(prompts.path("leave-a-message")), hiss(2.0)])
        scenario = speaking_lead(tmp_path, "voicemail", greeting)
        async with serving(path) as center:
            d = dialer(center)
            lead = asyncio.ensure_future(run_sipp(
                None, "-sf", str(scenario), "-m", "1", stat=tmp_path / "vm.csv", port=port
            ))  # fmt: skip
            # A ready agent makes progressive mode dial; it is never rung for a machine.
            phone = AgentPhone(center.address, "agent1", "secret1", seed=2)
            await phone.start()
            try:
                assert await asyncio.wait_for(lead, 30.0) == 0  # it got our BYE
                assert await wait_for(lambda: not d._live, 10.0)
                assert phone.calls == []
            finally:
                await phone.close()
            assert d.stats.amd == {"human": 0, "machine": 1, "not-sure": 0}
            assert d.stats.info_messages == []  # nobody to inform: no person answered
            st = d.campaign.stats()
            assert (st["dials"], st["machines"], st["connects"], st["abandoned"]) == (1, 1, 0, 0)
            assert d.campaign.lead(0)["outcome"] == "machine"
        # Our BYE came with the verdict, while the 3.4 s greeting was still playing.
        (cdr,) = records(tmp_path)
        assert cdr.end - cdr.arrival < 3.0  # type: ignore[attr-defined]
        assert cdr.outcome == "machine"  # type: ignore[attr-defined]
        amd = cdr.attributes["amd"]  # type: ignore[attr-defined]
        assert amd["reason"] in ("long-greeting", "max-words") and amd["at"] < 2.0

    run(main)


def test_a_short_greeting_goes_on_as_a_person_timed_from_its_end(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = campaign_files(tmp_path, [("+12125550100", zone_at(12), port)], extra=AMD)
        hello = load_wav(prompts.path("position-1"))  # 1.3 s of speech, then the line waits
        scenario = speaking_lead(tmp_path, "person", np.concatenate([hello, hiss(3.0)]))
        messages = tmp_path / "person_messages.log"
        async with serving(path) as center:
            d = dialer(center)
            lead = asyncio.ensure_future(run_sipp(
                None, "-sf", str(scenario), "-m", "1", "-trace_msg", "-message_file",
                str(messages), stat=tmp_path / "p.csv", port=port,
            ))  # fmt: skip
            # The agent answers too late: the person is abandoned, with the information message.
            phone = AgentPhone(center.address, "agent1", "secret1", answer_delay=8.0, seed=2)
            await phone.start()
            try:
                assert await wait_for(lambda: d.stats.abandoned == 1 and not d._live, 30.0)
                assert await asyncio.wait_for(lead, 30.0) == 0
            finally:
                await phone.close()
            assert d.stats.amd == {"human": 1, "machine": 0, "not-sure": 0}
            (info,) = d.stats.info_messages
        answered = sipp_time_of(messages, "SIP/2.0 200 OK")
        # The verdict came 0.8 s after the 1.3 s greeting: the 2 s start from there.
        speech = len(hello) / 8000
        assert speech + 0.5 < info.answered - answered < speech + 1.5
        assert info.started <= info.deadline == pytest.approx(info.answered + 2.0)
        (cdr,) = records(tmp_path)
        assert cdr.outcome == "abandoned"  # type: ignore[attr-defined]

    run(main)


def test_amd_settings_are_checked_with_the_config(tmp_path: Path) -> None:
    extra = "\n[campaign.amd]\ngreeting = -1\nmax_words = 2.5\nloudness = 3\n"
    path = campaign_files(tmp_path, [("+12125550100", "UTC", 5999)], extra=extra)
    with pytest.raises(FlowError) as e:
        load_config(path)
    message = str(e.value)
    assert "campaign.amd: unknown field 'loudness'" in message
    assert "campaign.amd: max_words: expected a whole number, got 2.5" in message
    assert "greeting must be a positive number of seconds, got -1" in message
