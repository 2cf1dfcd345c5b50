"""The call-flow model: one dataclass per node type, buildable in Python or loaded from TOML.

Fields hold plain values (str, int, float, bool, lists and dicts of them) so the TOML loader can
check every field against these annotations, and a flow built in Python goes through the same
validator. Targets are node ids; `None` means "no branch": the default outcome (hang up)
applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class Node:
    """Base of every node; `kind` is its `type = "..."` in TOML."""

    kind: ClassVar[str] = ""
    # Fields naming other nodes, in the order reported when one is missing.
    targets: ClassVar[tuple[str, ...]] = ()

    def branches(self) -> list[tuple[str, str]]:
        """(field, target) for every branch this node can take."""
        out: list[tuple[str, str]] = []
        for name in self.targets:
            value = getattr(self, name)
            if isinstance(value, str):
                out.append((name, value))
            elif isinstance(value, dict):
                out.extend((f"{name}.{key}", target) for key, target in value.items())
        return out

    def can_end(self) -> bool:
        """Whether some outcome of this node ends the call (hang-up, answer, default branch)."""
        return False


@dataclass
class Greeting(Node):
    """Play one or more prompts, then go on."""

    kind: ClassVar[str] = "greeting"
    targets: ClassVar[tuple[str, ...]] = ("next",)
    prompts: list[str]
    next: str


@dataclass
class Menu(Node):
    """Play a prompt and branch on one DTMF key; timeouts and invalid keys retry, then fall back."""

    kind: ClassVar[str] = "menu"
    targets: ClassVar[tuple[str, ...]] = ("options", "fallback")
    prompt: str
    options: dict[str, str]
    timeout: float = 5.0
    retries: int = 2
    invalid_prompt: str | None = None
    timeout_prompt: str | None = None
    # After the last retry; without one the call is hung up.
    fallback: str | None = None

    def can_end(self) -> bool:
        return self.fallback is None


@dataclass
class Collect(Node):
    """Collect digits into a call attribute."""

    kind: ClassVar[str] = "collect"
    targets: ClassVar[tuple[str, ...]] = ("next", "fallback")
    prompt: str
    into: str
    next: str
    min_digits: int = 1
    max_digits: int = 16
    terminator: str = "#"
    timeout: float = 5.0
    retries: int = 2
    invalid_prompt: str | None = None
    fallback: str | None = None

    def can_end(self) -> bool:
        return self.fallback is None


@dataclass
class Authenticate(Node):
    """Collect an ID and a PIN and verify them with a named Python verifier or an HTTP webhook.

    `failed` after `retries` wrong answers, `error` when the verifier fails or times out
    (defaults to `failed`).
    """

    kind: ClassVar[str] = "authenticate"
    targets: ClassVar[tuple[str, ...]] = ("next", "failed", "error")
    id_prompt: str
    pin_prompt: str
    next: str
    failed: str | None = None
    error: str | None = None
    verifier: str | None = None
    webhook: str | None = None
    timeout: float = 3.0
    retries: int = 2
    id_digits: int = 16
    pin_digits: int = 8
    digit_timeout: float = 5.0
    terminator: str = "#"
    invalid_prompt: str | None = None

    def can_end(self) -> bool:
        return self.failed is None


@dataclass
class Hours(Node):
    """Branch on business hours and holidays in an IANA time zone.

    `weekly` entries read "mon-fri 08:00-18:00" or "sat 09:00-12:30"; `holidays` are
    YYYY-MM-DD dates (local), closed all day, taking `holiday` (default `closed`).
    """

    kind: ClassVar[str] = "hours"
    targets: ClassVar[tuple[str, ...]] = ("open", "closed", "holiday")
    timezone: str
    weekly: list[str]
    open: str
    closed: str
    holidays: list[str] = field(default_factory=list)
    holiday: str | None = None


@dataclass
class SetAttributes(Node):
    """Set language, priority, skills; VIP from the caller ID list or a named CRM lookup."""

    kind: ClassVar[str] = "set"
    targets: ClassVar[tuple[str, ...]] = ("next",)
    next: str
    language: str | None = None
    priority: int | None = None
    skills: dict[str, int] = field(default_factory=dict)
    vip_numbers: list[str] = field(default_factory=list)
    vip_priority: int = 10
    crm: str | None = None


@dataclass
class Queue(Node):
    """Wait in an engine queue with music, announcements and options, until an agent answers.

    `options` map a key to a node (voicemail, callback...) the caller may leave for;
    `fallbacks` map an engine fallback target (escalation step `("fallback", "voicemail")`)
    to a node; `timeout` is taken on the engine's max-wait timeout or a full queue.
    """

    kind: ClassVar[str] = "queue"
    targets: ClassVar[tuple[str, ...]] = ("options", "fallbacks", "timeout")
    queue: str
    prompt: str | None = None
    announce_every: float = 30.0
    position_prompt: str | None = "position-{position}"
    wait_prompt: str | None = "wait-{minutes}-minutes"
    options_prompt: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)
    timeout: str | None = None
    preferred_wait: float = 30.0
    escalate_prompt: str | None = None

    def can_end(self) -> bool:
        return True


@dataclass
class Voicemail(Node):
    """Record a message with a beep; the path is stored with the call result."""

    kind: ClassVar[str] = "voicemail"
    prompt: str | None = None
    path: str = "voicemail/{call}.wav"
    max_seconds: float = 120.0
    beep: bool = True

    def can_end(self) -> bool:
        return True


@dataclass
class Callback(Node):
    """Virtual hold: the caller hangs up and keeps (or takes) a place in `queue`."""

    kind: ClassVar[str] = "callback"
    queue: str
    prompt: str | None = None

    def can_end(self) -> bool:
        return True


@dataclass
class Transfer(Node):
    """Blind transfer to an external number or an extension; `failed` when it is refused."""

    kind: ClassVar[str] = "transfer"
    targets: ClassVar[tuple[str, ...]] = ("failed",)
    target: str
    prompt: str | None = None
    failed: str | None = None

    def can_end(self) -> bool:
        return True


@dataclass
class RingGroup(Node):
    """Ring extensions all at once or one after another; `no_answer` when nobody picks up."""

    kind: ClassVar[str] = "ring_group"
    targets: ClassVar[tuple[str, ...]] = ("no_answer",)
    members: list[str]
    strategy: str = "simultaneous"
    timeout: float = 20.0
    no_answer: str | None = None

    def can_end(self) -> bool:
        return True


@dataclass
class Hangup(Node):
    """Optionally play a prompt, then hang up."""

    kind: ClassVar[str] = "hangup"
    prompt: str | None = None

    def can_end(self) -> bool:
        return True


NODE_TYPES: dict[str, type[Node]] = {
    cls.kind: cls
    for cls in (
        Greeting,
        Menu,
        Collect,
        Authenticate,
        Hours,
        SetAttributes,
        Queue,
        Voicemail,
        Callback,
        Transfer,
        RingGroup,
        Hangup,
    )
}


@dataclass
class Survey:
    """Post-call survey: after the agent leaves, a caller still on the line presses 1 to 5."""

    prompt: str
    timeout: float = 5.0
    thanks: str | None = None


@dataclass
class Flow:
    """A whole flow: nodes by id, the start node, and the bounds that stop any flow spinning."""

    start: str
    nodes: dict[str, Node]
    name: str = "flow"
    max_steps: int = 200
    max_seconds: float = 3600.0
    survey: Survey | None = None
    # Where each node came from ("file", line) when loaded from TOML; empty when built in Python.
    source: str = "<python>"
