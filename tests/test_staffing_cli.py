"""`acdcore staffing`: one interval, a CSV of intervals, the output forms and bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from acdcore import erlang
from acdcore.cli import main

# Call Centre Helper's worked example (see tests/test_erlang.py): 100 calls / 30 min, AHT 180 s.
EXAMPLE = [
    "--calls",
    "100",
    "--interval",
    "1800",
    "--aht",
    "180",
    "--sl",
    "0.8",
    "--threshold",
    "20",
]
FIELDS = ["agents", "scheduled", "service_level", "asa", "occupancy", "p_wait"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["staffing", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_interval_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        [*EXAMPLE, "--shrinkage", "0.3", "--max-occupancy", "0.85", "--json"], capsys
    )
    assert (code, err) == (0, "")
    row = json.loads(out)
    assert list(row) == FIELDS
    assert (row["agents"], row["scheduled"]) == (14, 20)
    assert row["service_level"] == pytest.approx(0.8883500191794669, rel=1e-12)
    assert row["occupancy"] == pytest.approx(10 / 14)
    assert row["asa"] == pytest.approx(erlang.asa(14, 10.0, 180.0), rel=1e-12)


def test_patience_gives_erlang_a_and_the_abandon_rate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*EXAMPLE, "--patience", "120", "--json"], capsys)
    row = json.loads(out)
    assert code == 0 and list(row) == [*FIELDS, "abandon"]
    want = erlang.staffing(10.0, 180.0, service_level=0.8, threshold=20.0, patience=120.0)
    assert row["agents"] == want["agents"]
    assert row["abandon"] == pytest.approx(want["abandon"], rel=1e-12)
    assert 0 < row["abandon"] < 0.2


def test_erlang_a_published_example(capsys: pytest.CaptureFixture[str]) -> None:
    # pyworkforce's README Erlang A example (see tests/test_erlang.py): 13 agents, 19 scheduled.
    extra = ["--patience", "300", "--max-abandon", "0.05", "--max-occupancy", "0.85"]
    _, out, _ = run([*EXAMPLE, *extra, "--shrinkage", "0.3", "--json"], capsys)
    row = json.loads(out)
    assert (row["agents"], row["scheduled"], round(row["abandon"], 3)) == (13, 19, 0.025)


def test_max_asa_and_max_abandon_targets(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--calls", "400", "--aht", "300"]
    _, out, _ = run([*base, "--max-asa", "10", "--json"], capsys)
    assert json.loads(out)["asa"] <= 10
    _, out, _ = run([*base, "--max-abandon", "0.02", "--patience", "90", "--json"], capsys)
    assert json.loads(out)["abandon"] <= 0.02


def test_not_a_terminal_prints_json_and_a_terminal_gets_a_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run(EXAMPLE, capsys)
    assert json.loads(out)["agents"] == 14
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(EXAMPLE, capsys)
    assert code == 0
    assert "agents" in out and "scheduled" in out and " 14 " in out and "88.8%" in out


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "forecast.csv"
    p.write_text(text)
    return p


FORECAST = (
    "interval,calls,aht\n"
    "2026-12-02T08:00:00Z,100,180\n"
    "2026-12-02T08:30:00Z,360,240\n"
    "2026-12-02T09:00:00Z,12.5,300\n"
)


def test_csv_rows_as_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--csv", str(write(tmp_path, FORECAST)), "--sl", "0.8", "--json"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 3
    assert list(rows[0]) == ["interval", "calls", "aht", *FIELDS]
    assert rows[0]["interval"] == "2026-12-02T08:00:00Z"
    assert [r["agents"] for r in rows] == [14, 54, 4]
    assert rows[2]["agents"] == erlang.staffing(12.5 * 300 / 1800, 300, service_level=0.8)["agents"]


def test_closed_intervals_need_no_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # acdcore forecast writes 0 calls for intervals outside business hours.
    text = "interval,calls,aht\n2026-12-01T00:00:00+00:00,0.000,240.0\n2026-12-01T08:00,100,180\n"
    code, out, _ = run(["--csv", str(write(tmp_path, text)), "--sl", "0.8", "--json"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["agents"] for r in rows] == [0, 14]
    assert rows[0]["service_level"] == 1.0 and rows[0]["occupancy"] == 0.0
    code, out, _ = run(["--calls", "0", "--aht", "180", "--sl", "0.8", "--json"], capsys)
    assert code == 0 and json.loads(out)["agents"] == 0


def test_csv_with_crlf_and_a_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "excel.csv"
    p.write_bytes(b"\xef\xbb\xbf" + FORECAST.replace("\n", "\r\n").encode())
    code, out, err = run(["--csv", str(p), "--sl", "0.8", "--json"], capsys)
    assert (code, err) == (0, "")
    assert [json.loads(line)["agents"] for line in out.splitlines()] == [14, 54, 4]


def test_csv_to_a_file_and_to_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, FORECAST)
    out_file = tmp_path / "staffing.csv"
    code, out, _ = run(
        ["--csv", str(src), "--sl", "0.8", "--shrinkage", "0.3", "--out", str(out_file)], capsys
    )
    assert (code, out) == (0, "")
    rows = list(csv.DictReader(out_file.open()))
    assert [r["scheduled"] for r in rows] == ["20", "78", "6"]
    _, piped, _ = run(["--csv", str(src), "--sl", "0.8", "--shrinkage", "0.3"], capsys)
    assert piped == out_file.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interval,calls,aht\n1,100,180\n\n3,10,180\n", "line 3: empty row"),
        ("interval,calls,aht\n1,100,180\n2,100\n", "line 3: expected 3 fields"),
        ("interval,calls,aht\n1,lots,180\n", "line 2: calls 'lots' is not a number"),
        ("interval,calls,aht\n1,-1,180\n", "line 2: calls must be >= 0"),
        ("interval,calls,aht\n1,10,-180\n", "line 2: aht must be positive"),
        ("interval,calls,aht\n1,10,nan\n", "line 2: aht must be positive"),
        ("interval,calls,aht\n1,10,180\n2,1e15,180\n", "line 3: traffic must be"),
        ("when,calls,aht\n1,10,180\n", "line 1: the header must be interval,calls,aht"),
        ("", "line 1: the header"),
        ("interval,calls,aht\n", "no rows"),
    ],
)
def test_bad_csv_rows_are_named_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    code, out, err = run(["--csv", str(write(tmp_path, text)), "--sl", "0.8"], capsys)
    assert code == 1 and out == ""
    assert message in err and err.startswith("acdcore staffing: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--calls", "-5", "--aht", "180", "--sl", "0.8"], "--calls must be >= 0"),
        (["--calls", "100", "--aht", "0", "--sl", "0.8"], "aht must be positive"),
        (["--calls", "100", "--sl", "0.8"], "--aht is required"),
        (["--calls", "100", "--aht", "180", "--interval", "0", "--sl", "0.8"], "--interval"),
        (["--calls", "100", "--aht", "180", "--sl", "1.5"], "service level target must be in"),
        (["--calls", "100", "--aht", "180"], "no staffing target"),
        ([*EXAMPLE, "--shrinkage", "1"], "shrinkage must be in [0, 1)"),
        ([*EXAMPLE, "--max-occupancy", "1.2"], "max occupancy must be in (0, 1]"),
        ([*EXAMPLE, "--max-abandon", "0.05"], "needs a patience"),
        ([*EXAMPLE, "--patience", "-1"], "patience must be a positive"),
        (
            [*EXAMPLE, "--patience", "60", "--patience-dist", "weibull"],
            "unknown patience distribution 'weibull'",
        ),
        ([*EXAMPLE, "--out", "x.csv"], "--out is for --csv"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 1 and out == ""
    assert message in err


def test_missing_file_and_the_entry_point(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    p = subprocess.run(
        [sys.executable, "-m", "acdcore", "staffing", "--csv", str(missing), "--sl", "0.8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 1 and "cannot read" in p.stderr and str(missing) in p.stderr
    p = subprocess.run(
        [sys.executable, "-m", "acdcore", "staffing", *EXAMPLE, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0 and json.loads(p.stdout)["agents"] == 14
    # argparse: --calls and --csv together is a usage error (exit 2).
    p = subprocess.run(
        [sys.executable, "-m", "acdcore", "staffing", "--calls", "1", "--csv", "f", "--aht", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and "not allowed with" in p.stderr
