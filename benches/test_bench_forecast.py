"""Forecasting benchmarks (pytest-benchmark): `pytest benches/test_bench_forecast.py
--benchmark-only`.

A year (364 days, 52 weeks) of half-hour counts, Poisson around a business-hours week with a
slow trend, seeded:

1. `acdcore.forecast.fit(history, days=7, holdout_days=14)`: two fits (the holdout fit on the
   first 350 days, then the final fit on all 364), each a grid of 320 parameter sets and a
   pattern search, each set one pass of the smoothing recursions over the history.
2. `read_history` of the same year as an `interval,calls,aht` CSV (17,472 rows): the Python
   CSV parsing, then binning in Rust.
3. `read_history` of 200,000 call records (`timestamp,handle_time`, ISO-8601 timestamps).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from acdcore import forecast as fc

DAYS = 364
HALF_HOUR = 1800
START = datetime(2025, 12, 1, tzinfo=UTC).timestamp()  # a Monday
RECORDS = 200_000


def _year() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    day = np.zeros(48)
    day[16:36] = 20 + 12 * np.sin(np.pi * np.arange(20) / 20)
    week = np.concatenate([day * f for f in (1.3, 1.0, 1.0, 1.0, 1.1, 0.5, 0.0)])
    lam = np.tile(week, DAYS // 7) * np.repeat(1 + 0.001 * np.arange(DAYS), 48)
    counts = rng.poisson(lam).astype(np.float64)
    return START + HALF_HOUR * np.arange(len(counts)), counts


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[fc.History, Path, Path]:
    starts, counts = _year()
    d = tmp_path_factory.mktemp("forecast")
    counts_csv = d / "year.csv"
    with open(counts_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["interval", "calls", "aht"])
        for t, c in zip(starts, counts, strict=True):
            w.writerow([datetime.fromtimestamp(t, UTC).isoformat(), int(c), 240.0])
    rng = np.random.default_rng(12)
    times = np.sort(rng.uniform(START, START + 90 * 86_400, RECORDS))
    records_csv = d / "records.csv"
    with open(records_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "handle_time"])
        for t in times:
            w.writerow([datetime.fromtimestamp(t, UTC).isoformat(), "180"])
    return fc.from_counts(starts, counts, interval=HALF_HOUR), counts_csv, records_csv


def _line(report: Any, name: str, benchmark: Any, what: str) -> None:
    median = benchmark.stats.stats.median
    report.add(name, median, f"{what}: {median * 1000:.1f} ms")


def test_fit_a_year(benchmark: Any, report: Any, year: tuple[fc.History, Path, Path]) -> None:
    history = year[0]
    f = benchmark.pedantic(lambda: fc.fit(history, days=7, holdout_days=14), rounds=5, iterations=1)
    assert f.holdout is not None and f.naive is not None
    assert f.holdout.wape is not None and f.naive.wape is not None
    line = (
        f"fit + holdout, {DAYS} days of 30-min intervals (holdout WAPE {f.holdout.wape:.1f}% vs "
        f"seasonal naive {f.naive.wape:.1f}%)"
    )
    _line(report, "forecast-fit", benchmark, line)


def test_read_counts_year(benchmark: Any, report: Any, year: tuple[fc.History, Path, Path]) -> None:
    h = benchmark.pedantic(lambda: fc.read_history(year[1]), rounds=5, iterations=1)
    assert h.days == DAYS
    _line(report, "forecast-read-counts", benchmark, f"read_history, {DAYS * 48} count rows")


def test_read_call_records(
    benchmark: Any, report: Any, year: tuple[fc.History, Path, Path]
) -> None:
    h = benchmark.pedantic(lambda: fc.read_history(year[2]), rounds=3, iterations=1)
    assert h.calls.sum() == RECORDS
    _line(report, "forecast-read-records", benchmark, f"read_history, {RECORDS} call records")
