"""Do-not-call batch lookup from numpy (pytest-benchmark): `pytest
benches/test_bench_outbound.py --benchmark-only`.

5,000,000 listed 11-digit numbers; `DncList.contains_many` (a bool per number) and
`count_many` (how many) of 1,000,000 uint64 numbers (about half listed), beside numpy's own
`np.isin` on the same arrays (a sort-based set test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from acdcore.outbound import DncList

LISTED = 5_000_000
QUERIES = 1_000_000


@pytest.fixture(scope="module")
def lists() -> tuple[DncList, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    listed = rng.integers(10**10, 10**11, size=LISTED, dtype=np.uint64)
    queries = rng.integers(10**10, 10**11, size=QUERIES, dtype=np.uint64)
    queries[::2] = listed[rng.integers(0, LISTED, size=QUERIES // 2)]
    return DncList(listed), listed, queries


def _line(report: Any, name: str, benchmark: Any, what: str) -> None:
    median = benchmark.stats.stats.median
    report.add(name, median, f"{what}: {median * 1000:.1f} ms, {QUERIES / median / 1e6:.1f} M/s")


def test_dnc_contains_many(
    benchmark: Any, report: Any, lists: tuple[DncList, np.ndarray, np.ndarray]
) -> None:
    dnc, listed, queries = lists
    hits = benchmark(dnc.contains_many, queries)
    assert (hits == np.isin(queries, listed)).all()
    _line(report, "dnc-contains-many", benchmark, f"DncList.contains_many, {QUERIES} numbers")


def test_dnc_count_many(
    benchmark: Any, report: Any, lists: tuple[DncList, np.ndarray, np.ndarray]
) -> None:
    dnc, listed, queries = lists
    hits = benchmark(dnc.count_many, queries)
    assert hits == int(np.isin(queries, listed).sum())
    _line(report, "dnc-count-many", benchmark, f"DncList.count_many, {QUERIES} numbers")


def test_numpy_isin(
    benchmark: Any, report: Any, lists: tuple[DncList, np.ndarray, np.ndarray]
) -> None:
    _, listed, queries = lists
    benchmark(np.isin, queries, listed)
    _line(report, "numpy-isin", benchmark, f"np.isin, {QUERIES} numbers")
