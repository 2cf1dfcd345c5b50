"""`acdcore traffic`: bad arguments exit 2 naming the argument; a run against `acdcore
sip-uas` (music on hold from the shipped prompt) prints JSON counters of real calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from acdcore import prompts
from acdcore.cli import main
from test_sip_transport import free_port


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "localhost:5060"], "--target host 'localhost' is not an IPv4 address"),
        (["--target", "127.0.0.1"], "--target '127.0.0.1' is not host:port"),
        (["--target", "127.0.0.1:0"], "a port 1..65535"),
        (["--rate", "0"], "traffic rate must be positive, got 0.0"),
        (["--menu", "x=1"], "--menu choice 'x' is not one DTMF digit"),
        (["--menu", "1=a"], "--menu weight 'a' of '1' is not a number"),
        (["--agents-file", "/nonexistent"], "--agents-file /nonexistent"),
        (["--disposition", "*9x"], "x"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["traffic", "--number", "100", *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_agents_file_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agents = tmp_path / "agents.txt"
    agents.write_text("# user:password\nagent1:secret\nagent2\n")
    assert main(["traffic", "--number", "100", "--agents-file", str(agents)]) == 2
    assert f"{agents}:3: expected 'user:password', got 'agent2'" in capsys.readouterr().err


def test_callers_against_the_uas_cli(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "acdcore", "sip-uas", "--port", str(port), "--duration", "30",
           "--media", "moh", "--moh", str(prompts.path("moh"))]  # fmt: skip
    uas = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert uas.stderr is not None
        assert uas.stderr.readline().startswith(f"listening on udp 127.0.0.1:{port}")
        code = main(
            ["traffic", "--target", f"127.0.0.1:{port}", "--number", "100", "--rate", "3",
             "--duration", "2", "--patience", "1.5", "--menu", "1=1", "--menu-delay", "0.2",
             "--json", "--seed", "3"]
        )  # fmt: skip
    finally:
        uas.kill()
        uas.communicate(timeout=10)
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    calls = out["calls"]
    assert calls >= 1 and out["agents_registered"] == 0
    # The UAS answers at once and never hangs up: every caller abandons after the answer.
    assert out["answered"] == calls and out["outcomes"] == {"abandoned": calls}
    assert 1 <= out["digits_sent"] <= calls
    assert out["rtp_received"] > 20 * calls  # the music, at 50 packets a second
