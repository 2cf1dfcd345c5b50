"""`acdcore traffic`: generated callers and agent phones against a SIP server (see
docs/traffic.md). Prints a summary (or JSON) when the bounded run ends."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

from acdcore.sip.transaction import Timers
from acdcore.sip.transport import Addr
from acdcore.traffic import RegistrationError, TrafficPlan, run_traffic


def register(sub: Any) -> None:
    p = sub.add_parser("traffic", help="generate callers and auto-answering agent phones")
    p.add_argument("--target", default="127.0.0.1:5060", help="SIP server host:port (an IP)")
    p.add_argument("--number", required=True, help="the number callers dial (e.g. 100)")
    p.add_argument("--agents-file", help="agent phones: one 'user:password' a line")
    p.add_argument("--rate", type=float, default=0.5, help="calls per second (Poisson)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds callers keep arriving")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=float, default=30.0, help="mean caller patience, s")
    p.add_argument("--menu", default="", help="menu digits and weights, e.g. '1=3,2=1'")
    p.add_argument("--menu-delay", type=float, default=3.0, help="seconds after answer")
    p.add_argument("--talk", type=float, default=5.0, help="mean agent talk time, s (0: wait)")
    p.add_argument("--answer-delay", type=float, default=0.5, help="agent ring time, s")
    p.add_argument("--disposition", default=None, help="DTMF an agent sends before BYE")
    p.add_argument("--max-calls", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_run)


def _fail(message: str) -> int:
    print(f"acdcore traffic: {message}", file=sys.stderr)
    return 2


def parse_target(text: str) -> Addr:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--target {text!r} is not host:port with a port 1..65535")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"--target host {host!r} is not an IPv4 address") from None
    return (host, int(port))


def parse_agents(path: str) -> list[tuple[str, str]]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ValueError(f"--agents-file {path}: {e.strerror or e}") from None
    agents = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise ValueError(f"{path}:{n}: expected 'user:password', got {line!r}")
        agents.append((user, password))
    return agents


def parse_menu(text: str) -> dict[str, float]:
    menu: dict[str, float] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        digit, sep, weight = item.partition("=")
        if digit not in tuple("0123456789*#"):
            raise ValueError(f"--menu choice {digit!r} is not one DTMF digit")
        try:
            menu[digit] = float(weight) if sep else 1.0
        except ValueError:
            raise ValueError(f"--menu weight {weight!r} of {digit!r} is not a number") from None
    return menu


def _run(args: argparse.Namespace) -> int:
    try:
        plan = TrafficPlan(
            parse_target(args.target),
            args.number,
            agents=parse_agents(args.agents_file) if args.agents_file else [],
            rate=args.rate,
            duration=args.duration,
            seed=args.seed,
            patience_mean=args.patience,
            menu=parse_menu(args.menu),
            menu_delay=args.menu_delay,
            answer_delay=args.answer_delay,
            talk_mean=args.talk if args.talk > 0 else None,
            disposition=args.disposition,
            max_calls=args.max_calls,
        )
    except ValueError as e:
        return _fail(str(e))
    try:
        summary = asyncio.run(run_traffic(plan, Timers()))
    except RegistrationError as e:
        return _fail(str(e))
    except TimeoutError:
        return _fail(f"no answer from {args.target} (is the SIP server running?)")
    except OSError as e:
        return _fail(f"network: {e.strerror or e}")
    except KeyboardInterrupt:
        return 130
    if args.json:
        out = {
            "agents_registered": summary.agents_registered,
            "calls": summary.calls,
            "outcomes": dict(summary.outcomes),
            "answered": summary.answered,
            "agent_calls": summary.agent_calls,
            "digits_sent": summary.digits_sent,
            "rtp_received": summary.rtp_received,
        }
        print(json.dumps(out, sort_keys=True))
    else:
        print("\n".join(summary.lines()))
    return 0
