"""Call-record write throughput (pytest-benchmark): `pytest benches/test_bench_records.py
--benchmark-only`. Records/s = RECORDS / median time.

Each round writes RECORDS call records, each with three queue-log rows (enter, connect,
complete), to a new SQLite file in WAL mode through RecordWriter (the writer thread merges
what is waiting into one transaction):

1. `commit` per COMMIT records (the recorder's commit cadence under load), synchronous FULL
   and NORMAL side by side: what the fsync at every commit costs.
2. one record per transaction (SINGLE records), FULL and NORMAL, each commit awaited
   before the next: the worst case, a host waiting for every call's commit.
3. end to end: a generated day (examples/call_center_day.py) through Engine + CallRecorder,
   a checkpoint (engine snapshot) with every commit, FULL.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pytest
from acdcore import Engine
from acdcore.records import Batch, CallRecord, CallRecorder, LogEvent, RecordWriter, SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import records_day

RECORDS = 20_000
SINGLE = 2_000  # records in the one-per-commit runs (each commit syncs with FULL)
COMMIT = 100
_n = itertools.count()


def _batches(per_commit: int, records: int) -> list[Batch]:
    out = []
    for start in range(0, records, per_commit):
        b = Batch()
        for i in range(start, start + per_commit):
            t = 1.8e9 + i
            b.calls.append(
                CallRecord(f"c{i}", "support", t, "answered", caller=f"+1555{i % 997:04d}",
                           called="+1800", agent=f"a{i % 50}", answer=t + 12, end=t + 190,
                           wait=12.0, talk=178.0, wrapup=10.0, attributes={"lang": "en"})
            )  # fmt: skip
            b.log += [
                LogEvent(t, "enter", f"c{i}", "support"),
                LogEvent(t + 12, "connect", f"c{i}", "support", f"a{i % 50}", {"wait": 12.0}),
                LogEvent(t + 190, "complete", f"c{i}", "support", f"a{i % 50}", {"talk": 178}),
            ]
        out.append(b)
    return out


def _write(tmp: Path, batches: list[Batch], synchronous: str) -> None:
    store = SqliteStore(tmp / f"b{next(_n)}.db", synchronous=synchronous)
    with RecordWriter(store) as writer:
        if len(batches[0].calls) == 1:  # wait for each commit: one transaction per record
            for b in batches:
                writer.put(b).result()
        else:
            futures = [writer.put(b) for b in batches]
            assert all(f.result() is None for f in futures)
        commits = writer.commits
    assert commits >= (len(batches) if len(batches[0].calls) == 1 else 1)
    store.close()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
@pytest.mark.parametrize("per_commit", [COMMIT, 1])
def test_write_throughput(
    benchmark: Any, tmp_path: Path, synchronous: str, per_commit: int
) -> None:
    records = RECORDS if per_commit > 1 else SINGLE
    batches = _batches(per_commit, records)
    benchmark.group = "records write"
    benchmark.extra_info["records"] = records
    benchmark.pedantic(_write, args=(tmp_path, batches, synchronous), rounds=5, iterations=1)


def test_recorder_end_to_end(benchmark: Any, tmp_path: Path) -> None:
    ops = records_day.day(RECORDS, 1)
    nums = records_day.numbers(ops, 1)

    def run() -> None:
        store = SqliteStore(tmp_path / f"e{next(_n)}.db")
        with RecordWriter(store) as writer:
            rec = CallRecorder(Engine(auto_accept=True), writer, epoch=records_day.EPOCH)
            for i, op in enumerate(ops):
                records_day.apply(rec, op, nums.get(op["id"]) if op["op"] == "call" else None)
                if i % COMMIT == COMMIT - 1:
                    rec.commit()
            rec.commit()
        store.close()

    benchmark.group = "records end to end"
    benchmark.extra_info["records"] = RECORDS
    benchmark.pedantic(run, rounds=3, iterations=1)
