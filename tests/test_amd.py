"""Answering-machine detection on real speech: the shipped espeak-ng prompts stand in for a
person's short greeting and a voicemail's long one, fed as samples, as G.711 payloads, and
as RTP sent between two `RtpSession`s on 127.0.0.1."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from acdcore import prompts
from acdcore._core import ulaw_encode
from acdcore.media import AmdDecision, AnsweringMachineDetector, load_wav, open_rtp

SECOND = 8000


def line_noise(seconds: float, seed: int = 1) -> np.ndarray:
    """Quiet hiss (about -60 dBFS), as a real line has between words."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 30, int(seconds * SECOND)).astype(np.int16)


def person() -> np.ndarray:
    """ "You are caller number one" (1.2 s of speech), then the line waits for an answer."""
    return np.concatenate([load_wav(prompts.path("position-1")), line_noise(3.0)])


def voicemail() -> np.ndarray:
    """ "Please leave a message after the tone ..." and on: a greeting that talks on."""
    return np.concatenate([load_wav(prompts.path("leave-a-message")), line_noise(1.0)])


def detect(samples: np.ndarray, piece: int = 160, **cfg: float) -> AmdDecision:
    d = AnsweringMachineDetector(**cfg)  # type: ignore[arg-type]
    for i in range(0, len(samples), piece):
        got = d.feed(samples[i : i + piece])
        if got is not None:
            return got
    raise AssertionError(f"no decision after {d.heard} s")


def test_a_short_greeting_then_silence_is_a_person() -> None:
    v = detect(person())
    assert (v.verdict, v.reason) == ("human", "after-greeting-silence")
    # Decided 0.8 s after the greeting ended, long before the 5 s limit.
    speech_end = len(load_wav(prompts.path("position-1"))) / SECOND
    assert speech_end < v.at < speech_end + 0.85


def test_a_recorded_greeting_is_a_machine_within_two_seconds() -> None:
    v = detect(voicemail())
    assert v.verdict == "machine"
    assert v.reason in ("long-greeting", "max-words")
    assert v.at < 2.0


def test_silence_after_the_answer_is_a_machine() -> None:
    v = detect(line_noise(4.0))
    assert (v.verdict, v.reason, v.words) == ("machine", "initial-silence", 0)
    assert v.at == pytest.approx(2.5, abs=0.011)


def test_a_longer_allowed_greeting_hears_the_same_person_out() -> None:
    # "Leave a message" is 3.4 s: with a 4 s greeting and room for words it is not sure.
    v = detect(voicemail(), greeting=4.0, max_words=50, total=3.0)
    assert (v.verdict, v.reason) == ("not-sure", "too-long")


def test_g711_payloads_give_the_verdict_of_the_samples() -> None:
    audio = voicemail()
    want = detect(audio)
    d = AnsweringMachineDetector()
    got = None
    for i in range(0, len(audio), 160):
        got = d.feed_g711(ulaw_encode(audio[i : i + 160])) or got
    assert got is not None
    assert (got.verdict, got.reason) == (want.verdict, want.reason)
    assert got.at == pytest.approx(want.at, abs=0.03)
    assert d.decision is not None and d.decision.verdict == got.verdict


def test_over_rtp_between_two_sessions() -> None:
    async def run(audio_name: str, tail: float) -> AmdDecision | None:
        callee = await open_rtp(ports=(30000, 39999))
        caller = await open_rtp(ports=(30000, 39999), remote=callee.local_address)
        d = AnsweringMachineDetector()
        decided: asyncio.Future[AmdDecision] = asyncio.get_running_loop().create_future()

        def heard(_s: object, p: object) -> None:
            got = d.feed_g711(p.payload)  # type: ignore[attr-defined]
            if got is not None and not decided.done():
                decided.set_result(got)

        callee.on_packet = heard  # type: ignore[assignment]
        try:
            audio = np.concatenate([load_wav(prompts.path(audio_name)), line_noise(tail)])
            caller.play(audio)
            return await asyncio.wait_for(decided, 8.0)
        finally:
            caller.close()
            callee.close()

    person_v = asyncio.run(run("position-1", 2.0))
    machine_v = asyncio.run(run("leave-a-message", 0.5))
    assert person_v is not None and person_v.verdict == "human"
    assert machine_v is not None and machine_v.verdict == "machine"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("greeting", 0.0),
        ("total", float("nan")),
        ("after_greeting_silence", -1.0),
        ("max_words", 0),
        ("silence_dbfs", 0.0),
    ],
)
def test_bad_settings_are_refused_naming_them(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        AnsweringMachineDetector(**{field: value})  # type: ignore[arg-type]


def test_a_codec_that_is_not_g711_is_refused() -> None:
    with pytest.raises(ValueError, match=r"G\.711"):
        AnsweringMachineDetector().feed_g711(b"\xff" * 160, codec="opus")
