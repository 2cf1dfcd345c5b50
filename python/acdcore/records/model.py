"""What the records layer stores: one call record (CDR) per finished call, queue-log events
as they happen, and the engine checkpoint that makes a restart lose nothing."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# "hangup": the flow ended the call before any queue (closed hours, a failed login, a menu
# fallback); only `CallRecorder.unqueued` writes it. "busy", "no-answer", "failed": outbound
# dials nobody answered; "machine": one answering-machine detection heard a machine take
# (app/dialer.py). "lost": the call's SIP dialogs did not survive a
# restart (CallRecorder.lose). "callback-expired": a held callback nobody took within
# `[callbacks] expire_after` (CallRecorder.expire_callback). "withdrawn": the host took the
# call back from its queue before an answer, nobody waiting on the line (a preview lead no
# agent took; CallRecorder.withdraw): not an abandon. "broadcast": a voice-broadcast lead
# answered and played the campaign's message (app/dialer.py), no queue nor agent involved.
OUTCOMES = (
    "answered",
    "abandoned",
    "timeout",
    "transferred",
    "callback",
    "voicemail",
    "refused",
    "hangup",
    "busy",
    "no-answer",
    "failed",
    "machine",
    "lost",
    "callback-expired",
    "withdrawn",
    "broadcast",
)
LOG_EVENTS = (
    "enter", "abandon", "connect", "complete", "transfer", "timeout", "callback", "lost",
    "callback-expired", "withdraw",
)  # fmt: skip
# Fields a host may set on a record after the engine is done with it (wrap-up, survey...).
ANNOTATIONS = (
    "disposition",
    "hold",
    "wrapup",
    "recording_path",
    "voicemail_path",
    "survey_score",
    "caller",
    "called",
)


@dataclass
class CallRecord:
    """A finished call. Times are UNIX seconds; durations seconds."""

    call_id: str
    queue: str
    arrival: float
    outcome: str
    caller: str | None = None
    called: str | None = None
    agent: str | None = None
    answer: float | None = None
    end: float | None = None
    wait: float | None = None
    talk: float | None = None
    hold: float | None = None
    wrapup: float | None = None
    disposition: str | None = None
    recording_path: str | None = None
    voicemail_path: str | None = None
    survey_score: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        return cls(**data)


@dataclass(frozen=True)
class LogEvent:
    """One queue-log line: `event` is one of LOG_EVENTS, `data` its details."""

    time: float
    event: str
    call_id: str
    queue: str | None = None
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """Engine snapshot plus the host's state for calls still open, committed with the records
    that led to it, so the two never disagree after a crash."""

    engine: bytes
    state: dict[str, Any]


@dataclass
class Batch:
    """Everything one commit writes, in one transaction."""

    calls: list[CallRecord] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    log: list[LogEvent] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    # Host blobs by name to write (None deletes one); a later batch's value wins.
    blobs: dict[str, bytes | None] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.calls) + len(self.updates) + len(self.log)

    def merge(self, other: Batch) -> None:
        self.calls.extend(other.calls)
        self.updates.extend(other.updates)
        self.log.extend(other.log)
        if other.checkpoint is not None:
            self.checkpoint = other.checkpoint
        self.blobs.update(other.blobs)


def check_annotations(fields: dict[str, Any]) -> None:
    """Refuse unknown or ill-typed annotation fields, naming them."""
    for name, value in fields.items():
        if name not in ANNOTATIONS:
            raise ValueError(f"unknown call record field {name!r}")
        if value is None:
            continue
        if name in ("hold", "wrapup"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
        elif name == "survey_score":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise ValueError(f"survey_score must be an integer from 1 to 5, got {value!r}")
        elif not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")


def dumps(data: dict[str, Any]) -> str:
    """JSON for attribute and data columns; refuses what would not read back."""
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"attributes are not JSON-serialisable: {e}") from None
