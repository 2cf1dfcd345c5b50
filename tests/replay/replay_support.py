"""Helpers shared by the trace-replay contract tests (issue 2, "The trace-replay contract").

Trace builders (`queue`, `login`, `call`, ...) write only the fields they are given, so a test
that leaves a field out exercises the documented default. Event builders (`assign`, `abandon`,
`end`, `summary`) write the expected output objects; numbers compare with ``==`` so 5 and 5.0 are
equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # the property and fuzz tests skip without hypothesis
    st = None

Event = dict[str, Any]
Replay = Callable[[list[str]], list[Event]]

# The key order of each output event, as docs/trace-format.md and the decisions fix it.
EVENT_KEYS = {
    "assign": ["t", "event", "call", "agent", "queue", "wait"],
    "abandon": ["t", "event", "call", "queue", "wait"],
    "end": ["t", "event", "call", "agent", "talk"],
    "summary": ["event", "queues"],
}
SUMMARY_KEYS = ["offered", "answered", "abandoned", "answered_within_sl", "waiting"]


def lines_of(trace: Iterable[dict[str, Any]]) -> list[str]:
    """One JSON text line per trace object."""
    return [json.dumps(obj) for obj in trace]


def events(replay: Replay, trace: Iterable[dict[str, Any]]) -> list[Event]:
    """Replay a trace given as dicts (each json-dumped as one line) and return its events."""
    return replay(lines_of(trace))


# ---- trace lines -------------------------------------------------------------------------------


def queue(t: float, qid: Any, **fields: Any) -> dict[str, Any]:
    return {"t": t, "op": "queue", "id": qid, **fields}


def login(
    t: float,
    aid: Any,
    queues: Sequence[Any] | None = None,
    skills: dict[str, Any] | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"t": t, "op": "login", "id": aid}
    if skills is not None:
        obj["skills"] = skills
    if queues is not None:
        obj["queues"] = list(queues)
    return obj


def call(
    t: float,
    cid: Any,
    q: Any,
    priority: Any = None,
    skills: dict[str, Any] | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"t": t, "op": "call", "id": cid, "queue": q}
    if priority is not None:
        obj["priority"] = priority
    if skills is not None:
        obj["skills"] = skills
    return obj


def hangup(t: float, cid: Any) -> dict[str, Any]:
    return {"t": t, "op": "hangup", "id": cid}


def logout(t: float, aid: Any) -> dict[str, Any]:
    return {"t": t, "op": "logout", "id": aid}


def pause(t: float, aid: Any) -> dict[str, Any]:
    return {"t": t, "op": "pause", "id": aid}


def unpause(t: float, aid: Any) -> dict[str, Any]:
    return {"t": t, "op": "unpause", "id": aid}


# ---- expected events ---------------------------------------------------------------------------


def assign(t: float, c: str, agent: str, q: str, wait: float) -> Event:
    return {"t": t, "event": "assign", "call": c, "agent": agent, "queue": q, "wait": wait}


def abandon(t: float, c: str, q: str, wait: float) -> Event:
    return {"t": t, "event": "abandon", "call": c, "queue": q, "wait": wait}


def end(t: float, c: str, agent: str, talk: float) -> Event:
    return {"t": t, "event": "end", "call": c, "agent": agent, "talk": talk}


def counts(
    offered: int, answered: int, abandoned: int, within_sl: int, waiting: int
) -> dict[str, int]:
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "answered_within_sl": within_sl,
        "waiting": waiting,
    }


def summary(queues: dict[str, dict[str, int]]) -> Event:
    return {"event": "summary", "queues": queues}


# ---- errors ------------------------------------------------------------------------------------

# A word `t` (as in "missing field `t`" or "'t' must be finite"), not the letter inside a word.
T_WORD = r"(?<![A-Za-z0-9_])t(?![A-Za-z0-9_])"
ID_WORD = r"\bid\b"


def check_error_message(message: str, line_no: int, keywords: Sequence[str]) -> None:
    """The message starts with `line N:` and its reason matches one of the keyword regexes."""
    prefix = f"line {line_no}:"
    assert message.startswith(prefix), f"expected a message starting {prefix!r}, got {message!r}"
    reason = message[len(prefix) :]
    assert reason.strip(), f"the message names no reason: {message!r}"
    assert any(re.search(k, reason, re.IGNORECASE) for k in keywords), (
        f"the reason {reason[:300]!r} names none of {list(keywords)}"
    )


def expect_error(replay: Replay, lines: list[str], line_no: int, keywords: Sequence[str]) -> str:
    """Replaying `lines` raises ValueError for line `line_no`, naming the bad thing."""
    with pytest.raises(ValueError) as info:
        replay(lines)
    message = str(info.value)
    check_error_message(message, line_no, keywords)
    return message


# ---- hypothesis, optional ----------------------------------------------------------------------


def with_data(max_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run a test taking `data` (hypothesis `st.data()`), or skip it if hypothesis is missing."""

    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        if st is None:
            return pytest.mark.skip(reason="hypothesis is not installed")(fn)
        settle = settings(
            max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
        return settle(given(data=st.data())(fn))

    return wrap
