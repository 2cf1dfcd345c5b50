"""Crash safety: a real child process runs a generated day through Engine + CallRecorder +
SQLite, is killed with SIGKILL mid-run, and a restart finds every reported call's record and
the engine exactly as it was at the last commit (agents, waiting calls, waiting callbacks).
The restarted run then finishes the day and ends with the same records as a run never killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import records_day
from acdcore import Engine
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore

CALLS = 1500
SEED = 3
COMMIT_EVERY = 20


def _reference(path: Path, ops: list, nums: dict, stop: int) -> CallRecorder:
    """The same day run in-process without a crash, up to op `stop`."""
    store = SqliteStore(path)
    rec = CallRecorder(Engine(auto_accept=True), RecordWriter(store), epoch=records_day.EPOCH)
    for _ in records_day.run(rec, ops, nums, 0, stop, COMMIT_EVERY):
        pass
    rec.writer.close()
    return rec


def _engine_view(rec: CallRecorder) -> dict:
    e = rec.engine
    agents = {
        a: (i.state, i.calls, i.active_calls, i.pause_reason)
        for a in e.agents()
        for i in [e.agent(a)]
    }
    calls = {c: (i.state, i.queue, i.position) for c in rec.open_calls() for i in [e.call(c)]}
    queues = {
        q: (s.waiting, s.offered, s.answered, s.abandoned)
        for q in e.queues()
        for s in [e.queue_stats(q)]
    }
    return {"agents": agents, "calls": calls, "queues": queues, "now": e.now}


# Both settings survive a killed process (docs/records.md: they differ on power loss only).
@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_sigkill_loses_no_reported_record_and_restores_the_engine(
    tmp_path: Path, synchronous: str
) -> None:
    db = tmp_path / "records.db"
    script = Path(records_day.__file__)
    child = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(db),
            "--calls",
            str(CALLS),
            "--seed",
            str(SEED),
            "--commit-every",
            str(COMMIT_EVERY),
            "--synchronous",
            synchronous,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported: set[str] = set()
    for line in child.stdout:
        words = line.split()
        assert words[0] == "ended", line
        reported.update(words[1:])
        if len(reported) >= CALLS // 3:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it was killed"

    ops = records_day.day(CALLS, SEED)
    nums = records_day.numbers(ops, SEED)
    store = SqliteStore(db, create=False)
    stored = {r.call_id for r in store.search(Query())}
    assert reported <= stored, f"lost {sorted(reported - stored)[:5]}"

    writer = RecordWriter(store)
    rec = CallRecorder.resume(store, writer)
    assert rec is not None
    done = rec.host["ops"]
    assert 0 < done < len(ops)
    ref = _reference(tmp_path / "ref.db", ops, nums, done)
    # The restored engine and open calls are the uninterrupted run's at the same op.
    assert _engine_view(rec) == _engine_view(ref)
    assert rec.open_calls() == ref.open_calls()
    waiting = [c for c, v in _engine_view(rec)["calls"].items() if v[0] == "waiting"]
    assert waiting, "no call was waiting at the checkpoint: the test would prove little"
    assert any(rec.open_calls()[c]["callback"] for c in waiting), "no waiting callback"
    states = {v[0] for v in _engine_view(rec)["agents"].values()}
    assert states - {"logged-out"}, "no agent was logged in at the checkpoint"

    # Finish the day on the restored process: every call has exactly its uninterrupted record.
    for _ in records_day.run(rec, ops, nums, done, len(ops), COMMIT_EVERY):
        pass
    writer.close()
    full = _reference(tmp_path / "full.db", ops, nums, len(ops))
    assert rec.open_calls() == full.open_calls()
    got = store.search(Query())
    want = SqliteStore(tmp_path / "full.db", create=False).search(Query())
    # Callbacks no agent could take are still waiting at the end of the day; every other
    # call has its record.
    assert len(got) + len(rec.open_calls()) == sum(op["op"] == "call" for op in ops)
    assert [r.to_dict() for r in got] == [r.to_dict() for r in want]
    full_log = SqliteStore(tmp_path / "full.db", create=False).queue_log()
    assert store.queue_log() == full_log
