"""Simulation speed, side by side with SimPy and Ciw, on one M/M/c: `pytest
benches/test_bench_simulate.py -q --benchmark-only`.

The scenario: c = 100 agents, Poisson arrivals at 0.5 calls/s, exponential handle times of mean
180 s (rho = 0.9), nobody abandons, first come first served. acdcore runs it on the real engine
(`Scenario.mmc`, 1,000,000 calls per replication); the same queue is written here in SimPy (a
`Resource` of 100) and in Ciw (one node, 100 servers), with fewer calls per replication because
they are slower. Every timed round is one replication with its own seed, so the rounds are also
the replications whose means and 95% confidence half-widths (Student t) are compared on P(wait)
and the average speed of answer: each simulator with Erlang C (exact, from the stable Erlang B
recurrence) and with the simulators that ran before it. The first WARMUP seconds are left out
everywhere.

Sizes: ACDCORE_BENCH_SIM_{CALLS,SIMPY_CALLS,CIW_CALLS,ROUNDS}.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from acdcore import Scenario, simulate
from acdcore._core import mean_ci

AGENTS = 100
RATE = 0.5  # calls per second
AHT = 180.0  # seconds
WARMUP = 3600.0  # seconds left out of every simulator's figures


def _size(name: str, default: int) -> int:
    return int(os.environ.get(f"ACDCORE_BENCH_SIM_{name}", str(default)).replace("_", ""))


CALLS = _size("CALLS", 1_000_000)
SIMPY_CALLS = _size("SIMPY_CALLS", 100_000)
CIW_CALLS = _size("CIW_CALLS", 20_000)
ROUNDS = _size("ROUNDS", 5)


def erlang_c(agents: int, offered: float) -> float:
    """P(wait) of M/M/c: Erlang B by its recurrence B(k) = a B(k-1) / (k + a B(k-1)), which
    never overflows, then C = B / (1 - rho (1 - B))."""
    b = 1.0
    for k in range(1, agents + 1):
        b = offered * b / (k + offered * b)
    rho = offered / agents
    return b / (1 - rho * (1 - b))


def erlang_asa(agents: int, rate: float, aht: float) -> float:
    """Mean wait of M/M/c FCFS: C / (c mu - lambda)."""
    return erlang_c(agents, rate * aht) / (agents / aht - rate)


@dataclass
class Runs:
    """One simulator's rounds: calls simulated, wall and CPU seconds taken (the thread's CPU
    time is steadier on a shared machine), and each round's figures."""

    calls: int
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    p_wait: list[float] = field(default_factory=list)
    asa: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Simulated calls per second of wall time, at the median round."""
        return self.calls / _median(self.seconds)

    @property
    def cpu_rate(self) -> float:
        return self.calls / _median(self.cpu)


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


RESULTS: dict[str, Runs] = {}


def _waits_figures(waits: Iterator[float]) -> tuple[float, float]:
    """(P(wait), ASA) of the calls' waits: a call waited when it was not answered at once."""
    n = waited = 0
    total = 0.0
    for w in waits:
        n += 1
        total += w
        waited += w > 0
    return waited / n, total / n


def run_acdcore(calls: int, seed: int) -> tuple[float, float]:
    scn = Scenario.mmc(AGENTS, RATE, AHT, calls, warmup=WARMUP)
    t = simulate(scn, seed=seed, replications=1).totals
    return t["p_wait"], t["asa"]


def run_simpy(calls: int, seed: int) -> tuple[float, float]:
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    waits: list[float] = []

    def call(arrival: float) -> Iterator[simpy.Event]:
        with agents.request() as req:
            yield req
            if arrival >= WARMUP:
                waits.append(env.now - arrival)
            yield env.timeout(rng.expovariate(1 / AHT))

    def source() -> Iterator[simpy.Event]:
        for _ in range(calls):
            yield env.timeout(rng.expovariate(RATE))
            env.process(call(env.now))

    env.process(source())
    env.run()
    return _waits_figures(iter(waits))


def run_ciw(calls: int, seed: int) -> tuple[float, float]:
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
        service_distributions=[ciw.dists.Exponential(rate=1 / AHT)],
        number_of_servers=[AGENTS],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(calls, method="Finish")
    records = sim.get_all_records()
    return _waits_figures(r.waiting_time for r in records if r.arrival_date >= WARMUP)


SIMULATORS: dict[str, tuple[Callable[[int, int], tuple[float, float]], int]] = {
    "acdcore": (run_acdcore, CALLS),
    "simpy": (run_simpy, SIMPY_CALLS),
    "ciw": (run_ciw, CIW_CALLS),
}


@pytest.mark.parametrize("name", list(SIMULATORS))
def test_mmc(benchmark: Any, report: Any, name: str) -> None:
    fn, calls = SIMULATORS[name]
    runs = Runs(calls)
    seeds = iter(range(1, ROUNDS + 1))

    def one() -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        p_wait, asa = fn(calls, next(seeds))
        runs.cpu.append(time.thread_time() - c0)
        runs.seconds.append(time.perf_counter() - t0)
        runs.p_wait.append(p_wait)
        runs.asa.append(asa)

    benchmark.pedantic(one, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    if not RESULTS:
        report.lines.append(
            f"Erlang C (exact): P(wait) {erlang_c(AGENTS, RATE * AHT):.4f}, "
            f"ASA {erlang_asa(AGENTS, RATE, AHT):.3f} s"
        )
    RESULTS[name] = runs
    report.add(
        f"sim-{name}",
        _median(runs.seconds),
        f"M/M/c c={AGENTS} rho=0.9, {name}: {calls:,} calls per round, median "
        f"{runs.rate:,.0f} calls/s wall, {runs.cpu_rate:,.0f} calls/s CPU; "
        f"{_figures_line(runs)}",
    )
    failures = _agreement(name, runs, report)
    assert not failures, failures


def _figures_line(runs: Runs) -> str:
    pw, pw_h = mean_ci(runs.p_wait)
    asa, asa_h = mean_ci(runs.asa)
    return f"P(wait) {pw:.4f} \u00b1 {pw_h:.4f}, ASA {asa:.3f} \u00b1 {asa_h:.3f} s"


def _agreement(name: str, runs: Runs, report: Any) -> list[str]:
    """This simulator against Erlang C and against the simulators that ran before it in this
    session. A figure must lie within twice its 95% half-width of Erlang C, and two simulators
    within the sum of their half-widths, so a correct simulator fails by chance well under 1%
    of the time; the summary line says how many half-widths each figure is off."""
    exact = {"p_wait": erlang_c(AGENTS, RATE * AHT), "asa": erlang_asa(AGENTS, RATE, AHT)}
    failures = []
    offs = []
    for metric in ("p_wait", "asa"):
        mean, half = mean_ci(getattr(runs, metric))
        off = mean - exact[metric]
        offs.append(f"{metric} {off:+.4f} ({abs(off) / half:.2f} half-widths)")
        if not abs(off) <= 2 * half:
            failures.append(f"{name} {metric} {mean:.4f} vs Erlang C {exact[metric]:.4f}")
        for other, prev in RESULTS.items():
            if other == name:
                continue
            mo, ho = mean_ci(getattr(prev, metric))
            if not abs(mean - mo) <= half + ho:
                failures.append(f"{name} {metric} {mean:.4f} vs {other} {mo:.4f}")
    report.lines.append(f"  {name} - Erlang C: " + ", ".join(offs))
    if name != "acdcore" and "acdcore" in RESULTS:
        fast = RESULTS["acdcore"]
        report.lines.append(
            f"  simulated calls/s, acdcore / {name} = {fast.rate / runs.rate:.0f}x wall, "
            f"{fast.cpu_rate / runs.cpu_rate:.0f}x CPU (this run)"
        )
    return failures


def test_erlang_c_known_values() -> None:
    assert math.isclose(erlang_c(1, 0.5), 0.5)  # M/M/1: P(wait) = rho
    assert math.isclose(erlang_c(2, 1.0), 1 / 3)  # B(2, 1) = 1/5
    assert math.isclose(erlang_asa(1, 0.5, 1.0), 1.0)  # M/M/1: Wq = rho / (mu - lambda)
    # The bench's own recurrence agrees with the library's Erlang C.
    from acdcore import erlang

    assert math.isclose(erlang_c(AGENTS, RATE * AHT), erlang.erlang_c(AGENTS, RATE * AHT))
    assert math.isclose(erlang_asa(AGENTS, RATE, AHT), erlang.asa(AGENTS, RATE * AHT, AHT))
