"""`acdcore records`: search, export and report on a call-records database.

DATABASE is a SQLite file written by acdcore.records (it must exist) or a
postgresql:// URI. Filters (all optional, combined): --from/--to (ISO 8601 date or time,
UTC unless it has an offset, or UNIX seconds; by arrival, --to exclusive), --number (caller
or called), --queue, --agent, --disposition, --outcome.

  acdcore records search DB --number +15551234 [--json]
  acdcore records export DB --csv FILE
  acdcore records report DB --by queue|agent --interval 1800 [--threshold 20] [--json]

Bad arguments exit 2 with a message naming them; a missing or corrupt database exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acdcore.records import OUTCOMES, PostgresStore, Query, SqliteStore, StoreError, report
from acdcore.records.export import iso, write_csv
from acdcore.records.model import CallRecord
from acdcore.records.store import RecordStore


def _time(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an ISO 8601 date/time or UNIX seconds"
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (UNIX seconds >= 0)")
    return value


def _seconds(strict: bool) -> Any:
    """An argparse type: a finite number above 0 (`strict`) or from 0."""
    what = "a positive number" if strict else "a non-negative number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value > 0 if strict else value >= 0)):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def register(sub: Any) -> None:
    """Adds `records` and its subcommands to the `acdcore` subparsers."""
    p = sub.add_parser(
        "records",
        help="search, export and report on call records",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rsub = p.add_subparsers(dest="records_command", required=True)
    s = rsub.add_parser("search", help="call records matching the filters")
    _common(s)
    s.add_argument("--limit", type=_count, help="at most this many records")
    s.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    s.set_defaults(func=_search)
    e = rsub.add_parser("export", help="call records matching the filters, as CSV")
    _common(e)
    e.add_argument("--csv", required=True, metavar="FILE", help="CSV file to write ('-': stdout)")
    e.set_defaults(func=_export)
    r = rsub.add_parser("report", help="per-queue or per-agent figures per interval")
    _common(r)
    r.add_argument("--by", choices=("queue", "agent"), default="queue", help="group by (queue)")
    r.add_argument("--interval", type=_seconds(True), default=1800.0, help="seconds (1800)")
    r.add_argument("--threshold", type=_seconds(False), default=20.0, help="SL threshold s (20)")
    r.add_argument("--repeat-days", type=_seconds(False), default=7.0, help="FCR window (7)")
    r.add_argument(
        "--unresolved", default="unresolved", help="comma-separated unresolved dispositions"
    )
    r.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    r.set_defaults(func=_report)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("database", help="SQLite file or postgresql:// URI")
    p.add_argument("--from", dest="start", type=_time, help="arrivals from this time")
    p.add_argument("--to", dest="end", type=_time, help="arrivals before this time")
    p.add_argument("--number", help="caller or called number")
    p.add_argument("--queue")
    p.add_argument("--agent")
    p.add_argument("--disposition")
    p.add_argument("--outcome", choices=OUTCOMES)


def _open(args: argparse.Namespace) -> RecordStore:
    db: str = args.database
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    if Path(db).is_dir():
        raise StoreError(f"{db}: is a directory, not a records database")
    return SqliteStore(db, create=False)


def _query(args: argparse.Namespace, limit: int | None = None) -> Query:
    return Query(
        start=args.start,
        end=args.end,
        number=args.number,
        queue=args.queue,
        agent=args.agent,
        disposition=args.disposition,
        outcome=args.outcome,
        limit=limit,
    )


def _run(args: argparse.Namespace, body: Any) -> int:
    if args.start is not None and args.end is not None and args.end <= args.start:
        print("acdcore records: --to must be after --from", file=sys.stderr)
        return 2
    try:
        with _open(args) as store:
            code: int = body(store)
            return code
    except StoreError as e:
        print(f"acdcore records: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"acdcore records: {e}", file=sys.stderr)
        return 2


def _search(args: argparse.Namespace) -> int:
    def body(store: RecordStore) -> int:
        records = store.search(_query(args, args.limit))
        if args.json:
            for r in records:
                print(json.dumps(r.to_dict(), sort_keys=True))
        else:
            _table(records)
        return 0

    return _run(args, body)


def _table(records: list[CallRecord]) -> None:
    cols = ("call_id", "arrival", "caller", "queue", "agent", "outcome", "wait", "talk")
    rows = [cols]
    for r in records:
        wait = "" if r.wait is None else f"{r.wait:.1f}"
        talk = "" if r.talk is None else f"{r.talk:.1f}"
        rows.append((r.call_id, iso(r.arrival), r.caller or "", r.queue, r.agent or "",
                     r.outcome, wait, talk))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _export(args: argparse.Namespace) -> int:
    def body(store: RecordStore) -> int:
        records = store.search(_query(args))
        if args.csv == "-":
            write_csv(records, sys.stdout)
        else:
            with open(args.csv, "w", newline="", encoding="utf-8") as f:
                n = write_csv(records, f)
            print(f"{n} records written to {args.csv}", file=sys.stderr)
        return 0

    return _run(args, body)


def _report(args: argparse.Namespace) -> int:
    unresolved = tuple(c for c in args.unresolved.split(",") if c)

    def body(store: RecordStore) -> int:
        rows = report(
            store,
            by=args.by,
            interval=args.interval,
            query=_query(args),
            threshold=args.threshold,
            repeat_days=args.repeat_days,
            unresolved=unresolved,
        )
        if args.json:
            for row in rows:
                print(json.dumps(row, sort_keys=True))
            return 0
        cols = (args.by, "interval", "offered", "answered", "abandoned", "lost", "sl", "asa",
                "aht", "fcr", "survey")  # fmt: skip
        table = [cols]
        for row in rows:
            table.append((str(row[args.by]), iso(row["interval_start"]), str(row["offered"]),
                          str(row["answered"]), str(row["abandoned"]), str(row["lost"]),
                          _fmt(row["service_level"], "{:.1%}"), _fmt(row["asa"], "{:.1f}"),
                          _fmt(row["aht"], "{:.1f}"), _fmt(row["fcr"], "{:.1%}"),
                          _fmt(row["survey_mean"], "{:.2f}")))  # fmt: skip
        widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
        for r in table:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        return 0

    return _run(args, body)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)
