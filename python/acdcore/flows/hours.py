"""Weekly opening hours and holidays in an IANA time zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(r"^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$")

# One open span: weekday (0 = Monday), start and end minute of the local day.
Span = tuple[int, int, int]


def zone(name: str) -> ZoneInfo:
    """The zone, or ValueError naming it (zoneinfo raises for '', paths and unknown names)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def parse_weekly(entry: str) -> list[Span]:
    """'mon-fri 08:00-18:00' -> one span per day; ValueError naming what is wrong."""
    m = _ENTRY.match(entry.lower())
    if m is None:
        raise ValueError(f"{entry!r} is not 'DAY[-DAY] HH:MM-HH:MM' (e.g. 'mon-fri 08:00-18:00')")
    first, last = m.group(1), m.group(2) or m.group(1)
    for day in (first, last):
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r} in {entry!r} (use {', '.join(DAYS)})")
    h1, m1, h2, m2 = (int(m.group(i)) for i in range(3, 7))
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 > 0):
        raise ValueError(f"bad time in {entry!r}")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"closing time is not after opening time in {entry!r}")
    a, b = DAYS.index(first), DAYS.index(last)
    if b < a:
        raise ValueError(f"day range runs backwards in {entry!r}")
    return [(day, start, end) for day in range(a, b + 1)]


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a YYYY-MM-DD date") from None


def status(now: dt.datetime, tz: ZoneInfo, spans: list[Span], holidays: set[dt.date]) -> str:
    """'open', 'closed' or 'holiday' for an aware `now`."""
    local = now.astimezone(tz)
    if local.date() in holidays:
        return "holiday"
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    for day, start, end in spans:
        if day == weekday and start <= minute < end:
            return "open"
    return "closed"
