"""Prompts shipped with acdcore: 8 kHz mono 16-bit WAVs for call flows and the demo.

Speech was synthesized with espeak-ng, the beep and the music on hold (`moh`, a loop that
joins without a click) computed with numpy; `scripts/make_prompts.py` regenerates them and
README.md in this folder states their license. Positions and waits are pieces to play in
turn: `position_announcement(3)` is "you are caller number" then "three".
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
POSITIONS = range(1, 21)
"""Caller positions that have a spoken number."""
WAITS = (1, 2, 5, 10)
"""Minutes that have an estimated-wait sentence."""


def names() -> list[str]:
    """Every shipped prompt, sorted."""
    return sorted(p.stem for p in _HERE.glob("*.wav"))


def path(name: str) -> Path:
    """The WAV file of prompt `name`; KeyError naming it (and the known ones) when unknown."""
    found = _HERE / f"{name}.wav"
    if "/" in name or "\\" in name or not name or not found.is_file():
        raise KeyError(f"unknown prompt {name!r}; known prompts: {', '.join(names())}")
    return found


def position_announcement(position: int) -> list[Path]:
    """The prompts that say "you are caller number <position>", to play one after the other."""
    if position not in POSITIONS:
        raise ValueError(f"position {position} has no announcement (1 to {POSITIONS[-1]})")
    return [path("position"), path(f"number_{position}")]


def wait_announcement(minutes: float) -> Path:
    """The estimated-wait sentence closest to `minutes` (rounded up to a spoken value)."""
    if not minutes >= 0:
        raise ValueError(f"wait of {minutes!r} minutes is not a non-negative number")
    spoken = next((m for m in WAITS if minutes <= m), WAITS[-1])
    return path(f"wait_{spoken}")
