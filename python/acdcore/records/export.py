"""CSV export of call records: one row per call, the columns of CallRecord, attributes as
JSON, times as UNIX seconds plus an ISO 8601 UTC arrival for people reading the file."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from acdcore.records.model import CallRecord, dumps

COLUMNS = (
    "call_id", "arrival_utc", "caller", "called", "queue", "agent", "arrival", "answer",
    "end", "wait", "talk", "hold", "wrapup", "disposition", "outcome", "recording_path",
    "voicemail_path", "survey_score", "attributes",
)  # fmt: skip


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def write_csv(records: Iterable[CallRecord], out: IO[str]) -> int:
    """Write `records` as CSV with a header; returns the number of rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r in records:
        d = r.to_dict()
        d["arrival_utc"] = iso(r.arrival)
        d["attributes"] = dumps(r.attributes)
        w.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
        n += 1
    return n
