"""The server's wallboard: per queue waiting, longest wait and service level; agents by state.

A rich live table when stdout is a terminal, else one plain line per queue every `every`
seconds (logs and CI read those). Reads engine counters only: per queue `queue_stats`, and
one `agent_states` array for the agent counts.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from acdcore._core import Engine

Lines = Callable[[], list[str]]  # more lines for the board (the dialer's campaign figures)


def snapshot(engine: Engine) -> tuple[list[tuple[str, int, float, float | None]], dict[str, int]]:
    """(queue, waiting, longest wait, service level) per queue and agent counts by state."""
    queues = []
    for q in engine.queues():
        s = engine.queue_stats(q)
        queues.append((q, s.waiting, s.longest_wait, s.service_level))
    agents: Counter[str] = Counter()
    for agent in engine.agents():
        agents[engine.agent(agent).state] += 1
    return queues, dict(agents)


def plain_lines(engine: Engine, now: float) -> list[str]:
    queues, agents = snapshot(engine)
    lines = []
    for q, waiting, longest, sl in queues:
        level = "-" if sl is None else f"{sl:.0%}"
        lines.append(f"t={now:.0f}s queue={q} waiting={waiting} longest={longest:.0f}s sl={level}")
    states = " ".join(f"{k}={v}" for k, v in sorted(agents.items()))
    lines.append(f"t={now:.0f}s agents {states or 'none'}")
    return lines


async def run_wallboard(
    engine: Engine,
    clock: Callable[[], float],
    every: float,
    out: TextIO | None = None,
    extra: Lines | None = None,
) -> None:
    """Until cancelled; `clock()` gives engine time."""
    stream = out or sys.stdout
    if stream.isatty():
        await _rich(engine, clock, every, extra)
        return
    while True:
        for line in plain_lines(engine, clock()) + (extra() if extra else []):
            print(line, file=stream, flush=True)
        await asyncio.sleep(every)


async def _rich(
    engine: Engine, clock: Callable[[], float], every: float, extra: Lines | None = None
) -> None:
    from rich.live import Live
    from rich.table import Table

    def frame() -> Table:
        queues, agents = snapshot(engine)
        table = Table(title="acdcore serve", header_style="bold")
        for col in ("queue", "waiting", "longest wait", "service level"):
            table.add_column(col, justify="right" if col != "queue" else "left")
        for q, waiting, longest, sl in queues:
            table.add_row(q, str(waiting), f"{longest:.0f}s", "-" if sl is None else f"{sl:.0%}")
        table.caption = "agents: " + (
            ", ".join(f"{k} {v}" for k, v in sorted(agents.items())) or "none registered"
        )
        if extra is not None:
            table.caption += "\n" + "\n".join(extra())
        return table

    with Live(frame(), auto_refresh=False) as live:
        while True:
            await asyncio.sleep(min(every, 1.0))
            live.update(frame(), refresh=True)
