"""RTP media against real SIPp on 127.0.0.1 (free ports, one call or one echo run each):
a call with PCMA audio and RFC 2833 digits from SIPp's pcaps into our UAS playing a 1 kHz
prompt and recording, and SIPp's `-rtp_echo` returning what we send."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from acdcore._core import tone_amplitude
from acdcore.media import CallMedia, open_rtp, read_stereo, write_wav
from acdcore.sip.uas import Uas, serve_uas
from test_media import tone
from test_sip_transport import FAST, SCENARIOS, free_port, run_sipp, sipp


def test_sipp_call_audio_digits_and_recording(tmp_path: Path) -> None:
    prompt = tmp_path / "tone.wav"
    write_wav(prompt, tone(1000, 10.0))
    rec = tmp_path / "rec"
    rec.mkdir()

    async def body() -> None:
        media = CallMedia("prompt", prompt, rec, ports=(30000, 39999))
        uas = Uas(media=media)
        server = await serve_uas(uas, port=0, timers=FAST)
        try:
            code = await run_sipp(
                server.address,
                "-sf", str(SCENARIOS / "uac_media_dtmf.xml"), "-s", "acd", "-m", "1",
                stat=tmp_path / "stat.csv", timeout=40,
            )  # fmt: skip
        finally:
            server.close()
            media.close()
        assert code == 0
        assert uas.stats.answered == 1 and uas.stats.ended == 1
        assert not media.sessions
        [(_, stats)] = media.ended
        # 1.5 s of 20 ms audio, then four digits' event packets.
        assert stats.received > 60, stats
        assert stats.dtmf == "123#", stats
        assert stats.sent > 100 and stats.malformed == 0
        [wav] = rec.glob("*.wav")
        left, right = read_stereo(wav)
        # g711a.pcap: 0.6 s of near silence, then speech, until the digits replace it.
        speech = left[:16000].astype(int)
        assert np.abs(speech).max() > 1000 and np.abs(speech).mean() > 50
        # Our channel carries the prompt (through PCMA); the caller's (speech) does not.
        assert tone_amplitude(right[4000:12000], 1000) > 6000
        assert tone_amplitude(left[:16000], 1000) < 1000

    asyncio.run(body())


def test_sipp_rtp_echo_returns_what_we_send(tmp_path: Path) -> None:
    async def body() -> None:
        port = free_port() & ~1
        proc = await asyncio.create_subprocess_exec(
            sipp(), "-sn", "uas", "-i", "127.0.0.1", "-p", str(free_port()),
            "-mi", "127.0.0.1", "-mp", str(port), "-rtp_echo", "-cp", str(free_port()),
            "-nostdin", "-timeout", "20s",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=tmp_path,
        )  # fmt: skip
        try:
            await asyncio.sleep(0.5)  # SIPp binds its media port at start
            s = await open_rtp(ports=(30000, 39999), remote=("127.0.0.1", port))
            played = s.play(tone(1000, 1.0))
            await played
            await asyncio.sleep(0.2)
            s.close()
        finally:
            proc.kill()
            await proc.wait()
        assert s.stats.sent == 50
        assert s.stats.received == s.stats.sent
        assert s.stats.lost == 0 and s.stats.malformed == 0

    asyncio.run(body())
