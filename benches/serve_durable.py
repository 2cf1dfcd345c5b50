"""What `acdcore serve` adds to a caller's BYE by answering it only once the call's record is
committed (ContactCenter.durable): one commit of the ended call's records plus a checkpoint
(engine snapshot and the open calls' state), awaited. Measured here without SIP, on the same
CallRecorder + RecordWriter + SQLite path, with OPEN calls waiting in the engine (the
snapshot grows with them), synchronous FULL and NORMAL side by side in one run.

    .venv/bin/python benches/serve_durable.py [--rounds 200]

Prints one line per case: median and 90th percentile milliseconds per awaited commit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from acdcore import Engine
from acdcore.records import CallRecorder, RecordWriter, SqliteStore


def case(directory: Path, open_calls: int, synchronous: str, rounds: int) -> list[float]:
    store = SqliteStore(directory / f"{open_calls}-{synchronous}.db", synchronous=synchronous)
    writer = RecordWriter(store)
    engine = Engine()
    rec = CallRecorder(engine, writer, epoch=1.8e9)
    rec.add_queue("waiting")  # nobody serves it: these calls stay open in every snapshot
    rec.add_queue("support", wrapup=0)
    for i in range(open_calls):
        rec.enter(0.0, f"w{i}", "waiting", caller=f"+1555{i:06d}", attributes={"lang": "en"})
    rec.feed(engine.login(0.0, "ann", queues=["support"]))
    rec.commit().wait(60)
    took = []
    now = 1.0
    for i in range(rounds):
        rec.enter(now, f"c{i}", "support", caller="+15550000")
        rec.feed(engine.accept(now, f"c{i}", "ann"))
        rec.hangup(now + 1.0, f"c{i}")  # the call ends: the caller's BYE waits for this
        now += 2.0
        start = time.perf_counter()
        rec.commit().wait(60)
        took.append((time.perf_counter() - start) * 1000.0)
    writer.close()
    store.close()
    return took


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=200)
    args = p.parse_args()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load {' '.join(load)}")
    with tempfile.TemporaryDirectory() as tmp:
        for open_calls in (0, 100, 1000):
            for synchronous in ("FULL", "NORMAL"):
                took = sorted(case(Path(tmp), open_calls, synchronous, args.rounds))
                p90 = took[int(len(took) * 0.9)]
                print(
                    f"open calls {open_calls:5d}, {synchronous:6s}: median "
                    f"{statistics.median(took):6.2f} ms, p90 {p90:6.2f} ms per awaited commit"
                )
    with open("/proc/loadavg") as f:
        print(
            f"{time.strftime('%H:%M:%S', time.gmtime())} UTC, load {' '.join(f.read().split()[:3])}"
        )


if __name__ == "__main__":
    main()
