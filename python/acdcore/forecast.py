"""Contact volume forecasting (docs/forecasting.md).

Two ways to a forecast per interval, ready for staffing:

- `plan`: the planning formula, customers x contacts per customer per month x share handled
  by the center, spread over the days and intervals of a month by a week profile (business
  hours by default, or one learned from history).
- `fit`: from history (`read_history`), Holt-Winters smoothing with an additive trend and a
  multiplicative weekly season, its parameters fitted on the history and its error measured
  on held-out days against a seasonal-naive forecast.

Time is an input: timestamps are seconds since the epoch (UTC); `utc_offset` (seconds, local
minus UTC) decides which day and interval of the day a call falls in. Daylight saving time
changes are not followed: one offset holds for the whole history and forecast.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from acdcore import _core

Array = npt.NDArray[np.float64]

DAY = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
METHOD = "holt-winters"
"""Additive trend, multiplicative season of one week of intervals (docs/forecasting.md)."""
PLANNING = "planning-formula"


@dataclass(frozen=True)
class History:
    """Calls per interval over whole local days, from `read_history` or `from_counts`."""

    interval: int
    utc_offset: int
    first: int
    """Number of the first interval: it starts at local time `first * interval`."""
    calls: Array
    aht: Array
    """Mean handle time per interval of the day (midnight first), NaN where unknown."""
    mean_aht: float | None = None
    """Mean handle time over the whole history, None without handle times."""

    @property
    def days(self) -> int:
        return len(self.calls) * self.interval // DAY

    @property
    def start(self) -> float:
        """UTC seconds of the first interval's start."""
        return float(self.first * self.interval - self.utc_offset)


@dataclass(frozen=True)
class Errors:
    """Forecast errors over `n` held-out intervals. `wape` (total absolute error / total
    calls, percent) is the figure to quote; `mape` (percent) skips intervals without calls;
    `rmse` is in calls per interval. None where undefined (no calls)."""

    n: int
    wape: float | None
    mape: float | None
    rmse: float


@dataclass(frozen=True)
class Forecast:
    """Expected calls per interval from interval `first` on, and how they were made."""

    interval: int
    utc_offset: int
    first: int
    calls: Array
    aht: Array
    """Handle time expected in each interval (seconds), NaN where unknown."""
    method: str
    params: dict[str, float] = field(default_factory=dict)
    """Fitted smoothing parameters (alpha, beta, gamma), or the planning inputs."""
    holdout: Errors | None = None
    naive: Errors | None = None
    holdout_days: int = 0
    trend_per_day: float | None = None
    """Change of the daily total per day in the history (calls/day per day)."""

    def starts(self) -> list[datetime]:
        """Start of each interval, in local time with its offset."""
        tz = _tz(self.utc_offset)
        t0 = self.first * self.interval - self.utc_offset
        return [datetime.fromtimestamp(t0 + i * self.interval, tz) for i in range(len(self.calls))]

    def rows(self) -> list[tuple[str, float, float | None]]:
        """(ISO-8601 interval start, calls, aht or None) per interval."""
        return [
            (s.isoformat(), float(c), None if math.isnan(a) else float(a))
            for s, c, a in zip(self.starts(), self.calls, self.aht, strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        """Everything but the rows, as JSON-ready values."""
        peak = int(np.argmax(self.calls)) if len(self.calls) else None
        starts = self.starts()
        return {
            "method": self.method,
            "params": self.params,
            "interval": self.interval,
            "utc_offset": self.utc_offset,
            "start": starts[0].isoformat() if starts else None,
            "intervals": len(self.calls),
            "total": float(self.calls.sum()),
            "peak": None
            if peak is None
            else {"interval": starts[peak].isoformat(), "calls": float(self.calls[peak])},
            "holdout_days": self.holdout_days,
            "holdout": None if self.holdout is None else self.holdout.__dict__,
            "seasonal_naive": None if self.naive is None else self.naive.__dict__,
            "trend_per_day": self.trend_per_day,
        }


def _tz(offset: int) -> timezone:
    return UTC if offset == 0 else timezone(timedelta(seconds=offset))


def from_counts(
    times: npt.ArrayLike,
    calls: npt.ArrayLike | None = None,
    aht: npt.ArrayLike | None = None,
    *,
    interval: int = 1800,
    utc_offset: int = 0,
) -> History:
    """A history from call times (UTC seconds; `calls` None = one call each) or interval
    starts with their call counts, and optionally each item's handle time (NaN = unknown)."""
    t = np.asarray(times, dtype=np.float64)
    c = np.ones_like(t) if calls is None else np.asarray(calls, dtype=np.float64)
    if aht is None:
        handled = np.zeros_like(c)
        handle_sum = np.zeros_like(c)
    else:
        a = np.asarray(aht, dtype=np.float64)
        if a.shape != c.shape:
            raise ValueError(f"aht has {a.size} items, calls has {c.size}")
        known = ~np.isnan(a)
        handled = np.where(known, c, 0.0)
        handle_sum = np.where(known, a * c, 0.0)
    first, binned, by_slot, mean = _core.bin_history(
        t, c, handled, handle_sum, interval=interval, utc_offset=utc_offset
    )
    return History(interval, utc_offset, first, binned, by_slot, mean)


def fit(
    history: History, *, days: int = 7, holdout_days: int = 14, aht: float | None = None
) -> Forecast:
    """Forecasts the `days` days after the history; first scores the method on the last
    `holdout_days` days (fitted without them). Each interval's aht is the history's mean for
    its interval of the day; where that has none, `aht` if given, else the history's overall
    mean (NaN if the history has no handle times at all)."""
    _check_count("days", days, 1)
    _check_count("holdout_days", holdout_days, 0)
    per_day = DAY // history.interval
    r = _core.fit_history(
        history.first,
        history.calls,
        interval=history.interval,
        utc_offset=history.utc_offset,
        horizon=days * per_day,
        holdout_days=holdout_days,
    )
    first = history.first + len(history.calls)
    return Forecast(
        interval=history.interval,
        utc_offset=history.utc_offset,
        first=first,
        calls=r["forecast"],
        aht=_aht_for(history.aht, first, days * per_day, aht, history.mean_aht),
        method=METHOD,
        params=r["params"],
        holdout=_errors(r["holdout"]),
        naive=_errors(r["naive"]),
        holdout_days=holdout_days,
        trend_per_day=r["trend_per_day"],
    )


def _errors(d: dict[str, Any] | None) -> Errors | None:
    return None if d is None else Errors(d["n"], d["wape"], d["mape"], d["rmse"])


def _aht_for(
    by_slot: Array, first: int, n: int, default: float | None, mean: float | None = None
) -> Array:
    """Each interval's handle time: its interval of the day's, else `default`, else `mean`."""
    if default is not None and not (math.isfinite(default) and default > 0):
        raise ValueError(f"aht must be a number of seconds > 0, got {default}")
    slots = np.asarray(by_slot, dtype=np.float64)
    for fill in (default, mean):
        if fill is not None:
            slots = np.where(np.isnan(slots), fill, slots)
    return slots[(first + np.arange(n)) % len(slots)]


def _check_count(name: str, v: int, least: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")


def monthly_volume(customers: float, contacts_per_customer: float, share: float) -> float:
    """The planning formula: customers x contacts per customer per month x the share of
    contacts the center handles (10,000 x 3 x 0.05 = 1,500 calls a month)."""
    for name, v in (("customers", customers), ("contacts per customer", contacts_per_customer)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    if not (isinstance(share, int | float) and 0 <= share <= 1):
        raise ValueError(f"share must be a fraction in 0..1 (5% = 0.05), got {share!r}")
    return float(customers) * float(contacts_per_customer) * float(share)


def _clock(s: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", s.strip())
    if m is None or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2]) != 0):
        raise ValueError(f"bad time of day {s!r}, expected HH:MM (00:00..24:00)")
    return int(m[1]) * 3600 + int(m[2]) * 60


def _weekdays(spec: str) -> list[int]:
    """'mon-fri', 'mon,wed,sat-sun', 'all' -> day numbers, Monday 0."""
    if spec.strip().lower() == "all":
        return list(range(7))
    days: list[int] = []
    for part in spec.lower().split(","):
        ends = [p.strip() for p in part.split("-")]
        if len(ends) > 2 or any(e not in WEEKDAYS for e in ends):
            raise ValueError(f"bad weekdays {spec!r}, expected e.g. mon-fri or mon,wed,sat-sun")
        a, b = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
    return sorted(set(days))


def business_hours_profile(
    interval: int = 1800, hours: str = "08:00-18:00", weekdays: str = "mon-fri"
) -> Array:
    """A week profile with equal weight in the opening hours of the given weekdays (each
    interval weighted by the part of it that is open), nothing elsewhere."""
    parts = hours.split("-")
    if len(parts) != 2:
        raise ValueError(f"bad hours {hours!r}, expected HH:MM-HH:MM")
    open_, close = _clock(parts[0]), _clock(parts[1])
    if close <= open_:
        raise ValueError(f"hours {hours!r} close before they open")
    if interval <= 0 or DAY % interval:
        raise ValueError(f"interval must divide a day (86400 s), got {interval}")
    starts = np.arange(0, DAY, interval, dtype=np.float64)
    day = np.clip(np.minimum(starts + interval, close) - np.maximum(starts, open_), 0, None)
    week = np.zeros((7, len(starts)))
    week[_weekdays(weekdays)] = day / interval
    return week.ravel()


def flat_profile(interval: int = 1800) -> Array:
    """Every interval of the week alike (a 24/7 center)."""
    return business_hours_profile(interval, "00:00-24:00", "all")


def learn_profile(history: History) -> Array:
    """The history's mean week: each interval's mean calls as a share of the week."""
    weights: Array = _core.learn_profile(
        history.first, history.calls, interval=history.interval, utc_offset=history.utc_offset
    )
    return weights


def _month(month: str) -> tuple[date, int]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if m is None or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"bad month {month!r}, expected YYYY-MM")
    y, mo = int(m[1]), int(m[2])
    return date(y, mo, 1), calendar.monthrange(y, mo)[1]


def plan(
    customers: float,
    contacts_per_customer: float,
    share: float,
    month: str,
    *,
    interval: int = 1800,
    utc_offset: int = 0,
    profile: Array | None = None,
    aht: float | None = None,
) -> Forecast:
    """The month's volume by the planning formula, spread over its days and intervals (local
    time) by a week profile (`business_hours_profile()` by default). `aht` fills the aht
    column."""
    total = monthly_volume(customers, contacts_per_customer, share)
    weights = business_hours_profile(interval) if profile is None else profile
    day1, days = _month(month)
    per_day = DAY // interval if interval > 0 else 0
    first = (day1 - date(1970, 1, 1)).days * per_day
    calls = _core.spread_volume(
        total,
        first,
        days * per_day,
        np.asarray(weights, dtype=np.float64),
        interval=interval,
        utc_offset=utc_offset,
    )
    return Forecast(
        interval=interval,
        utc_offset=utc_offset,
        first=first,
        calls=calls,
        aht=_aht_for(np.full(per_day, np.nan), first, len(calls), aht),
        method=PLANNING,
        params={
            "customers": float(customers),
            "contacts_per_customer": float(contacts_per_customer),
            "share": float(share),
            "monthly_volume": total,
        },
    )


# The CSV side lives in its own module and builds on the types above; re-exported here so
# `acdcore.forecast` is the one place to look.
from acdcore.forecast_csv import parse_history, read_history, write_forecast  # noqa: E402

__all__ = [
    "METHOD",
    "PLANNING",
    "Errors",
    "Forecast",
    "History",
    "business_hours_profile",
    "fit",
    "flat_profile",
    "from_counts",
    "learn_profile",
    "monthly_volume",
    "parse_history",
    "plan",
    "read_history",
    "write_forecast",
]
