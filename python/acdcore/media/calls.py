"""`CallMedia`: what the UAS does with the audio of the calls it answers: a prompt played
once, music on hold looped, or an echo; optionally each call recorded to a stereo WAV."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from pathlib import Path

from acdcore._core import SdpAnswer, alaw_encode, ulaw_encode

from .session import RtpSession, RtpStats, bind_rtp_socket
from .wav import load_wav

MODES = ("moh", "prompt", "echo", "silent")
DialogKey = tuple[str, str, str]


class CallMedia:
    """The UAS media hook (`Uas(media=...)`): one `RtpSession` per answered call, opened on
    a free even port of `ports` when the 200 is built and closed on BYE or timeout."""

    def __init__(
        self,
        mode: str = "moh",
        audio: str | Path | None = None,
        record_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        ports: tuple[int, int] = (40000, 49999),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"media mode {mode!r} is not one of {', '.join(MODES)}")
        if mode in ("moh", "prompt") and audio is None:
            raise ValueError(f"media mode {mode!r} needs an audio file")
        self.mode = mode
        samples = load_wav(audio) if audio is not None and mode in ("moh", "prompt") else None
        # Encoded once for every call: music on hold is the same bytes for all of them.
        self._encoded = (
            {} if samples is None else {"PCMU": ulaw_encode(samples), "PCMA": alaw_encode(samples)}
        )
        self.record_dir = None if record_dir is None else Path(record_dir)
        if self.record_dir is not None and not self.record_dir.is_dir():
            raise ValueError(f"record directory {self.record_dir} does not exist")
        self.host = host
        self.ports = ports
        self.sessions: dict[DialogKey, RtpSession] = {}
        self.ended: deque[tuple[str, RtpStats]] = deque(maxlen=1000)
        """(Call-ID, counters) of the latest calls that ended."""
        self._reserved: dict[DialogKey, RtpSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def reserve(self, key: DialogKey) -> int:
        session = RtpSession(bind_rtp_socket(self.host, self.ports))
        self._reserved[key] = session
        return session.local_address[1]

    def start(self, key: DialogKey, answer: SdpAnswer) -> None:
        session = self._reserved.pop(key)
        session.codec = answer.codec.upper()
        session.payload_type = answer.payload_type
        session.dtmf_payload_type = answer.dtmf_payload_type
        session.remote = (answer.remote_address, answer.remote_port)
        self.sessions[key] = session
        task = asyncio.get_running_loop().create_task(self._run(key[0], session))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call_id: str, session: RtpSession) -> None:
        await session.start()
        if session.closed:
            return
        if self.record_dir is not None:
            session.record(self.record_dir / f"{_safe(call_id)}.wav")
        if self.mode == "echo":
            session.echo = True
        elif self.mode in ("moh", "prompt"):
            session.play_encoded(self._encoded[session.codec], loop=self.mode == "moh")

    def end(self, key: DialogKey) -> None:
        session = self._reserved.pop(key, None) or self.sessions.pop(key, None)
        if session is not None:
            session.close()
            self.ended.append((key[0], session.stats))

    def summary(self) -> dict[str, int]:
        """Totals over the calls that ended (for the CLI's JSON)."""
        done = [s for _, s in self.ended]
        return {
            "calls": len(done),
            "open": len(self.sessions),
            "received": sum(s.received for s in done),
            "lost": sum(s.lost for s in done),
            "sent": sum(s.sent for s in done),
            "skipped": sum(s.skipped for s in done),
            "digits": sum(len(s.dtmf) for s in done),
        }

    def close(self) -> None:
        for key in list(self._reserved) + list(self.sessions):
            self.end(key)


def _safe(call_id: str) -> str:
    """A Call-ID as a file name: anything but letters, digits, '.', '-' and '_' becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", call_id)[:100] or "call"
