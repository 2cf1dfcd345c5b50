"""Trace replay (docs/trace-format.md) from Python: the Rust engine runs the whole trace
without the GIL; these helpers parse its JSON-lines output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from os import PathLike
from typing import Any

from acdcore import _core


def _parse(out: bytes, error: str | None) -> list[dict[str, Any]]:
    if error is not None:
        raise ValueError(error)
    # One parse of the whole output as a JSON array: several times faster than a parse per line.
    body = out.rstrip(b"\n").replace(b"\n", b",")
    events: list[dict[str, Any]] = json.loads(b"[" + body + b"]")
    return events


def replay(path: str | PathLike[str]) -> list[dict[str, Any]]:
    """Replay the trace file at `path`; return its output events, the summary last.

    Raises ValueError("line N: reason") for an invalid trace and OSError for an unreadable file.
    """
    out, error = _core.replay_file(str(path))
    return _parse(out, error)


def replay_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Replay a trace given as JSON lines (without or with trailing newlines)."""
    # surrogatepass: a lone surrogate reaches the parser as invalid UTF-8 and is reported
    # with its line number, like any other bad line.
    data = "\n".join(line.rstrip("\n") for line in lines).encode("utf-8", "surrogatepass")
    out, error = _core.replay_bytes(data)
    return _parse(out, error)
