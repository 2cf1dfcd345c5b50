#!/usr/bin/env python3
"""`make demo`: the example contact center with generated callers and agents, over real SIP.

One process runs `acdcore serve`'s `ContactCenter` (registrar, IVR flow, engine, anchored
RTP, SQLite records) on demo_config.toml, and beside it `acdcore.traffic`: the config's agents
as phones that register with digest auth and auto-answer, and Poisson callers that dial in,
hear the greeting, press 1 or 2 at the menu, wait with music and announcements and talk to an
agent. Everything crosses the loopback as SIP and RTP datagrams; nothing is short-circuited.
The wallboard shows the queues live; Ctrl-C (or --duration) stops the callers, hangs up the
calls in progress, flushes the records and prints a summary.

Exit status: 0 after a clean stop (Ctrl-C included), 2 for bad arguments or a config error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from acdcore.app.config import load_config, parse_hostport
from acdcore.app.run import run_center
from acdcore.app.server import ContactCenter
from acdcore.flows.errors import FlowError
from acdcore.records.reports import report
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from acdcore.sip.transport import Addr
from acdcore.traffic import TrafficPlan, TrafficSummary, run_traffic

HERE = Path(__file__).resolve().parent


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(HERE / "demo_config.toml"))
    p.add_argument("--sip", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    p.add_argument("--db", default=None, help="records file (default: the config's)")
    p.add_argument("--rate", type=float, default=0.4, help="callers per second")
    p.add_argument("--duration", type=float, default=3600.0, help="seconds of new callers")
    p.add_argument("--talk", type=float, default=8.0, help="mean talk seconds")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def traffic(center: ContactCenter, address: Addr) -> TrafficSummary:
        return await run_traffic(
            TrafficPlan(
                target=address,
                number=config.queues[0].number,
                agents=[(a.user, a.password) for a in config.agents],
                rate=args.rate,
                duration=args.duration,
                seed=args.seed,
                patience_mean=60.0,
                menu={"1": 2, "2": 1},
                menu_delay=6.0,  # the greeting and the menu prompt play first
                talk_mean=args.talk,
                max_calls=100_000,
            )
        )

    started = time.time()
    center, summary = await run_center(  # fresh: each demo is a new day, not the last one resumed
        config,
        sip=parse_hostport(args.sip),
        database=args.db,
        companion=traffic,
        name="demo",
        fresh=True,
    )
    if summary is not None:
        print("\n".join(f"demo: traffic {line}" for line in summary.lines()))
    store = SqliteStore(center.store.path, create=False)
    try:  # the whole run as one interval per queue, from the records just written
        for row in report(store, interval=10**9, query=Query(start=started)):
            asa = "-" if row["asa"] is None else f"{row['asa']:.1f} s"
            print(
                f"demo: queue {row['queue']}: offered {row['offered']}, answered "
                f"{row['answered']}, abandoned {row['abandoned']}, ASA {asa}"
            )
    finally:
        store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return asyncio.run(run(args))
    except (FlowError, ValueError, OSError) as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
