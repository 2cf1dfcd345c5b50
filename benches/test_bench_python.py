"""Python API benchmarks (pytest-benchmark): `pytest benches -q --benchmark-only`.

The normal test run passes --benchmark-skip (pyproject.toml), so these only run on request.

1. Bulk API throughput: a generated day like the Rust bench's (10,000 agents, 100 skills, 1,000
   queues, 1,000,000 calls, Poisson arrivals at ~90% offered load, lognormal talk times,
   abandons) applied through `enqueue_many` / `hangup_many` on a fresh engine with
   auto-accept. The bulk calls take one kind of op each, so the day is cut into 20 s slots: the
   slot's arrivals (at their own times) in one `enqueue_many`, then at the slot's end one
   `hangup_many` with the callers whose patience ran out while waiting and the calls whose talk
   time ended in the slot. As in the Rust bench, the op list is made beforehand by driving an
   engine (hangups depend on when calls were answered), and a replay reproduces it exactly.
   `enqueue_many` has no skills argument, so these calls need no skills. Rate = ops (calls +
   hangups) per second, including the numpy/list arguments' conversion and the event columns.
2. Single-call overhead: `engine.enqueue` + `engine.hangup` of one call on a loaded engine (the
   day applied halfway), in a loop of 1,000 pairs; the figure is per Python call. Also the
   floor: `engine.advance(now)`, a call that does nothing in the engine.
3. Replay of a 200,000-call trace from examples/call_center_day.py (cached in pytest's cache
   directory) through `acdcore.replay`, `python -m acdcore replay`, and the pure-Python baseline
   benches/replay_baseline.py the same two ways; the terminal summary prints the ratios.

Sizes: ACDCORE_BENCH_{AGENTS,SKILLS,QUEUES,CALLS,SEED} as for the Rust benches, and
ACDCORE_BENCH_REPLAY_CALLS for the trace.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import acdcore
import numpy as np
import numpy.typing as npt
import pytest
from acdcore import _core

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benches import replay_baseline as baseline  # noqa: E402

EXAMPLE = REPO / "examples" / "call_center_day.py"
BASELINE = REPO / "benches" / "replay_baseline.py"

ASSIGN = acdcore.EVENT_KINDS.index("assign")
ABANDON = acdcore.EVENT_KINDS.index("abandon")
END = acdcore.EVENT_KINDS.index("end")

SLOT = 20.0  # seconds of a bulk batch
TALK_MEDIAN, TALK_SIGMA, TALK_MIN = 180.0, 0.7, 5.0
PATIENCE_MEAN = 120.0
OFFERED_LOAD = 0.90
QUEUES_PER_AGENT = np.array([25, 30, 22, 14, 9]) / 100
STRATEGY_SHARES = (
    ("skills-best", 0.12),
    ("round-robin", 0.08),
    ("fewest-calls", 0.08),
    ("least-talk-time", 0.06),
    ("linear", 0.06),
    ("longest-idle", 0.60),
)
PAIRS = 1000  # single-call loop length


def _size(name: str, default: int) -> int:
    return int(os.environ.get(f"ACDCORE_BENCH_{name}", str(default)).replace("_", ""))


AGENTS = _size("AGENTS", 10_000)
SKILLS = _size("SKILLS", 100)
QUEUES = _size("QUEUES", 1_000)
CALLS = _size("CALLS", 1_000_000)
SEED = _size("SEED", 1)
REPLAY_CALLS = _size("REPLAY_CALLS", 200_000)


# ----- the bulk day -------------------------------------------------------------------------

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class Batch:
    """One bulk call: enqueue (queues set) or hangup (queues None)."""

    now: F64
    calls: I64
    queues: list[str] | None = None
    priorities: I64 | None = None


@dataclass
class Day:
    queues: list[tuple[str, dict[str, Any]]]
    agents: list[tuple[str, dict[str, int], list[str]]]
    batches: list[Batch] = field(default_factory=list)
    ops: int = 0
    assigns: int = 0
    abandons: int = 0

    def engine(self) -> acdcore.Engine:
        """A fresh engine with the queues defined and every agent logged in at t=0."""
        e = acdcore.Engine(seed=0, auto_accept=True)
        for qid, cfg in self.queues:
            e.add_queue(qid, **cfg)
        for aid, skills, queues in self.agents:
            e.login(0.0, aid, skills=skills, queues=queues)
        return e


def apply(e: acdcore.Engine, batch: Batch) -> dict[str, Any]:
    if batch.queues is not None:
        return e.enqueue_many(batch.now, batch.calls, batch.queues, batch.priorities)
    return e.hangup_many(batch.now, batch.calls)


def run_bulk(e: acdcore.Engine, batches: list[Batch]) -> int:
    """The timed part: every batch, then the end of the day. Returns the number of assigns."""
    assigns = 0
    for batch in batches:
        cols = apply(e, batch)
        assigns += int(np.count_nonzero(cols["kind"] == ASSIGN))
    cols_end = e.finish()
    return assigns + sum(ev.kind == "assign" for ev in cols_end)


def plan_day() -> tuple[Day, dict[str, Any]]:
    """Queues, agents and calls (numpy, seeded): everything but the hangups."""
    rng = np.random.default_rng(SEED)
    names = [f"skill{i:02d}" for i in range(SKILLS)]
    strategies = [s for s, _ in STRATEGY_SHARES]
    shares = np.array([p for _, p in STRATEGY_SHARES])
    qw = len(str(max(QUEUES - 1, 1)))
    queues: list[tuple[str, dict[str, Any]]] = []
    queue_skills: list[list[int]] = []
    wrapups = np.zeros(QUEUES)
    for j in range(QUEUES):
        wrapup = 0.0 if rng.random() < 0.25 else float(rng.integers(5, 21))
        weight = float(rng.integers(1, 4)) if rng.random() < 0.1 else 0.0
        strategy = strategies[rng.choice(len(strategies), p=shares)]
        cfg = {"strategy": strategy, "wrapup": wrapup, "weight": weight, "sl": 20.0}
        queues.append((f"q{j:0{qw}d}", cfg))
        queue_skills.append(sorted({int(s) for s in rng.integers(0, SKILLS, rng.integers(1, 3))}))
        wrapups[j] = wrapup
    aw = len(str(max(AGENTS - 1, 1)))
    agents: list[tuple[str, dict[str, int], list[str]]] = []
    memberships: list[int] = []
    for i in range(AGENTS):
        want = min(int(rng.choice(5, p=QUEUES_PER_AGENT)) + 1, QUEUES)
        mine = [i] if i < QUEUES else []
        while len(mine) < want:
            q = int(rng.integers(QUEUES))
            if q not in mine:
                mine.append(q)
        memberships += mine
        skills: dict[str, int] = {}
        for q in mine:
            for s in queue_skills[q]:
                if len(skills) < 8:
                    skills.setdefault(names[s], int(rng.integers(30, 101)))
        target = min(int(rng.integers(2, 9)), SKILLS)
        while len(skills) < target:
            skills.setdefault(names[int(rng.integers(SKILLS))], int(rng.integers(1, 101)))
        agents.append((f"a{i:0{aw}d}", skills, [queues[q][0] for q in mine]))
    member = np.array(memberships)
    mean_talk = TALK_MEDIAN * np.exp(TALK_SIGMA**2 / 2)
    rate = OFFERED_LOAD * AGENTS / (mean_talk + wrapups[member].mean())
    calls = {
        "arrival": np.cumsum(rng.exponential(1 / rate, CALLS)),
        "queue": member[rng.integers(0, len(member), CALLS)],
        "priority": np.where(rng.random(CALLS) < 0.08, rng.integers(1, 6, CALLS), 0),
        "talk": np.maximum(TALK_MIN, TALK_MEDIAN * np.exp(TALK_SIGMA * rng.standard_normal(CALLS))),
        "patience": 1.0 + rng.exponential(PATIENCE_MEAN, CALLS),
        "wrapups": wrapups,
    }
    return Day(queues, agents), calls


def drive_day() -> Day:
    """Plans the day and records its batches by driving an engine slot by slot."""
    day, c = plan_day()
    e = day.engine()
    n = len(c["arrival"])
    arrival, talk = c["arrival"], c["talk"]
    ids = np.arange(n, dtype=np.int64)
    qnames = np.array([q for q, _ in day.queues], dtype=object)[c["queue"]]
    priority = c["priority"].astype(np.int64)
    n_slots = int(arrival[-1] // SLOT) + 1 if n else 0
    bounds = np.searchsorted(arrival, np.arange(n_slots + 1) * SLOT)
    # Slot at whose end a caller still waiting gives up.
    give_up = ((arrival + c["patience"]) // SLOT).astype(np.int64)
    last = max(n_slots, int(give_up.max()) + 1 if n else 0)
    by_give_up = np.argsort(give_up, kind="stable")
    give_up_bounds = np.searchsorted(give_up[by_give_up], np.arange(last + 2))
    assigned = np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)
    ends: defaultdict[int, list[int]] = defaultdict(list)

    def record(batch: Batch, first_slot: int) -> None:
        """Applies a batch and schedules the ends of the calls it saw answered, each at the
        end of the slot its talk time ends in (never before `first_slot`)."""
        day.batches.append(batch)
        day.ops += len(batch.now)
        cols = apply(e, batch)
        kind = cols["kind"]
        call = np.array(cols["call"], dtype=object)
        took = kind == ASSIGN
        if took.any():
            who = call[took].astype(np.int64)
            assigned[who] = True
            end_at = cols["t"][took] + talk[who]
            end_slot = np.maximum(end_at // SLOT, first_slot).astype(np.int64)
            for s, w in zip(end_slot.tolist(), who.tolist(), strict=True):
                ends[s].append(w)
        over = (kind == END) | (kind == ABANDON)
        if over.any():
            done[call[over].astype(np.int64)] = True
        day.assigns += int(took.sum())
        day.abandons += int(np.count_nonzero(kind == ABANDON))

    k = 0
    while k <= last or ends:
        if k < n_slots and bounds[k + 1] > bounds[k]:
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            record(Batch(arrival[lo:hi], ids[lo:hi], qnames[lo:hi].tolist(), priority[lo:hi]), k)
        cand = by_give_up[give_up_bounds[k] : give_up_bounds[k + 1]] if k <= last else ids[:0]
        quit_ = np.sort(cand[~assigned[cand] & ~done[cand]])
        finished = np.array(ends.pop(k, []), dtype=np.int64)
        finished = finished[~done[finished]]
        # Abandons first: an end at the same instant would free an agent for a caller who is
        # hanging up anyway.
        hang = np.concatenate([quit_, finished]).astype(np.int64)
        if len(hang):
            record(Batch(np.full(len(hang), (k + 1) * SLOT), hang), k + 1)
        k += 1
    tail = e.finish()
    day.assigns += sum(ev.kind == "assign" for ev in tail)
    return day


@pytest.fixture(scope="module")
def bulk_day() -> Day:
    return drive_day()


def test_bulk_day(benchmark: Any, bulk_day: Day, report: Any) -> None:
    day = bulk_day
    benchmark.group = "bulk"
    results: list[int] = []

    def setup() -> tuple[tuple[acdcore.Engine, list[Batch]], dict[str, Any]]:
        return (day.engine(), day.batches), {}

    def run(e: acdcore.Engine, batches: list[Batch]) -> None:
        results.append(run_bulk(e, batches))

    benchmark.pedantic(run, setup=setup, rounds=5, iterations=1)
    assert results and all(r == day.assigns for r in results), (results, day.assigns)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        ops=day.ops,
        assigns=day.assigns,
        ops_per_s=day.ops / median,
        batches=len(day.batches),
    )
    report.add(
        "bulk",
        median,
        f"bulk API day ({AGENTS} agents, {QUEUES} queues, {CALLS} calls, {day.ops} ops in "
        f"{len(day.batches)} batches, {day.abandons} abandons): {median:.3f} s -> "
        f"{day.ops / median:,.0f} ops/s, {day.assigns / median:,.0f} assigns/s "
        f"(target >= 1,000,000 ops/s: {'met' if day.ops / median >= 1e6 else 'NOT met'})",
    )


# ----- single calls -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warm(bulk_day: Day) -> tuple[acdcore.Engine, float]:
    """The day applied halfway, plus two quiet queues without wrap-up: "micro-wait" (its one
    agent busy, 1,000 calls waiting) and "micro-free" (its one agent idle)."""
    e = bulk_day.engine()
    for batch in bulk_day.batches[: len(bulk_day.batches) // 2]:
        apply(e, batch)
    now = e.now
    e.add_queue("micro-wait")
    e.add_queue("micro-free")
    e.login(now, "micro-busy-agent", queues=["micro-wait"])
    e.login(now, "micro-idle-agent", queues=["micro-free"])
    held = [f"micro-held-{i}" for i in range(1001)]
    e.enqueue_many(np.full(len(held), now), held, "micro-wait")
    return e, now


def _single(
    benchmark: Any,
    report: Any,
    name: str,
    calls_per_loop: int,
    loop: Callable[[], None],
) -> None:
    benchmark.group = "single call"
    benchmark.pedantic(loop, rounds=200, warmup_rounds=5, iterations=1)
    per_call = benchmark.stats.stats.median / (PAIRS * calls_per_loop)
    benchmark.extra_info["ns_per_call"] = per_call * 1e9
    verdict = "met" if per_call < 1e-6 else "NOT met"
    report.add(
        name,
        per_call,
        f"{name}: {per_call * 1e9:.0f} ns per Python call (target < 1 us: {verdict})",
    )


@pytest.mark.parametrize(
    ("queue", "kinds"),
    [("micro-wait", ([], ["abandon"])), ("micro-free", (["assign"], ["end"]))],
    ids=["call-waits", "call-answered"],
)
def test_single_enqueue_hangup(
    benchmark: Any,
    warm: tuple[acdcore.Engine, float],
    report: Any,
    queue: str,
    kinds: tuple[list[str], list[str]],
) -> None:
    e, now = warm
    enqueue, hangup = e.enqueue, e.hangup
    # The engine is back in the same state after each pair, so every iteration is alike.
    on_enqueue = [ev.kind for ev in enqueue(now, "micro-call", queue)]
    on_hangup = [ev.kind for ev in hangup(now, "micro-call")]
    assert (on_enqueue, on_hangup) == kinds

    def loop() -> None:
        for _ in range(PAIRS):
            enqueue(now, "micro-call", queue)
            hangup(now, "micro-call")

    what = "waits, then abandons" if queue == "micro-wait" else "answered, then ends"
    _single(benchmark, report, f"enqueue + hangup (call {what})", 2, loop)


def test_single_floor(benchmark: Any, warm: tuple[acdcore.Engine, float], report: Any) -> None:
    e, now = warm
    advance = e.advance

    def loop() -> None:
        for _ in range(PAIRS):
            advance(now)

    _single(benchmark, report, "advance(now), nothing to do (binding floor)", 1, loop)


# ----- replay of a generated day ------------------------------------------------------------

REPLAY_SIZES = {"calls": REPLAY_CALLS, "agents": max(REPLAY_CALLS // 100, 1), "queues": 100}
REPLAY_SIZES |= {"skills": 100, "seed": 0}


def _load_example() -> ModuleType:
    """examples/call_center_day.py, imported as a module of the repository (a namespace
    package, like `benches`)."""
    return importlib.import_module("examples.call_center_day")


@pytest.fixture(scope="module")
def trace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace, generated once and kept in pytest's cache directory; a change to the
    generator, the baseline it drives or the sizes makes a new one."""
    if not EXAMPLE.exists():
        pytest.skip("examples/call_center_day.py is not there yet")
    digest = hashlib.sha256(EXAMPLE.read_bytes() + BASELINE.read_bytes())
    digest.update(repr(sorted(REPLAY_SIZES.items())).encode())
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("acdcore-bench") if cache else tmp_path_factory.mktemp("acdcore-bench")
    path = folder / f"day-{digest.hexdigest()[:16]}.jsonl"
    if not path.exists():
        part = path.with_suffix(".part")
        _load_example().write_jsonl(part, **REPLAY_SIZES)
        part.replace(path)
    return path


def _replay_bench(
    benchmark: Any, report: Any, name: str, rounds: int, fn: Callable[[], Any]
) -> Any:
    benchmark.group = f"replay {REPLAY_CALLS} calls"
    out = benchmark.pedantic(fn, rounds=rounds, warmup_rounds=0, iterations=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info["calls_per_s"] = REPLAY_CALLS / median
    target = f" (target < 1 s: {'met' if median < 1.0 else 'NOT met'})" if "acdcore" in name else ""
    report.add(
        name,
        median,
        f"replay {REPLAY_CALLS} calls, {name}: {median:.3f} s, "
        f"{REPLAY_CALLS / median:,.0f} calls/s{target}",
    )
    return out


def _cli(*args: str | Path) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, *map(str, args)], stdout=subprocess.DEVNULL, check=True)

    return run


def test_replay_acdcore_api(benchmark: Any, report: Any, trace: Path) -> None:
    events = _replay_bench(benchmark, report, "acdcore-api", 5, lambda: acdcore.replay(trace))
    assert events[-1]["event"] == "summary"
    with trace.open("rb") as f:
        same = events == list(baseline.run(f))
    report.lines.append(f"replay {REPLAY_CALLS} calls: acdcore and baseline output equal: {same}")


def test_replay_acdcore_core(benchmark: Any, report: Any, trace: Path) -> None:
    name = "acdcore-core"
    _out, error = _replay_bench(benchmark, report, name, 5, lambda: _core.replay_file(str(trace)))
    assert error is None, error


def test_replay_acdcore_cli(benchmark: Any, report: Any, trace: Path) -> None:
    _replay_bench(benchmark, report, "acdcore-cli", 5, _cli("-m", "acdcore", "replay", trace))


def test_replay_baseline_api(benchmark: Any, report: Any, trace: Path) -> None:
    def run() -> list[dict[str, Any]]:
        with trace.open("rb") as f:
            return list(baseline.run(f))

    events = _replay_bench(benchmark, report, "baseline-api", 3, run)
    assert events[-1]["event"] == "summary"


def test_replay_baseline_cli(benchmark: Any, report: Any, trace: Path) -> None:
    _replay_bench(benchmark, report, "baseline-cli", 3, _cli(BASELINE, trace))
