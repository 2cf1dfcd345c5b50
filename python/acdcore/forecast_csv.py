"""History CSV in, forecast CSV out (docs/forecasting.md).

A history is either call records, one row per call:

    timestamp[,handle_time]

or counts per interval, one row per interval:

    interval,calls[,aht]

Times are ISO-8601 (`2026-12-01T08:30:00+01:00`; without an offset they are local time at the
UTC offset given, or of the file's first timestamp that has one) or seconds since the epoch.
An empty handle time or aht is unknown. Every bad row is a ValueError naming its line.

The forecast is written as `interval,calls,aht` (the interval's ISO-8601 start, expected
calls, handle time in seconds, empty only where none is known), the format `acdcore staffing
--csv` reads.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from os import PathLike
from typing import IO

import numpy as np

from acdcore.forecast import Forecast, History, from_counts

RECORDS = ("timestamp", "handle_time")
COUNTS = ("interval", "calls", "aht")
_FORMATS = "call records: timestamp[,handle_time]; counts: interval,calls[,aht]"


def read_history(
    path: str | PathLike[str], *, interval: int | None = None, utc_offset: int | None = None
) -> History:
    """Reads a history CSV (see the module doc). `interval` defaults to the spacing of a
    counts file's rows, or 1800 s for call records. Raises ValueError("FILE: line N: ...")."""
    with open(path, newline="", encoding="utf-8") as f:
        return parse_history(f, interval=interval, utc_offset=utc_offset, name=str(path))


def parse_history(
    lines: Iterable[str],
    *,
    interval: int | None = None,
    utc_offset: int | None = None,
    name: str = "history",
) -> History:
    """`read_history` for lines of CSV text."""
    try:
        return _parse(lines, interval, utc_offset)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None


def _parse(lines: Iterable[str], interval: int | None, utc_offset: int | None) -> History:
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise ValueError(f"line 1: {e}") from None
    if header is None:
        raise ValueError("the file is empty; expected a header row (" + _FORMATS + ")")
    columns = [c.strip().lower() for c in header]
    counts = _check_header(columns)
    names = COUNTS if counts else RECORDS
    width = len(columns)
    rows: list[list[str]] = []
    line_of: list[int] = []
    try:
        for row in reader:
            if len(row) != width:
                _bad_row(row, reader.line_num, columns)
            rows.append(row)
            line_of.append(reader.line_num)
    except csv.Error as e:  # e.g. a field over csv.field_size_limit()
        raise ValueError(f"line {reader.line_num}: {e}") from None
    if not rows:
        raise ValueError("no data rows after the header")
    # Whole columns at once; a column that fails is walked again to name the first bad line.
    cols = list(zip(*rows, strict=True))
    when = _times(cols[columns.index(names[0])], rows, line_of)
    n = len(rows)
    calls = _column(cols[columns.index("calls")], "calls", line_of) if counts else np.ones(n)
    aht = np.full(n, np.nan)
    if names[-1] in columns:
        aht = _column(cols[columns.index(names[-1])], names[-1], line_of, blank=np.nan)
    offset = _offset(when, utc_offset)
    times = np.array([_epoch(w, offset, line) for w, line in zip(when, line_of, strict=True)])
    if interval is None:
        interval = _spacing(times) if counts else 1800
    elif counts:
        spacing = _spacing(times)
        if spacing > interval:
            raise ValueError(
                f"rows are {spacing} s apart, coarser than the interval of {interval} s"
            )
    return from_counts(times, calls, aht, interval=interval, utc_offset=offset)


def _bad_row(row: list[str], line: int, columns: list[str]) -> None:
    if not any(f.strip() for f in row):
        raise ValueError(f"line {line}: empty row")
    raise ValueError(
        f"line {line}: {len(row)} field(s), expected {len(columns)} ({','.join(columns)})"
    )


def _times(
    col: tuple[str, ...], rows: list[list[str]], line_of: list[int]
) -> list[float | datetime]:
    # Seconds since the epoch if the first one is a number (so 20261201 is a time in 1970,
    # not a date), else ISO-8601; a column that mixes them takes the slow path.
    try:
        float(col[0])
    except ValueError:
        try:
            return [datetime.fromisoformat(s.strip()) for s in col]
        except ValueError:
            pass
    else:
        try:
            v = np.array(col, dtype=np.float64)
        except ValueError:
            pass
        else:
            if ((v >= 0) & (v <= 1e12)).all():
                return [float(x) for x in v]
    out: list[float | datetime] = []
    for s, row, line in zip(col, rows, line_of, strict=True):
        if not any(f.strip() for f in row):
            raise ValueError(f"line {line}: empty row")
        out.append(_time(s.strip(), line))
    return out


def _column(
    col: tuple[str, ...], what: str, line_of: list[int], blank: float | None = None
) -> np.ndarray:
    """Numbers >= 0; an empty field is `blank` if given (unknown), else an error."""
    fields = col if blank is None else tuple(s if s.strip() else "nan" for s in col)
    try:
        v = np.array(fields, dtype=np.float64)
    except ValueError:
        v = None
    if v is not None:
        bad = ~(np.isfinite(v) & (v >= 0))
        if blank is not None:
            bad &= np.array([bool(s.strip()) for s in col])
        if not bad.any():
            return v
    for s, line in zip(col, line_of, strict=True):
        if blank is None or s.strip():
            _number(s, what, line)
    raise AssertionError("unreachable: a bad field was not found")  # pragma: no cover


def _check_header(columns: list[str]) -> bool:
    """True for counts, False for call records."""
    for c in columns:
        if columns.count(c) > 1:
            raise ValueError(f"line 1: column {c!r} appears twice")
    known = COUNTS if "interval" in columns or "calls" in columns else RECORDS
    for c in columns:
        if c not in known:
            raise ValueError(f"line 1: unknown column {c!r} ({_FORMATS})")
    required = known[:2] if known is COUNTS else known[:1]
    for c in required:
        if c not in columns:
            raise ValueError(f"line 1: missing column {c!r} ({_FORMATS})")
    return known is COUNTS


def _time(s: str, line: int) -> float | datetime:
    """Seconds since the epoch, or a datetime (naive ones get the offset later)."""
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(v) or not 0 <= v <= 1e12:
            raise ValueError(f"line {line}: timestamp {s!r} is not in 0..1e12 seconds")
        return v
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(
            f"line {line}: bad timestamp {s!r}; expected ISO-8601 "
            "(2026-12-01T08:30:00+01:00) or seconds since the epoch"
        ) from None


def _number(s: str, what: str, line: int) -> float:
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"line {line}: {what} must be a number >= 0, got {s!r}")
    return v


def _offset(when: list[float | datetime], given: int | None) -> int:
    if given is not None:
        return given
    for w in when:
        off = w.utcoffset() if isinstance(w, datetime) else None
        if off is not None:
            return int(off.total_seconds())
    return 0


def _epoch(w: float | datetime, offset: int, line: int) -> float:
    if not isinstance(w, datetime):
        return w
    if w.tzinfo is None:
        w = w.replace(tzinfo=timezone(timedelta(seconds=offset)))
    t = w.timestamp()
    if not 0 <= t <= 1e12:
        raise ValueError(
            f"line {line}: timestamp {w.isoformat()} is not in 0..1e12 seconds after 1970"
        )
    return t


def _spacing(times: np.ndarray) -> int:
    """The smallest gap between distinct times (1800 if there is only one)."""
    distinct = np.unique(times)
    if len(distinct) < 2:
        return 1800
    return round(float(np.diff(distinct).min()))


def write_forecast(forecast: Forecast, out: str | PathLike[str] | IO[str]) -> None:
    """Writes `interval,calls,aht` rows (header first) to a path or an open text file."""
    if isinstance(out, str | PathLike):
        with open(out, "w", newline="", encoding="utf-8") as f:
            _write(forecast, f)
    else:
        _write(forecast, out)


def _write(forecast: Forecast, f: IO[str]) -> None:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(COUNTS)
    for start, calls, aht in forecast.rows():
        w.writerow([start, f"{calls:.3f}", "" if aht is None else f"{aht:.1f}"])
