"""Regenerates the prompts shipped in python/acdcore/prompts/ (run from the repository root:
`.venv/bin/python scripts/make_prompts.py`). Speech is synthesized by espeak-ng and converted
by sox to 8 kHz mono 16-bit; the beep and the music on hold are computed here with numpy.
Needs `apt-get install espeak-ng sox`. The output is deterministic for one espeak-ng version.
With prompt names as arguments only those speech prompts are made, the rest left alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 8000
OUT = Path(__file__).resolve().parent.parent / "python" / "acdcore" / "prompts"
VOICE = ["-v", "en-us", "-s", "170", "-p", "45"]

NUMBERS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
WAITS = 10  # wait-1-minutes .. wait-10-minutes

# Names are the ones examples/contact_center/flow.toml and the flow defaults
# (`position-{position}`, `wait-{minutes}-minutes`) ask for.
SPEECH = {
    "welcome": "Thank you for calling. Your call is important to us.",
    "main-menu": "For sales, press 1. For support, press 2. For the operator, press 0.",
    "invalid-choice": "Sorry, that is not a valid choice.",
    "no-choice": "Sorry, we did not get your choice.",
    "enter-customer-number": "Please enter your customer number, then press the hash key.",
    "enter-pin": "Please enter your PIN, then press the hash key.",
    "login-failed": "Sorry, those details are not correct.",
    "please-hold": "All our agents are busy. Please hold, and we will be with you shortly.",
    "press-1-voicemail-2-callback": "To leave a message, press 1. To be called back, press 2.",
    "still-trying": "We are still trying to connect you. Thank you for waiting.",
    "leave-a-message": "Please leave a message after the tone. Hang up when you are done.",
    "we-will-call-you-back": "Thank you. We will call you back when an agent is free. Goodbye.",
    "we-are-closed": "We are closed. Our opening hours are 9 to 5, Monday to Friday.",
    "survey-press-1-to-5": "Please rate your call from 1 to 5, where 5 is excellent.",
    "goodbye": "Thank you for calling. Goodbye.",
    # A customer-first callback's answer (app/callbacks.py `connect_prompt`): who calls and
    # why, before the hold music while an agent comes.
    "callback-connecting": "Hello, this is the callback you asked for. "
    "Please hold while we connect you to an agent.",
    # Played to a person the dialer called when no agent was free (app/dialer.py): who called
    # and how to reach them, as the abandoned-call rules ask.
    "outbound-info": "This call was from the acdcore contact center. Sorry, no agent was free. "
    "To call back, or not to be called again, dial 5 5 5, 0 1 0 0.",
    **{f"position-{i}": f"You are caller number {word}." for i, word in enumerate(NUMBERS, 1)},
    **{
        f"wait-{n}-minutes": f"Your estimated wait is about {NUMBERS[n - 1]} "
        + ("minute." if n == 1 else "minutes.")
        for n in range(1, WAITS + 1)
    },
}


def write(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype("<i2").tobytes())


def speak(name: str, text: str, tmp: Path) -> None:
    raw = tmp / f"{name}.raw.wav"
    subprocess.run(["espeak-ng", *VOICE, "-w", str(raw), text], check=True)
    # Telephone band, a little headroom, leading and trailing silence trimmed to 30 ms.
    subprocess.run(
        ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(OUT / f"{name}.wav"),
         "highpass", "300", "lowpass", "3400", "norm", "-3",
         "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
         "pad", "0.03", "0.03"],
        check=True,
    )  # fmt: skip


def beep() -> np.ndarray:
    """A 1 kHz tone of 0.4 s with 10 ms raised-cosine edges (no click at either end)."""
    t = np.arange(int(0.4 * RATE)) / RATE
    edge = int(0.01 * RATE)
    env = np.ones_like(t)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
    env[:edge], env[-edge:] = ramp, ramp[::-1]
    return np.round(12000 * env * np.sin(2 * np.pi * 1000 * t))


def music() -> np.ndarray:
    """Music on hold: four soft chords (C, A minor, F, G major), 2 s each, sine partials with
    slow attack and release. Each chord's envelope starts and ends at zero, so the 8 s loop
    joins without a click."""
    chords = [
        (261.63, 329.63, 392.00),
        (220.00, 261.63, 329.63),
        (174.61, 220.00, 261.63),
        (196.00, 246.94, 293.66),
    ]
    n = 2 * RATE
    t = np.arange(n) / RATE
    env = np.sin(np.pi * np.arange(n) / n) ** 2  # zero at both ends, smooth in between
    pieces = []
    for chord in chords:
        tone = sum(np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t) for f in chord)
        pieces.append(env * tone / (1.2 * len(chord)))
    return np.round(9000 * np.concatenate(pieces))


def main() -> int:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"make_prompts: {tool} is not installed (apt-get install espeak-ng sox)")
            return 1
    OUT.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:]  # names to (re)make alone, leaving the other files as they are
    if only:
        unknown = [n for n in only if n not in SPEECH]
        if unknown:
            print(f"make_prompts: no speech named {unknown[0]!r} (known: {', '.join(SPEECH)})")
            return 2
        with tempfile.TemporaryDirectory() as tmp:
            for name in only:
                speak(name, SPEECH[name], Path(tmp))
        print(f"make_prompts: {', '.join(only)} in {OUT}")
        return 0
    for old in OUT.glob("*.wav"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SPEECH.items():
            speak(name, text, Path(tmp))
    write(OUT / "beep.wav", beep())
    write(OUT / "moh.wav", music())
    total = sum(p.stat().st_size for p in OUT.glob("*.wav"))
    print(f"make_prompts: {len(list(OUT.glob('*.wav')))} prompts, {total / 1e6:.2f} MB in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
