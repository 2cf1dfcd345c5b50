"""SIP call setups bridged to registered agent phones, at rising call rates. A figure, not a test.

    .venv/bin/python benches/sip_bridge_load.py --rates 50,100,200,400,800 --seconds 4

Each rate gets a fresh server (`AcdB2bua`, the engine choosing the agent, in a child process)
and a fresh pool of generated agents: one SIPp process registers `--agents` AORs with MD5
digest (REGISTER, 401, REGISTER with credentials from an injection CSV; sip/register_agents.xml)
from one port, then SIPp's built-in `uas` listens on that same port and auto-answers every
agent leg. SIPp's built-in `uac` then calls the queue number RATE*SECONDS times (INVITE with
SDP, 100, 180, 200, ACK, `--hold-ms` pause, BYE, 200). A step has zero failures when every
caller got its 200 and BYE'd cleanly (SIPp's caller counts), every agent leg ended (the agent
SIPp's successful calls) and the server saw every call answered and ended.

Side by side in the same run, SIPp's `uac` calls SIPp's own `uas` directly at the same rate and
hold: the loopback ceiling. CPU per call is user + system seconds while the calls ran (the
server's own count from the moment the agents were registered; `wait4` for SIPp).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIPP = ["sipp", "-i", "127.0.0.1", "-nostdin", "-buff_size", "4194304"]
QUEUE_NUMBER = "5000"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def users(agents: int) -> dict[str, str]:
    return {f"agent{i}": f"pw{i}" for i in range(agents)}


# The server (child process).


async def serve(agents: int, port_file: str, profile: str | None) -> None:
    from acdcore import Engine
    from acdcore.sip.acd import AcdB2bua
    from acdcore.sip.b2bua import serve_b2bua
    from acdcore.sip.registrar import AgentProfile, Registrar

    engine = Engine(auto_accept=False)
    engine.add_queue("support", strategy="longest-idle")
    registrar = Registrar(users(agents), algorithms=["MD5"])
    profiles = {user: AgentProfile(f"a{user[5:]}", queues=["support"]) for user in users(agents)}
    acd = AcdB2bua(registrar, engine, {QUEUE_NUMBER: "support"}, profiles)
    server = await serve_b2bua(acd, port=0)
    Path(port_file).write_text(str(server.address[1]))
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    mark = [time.process_time()]
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not wall

    def on_mark() -> None:  # the agents are registered: count CPU from here
        mark[0] = time.process_time()
        if profiler is not None:
            profiler.enable()
        print(json.dumps({"logged_in": len(acd.login.logged_in)}), flush=True)

    loop.add_signal_handler(signal.SIGUSR1, on_mark)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    peak = {"transactions": 0, "in_progress": 0}

    def sample() -> None:  # how full the transaction table got (max_transactions: 10,000)
        peak["transactions"] = max(peak["transactions"], len(server.layer))
        peak["in_progress"] = max(peak["in_progress"], server.layer.in_progress)
        if not done.is_set():
            loop.call_later(0.1, sample)

    sample()
    await done.wait()
    cpu = time.process_time() - mark[0]
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    queue = engine.queue_stats("support")
    print(
        json.dumps(
            {
                "cpu_seconds": round(cpu, 3),
                "b2bua": dataclasses.asdict(acd.stats),
                "acd": dataclasses.asdict(acd.acd),
                "open_calls": len(acd.calls),
                "still_queued": len(acd.queued),
                "engine": {
                    k: getattr(queue, k) for k in ("offered", "answered", "abandoned", "ended")
                },
                "transactions": dataclasses.asdict(server.layer.stats),
                "peak_table": peak,
                "transport": dataclasses.asdict(server.protocol.stats),
            }
        ),
        flush=True,
    )
    acd.close()
    registrar.close()
    server.close()


# The bench (parent).


def stat_row(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))


def sipp_counts(path: Path) -> dict[str, int]:
    row = stat_row(path)
    return {
        "ok": int(row["SuccessfulCall(C)"]),
        "failed": int(row["FailedCall(C)"]),
        "retrans": int(row["Retransmissions(C)"]),
    }


def sipp_cmd(*args: str, stat: Path | None = None) -> list[str]:
    cmd = [*SIPP, "-cp", str(free_port()), "-mp", str(free_port() & ~1), *args]
    return cmd + (["-trace_stat", "-stf", str(stat)] if stat else [])


def caller(port: int, rate: int, calls: int, args: argparse.Namespace, stat: Path) -> list[str]:
    return sipp_cmd(
        f"127.0.0.1:{port}", "-sn", "uac", "-s", QUEUE_NUMBER, "-p", str(free_port()),
        "-r", str(rate), "-m", str(calls), "-d", str(args.hold_ms), "-l", str(args.agents),
        "-timeout", f"{int(args.seconds + 20)}s", "-timeout_error", stat=stat,
    )  # fmt: skip


def agent_uas(port: int, calls: int, args: argparse.Namespace, stat: Path) -> list[str]:
    return sipp_cmd(
        "-sn", "uas", "-p", str(port), "-m", str(calls),
        "-timeout", f"{int(args.seconds + 25)}s", stat=stat,
    )  # fmt: skip


def cpu_of(proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Waits for `proc` (killed after `timeout`) and returns its user + system CPU seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
            deadline = math.inf
        time.sleep(0.05)


def run_acdcore(rate: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    calls = int(rate * args.seconds)
    port_file = work / f"port-{rate}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port_file), "--agents", str(args.agents)]
        + (["--profile", str(Path(args.profile).resolve())] if args.profile else []),
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        csv = work / "agents.csv"
        auth = "[authentication username={} password={}]"
        lines = [f"{u};{auth.format(u, p)}\n" for u, p in users(args.agents).items()]
        csv.write_text("SEQUENTIAL\n" + "".join(lines))
        agent_port = free_port()
        reg_stat = work / f"register-{rate}.csv"
        register = sipp_cmd(
            f"127.0.0.1:{port}", "-sf", str(HERE / "sip" / "register_agents.xml"),
            "-inf", str(csv), "-p", str(agent_port), "-r", "500", "-m", str(args.agents),
            "-timeout", "30s", "-timeout_error", stat=reg_stat,
        )  # fmt: skip
        subprocess.run(register, cwd=work, capture_output=True, check=False, timeout=60)
        registered = sipp_counts(reg_stat)["ok"]
        agent_stat = work / f"agents-{rate}.csv"
        agents = subprocess.Popen(
            agent_uas(agent_port, calls, args, agent_stat),
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)  # bind
        server.send_signal(signal.SIGUSR1)
        assert server.stdout is not None
        logged_in = json.loads(server.stdout.readline())["logged_in"]
        stat = work / f"callers-{rate}.csv"
        subprocess.run(caller(port, rate, calls, args, stat), cwd=work, capture_output=True)
        agent_cpu = cpu_of(agents, args.seconds + 30)
        time.sleep(0.5)  # the last BYE's 200 to the agent
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    served = json.loads(out)
    callers, agent_legs = sipp_counts(stat), sipp_counts(agent_stat)
    clean = (
        callers["ok"] == calls
        and callers["failed"] == 0
        and agent_legs["ok"] == calls
        and served["b2bua"]["answered"] == calls
        and served["b2bua"]["ended"] == calls
        and served["open_calls"] == 0
        and served["still_queued"] == 0
    )
    return {
        "server": "acdcore AcdB2bua",
        "rate": rate,
        "calls": calls,
        "agents_registered": registered,
        "agents_logged_in": logged_in,
        "zero_failures": clean,
        "callers": callers,
        "agent_legs": agent_legs,
        "server_retrans": served["transactions"]["retransmissions_sent"],
        "server_cpu_ms_per_call": round(1000 * served["cpu_seconds"] / max(calls, 1), 3),
        "agents_sipp_cpu_ms_per_call": round(1000 * agent_cpu / max(calls, 1), 3),
        "served": served,
    }


def run_sipp_uas(rate: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    calls = int(rate * args.seconds)
    port = free_port()
    uas_stat = work / f"uas-{rate}.csv"
    uas = subprocess.Popen(
        agent_uas(port, calls, args, uas_stat),
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    stat = work / f"callers-sipp-{rate}.csv"
    subprocess.run(caller(port, rate, calls, args, stat), cwd=work, capture_output=True)
    cpu = cpu_of(uas, args.seconds + 30)
    callers = sipp_counts(stat)
    return {
        "server": "SIPp uas",
        "rate": rate,
        "calls": calls,
        "zero_failures": callers["ok"] == calls and callers["failed"] == 0,
        "callers": callers,
        "uas": sipp_counts(uas_stat),
        "server_cpu_ms_per_call": round(1000 * cpu / max(calls, 1), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,400,800")
    parser.add_argument("--seconds", type=float, default=4.0, help="calls per step: RATE * this")
    parser.add_argument("--agents", type=int, default=1000, help="generated agent phones")
    parser.add_argument("--hold-ms", type=int, default=500, help="talk time of each call")
    parser.add_argument("--servers", default="acdcore,sipp")
    parser.add_argument("--profile", help="cProfile the server's calls into this file")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.agents, args.serve, args.profile))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for rate in (int(r) for r in args.rates.split(",")):
            for kind in args.servers.split(","):
                run = run_acdcore if kind == "acdcore" else run_sipp_uas
                print(json.dumps(run(rate, args, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
