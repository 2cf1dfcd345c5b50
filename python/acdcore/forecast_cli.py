"""`acdcore forecast`: a forecast per interval from history or from the planning formula.

    acdcore forecast HISTORY.csv [--interval 1800] [--days 7] [--holdout-days 14] [--out F.csv]
    acdcore forecast --customers 10000 --contacts 3 --share 0.05 --month 2026-12 [--out F.csv]

Prints the method, its parameters and the holdout error (or `--json`); `--out` writes
`interval,calls,aht` rows (`-` for stdout), the input of `acdcore staffing --csv`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

import numpy as np

from acdcore import forecast as fc
from acdcore.forecast_csv import read_history, write_forecast

PROG = "acdcore forecast"


def register(sub: Any) -> None:
    """Adds the `forecast` subcommand to the `acdcore` parser's subparsers."""
    p = sub.add_parser(
        "forecast",
        help="forecast calls per interval from history or the planning formula",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "history",
        nargs="?",
        help="history CSV: timestamp[,handle_time] rows "
        "(one per call) or interval,calls[,aht] rows (docs/forecasting.md)",
    )
    p.add_argument(
        "--interval",
        type=int,
        help="interval length in seconds (default: the "
        "history's row spacing for counts, else 1800)",
    )
    p.add_argument(
        "--utc-offset",
        type=_offset,
        help="local time offset, e.g. +01:00 (default: from the history's timestamps, else +00:00)",
    )
    p.add_argument("--days", type=int, default=7, help="days to forecast (default 7)")
    p.add_argument(
        "--holdout-days",
        type=int,
        default=14,
        help="last days of history held out to measure the error (default 14, 0: none)",
    )
    p.add_argument("--aht", type=float, help="handle time (s) where the history has none")
    p.add_argument("--customers", type=float, help="planning formula: number of customers")
    p.add_argument("--contacts", type=float, help="planning: contacts per customer per month")
    p.add_argument("--share", type=float, help="planning: share handled by the center (0.05)")
    p.add_argument("--month", help="planning: the month to spread over, YYYY-MM")
    p.add_argument(
        "--profile",
        metavar="HISTORY",
        help="planning: spread by this history's week instead of business hours",
    )
    p.add_argument("--hours", default="08:00-18:00", help="planning: opening hours")
    p.add_argument("--weekdays", default="mon-fri", help="planning: opening days")
    p.add_argument("--out", help="write interval,calls,aht CSV here (- for stdout)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _offset(s: str) -> int:
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", s.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"bad UTC offset {s!r}, expected e.g. +01:00")
    sign = -1 if m[1] == "-" else 1
    return sign * (int(m[2]) * 3600 + int(m[3]) * 60)


def run(args: argparse.Namespace) -> int:
    try:
        result = _forecast(args)
    except ValueError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    try:
        return _output(args, result)
    except BrokenPipeError:
        # A reader that stopped early (| head) is not an error; keep Python quiet at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _output(args: argparse.Namespace, result: fc.Forecast) -> int:
    if args.out == "-":
        write_forecast(result, sys.stdout)
        sys.stdout.flush()
        _note_unknown_aht(result)
        return 0
    if args.out is not None:
        try:
            write_forecast(result, args.out)
        except OSError as e:
            print(f"{PROG}: {e}", file=sys.stderr)
            return 2
    _note_unknown_aht(result)
    summary = result.summary()
    print(json.dumps(summary, indent=2) if args.json else _text(summary))
    if args.out is not None and not args.json:
        print(f"wrote {args.out} ({len(result.calls)} intervals)")
    sys.stdout.flush()
    return 0


def _note_unknown_aht(result: fc.Forecast) -> None:
    """Staffing needs a handle time per interval: say where there is none."""
    unknown = int(np.isnan(result.aht).sum())
    if unknown:
        print(
            f"{PROG}: note: no handle time known for {unknown} of {len(result.aht)} intervals "
            "(their aht is empty); give --aht SECONDS",
            file=sys.stderr,
        )


def _forecast(args: argparse.Namespace) -> fc.Forecast:
    planning = [args.customers, args.contacts, args.share, args.month]
    if args.history is not None:
        if any(v is not None for v in planning) or args.profile is not None:
            raise ValueError("give a HISTORY file or the planning options, not both")
        history = read_history(args.history, interval=args.interval, utc_offset=args.utc_offset)
        return fc.fit(history, days=args.days, holdout_days=args.holdout_days, aht=args.aht)
    if any(v is None for v in planning):
        raise ValueError(
            "give a HISTORY file, or --customers, --contacts, --share and --month together"
        )
    interval = 1800 if args.interval is None else args.interval
    offset = 0 if args.utc_offset is None else args.utc_offset
    if args.profile is not None:
        profile = fc.learn_profile(read_history(args.profile, interval=interval, utc_offset=offset))
    else:
        profile = fc.business_hours_profile(interval, args.hours, args.weekdays)
    return fc.plan(
        args.customers,
        args.contacts,
        args.share,
        args.month,
        interval=interval,
        utc_offset=offset,
        profile=profile,
        aht=args.aht,
    )


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def _text(s: dict[str, Any]) -> str:
    lines = [f"method: {s['method']}"]
    p = s["params"]
    if s["method"] == fc.PLANNING:
        lines.append(
            f"volume: {p['customers']:g} customers x {p['contacts_per_customer']:g} contacts "
            f"x {p['share']:g} share = {p['monthly_volume']:g} calls"
        )
    else:
        lines.append(
            "fitted: "
            + " ".join(f"{k}={v:.4g}" for k, v in p.items())
            + f"; trend {s['trend_per_day']:+.2f} calls/day per day"
        )
    for name, key in (("holdout", "holdout"), ("seasonal naive", "seasonal_naive")):
        e = s[key]
        if e is not None:
            lines.append(
                f"{name} ({s['holdout_days']} days, {e['n']} intervals): WAPE {_pct(e['wape'])}"
                f"  MAPE {_pct(e['mape'])}  RMSE {e['rmse']:.2f} calls/interval"
            )
    lines.append(
        f"forecast: {s['intervals']} intervals of {s['interval']} s from {s['start']}, "
        f"{s['total']:.1f} calls"
    )
    if s["peak"] is not None:
        lines.append(f"peak: {s['peak']['calls']:.2f} calls at {s['peak']['interval']}")
    return "\n".join(lines)
