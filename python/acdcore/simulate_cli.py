"""`acdcore simulate`: a scenario file, or the quick M/M/c(+M) form, run on the real engine."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from acdcore.simulate import Scenario, SimulationResult, simulate


def register(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a contact center on the real routing engine",
        description="Run SCENARIO.toml, or the quick form --agents/--arrival-rate/--aht/--calls.",
    )
    p.add_argument("scenario", nargs="?", help="scenario TOML file (docs/simulation.md)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: scenario's, or 1)")
    p.add_argument("--replications", type=int, default=None, help="independent replications")
    p.add_argument("--agents", type=int, help="quick form: number of agents")
    p.add_argument("--arrival-rate", type=float, help="quick form: calls per second")
    p.add_argument("--aht", type=float, help="quick form: mean handle time, seconds")
    p.add_argument("--calls", type=int, help="quick form: number of calls")
    p.add_argument("--patience", type=float, help="quick form: mean patience, seconds")
    p.add_argument("--threshold", type=float, default=20.0, help="service-level threshold, s")
    p.add_argument("--warmup", type=float, default=0.0, help="quick form: seconds left out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--intervals",
        action="store_true",
        help="include per-interval figures in the JSON (always for a scenario file)",
    )
    p.add_argument("--report", type=Path, help="write an HTML report with plots to this folder")
    p.set_defaults(func=run)


def _fail(msg: str, code: int = 1) -> int:
    """Bad values exit 1; usage mistakes and files that cannot be read or written exit 2
    (as `acdcore replay`, `forecast` and `staffing` do)."""
    print(f"acdcore simulate: {msg}", file=sys.stderr)
    return code


class UsageError(ValueError):
    """The command line itself is incomplete (exit 2, like argparse)."""


def _quick(args: argparse.Namespace) -> Scenario:
    missing = [n for n in ("agents", "arrival_rate", "aht", "calls") if getattr(args, n) is None]
    if missing:
        flags = ", ".join("--" + n.replace("_", "-") for n in missing)
        raise UsageError(f"give a scenario file, or the quick form (missing {flags})")
    checks = [
        ("--agents", args.agents, args.agents >= 1),
        (
            "--arrival-rate",
            args.arrival_rate,
            math.isfinite(args.arrival_rate) and args.arrival_rate > 0,
        ),
        ("--aht", args.aht, math.isfinite(args.aht) and args.aht > 0),
        ("--calls", args.calls, args.calls >= 1),
    ]
    if args.patience is not None:
        checks.append(
            ("--patience", args.patience, math.isfinite(args.patience) and args.patience > 0)
        )
    for flag, value, ok in checks:
        if not ok:
            raise ValueError(f"{flag} must be positive, got {value}")
    return Scenario.mmc(
        args.agents,
        args.arrival_rate,
        args.aht,
        args.calls,
        patience=args.patience,
        threshold=args.threshold,
        warmup=args.warmup,
    )


def summary(
    result: SimulationResult, threshold: float | None, intervals: bool = False
) -> dict[str, Any]:
    """The CLI's JSON object: totals (means over replications), with `ci` half-widths when
    there are several replications, and with `intervals` the per-interval columns (and
    `intervals_ci`)."""
    t = result.totals
    out: dict[str, Any] = {
        "calls": round(t["calls"]),
        "service_level": t["service_level"],
        "threshold": threshold,
        "asa": t["asa"],
        "abandon_rate": t["abandon_rate"],
        "occupancy": t["occupancy"],
        "p_wait": t["p_wait"],
        "queue_mean": t["queue_mean"],
        "unserved": round(t["unserved"]),
        "replications": result.replications,
        "seed": result.seed,
    }
    if result.replications > 1:
        out["ci"] = {
            k: result.ci[k] for k in ("service_level", "asa", "abandon_rate", "occupancy", "p_wait")
        }
    if len(result.queues) > 1:
        out["queues"] = {
            q["id"]: {
                k: q[k] for k in ("arrivals", "answered", "abandoned", "service_level", "asa")
            }
            for q in result.queues
        }
    if intervals:
        out["interval"] = result.interval
        out["intervals"] = {k: v.tolist() for k, v in result.intervals.items()}
        if result.replications > 1:
            out["intervals_ci"] = {
                k: v.tolist() for k, v in result.intervals_ci.items() if k != "start"
            }
    return out


def _finite(obj: Any) -> Any:
    """JSON has no NaN: undefined figures (nothing to divide by) become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def run(args: argparse.Namespace) -> int:
    try:
        if args.scenario is not None:
            quick = [
                f
                for f in ("agents", "arrival_rate", "aht", "calls", "patience")
                if getattr(args, f) is not None
            ]
            if quick:
                flag = "--" + quick[0].replace("_", "-")
                return _fail(f"{flag} belongs to the quick form, not to a scenario file", 2)
            if not Path(args.scenario).is_file():
                return _fail(f"{args.scenario}: no such file", 2)
            scenario = Scenario.load(args.scenario)
            threshold = None
            rate = None
        else:
            scenario = _quick(args)
            threshold = args.threshold
            rate = args.arrival_rate
    except UsageError as e:
        return _fail(str(e), 2)
    except ValueError as e:
        return _fail(str(e))
    try:
        result = _run(scenario, args, rate)
    except ValueError as e:
        return _fail(str(e))
    out = summary(result, threshold, intervals=args.intervals or args.scenario is not None)
    if args.report is not None:
        from acdcore.report import write_report

        try:
            page = write_report(result, args.report, title=args.scenario or "M/M/c simulation")
        except OSError as e:
            return _fail(f"--report {args.report}: {e}", 2)
        out["report"] = str(page)
    if args.json or not sys.stdout.isatty():
        print(json.dumps(_finite(out)))
    else:
        _table(out)
    return 0


def _run(scenario: Scenario, args: argparse.Namespace, rate: float | None) -> SimulationResult:
    from acdcore.simulate import expected_duration

    span = expected_duration(scenario, rate)
    if not sys.stderr.isatty() or span is None:
        return simulate(scenario, seed=args.seed, replications=args.replications)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=1.0)
        return simulate(
            scenario,
            seed=args.seed,
            replications=args.replications,
            progress=lambda f: bar.update(task, completed=f),
            expected=span,
        )


def _table(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ci = out.get("ci", {})
    table = Table(title="simulation")
    table.add_column("figure")
    table.add_column("value", justify="right")
    if ci:
        table.add_column("95% CI", justify="right")
    for k, v in out.items():
        if isinstance(v, dict | list):
            continue
        row = [k, f"{v:.4g}" if isinstance(v, float) else str(v)]
        if ci:
            row.append(f"+- {ci[k]:.2g}" if k in ci else "")
        table.add_row(*row)
    Console().print(table)
