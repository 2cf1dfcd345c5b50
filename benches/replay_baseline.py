#!/usr/bin/env python3
"""Pure-Python implementation of the acdcore trace-replay contract.

It has two jobs. It is the baseline the Rust engine is benchmarked against, so
it is written the way a careful Python developer would write an ACD (sorted
lists per queue, FIFO deques per priority, a heap of wrap-ups), not naively.
And it is an independent oracle for differential tests, so it follows
docs/trace-format.md literally and shares no code with the Rust engine.

Usage: ``python benches/replay_baseline.py TRACE.jsonl [--time]``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Final

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_SECONDS",
    "STRATEGIES",
    "Engine",
    "TraceError",
    "main",
    "parse_line",
    "run",
]

STRATEGIES: Final = (
    "longest-idle",
    "round-robin",
    "linear",
    "fewest-calls",
    "least-talk-time",
    "skills-best",
    "random",
    "weighted-random",
    "ring-all",
)

MAX_ID_BYTES: Final = 256
MAX_SKILLS: Final = 256
MAX_PRIORITY: Final = 1_000_000_000
# Times and durations are capped so that t + wrapup can never overflow to
# infinity (which JSON cannot carry); a trace line has a size cap so that a
# runaway line cannot exhaust memory. Both match the Rust engine.
MAX_SECONDS: Final = 1e12
MAX_LINE_BYTES: Final = 64 << 20

_FIELDS: Final[dict[str, frozenset[str]]] = {
    "queue": frozenset({"t", "op", "id", "strategy", "wrapup", "weight", "sl"}),
    "login": frozenset({"t", "op", "id", "skills", "queues"}),
    "logout": frozenset({"t", "op", "id"}),
    "pause": frozenset({"t", "op", "id"}),
    "unpause": frozenset({"t", "op", "id"}),
    "call": frozenset({"t", "op", "id", "queue", "priority", "skills"}),
    "hangup": frozenset({"t", "op", "id"}),
}

# Agent states. Plain ints: compared on every routing decision.
OUT, AVAIL, BUSY, WRAP, PAUSED = range(5)
# Call states.
WAITING, CONNECTED, FINISHED = range(3)
# How a queue orders its available agents (see Queue.kind).
_BY_IDLE, _BY_SEQ, _BY_CALLS, _BY_TALK = range(4)
_KIND: Final = {
    "longest-idle": _BY_IDLE,
    "round-robin": _BY_SEQ,
    "linear": _BY_SEQ,
    "fewest-calls": _BY_CALLS,
    "least-talk-time": _BY_TALK,
    "skills-best": _BY_IDLE,
    "random": _BY_IDLE,
    "weighted-random": _BY_IDLE,
    "ring-all": _BY_IDLE,
}

Event = dict[str, Any]
Skills = Mapping[str, int]
_NO_SKILLS: Final[Skills] = {}


class TraceError(ValueError):
    """An invalid trace line; ``line`` is 1-based, ``reason`` names the problem."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(line, reason)
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Queue:
    """A queue: its settings, counters, waiting calls and available agents."""

    __slots__ = (
        "abandoned",
        "answered",
        "avail",
        "buckets",
        "id",
        "kind",
        "nwait",
        "offered",
        "prios",
        "rr_last",
        "sl",
        "strategy",
        "weight",
        "within",
        "wrapup",
    )

    def __init__(self, qid: str, strategy: str, wrapup: float, weight: float, sl: float) -> None:
        self.id = qid
        self.strategy = strategy
        self.kind = _KIND[strategy]
        self.wrapup = wrapup
        self.weight = weight
        self.sl = sl
        self.offered = self.answered = self.abandoned = self.within = 0
        self.nwait = 0
        # Waiting calls: one FIFO per priority (arrival order is trace order,
        # so appending keeps each FIFO sorted). Keys are -priority so that
        # ``prios`` ascending is best first. Abandoned or taken calls stay in
        # the deque as dead entries and are dropped lazily at the head.
        self.prios: list[int] = []
        self.buckets: dict[int, _Bucket] = {}
        # Available agents sorted by the strategy's key; each entry is a tuple
        # ending in (login seq, agent) so that ties never compare agents.
        self.avail: list[tuple[Any, ...]] = []
        self.rr_last = -1


class _Bucket:
    """The waiting calls of one priority in one queue."""

    __slots__ = ("calls", "live")

    def __init__(self) -> None:
        self.calls: deque[Call] = deque()
        self.live = 0


class Agent:
    __slots__ = (
        "call",
        "calls_q",
        "id",
        "idle_since",
        "keys",
        "pend_logout",
        "pend_pause",
        "queues",
        "seq",
        "skills",
        "state",
        "talk",
        "wrap_order",
    )

    def __init__(self, aid: str, seq: int, skills: Skills, queues: list[Queue]) -> None:
        self.id = aid
        self.seq = seq
        self.skills = skills
        self.queues = queues
        self.state = OUT
        self.idle_since = 0.0
        self.calls_q: dict[str, int] = {}
        self.talk = 0.0
        self.pend_logout = False
        self.pend_pause = False
        self.call: Call | None = None
        self.wrap_order = -1
        # (queue, key) pairs of the avail entries, to remove them by bisection.
        self.keys: list[tuple[Queue, tuple[Any, ...]]] = []


class Call:
    __slots__ = (
        "agent",
        "arrival",
        "assign_t",
        "id",
        "negp",
        "order",
        "queue",
        "skills",
        "state",
    )

    def __init__(
        self,
        cid: str,
        queue: Queue,
        priority: int,
        skills: Skills,
        arrival: float,
        order: int,
    ) -> None:
        self.id = cid
        self.queue = queue
        self.negp = -priority
        self.skills = skills
        self.arrival = arrival
        self.order = order
        self.state = WAITING
        self.agent: Agent | None = None
        self.assign_t = 0.0


def _fits(askills: Skills, cskills: Skills) -> bool:
    # A plain loop: measurably faster than all(<genexpr>) on this hot path.
    get = askills.get
    for name, level in cskills.items():  # noqa: SIM110
        if get(name, 0) < level:
            return False
    return True


def _show(value: object) -> str:
    """Render a bad value for an error message, bounded in size."""
    if isinstance(value, str):
        short = value[:64].encode("utf-8", "backslashreplace").decode("utf-8")
        return json.dumps(short, ensure_ascii=False) + ("..." if len(value) > 64 else "")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 64 else text[:64] + "..."


def _number(value: object) -> float | None:
    """The value as a finite float, or None (bools and huge ints included)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


class Engine:
    """The replay engine, driven one operation at a time.

    ``run`` feeds it parsed trace lines; the example generator drives it
    directly, using ``next_wakeup``/``advance`` to learn when each call is
    answered. Every method returns the events it caused, in order.
    """

    def __init__(self, seed: int = 0) -> None:
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, Call | None] = {}  # None once finished
        self.clock = 0.0
        self._seq = 0  # login sequence
        self._order = 0  # call order in the trace
        self._wrap_order = 0  # wrap-up start order
        self._wraps: list[tuple[float, int, Agent]] = []
        self._rng = random.Random(seed)
        self._out: list[Event] = []
        self._ops: dict[str, Callable[[Mapping[str, Any], float, int], None]] = {
            "queue": self._op_queue,
            "login": self._op_login,
            "logout": self._op_logout,
            "pause": self._op_pause,
            "unpause": self._op_unpause,
            "call": self._op_call,
            "hangup": self._op_hangup,
        }

    # ----- public API -------------------------------------------------------

    def apply(self, op: Mapping[str, Any], line: int = 0) -> list[Event]:
        """Check and apply one trace operation; TraceError(line, ...) if invalid.

        The whole line is checked before anything happens at its time, so an
        invalid line changes nothing and emits nothing.
        """
        if type(op) is not dict:
            raise TraceError(line, f"expected a JSON object, got {_kind(op)}")
        name = op.get("op")
        if type(name) is not str or name not in _FIELDS:
            if "op" not in op:
                raise TraceError(line, 'missing field "op"')
            raise TraceError(line, f"unknown op {_show(name)}")
        handler = self._ops[name]
        fields = _FIELDS[name]
        if not fields.issuperset(op):
            bad = next(k for k in op if k not in fields)
            raise TraceError(line, f'unknown field {_show(bad)} for op "{name}"')
        if "t" not in op:
            raise TraceError(line, 'missing field "t"')
        t = _number(op["t"])
        if t is None or not 0.0 <= t <= MAX_SECONDS:
            raise TraceError(line, f'"t" must be a number in 0..1e12, got {_show(op["t"])}')
        if t < self.clock:
            raise TraceError(
                line, f'"t" {_show(op["t"])} is less than the previous t {self.clock!r}'
            )
        out = self._out = []
        handler(op, t, line)
        return out

    def next_wakeup(self) -> float | None:
        """End time of the earliest running wrap-up, if any."""
        h = self._wraps
        while h and not _wrap_live(h[0]):
            heapq.heappop(h)
        return h[0][0] if h else None

    def advance(self, t: float) -> list[Event]:
        """Move the clock to t, finishing the wrap-ups that end by then."""
        if not t >= self.clock:
            raise ValueError(f"advance to {t!r} is before the clock {self.clock!r}")
        out = self._out = []
        self._advance(t)
        return out

    def finish(self) -> list[Event]:
        """Finish every remaining wrap-up, then return those events and the summary."""
        out = self._out = []
        self._drain(math.inf)
        out.append(self.summary())
        return out

    def summary(self) -> Event:
        return {
            "event": "summary",
            "queues": {
                q.id: {
                    "offered": q.offered,
                    "answered": q.answered,
                    "abandoned": q.abandoned,
                    "answered_within_sl": q.within,
                    "waiting": q.nwait,
                }
                for q in self.queues.values()
            },
        }

    # ----- field checks -----------------------------------------------------

    @staticmethod
    def _id(op: Mapping[str, Any], key: str, line: int, what: str = "") -> str:
        if key not in op:
            raise TraceError(line, f'missing field "{key}"')
        v = op[key]
        if type(v) is str and _valid_name(v):
            return v
        if type(v) is str and v and _has_surrogate(v):
            raise TraceError(line, f'"{key}" is not valid Unicode (a lone surrogate)')
        raise TraceError(
            line,
            f'"{key}" must be {what or "an id"}: a string of 1 to 256 bytes, got {_show(v)}',
        )

    @staticmethod
    def _nonneg(op: Mapping[str, Any], key: str, default: float, line: int) -> float:
        if key not in op:
            return default
        v = _number(op[key])
        if v is None or not 0.0 <= v <= MAX_SECONDS:
            raise TraceError(line, f'"{key}" must be a number in 0..1e12, got {_show(op[key])}')
        return v

    @staticmethod
    def _skills(op: Mapping[str, Any], line: int, level_word: str) -> Skills:
        if "skills" not in op:
            return _NO_SKILLS
        v = op["skills"]
        if type(v) is not dict:
            raise TraceError(
                line,
                f'"skills" must be an object of skill name to level, got {_show(v)}',
            )
        if len(v) > MAX_SKILLS:
            raise TraceError(
                line, f'"skills" has {len(v)} entries; at most {MAX_SKILLS} are allowed'
            )
        for name, level in v.items():
            if not _valid_name(name):
                if _has_surrogate(name):
                    raise TraceError(line, "a skill name is not valid Unicode")
                raise TraceError(
                    line, f"skill name {_show(name)} must be a string of 1 to 256 bytes"
                )
            if type(level) is not int or not 1 <= level <= 100:
                raise TraceError(
                    line,
                    f"{level_word} of skill {_show(name)} must be an integer 1..100, "
                    f"got {_show(level)}",
                )
        return dict(v) if v else _NO_SKILLS

    def _logged_in(self, op: Mapping[str, Any], line: int) -> Agent:
        aid = self._id(op, "id", line, "an agent id")
        a = self.agents.get(aid)
        if a is None or a.state == OUT:
            raise TraceError(line, f"agent {_show(aid)} is not logged in")
        return a

    # ----- operations -------------------------------------------------------

    def _op_queue(self, op: Mapping[str, Any], t: float, line: int) -> None:
        qid = self._id(op, "id", line, "a queue id")
        if qid in self.queues:
            raise TraceError(line, f"queue {_show(qid)} is already defined")
        strategy = op.get("strategy", "longest-idle")
        if type(strategy) is not str or strategy not in _KIND:
            raise TraceError(
                line,
                f'"strategy" must be one of {", ".join(STRATEGIES)}; got {_show(strategy)}',
            )
        wrapup = self._nonneg(op, "wrapup", 0.0, line)
        weight = self._nonneg(op, "weight", 0.0, line)
        sl = self._nonneg(op, "sl", 20.0, line)
        self._advance(t)
        self.queues[qid] = Queue(qid, strategy, wrapup, weight, sl)

    def _op_login(self, op: Mapping[str, Any], t: float, line: int) -> None:
        aid = self._id(op, "id", line, "an agent id")
        skills = self._skills(op, line, "level")
        queues: list[Queue] = []
        if "queues" in op:
            qids = op["queues"]
            if type(qids) is not list:
                raise TraceError(line, f'"queues" must be an array of queue ids, got {_show(qids)}')
            known = self.queues
            seen: set[str] = set()
            for qid in qids:
                q = known.get(qid) if type(qid) is str else None
                if q is None:
                    raise TraceError(line, f'unknown queue {_show(qid)} in "queues"')
                if qid in seen:
                    raise TraceError(line, f'queue {_show(qid)} is listed twice in "queues"')
                seen.add(qid)
                queues.append(q)
        a = self.agents.get(aid)
        if a is not None and a.state != OUT:
            if not a.pend_logout:
                raise TraceError(line, f"agent {_show(aid)} is already logged in")
            # Still on its call with a logout pending: cancel the logout and
            # take the new profile; the agent is busy, so nothing is re-indexed.
            self._advance(t)
            a.pend_logout = False
            a.skills = skills
            a.queues = queues
            return
        self._advance(t)
        a = Agent(aid, self._seq, skills, queues)
        self._seq += 1
        self.agents[aid] = a
        self._available(a, t)

    def _op_logout(self, op: Mapping[str, Any], t: float, line: int) -> None:
        a = self._logged_in(op, line)
        self._advance(t)
        state = a.state
        if state == BUSY:
            a.pend_logout = True
            return
        if state == AVAIL:
            self._unlist(a)
        # A running wrap-up is dropped: its heap entry goes stale with the state.
        a.state = OUT
        a.pend_pause = False

    def _op_pause(self, op: Mapping[str, Any], t: float, line: int) -> None:
        a = self._logged_in(op, line)
        self._advance(t)
        if a.state == AVAIL:
            self._unlist(a)
            a.state = PAUSED
        elif a.state in (BUSY, WRAP):
            a.pend_pause = True

    def _op_unpause(self, op: Mapping[str, Any], t: float, line: int) -> None:
        a = self._logged_in(op, line)
        self._advance(t)
        if a.state == PAUSED:
            self._available(a, t)
        else:
            a.pend_pause = False

    def _op_call(self, op: Mapping[str, Any], t: float, line: int) -> None:
        cid = self._id(op, "id", line, "a call id")
        if cid in self.calls:
            raise TraceError(line, f"call {_show(cid)} was seen before")
        if "queue" not in op:
            raise TraceError(line, 'missing field "queue"')
        qid = op["queue"]
        q = self.queues.get(qid) if type(qid) is str else None
        if q is None:
            raise TraceError(line, f'unknown queue {_show(qid)} in "queue"')
        priority = op.get("priority", 0)
        if type(priority) is not int or not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
            raise TraceError(
                line,
                f'"priority" must be an integer between -1e9 and 1e9, got {_show(priority)}',
            )
        skills = self._skills(op, line, "minimum level")
        self._advance(t)
        c = Call(cid, q, priority, skills, t, self._order)
        self._order += 1
        self.calls[cid] = c
        q.offered += 1
        a = self._pick(q, skills)
        if a is not None:
            self._assign(c, a, t)
            return
        b = q.buckets.get(c.negp)
        if b is None:
            b = q.buckets[c.negp] = _Bucket()
            insort(q.prios, c.negp)
        b.calls.append(c)
        b.live += 1
        q.nwait += 1

    def _op_hangup(self, op: Mapping[str, Any], t: float, line: int) -> None:
        cid = self._id(op, "id", line, "a call id")
        if cid not in self.calls:
            raise TraceError(line, f"unknown call {_show(cid)}")
        c = self.calls[cid]
        if c is None:
            raise TraceError(line, f"call {_show(cid)} has already finished")
        # A wrap-up ending by t may hand this call to an agent first.
        self._advance(t)
        self.calls[cid] = None
        q = c.queue
        if c.state == WAITING:
            c.state = FINISHED
            self._unqueue(c)
            q.abandoned += 1
            self._out.append(
                {
                    "t": t,
                    "event": "abandon",
                    "call": cid,
                    "queue": q.id,
                    "wait": t - c.arrival,
                }
            )
            return
        c.state = FINISHED
        a = c.agent
        assert a is not None
        talk = t - c.assign_t
        self._out.append({"t": t, "event": "end", "call": cid, "agent": a.id, "talk": talk})
        a.talk += talk
        a.call = None
        if a.pend_logout:
            a.pend_logout = False
            a.pend_pause = False
            a.state = OUT
        elif q.wrapup > 0.0:
            a.state = WRAP
            a.wrap_order = self._wrap_order
            heapq.heappush(self._wraps, (t + q.wrapup, self._wrap_order, a))
            self._wrap_order += 1
        else:
            self._available(a, t)

    # ----- routing ----------------------------------------------------------

    def _advance(self, t: float) -> None:
        self.clock = t
        h = self._wraps
        if h and h[0][0] <= t:
            self._drain(t)

    def _drain(self, t: float) -> None:
        h = self._wraps
        while h and h[0][0] <= t:
            entry = heapq.heappop(h)
            if _wrap_live(entry):
                self._available(entry[2], entry[0])

    def _available(self, a: Agent, t: float) -> None:
        """The agent becomes available at t: it takes a waiting call or is listed."""
        a.idle_since = t
        if a.pend_pause:
            a.pend_pause = False
            a.state = PAUSED
            return
        c = self._best_waiting(a)
        if c is not None:
            self._unqueue(c)
            self._assign(c, a, t)
            return
        a.state = AVAIL
        keys = a.keys
        for q in a.queues:
            kind = q.kind
            if kind == _BY_IDLE:
                key: tuple[Any, ...] = (t, a.seq, a)
            elif kind == _BY_SEQ:
                key = (a.seq, a)
            elif kind == _BY_CALLS:
                key = (a.calls_q.get(q.id, 0), t, a.seq, a)
            else:
                key = (a.talk, t, a.seq, a)
            insort(q.avail, key)
            keys.append((q, key))

    def _unlist(self, a: Agent) -> None:
        for q, key in a.keys:
            lst = q.avail
            del lst[bisect_left(lst, key)]
        a.keys.clear()

    def _best_waiting(self, a: Agent) -> Call | None:
        """Highest queue weight, then priority, then earliest arrival / trace order."""
        best: Call | None = None
        best_key: tuple[float, int, float, int] | None = None
        askills = a.skills
        for q in a.queues:
            if not q.nwait:
                continue
            negw = -q.weight
            if best_key is not None and negw > best_key[0]:
                continue
            for negp in q.prios:
                if best_key is not None and (negw, negp) > best_key[:2]:
                    break
                dq = q.buckets[negp].calls
                while dq[0].state != WAITING:
                    dq.popleft()
                found = None
                for c in dq:
                    if c.state == WAITING and (not c.skills or _fits(askills, c.skills)):
                        found = c
                        break
                if found is not None:
                    key = (negw, negp, found.arrival, found.order)
                    if best_key is None or key < best_key:
                        best, best_key = found, key
                    break
        return best

    def _unqueue(self, c: Call) -> None:
        """Take a waiting call out of its queue's counts; its deque entry goes stale."""
        q = c.queue
        q.nwait -= 1
        b = q.buckets[c.negp]
        b.live -= 1
        if not b.live:
            del q.buckets[c.negp]
            q.prios.remove(c.negp)

    def _pick(self, q: Queue, cskills: Skills) -> Agent | None:
        """The eligible agent the queue's strategy picks (then unlisted), or None."""
        lst = q.avail
        if not lst:
            return None
        strategy = q.strategy
        chosen: Agent | None = None
        if strategy == "round-robin":
            start = bisect_left(lst, (q.rr_last + 1,))
            n = len(lst)
            for i in range(start, start + n):
                a = lst[i % n][-1]
                if not cskills or _fits(a.skills, cskills):
                    chosen = a
                    break
        elif strategy == "skills-best" and cskills:
            best_score = -1
            for entry in lst:
                a = entry[-1]
                if _fits(a.skills, cskills):
                    score = sum(a.skills[name] for name in cskills)
                    if score > best_score:
                        chosen, best_score = a, score
        elif strategy == "random" or strategy == "weighted-random":
            eligible = [e[-1] for e in lst if not cskills or _fits(e[-1].skills, cskills)]
            if eligible:
                if strategy == "random":
                    chosen = self._rng.choice(eligible)
                else:
                    # Membership weights are all 1 in traces (there is no field
                    # for them); the draw is still a genuine weighted one.
                    chosen = self._rng.choices(eligible, [1.0] * len(eligible))[0]
        elif not cskills:
            chosen = lst[0][-1]
        else:
            for entry in lst:
                a = entry[-1]
                if _fits(a.skills, cskills):
                    chosen = a
                    break
        if chosen is not None:
            self._unlist(chosen)
        return chosen

    def _assign(self, c: Call, a: Agent, t: float) -> None:
        q = c.queue
        wait = t - c.arrival
        c.state = CONNECTED
        c.agent = a
        c.assign_t = t
        a.state = BUSY
        a.call = c
        a.calls_q[q.id] = a.calls_q.get(q.id, 0) + 1
        q.answered += 1
        if wait <= q.sl:
            q.within += 1
        q.rr_last = a.seq
        self._out.append(
            {
                "t": t,
                "event": "assign",
                "call": c.id,
                "agent": a.id,
                "queue": q.id,
                "wait": wait,
            }
        )


def _wrap_live(entry: tuple[float, int, Agent]) -> bool:
    a = entry[2]
    return a.state == WRAP and a.wrap_order == entry[1]


def _valid_name(s: str) -> bool:
    if s.isascii():
        return 0 < len(s) <= MAX_ID_BYTES
    try:
        return 0 < len(s.encode("utf-8")) <= MAX_ID_BYTES
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
        return False


def _size(raw: str | bytes) -> int:
    """Bytes in a line as read from a UTF-8 file."""
    return len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _kind(v: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(v), "null" if v is None else "number"
    )


class _BadConstantError(ValueError):
    pass


def _no_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and the contract) does not.
    raise _BadConstantError(name)


_decode: Final = json.JSONDecoder(parse_constant=_no_constant).decode


def parse_line(raw: str | bytes, line: int) -> Any:
    """Parse one trace line as strict JSON; TraceError if it is not."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TraceError(line, f"not valid UTF-8 (byte {e.start + 1})") from None
    if raw.startswith("\ufeff"):
        raise TraceError(line, "invalid JSON: a byte order mark (BOM) starts the line")
    try:
        return _decode(raw)
    except _BadConstantError as e:
        raise TraceError(line, f"invalid JSON: {e.args[0]} is not a JSON number") from None
    except json.JSONDecodeError as e:
        raise TraceError(line, f"invalid JSON: {e.msg} at column {e.colno}") from None
    except RecursionError:
        raise TraceError(line, "invalid JSON: nested too deeply") from None
    except ValueError:  # an integer literal over Python's 4300-digit limit
        raise TraceError(line, "invalid JSON: a number literal is too long") from None


def run(lines: Iterable[str | bytes], seed: int = 0) -> Iterator[Event]:
    """Replay trace lines, yielding events and finally the summary.

    Raises TraceError at the first invalid line, after the events of the lines
    before it have been yielded. Blank lines are skipped but counted.
    """
    engine = Engine(seed)
    apply = engine.apply
    for n, raw in enumerate(lines, 1):
        if not raw or raw.isspace():
            continue
        if len(raw) > MAX_LINE_BYTES // 4 and _size(raw) > MAX_LINE_BYTES:
            raise TraceError(n, f"line longer than {MAX_LINE_BYTES} bytes")
        try:  # fast path; parse_line again to explain a failure
            op = _decode(raw if isinstance(raw, str) else raw.decode("utf-8"))
        except (ValueError, RecursionError):
            op = parse_line(raw, n)
        yield from apply(op, n)
    yield from engine.finish()


def _read_lines(f: BinaryIO) -> Iterator[bytes]:
    """Lines of a file, each cut just past the size cap so a huge one is never read whole."""
    readline = f.readline
    while raw := readline(MAX_LINE_BYTES + 2):
        yield raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Replay an ACD trace (JSONL) with the pure-Python baseline engine."
    )
    parser.add_argument("trace", help="trace file, one JSON object per line")
    parser.add_argument(
        "--time",
        action="store_true",
        help="print elapsed seconds and calls/s to stderr",
    )
    args = parser.parse_args(argv)
    encode = json.JSONEncoder(separators=(",", ":")).encode  # == json.dumps(..., separators)
    write = sys.stdout.write
    start = time.perf_counter()
    last: Event | None = None
    buf: list[str] = []  # output lines, written in chunks: one write per line is slow
    try:
        with open(args.trace, "rb") as f:
            for ev in run(_read_lines(f)):
                buf.append(encode(ev))
                if len(buf) >= 4096:
                    write("\n".join(buf) + "\n")
                    buf.clear()
                last = ev
    except TraceError as e:
        if buf:
            write("\n".join(buf) + "\n")
        sys.stdout.flush()
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if buf:
        write("\n".join(buf) + "\n")
    sys.stdout.flush()
    if args.time:
        elapsed = time.perf_counter() - start
        calls = sum(q["offered"] for q in last["queues"].values()) if last else 0
        rate = calls / max(elapsed, 1e-9)
        print(
            f"replayed {calls} calls in {elapsed:.3f} s ({rate:,.0f} calls/s)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        sys.exit(1)
