"""Concurrent music-on-hold streams one acdcore process holds with no arrival gap over 40 ms.
A figure, not a test.

    .venv/bin/python benches/rtp_moh.py --streams 100,300,1000 --seconds 10 --path python,pump

For each count, this process opens that many `RtpSession`s on 127.0.0.1 looping one encoded
PCMU file (as `CallMedia` does for held calls) towards a receiver in a child process. The
receiver reads with SO_TIMESTAMPNS, so arrival times are the kernel's, not the moment a
(possibly busy) receiver got round to reading. Per run: packets expected and received,
streams with any gap over 40 ms, the 99th percentile and maximum gap, frames the pacer
skipped after stalls, and the sender's CPU seconds per second of audio. `--path` picks the
sender: `pump` (the loop's Rust pump, the default for sessions) or `python` (a timer and a
`sendto` per stream, `RtpSession.use_pump = False`), both in one run for a same-run ratio.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def receive(port_file: str, seconds: float) -> None:
    """Child process: one socket, every datagram's kernel arrival time and source port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Capped by net.core.rmem_max; beyond it the kernel drops (received < sent).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("127.0.0.1", 0))
    with open(port_file, "w") as f:
        f.write(str(sock.getsockname()[1]))
    sock.settimeout(1.0)
    times = array.array("d")
    ports = array.array("l")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _, anc, _, addr = sock.recvmsg(256, 64)
        except TimeoutError:
            continue
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                times.append(sec + nsec * 1e-9)
                ports.append(addr[1])
    t, p = np.frombuffer(times), np.frombuffer(ports, dtype=np.int64)
    order = np.lexsort((t, p))
    t, p = t[order], p[order]
    same = p[1:] == p[:-1]
    gaps = np.diff(t)[same]
    streams = np.unique(p)
    over = np.unique(p[1:][same & (np.diff(t) > 0.040)])
    json.dump(
        {
            "received": len(t),
            "streams_seen": len(streams),
            "streams_with_gap_over_40ms": len(over),
            "gaps_over_40ms": int(np.sum(gaps > 0.040)),
            "gap_p50_ms": round(float(np.percentile(gaps, 50)) * 1e3, 2) if len(gaps) else None,
            "gap_p99_ms": round(float(np.percentile(gaps, 99)) * 1e3, 2) if len(gaps) else None,
            "gap_max_ms": round(float(gaps.max()) * 1e3, 2) if len(gaps) else None,
        },
        sys.stdout,
    )


async def send(streams: int, seconds: float, port: int, path: str) -> dict[str, float | int]:
    from acdcore._core import ulaw_encode
    from acdcore.media import open_rtp
    from acdcore.media.session import RtpSession

    RtpSession.use_pump = path == "pump"

    t = np.arange(8000 * 3) / 8000
    codes = ulaw_encode((8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    sessions = [
        await open_rtp(ports=(20000, 29999), remote=("127.0.0.1", port)) for _ in range(streams)
    ]
    loop = asyncio.get_running_loop()
    cpu, wall = time.process_time(), time.monotonic()
    for i, s in enumerate(sessions):  # phases spread over one frame
        loop.call_later(i * 0.02 / streams, s.play_encoded, codes, True)
    await asyncio.sleep(seconds)
    for s in sessions:
        s.close()
    used, wall = time.process_time() - cpu, time.monotonic() - wall
    return {
        "expected": streams * round(seconds * 50),
        "sent": sum(s.stats.sent for s in sessions),
        "skipped": sum(s.stats.skipped for s in sessions),
        "sender_wall_s": round(wall, 2),
        "sender_cpu_per_s": round(used / wall, 3),
    }


def run(streams: int, seconds: float, path: str) -> dict[str, object]:
    port_file = f"/tmp/rtp_moh_{os.getpid()}.port"
    if os.path.exists(port_file):
        os.unlink(port_file)
    child = subprocess.Popen(
        [sys.executable, __file__, "--receive", port_file, "--seconds", str(seconds + 3)],
        stdout=subprocess.PIPE,
    )
    ready = Path(port_file)
    while not ready.exists() or not ready.read_text():
        time.sleep(0.05)
    port = int(ready.read_text())
    sender = asyncio.run(send(streams, seconds, port, path))
    out, _ = child.communicate(timeout=seconds + 30)
    os.unlink(port_file)
    return {"path": path, "streams": streams, "seconds": seconds, **sender, **json.loads(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", default="100,300,1000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--path", default="python,pump")
    ap.add_argument("--receive", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.receive:
        receive(args.receive, args.seconds)
        return
    for n in (int(x) for x in args.streams.split(",")):
        for path in args.path.split(","):
            print(json.dumps(run(n, args.seconds, path)), flush=True)


if __name__ == "__main__":
    main()
