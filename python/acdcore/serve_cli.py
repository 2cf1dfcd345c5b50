"""`acdcore serve --config FILE`: runs the example contact-center server until Ctrl-C,
SIGTERM or `--duration` seconds, resuming from the records database's checkpoint (after a
crash too) unless `--fresh`."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from acdcore.flows.errors import FlowError
from acdcore.records.store import StoreError


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the example contact center (SIP, flows, records)")
    p.add_argument("--config", required=True, help="the server's TOML configuration")
    p.add_argument("--sip", default=None, help="HOST:PORT to serve SIP on (overrides config)")
    p.add_argument(
        "--transport",
        choices=("udp", "tcp", "both"),  # app.config.SIP_TRANSPORTS, without importing the app
        default=None,
        help="SIP over udp, tcp or both on one port (overrides [sip] transport)",
    )
    p.add_argument("--db", default=None, help="records database path (overrides config)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start with an empty engine instead of resuming from the database's checkpoint "
        "(calls the checkpoint still held are recorded as lost)",
    )
    p.set_defaults(func=_run)


def _fail(message: str) -> int:
    print(f"acdcore serve: {message}", file=sys.stderr)
    return 2


def _run(args: Any) -> int:
    from acdcore.app.config import load_config, parse_hostport

    if args.duration is not None and not args.duration > 0:
        return _fail(f"--duration must be positive, got {args.duration}")
    try:
        config = load_config(args.config)
        sip = None if args.sip is None else parse_hostport(args.sip)
    except (FlowError, ValueError) as e:
        return _fail(str(e))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_serve(config, sip, args.transport, args.db, args.duration, args.fresh))
    except (FlowError, StoreError, ValueError, OSError) as e:
        return _fail(str(e))


async def _serve(
    config: Any,
    sip: tuple[str, int] | None,
    transport: str | None,
    db: str | None,
    duration: float | None,
    fresh: bool,
) -> int:
    from acdcore.app.run import run_center

    await run_center(
        config, sip=sip, transport=transport, database=db, duration=duration, fresh=fresh
    )
    return 0
