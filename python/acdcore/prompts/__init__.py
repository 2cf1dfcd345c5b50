"""Prompts shipped with acdcore: 8 kHz mono 16-bit WAVs for call flows and the demo.

Speech was synthesized with espeak-ng, the beep and the music on hold (`moh`, a loop that
joins without a click) computed with numpy; `scripts/make_prompts.py` regenerates them and
README.md in this folder states their license. Names are the ones the example flow
(examples/contact_center/flow.toml) and the queue node's defaults (`position-{position}`,
`wait-{minutes}-minutes`) ask for.
"""

from __future__ import annotations

import math
from pathlib import Path

_HERE = Path(__file__).resolve().parent
POSITIONS = range(1, 21)
"""Caller positions that have a spoken number."""
WAITS = range(1, 11)
"""Whole minutes that have an estimated-wait sentence."""


def names() -> list[str]:
    """Every shipped prompt, sorted."""
    return sorted(p.stem for p in _HERE.glob("*.wav"))


def path(name: str) -> Path:
    """The WAV file of prompt `name`; KeyError naming it (and the known ones) when unknown."""
    found = _HERE / f"{name}.wav"
    if "/" in name or "\\" in name or not name or not found.is_file():
        raise KeyError(f"unknown prompt {name!r}; known prompts: {', '.join(names())}")
    return found


def position_announcement(position: int) -> Path:
    """ "You are caller number <position>."; ValueError outside 1..20."""
    if position not in POSITIONS:
        raise ValueError(f"position {position} has no announcement (1 to {POSITIONS[-1]})")
    return path(f"position-{position}")


def wait_announcement(minutes: float) -> Path:
    """ "Your estimated wait is about N minutes.", N the whole minutes rounded up (1 to 10)."""
    if not minutes >= 0:
        raise ValueError(f"wait of {minutes!r} minutes is not a non-negative number")
    spoken = min(WAITS[-1], max(1, math.ceil(minutes)))
    return path(f"wait-{spoken}-minutes")
