"""`make demo` (examples/demo.py) against the engine's own semantics.

The demo drives the engine op by op through the Python API instead of handing the trace to
`acdcore.replay`; these tests run it on a small generated day and check that the counts in
its summary table are exactly what replaying the same day gives, so the demo cannot drift
from the trace contract (a wrong default, a forgotten `finish()`, a skipped op) unnoticed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import acdcore
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.py"
SIZES = {"calls": 2000, "agents": 40, "queues": 4, "seed": 7}
ARGS = [f"--{name}={value}" for name, value in SIZES.items()]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COUNTS = {  # summary column -> replay summary field
    "Offered": "offered",
    "Answered": "answered",
    "Abandoned": "abandoned",
    "Waiting": "waiting",
    "Answered in SL": "answered_within_sl",
}


def _env() -> dict[str, str]:
    """The environment minus what would make rich colour a pipe."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _replayed_summary() -> dict[str, dict[str, int]]:
    """The same generated day through `acdcore.replay_lines`: its per-queue summary."""
    path = ROOT / "examples" / "call_center_day.py"
    spec = importlib.util.spec_from_file_location("call_center_day", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    day = module.DayGenerator(
        SIZES["calls"], SIZES["agents"], SIZES["queues"], module.DEFAULTS["skills"], SIZES["seed"]
    )
    out = acdcore.replay_lines(json.dumps(op) for op in day)
    assert out[-1]["event"] == "summary"
    queues: dict[str, dict[str, int]] = out[-1]["queues"]
    return queues


def _table(text: str) -> dict[str, dict[str, str]]:
    """The rows of the printed summary table, by first cell, each as {column: cell}."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in ANSI.sub("", text).splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]
        if not cells:
            continue
        if cells[0] == "Queue":
            header = cells
        elif header is not None and len(cells) == len(header):
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def _int(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.fixture(scope="module")
def replayed() -> dict[str, dict[str, int]]:
    return _replayed_summary()


# Without --no-live the run must still be quick: a pipe is not a terminal, so no pacing.
@pytest.mark.parametrize("flags", [["--no-live"], []], ids=["no-live", "piped"])
def test_summary_matches_replay(
    flags: list[str], replayed: dict[str, dict[str, int]], tmp_path: Path
) -> None:
    start = time.monotonic()
    proc = _run(*ARGS, *flags, cwd=tmp_path)  # any cwd: the demo finds its own folder
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 20
    assert "Traceback" not in proc.stderr
    rows = _table(proc.stdout)
    assert set(replayed) == {f"q{i}" for i in range(1, SIZES["queues"] + 1)}
    for qid, expected in replayed.items():
        assert qid in rows, f"queue {qid} missing from the summary:\n{proc.stdout}"
        got = {field: _int(rows[qid][column]) for column, field in COUNTS.items()}
        assert got == {field: expected[field] for field in COUNTS.values()}, qid
    total = rows["total"]
    for column, field in COUNTS.items():
        assert _int(total[column]) == sum(q[field] for q in replayed.values()), column
    assert re.search(r"engine: [\d,]+ ops/s", proc.stdout)


@pytest.mark.parametrize("bad", [["--calls=-1"], ["--speed=0"]])
def test_bad_arguments_exit_2(bad: list[str], tmp_path: Path) -> None:
    proc = _run(*bad, "--no-live", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_ctrl_c_prints_the_summary_so_far(tmp_path: Path) -> None:
    """On a terminal the wallboard runs paced; SIGINT stops it with exit 130 and a summary."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, str(DEMO), *ARGS, "--speed=300"],
        cwd=tmp_path,
        env=_env(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # keep reading, or the demo blocks writing frames
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO once the demo has exited
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 15
        while b"acdcore wallboard" not in b"".join(chunks):
            assert time.monotonic() < deadline, "no wallboard on the terminal"
            assert proc.poll() is None, b"".join(chunks).decode(errors="replace")
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        os.close(master)
    out = ANSI.sub("", b"".join(chunks).decode(errors="replace"))
    assert status == 130, out
    assert "interrupted at" in out
    assert "Traceback" not in out
    assert "total" in _table(out)
