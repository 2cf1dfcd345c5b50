"""SIP call setup rate: SIPp's built-in uac against `acdcore sip-uas`, and against SIPp's own
uas side by side, at rising rates on 127.0.0.1. A figure, not a test.

    .venv/bin/python benches/sip_load.py --rates 250,500,1000,1500 --seconds 4

Each rate gets a fresh server and RATE*SECONDS calls (INVITE, 100, 180, 200, ACK, BYE, 200).
Reported per server: calls successful and failed (SIPp's -trace_stat), SIPp's retransmissions
(a sign the server fell behind), the server's own retransmissions and its CPU seconds per
1,000 calls (user + system: wait4 for SIPp, the CLI's own count while serving for acdcore).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIPP = ["sipp", "-i", "127.0.0.1", "-nostdin", "-buff_size", "4194304"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(kind: str, port: int, calls: int, seconds: float) -> subprocess.Popen[bytes]:
    if kind == "acdcore":
        cmd = [sys.executable, "-m", "acdcore", "sip-uas", "--port", str(port)]
        cmd += ["--duration", str(seconds + 6)]
    else:
        cmd = [*SIPP, "-sn", "uas", "-p", str(port), "-m", str(calls), "-cp", str(free_port())]
        cmd += ["-timeout", f"{int(seconds + 6)}s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # bind
    return proc


def run_rate(kind: str, rate: int, seconds: float, workdir: Path) -> dict[str, object]:
    port = free_port()
    calls = int(rate * seconds)
    server = start_server(kind, port, calls, seconds)
    stat = workdir / f"{kind}-{rate}.csv"
    caller = [*SIPP, f"127.0.0.1:{port}", "-sn", "uac", "-p", str(free_port())]
    caller += ["-mp", str(free_port() & ~1), "-cp", str(free_port()), "-r", str(rate)]
    caller += ["-m", str(calls), "-timeout", f"{int(seconds + 4)}s", "-timeout_error"]
    caller += ["-trace_stat", "-stf", str(stat)]
    subprocess.run(caller, cwd=workdir, capture_output=True, check=False)
    _, _, usage = os.wait4(server.pid, 0)
    out = server.stdout.read() if server.stdout else b""
    lines = [line for line in stat.read_text().splitlines() if line.strip()]
    row = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    ok = int(row["SuccessfulCall(C)"])
    own = overloaded = None
    cpu = usage.ru_utime + usage.ru_stime
    if kind == "acdcore" and out.strip():
        served = json.loads(out)
        own = served["udp"]["transactions"]["retransmissions_sent"]
        overloaded = served["udp"]["transactions"]["overloaded"]  # 503: table full
        cpu = served["cpu_seconds"]  # without interpreter start-up
    return {
        "server": kind,
        "rate": rate,
        "calls": calls,
        "ok": ok,
        "failed": int(row["FailedCall(C)"]),
        "sipp_retrans": int(row["Retransmissions(C)"]),
        "server_retrans": own,
        "server_503_table_full": overloaded,
        "cpu_s_per_1k": round(1000 * cpu / max(ok, 1), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="250,500,1000,1500")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--servers", default="acdcore,sipp")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for rate in rates:
            for kind in args.servers.split(","):
                print(json.dumps(run_rate(kind, rate, args.seconds, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
