"""PostgresStore against a real PostgreSQL server started for the test on 127.0.0.1 (skipped
where there is no PostgreSQL, psycopg or root to run the server as user postgres)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from acdcore.records import Batch, CallRecord, LogEvent, Query, report, schema

psycopg = pytest.importorskip("psycopg")


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL (initdb, pg_ctl) and root to run it as user postgres")
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    base = Path(tempfile.mkdtemp(prefix="acd-pg-"))
    os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*cmd: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, timeout=120
        )

    as_postgres(initdb, "-D", str(data), "-U", "postgres", "-A", "trust")
    as_postgres(
        pg_ctl,
        "-D",
        str(data),
        "-w",
        "-l",
        str(base / "log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {base}",
        "start",
    )
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        as_postgres(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_store_writes_searches_reports_and_checkpoints(dsn: str) -> None:
    from acdcore.records import PostgresStore
    from acdcore.records.model import Checkpoint

    with PostgresStore(dsn) as store:
        assert store.version() == schema.VERSION
        calls = [
            CallRecord(
                f"p{i}",
                "q",
                3600.0 * i + 5,
                "answered" if i % 2 else "abandoned",
                caller="+1",
                answer=3600.0 * i + 15 if i % 2 else None,
                wait=10.0,
                talk=60.0 if i % 2 else None,
                survey_score=4 if i % 2 else None,
                attributes={"vip": i == 1},
            )
            for i in range(4)
        ]
        log = [LogEvent(5.0, "enter", "p0", "q", None, {"x": 1})]
        store.write(Batch(calls=calls, log=log, checkpoint=Checkpoint(b"\x00\xffsnap", {"a": 1})))
        store.write(Batch(updates=[("p1", {"disposition": "resolved"})]))
        assert [r.call_id for r in store.search(Query(start=3600, outcome="answered"))] == [
            "p1",
            "p3",
        ]
        assert store.search(Query(disposition="resolved"))[0].attributes == {"vip": True}
        assert store.queue_log("p0") == log
        cp = store.checkpoint()
        assert cp is not None and cp.engine == b"\x00\xffsnap" and cp.state == {"a": 1}
        assert store.blob("campaign") is None
        store.write(Batch(blobs={"campaign": b"\x00\xffstate", "gone": b"x"}))
        store.write(Batch(blobs={"campaign": b"\x01again", "gone": None}))
        assert (store.blob("campaign"), store.blob("gone")) == (b"\x01again", None)
        rows = report(store, by="queue", interval=7200, threshold=20, repeat_days=0)
        assert [
            (r["interval_start"], r["offered"], r["answered"], r["abandoned"]) for r in rows
        ] == [
            (0.0, 2, 1, 1),
            (7200.0, 2, 1, 1),
        ]
        assert rows[0]["aht"] == 60.0 and rows[0]["survey_mean"] == 4.0
    # Opening again migrates nothing and keeps the rows.
    with PostgresStore(dsn) as store:
        assert len(store.search(Query())) == 4
