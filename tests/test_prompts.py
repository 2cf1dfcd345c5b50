"""The prompts shipped in the package: each loads as 8 kHz mono audio that is not silent, the
music on hold loops without a click, and unknown names are refused by name."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest
from acdcore import prompts
from acdcore.media.wav import load_wav

EXPECTED = {
    "welcome", "main-menu", "invalid-choice", "no-choice", "enter-customer-number", "enter-pin",
    "login-failed", "please-hold", "press-1-voicemail-2-callback", "still-trying",
    "leave-a-message", "beep", "we-will-call-you-back", "we-are-closed", "survey-press-1-to-5",
    "goodbye", "moh", "outbound-info", "callback-connecting",
    *(f"position-{i}" for i in range(1, 21)), *(f"wait-{n}-minutes" for n in range(1, 11)),
}  # fmt: skip
FLOW = Path(__file__).resolve().parent.parent / "examples" / "contact_center" / "flow.toml"


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


def test_announcements_pick_the_prompt() -> None:
    assert prompts.position_announcement(3) == prompts.path("position-3")
    with pytest.raises(ValueError, match="position 21"):
        prompts.position_announcement(21)
    assert prompts.wait_announcement(0) == prompts.path("wait-1-minutes")
    assert prompts.wait_announcement(2.5) == prompts.path("wait-3-minutes")
    assert prompts.wait_announcement(60) == prompts.path("wait-10-minutes")
    with pytest.raises(ValueError, match="not a non-negative"):
        prompts.wait_announcement(float("nan"))


def test_every_prompt_the_example_flow_names_is_shipped() -> None:
    named = set(re.findall(r'prompts? = \[?"([^"]+)"', FLOW.read_text()))
    assert "main-menu" in named and len(named) > 10
    assert named <= set(prompts.names()), named - set(prompts.names())
