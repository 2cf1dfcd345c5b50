"""Workforce math: Erlang B, Erlang C (M/M/n), Erlang A (M/M/n+M) and staffing for a target.

Units: `traffic` in Erlangs (calls per second x mean handle time in seconds, see `traffic`),
`aht`, `patience` and `threshold` in seconds, `agents` a count. Every function takes numbers
or 1-d numpy arrays (broadcast against each other), computes in Rust with the GIL released
for arrays, and returns a float (int) for all-scalar input, else a float64 (int64) array.

Bad input (zero or negative rates, zero agents, Erlang C traffic at or above the agents, a
target out of range) raises ValueError naming the value; an array item is named by index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from acdcore import _core

Floats = float | npt.ArrayLike
Counts = int | npt.ArrayLike

#: Patience distributions Erlang A supports.
PATIENCE_DISTRIBUTIONS = ("exponential",)

__all__ = [
    "PATIENCE_DISTRIBUTIONS",
    "abandon_rate",
    "asa",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "metrics",
    "occupancy",
    "service_level",
    "staffing",
    "traffic",
]


def _floats(x: Floats, name: str) -> float | npt.NDArray[np.float64]:
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be a number or a 1-d array of numbers, got {x!r}")
    if np.ndim(x) == 0:
        try:
            return float(x)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {x!r}") from None
    try:
        a = np.ascontiguousarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-d array of numbers") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-d array, got {a.ndim} dimensions")
    return a


def _counts(x: Counts, name: str) -> int | npt.NDArray[np.int64]:
    """Agent counts: ints, or floats that are whole numbers."""
    f = _floats(x, name)
    whole = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2.0**63)
    if isinstance(f, float):
        if not whole:
            raise ValueError(f"{name} must be a whole number below 2**63, got {x!r}")
        if isinstance(x, (int, np.integer)):
            return int(x)
        return int(f)
    bad = np.flatnonzero(~whole)
    if bad.size:
        raise ValueError(f"{name}: item {bad[0]} is not a whole number ({f[bad[0]]!r})")
    a = np.asarray(x)
    if np.issubdtype(a.dtype, np.integer):
        return np.ascontiguousarray(a, dtype=np.int64)
    return f.astype(np.int64)


def traffic(calls: Floats, interval: Floats, aht: Floats) -> Any:
    """Offered traffic in Erlangs: `A = calls * aht / interval`.

    `calls` (>= 0) arrive in an interval of `interval` seconds, each handled for `aht` seconds
    on average (talk + hold + wrap-up).
    """
    c, i, h = _floats(calls, "calls"), _floats(interval, "interval"), _floats(aht, "aht")
    if not np.all(np.isfinite(c) & (np.asarray(c) >= 0)):
        raise ValueError(f"calls must be >= 0, got {c!r}")
    for name, v in (("interval", i), ("aht", h)):
        if not np.all(np.isfinite(v) & (np.asarray(v) > 0)):
            raise ValueError(f"{name} must be positive, got {v!r}")
    return c * h / i


def erlang_b(agents: Counts, traffic: Floats) -> Any:
    """Erlang B: probability that a call finds all `agents` busy when blocked calls are lost.

    `B(n, A) = (A^n / n!) / sum_{k=0..n} A^k / k!`, computed as a ratio of sums of positive
    terms (no factorials or powers), correct to about 1e-12 relative for any size.
    """
    return _core.erlang_b(_counts(agents, "agents"), _floats(traffic, "traffic"))


def metrics(
    agents: Counts,
    traffic: Floats,
    aht: Floats,
    threshold: Floats = 20.0,
    patience: Floats | None = None,
) -> dict[str, Any]:
    """All queue metrics at once: Erlang C, or Erlang A when `patience` is given.

    Returns a dict of `p_wait`, `service_level` (answered within `threshold` seconds / offered),
    `asa` (mean wait of answered calls, seconds), `occupancy` and `abandon`.
    """
    p = None if patience is None else _floats(patience, "patience")
    return _core.erlang_metrics(
        _counts(agents, "agents"),
        _floats(traffic, "traffic"),
        _floats(aht, "aht"),
        _floats(threshold, "threshold"),
        p,
    )


def erlang_c(agents: Counts, traffic: Floats) -> Any:
    """Erlang C: probability that a call waits (M/M/n, callers never give up).

    `C(n, A) = n B / (n - A (1 - B))` with `B` the Erlang B value; needs `agents > traffic`
    (otherwise the queue grows without bound and ValueError says so).
    """
    return metrics(agents, traffic, 1.0, 0.0)["p_wait"]


def service_level(
    agents: Counts,
    traffic: Floats,
    aht: Floats,
    threshold: Floats,
    patience: Floats | None = None,
) -> Any:
    """Fraction of offered calls answered within `threshold` seconds.

    Erlang C: `SL = 1 - C exp(-(n - A) t / aht)`. Erlang A (mean `patience` seconds, exponential):
    calls that abandon count as missed; computed from the incomplete-gamma series of
    Mandelbaum & Zeltyn (see rust/src/erlang/erlang_a.rs).
    """
    return metrics(agents, traffic, aht, threshold, patience)["service_level"]


def asa(agents: Counts, traffic: Floats, aht: Floats, patience: Floats | None = None) -> Any:
    """Average speed of answer in seconds: the mean wait of answered calls.

    Erlang C: `ASA = C aht / (n - A)`. Erlang A: mean offered wait of the calls whose
    patience outlasts it.
    """
    return metrics(agents, traffic, aht, 0.0, patience)["asa"]


def occupancy(
    agents: Counts, traffic: Floats, aht: Floats = 1.0, patience: Floats | None = None
) -> Any:
    """Fraction of agent time on calls: `A / n` (Erlang C), `A (1 - P(abandon)) / n` (Erlang A)."""
    return metrics(agents, traffic, aht, 0.0, patience)["occupancy"]


def abandon_rate(agents: Counts, traffic: Floats, aht: Floats, patience: Floats) -> Any:
    """Erlang A: probability that a call abandons, `theta E[queue] / lambda` (M/M/n+M)."""
    return metrics(agents, traffic, aht, 0.0, patience)["abandon"]


def erlang_a(
    agents: Counts,
    traffic: Floats,
    aht: Floats,
    patience: Floats,
    threshold: Floats = 20.0,
) -> dict[str, Any]:
    """Erlang A (Palm's M/M/n+M): callers abandon after an exponential patience of mean
    `patience` seconds; stable at any load. Returns the dict of `metrics`."""
    return metrics(agents, traffic, aht, threshold, patience)


def staffing(
    traffic: Floats,
    aht: Floats,
    *,
    service_level: float | None = None,
    threshold: float = 20.0,
    max_asa: float | None = None,
    max_abandon: float | None = None,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    patience: Floats | None = None,
    patience_distribution: str = "exponential",
) -> dict[str, Any]:
    """Agents required for a target, and agents to schedule after shrinkage.

    The fewest agents `n` whose service level (within `threshold` seconds) is at least
    `service_level`, whose ASA is at most `max_asa` seconds, whose abandonment is at most
    `max_abandon` (needs `patience`) and whose occupancy is at most `max_occupancy`; Erlang C,
    or Erlang A when `patience` (mean seconds) is given. `scheduled = ceil(n / (1 - shrinkage))`.
    Zero traffic (e.g. a closed interval of a forecast) needs 0 agents; negative is an error.

    Returns a dict of `agents`, `scheduled` (int or int64 array) and the metrics at `agents`:
    `service_level`, `asa`, `occupancy`, `p_wait`, `abandon`.
    """
    if patience_distribution not in PATIENCE_DISTRIBUTIONS:
        raise ValueError(
            f"unknown patience distribution {patience_distribution!r} "
            f"(supported: {', '.join(PATIENCE_DISTRIBUTIONS)})"
        )
    p = None if patience is None else _floats(patience, "patience")
    return _core.staffing(
        _floats(traffic, "traffic"),
        _floats(aht, "aht"),
        service_level=service_level,
        threshold=threshold,
        max_asa=max_asa,
        max_abandon=max_abandon,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        patience=p,
    )
