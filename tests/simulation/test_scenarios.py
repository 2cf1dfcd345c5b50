"""Scenario features end to end through the Python API: schedules, breaks, skills, overflow,
self-service, callbacks, retrials, determinism, and the shape of the results."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import acdcore
import numpy as np
import pytest
from acdcore import Scenario, simulate


def scenario(body: str, settings: str = "interval = 600\nintervals = 12") -> Scenario:
    return Scenario.from_toml(f"[simulation]\n{settings}\n" + textwrap.dedent(body))


ONE_QUEUE = """
[[queue]]
id = "q"
[[group]]
name = "g"
agents = 5
queues = ["q"]
{group}
[[calls]]
name = "c"
queue = "q"
rate = 0.03
handle = {{ dist = "exponential", mean = 100 }}
{calls}
"""


def one_queue(
    group: str = "", calls: str = "", settings: str | None = None, agents: int = 5
) -> Scenario:
    body = ONE_QUEUE.format(group=group, calls=calls).replace("agents = 5", f"agents = {agents}")
    return scenario(body) if settings is None else scenario(body, settings)


def test_results_have_one_value_per_interval_and_add_up() -> None:
    r = simulate(one_queue(calls='patience = { dist = "exponential", mean = 50 }'), seed=5)
    cols = r.intervals
    n = len(cols["start"])
    assert n >= 12
    assert all(len(v) == n for v in cols.values())
    assert np.array_equal(cols["start"], np.arange(n) * 600.0)
    run = r.runs[0]
    assert cols["arrivals"].sum() == run["totals"]["calls"]
    assert cols["answered"].sum() + cols["abandoned"].sum() == run["totals"]["calls"]
    # Arrivals stop at the horizon (12 intervals); later intervals only drain.
    assert cols["arrivals"][12:].sum() == 0
    assert r.wait_histogram.sum() == run["totals"]["answered"]
    assert r.group_occupancy.shape == (1, n)


def test_same_seed_same_figures_and_replications_extend() -> None:
    scn = one_queue(calls='patience = { dist = "exponential", mean = 50 }')
    a = simulate(scn, seed=9, replications=2)
    b = simulate(scn, seed=9, replications=3)
    assert a.runs[0]["totals"] == b.runs[0]["totals"]
    assert a.runs[1]["totals"] == b.runs[1]["totals"]
    assert a.runs[0]["totals"] != a.runs[1]["totals"]
    c = simulate(scn, seed=10, replications=1)
    assert c.runs[0]["totals"] != a.runs[0]["totals"]


def test_shifts_and_breaks_change_staffed_time() -> None:
    scn = one_queue(
        group="""shifts = [{ start = 0, end = 3600 }]
breaks = [{ start = 1200, duration = 600 }]"""
    )
    r = simulate(scn, seed=1)
    staffed = r.intervals["staffed_agents"]
    # Five agents logged in for the first hour, all on a break in 1200..1800 (an agent on a
    # call starts it late), nobody after 3600 but those finishing a call.
    assert staffed[0] == pytest.approx(5.0, abs=0.01)
    assert staffed[2] < 1.5
    assert staffed[6:].sum() < 0.5
    # With nobody logged in after the shift, the calls that came later were never answered.
    late = r.intervals["answered"][7:12].sum()
    assert late == 0
    assert r.totals["unserved"] > 0


def test_clock_times_count_from_the_start() -> None:
    scn = one_queue(
        group='shifts = [{ start = "09:00", end = "10:00" }]',
        settings='start = "08:00"\ninterval = 600\nintervals = 12',
    )
    staffed = simulate(scn, seed=1).intervals["staffed_agents"]
    assert staffed[:6].sum() == 0
    assert staffed[6] == pytest.approx(5.0, abs=0.01)


def test_skills_decide_who_can_answer() -> None:
    scn = scenario(
        """
        [[queue]]
        id = "fr"
        [[queue]]
        id = "en"
        [[group]]
        name = "english"
        agents = 4
        skills = { lang_en = 90 }
        queues = ["fr", "en"]
        [[calls]]
        name = "french"
        queue = "fr"
        rate = 0.01
        skills = { lang_fr = 50 }
        handle = { dist = "constant", value = 60 }
        [[calls]]
        name = "english"
        queue = "en"
        rate = 0.01
        skills = { lang_en = 50 }
        handle = { dist = "constant", value = 60 }
        """
    )
    r = simulate(scn, seed=2)
    by_queue = {q["id"]: q for q in r.queues}
    assert by_queue["fr"]["answered"] == 0
    assert by_queue["en"]["answered"] == by_queue["en"]["arrivals"] > 0
    assert r.totals["unserved"] == by_queue["fr"]["arrivals"]


def test_overflow_after_max_wait_reaches_the_other_queue() -> None:
    scn = scenario(
        """
        [[queue]]
        id = "general"
        [[queue]]
        id = "fr"
        max_wait = 30
        overflow = "general"
        [[group]]
        name = "english"
        agents = 3
        queues = ["general"]
        [[calls]]
        name = "french"
        queue = "fr"
        rate = 0.01
        handle = { dist = "constant", value = 60 }
        """
    )
    r = simulate(scn, seed=2)
    q = {q["id"]: q for q in r.queues}["fr"]
    assert q["answered"] == q["arrivals"] > 0
    # Nobody serves "fr" itself: every answer came after the 30-second overflow.
    assert r.wait_histogram[:30].sum() == 0


def test_self_service_share_never_reaches_the_queue() -> None:
    r = simulate(one_queue(calls="self_service = 0.4"), seed=4, replications=4)
    share = r.intervals["self_service"].sum() / r.intervals["arrivals"].sum()
    assert 0.35 < share < 0.45
    for run in r.runs:
        cols = run["columns"]
        assert cols["answered"].sum() == cols["arrivals"].sum() - cols["self_service"].sum()


def test_retrials_come_back_after_abandoning() -> None:
    calls = """patience = { dist = "constant", value = 5 }
retrial = { probability = 1.0, delay = { dist = "constant", value = 60 }, max = 2 }"""
    cols = simulate(one_queue(calls=calls, agents=1), seed=3).runs[0]["columns"]
    retrials, abandoned = cols["retrials"].sum(), cols["abandoned"].sum()
    assert retrials > 0
    # Every abandon comes back (probability 1) unless it was already the second retrial:
    # abandons = A0 + A1 + A2 with A2 <= A1 <= A0, and retrials = A0 + A1.
    assert 2 * abandoned / 3 <= retrials < abandoned


def test_callbacks_keep_their_place_and_never_abandon() -> None:
    calls = """patience = { dist = "constant", value = 10 }
callback = { offer_after = 0, accept = 1.0 }"""
    r = simulate(one_queue(calls=calls, agents=2), seed=3)
    cols = r.runs[0]["columns"]
    # Before any handle time is known the estimated wait is unknown (0): the first callers
    # hear no offer; after that every caller takes the callback and none abandons.
    assert cols["callbacks"].sum() > 0.8 * cols["arrivals"].sum()
    assert cols["callbacks"].sum() + cols["answered"].sum() + cols["abandoned"].sum() == (
        cols["arrivals"].sum()
    )


def test_result_needs_a_finished_run() -> None:
    sim = one_queue().simulation(0, 1)
    assert sim.run_until(100.0) is True
    assert 0 < sim.now <= 100.0
    with pytest.raises(acdcore.StateError, match="not finished"):
        sim.result()
    assert sim.run_until(math.inf) is False
    assert sim.done
    assert sim.result()["totals"]["calls"] > 0


def test_arrivals_from_a_replay_trace(tmp_path: Path) -> None:
    lines = [
        {"t": 0, "op": "queue", "id": "q"},
        {"t": 10, "op": "call", "id": "a", "queue": "q", "skills": {"fr": 50}},
        {"t": 20, "op": "call", "id": "b", "queue": "other"},
        {"t": 30, "op": "call", "id": "c", "queue": "q", "priority": 3},
        {"t": 31, "op": "hangup", "id": "c"},
    ]
    (tmp_path / "day.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    body = ONE_QUEUE.format(group="", calls="").replace("rate = 0.03", 'trace = "day.jsonl"')
    (tmp_path / "s.toml").write_text("[simulation]\ninterval = 600\nintervals = 1\n" + body)
    r = simulate(Scenario.load(tmp_path / "s.toml"), seed=1)
    run = r.runs[0]
    # Two of the trace's calls are for this queue; the French one finds no French agent.
    assert run["totals"]["calls"] == 2
    assert run["totals"]["answered"] == 1
    assert run["totals"]["unserved"] == 1
    (tmp_path / "day.jsonl").write_text('{"t": 5, "op": "call"}\n{"t": 1, "op": "call"}\n')
    with pytest.raises(ValueError, match=r"day\.jsonl: line 2: t=1"):
        Scenario.load(tmp_path / "s.toml")
    with pytest.raises(ValueError, match=r"read by Scenario\.load"):
        Scenario.from_toml("[simulation]\nintervals = 1\n" + body)


def test_cli_json_has_totals_intervals_and_their_confidence_intervals() -> None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "acdcore",
            "simulate",
            "examples/simulation/midsize_center.toml",
            "--replications",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(p.stdout)
    assert out["replications"] == 3 and out["seed"] == 2026
    assert set(out["queues"]) == {"sales_en", "support_en", "support_fr"}
    cols, cis = out["intervals"], out["intervals_ci"]
    n = len(cols["start"])
    assert n >= 24 and cols["start"][1] == out["interval"] == 1800
    assert all(len(v) == n for v in cols.values())
    # The morning peak (intervals 3..5 = 09:30-11:00) brings more arrivals than the first.
    assert cols["arrivals"][4] > 2 * cols["arrivals"][0]
    assert all(h is None or h >= 0 for h in cis["service_level"])
    assert sum(h is not None and h > 0 for h in cis["service_level"]) > 12
    # The same run from Python gives the same numbers.
    r = simulate("examples/simulation/midsize_center.toml", replications=3)
    assert out["service_level"] == r.totals["service_level"]
    assert cols["arrivals"] == r.intervals["arrivals"].tolist()
