"""A generated contact-center day (examples/call_center_day.py) driven through a real Engine
and a CallRecorder, op by op: the load for the records tests, and, run as a script, the
child process the crash test kills.

    python tests/records_day.py DB --calls N --seed S --commit-every K [--synchronous NORMAL]

prints `ended ID...` after each commit that wrote those calls' records (never before),
then `done` after the last commit.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EPOCH = 1_780_000_000.0  # engine time 0 as UNIX time: 2026-05-28 20:26:40 UTC


def day(calls: int, seed: int) -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location(
        "call_center_day", ROOT / "examples" / "call_center_day.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    agents = max(2, calls // 400)
    return list(module.generate(calls=calls, agents=agents, queues=2, skills=3, seed=seed))


def numbers(ops: list[dict[str, Any]], seed: int) -> dict[str, str]:
    """A caller number per call, drawn from a small pool so that callers call again."""
    rng = random.Random(seed)
    calls = [op["id"] for op in ops if op["op"] == "call"]
    pool = max(1, len(calls) // 3)
    return {c: f"+1555{rng.randrange(pool):05d}" for c in calls}


CALLBACK_TALK = 120.0  # seconds an agent talks to a caller it called back


def apply(rec: Any, op: dict[str, Any], number: str | None) -> None:
    """Apply one trace op to the recorder's engine, feeding every event to the recorder.

    Every seventh caller still waiting at arrival asks for a callback (virtual hold): its
    trace hangup is ignored (the caller is gone but the call keeps its place); once an agent
    takes it, the host "calls back" and hangs up CALLBACK_TALK later. That state lives in
    `rec.host`, so it is checkpointed with the engine.
    """
    e = rec.engine
    t, name, ident = op["t"], op["op"], op["id"]
    # call -> None while it waits, the time the host hangs it up, or True once done.
    virtual = rec.host.setdefault("virtual", {})
    for at, call in sorted((at, c) for c, at in virtual.items() if type(at) is float):
        if at <= t:
            virtual[call] = True
            rec.hangup(max(at, e.now), call)  # the engine may have run past it already
            _schedule(rec)
    if name == "queue":
        rec.add_queue(
            ident,
            strategy=op.get("strategy", "longest-idle"),
            wrapup=op.get("wrapup", 0.0),
            weight=op.get("weight", 0.0),
            sl=op.get("sl", 20.0),
        )
    elif name == "login":
        rec.feed(e.login(t, ident, skills=op.get("skills", {}), queues=op.get("queues", [])))
    elif name in ("logout", "pause", "unpause"):
        rec.feed(getattr(e, name)(t, ident))
    elif name == "call":
        rec.enter(
            t,
            ident,
            op["queue"],
            caller=number,
            called="+15550100",
            attributes={"lang": "en"},
            priority=op.get("priority", 0),
            skills=op.get("skills", {}),
        )
        if int(ident[1:]) % 7 == 0 and e.call(ident).state == "waiting":
            rec.callback(t, ident)
            virtual[ident] = None
    elif name == "hangup":
        if ident not in virtual:
            rec.hangup(t, ident)
    else:
        raise ValueError(f"unknown op {name!r}")
    _schedule(rec)


def _schedule(rec: Any) -> None:
    """Give each callback an agent just took its hangup time."""
    virtual = rec.host["virtual"]
    for call, at in virtual.items():
        if at is None:
            answer = rec.answer_time(call)
            if answer is not None:
                virtual[call] = answer + CALLBACK_TALK


def run(
    rec: Any,
    ops: list[dict[str, Any]],
    nums: dict[str, str],
    start: int,
    stop: int,
    commit_every: int,
) -> Iterator[list[str]]:
    """Apply ops[start:stop], committing every `commit_every` ops (and at the end); yields
    the call ids of each commit once it is durable."""
    for i in range(start, stop):
        op = ops[i]
        apply(rec, op, nums.get(op["id"]) if op["op"] == "call" else None)
        rec.host["ops"] = i + 1
        if (i + 1) % commit_every == 0 or i + 1 == stop:
            yield rec.commit().wait()


def main() -> int:
    sys.path.insert(0, str(ROOT / "python"))
    from acdcore import Engine
    from acdcore.records import CallRecorder, RecordWriter, SqliteStore

    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--commit-every", type=int, default=20)
    p.add_argument("--synchronous", default="FULL")
    args = p.parse_args()
    ops = day(args.calls, args.seed)
    nums = numbers(ops, args.seed)
    store = SqliteStore(args.db, synchronous=args.synchronous)
    writer = RecordWriter(store)
    rec = CallRecorder(Engine(auto_accept=True), writer, epoch=EPOCH)
    for ended in run(rec, ops, nums, 0, len(ops), args.commit_every):
        print("ended", *ended, flush=True)
    writer.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
