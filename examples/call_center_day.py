#!/usr/bin/env python3
"""Generate a realistic contact-center day as an acdcore trace (JSONL).

The day: queues with a mix of routing strategies; agents with language and
product skills who log in through the morning, take breaks, and partly log out
late; calls arriving by a time-varying Poisson process with a morning and an
afternoon peak; callers who hang up after their talk time, or abandon when
their patience runs out while still waiting.

Whether a caller abandons depends on when an agent answers, which only an ACD
knows. So the generator drives the pure-Python replay engine
(benches/replay_baseline.py) step by step as it writes the trace: when a call
is assigned it schedules the hangup at assign time + talk time, and a call
still waiting at arrival + patience is hung up then (an abandon). Replaying the
trace with that engine reproduces exactly the day the generator saw. The day
uses only deterministic strategies, so the Rust engine routes it the same way;
the trace would stay valid for any engine in any case.

Load: the day lasts as long as the staffed agents need to handle the calls at
about 85% occupancy, and the arrival rate follows the staffing curve shaped by
the peaks, so queues form at peaks without the center collapsing. With the
default ratio of 100 calls per agent that is roughly a 9-10 hour day.

CLI: ``python examples/call_center_day.py --calls N --agents A --queues Q
--skills S --seed X [--out FILE]``. Importable: ``generate``, ``write_jsonl``,
``DayGenerator``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from benches.replay_baseline import Engine  # noqa: E402

__all__ = ["DayGenerator", "generate", "main", "write_jsonl"]

LANGUAGES = (
    ("en", 50), ("es", 20), ("fr", 8), ("de", 7), ("pt", 5),
    ("it", 3), ("nl", 2), ("pl", 2), ("zh", 2), ("ja", 1),
)  # fmt: skip
# Share of queues per strategy besides longest-idle (which takes the rest).
STRATEGY_SHARES = (
    ("skills-best", 0.12),
    ("round-robin", 0.08),
    ("fewest-calls", 0.08),
    ("least-talk-time", 0.06),
    ("linear", 0.06),
)
QUEUES_PER_AGENT = (25, 30, 22, 14, 9)  # weights for 1..5 queues
TALK_MEDIAN = 180.0  # seconds; lognormal, so the mean is about 230 s
TALK_SIGMA = 0.7
PATIENCE_MEAN = 120.0  # seconds, exponential
OCCUPANCY = 0.88  # of offered load; abandons bring the measured figure to ~85%
GRID = 1000  # resolution of the arrival-rate curve over the day

DEFAULTS: dict[str, int] = {
    "calls": 20_000,
    "agents": 200,
    "queues": 12,
    "skills": 30,
    "seed": 0,
}

Op = dict[str, Any]


@dataclass
class QueuePlan:
    id: str
    strategy: str
    wrapup: int
    weight: int
    lang: str
    products: list[str]
    volume: float


@dataclass
class AgentPlan:
    id: str
    skills: dict[str, int]
    queues: list[str]
    login_x: float  # fraction of the day
    logout_x: float | None
    breaks: list[tuple[float, float]] = field(default_factory=list)  # (x, seconds)


def _demand_shape(x: float) -> float:
    """Relative call demand over the day (x in [0, 1]): two peaks, a lunch dip."""
    return (
        1.0
        + 0.30 * math.exp(-(((x - 0.22) / 0.08) ** 2))
        + 0.22 * math.exp(-(((x - 0.66) / 0.09) ** 2))
    )


class DayGenerator:
    """Plans a day from its sizes and seed, then yields its trace when iterated.

    After iteration, ``summary`` holds the replay summary and ``occupancy`` the
    share of staffed agent time spent talking or in wrap-up.
    """

    def __init__(
        self,
        calls: int = DEFAULTS["calls"],
        agents: int = DEFAULTS["agents"],
        queues: int = DEFAULTS["queues"],
        skills: int = DEFAULTS["skills"],
        seed: int = DEFAULTS["seed"],
    ) -> None:
        if calls < 0 or agents < 1 or queues < 1 or skills < 2:
            raise ValueError("need calls >= 0, agents >= 1, queues >= 1, skills >= 2")
        self.n_calls = calls
        self.rng = random.Random(seed)
        self.queues = self._plan_queues(queues, skills)
        self.agents = self._plan_agents(agents)
        self.day_seconds = self._plan_day()
        self.summary: dict[str, Any] | None = None
        self.occupancy = math.nan

    # ----- planning ---------------------------------------------------------

    def _plan_queues(self, n: int, n_skills: int) -> list[QueuePlan]:
        rng = self.rng
        n_lang = max(1, min(len(LANGUAGES), n_skills // 6))
        langs = LANGUAGES[:n_lang]
        self.products = [f"skill_{i}" for i in range(1, n_skills - n_lang + 1)]
        lang_w = dict(langs)
        lang_ws = [w for _, w in langs]
        top_w = langs[0][1]
        strategies = ["longest-idle"] * n
        counts = [
            (name, max(1, round(n * share)) if n >= 6 else round(n * share))
            for name, share in STRATEGY_SHARES
        ]
        slots = list(range(n))
        rng.shuffle(slots)
        for name, count in counts:
            for _ in range(count):
                strategies[slots.pop()] = name
        weighted = set(rng.sample(range(n), max(1, n // 10))) if n >= 4 else set()
        w = len(str(n))
        plans = []
        for j in range(n):
            # Every language gets a queue when there are enough queues.
            lang = langs[j][0] if j < n_lang else rng.choices(langs, lang_ws)[0][0]
            k = min(len(self.products), rng.choice((1, 1, 2)))
            volume = rng.lognormvariate(0.0, 0.5) * (0.3 + 0.7 * lang_w[lang] / top_w)
            plans.append(
                QueuePlan(
                    id=f"q{j + 1:0{w}d}",
                    strategy=strategies[j],
                    wrapup=rng.randint(5, 30),
                    weight=rng.randint(1, 3) if j in weighted else 0,
                    lang=f"lang_{lang}",
                    products=rng.sample(self.products, k),
                    volume=volume,
                )
            )
        return plans

    def _plan_agents(self, n: int) -> list[AgentPlan]:
        rng = self.rng
        by_lang: dict[str, list[QueuePlan]] = {}
        for q in self.queues:
            by_lang.setdefault(q.lang, []).append(q)
        lang_names = list(by_lang)
        lang_volume = [sum(q.volume for q in by_lang[lang]) for lang in lang_names]
        # Memberships are drawn in proportion to queue volume, so staffing
        # follows load; cumulative weights make each draw a bisection.
        cum: dict[str, list[float]] = {}
        for lang, pool in by_lang.items():
            acc, cum[lang] = 0.0, []
            for q in pool:
                acc += q.volume
                cum[lang].append(acc)
        w = len(str(n))
        plans = []
        for i in range(n):
            # The first agents cover one queue each, so no queue is unstaffed.
            first = self.queues[i] if i < len(self.queues) else None
            lang = first.lang if first else rng.choices(lang_names, lang_volume)[0]
            pool, pool_cum = by_lang[lang], cum[lang]
            k = min(len(pool), rng.choices(range(1, 6), QUEUES_PER_AGENT)[0])
            mine: list[QueuePlan] = [first] if first else []
            while len(mine) < k:
                q = pool[bisect(pool_cum, rng.random() * pool_cum[-1])]
                if q not in mine:
                    mine.append(q)
            skills = {lang: rng.randint(60, 100)}
            if rng.random() < 0.1 and len(lang_names) > 1:  # bilingual
                other = rng.choice([x for x in lang_names if x != lang])
                extra = rng.choice(by_lang[other])
                if extra not in mine:
                    mine.append(extra)
                skills[other] = rng.randint(40, 90)
            products = list(dict.fromkeys(p for q in mine for p in q.products))
            rng.shuffle(products)
            target = rng.randint(2, 8)
            for p in products:
                if len(skills) >= 8:
                    break
                skills[p] = rng.randint(30, 100)
            if len(skills) < target:
                spare = [p for p in self.products if p not in skills]
                for p in rng.sample(spare, min(target - len(skills), len(spare))):
                    skills[p] = rng.randint(1, 100)
            login_x = rng.uniform(0.0, 0.02) if rng.random() < 0.6 else rng.uniform(0.02, 0.4)
            logout_x = rng.uniform(0.85, 0.99) if rng.random() < 0.15 else None
            end_x = logout_x if logout_x is not None else 1.0
            breaks = []
            for _ in range(rng.choices((0, 1, 2), (15, 60, 25))[0]):
                lo, hi = login_x + 0.05, end_x - 0.05
                if hi > lo:
                    breaks.append((rng.uniform(lo, hi), rng.uniform(300.0, 900.0)))
            plans.append(
                AgentPlan(
                    id=f"a{i + 1:0{w}d}",
                    skills=skills,
                    queues=[q.id for q in mine],
                    login_x=login_x,
                    logout_x=logout_x,
                    breaks=breaks,
                )
            )
        return plans

    def _plan_day(self) -> float:
        """Day length and the arrival-time distribution (a curve on a grid).

        Offered work (calls x mean handle time) = OCCUPANCY x staffed seconds,
        and the arrival rate is proportional to staffing x demand shape, so the
        load is even except at the peaks, where it runs above 100% for a while.
        """
        staffed = [0] * (GRID + 1)
        span = 0.0
        for a in self.agents:
            end_x = a.logout_x if a.logout_x is not None else 1.0
            span += end_x - a.login_x
            staffed[min(GRID, int(a.login_x * GRID))] += 1
            staffed[min(GRID, int(end_x * GRID))] -= 1
        total_vol = sum(q.volume for q in self.queues)
        mean_wrap = sum(q.wrapup * q.volume for q in self.queues) / total_vol
        mean_talk = TALK_MEDIAN * math.exp(TALK_SIGMA**2 / 2)
        break_s = sum(s for a in self.agents for _, s in a.breaks)
        work = self.n_calls * (mean_talk + mean_wrap) / OCCUPANCY
        day = (work + break_s) / span if span > 0 else 36_000.0
        cum = []
        acc = level = 0.0
        for g in range(GRID):
            level += staffed[g]
            acc += level * _demand_shape((g + 0.5) / GRID)
            cum.append(acc)
        self._cum = cum
        self._q_cum = []
        acc = 0.0
        for q in self.queues:
            acc += q.volume
            self._q_cum.append(acc)
        return round(day, 3)

    def _arrivals(self) -> list[float]:
        """N arrival times: a Poisson process conditioned on its count is N
        independent draws from the normalized rate, sorted."""
        rng = self.rng
        cum = self._cum
        total = cum[-1]
        day = self.day_seconds
        out = []
        for _ in range(self.n_calls):
            g = bisect(cum, rng.random() * total)
            out.append(round((min(g, GRID - 1) + rng.random()) / GRID * day, 3))
        out.sort()
        return out

    # ----- the day ----------------------------------------------------------

    def __iter__(self) -> Iterator[Op]:
        rng = self.rng
        engine = Engine()
        day = self.day_seconds
        for q in self.queues:
            op: Op = {"t": 0, "op": "queue", "id": q.id, "strategy": q.strategy}
            op.update({"wrapup": q.wrapup, "weight": q.weight, "sl": 20})
            engine.apply(op)
            yield op

        # Scheduled agent operations and hangups: (t, seq, kind, id).
        heap: list[tuple[float, int, int, str]] = []
        seq = 0
        login, logout, pause, unpause, end, abandon = range(6)
        plans = {a.id: a for a in self.agents}
        for a in self.agents:
            entries = [(a.login_x * day, login)]
            if a.logout_x is not None:
                entries.append((a.logout_x * day, logout))
            for x, secs in a.breaks:
                entries += [(x * day, pause), (x * day + secs, unpause)]
            for t, kind in entries:
                heap.append((round(t, 3), seq, kind, a.id))
                seq += 1
        heapq.heapify(heap)

        arrivals = self._arrivals()
        n_calls = len(arrivals)
        wq = len(str(n_calls))
        q_cum = self._q_cum
        q_total = q_cum[-1]
        queues = self.queues
        pending: dict[str, tuple[float, int]] = {}  # waiting call -> (talk, wrapup)
        on: set[str] = set()  # agents logged in, as far as the trace goes
        busy_s = 0.0
        inf = math.inf
        i = 0
        while True:
            t_heap = heap[0][0] if heap else inf
            t_call = arrivals[i] if i < n_calls else inf
            t_next = min(t_heap, t_call)
            wake = engine.next_wakeup()
            if wake is not None and wake <= t_next:
                events = engine.advance(wake)
            elif t_next == inf:
                break
            else:
                if t_heap <= t_call:
                    t, _, kind, ident = heapq.heappop(heap)
                    if kind in (end, abandon):
                        if kind == abandon and ident not in pending:
                            continue  # answered in time
                        pending.pop(ident, None)
                        op = {"t": t, "op": "hangup", "id": ident}
                    elif kind == login:
                        plan = plans[ident]
                        on.add(ident)
                        op = {"t": t, "op": "login", "id": ident}
                        op.update({"skills": plan.skills, "queues": plan.queues})
                    elif ident not in on:
                        continue  # a break after the agent's logout
                    else:
                        if kind == logout:
                            on.discard(ident)
                        name = ("logout", "pause", "unpause")[kind - logout]
                        op = {"t": t, "op": name, "id": ident}
                else:
                    t = t_call
                    i += 1
                    cid = f"c{i:0{wq}d}"
                    q = queues[bisect(q_cum, rng.random() * q_total)]
                    op = {"t": t, "op": "call", "id": cid, "queue": q.id}
                    if rng.random() < 0.08:
                        op["priority"] = rng.randint(1, 5)
                    need = self._call_skills(q)
                    if need:
                        op["skills"] = need
                    talk = max(5.0, rng.lognormvariate(math.log(TALK_MEDIAN), TALK_SIGMA))
                    pending[cid] = (talk, q.wrapup)
                    patience = 1.0 + rng.expovariate(1.0 / PATIENCE_MEAN)
                    heapq.heappush(heap, (round(t + patience, 3), seq, abandon, cid))
                    seq += 1
                events = engine.apply(op)
                yield op
            for ev in events:
                if ev["event"] == "assign":
                    talk, wrapup = pending.pop(ev["call"])
                    busy_s += talk + wrapup
                    heapq.heappush(heap, (round(ev["t"] + talk, 3), seq, end, ev["call"]))
                    seq += 1
        self.summary = engine.finish()[-1]
        self.occupancy = busy_s / self._staffed_seconds()

    def _call_skills(self, q: QueuePlan) -> dict[str, int]:
        """0-2 of the queue's skills, at levels most of its agents meet."""
        rng = self.rng
        r = rng.random()
        k = 0 if r < 0.35 else 1 if r < 0.8 else 2
        if not k:
            return {}
        names = rng.sample([q.lang, *q.products], min(k, 1 + len(q.products)))
        return {n: rng.randint(1, 50 if n == q.lang else 40) for n in names}

    def _staffed_seconds(self) -> float:
        """Logged-in, unpaused agent time up to the end of the day's arrivals
        (the long tail of the last calls would dilute a short day)."""
        total = 0.0
        day = self.day_seconds
        for a in self.agents:
            start = a.login_x * day
            stop = (a.logout_x if a.logout_x is not None else 1.0) * day
            total += max(0.0, stop - start) - sum(s for _, s in a.breaks)
        return max(total, 1e-9)


def generate(
    calls: int = DEFAULTS["calls"],
    agents: int = DEFAULTS["agents"],
    queues: int = DEFAULTS["queues"],
    skills: int = DEFAULTS["skills"],
    seed: int = DEFAULTS["seed"],
) -> Iterator[Op]:
    """Yield the trace of one generated day, one op dict per line, in time order."""
    return iter(DayGenerator(calls, agents, queues, skills, seed))


def write_jsonl(
    path: str | Path | IO[str],
    calls: int = DEFAULTS["calls"],
    agents: int = DEFAULTS["agents"],
    queues: int = DEFAULTS["queues"],
    skills: int = DEFAULTS["skills"],
    seed: int = DEFAULTS["seed"],
) -> DayGenerator:
    """Write a generated day as JSONL to path or an open text file; return its stats."""
    gen = DayGenerator(calls, agents, queues, skills, seed)
    encode = json.JSONEncoder(separators=(",", ":")).encode
    if isinstance(path, (str, Path)):
        with open(path, "w", encoding="utf-8") as f:
            _write(f, gen, encode)
    else:
        _write(path, gen, encode)
    return gen


def _write(f: IO[str], gen: DayGenerator, encode: Any) -> None:
    buf: list[str] = []
    for op in gen:
        buf.append(encode(op))
        if len(buf) >= 4096:
            f.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        f.write("\n".join(buf) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate a contact-center day as a trace.")
    for name, value in DEFAULTS.items():
        p.add_argument(f"--{name}", type=int, default=value, help=f"default {value}")
    p.add_argument("--out", help="output file (default: stdout)")
    args = p.parse_args(argv)
    sizes = {name: getattr(args, name) for name in DEFAULTS}
    start = time.perf_counter()
    try:
        gen = write_jsonl(args.out or sys.stdout, **sizes)
    except ValueError as e:
        p.error(str(e))
    elapsed = time.perf_counter() - start
    s = gen.summary["queues"].values() if gen.summary else []
    offered = sum(q["offered"] for q in s)
    answered = sum(q["answered"] for q in s)
    within = sum(q["answered_within_sl"] for q in s)
    abandoned = sum(q["abandoned"] for q in s)
    print(
        f"{offered} calls over {gen.day_seconds / 3600:.1f} h in {elapsed:.1f} s:"
        f" answered {answered / max(offered, 1):.1%},"
        f" abandoned {abandoned / max(offered, 1):.1%},"
        f" within 20 s {within / max(answered, 1):.1%} of answered,"
        f" occupancy {gen.occupancy:.0%}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
