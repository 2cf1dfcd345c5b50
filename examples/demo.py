#!/usr/bin/env python3
"""`make demo`: a generated contact-center day driven through the acdcore engine, live.

The day comes from examples/call_center_day.py as a trace (a list of ops). Rather than hand
the trace to `acdcore.replay`, the demo applies it op by op through the Python API
(`Engine.enqueue`, `hangup`, `login`, ...) at each op's time, the way a host drives the
engine in production. The simulated clock is paced by --speed, and a rich wallboard reads the
engine's own statistics (`queue_stats`, `agent_states`) about four times a second. Without a
terminal (CI, pipes) or with --no-live it runs flat out and prints only the summary.

Offers are accepted at once (`auto_accept=True`), so the engine makes the same decisions as
`acdcore replay` on the same trace; tests/test_demo.py holds the demo to that.

Exit status: 0 after the whole day, 130 on Ctrl-C (after the summary so far), 1 if the
engine refuses an op, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # call_center_day sits next to this file, whatever the cwd
    sys.path.insert(0, str(HERE))

import acdcore  # noqa: E402
import numpy as np  # noqa: E402
from call_center_day import DEFAULTS, DayGenerator  # noqa: E402
from rich import box  # noqa: E402
from rich.console import Console, Group, RenderableType  # noqa: E402
from rich.live import Live  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.panel import Panel  # noqa: E402
from rich.progress_bar import ProgressBar  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

Op = dict[str, Any]

REAL_SECONDS = 25.0  # the default --speed plays the whole day in about this long
FRAME = 0.25  # seconds between wallboard refreshes
DAY_OPENS = 8 * 3600.0  # t=0 is shown as 08:00, only to make the clock readable
TICKER = 8  # latest events shown under the wallboard
PLAIN_WIDTH = 132  # console width without a terminal, so the summary never wraps in CI logs
SHOWN_STATES = ("available", "busy", "wrap-up", "paused")


def _num(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100.0 * x:.1f}%"


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _clock(t: float) -> str:
    s = int(DAY_OPENS + t)
    return f"{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _sl_style(sl: float | None) -> str:
    """Wallboard colours: the usual 80/20 target is green, a slipping queue yellow, then red."""
    if sl is None:
        return "dim"
    return "green" if sl >= 0.8 else "yellow" if sl >= 0.6 else "red"


def apply(engine: acdcore.Engine, op: Op) -> list[acdcore.Event]:
    """Apply one trace op (docs/trace-format.md) through the matching Engine method.

    Defaults are the trace format's, so an op means here what it means to `acdcore replay`.
    Calls and hangups come first: they are most of a day's ops.
    """
    t = float(op["t"])
    kind = op["op"]
    if kind == "call":
        return engine.enqueue(
            t,
            op["id"],
            op["queue"],
            priority=op.get("priority", 0),
            skills=op.get("skills"),
        )
    if kind == "hangup":
        return engine.hangup(t, op["id"])
    if kind == "login":
        return engine.login(t, op["id"], skills=op.get("skills"), queues=op.get("queues"))
    if kind == "logout":
        return engine.logout(t, op["id"])
    if kind == "pause":
        return engine.pause(t, op["id"], "break")
    if kind == "unpause":
        return engine.unpause(t, op["id"])
    if kind == "queue":
        # add_queue takes no time and returns no events: run the clock to t first, as replay
        # does, so wrap-ups due by then finish before the queue exists.
        events = engine.advance(t)
        engine.add_queue(
            op["id"],
            strategy=op.get("strategy", "longest-idle"),
            wrapup=float(op.get("wrapup", 0)),
            weight=float(op.get("weight", 0)),
            sl=float(op.get("sl", 20)),
        )
        return events
    raise ValueError(f"unknown op {kind!r}")


@dataclass
class Day:
    """The engine, the trace, and what the demo keeps of the events as it drives one through
    the other."""

    ops: list[Op]
    engine: acdcore.Engine = field(default_factory=lambda: acdcore.Engine(seed=0, auto_accept=True))
    next_op: int = 0
    clock: float = 0.0
    engine_seconds: float = 0.0  # wall time inside the loop that calls the engine
    kinds: Counter[str] = field(default_factory=Counter)
    ended: Counter[str] = field(default_factory=Counter)  # per queue, for the total AHT
    ticker: deque[acdcore.Event] = field(default_factory=lambda: deque(maxlen=TICKER))
    # Connected calls' queues: "end" events carry no queue.
    connected: dict[str, str] = field(default_factory=dict)

    @property
    def queues(self) -> list[str]:
        return self.engine.queues()

    @property
    def end_t(self) -> float:
        return float(self.ops[-1]["t"]) if self.ops else 0.0

    def run_until(self, t: float, *, advance: bool = True) -> None:
        """Apply every op due by t; then (live) run the engine's clock to t, so wrap-ups
        that end between ops show up on the board when they happen, not at the next op.

        Only the engine calls are timed; the demo's own bookkeeping runs after."""
        ops, engine, i, n = self.ops, self.engine, self.next_op, len(self.ops)
        batch: list[acdcore.Event] = []
        start = time.perf_counter()
        try:
            while i < n and ops[i]["t"] <= t:
                batch += apply(engine, ops[i])
                i += 1  # past this op only once the engine took it
            if advance and t > engine.now:
                batch += engine.advance(t)
        finally:
            self.engine_seconds += time.perf_counter() - start
            self.next_op = i
            self.clock = engine.now
            self.note(batch)

    def finish(self) -> None:
        """Finish the wrap-ups still running after the last op, as replay does: an agent
        freed by one may still take a waiting call."""
        start = time.perf_counter()
        events = self.engine.finish()
        self.engine_seconds += time.perf_counter() - start
        self.clock = self.engine.now
        self.note(events)

    def note(self, events: list[acdcore.Event]) -> None:
        for ev in events:
            self.kinds[ev.kind] += 1
            if ev.kind == "assign" and ev.call is not None and ev.queue is not None:
                self.connected[ev.call] = ev.queue
            elif ev.kind == "end" and ev.call is not None:
                queue = self.connected.pop(ev.call, None)
                if queue is not None:
                    self.ended[queue] += 1
        self.ticker.extend(events[-TICKER:])

    def ops_per_second(self) -> float:
        return self.next_op / self.engine_seconds if self.engine_seconds > 0 else 0.0


# ----- the live wallboard -----------------------------------------------------------------


def _event_line(ev: acdcore.Event) -> Text:
    """One ticker line; ids go in as plain text, never as markup."""
    when = f"{_clock(ev.t)}  "
    if ev.kind == "assign":
        return Text.assemble(
            when,
            ("assign ", "green"),
            f" {ev.call} -> {ev.agent}  {ev.queue}  waited {_num(ev.wait)} s",
        )
    if ev.kind == "abandon":
        return Text.assemble(
            when, ("abandon", "red"), f" {ev.call}  {ev.queue}  after {_num(ev.wait)} s"
        )
    if ev.kind == "end":
        return Text.assemble(
            when,
            ("end    ", "cyan"),
            f" {ev.call}  {ev.agent}  talked {_num(ev.talk)} s",
        )
    return Text(f"{when}{ev.kind:<7} {ev.call or ''} {ev.agent or ''} {ev.queue or ''}")


# Wallboard columns: (full title, title on a narrow terminal, right-aligned).
BOARD_COLUMNS = (
    ("Queue", "Queue", False),
    ("Strategy", "", False),  # dropped on a narrow terminal
    ("Waiting", "Wait", True),
    ("Longest", "Oldest", True),
    ("Offered", "Offer", True),
    ("Answered", "Ans", True),
    ("Aband.", "Aband", True),
    ("SL %", "SL %", True),
    ("ASA s", "ASA", True),
    ("Avail", "Avail", True),
    ("Busy", "Busy", True),
    ("Wrap", "Wrap", True),
    ("Paused", "Pause", True),
)
WIDE = 120  # below this many columns the wallboard drops its borders and the strategy


def _table(wide: bool, **kwargs: Any) -> Table:
    """A table with borders when there is room, a compact borderless one when there is not."""
    if wide:
        return Table(header_style="bold", **kwargs)
    return Table(
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        **kwargs,
    )


@dataclass
class Totals:
    """Queue counters summed over the queues, for the totals rows."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waiting: int = 0
    within: int = 0
    settled: int = 0
    wait_sum: float = 0.0
    longest: float = 0.0

    def add(self, s: acdcore.QueueStats) -> None:
        self.offered += s.offered
        self.answered += s.answered
        self.abandoned += s.abandoned
        self.waiting += s.waiting
        self.within += s.answered_within_sl
        self.settled += s.answered + s.abandoned + s.timed_out
        self.wait_sum += (s.asa or 0.0) * s.answered
        self.longest = max(self.longest, s.longest_wait)

    @property
    def service_level(self) -> float | None:
        return _ratio(self.within, self.settled)

    @property
    def asa(self) -> float | None:
        return _ratio(self.wait_sum, self.answered)


def wallboard(day: Day, speed: float, started: float, width: int, height: int) -> Group:
    """One frame: the clock, a row per queue from `queue_stats`, totals, the latest events.

    It fits the terminal: narrow, it loses borders and the strategy column (80 columns
    suffice); short, the ticker gives up lines first.
    """
    engine = day.engine
    wide = width >= WIDE
    board = _table(wide)
    for full, short, right in BOARD_COLUMNS:
        if wide or short:
            board.add_column(full if wide else short, justify="right" if right else "left")

    total = Totals()
    for qid in day.queues:
        s = engine.queue_stats(qid)
        total.add(s)
        board.add_row(
            qid,
            *([str(s.strategy)] if wide else []),
            Text(str(s.waiting), style="bold yellow" if s.waiting else ""),
            Text(_num(s.longest_wait), style="red" if s.longest_wait > 60 else ""),
            f"{s.offered:,}",
            f"{s.answered:,}",
            f"{s.abandoned:,}",
            Text(_pct(s.service_level), style=_sl_style(s.service_level)),
            _num(s.asa, 1),
            *(str(s.agents.get(state, 0)) for state in SHOWN_STATES),
        )

    # Agents serve several queues each, so the total counts each agent once.
    _, codes = engine.agent_states()
    by_state = np.bincount(codes, minlength=len(acdcore.AGENT_STATES))
    states = dict(zip(acdcore.AGENT_STATES, (int(n) for n in by_state), strict=True))
    sl = total.service_level
    board.add_section()
    board.add_row(
        Text("all", style="bold"),
        *([""] if wide else []),
        str(total.waiting),
        _num(total.longest),
        f"{total.offered:,}",
        f"{total.answered:,}",
        f"{total.abandoned:,}",
        Text(_pct(sl), style=_sl_style(sl)),
        _num(total.asa, 1),
        *(str(states[state]) for state in SHOWN_STATES),
        style="bold",
    )

    end_t = max(day.end_t, 1.0)
    header = Table.grid(padding=(0, 2))
    header.add_row(
        Text("acdcore wallboard", style="bold"),
        Text(_clock(day.clock), style="bold cyan"),
        ProgressBar(total=end_t, completed=min(day.clock, end_t), width=24),
        f"x{speed:,.0f}, {time.perf_counter() - started:.0f} s real",
    )
    header.add_row(
        f"{len(codes) - states['logged-out']} agents logged in",
        f"t={day.clock:,.0f}",
        f"ops {day.next_op:,} / {len(day.ops):,}",
        f"engine {day.ops_per_second():,.0f} ops/s",
    )
    # Lines left for the ticker: the header (2) and the table (rows, its header, the rules
    # and, wide, its borders) come first; the panel's frame takes 2, and one stays spare.
    table_lines = len(day.queues) + (6 if wide else 4)
    room = min(TICKER, height - 2 - table_lines - 2 - 1)
    parts: list[RenderableType] = [header, board]
    if room > 0:
        latest = list(day.ticker)[-room:]
        ticker = Group(*(_event_line(ev) for ev in reversed(latest)))
        parts.append(Panel(ticker, title="latest events", title_align="left", width=64))
    return Group(*parts)


def run_live(day: Day, console: Console, speed: float) -> None:
    """Play the day at `speed` simulated seconds per real second, one frame per FRAME s.

    Frames are drawn from this thread (auto_refresh off), so the engine is only ever used
    from one place and each frame shows one consistent instant.
    """
    started = time.perf_counter()

    def frame() -> Group:  # the terminal's size is read each frame: it may be resized
        return wallboard(day, speed, started, console.width, console.height)

    with Live(frame(), console=console, auto_refresh=False, transient=True) as live:
        frame_due = started
        while day.next_op < len(day.ops):
            day.run_until(min(day.end_t, (time.perf_counter() - started) * speed))
            live.update(frame(), refresh=True)
            frame_due += FRAME
            time.sleep(max(0.0, frame_due - time.perf_counter()))
        day.finish()
        live.update(frame(), refresh=True)


# ----- the summary ------------------------------------------------------------------------


# Summary columns after Queue and Strategy: (full title, title on a narrow terminal).
SUMMARY_COLUMNS = (
    ("Offered", "Offer"),
    ("Answered", "Ans"),
    ("Abandoned", "Aband"),
    ("Abandon %", "Ab %"),
    ("Waiting", "Wait"),
    ("Answered in SL", "In SL"),
    ("SL %", "SL %"),
    ("ASA s", "ASA"),
    ("AHT s", "AHT"),
)


def summary(day: Day, note: str, width: int) -> Table:
    """Per queue, as the engine counts it. SL % is answered within the queue's threshold over
    calls answered or given up (abandoned, timed out). Narrow, short titles and no borders
    keep it in 80 columns."""
    engine = day.engine
    title = f"acdcore: the day per queue ({note})"
    table = _table(width >= WIDE, title=title)
    table.add_column("Queue")
    table.add_column("Strategy", min_width=15)  # "least-talk-time" whole
    for full, short in SUMMARY_COLUMNS:
        table.add_column(full if width >= WIDE else short, justify="right")
    digits = 1 if width >= WIDE else 0  # of ASA and AHT

    total = Totals()
    ended = 0
    handle_sum = 0.0
    for qid in day.queues:
        s = engine.queue_stats(qid)
        total.add(s)
        n_ended = day.ended[qid]
        ended += n_ended
        handle_sum += (s.aht or 0.0) * n_ended
        table.add_row(
            qid,
            str(s.strategy),
            f"{s.offered:,}",
            f"{s.answered:,}",
            f"{s.abandoned:,}",
            _pct(_ratio(s.abandoned, s.offered)),
            f"{s.waiting:,}",
            f"{s.answered_within_sl:,}",
            _pct(s.service_level),
            _num(s.asa, digits),
            _num(s.aht, digits),
        )
    table.add_section()
    table.add_row(
        "total",
        "",
        f"{total.offered:,}",
        f"{total.answered:,}",
        f"{total.abandoned:,}",
        _pct(_ratio(total.abandoned, total.offered)),
        f"{total.waiting:,}",
        f"{total.within:,}",
        _pct(total.service_level),
        _num(total.asa, digits),
        _num(_ratio(handle_sum, ended), digits),
        style="bold",
    )
    return table


def print_summary(day: Day, console: Console, note: str, generated_in: float) -> None:
    console.print()
    console.print(summary(day, note, console.width))
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(day.kinds.items()))
    console.print(
        f"engine: [bold]{day.ops_per_second():,.0f} ops/s[/] through the Python API"
        f" ({day.next_op:,} ops, one call each, in {day.engine_seconds:.3f} s)",
        highlight=False,
    )
    console.print(
        f"events: {kinds or 'none'}; the day was generated in {generated_in:.1f} s",
        style="dim",
        highlight=False,
    )


# ----- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Drive the acdcore engine through a generated contact-center day, live."
    )
    for name in ("calls", "agents", "queues", "seed"):
        default = DEFAULTS[name]
        p.add_argument(f"--{name}", type=int, default=default, help=f"default {default}")
    p.add_argument(
        "--speed",
        type=float,
        help=f"simulated seconds per real second (default: the day in about {REAL_SECONDS:.0f} s)",
    )
    p.add_argument("--no-live", action="store_true", help="no wallboard: run flat out")
    args = p.parse_args(argv)
    if args.speed is not None and not args.speed > 0:
        p.error(f"--speed must be > 0, got {args.speed}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tty = sys.stdout.isatty()
    console = Console(width=None if tty else PLAIN_WIDTH)
    live = tty and not args.no_live

    started = time.perf_counter()
    # A spinner only makes sense on a terminal.
    waiting = console.status("generating the day...") if live else contextlib.nullcontext()
    try:
        with waiting:
            gen = DayGenerator(args.calls, args.agents, args.queues, DEFAULTS["skills"], args.seed)
            ops = list(gen)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        return 2
    except KeyboardInterrupt:
        console.print("interrupted while generating the day")
        return 130
    generated_in = time.perf_counter() - started

    day = Day(ops)
    speed = args.speed or max(day.end_t, 1.0) / REAL_SECONDS
    status = 0
    note = "the whole day"
    try:
        if live:
            run_live(day, console, speed)
        else:
            day.run_until(day.end_t, advance=False)
            day.finish()
    except KeyboardInterrupt:
        status, note = 130, f"interrupted at {_clock(day.clock)}"
    except (KeyError, ValueError, acdcore.StateError) as e:
        day.note(day.engine.take_events())
        what = f"op {day.next_op + 1} {day.ops[day.next_op]}" if day.next_op < len(ops) else ""
        console.print(f"[red]the engine refused[/] {escape(what)}: {escape(repr(e))}")
        status, note = 1, f"stopped at {_clock(day.clock)}"
    # A second Ctrl-C must not cut the summary short with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print_summary(day, console, note, generated_in)
    return status


if __name__ == "__main__":
    sys.exit(main())
