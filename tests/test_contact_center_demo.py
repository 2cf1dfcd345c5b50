"""`make demo` (examples/contact_center/demo.py): the server, agent phones and callers over
real SIP and RTP on loopback, run for a short while; the records it prints must show calls
that reached an agent, and SIGINT must stop it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "contact_center" / "demo.py"


def run(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DEMO), "--db", str(tmp_path / "demo.db"), "--seed", "3", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )


def answered(out: str) -> int:
    return sum(int(n) for n in re.findall(r"demo: queue \w+: offered \d+, answered (\d+)", out))


def test_generated_callers_reach_agents_and_the_records_say_so(tmp_path: Path) -> None:
    p = run(tmp_path, "--duration", "15", "--rate", "0.6", "--talk", "3")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out
    assert "agents registered 3" in out, out
    assert answered(out) >= 1, out
    # Callers who hang up while a key listener or a prompt is pending leave no stray task behind.
    assert "never retrieved" not in out and "never awaited" not in out, out
    assert (tmp_path / "demo.db").exists()


def test_sigint_stops_the_demo_cleanly(tmp_path: Path) -> None:
    p = run(tmp_path, "--rate", "0.8")
    assert p.stdout is not None
    deadline = time.monotonic() + 60
    for line in p.stdout:  # wait until the server is up and a call was offered
        if "waiting=1" in line or "busy=" in line or time.monotonic() > deadline:
            break
    os.kill(p.pid, signal.SIGINT)
    rest, _ = p.communicate(timeout=60)
    assert p.returncode == 0, rest
    assert "demo: stopping" in rest and "demo: stopped; calls=" in rest, rest


def test_a_bad_config_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sip]\naddress = 5\n")
    p = run(tmp_path, "--config", str(bad))
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 2 and "bad.toml" in out, out
