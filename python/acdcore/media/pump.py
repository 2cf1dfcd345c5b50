"""One pacer per event loop for the music on hold and prompts of every `RtpSession`: a single
asyncio timer calls `MohPump.tick(loop.time())` every 20 ms, and Rust cuts, numbers and sends
every stream's frame (`sendmmsg`, GIL released). A timer per stream and a Python `sendto` per
packet held about 100 streams here; see benches/README.md.

`RtpSession` uses it by itself when it can (Linux, an IP-literal remote, no DTMF, relay or
recording in progress) and takes a stream back into its own pacer when it cannot.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

try:
    from acdcore._core import MohPump

    AVAILABLE = True
except ImportError:  # not Linux: sendmmsg is Linux-only; sessions pace themselves
    AVAILABLE = False

log = logging.getLogger(__name__)

Position = tuple[int, int, int, bool, int, int]
"""(sequence, timestamp, offset, marker, sent, skipped) of a stream's next packet."""


class Driver:
    """The loop's pump and its one timer; the timer runs only while a stream does."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pump = MohPump()
        # id -> on_end(reason, position); reason is None when a one-shot play ended, else why
        # a socket error dropped the stream.
        self._ends: dict[int, Callable[[str | None, Position], None]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def start(self, on_end: Callable[[str | None, Position], None], **stream: Any) -> int:
        sid: int = self.pump.start(self.loop.time(), **stream)
        self._ends[sid] = on_end
        if self._timer is None:
            self._arm()
        return sid

    def stop(self, sid: int) -> Position | None:
        self._ends.pop(sid, None)
        pos: Position | None = self.pump.stop(sid)
        return pos

    def position(self, sid: int) -> Position | None:
        pos: Position | None = self.pump.position(sid)
        return pos

    def _arm(self) -> None:
        due = self.pump.next_due()
        if due is None:
            self._timer = None
            return
        self._timer = self.loop.call_at(due, self._tick)

    def _tick(self) -> None:
        report = self.pump.tick(self.loop.time())
        for sid, pos in report.finished:
            end = self._ends.pop(sid, None)
            if end is not None:
                end(None, pos)
        for sid, reason, pos in report.dropped:
            log.warning("RTP stream %d dropped from the music-on-hold pump: %s", sid, reason)
            end = self._ends.pop(sid, None)
            if end is not None:
                end(reason, pos)
        self._arm()


_drivers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Driver] = weakref.WeakKeyDictionary()


def driver(loop: asyncio.AbstractEventLoop) -> Driver | None:
    """The pump of `loop` (made on first use), or None where there is no pump."""
    if not AVAILABLE:
        return None
    d = _drivers.get(loop)
    if d is None:
        d = _drivers[loop] = Driver(loop)
    return d
