"""`acdcore staffing`: agents required for a service target, for one interval or a CSV of them.

One interval: `--calls N --interval 1800 --aht S` prints one result. A CSV (`--csv FILE`, header
`interval,calls,aht`: a label, the calls offered in the interval, the handle time in seconds)
gives one result per row. Output: `--json` prints JSON (one object, or one per line for a
CSV); otherwise a table on a terminal, and for a CSV, CSV rows when stdout is not a terminal
(or in `--out FILE`). Bad input: a message on stderr naming it (and its CSV line), exit 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from acdcore import erlang

#: Output fields, in order; `abandon` only when a patience is given.
FIELDS = ("agents", "scheduled", "service_level", "asa", "occupancy", "p_wait")
CSV_COLUMNS = ("interval", "calls", "aht")


class InputError(Exception):
    """A bad argument or CSV row; the message names it."""


def register(sub: Any) -> None:
    """Adds the `staffing` command to the `acdcore` subparsers."""
    p = sub.add_parser(
        "staffing",
        help="agents required for a service level, ASA or abandonment target (Erlang C / A)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--calls", type=float, help="calls offered in the interval")
    src.add_argument("--csv", type=Path, metavar="FILE", help="CSV with interval,calls,aht")
    p.add_argument("--aht", type=float, help="average handle time, seconds (with --calls)")
    p.add_argument("--interval", type=float, default=1800.0, help="interval length, s (1800)")
    p.add_argument("--sl", type=float, help="service level target, e.g. 0.8")
    p.add_argument("--threshold", type=float, default=20.0, help="SL threshold, seconds (20)")
    p.add_argument("--max-asa", type=float, help="maximum average speed of answer, seconds")
    p.add_argument("--max-abandon", type=float, help="maximum abandon rate (needs --patience)")
    p.add_argument("--patience", type=float, help="mean patience, seconds: Erlang A")
    p.add_argument(
        "--patience-dist",
        default="exponential",
        help="patience distribution (Erlang A supports: exponential)",
    )
    p.add_argument("--shrinkage", type=float, default=0.0, help="shrinkage, e.g. 0.3 (0)")
    p.add_argument("--max-occupancy", type=float, help="maximum occupancy, e.g. 0.85")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the CSV rows to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.csv is None:
            if args.aht is None:
                raise InputError("--aht is required with --calls")
            if args.out is not None:
                raise InputError("--out is for --csv input")
            labels: list[str] = []
            calls = np.array([args.calls])
            aht = np.array([args.aht])
            lines: list[int] = []
        else:
            if args.aht is not None:
                raise InputError("--aht is per row in the CSV (column aht), not an option")
            labels, calls, aht, lines = read_csv(args.csv)
        result = compute(args, calls, aht, lines)
    except InputError as e:
        print(f"acdcore staffing: {e}", file=sys.stderr)
        return 1
    rows = rows_of(result, args.patience is not None)
    if args.csv is None:
        show_one(args, rows[0])
    else:
        show_many(args, labels, calls, aht, rows)
    return 0


def read_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[int]]:
    """The rows of an `interval,calls,aht` file; every bad row is named by its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not part of the header
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(CSV_COLUMNS):
        raise InputError(f"{path}: line 1: the header must be {','.join(CSV_COLUMNS)}")
    labels: list[str] = []
    values: list[tuple[float, float]] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            raise InputError(f"{path}: line {line}: empty row")
        if len(row) != len(CSV_COLUMNS):
            raise InputError(
                f"{path}: line {line}: expected 3 fields (interval,calls,aht), got {len(row)}"
            )
        label, calls, aht = (cell.strip() for cell in row)
        values.append(
            (number(path, line, "calls", calls, zero=True), number(path, line, "aht", aht))
        )
        labels.append(label)
        lines.append(line)
    if not values:
        raise InputError(f"{path}: no rows after the header")
    calls_a, aht_a = (np.array(col, dtype=np.float64) for col in zip(*values, strict=True))
    return labels, calls_a, aht_a, lines


def number(path: Path, line: int, name: str, cell: str, zero: bool = False) -> float:
    """A CSV cell: a positive number (or zero, when `zero`: an interval with no calls)."""
    try:
        v = float(cell)
    except ValueError:
        raise InputError(f"{path}: line {line}: {name} {cell!r} is not a number") from None
    if not (math.isfinite(v) and (v >= 0 if zero else v > 0)):
        need = ">= 0" if zero else "positive"
        raise InputError(f"{path}: line {line}: {name} must be {need}, got {cell}")
    return v


def compute(
    args: argparse.Namespace, calls: np.ndarray, aht: np.ndarray, lines: list[int]
) -> dict[str, Any]:
    where = f"{args.csv}: " if args.csv is not None else ""
    try:
        if args.interval is None or not (math.isfinite(args.interval) and args.interval > 0):
            raise ValueError(
                f"--interval must be a positive number of seconds, got {args.interval}"
            )
        if not lines and not (math.isfinite(args.calls) and args.calls >= 0):
            raise ValueError(f"--calls must be >= 0, got {args.calls}")
        return erlang.staffing(
            erlang.traffic(calls, args.interval, aht),
            aht,
            service_level=args.sl,
            threshold=args.threshold,
            max_asa=args.max_asa,
            max_abandon=args.max_abandon,
            max_occupancy=args.max_occupancy,
            shrinkage=args.shrinkage,
            patience=args.patience,
            patience_distribution=args.patience_dist,
        )
    except ValueError as e:
        msg = str(e)
        m = re.match(r"item (\d+): ", msg)
        if m and lines:
            msg = f"line {lines[int(m.group(1))]}: {msg[m.end() :]}"
        raise InputError(where + msg) from None


def rows_of(result: dict[str, Any], with_abandon: bool) -> list[dict[str, Any]]:
    fields = (*FIELDS, "abandon") if with_abandon else FIELDS
    n = len(result["agents"])
    return [
        {
            f: (int(result[f][i]) if f in ("agents", "scheduled") else float(result[f][i]))
            for f in fields
        }
        for i in range(n)
    ]


def show_one(args: argparse.Namespace, row: dict[str, Any]) -> None:
    if args.json or not sys.stdout.isatty():
        print(json.dumps(row))
    else:
        table([row], [])


def show_many(
    args: argparse.Namespace,
    labels: list[str],
    calls: np.ndarray,
    aht: np.ndarray,
    rows: list[dict[str, Any]],
) -> None:
    full = [
        {"interval": label, "calls": float(c), "aht": float(h), **row}
        for label, c, h, row in zip(labels, calls, aht, rows, strict=True)
    ]
    if args.out is not None:
        with args.out.open("w", newline="", encoding="utf-8") as f:
            write_csv(f, full)
    elif args.json:
        for row in full:
            print(json.dumps(row))
    elif sys.stdout.isatty():
        table(rows, labels)
    else:
        write_csv(sys.stdout, full)


def write_csv(out: TextIO, rows: list[dict[str, Any]]) -> None:
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


def table(rows: list[dict[str, Any]], labels: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="acdcore staffing")
    if labels:
        t.add_column("interval")
    for f in rows[0]:
        t.add_column(f, justify="right")
    for i, row in enumerate(rows):
        cells = [labels[i]] if labels else []
        for f, v in row.items():
            if f in ("agents", "scheduled"):
                cells.append(str(v))
            elif f == "asa":
                cells.append(f"{v:.1f} s")
            else:
                cells.append(f"{100 * v:.1f}%")
        t.add_row(*cells)
    Console().print(t)
