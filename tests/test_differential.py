"""Differential tests: the Rust engine's trace replay against the pure-Python baseline.

`acdcore.replay_lines(lines)` and `run(lines)` of benches/replay_baseline.py implement the same
trace-replay contract (issue 2, "The trace-replay contract", and the decisions that complete
it) independently, so on any valid trace they must produce the same events, in the same order,
and the same summary. Numbers are compared with a 1e-9 tolerance.

Traces come from a small random generator written here (small and medium sizes, several seeds,
every deterministic strategy, wrap-ups, weights, pauses, logouts and logins again, priorities,
skills, ties in time) and from examples/call_center_day.py when it is there. The random and
weighted-random strategies are left out: their choices are seeded, not part of the contract.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

acdcore = pytest.importorskip("acdcore")

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "benches" / "replay_baseline.py"
DAY = REPO / "examples" / "call_center_day.py"

DETERMINISTIC = [
    "longest-idle",
    "round-robin",
    "linear",
    "fewest-calls",
    "least-talk-time",
    "skills-best",
    "ring-all",
]
SKILLS = ["en", "es", "fr", "billing", "tech"]
TOLERANCE = 1e-9

Event = dict[str, Any]


def _load(path: Path, name: str) -> ModuleType:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO)} does not exist")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


@pytest.fixture(scope="module")
def baseline() -> Callable[[list[str]], list[Event]]:
    module = _load(BASELINE, "replay_baseline")
    return lambda lines: list(module.run(lines))


# ---- comparing ------------------------------------------------------------------------------


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, bool) or isinstance(b, bool):
        assert a == b, where
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_events(lines: list[str], baseline: Callable[[list[str]], list[Event]]) -> None:
    ours = acdcore.replay_lines(lines)
    theirs = baseline(lines)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        try:
            _same(a, b, f"event {i}")
        except AssertionError as err:
            context = "\n".join(
                f"  {j}: engine {x}\n     baseline {y}"
                for j, (x, y) in enumerate(zip(ours, theirs, strict=False))
                if i - 3 <= j <= i
            )
            raise AssertionError(f"{err}\n{context}") from None
    assert len(ours) == len(theirs), (
        f"engine wrote {len(ours)} events, baseline {len(theirs)}; the longer one goes on with "
        f"{(ours if len(ours) > len(theirs) else theirs)[min(len(ours), len(theirs))]}"
    )
    assert ours[-1]["event"] == "summary"


# ---- a random trace generator ---------------------------------------------------------------


def _skills(rng: random.Random, levels: list[int], most: int) -> dict[str, int]:
    names = rng.sample(SKILLS, rng.randint(0, most))
    return {n: rng.choice(levels) for n in names}


def random_trace(
    seed: int,
    ops: int,
    strategies: list[str],
    n_queues: int = 3,
    n_agents: int = 6,
) -> list[str]:
    """A valid trace: time never goes back, ids are fresh, only live calls are hung up and only
    logged-in agents are paused, unpaused or logged out (an agent whose logout is pending counts
    as logged out: logging it in again is allowed and cancels the logout)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    t = 0.0

    def emit(op: str, **fields: Any) -> None:
        line: dict[str, Any] = {"t": int(t) if t == int(t) and rng.random() < 0.5 else t, "op": op}
        line.update(fields)
        out.append(line)

    queues = [f"q{i}" for i in range(n_queues)]
    for q in queues:
        fields: dict[str, Any] = {"id": q, "strategy": rng.choice(strategies)}
        if rng.random() < 0.7:
            fields["wrapup"] = rng.choice([0, 0, 1.5, 4, 10])
        if rng.random() < 0.5:
            fields["weight"] = rng.choice([0, 1, 2, 5])
        if rng.random() < 0.5:
            fields["sl"] = rng.choice([0, 5, 12.5, 30])
        if fields["strategy"] == "longest-idle" and rng.random() < 0.3:
            del fields["strategy"]  # the default
        emit("queue", **fields)

    agents = [f"agent-{i}" for i in range(n_agents)]
    logged_in: set[str] = set()
    live_calls: list[str] = []
    n_calls = 0

    def login(agent: str) -> None:
        fields: dict[str, Any] = {"id": agent}
        skills = _skills(rng, [10, 40, 70, 100], 3)
        if skills or rng.random() < 0.5:
            fields["skills"] = skills
        fields["queues"] = rng.sample(queues, rng.randint(1, len(queues)))
        emit("login", **fields)
        logged_in.add(agent)

    for agent in agents[: n_agents // 2]:
        login(agent)

    weights = {
        "call": 10,
        "hangup": 8,
        "login": 2,
        "logout": 1,
        "pause": 1,
        "unpause": 1,
        "tick": 3,
    }
    kinds = list(weights)
    for _ in range(ops):
        t += rng.choice([0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 7.5, 15.0])
        kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
        if kind == "call":
            fields = {"id": f"call-{n_calls}", "queue": rng.choice(queues)}
            n_calls += 1
            if rng.random() < 0.5:
                fields["priority"] = rng.choice([-1, 0, 1, 2, 5])
            skills = _skills(rng, [1, 30, 60, 90], 2)
            if skills:
                fields["skills"] = skills
            emit("call", **fields)
            live_calls.append(fields["id"])
        elif kind == "hangup" and live_calls:
            # Mostly the oldest calls (talk finished), sometimes a fresh one (an abandon).
            i = rng.randrange(len(live_calls)) if rng.random() < 0.4 else 0
            emit("hangup", id=live_calls.pop(i))
        elif kind == "login":
            free = [a for a in agents if a not in logged_in]
            if free:
                login(rng.choice(free))
        elif kind in ("logout", "pause", "unpause") and logged_in:
            agent = rng.choice(sorted(logged_in))
            emit(kind, id=agent)
            if kind == "logout":
                logged_in.discard(agent)
    # Hang up some of what is left; the rest stays to the end (waiting, or connected).
    for call in live_calls[: len(live_calls) // 2]:
        t += rng.choice([0.0, 1.0])
        emit("hangup", id=call)
    return [json.dumps(line) for line in out]


# ---- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", DETERMINISTIC)
@pytest.mark.parametrize("seed", range(12))
def test_small_traces_one_strategy(
    strategy: str, seed: int, baseline: Callable[[list[str]], list[Event]]
) -> None:
    lines = random_trace(seed * 101 + DETERMINISTIC.index(strategy), 40, [strategy], 2, 4)
    assert_same_events(lines, baseline)


@pytest.mark.parametrize("seed", range(40))
def test_small_traces_mixed_strategies(
    seed: int, baseline: Callable[[list[str]], list[Event]]
) -> None:
    lines = random_trace(10_000 + seed, 60, DETERMINISTIC, 3, 5)
    assert_same_events(lines, baseline)


@pytest.mark.parametrize("strategy", DETERMINISTIC)
def test_medium_traces(strategy: str, baseline: Callable[[list[str]], list[Event]]) -> None:
    for seed in range(3):
        lines = random_trace(20_000 + seed, 1_500, [strategy, "longest-idle"], 4, 12)
        assert_same_events(lines, baseline)


def test_medium_trace_everything_at_once(baseline: Callable[[list[str]], list[Event]]) -> None:
    lines = random_trace(31_337, 4_000, DETERMINISTIC, 6, 25)
    assert_same_events(lines, baseline)


def test_ties_in_time(baseline: Callable[[list[str]], list[Event]]) -> None:
    """Many lines at the same instant: wrap-ups ending together, logins in a burst, arrivals
    in a burst — every tie-break in play."""
    rng = random.Random(5)
    for seed in range(20):
        lines = random_trace(40_000 + seed, 80, DETERMINISTIC, 2, 6)
        # Squash times onto a coarse grid so that many lines share one t.
        squashed = []
        for line in lines:
            obj = json.loads(line)
            obj["t"] = math.floor(obj["t"] / 10) * 10
            squashed.append(json.dumps(obj))
        assert_same_events(squashed, baseline)
    assert rng  # the generator above is seeded per trace


def test_the_generator_exercises_the_contract(baseline: Callable[[list[str]], list[Event]]) -> None:
    """Random traces are not vacuous: they assign, abandon, end, leave calls waiting and run
    wrap-ups, pauses and logouts."""
    kinds: dict[str, int] = {}
    ops: dict[str, int] = {}
    for seed in range(10):
        lines = random_trace(50_000 + seed, 200, DETERMINISTIC, 3, 6)
        for line in lines:
            op = json.loads(line)["op"]
            ops[op] = ops.get(op, 0) + 1
        events = baseline(lines)
        for ev in events:
            kinds[ev["event"]] = kinds.get(ev["event"], 0) + 1
        waiting = sum(q["waiting"] for q in events[-1]["queues"].values())
        kinds["waiting at the end"] = kinds.get("waiting at the end", 0) + waiting
    for kind in ("assign", "abandon", "end", "summary", "waiting at the end"):
        assert kinds.get(kind, 0) > 0, kinds
    for op in ("queue", "login", "logout", "pause", "unpause", "call", "hangup"):
        assert ops.get(op, 0) > 0, ops


def _day(**sizes: int) -> list[str]:
    module = _load(DAY, "call_center_day")
    encode = json.JSONEncoder(separators=(",", ":")).encode
    return [encode(op) for op in module.generate(**sizes)]


@pytest.mark.parametrize(
    "sizes",
    [
        {"calls": 300, "agents": 12, "queues": 4, "skills": 8, "seed": 1},
        {"calls": 2_000, "agents": 50, "queues": 8, "skills": 20, "seed": 2},
        {"calls": 6_000, "agents": 120, "queues": 12, "skills": 30, "seed": 3},
    ],
    ids=["small", "medium", "large"],
)
def test_generated_call_center_day(
    sizes: dict[str, int], baseline: Callable[[list[str]], list[Event]]
) -> None:
    lines = _day(**sizes)
    assert_same_events(lines, baseline)


def _with_replacement(lines: Iterable[str], strategy: str) -> list[str]:
    out = []
    for line in lines:
        obj = json.loads(line)
        if obj["op"] == "queue":
            obj["strategy"] = strategy
        out.append(json.dumps(obj))
    return out


@pytest.mark.parametrize("strategy", DETERMINISTIC)
def test_generated_day_under_each_strategy(
    strategy: str, baseline: Callable[[list[str]], list[Event]]
) -> None:
    lines = _with_replacement(_day(calls=800, agents=25, queues=5, skills=10, seed=7), strategy)
    assert_same_events(lines, baseline)


def test_invalid_lines_stop_both_at_the_same_line(
    baseline: Callable[[list[str]], list[Event]],
) -> None:
    good = random_trace(60_000, 50, DETERMINISTIC, 2, 4)
    t_last = json.loads(good[-1])["t"]
    bad_lines = [
        json.dumps({"t": t_last, "op": "hangup", "id": "never-seen"}),
        json.dumps({"t": t_last - 1, "op": "call", "id": "late", "queue": "q0"}),
        json.dumps({"t": t_last, "op": "call", "id": "x", "queue": "nope"}),
        json.dumps({"t": t_last, "op": "teleport", "id": "x"}),
        json.dumps({"t": t_last, "op": "login", "id": "z", "skills": {"en": 0}}),
        "{not json",
    ]
    for bad in bad_lines:
        lines = [*good, bad]
        with pytest.raises(ValueError) as ours:
            acdcore.replay_lines(lines)
        with pytest.raises(ValueError) as theirs:
            baseline(lines)
        where = f"line {len(lines)}:"
        assert str(ours.value).startswith(where), (bad, str(ours.value))
        assert str(theirs.value).startswith(where), (bad, str(theirs.value))
