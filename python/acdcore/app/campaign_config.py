"""The `[campaign]` section of the server's config: one outbound campaign the dialer runs
(app/dialer.py). Checked when the config loads, each mistake naming its line and field, so a
campaign that would break a compliance rule (a ring shorter than 15 s, no information message
for abandoned calls) never starts."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acdcore._core import AnsweringMachineDetector
from acdcore.outbound import OUTCOMES, PROFILES

if TYPE_CHECKING:
    from acdcore.app.config import _Reader

#: Modes the dialer places calls for. Preview shows the lead on the agent's phone first: its
#: INVITE comes from the lead's number, and answering it dials the lead. Click-to-dial places
#: nothing by itself: the agent's phone (its "screen") dials a lead's number through us
#: (app/clicktodial.py; `click_to_dial = true` allows that in the other agent modes too, and
#: `click_to_dial = "any"` numbers outside the lead list as well, added as leads).
#: Voice broadcast involves no agent: up to `lines` calls at once, each answer hears
#: `message`, then our BYE.
DIALER_MODES = ("progressive", "power", "predictive", "preview", "click-to-dial", "voice-broadcast")
#: Fields of a dial target template besides the lead's own CSV columns.
TEMPLATE_FIELDS = ("number", "digits", "lead")
#: The information message must start within 2 s of answer; waiting for an offered agent to
#: answer may use at most this much of it.
MAX_CONNECT_WAIT = 1.5


@dataclass(frozen=True)
class CampaignConfig:
    id: str
    leads: Path  # CSV: phone, optional timezone, priority, other columns usable in dial_uri
    # The engine queue answered leads join (its agents take them, blended); None in voice
    # broadcast, which has no agents.
    queue: str | None
    dial_uri: str  # e.g. "sip:{number}@127.0.0.1:5080"
    # Prompt played to an answered lead no agent takes (None in voice broadcast: no abandons).
    info_message: str | None
    mode: str = "progressive"
    ratio: float = 1.0  # lines per ready agent (power)
    target: float = 0.03  # most abandons per live answer (predictive pacing)
    ring_timeout: float = 20.0
    connect_wait: float = 1.0  # how long an answered lead waits for an offered agent
    caller_id: str | None = None  # our From URI; default sip:acd@<our address>
    calling_hours: tuple[str, str] = ("08:00", "21:00")
    dnc: Path | None = None  # one number per line
    default_zone: str | None = None
    max_attempts: int = 3
    min_gap: float = 0.0
    retry: dict[str, float] = field(default_factory=dict)
    outbound_share: float = 1.0
    priority: int = 0
    profile: str = "us"
    aht: float = 180.0  # talk time the predictive pacer expects
    wrapup: float = 0.0
    tick: float = 1.0
    preview_timeout: float = 30.0  # preview: how long a lead is offered to agents
    # Answering-machine detection on every answer (`[campaign.amd]`, the detector's settings;
    # None: off, every answer is a person). A machine is hung up and retried as "machine".
    amd: dict[str, float] | None = None
    message: str | None = None  # voice broadcast: the prompt every answered lead hears
    lines: int = 10  # voice broadcast: most calls at once (ringing or hearing the message)
    # Agents' phones may dial through us: None (off), "leads" (the list's numbers: on in mode
    # click-to-dial, `click_to_dial = true` in the other agent modes) or "any" (numbers
    # outside the list too, each added to the campaign as a lead in `default_zone`).
    click_to_dial: str | None = None
    # Put before a number an agent dials without a leading + ("+1": 2125550100 is
    # +12125550100); None: only E.164 numbers are dialed.
    click_to_dial_prefix: str | None = None


_FIELDS: dict[str, type] = {
    "id": str,
    "leads": str,
    "queue": str,
    "dial_uri": str,
    "info_message": str,
    "mode": str,
    "ratio": float,
    "target": float,
    "ring_timeout": float,
    "connect_wait": float,
    "caller_id": str,
    "calling_hours": list,
    "dnc": str,
    "default_zone": str,
    "max_attempts": int,
    "min_gap": float,
    "retry": dict,
    "outbound_share": float,
    "priority": int,
    "profile": str,
    "aht": float,
    "wrapup": float,
    "tick": float,
    "preview_timeout": float,
    "amd": dict,
    "message": str,
    "lines": int,
    "click_to_dial": str,  # or a bool (true: "leads")
    "click_to_dial_prefix": str,
}
#: `[campaign.amd]` settings (AnsweringMachineDetector's keyword arguments).
AMD_FIELDS = (
    "initial_silence",
    "greeting",
    "after_greeting_silence",
    "total",
    "min_word",
    "between_words",
    "max_words",
    "silence_dbfs",
)
_REQUIRED = ("leads", "dial_uri")
#: Required besides, in the modes with agents (voice broadcast has neither queue nor abandons).
_AGENT_REQUIRED = ("queue", "info_message")


def template_fields(template: str) -> list[str]:
    """The `{name}` fields of a dial target template; ValueError when it is malformed."""
    names = []
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise ValueError(f"{{{name}}}: only plain {{name}} fields are allowed")
        names.append(name)
    return names


def read_campaign(
    reader: _Reader, table: Any, queues: dict[str, float], prompts: Path
) -> CampaignConfig | None:
    """The campaign of `[campaign]`, or None (with problems on `reader`) when it is bad.
    `queues` maps each configured queue to its wrap-up seconds."""
    where = ("campaign",)
    if not isinstance(table, dict):
        reader.fail(where, "expected a table")
        return None
    ok = True
    got: dict[str, Any] = {}
    for key in table:
        kind = _FIELDS.get(key)
        if key == "click_to_dial" and isinstance(table[key], bool):
            got[key] = "leads" if table[key] else None
            continue
        if kind is None:
            reader.fail((*where, key), f"unknown field (known: {', '.join(_FIELDS)})")
            ok = False
            continue
        value = reader.get(table, where, key, kind, None)
        if value is None:
            ok = False
        else:
            got[key] = value
    mode = got.get("mode", "progressive")
    broadcast = mode == "voice-broadcast"
    for key in (*_REQUIRED, *(("message",) if broadcast else _AGENT_REQUIRED)):
        if key not in table:
            why = " (the prompt a voice broadcast plays)" if key == "message" else ""
            reader.fail(where, f"missing field {key!r}{why}")
            ok = False

    def bad(key: str, message: str) -> None:
        nonlocal ok
        reader.fail((*where, key), message)
        ok = False

    if mode not in DIALER_MODES:
        bad("mode", f"unknown dialing mode {mode!r} (known: {', '.join(DIALER_MODES)})")
    queue = got.get("queue")
    if queue is not None and queue not in queues:
        bad("queue", f"no queue named {queue!r}")
    template = got.get("dial_uri")
    if template is not None:
        try:
            names = template_fields(template)
            if not template.startswith("sip:"):
                bad("dial_uri", f"must be a sip: URI template, got {template!r}")
            elif not {"number", "digits"} & set(names):
                bad("dial_uri", "must hold {number} or {digits} (the lead's phone number)")
        except ValueError as e:
            bad("dial_uri", str(e))
    caller = got.get("caller_id")
    if caller is not None and not caller.startswith("sip:"):
        bad("caller_id", f"must be a sip: URI (our From), got {caller!r}")
    for key in ("info_message", "message"):
        name = got.get(key)
        if name is not None and not (prompts / f"{name}.wav").is_file():
            bad(key, f"no prompt {name!r} (looked for {prompts / f'{name}.wav'})")
    if "message" in got and not broadcast:
        bad("message", f"only voice broadcast plays a message (mode is {mode!r})")
    if got.get("lines", 10) < 1:
        bad("lines", f"must be at least 1 call at once, got {got['lines']}")
    ring = got.get("ring_timeout", 20.0)
    if ring < 15.0:
        bad("ring_timeout", f"must ring at least 15 s before giving up, got {ring}")
    wait = got.get("connect_wait", 1.0)
    if not 0.0 < wait <= MAX_CONNECT_WAIT:
        bad(
            "connect_wait",
            f"must be above 0 and at most {MAX_CONNECT_WAIT} s (the information message "
            f"starts within 2 s of answer), got {wait}",
        )
    for key, lo, hi in (("ratio", 1.0, None), ("target", 0.0, 1.0), ("outbound_share", 0.0, 1.0)):
        value = got.get(key)
        if value is not None and (value < lo or (hi is not None and value > hi)):
            span = f">= {lo}" if hi is None else f"from {lo} to {hi}"
            bad(key, f"must be {span}, got {value}")
    for key in ("aht", "tick", "preview_timeout"):
        if key in got and not got[key] > 0:
            bad(key, f"must be positive, got {got[key]}")
    for key in ("wrapup", "min_gap"):
        if key in got and got[key] < 0:
            bad(key, f"must not be negative, got {got[key]}")
    if got.get("max_attempts", 3) < 1:
        bad("max_attempts", f"must be at least 1, got {got['max_attempts']}")
    hours = got.get("calling_hours", ["08:00", "21:00"])
    if len(hours) != 2 or not all(isinstance(h, str) for h in hours):
        bad("calling_hours", f'expected ["HH:MM", "HH:MM"], got {hours!r}')
    if got.get("profile", "us") not in PROFILES:
        bad("profile", f"unknown compliance profile {got['profile']!r} (known: us, uk)")
    retry: dict[str, float] = {}
    for outcome, delay in got.get("retry", {}).items():
        if outcome not in (*OUTCOMES, "abandoned"):
            bad("retry", f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)}, abandoned)")
        elif isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            bad("retry", f"{outcome}: delay must be seconds >= 0, got {delay!r}")
        else:
            retry[outcome] = float(delay)
    click = got.get("click_to_dial", "leads" if mode == "click-to-dial" else None)
    if click not in (None, "leads", "any"):
        bad("click_to_dial", f'expected true, false, "leads" or "any", got {click!r}')
    if mode == "click-to-dial" and click is None:
        bad("click_to_dial", "cannot be false in mode 'click-to-dial'")
    if click is not None and broadcast:
        bad("click_to_dial", "voice broadcast has no agents to dial")
    if click == "any":
        if "default_zone" not in got:
            bad("click_to_dial", '"any" needs default_zone (the calling hours of other numbers)')
        try:
            own = [n for n in template_fields(got.get("dial_uri", "")) if n not in TEMPLATE_FIELDS]
        except ValueError:
            own = []  # a malformed dial_uri is reported above
        if own:
            bad("click_to_dial", f'"any": dial_uri uses the CSV column {own[0]!r}, which a '
                                 "number outside the list has no value for")  # fmt: skip
    prefix = got.get("click_to_dial_prefix")
    if prefix is not None and not (prefix[:1] == "+" and prefix[1:].isdigit()):
        bad("click_to_dial_prefix", f"must be + and digits (a country code), got {prefix!r}")
    amd = _read_amd(got.get("amd"), bad)
    leads = reader.base / got.get("leads", ".")
    if "leads" in got and not leads.is_file():
        bad("leads", f"no such file: {leads}")
    dnc = None if "dnc" not in got else reader.base / got["dnc"]
    if dnc is not None and not dnc.is_file():
        bad("dnc", f"no such file: {dnc}")
    info = got.get("info_message")
    if not ok or template is None:
        return None
    return CampaignConfig(
        id=got.get("id", "campaign"),
        leads=leads,
        queue=queue,
        dial_uri=template,
        info_message=info,
        mode=mode,
        ratio=got.get("ratio", 1.0),
        target=got.get("target", 0.03),
        ring_timeout=ring,
        connect_wait=wait,
        caller_id=got.get("caller_id"),
        calling_hours=(hours[0], hours[1]),
        dnc=dnc,
        default_zone=got.get("default_zone"),
        max_attempts=got.get("max_attempts", 3),
        min_gap=got.get("min_gap", 0.0),
        retry=retry,
        outbound_share=got.get("outbound_share", 1.0),
        priority=got.get("priority", 0),
        profile=got.get("profile", "us"),
        aht=got.get("aht", 180.0),
        wrapup=got.get("wrapup", 0.0 if queue is None else queues[queue]),
        tick=got.get("tick", 1.0),
        preview_timeout=got.get("preview_timeout", 30.0),
        amd=amd,
        message=got.get("message"),
        lines=got.get("lines", 10),
        click_to_dial=click,
        click_to_dial_prefix=prefix,
    )


def _read_amd(
    table: dict[str, Any] | None, bad: Callable[[str, str], None]
) -> dict[str, float] | None:
    """`[campaign.amd]` checked by building a detector from it (its errors name the field)."""
    if table is None:
        return None
    settings: dict[str, float] = {}
    for key, value in table.items():
        if key not in AMD_FIELDS:
            bad("amd", f"unknown field {key!r} (known: {', '.join(AMD_FIELDS)})")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            bad("amd", f"{key}: expected a number, got {value!r}")
        elif key == "max_words" and not float(value).is_integer():
            bad("amd", f"max_words: expected a whole number, got {value!r}")
        else:
            settings[key] = int(value) if key == "max_words" else float(value)
    try:
        AnsweringMachineDetector(**settings)  # type: ignore[arg-type]
    except ValueError as e:
        bad("amd", str(e))
    return settings
