"""What the interpreter needs from a call's media leg, and what it reports about the call.

The media layer implements `CallChannel` for a live SIP call; tests implement it with a
scripted caller. Any method may raise `CallerHungUp` when the caller is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from acdcore.flows.result import CallResult


class CallerHungUp(Exception):
    """The caller left; the interpreter ends the flow (an abandon if the call was queued)."""


class CallChannel(Protocol):
    @property
    def caller_id(self) -> str: ...
    @property
    def called(self) -> str: ...
    async def play(self, prompt: str) -> None:
        """Play a prompt to the end (prompt names are the media layer's: a WAV name)."""

    async def play_moh(self) -> None:
        """Start music on hold and return at once; it plays until stop_media or play."""

    async def stop_media(self) -> None: ...
    async def digits(self, timeout: float, max_digits: int, terminator: str = "") -> str:
        """Digits pressed until `max_digits`, the terminator (not included) or `timeout`
        seconds without a key; '' when none came."""

    async def record(self, path: str, max_seconds: float, beep: bool) -> float:
        """Record the caller into `path` (after a beep); returns the seconds recorded."""

    async def transfer(self, target: str) -> bool:
        """Blind transfer to a number or extension; False when it was refused."""

    async def ring(self, targets: Sequence[str], timeout: float) -> str | None:
        """Ring `targets` at once and bridge the first to answer; None when nobody did."""

    async def connect(self, agent: str) -> bool:
        """Bridge the caller to `agent` until one side hangs up; True when the caller is
        still on the line (the agent left first, so a survey can follow)."""

    async def hangup(self) -> None: ...


class FlowObserver(Protocol):
    """Told of every node a call enters and of its end (call records implement this)."""

    def entered(self, call: str, node: str, kind: str, at: float) -> None: ...
    def ended(self, result: CallResult) -> None: ...


class NoObserver:
    def entered(self, call: str, node: str, kind: str, at: float) -> None:
        pass

    def ended(self, result: CallResult) -> None:
        pass
