"""What one call went through, handed to the observer at its end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a call ended: the disposition the flow reports (an agent's code is `agent_disposition`).
OUTCOMES = (
    "answered",
    "abandoned",
    "voicemail",
    "callback",
    "transferred",
    "ring-group",
    "hangup",
    "timeout",
    "step-limit",
    "time-limit",
    "error",
)


@dataclass
class CallResult:
    call: str
    caller_id: str
    outcome: str = "hangup"
    path: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    agent: str | None = None
    agent_disposition: str | None = None
    voicemail: str | None = None
    transferred_to: str | None = None
    survey_score: int | None = None
    started: float = 0.0
    ended: float = 0.0
