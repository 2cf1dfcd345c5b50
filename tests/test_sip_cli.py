"""`acdcore sip-uas`: argument errors on stderr with exit 2, and SIPp calls through the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from acdcore.cli import main
from test_sip_transport import free_port, sipp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port must be 0..65535, got 70000"),
        (["--rtp-port", "0"], "--rtp-port must be 1..65535, got 0"),
        (["--duration", "0"], "--duration must be positive, got 0.0"),
        (["--ring-delay", "-1"], "ring_delay and answer_delay must not be negative"),
        (["--t1", "0"], "timer t1 must be positive"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sip-uas", "--port", "0", *args]) == 2
    assert message in capsys.readouterr().err


def test_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert main(["sip-uas", "--port", str(port), "--duration", "1"]) == 2
    assert f"cannot bind 127.0.0.1:{port}" in capsys.readouterr().err


def cli_with_sipp(tmp_path: Path, uas_args: list[str], sipp_args: list[str]) -> dict[str, Any]:
    """Runs `acdcore sip-uas` on a free port, SIPp against it; the CLI's JSON counters."""
    binary = sipp()
    port = free_port()
    cmd = [sys.executable, "-m", "acdcore", "sip-uas", "--port", str(port), *uas_args]
    uas = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert uas.stderr is not None
        assert uas.stderr.readline().startswith(f"listening on udp 127.0.0.1:{port}")
        caller = subprocess.run(
            [binary, f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()),
             "-mi", "127.0.0.1", "-mp", str(free_port() & ~1), "-cp", str(free_port()),
             "-nostdin", "-timeout", "20s", "-timeout_error", *sipp_args],
            cwd=tmp_path, capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        assert caller.returncode == 0, caller.stderr
        out, _ = uas.communicate(timeout=20)
    finally:
        uas.kill()
    result: dict[str, Any] = json.loads(out)
    return result


def test_sipp_calls_through_the_cli(tmp_path: Path) -> None:
    stats = cli_with_sipp(tmp_path, ["--duration", "6"], ["-sn", "uac", "-r", "10", "-m", "10"])
    assert stats["uas"]["answered"] == 10 and stats["uas"]["ended"] == 10
    assert stats["dialogs"] == 0 and stats["udp"]["transport"]["malformed"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--media", "moh"], "--media moh needs --moh FILE.wav"),
        (["--record", "/tmp"], "--record, --moh and --prompt need --media"),
        (["--media", "echo", "--rtp-ports", "9-x"], "--rtp-ports must be LOW-HIGH, got '9-x'"),
        (["--media", "echo", "--rtp-ports", "9-70000"], "--rtp-ports must be within 1-65535"),
        (["--media", "moh", "--moh", "/nonexistent.wav"], "/nonexistent.wav: cannot read"),
        (["--media", "echo", "--record", "/nonexistent"], "record directory /nonexistent does"),
    ],
)
def test_bad_media_arguments_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sip-uas", "--port", "0", *args]) == 2
    assert message in capsys.readouterr().err


def test_sipp_call_hears_music_on_hold_through_the_cli(tmp_path: Path) -> None:
    from acdcore._core import tone_amplitude
    from acdcore.media import read_stereo, write_wav
    from test_media import tone

    write_wav(tmp_path / "moh.wav", tone(440, 0.5))
    scenario = Path(__file__).resolve().parent / "sipp" / "uac_media_dtmf.xml"
    stats = cli_with_sipp(
        tmp_path,
        ["--duration", "7", "--media", "moh", "--moh", str(tmp_path / "moh.wav"),
         "--record", str(tmp_path), "--rtp-ports", "30000-39999"],
        ["-sf", str(scenario), "-s", "acd", "-m", "1"],
    )  # fmt: skip
    media = stats["media"]
    assert media["calls"] == 1 and media["open"] == 0 and media["digits"] == 4
    # The 0.5 s file looped for the whole call (about 4.5 s at 50 packets a second).
    assert media["sent"] > 150 and media["received"] > 60
    [wav] = [p for p in tmp_path.glob("*.wav") if p.name != "moh.wav"]
    _, ours = read_stereo(wav)
    # The tone holds in every second of what we sent, across the loop points.
    for second in range(3):
        assert tone_amplitude(ours[8000 * second : 8000 * (second + 1)], 440) > 6000
