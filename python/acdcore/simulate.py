"""Contact-center simulation on the real routing engine.

A scenario (TOML file, or `Scenario.mmc(...)` for the textbook M/M/c(+M)) is checked once in
Rust; each replication runs the engine in a discrete-event loop with the GIL released. Python
only steps the runs (for progress) and combines replications: means and 95% confidence
half-widths (Student t) over replications.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from acdcore._core import Scenario, mean_ci, student_t975

__all__ = ["Scenario", "SimulationResult", "simulate"]

FloatArray = npt.NDArray[np.float64]

#: Totals reported per run, in the order the CLI prints them.
TOTALS = (
    "calls",
    "answered",
    "abandoned",
    "service_level",
    "asa",
    "abandon_rate",
    "occupancy",
    "p_wait",
    "queue_mean",
    "wait_mean",
    "arrival_rate",
    "unserved",
)


@dataclass
class SimulationResult:
    """Replications combined. `totals` are means over replications and `ci` their 95%
    half-widths (NaN with one replication); `intervals` holds per-interval columns (mean over
    replications, NaN where an interval had nothing to measure) and `intervals_ci` their 95%
    half-widths; `runs` each replication's own result dict."""

    replications: int
    seed: int
    interval: float
    totals: dict[str, float]
    ci: dict[str, float]
    intervals: dict[str, FloatArray]
    intervals_ci: dict[str, FloatArray]
    groups: list[str]
    group_occupancy: FloatArray
    wait_histogram: npt.NDArray[np.int64]
    queues: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(repr=False)


def _stack(rows: list[FloatArray]) -> FloatArray:
    """Rows of unequal length (runs drain at different times), padded with NaN."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _half_width(stacked: FloatArray) -> FloatArray:
    """Per column, the 95% half-width over the replications that measured it (Student t)."""
    counts = np.sum(~np.isnan(stacked), axis=0)
    out = np.full(stacked.shape[1], np.nan)
    for n in np.unique(counts[counts >= 2]):
        cols = counts == n
        t = student_t975(int(n) - 1)
        sd = np.nanstd(stacked[:, cols], axis=0, ddof=1)
        out[cols] = t * sd / math.sqrt(n)
    return out


def _nanmean(stacked: FloatArray) -> FloatArray:
    counts = np.sum(~np.isnan(stacked), axis=0)
    sums = np.nansum(stacked, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mean


def _combine(runs: list[dict[str, Any]], seed: int) -> SimulationResult:
    totals: dict[str, float] = {}
    ci: dict[str, float] = {}
    for name in TOTALS:
        totals[name], ci[name] = mean_ci([float(r["totals"][name]) for r in runs])
    names = runs[0]["columns"].keys()
    stacks = {n: _stack([r["columns"][n] for r in runs]) for n in names}
    intervals = {n: _nanmean(v) for n, v in stacks.items()}
    intervals_ci = {n: _half_width(v) for n, v in stacks.items()}
    occ = [r["group_occupancy"] for r in runs]
    width = max(o.shape[1] for o in occ)
    padded = np.full((len(occ), occ[0].shape[0], width), np.nan)
    for i, o in enumerate(occ):
        padded[i, :, : o.shape[1]] = o
    group_occupancy = np.stack([_nanmean(padded[:, g, :]) for g in range(padded.shape[1])])
    hist = np.sum([r["wait_histogram"] for r in runs], axis=0).astype(np.int64)
    queues = []
    for qi, q in enumerate(runs[0]["queues"]):
        merged: dict[str, Any] = {"id": q["id"]}
        for k in (
            "arrivals",
            "answered",
            "abandoned",
            "answered_within",
            "settled",
            "callbacks",
            "self_service",
        ):
            merged[k] = sum(int(r["queues"][qi][k]) for r in runs)
        wait = sum(float(r["queues"][qi]["answer_wait"]) for r in runs)
        settled, answered = merged["settled"], merged["answered"]
        merged["service_level"] = merged["answered_within"] / settled if settled else math.nan
        merged["asa"] = wait / answered if answered else math.nan
        merged["abandon_rate"] = merged["abandoned"] / settled if settled else math.nan
        queues.append(merged)
    return SimulationResult(
        replications=len(runs),
        seed=seed,
        interval=float(runs[0]["interval"]),
        totals=totals,
        ci=ci,
        intervals=intervals,
        intervals_ci=intervals_ci,
        groups=list(runs[0]["groups"]),
        group_occupancy=group_occupancy,
        wait_histogram=hist,
        queues=queues,
        runs=runs,
    )


def expected_duration(scenario: Scenario, rate: float | None = None) -> float | None:
    """Roughly how much simulated time a run covers (for progress), if it can be told."""
    if scenario.horizon is not None:
        return scenario.horizon
    if scenario.calls is not None and rate:
        return scenario.calls / rate
    return None


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    progress: Callable[[float], None] | None = None,
    expected: float | None = None,
) -> SimulationResult:
    """Runs `replications` independent replications (default: the scenario's own, else 1)
    with `seed` (default: the scenario's, else 1). `progress`, if given, is called with the
    fraction done (0..1) as the runs go; `expected` is the simulated seconds one run is
    expected to cover (from the scenario when it has a horizon)."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    reps = scenario.replications if replications is None else replications
    if reps < 1:
        raise ValueError(f"replications must be >= 1, got {reps}")
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else 1
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    span = expected or expected_duration(scenario)
    runs = []
    for r in range(reps):
        sim = scenario.simulation(r, seed)
        if progress is None or not span:
            sim.run_until(math.inf)
        else:
            step = span / 100
            until = step
            while sim.run_until(until):
                progress(min(1.0, (r + min(1.0, until / span)) / reps))
                until += step
        runs.append(sim.result())
        if progress is not None:
            progress((r + 1) / reps)
    return _combine(runs, seed)
