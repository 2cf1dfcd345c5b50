"""Per-queue and per-agent figures per interval, from the store's SQL sums.

Definitions match the engine's queue_stats: service level = answered within the threshold /
(answered + abandoned + timed out); ASA = mean wait of answered calls; AHT = mean talk (hold
is part of talk: connect to end) + wrap-up of answered calls; abandonment = abandoned /
offered. First-call resolution: an answered call whose disposition is not an unresolved one
and whose caller did not call again within `repeat_days`. Lost calls (cut off by a restart,
outcome "lost") are offered and counted in `lost`; one an agent had answered counts as
answered too (its talk up to the last checkpoint), one still waiting is in no other count.
A withdrawn call (outcome "withdrawn": the host took back a preview no agent took, nobody
was on the line) is in no count at all, and by queue a call the flow ended before any queue
(queue "": closed hours, a menu exit, a transfer) is in no queue's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from acdcore.records.store import Query, RecordStore

DEFAULT_UNRESOLVED = ("unresolved",)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def report(
    store: RecordStore,
    *,
    by: str = "queue",
    interval: float = 1800.0,
    query: Query | None = None,
    threshold: float = 20.0,
    repeat_days: float = 7.0,
    unresolved: Sequence[str] = DEFAULT_UNRESOLVED,
) -> list[dict[str, Any]]:
    """One dict per (queue or agent, interval) with calls, ordered by key then time.

    `interval_start` is the UNIX time the interval starts; rates are None with nothing to
    divide by.
    """
    if not interval > 0:
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    if not threshold >= 0:
        raise ValueError(f"threshold must be a non-negative number of seconds, got {threshold!r}")
    if not repeat_days >= 0:
        raise ValueError(f"repeat_days must be a non-negative number, got {repeat_days!r}")
    sums = store.aggregate(
        by, interval, query or Query(), threshold, repeat_days * 86400.0, tuple(unresolved)
    )
    rows = []
    for s in sums:
        answered = s["answered"]
        rows.append(
            {
                by: s["key"],
                "interval_start": s["bucket"] * interval,
                "offered": s["offered"],
                "answered": answered,
                "abandoned": s["abandoned"],
                "timed_out": s["timed_out"],
                "lost": s["lost"],
                "service_level": _ratio(s["within_sl"], answered + s["abandoned"] + s["timed_out"]),
                "asa": _ratio(s["wait_sum"], answered),
                "abandon_rate": _ratio(s["abandoned"], s["offered"]),
                "aht": _ratio(s["handle_sum"], answered),
                "fcr": _ratio(s["resolved"], answered),
                "surveys": s["surveys"],
                "survey_mean": _ratio(s["survey_sum"] or 0, s["surveys"]),
            }
        )
    return rows
