"""The prompts shipped in the package: each loads as 8 kHz mono audio that is not silent, the
music on hold loops without a click, and unknown names are refused by name."""

from __future__ import annotations

import wave

import numpy as np
import pytest
from acdcore import prompts
from acdcore.media.wav import load_wav

EXPECTED = {
    "welcome", "menu", "invalid", "all_busy", "position", "voicemail", "beep", "goodbye",
    "survey", "callback", "after_hours", "moh",
    *(f"number_{i}" for i in range(1, 21)), *(f"wait_{n}" for n in prompts.WAITS),
}  # fmt: skip


def test_every_expected_prompt_is_shipped_and_small() -> None:
    assert set(prompts.names()) == EXPECTED
    total = sum(prompts.path(n).stat().st_size for n in prompts.names())
    assert total < 2_000_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prompt_is_8khz_mono_16bit_and_not_silent(name: str) -> None:
    file = prompts.path(name)
    with wave.open(str(file), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    samples = load_wav(file).astype(np.float64)
    assert len(samples) >= 0.2 * 8000  # even "two" lasts a fifth of a second
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 500, f"{name} is nearly silent (rms {rms:.0f})"
    assert np.abs(samples).max() < 32767, f"{name} clips"


def test_music_on_hold_loops_without_a_click() -> None:
    moh = load_wav(prompts.path("moh")).astype(np.float64)
    assert len(moh) >= 4 * 8000
    # Across the loop point (last sample, then the first again) the step is no bigger than
    # the biggest step inside the music, and both ends are near zero.
    steps = np.abs(np.diff(moh))
    assert abs(moh[0] - moh[-1]) <= steps.max()
    assert abs(moh[0]) < 50 and abs(moh[-1]) < 50
    # The envelope is smooth at the joint: the last and first 10 ms are quiet.
    assert np.abs(moh[-80:]).max() < 300 and np.abs(moh[:80]).max() < 300


def test_unknown_prompt_is_a_key_error_naming_it() -> None:
    for bad in ("nope", "", "../prompts/moh", "moh.wav"):
        with pytest.raises(KeyError, match="unknown prompt"):
            prompts.path(bad)


def test_announcements_pick_the_pieces() -> None:
    assert prompts.position_announcement(3) == [prompts.path("position"), prompts.path("number_3")]
    with pytest.raises(ValueError, match="position 21"):
        prompts.position_announcement(21)
    assert prompts.wait_announcement(0.5) == prompts.path("wait_1")
    assert prompts.wait_announcement(3) == prompts.path("wait_5")
    assert prompts.wait_announcement(60) == prompts.path("wait_10")
    with pytest.raises(ValueError, match="not a non-negative"):
        prompts.wait_announcement(float("nan"))
