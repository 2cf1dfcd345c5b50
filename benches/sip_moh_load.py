"""Concurrent SIP calls held on music on hold, end to end. A figure, not a test.

    .venv/bin/python benches/sip_moh_load.py --calls 1000 --rate 200 --hold 20 [--sample 10]

SIPp (sip/uac_moh_hold.xml) sets up `--calls` calls at `--rate` per second into
`acdcore sip-uas --media moh` (each answered call gets its own RTP session; the loop's Rust
pump plays the looped music), holds each for `--hold` seconds and hangs up with BYE. The
callers' SDP points at one receiving socket in a child process, so the audio measured is the
audio of SIP calls (`--sample N`: every Nth call; the others point at a socket nobody reads,
so the server still sends every call's audio but a Python receiver need not read 50,000
packets a second on the same two cores). The receiver takes each datagram's kernel arrival
time (SO_TIMESTAMPNS) and its RTP header, and per call (the server's sending port) counts:

- late: arrival gaps over 40 ms between consecutive packets (the sender stalled);
- skipped: frames the sender jumped over, seen as an RTP timestamp step over one frame (160)
  with consecutive sequence numbers (the pump skips rather than bursts after a stall);
- lost: sequence numbers missing at the receiver (kernel buffer overflow on this side).

Server CPU is read from /proc/PID/stat: while every call was held (from the last setup to the
first BYE), as CPU seconds per second, and over the whole run per call.
"""

from __future__ import annotations

import argparse
import array
import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def receive(port_file: str) -> None:
    """Child process: every datagram's kernel arrival time, source port, RTP sequence and
    timestamp, until SIGTERM; then the per-call figures as JSON on stdout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)  # capped by rmem_max
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("127.0.0.1", 0))
    # Calls not sampled send here: a socket nobody reads, whose full buffer the kernel drops
    # into (a closed port would answer ICMP, and the server would drop those streams).
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind(("127.0.0.1", 0))
    Path(port_file).write_text(f"{sock.getsockname()[1]},{sink.getsockname()[1]}")
    sock.settimeout(0.5)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    times, ports = array.array("d"), array.array("q")
    seqs, stamps = array.array("q"), array.array("q")
    while not stop[0]:
        try:
            data, anc, _, addr = sock.recvmsg(64, 64)
        except (TimeoutError, InterruptedError):
            continue
        if len(data) < 12:
            continue
        seq, ts = struct.unpack_from("!HI", data, 2)
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", raw[:16])
                times.append(sec + nsec * 1e-9)
                ports.append(addr[1])
                seqs.append(seq)
                stamps.append(ts)
    json.dump(analyse(times, ports, seqs, stamps), sys.stdout)


def analyse(
    times: array.array[float], ports: array.array[int], seqs: array.array[int], stamps: Any
) -> dict[str, Any]:
    t, p = np.frombuffer(times), np.frombuffer(ports, dtype=np.int64)
    q, s = np.frombuffer(seqs, dtype=np.int64), np.frombuffer(stamps, dtype=np.int64)
    order = np.lexsort((t, p))
    t, p, q, s = t[order], p[order], q[order], s[order]
    same = p[1:] == p[:-1]
    dt = np.diff(t)[same]
    dseq = (np.diff(q) % 65536)[same]
    dts = (np.diff(s) % (1 << 32))[same]
    late = dt > 0.040
    skipped = (dseq == 1) & (dts > 160)
    ms = lambda x: None if x is None else round(float(x) * 1e3, 2)  # noqa: E731
    return {
        "received": len(t),
        "calls_heard": len(np.unique(p)),
        "late_gaps_over_40ms": int(late.sum()),
        "calls_with_late_gap": len(np.unique(p[1:][same][late])),
        "gap_p50_ms": ms(np.percentile(dt, 50)) if len(dt) else None,
        "gap_p99_ms": ms(np.percentile(dt, 99)) if len(dt) else None,
        "gap_max_ms": ms(dt.max()) if len(dt) else None,
        "skipped_frames_by_rtp_ts": int(((dts[skipped] - 160) // 160).sum()),
        "rtp_ts_gaps_over_40ms": int(((dseq == 1) & (dts > 320)).sum()),
        "lost_at_receiver": int((dseq[dseq > 1] - 1).sum()),
        # When the late packets arrived, in whole seconds from the first packet: stalls of
        # the whole loop show as many calls late in the same second.
        "late_by_second": {
            int(k): int(v)
            for k, v in zip(
                *np.unique((t[1:][same][late] - t.min()).astype(int), return_counts=True),
                strict=True,
            )
        },
    }


def write_music(path: Path, seconds: float = 3.0) -> None:
    """A 440 Hz tone, 8 kHz 16-bit mono: what `--moh` loads."""
    n = int(8000 * seconds)
    tone = (8000 * np.sin(2 * math.pi * 440 * np.arange(n) / 8000)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(tone.tobytes())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def wait_for_file(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise TimeoutError(f"{path} was not written in {timeout} s")


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    music = work / "moh.wav"
    write_music(music)
    port_file = work / "rtp.port"
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receive", str(port_file)], stdout=subprocess.PIPE
    )
    rtp_port, sink_port = (int(x) for x in wait_for_file(port_file, 30).split(","))
    ports = work / "ports.csv"  # the port each call's SDP names, in call order
    rows = [rtp_port if i % args.sample == 0 else sink_port for i in range(args.calls)]
    ports.write_text("SEQUENTIAL\n" + "".join(f"{p}\n" for p in rows))
    sip_port = free_port()
    ramp = args.calls / args.rate
    duration = ramp + args.hold + 8  # the server stops (and reports) by itself
    log = work / "server.log"
    serve = [
        sys.executable, "-m", "acdcore", "sip-uas", "--port", str(sip_port),
        "--media", "moh", "--moh", str(music), "--rtp-ports", "40000-49999",
        "--duration", str(duration),
    ]  # fmt: skip
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=log.open("wb"))
    wait_for_file(log, 30)  # "listening on udp ..."
    stat = work / "callers.csv"
    call = [
        "sipp", f"127.0.0.1:{sip_port}", "-sf", str(HERE / "sip" / "uac_moh_hold.xml"),
        "-inf", str(ports), "-s", "moh", "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_port() & ~1), "-cp", str(free_port()),
        "-r", str(args.rate), "-m", str(args.calls), "-l", str(args.calls),
        "-d", str(int(args.hold * 1000)), "-nostdin", "-buff_size", "4194304",
        "-timeout", f"{int(duration + 10)}s", "-timeout_error",
        "-trace_stat", "-stf", str(stat),
    ]  # fmt: skip
    caller = subprocess.Popen(call, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    cpu0 = cpu_seconds(server.pid)
    # Every call is up from the end of the ramp until the first call's hold ends.
    time.sleep(ramp + 1.0)
    held_cpu, held_wall = cpu_seconds(server.pid), time.monotonic()
    time.sleep(max(0.0, args.hold - ramp - 2.0))
    held_cpu = cpu_seconds(server.pid) - held_cpu
    held_wall = time.monotonic() - held_wall
    caller.wait(timeout=duration + 30)
    total_cpu = cpu_seconds(server.pid) - cpu0
    served_out, _ = server.communicate(timeout=duration + 30)
    time.sleep(0.5)
    receiver.send_signal(signal.SIGTERM)
    heard, _ = receiver.communicate(timeout=120)
    lines = [line for line in stat.read_text().splitlines() if line.strip()]
    row = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    served = json.loads(served_out) if served_out.strip() else {}
    media = served.get("media", {})
    return {
        "calls": args.calls,
        "calls_sampled": rows.count(rtp_port),
        "rate": args.rate,
        "hold_s": args.hold,
        "callers_ok": int(row["SuccessfulCall(C)"]),
        "callers_failed": int(row["FailedCall(C)"]),
        "sipp_retrans": int(row["Retransmissions(C)"]),
        "server_retrans": served.get("udp", {}).get("transactions", {}).get("retransmissions_sent"),
        "server_sent": media.get("sent"),
        "server_skipped": media.get("skipped"),
        "held_window_s": round(held_wall, 1),
        "server_cpu_per_s_all_held": round(held_cpu / held_wall, 3) if held_wall > 0 else None,
        "server_cpu_ms_per_call_whole_run": round(1000 * total_cpu / args.calls, 2),
        "run_s": round(time.monotonic() - started, 1),
        **json.loads(heard),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=200, help="call setups per second")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds each call is held")
    parser.add_argument(
        "--sample", type=int, default=1, help="measure every Nth call (1: all of them)"
    )
    parser.add_argument("--receive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        receive(args.receive)
        return 0
    if args.sample < 1:
        parser.error(f"--sample must be at least 1, got {args.sample}")
    if args.hold <= args.calls / args.rate + 2:
        parser.error("--hold must exceed the ramp (calls / rate) by 2 s so every call is held")
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
