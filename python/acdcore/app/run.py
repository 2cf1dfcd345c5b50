"""Running a `ContactCenter` until Ctrl-C, SIGTERM, a duration or a companion task's end,
with its wallboard: what `acdcore serve` and `make demo` (which adds generated traffic) share."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from acdcore.sip.transport import Addr

from .config import Config
from .server import ContactCenter
from .wallboard import run_wallboard

Companion = Callable[[ContactCenter, Addr], Awaitable[Any]]


async def run_center(
    config: Config,
    *,
    sip: Addr | None = None,
    transport: str | None = None,
    database: str | None = None,
    duration: float | None = None,
    companion: Companion | None = None,
    name: str = "acdcore serve",
    fresh: bool = False,
) -> tuple[ContactCenter, Any]:
    """Serves until a signal, `duration` seconds or `companion(center, address)` returning;
    then stops the center (BYE to calls in progress, records flushed). Returns the stopped
    center and the companion's result (None when it did not finish). `sip` and `transport`
    override the config's [sip] address and transport."""
    center = ContactCenter(config, database=database, fresh=fresh)
    address = await center.start(sip, transport)
    over = "+".join(center.transports)
    print(
        f"{name}: SIP on {address[0]}:{address[1]} ({over}), records in {center.store.path}",
        flush=True,
    )
    if center.restart.resumed or center.restart.lost:
        print(f"{name}: {center.restart.summary()}", flush=True)
    if center.dialer is not None and center.dialer.resumed:
        d = center.dialer
        print(
            f"{name}: campaign {d.config.id} resumed from {center.store.path}: "
            f"{len(d.interrupted)} calls cut off by the restart closed",
            flush=True,
        )
        for kept in d.kept:
            print(f"{name}: campaign {d.config.id} keeps its saved {kept}; --fresh applies it")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    board = asyncio.ensure_future(
        run_wallboard(
            center.engine,
            center.sb.now,
            config.wallboard_every,
            extra=None if center.dialer is None else center.dialer.lines,
        )
    )
    waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
    task = None if companion is None else asyncio.ensure_future(companion(center, address))
    if task is not None:
        waits.add(task)
    result = None
    try:
        await asyncio.wait(waits, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        if task is not None and task.done():
            result = task.result()
        elif stop.is_set():
            print(f"\n{name}: stopping", flush=True)
    finally:
        for w in (*waits, board):
            w.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waits, board, return_exceptions=True)
        await center.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    s = center.stats
    print(
        f"{name}: stopped; calls={s.calls} offers={s.offers} "
        f"outcomes={dict(sorted(s.by_outcome.items()))}",
        flush=True,
    )
    if center.dialer is not None:
        for line in center.dialer.lines():
            print(f"{name}: {line}", flush=True)
    return center, result
