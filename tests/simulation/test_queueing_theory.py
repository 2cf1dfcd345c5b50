"""The simulator, driving the real engine, against queueing theory: M/M/c against Erlang C at
loads from 0.5 to 0.98, and Little's law in every run. The Erlang C figures here come from an
independent textbook recurrence, not from the package."""

from __future__ import annotations

import math

import acdcore
import pytest


def erlang_c(c: int, a: float) -> float:
    """P(wait) of M/M/c by the Erlang B recurrence B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho + rho * b)


def theory(c: int, rho: float, aht: float, threshold: float) -> dict[str, float]:
    a = rho * c
    pw = erlang_c(c, a)
    return {
        "p_wait": pw,
        "asa": pw * aht / (c - a),
        "service_level": 1 - pw * math.exp(-(c - a) * threshold / aht),
        "occupancy": rho,
    }


# (agents, load, calls per replication, replications): heavier loads relax more slowly and
# need longer runs for the same precision.
CASES = [
    (10, 0.5, 30_000, 6),
    (20, 0.8, 60_000, 6),
    (50, 0.9, 100_000, 6),
    (50, 0.95, 200_000, 8),
    (100, 0.98, 400_000, 8),
]


@pytest.mark.parametrize(("c", "rho", "calls", "reps"), CASES)
def test_mmc_agrees_with_erlang_c(c: int, rho: float, calls: int, reps: int) -> None:
    aht, threshold = 120.0, 20.0
    scn = acdcore.Scenario.mmc(c, rho * c / aht, aht, calls, threshold=threshold, warmup=50 * aht)
    result = acdcore.simulate(scn, seed=11, replications=reps)
    want = theory(c, rho, aht, threshold)
    for name, expected in want.items():
        mean, half = result.totals[name], result.ci[name]
        assert half > 0
        # The 95% interval, with a little room for the start-up bias a finite run keeps.
        assert abs(mean - expected) <= 1.5 * half + 1e-3 * expected, (
            f"{name}: simulated {mean:.5f} +- {half:.5f}, Erlang C {expected:.5f}"
        )


def test_simulation_is_not_trivially_close() -> None:
    """The comparison above can fail: a center with 10% fewer agents than the formula is told
    about is far outside the interval."""
    aht = 120.0
    scn = acdcore.Scenario.mmc(18, 0.8 * 20 / aht, aht, 40_000, warmup=50 * aht)
    result = acdcore.simulate(scn, seed=11, replications=4)
    want = theory(20, 0.8, aht, 20.0)
    assert abs(result.totals["asa"] - want["asa"]) > 3 * result.ci["asa"]


@pytest.mark.parametrize("patience", [None, 60.0])
def test_littles_law_holds_in_every_run(patience: float | None) -> None:
    """L = lambda W exactly on a whole run that starts and ends empty: the time integral of the
    queue length equals the sum of the waits."""
    scn = acdcore.Scenario.mmc(8, 0.07, 100.0, 20_000, patience=patience)
    result = acdcore.simulate(scn, seed=3, replications=3)
    for run in result.runs:
        t = run["totals"]
        settled = t["answered"] + t["abandoned"]
        assert settled == t["calls"]
        area = t["queue_mean"] * t["measured_seconds"]
        waits = t["wait_mean"] * settled
        assert area == pytest.approx(waits, rel=1e-9)
        lam = t["arrival_rate"]
        assert t["queue_mean"] == pytest.approx(lam * t["wait_mean"], rel=1e-9)


def test_littles_law_in_the_example_center() -> None:
    result = acdcore.simulate("examples/simulation/midsize_center.toml", replications=2)
    for run in result.runs:
        t = run["totals"]
        cols = run["columns"]
        settled = (
            t["answered"]
            + t["abandoned"]
            + sum(cols[k].sum() for k in ("timed_out", "blocked", "fallback", "callbacks"))
        )
        area = cols["queue_mean"].sum() * run["interval"]
        assert area == pytest.approx(t["wait_mean"] * settled, rel=1e-9)


# (agents, load, mean patience in handle times)
ERLANG_A_CASES = [(10, 0.9, 1.0), (30, 1.0, 0.5), (50, 1.2, 2.0)]


@pytest.mark.parametrize(("c", "rho", "patience"), ERLANG_A_CASES)
def test_mmc_with_patience_agrees_with_erlang_a(c: int, rho: float, patience: float) -> None:
    """M/M/c+M against the package's own Erlang A (itself checked against mpmath and the
    birth-death chain in tests/test_erlang.py), overloaded centers included."""
    from acdcore import erlang

    aht, threshold = 120.0, 20.0
    scn = acdcore.Scenario.mmc(
        c,
        rho * c / aht,
        aht,
        80_000,
        patience=patience * aht,
        threshold=threshold,
        warmup=50 * aht,
    )
    result = acdcore.simulate(scn, seed=5, replications=6)
    want = erlang.metrics(c, rho * c, aht, threshold, patience * aht)
    for name, key in [
        ("p_wait", "p_wait"),
        ("service_level", "service_level"),
        ("asa", "asa"),
        ("abandon_rate", "abandon"),
        ("occupancy", "occupancy"),
    ]:
        mean, half = result.totals[name], result.ci[name]
        expected = float(want[key])
        assert abs(mean - expected) <= 1.5 * half + 1e-3 * expected, (
            f"{name}: simulated {mean:.5f} +- {half:.5f}, Erlang A {expected:.5f}"
        )
