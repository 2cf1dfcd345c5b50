"""The `acdcore` command line."""

from __future__ import annotations

import argparse
import sys

from acdcore import (
    _core,
    flow_cli,
    forecast_cli,
    records_cli,
    serve_cli,
    simulate_cli,
    simulate_outbound_cli,
    sip_cli,
    staffing_cli,
    traffic_cli,
)


def _replay(args: argparse.Namespace) -> int:
    try:
        out, error = _core.replay_file(args.trace)
    except OSError as e:
        print(f"acdcore replay: {e}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if error is not None:
        print(f"acdcore replay: {args.trace}: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acdcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="run the engine over a JSON-lines trace")
    p.add_argument("trace", help="trace file (docs/trace-format.md)")
    p.set_defaults(func=_replay)
    staffing_cli.register(sub)

    simulate_cli.register(sub)
    simulate_outbound_cli.register(sub)
    forecast_cli.register(sub)
    sip_cli.register(sub)
    flow_cli.register(sub)
    records_cli.register(sub)
    traffic_cli.register(sub)
    serve_cli.register(sub)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
