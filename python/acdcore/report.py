"""The simulation report: one HTML page with PNG plots beside it and the figures in tables.

The page is self-contained apart from its PNGs, so a folder can be copied or served as it is.
Every string that comes from the scenario (queue and group names, the title) is HTML-escaped.
Undefined figures (an interval with nothing to measure) show as a dash.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acdcore.simulate import FloatArray, SimulationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["clock_label", "percentile_waits", "write_report"]

DASH = "\u2013"
#: Answered-wait percentiles shown under the wait distribution.
PERCENTILES = (50, 80, 90, 95, 99)


def _number(v: float, digits: int) -> str:
    return f"{v:,.{digits}f}" if math.isfinite(v) else DASH


def pct(v: float) -> str:
    """A share as a percentage with one decimal, or a dash."""
    return _number(100 * v, 1) + "%" if math.isfinite(v) else DASH


def secs(v: float) -> str:
    return _number(v, 1) + " s" if math.isfinite(v) else DASH


def count(v: float) -> str:
    """Counts: whole numbers as such; means over replications with one decimal."""
    if not math.isfinite(v):
        return DASH
    return _number(v, 0 if float(v).is_integer() else 1)


def dec(v: float) -> str:
    return _number(v, 2)


def clock_label(seconds: float, clock_start: float | None = None) -> str:
    """`h:mm` (`:ss` when not on a whole minute) from the start of the simulation, or the
    wall-clock `HH:MM` when the clock time of t = 0 is known."""
    if clock_start is not None:
        seconds = (clock_start + seconds) % 86400
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h:02d}:{m:02d}" if clock_start is not None else f"{h}:{m:02d}"
    return text + (f":{s:02d}" if s else "")


def percentile_waits(histogram: Sequence[int] | np.ndarray, ps: Sequence[float]) -> list[float]:
    """Waits (whole seconds) that the given percentages of answered calls did not exceed;
    the histogram's last bin holds every longer wait, so a percentile there is a lower bound."""
    hist = np.asarray(histogram, dtype=np.float64)
    total = float(hist.sum())
    if total == 0:
        return [math.nan for _ in ps]
    cum = np.cumsum(hist)
    return [float(np.searchsorted(cum, p / 100 * total)) for p in ps]


# Totals table: (key in result.totals, label, formatter).
_TOTALS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("calls", "calls", count),
    ("answered", "answered", count),
    ("abandoned", "abandoned", count),
    ("service_level", "service level", pct),
    ("asa", "average speed of answer", secs),
    ("abandon_rate", "abandon rate", pct),
    ("p_wait", "P(wait)", pct),
    ("occupancy", "occupancy", pct),
    ("queue_mean", "mean calls waiting", dec),
    ("wait_mean", "mean wait, every call", secs),
    ("unserved", "unserved at the end", count),
)

# Per-interval table: (column of result.intervals, header, formatter).
_INTERVALS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("arrivals", "arrivals", count),
    ("answered", "answered", count),
    ("abandoned", "abandoned", count),
    ("service_level", "service level", pct),
    ("asa", "ASA", secs),
    ("abandon_rate", "abandon rate", pct),
    ("p_wait", "P(wait)", pct),
    ("occupancy", "occupancy", pct),
    ("queue_mean", "mean waiting", dec),
    ("queue_max", "max waiting", count),
    ("staffed_agents", "agents staffed", dec),
)


def _table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Cells are escaped here; callers pass plain text."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return (
        f'<table id="{table_id}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _totals_rows(result: SimulationResult) -> tuple[list[str], list[list[str]]]:
    header = ["figure", "value"]
    with_ci = result.replications > 1
    if with_ci:
        header.append("\u00b1 95% CI")
    rows = []
    for key, label, fmt in _TOTALS:
        row = [label, fmt(result.totals[key])]
        if with_ci:
            half = result.ci[key]
            row.append(DASH if not math.isfinite(half) else fmt(half))
        rows.append(row)
    return header, rows


_QUEUE_HEADER = (
    "queue",
    "arrivals",
    "answered",
    "abandoned",
    "self-service",
    "callbacks",
    "service level",
    "ASA",
    "abandon rate",
)


def _queue_rows(result: SimulationResult) -> list[list[str]]:
    return [
        [
            str(q["id"]),
            count(q["arrivals"]),
            count(q["answered"]),
            count(q["abandoned"]),
            count(q["self_service"]),
            count(q["callbacks"]),
            pct(q["service_level"]),
            secs(q["asa"]),
            pct(q["abandon_rate"]),
        ]
        for q in result.queues
    ]


def _interval_rows(result: SimulationResult, labels: Sequence[str]) -> list[list[str]]:
    cols = result.intervals
    rows = []
    for k, label in enumerate(labels):
        row = [label]
        row += [fmt(float(cols[name][k])) for name, _, fmt in _INTERVALS]
        row += [pct(float(result.group_occupancy[g, k])) for g in range(len(result.groups))]
        rows.append(row)
    return rows


def _ticks(ax: Axes, starts: FloatArray, labels: Sequence[str]) -> None:
    """At most ~12 labelled ticks, whatever the number of intervals."""
    step = max(1, math.ceil(len(starts) / 12))
    ax.set_xticks(list(starts[::step]), list(labels[::step]), rotation=45, ha="right")
    ax.grid(True, alpha=0.3)


def _figure() -> Figure:
    """A figure drawn by the Agg canvas alone: no pyplot, no global state, no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _plot_service_level(result: SimulationResult, x: FloatArray, labels: Sequence[str]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    cols = result.intervals
    mid = x + result.interval / 2
    calls = ax.twinx()
    calls.bar(x, cols["arrivals"], width=result.interval, align="edge", color="0.9")
    calls.set_ylabel("arrivals per interval (bars)")
    ax.set_zorder(calls.get_zorder() + 1)
    ax.patch.set_visible(False)
    sl = 100 * cols["service_level"]
    line = ax.plot(mid, sl, marker="o", ms=3, label="service level")[0]
    half = 100 * result.intervals_ci.get("service_level", np.full_like(sl, np.nan))
    if np.isfinite(half).any():
        ax.fill_between(
            mid,
            np.clip(sl - half, 0, 100),
            np.clip(sl + half, 0, 100),
            color=line.get_color(),
            alpha=0.2,
            label="95% CI",
        )
    ax.plot(mid, 100 * cols["abandon_rate"], marker=".", ms=3, label="abandon rate")
    total = result.totals["service_level"]
    if math.isfinite(total):
        ax.axhline(100 * total, ls="--", lw=1, color="grey", label=f"whole run: {pct(total)}")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of calls that got an outcome")
    ax.set_title("Answered within the queue's service-level threshold, by arrival interval")
    ax.legend(loc="lower left", fontsize="small")
    _ticks(ax, x, labels)
    return fig


def _plot_queue(result: SimulationResult, x: FloatArray, labels: Sequence[str]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    cols = result.intervals
    width = result.interval * 0.8
    ax.bar(x, cols["queue_max"], width=width, align="edge", alpha=0.3, label="max waiting")
    ax.plot(x + width / 2, cols["queue_mean"], marker="o", ms=3, label="mean waiting")
    ax.set_ylabel("calls waiting")
    ax.set_title("Queue length per interval (all queues)")
    ax.legend(loc="upper right", fontsize="small")
    _ticks(ax, x, labels)
    return fig


def _plot_waits(result: SimulationResult) -> Figure:
    hist = result.wait_histogram.astype(np.float64)
    total = hist.sum()
    fig = _figure()
    left, right = fig.subplots(1, 2)
    if total > 0:
        top = int(percentile_waits(result.wait_histogram, [99.5])[0]) + 2
        left.bar(np.arange(top), hist[:top] / total * 100, width=1.0, align="edge")
        left.set_yscale("log")
        cdf = np.cumsum(hist) / total * 100
        right.step(np.arange(1, len(cdf) + 1), cdf, where="post")
        right.set_xlim(0, top)
    else:
        for ax in (left, right):
            ax.text(0.5, 0.5, "no answered calls", ha="center", transform=ax.transAxes)
    left.set_title("Answered calls by seconds waited")
    left.set_xlabel("seconds waited")
    left.set_ylabel("% of answered calls (log scale)")
    right.set_title("Answered within t seconds")
    right.set_xlabel("t, seconds")
    right.set_ylabel("% of answered calls")
    right.set_ylim(0, 101)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    return fig


def _plot_occupancy(result: SimulationResult, x: FloatArray, labels: Sequence[str]) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    mid = x + result.interval / 2
    for g, name in enumerate(result.groups):
        ax.plot(mid, 100 * result.group_occupancy[g], marker="o", ms=3, label=name)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of staffed time talking or in wrap-up")
    ax.set_title("Occupancy per agent group")
    if result.groups:
        ax.legend(loc="lower left", fontsize="small")
    _ticks(ax, x, labels)
    return fig


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 75em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child { text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
.wide { overflow-x: auto; }
"""


def write_report(
    result: SimulationResult,
    directory: Path,
    title: str,
    *,
    clock_start: float | None = None,
) -> Path:
    """Writes `index.html` and its PNG plots into `directory` (created if needed) and returns
    the page's path. `clock_start` (seconds after midnight of t = 0) labels intervals with
    wall-clock times; without it they are labelled as time from the start."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError("exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)

    x = np.asarray(result.intervals["start"], dtype=np.float64)
    labels = [clock_label(float(s), clock_start) for s in x]
    plots = {
        "service_level.png": _plot_service_level(result, x, labels),
        "queue_length.png": _plot_queue(result, x, labels),
        "wait_distribution.png": _plot_waits(result),
        "occupancy.png": _plot_occupancy(result, x, labels),
    }
    for name, fig in plots.items():
        fig.savefig(directory / name, format="png")

    totals_header, totals_rows = _totals_rows(result)
    waits = percentile_waits(result.wait_histogram, PERCENTILES)
    wait_rows = [
        [f"{p}%", DASH if math.isnan(w) else f"{w:.0f} s"]
        for p, w in zip(PERCENTILES, waits, strict=True)
    ]
    time_header = "clock" if clock_start is not None else "from start (h:mm)"
    interval_header = [time_header, *(h for _, h, _ in _INTERVALS)]
    interval_header += [f"occupancy {g}" for g in result.groups]
    reps = result.replications
    if reps > 1:
        how = (
            f"{reps} replications (seed {result.seed}): figures are means over replications, "
            "\u00b1 the 95% confidence half-width (Student t)."
        )
    else:
        how = f"One replication (seed {result.seed}); run several for confidence intervals."
    e = html.escape
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(title)}: simulation report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{e(title)}</h1>
<p>{e(how)} Intervals of {e(clock_label(result.interval))} (h:mm); call outcomes count in the
interval the call arrived in, queue length and agent time in the interval they happen in.</p>

<h2>Totals</h2>
{_table("totals", totals_header, totals_rows)}

<h2>Queues</h2>
<p>Counts are summed over the {reps} replication{"s" if reps > 1 else ""}; service level is the
share of settled calls answered within the queue's own threshold.</p>
{_table("queues", _QUEUE_HEADER, _queue_rows(result))}

<h2>Service level</h2>
<img src="service_level.png" alt="service level and abandon rate per interval">

<h2>Queue length</h2>
<img src="queue_length.png" alt="mean and maximum calls waiting per interval">

<h2>Wait-time distribution</h2>
<img src="wait_distribution.png" alt="answered calls by seconds waited, and cumulative">
{_table("wait_percentiles", ["answered calls", "waited at most"], wait_rows)}

<h2>Occupancy per agent group</h2>
<img src="occupancy.png" alt="occupancy per agent group and interval">
<p>Groups: {e(", ".join(result.groups)) or DASH}.</p>

<h2>Per interval</h2>
<div class="wide">
{_table("intervals", interval_header, _interval_rows(result, labels))}
</div>
</body>
</html>
"""
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
