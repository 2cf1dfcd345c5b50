"""Prompts by name from a directory of 8 kHz WAVs, encoded once per codec for every call."""

from __future__ import annotations

import logging
from pathlib import Path

from acdcore._core import alaw_encode, ulaw_encode
from acdcore.media.wav import load_wav

log = logging.getLogger(__name__)

_ENCODERS = {"PCMU": ulaw_encode, "PCMA": alaw_encode}


class Prompts:
    """`encoded(name, codec)`: the bytes of `<directory>/<name>.wav` in that codec, or None
    when there is no such prompt (logged once: a missing prompt is skipped, not fatal)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ValueError(f"prompts directory {self.directory} does not exist")
        self._cache: dict[tuple[str, str], bytes | None] = {}

    def encoded(self, name: str, codec: str) -> bytes | None:
        key = (name, codec)
        if key not in self._cache:
            if "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"prompt name {name!r} must be a plain name")
            path = self.directory / f"{name}.wav"
            if not path.is_file():
                log.warning("no prompt %s (looked for %s)", name, path)
                self._cache[key] = None
            else:
                self._cache[key] = _ENCODERS[codec](load_wav(path)) or None
        return self._cache[key]
