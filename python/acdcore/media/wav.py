"""WAV files in and out, with the stdlib `wave` module: prompts and music on hold are read as
8 kHz mono int16 (other rates and stereo converted), recordings written as 8 kHz stereo."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000
Samples = npt.NDArray[np.int16]


def load_wav(path: str | Path) -> Samples:
    """The file's audio as 8 kHz mono int16; ValueError naming the file when it cannot be."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path}: not a PCM WAV file ({e})") from e
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from e
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported (need 16-bit PCM)")
    if channels not in (1, 2):
        raise ValueError(f"{path}: {channels} channels are not supported (need mono or stereo)")
    data = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    if channels == 2:
        data = data[: len(data) // 2 * 2].reshape(-1, 2).mean(axis=1)
    if rate != RATE:
        data = resample(data, rate)
    if len(data) == 0:
        raise ValueError(f"{path}: no audio")
    return np.clip(np.round(data), -32768, 32767).astype(np.int16)


def resample(data: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Linear interpolation to 8 kHz: plain, and enough for prompts headed into G.711."""
    if rate <= 0:
        raise ValueError(f"sample rate {rate} is not positive")
    n = int(len(data) * RATE / rate)
    positions = np.arange(n) * (rate / RATE)
    out: npt.NDArray[np.float64] = np.interp(positions, np.arange(len(data)), data)
    return out


def write_wav(path: str | Path, samples: Samples, rate: int = RATE) -> None:
    """A mono 16-bit WAV (tests and tools generate prompts with it)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def write_stereo(path: str | Path, left: Samples, right: Samples) -> None:
    """Two channels padded with silence to the same length."""
    n = max(len(left), len(right))
    both = np.zeros((n, 2), dtype="<i2")
    both[: len(left), 0] = left
    both[: len(right), 1] = right
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(both.tobytes())


def read_stereo(path: str | Path) -> tuple[Samples, Samples]:
    """(left, right) of a 16-bit stereo WAV, as recordings are written."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 2 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: not a 16-bit stereo WAV")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return data[:, 0].copy(), data[:, 1].copy()
