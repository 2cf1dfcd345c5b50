"""Voice broadcast in the dialer, over real SIP on 127.0.0.1 with SIPp leads and no agent: an
answered lead hears the campaign's message over its RTP (a tone a test socket receives and
detects), then our BYE; the campaign never has more than `lines` calls at once; a lead
hanging up early is recorded with what it heard; a busy lead is retried. Config mistakes name
the field. Bounded in time; without SIPp these fail in CI and skip elsewhere."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from acdcore._core import tone_amplitude, ulaw_decode
from acdcore.app import load_config
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from test_dialer import (
    Receiver,
    campaign_files,
    dialer,
    lead_sipp,
    records,
    serving,
    sipp_time_of,
    zone_at,
)
from test_serve import tone
from test_sip_peers import wait_for
from test_sip_transport import free_port, run

PROMO_HZ = 700.0  # the broadcast message's tone (the information message is 1200 Hz)
PROMO_SECONDS = 1.0


def broadcast_files(
    directory: Path, leads: list[tuple[str, str, int]], extra: str = "", seconds: float = 1.0
) -> Path:
    """The dialer test's files as a voice broadcast of a `seconds` tone: no queue, no
    information message (a broadcast has neither agents nor abandons)."""
    path = campaign_files(
        directory, leads, extra=f'mode = "voice-broadcast"\nmessage = "promo"\n{extra}'
    )
    text = path.read_text().replace('queue = "sales"\n', "").replace('info_message = "info"\n', "")
    path.write_text(text)
    write_wav(directory / "prompts" / "promo.wav", tone(seconds, PROMO_HZ))
    return path


def is_promo(packet: bytes) -> bool:
    samples = ulaw_decode(packet[12:])
    return len(samples) > 0 and tone_amplitude(samples, PROMO_HZ) > 2000


def test_an_answered_lead_hears_the_message_then_our_bye(tmp_path: Path) -> None:
    async def main() -> None:
        port, rtp_port = free_port(), free_port() & ~1
        path = broadcast_files(tmp_path, [("+12125550100", zone_at(12), port)])
        loop = asyncio.get_running_loop()
        receiver = Receiver()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: receiver, local_addr=("127.0.0.1", rtp_port)
        )
        messages = tmp_path / "lead_messages.log"
        try:
            async with serving(path) as center:
                d = dialer(center)
                assert d.config.queue is None and d.config.lines == 10
                lead = lead_sipp(
                    tmp_path, "uas_lead_answers_to", port, "-key", "rtp_port", str(rtp_port),
                    "-trace_msg", "-message_file", str(messages),
                )  # fmt: skip
                assert await asyncio.wait_for(lead, 30.0) == 0  # it got our BYE
                assert await wait_for(lambda: d.stats.broadcasts and not d._live, 10.0)
                st = d.campaign.stats()
                assert (st["dials"], st["connects"], st["abandoned"]) == (1, 1, 0)
                assert d.campaign.lead(0)["state"] == "done"
                assert center.stats.offers == 0 and d.stats.info_messages == []
                (b,) = d.stats.broadcasts
                assert b.complete and b.heard == pytest.approx(PROMO_SECONDS, abs=0.02)
        finally:
            transport.close()
        tones = [at for at, p in receiver.packets if is_promo(p)]
        # The whole message (1 s: 50 packets of 20 ms) reached the lead, then our BYE.
        assert len(tones) >= 45, f"{len(tones)} message packets of {len(receiver.packets)}"
        ok_sent = sipp_time_of(messages, "SIP/2.0 200 OK")
        bye = sipp_time_of(messages, "BYE sip:", "received")
        print(
            f"message {tones[0] - ok_sent:.3f} s after the 200, BYE {bye - tones[-1]:.3f} s after"
        )
        # SIPp stamps its log line after the send: our first packet may beat it by a hair.
        assert ok_sent - 0.005 < tones[0] < tones[-1] <= bye + 0.05
        assert bye - ok_sent >= PROMO_SECONDS
        (cdr,) = records(tmp_path)
        assert (cdr.outcome, cdr.queue, cdr.agent) == ("broadcast", "spring", None)  # type: ignore[attr-defined]
        assert cdr.called == "+12125550100" and cdr.answer is not None  # type: ignore[attr-defined]
        attributes = dict(cdr.attributes)  # type: ignore[attr-defined]
        assert attributes.pop("heard") == pytest.approx(PROMO_SECONDS, abs=0.02)
        assert attributes == {
            "direction": "outbound", "campaign": "spring", "lead": 0, "lead_outcome": "human",
            "sip_status": 200, "message": "promo", "complete": True,
        }  # fmt: skip

    run(main)


def test_no_more_than_lines_calls_at_once_message_included(tmp_path: Path) -> None:
    """Three answering leads, `lines = 2`: the third is dialed only once a message ended
    (the campaign alone would dial it as soon as the first two answered)."""

    async def main() -> None:
        port = free_port()
        leads = [(f"+1212555010{i}", zone_at(12), port) for i in range(3)]
        path = broadcast_files(tmp_path, leads, "lines = 2", seconds=1.5)
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo", "-m", "3")
            most = 0

            def done() -> bool:
                nonlocal most
                most = max(most, len(d._live))
                return len(d.stats.broadcasts) == 3 and not d._live

            assert await wait_for(done, 30.0)
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert most == 2
            assert d.campaign.stats()["dials"] == 3
            assert all(b.complete for b in d.stats.broadcasts)
        cdrs = records(tmp_path)
        assert [r.outcome for r in cdrs] == ["broadcast"] * 3  # type: ignore[attr-defined]
        # The third dial went out after the first message had ended.
        first_end = min(r.end for r in cdrs)  # type: ignore[attr-defined]
        assert max(r.arrival for r in cdrs) >= first_end - 0.05  # type: ignore[attr-defined]

    run(main)


def test_a_lead_hanging_up_early_heard_part_of_the_message(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = broadcast_files(tmp_path, [("+12125550100", zone_at(12), port)], seconds=4.0)
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_hangs_up", port, "-rtp_echo")
            assert await asyncio.wait_for(lead, 30.0) == 0
            assert await wait_for(lambda: d.stats.broadcasts and not d._live, 10.0)
        (cdr,) = records(tmp_path)
        assert cdr.outcome == "broadcast"  # type: ignore[attr-defined]
        assert cdr.attributes["complete"] is False  # type: ignore[attr-defined]
        assert 0.5 < cdr.attributes["heard"] < 3.0  # the lead hung up about 1 s in  # type: ignore[attr-defined]

    run(main)


def test_a_busy_lead_is_retried(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = broadcast_files(
            tmp_path,
            [("+12125550101", zone_at(12), port)],
            "max_attempts = 2\nretry = { busy = 1 }",
        )
        async with serving(path) as center:
            d = dialer(center)
            lead = lead_sipp(tmp_path, "uas_lead_busy", port, "-m", "2")
            assert await wait_for(lambda: d.campaign.stats()["busy"] == 2 and not d._live, 30.0)
            assert await asyncio.wait_for(lead, 30.0) == 0
            info = d.campaign.lead(0)
            assert (info["attempts"], info["state"], info["refusal"]) == (2, "done", "max-attempts")
            assert d.stats.broadcasts == []
        cdrs = records(tmp_path)
        assert [(r.outcome, r.attributes["sip_status"]) for r in cdrs] == [("busy", 486)] * 2  # type: ignore[attr-defined]

    run(main)


def test_broadcast_config_mistakes_name_the_field(tmp_path: Path) -> None:
    path = broadcast_files(tmp_path, [("+12125550100", "UTC", 5999)], "lines = 0")
    path.write_text(path.read_text().replace('message = "promo"', 'message = "nothing"'))
    with pytest.raises(FlowError) as e:
        load_config(path)
    message = str(e.value)
    assert "campaign.message: no prompt 'nothing'" in message
    assert "campaign.lines: must be at least 1 call at once, got 0" in message

    path.write_text(path.read_text().replace('message = "nothing"\n', "").replace("lines = 0", ""))
    with pytest.raises(FlowError, match=r"campaign: missing field 'message' \(the prompt"):
        load_config(path)

    # A message outside voice broadcast, and the agent modes still need a queue.
    text = path.read_text().replace('mode = "voice-broadcast"', 'mode = "progressive"')
    path.write_text(text + 'message = "promo"\n')
    with pytest.raises(FlowError) as e:
        load_config(path)
    message = str(e.value)
    assert (
        "campaign.message: only voice broadcast plays a message (mode is 'progressive')" in message
    )
    assert "campaign: missing field 'queue'" in message
    assert "campaign: missing field 'info_message'" in message
