"""`acdcore simulate-outbound`: an outbound day on the real engine, paced in Rust."""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from acdcore.pacing import MODES, simulate_outbound

#: The JSON object's figures, in order.
FIGURES = ("mode", "dials", "connects", "abandoned", "abandon_rate", "occupancy", "agent_wait_s")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "simulate-outbound",
        help="simulate an outbound campaign (progressive, power or predictive pacing)",
        description="Agents take the live answers of the dials the pacer places, on the "
        "real engine; a caller no agent takes within 2 s is abandoned.",
    )
    p.add_argument("--agents", type=int, required=True, help="agents logged in all day")
    p.add_argument("--answer-rate", type=float, required=True, help="share of dials answered")
    p.add_argument("--aht", type=float, required=True, help="mean talk time, seconds")
    p.add_argument("--wrapup", type=float, default=0.0, help="after-call work, seconds")
    p.add_argument("--mode", choices=MODES, default="predictive")
    p.add_argument("--ratio", type=float, default=None, help="power mode: lines per ready agent")
    p.add_argument(
        "--abandon-target", type=float, default=0.03, help="most abandons per live answer"
    )
    p.add_argument("--machine-rate", type=float, default=0.0, help="share of answers by machines")
    p.add_argument("--handle-sd", type=float, default=None, help="lognormal talk time of this sd")
    p.add_argument(
        "--answer-time",
        default=None,
        metavar="DIST",
        help="time to answer: lognormal:MEAN:SD (default lognormal:8:4), exponential:MEAN, "
        "constant:VALUE or empirical:V1,V2,...",
    )
    p.add_argument(
        "--pacer-answer-time",
        default=None,
        metavar="DIST",
        help="the time-to-answer shape the pacer starts from (default: the true one)",
    )
    p.add_argument(
        "--fixed-answer-shape",
        action="store_true",
        help="the pacer keeps the shape it is given instead of learning it from the answers",
    )
    p.add_argument("--hours", type=float, default=8.0, help="hours of dialing")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--report", type=Path, help="run the three modes side by side; HTML with plots here"
    )
    p.set_defaults(func=run)


def _fail(msg: str, code: int = 1) -> int:
    print(f"acdcore simulate-outbound: {msg}", file=sys.stderr)
    return code


def _check(args: argparse.Namespace) -> str | None:
    """The first bad value, named (None when all are fine)."""
    finite = math.isfinite
    checks = [
        ("--agents", args.agents, args.agents >= 1),
        ("--answer-rate", args.answer_rate, finite(args.answer_rate) and 0 < args.answer_rate <= 1),
        ("--aht", args.aht, finite(args.aht) and args.aht > 0),
        ("--wrapup", args.wrapup, finite(args.wrapup) and args.wrapup >= 0),
        (
            "--abandon-target",
            args.abandon_target,
            finite(args.abandon_target) and 0 < args.abandon_target <= 1,
        ),
        (
            "--machine-rate",
            args.machine_rate,
            finite(args.machine_rate) and 0 <= args.machine_rate <= 1,
        ),
        ("--hours", args.hours, finite(args.hours) and 0 < args.hours <= 24 * 366),
        ("--seed", args.seed, 0 <= args.seed < 2**64),
    ]
    if args.ratio is not None:
        checks.append(("--ratio", args.ratio, finite(args.ratio) and 1 <= args.ratio <= 100))
    if args.handle_sd is not None:
        checks.append(
            ("--handle-sd", args.handle_sd, finite(args.handle_sd) and args.handle_sd > 0)
        )
    for flag, value, ok in checks:
        if not ok:
            return f"{flag}: bad value {value}"
    return None


def _day(args: argparse.Namespace, mode: str, ratio: float) -> dict[str, Any]:
    return simulate_outbound(
        args.agents,
        args.answer_rate,
        args.aht,
        wrapup=args.wrapup,
        mode=mode,
        ratio=ratio,
        target=args.abandon_target,
        hours=args.hours,
        seed=args.seed,
        machine_rate=args.machine_rate,
        handle_sd=args.handle_sd,
        answer_time=args.answer_time,
        pacer_answer_time=args.pacer_answer_time,
        learn_answer_shape=not args.fixed_answer_shape,
    )


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def run(args: argparse.Namespace) -> int:
    bad = _check(args)
    if bad is not None:
        return _fail(bad)
    if args.ratio is not None and args.mode != "power" and args.report is None:
        return _fail("--ratio belongs to --mode power", 2)
    # Power without a ratio: the classic two lines per agent.
    ratio = 2.0 if args.ratio is None else args.ratio
    try:
        day = _day(args, args.mode, ratio)
        out = {k: _finite(day[k]) for k in FIGURES}
        if args.report is not None:
            days = {m: day if m == args.mode else _day(args, m, ratio) for m in MODES}
            try:
                out["report"] = str(write_report(days, args.report, args, ratio))
            except OSError as e:
                return _fail(f"--report {args.report}: {e}", 2)
    except ValueError as e:
        msg = str(e)
        # The core names the keyword; the user typed the flag.
        for key in ("pacer_answer_time", "answer_time"):
            if msg.startswith(f"{key}:"):
                msg = "--" + key.replace("_", "-") + msg[len(key) :]
                break
        return _fail(msg)
    if args.json or not sys.stdout.isatty():
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>14}  {v:.4g}" if isinstance(v, float) else f"{k:>14}  {v}")
    return 0


def write_report(
    days: dict[str, dict[str, Any]], directory: Path, args: argparse.Namespace, ratio: float
) -> Path:
    """`index.html` with the modes side by side and plots of occupancy and abandonment per
    interval; returns the page's path."""
    from acdcore.report import _figure, _table, _ticks, clock_label, dec, pct, secs

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError("exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    first = next(iter(days.values()))
    n = len(first["intervals"]["dials"])
    x = np.arange(n, dtype=np.float64) * first["interval"]
    labels = [clock_label(float(s)) for s in x]
    for column, name, ylabel in (
        ("occupancy", "occupancy.png", "occupancy"),
        ("abandon_rate", "abandonment.png", "abandoned / live answers"),
    ):
        fig = _figure()
        ax = fig.add_subplot()
        for mode, day in days.items():
            ax.plot(x, day["intervals"][column], marker=".", label=mode)
        if column == "abandon_rate":
            ax.axhline(args.abandon_target, color="red", linestyle="--", label="target")
        ax.set_ylabel(ylabel)
        ax.set_xlabel("from start (h:mm)")
        _ticks(ax, x, labels)
        ax.legend()
        fig.savefig(directory / name, format="png")
    header = ["figure", *(m if m != "power" else f"power ({ratio:g}:1)" for m in days)]
    rows = [
        ["dials", *(f"{d['dials']:,}" for d in days.values())],
        ["live answers", *(f"{d['live']:,}" for d in days.values())],
        ["connects", *(f"{d['connects']:,}" for d in days.values())],
        ["abandoned", *(f"{d['abandoned']:,}" for d in days.values())],
        ["abandon rate", *(pct(d["abandon_rate"]) for d in days.values())],
        ["occupancy", *(pct(d["occupancy"]) for d in days.values())],
        ["agent wait between calls", *(secs(d["agent_wait_s"]) for d in days.values())],
        ["dials per connect", *(dec(d["dials"] / max(d["connects"], 1)) for d in days.values())],
    ]
    e = html.escape
    setup = (
        f"{args.agents} agents, answer rate {args.answer_rate:g}, talk {args.aht:g} s, wrap-up "
        f"{args.wrapup:g} s, abandon target {args.abandon_target:g}, {args.hours:g} h, seed "
        f"{args.seed}."
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>outbound pacing report</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} td, th {{ padding: 0.2em 0.8em; }}
td {{ text-align: right; }}</style></head>
<body>
<h1>Outbound pacing: progressive, power and predictive</h1>
<p>{e(setup)} Abandoned: a live answer no agent took within 2 s.</p>
{_table("modes", header, rows)}
<h2>Occupancy over the day</h2>
<img src="occupancy.png" alt="occupancy per interval and mode">
<h2>Abandonment over the day</h2>
<img src="abandonment.png" alt="abandon rate per interval and mode">
</body>
</html>
"""
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
