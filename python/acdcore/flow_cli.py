"""`acdcore flow-check`: validate a call-flow file before it goes live."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from acdcore import flows


def register(sub: Any) -> None:
    p = sub.add_parser("flow-check", help="validate a call-flow TOML file (docs/flows.md)")
    p.add_argument("flow", help="flow file")
    p.add_argument(
        "--queue",
        action="append",
        dest="queues",
        metavar="ID",
        help="an engine queue the flow may route to (repeat; without it queues are not checked)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        flow = flows.load(args.flow, queues=args.queues)
    except flows.FlowError as e:
        for problem in e.problems:
            print(f"acdcore flow-check: {problem}", file=sys.stderr)
        return 1
    kinds = sorted({node.kind for node in flow.nodes.values()})
    print(f"{args.flow}: ok, {len(flow.nodes)} nodes ({', '.join(kinds)}), start {flow.start!r}")
    return 0
