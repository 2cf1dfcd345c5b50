"""`acdcore records search|export|report` on a database written from a generated day."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import records_day
from acdcore import Engine
from acdcore.cli import main
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore, report


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("records") / "day.db"
    ops = records_day.day(400, 5)
    nums = records_day.numbers(ops, 5)
    with RecordWriter(SqliteStore(path)) as writer:
        rec = CallRecorder(Engine(auto_accept=True), writer, epoch=records_day.EPOCH)
        for _ in records_day.run(rec, ops, nums, 0, len(ops), 200):
            pass
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(["records", *argv])
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_search_by_number_as_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(db, create=False)
    number = store.search(Query(limit=1))[0].caller
    assert number is not None
    code, out, _ = run(["search", str(db), "--number", number, "--json"], capsys)
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    assert got == [r.to_dict() for r in store.search(Query(number=number))]
    assert len(got) >= 2, "the pool of numbers makes callers call again"
    assert all(number in (g["caller"], g["called"]) for g in got)


def test_search_by_time_queue_and_outcome_as_table(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SqliteStore(db, create=False)
    first = store.search(Query(limit=1))[0]
    start = records_day.EPOCH + 3600
    code, out, _ = run(
        [
            "search",
            str(db),
            "--from",
            "2026-05-28T21:26:40Z",
            "--to",
            str(start + 3600),
            "--queue",
            first.queue,
            "--outcome",
            "answered",
        ],
        capsys,
    )
    assert code == 0
    want = store.search(Query(start=start, end=start + 3600, queue=first.queue, outcome="answered"))
    assert want
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["call_id", "arrival", "caller"]
    assert [line.split()[0] for line in lines[1:]] == [r.call_id for r in want]


def test_export_csv_has_every_record(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "cdr.csv"
    code, _, err = run(["export", str(db), "--csv", str(out_file)], capsys)
    assert code == 0
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    records = SqliteStore(db, create=False).search(Query())
    assert len(rows) == len(records) == 400 and f"{len(records)} records" in err
    for row, r in zip(rows, records, strict=True):
        assert row["call_id"] == r.call_id and row["outcome"] == r.outcome
        assert float(row["arrival"]) == r.arrival
        assert json.loads(row["attributes"]) == r.attributes
        assert row["answer"] == ("" if r.answer is None else repr(r.answer))


def test_report_json_matches_the_library(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for by in ("queue", "agent"):
        code, out, _ = run(["report", str(db), "--by", by, "--interval", "1800", "--json"], capsys)
        assert code == 0
        got = [json.loads(line) for line in out.splitlines()]
        want = report(SqliteStore(db, create=False), by=by, interval=1800)
        assert got == json.loads(json.dumps(want))
        assert sum(r["offered"] for r in got) == (
            400 if by == "queue" else sum(r["answered"] for r in got)
        )
    code, out, _ = run(["report", str(db), "--by", "queue", "--interval", "3600"], capsys)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["queue", "interval", "offered"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["report", "DB", "--interval", "0"], "--interval"),
        (["report", "DB", "--interval", "abc"], "--interval"),
        (["report", "DB", "--by", "team"], "--by"),
        (["report", "DB", "--threshold", "-1"], "--threshold"),
        (["search", "DB", "--from", "yesterday"], "--from"),
        (["search", "DB", "--limit", "0"], "--limit"),
        (["search", "DB", "--outcome", "gone"], "--outcome"),  # "lost" is one since restarts
        (["search", "DB", "--from", "2026-05-29", "--to", "2026-05-28"], "--to"),
        (["export", "DB"], "--csv"),
    ],
)
def test_bad_arguments_exit_2_naming_them(
    db: Path, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([str(db) if a == "DB" else a for a in argv], capsys)
    assert code == 2 and needle in err and out == ""


def test_missing_and_corrupt_databases_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    code, _, err = run(["search", str(missing)], capsys)
    assert code == 2 and "none.db: no such records database" in err
    assert not missing.exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 512)
    code, _, err = run(["report", str(junk)], capsys)
    assert code == 2 and "junk.db: not a usable records database" in err
    code, _, err = run(["search", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err


def test_command_line_entry_point(db: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "acdcore", "records", "search", str(db), "--limit", "3", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 3
    p = subprocess.run(
        [sys.executable, "-m", "acdcore", "records", "search", "/nonexistent.db"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and "no such records database" in p.stderr
