"""`SipChannel`: the flows' `CallChannel` over one answered SIP call with anchored media.

We answered the caller's INVITE with our own SDP, so the caller's RTP ends in our
`RtpSession`: prompts and music on hold are played from it, RFC 4733 digits (and SIP INFO
digits, fed by the server) arrive in `_digits`, and `connect` bridges it to an agent leg the
server rang. `gone` is set when the caller's BYE or CANCEL comes; every wait races it and
raises `CallerHungUp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from acdcore._core import RtpPacket, alaw_decode, ulaw_decode
from acdcore.flows.channel import CallerHungUp
from acdcore.media.bridge import bridge
from acdcore.media.session import RtpSession
from acdcore.media.wav import write_wav

if TYPE_CHECKING:
    from acdcore.app.legs import AgentLeg
    from acdcore.app.server import ContactCenter

log = logging.getLogger(__name__)
T = TypeVar("T")
_DECODE = {"PCMU": ulaw_decode, "PCMA": alaw_decode}


class SipChannel:
    def __init__(
        self, center: ContactCenter, call_id: str, caller_id: str, called: str, rtp: RtpSession
    ) -> None:
        self.center = center
        self.call_id = call_id  # the engine's and the records' id of this call
        self._caller_id = caller_id
        self._called = called
        self.rtp = rtp
        self.gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._digits: asyncio.Queue[str] = asyncio.Queue()
        rtp.on_digit = self._digits.put_nowait

    @property
    def caller_id(self) -> str:
        return self._caller_id

    @property
    def called(self) -> str:
        return self._called

    def digit(self, d: str) -> None:
        """A digit from SIP INFO."""
        self._digits.put_nowait(d)

    def hung_up(self, why: str) -> None:
        if not self.gone.done():
            self.gone.set_result(why)

    async def _race(self, aw: Awaitable[T]) -> T:
        """`aw`'s result, or CallerHungUp when the caller leaves first."""
        if self.gone.done():
            if inspect.iscoroutine(aw):
                aw.close()  # never started: closing it spares a "never awaited" warning
            raise CallerHungUp(self.gone.result())
        task = asyncio.ensure_future(aw)
        waits: set[asyncio.Future[Any]] = {task, self.gone}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # our caller gave up (a queue wait's key listener)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise CallerHungUp(self.gone.result())

    async def play(self, prompt: str) -> None:
        codes = self.center.prompts.encoded(prompt, self.rtp.codec)
        if codes is None:
            return
        await self._race(self.rtp.play_encoded(codes))

    async def play_moh(self) -> None:
        codes = self.center.prompts.encoded(self.center.config.music, self.rtp.codec)
        if self.gone.done():
            raise CallerHungUp(self.gone.result())
        if codes is not None:
            self.rtp.play_encoded(codes, loop=True)

    async def stop_media(self) -> None:
        self.rtp.stop_playing()

    async def digits(self, timeout: float, max_digits: int, terminator: str = "") -> str:
        got = ""
        while len(got) < max_digits:
            if self.gone.done():  # before making the coroutines _race would not start
                raise CallerHungUp(self.gone.result())
            try:
                d = await self._race(asyncio.wait_for(self._digits.get(), timeout))
            except TimeoutError:
                break
            if terminator and d == terminator:
                break
            got += d
        return got

    async def record(self, path: str, max_seconds: float, beep: bool) -> float:
        """The caller's audio (not ours) into a mono WAV; ends at `max_seconds`, `#` or the
        caller's hang-up (a voicemail normally ends with the hang-up: that is not an error)."""
        if beep:
            await self.play("beep")
        frames: list[bytes] = []
        rtp = self.rtp

        def take(_: RtpSession, p: RtpPacket) -> None:
            if p.payload_type == rtp.payload_type:
                frames.append(p.payload)

        rtp.on_packet = take
        try:
            with contextlib.suppress(CallerHungUp, TimeoutError):
                async with asyncio.timeout(max_seconds):
                    while await self._race(self._digits.get()) != "#":
                        pass
        finally:
            rtp.on_packet = None
        samples = _DECODE[rtp.codec](b"".join(frames)) if frames else np.zeros(0, np.int16)
        full = self.center.voicemail_path(path)
        write_wav(full, samples)
        return len(samples) / 8000.0

    async def transfer(self, target: str) -> bool:
        return await self.ring([target], 30.0) is not None

    async def ring(self, targets: Sequence[str], timeout: float) -> str | None:
        leg = await self._race(self.center.legs.ring_first(self.call_id, targets, timeout))
        if leg is None:
            return None
        # Bridged: the flow is done with the call (the interpreter will not hang it up), so
        # either side leaving is its normal end, and the other side is ours to hang up.
        with contextlib.suppress(CallerHungUp):  # _talk sent the target its BYE
            if await self._talk(leg):
                self.center.end_caller(self.call_id)
        return leg.target

    async def connect(self, agent: str) -> bool:
        leg = self.center.legs.answered_leg(self.call_id, agent)
        if leg is None:
            log.warning("call %s: assigned to %s but no answered leg", self.call_id, agent)
            return True
        return await self._talk(leg)

    async def _talk(self, leg: AgentLeg) -> bool:
        """Bridge until one side leaves; True when the agent left first."""
        link = bridge(self.rtp, leg.rtp)
        try:
            why = await self._race(asyncio.shield(leg.call.ended))
            log.info("call %s: %s left first (%s)", self.call_id, leg.target, why)
            return True
        except CallerHungUp:
            await leg.call.bye()
            raise
        finally:
            link.close()
            self.center.stats.relayed += link.relayed
            leg.rtp.close()
            # Keys the caller pressed while talking were for the agent (relayed with the
            # media): left here they would answer the survey that follows.
            while not self._digits.empty():
                self._digits.get_nowait()

    async def hangup(self) -> None:
        self.center.end_caller(self.call_id)
