"""`acdcore serve` killed with SIGKILL under SIP load and started again on the same SQLite
file: every call a caller saw end before the kill has its record, nothing is recorded twice,
the calls cut off are recorded once as "lost", the agents' phones keep working without
registering again, a waiting callback is still in line, new calls are served, and
`acdcore records` search, export and report read the database. Real peers: acdcore.traffic
callers and agent phones over SIP/RTP on loopback; bounded waits throughout."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from acdcore.media.wav import write_wav
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore
from acdcore.traffic import AgentPhone, Caller, CallerScript
from acdcore.traffic.endpoint import open_endpoint
from test_restart import AGENTS
from test_serve import CONFIG, FLOW, center_files, tone
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

FLOW_CB = FLOW.replace('options = { "1" = "sales" }', 'options = { "1" = "sales", "2" = "cb" }') + (
    """
[nodes.cb]
type = "callback"
queue = "later"
"""
)
BEFORE_KILL = 14  # callers started before the kill, one every SPACING seconds
SPACING = 0.45
AFTER = 4  # callers after the restart
TERMINAL = {"complete", "abandon", "timeout", "lost"}


async def _serve(path: Path) -> tuple[asyncio.subprocess.Process, list[str]]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acdcore", "serve", "--config", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None
    lines = [(await asyncio.wait_for(server.stdout.readline(), 60.0)).decode()]
    assert "SIP on" in lines[0], lines
    return server, lines


def _records_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "records", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sigkill_under_load_then_restart_loses_no_ended_call(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        config = CONFIG.replace("127.0.0.1:0", f"127.0.0.1:{port}") + AGENTS
        path = center_files(tmp_path, config, FLOW_CB)
        address = ("127.0.0.1", port)
        server, _ = await _serve(path)
        phones = [
            AgentPhone(address, user, secret, answer_delay=0.2, talk_mean=0.8, talk_min=0.4,
                       seed=i, expires=600)
            for i, (user, secret) in enumerate((("agent1", "secret1"), ("agent2", "secret2")))
        ]  # fmt: skip
        endpoint = await open_endpoint()
        callers: list[Caller] = []
        tasks: list[asyncio.Task[object]] = []

        def call(number: str, key: str, patience: float) -> None:
            script = CallerScript(number, [(0.8, key)], patience, from_user=f"c{len(callers)}")
            caller = Caller(endpoint, address, script)
            callers.append(caller)
            tasks.append(asyncio.ensure_future(caller.run()))

        def ended_by_server(c: Caller) -> bool:
            ended = None if c.call is None else c.call.ended
            return ended is not None and ended.done() and ended.result() == "bye-received"

        try:
            for phone in phones:
                await phone.start()
            call("5000", "2", 30.0)  # a callback: the flow takes it, hangs up, keeps it in line
            cb = callers[0]
            assert await wait_for(lambda: ended_by_server(cb), 30.0)
            for _ in range(BEFORE_KILL):
                call("5000", "1", 60.0)
                await asyncio.sleep(SPACING)
            # Kill while calls are ending all the time: some done, some talking or waiting.
            assert await wait_for(lambda: sum(map(ended_by_server, callers[1:])) >= 3, 30.0)
            server.kill()
            await asyncio.wait_for(server.wait(), 30.0)
            # What the callers saw before the kill: our 200 went to each of these BYEs.
            ended = {c.call.leg.call_id for c in callers[1:] if c.call and ended_by_server(c)}
            cut = {c.call.leg.call_id for c in callers[1:] if c.call and not ended_by_server(c)}
            cb_id = cb.call.leg.call_id if cb.call else ""
            assert ended and cut  # the kill came mid-run

            server, lines = await _serve(path)
            assert server.stdout is not None
            lines.append((await asyncio.wait_for(server.stdout.readline(), 30.0)).decode())
            found = re.search(
                r"resumed from the checkpoint: (\d+) agents logged in, (\d+) callbacks waiting, "
                r"(\d+) calls lost in the restart",
                lines[1],
            )
            assert found, lines
            logged_in, waiting_cb, lost = map(int, found.groups())
            assert (logged_in, waiting_cb) == (2, 1)
            # The old callers still on the line get the new process's BYE; done with them.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            answered_before = sum(len(p.calls) for p in phones)
            # New calls are served by the same phones, which never registered again.
            assert await wait_for(lambda: not any(p.busy for p in phones), 30.0)
            new_callers = len(callers)
            tasks.clear()
            for _ in range(AFTER):
                call("5000", "1", 60.0)
                await asyncio.sleep(SPACING)
            results = await asyncio.wait_for(asyncio.gather(*tasks), 90.0)
            assert [r.outcome for r in results] == ["completed"] * AFTER
            assert sum(len(p.calls) for p in phones) - answered_before == AFTER
            assert [p.refreshes for p in phones] == [0, 0]
            after = {c.call.leg.call_id for c in callers[new_callers:] if c.call}
            server.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(server.communicate(), 60.0)
            assert server.returncode == 0, err.decode()
            assert f"calls={AFTER}" in out.decode()  # the new process served the new calls
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
            for phone in phones:
                await phone.close(unregister=False)  # the server is gone
            endpoint.close()

        db = tmp_path / "records.db"
        with SqliteStore(db, create=False) as store:
            records = {r.call_id: r for r in store.search(Query())}
            log = store.queue_log()
            for call_id in ended | after:  # every call seen ending has its record
                assert records[call_id].outcome == "answered", records.get(call_id)
                assert records[call_id].agent in ("ann", "bob")
            for call_id, r in records.items():
                assert call_id in ended | cut | after, call_id  # only our calls
                if r.outcome == "lost":
                    assert call_id in cut
                    assert r.attributes["lost"]["why"] == "restart"
            lost_ids = {c for c, r in records.items() if r.outcome == "lost"}
            assert len(lost_ids) == lost >= 1
            for call_id in cut:  # lost, or still in the IVR (no record), or its end committed
                # but the kill came before our BYE reached the caller
                assert records.get(call_id) is None or records[call_id].outcome in (
                    "lost", "answered",
                )  # fmt: skip
            # One terminal queue-log event per queued call: nothing counted twice. One cut off
            # in the flow has none (never queued): its CDR says lost in the flow.
            terminal: dict[str, int] = {}
            for e in log:
                if e.event in TERMINAL:
                    terminal[e.call_id] = terminal.get(e.call_id, 0) + 1
            assert terminal == {c: 1 for c, r in records.items() if r.queue}
            for r in records.values():
                if not r.queue:
                    assert r.outcome == "lost" and r.attributes["lost"]["state"] == "flow"
            assert cb_id not in records  # the callback is still waiting, not closed
            checkpoint = store.checkpoint()
            assert checkpoint is not None
        with SqliteStore(db, create=False) as store:
            writer = RecordWriter(store)
            resumed = CallRecorder.resume(store, writer)
            assert resumed is not None
            assert resumed.engine.call(cb_id).state == "waiting"
            assert resumed.host["center"]["callbacks"] == [cb_id]
            writer.close()

        # acdcore records over the crashed database: lost calls found, exported, reported.
        found_lost = _records_cli("search", str(db), "--outcome", "lost", "--json")
        assert {json.loads(line)["call_id"] for line in found_lost.splitlines()} == lost_ids
        out_csv = tmp_path / "all.csv"
        _records_cli("export", str(db), "--csv", str(out_csv))
        with out_csv.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == len(records)
        assert sum(row["outcome"] == "lost" for row in rows) == len(lost_ids)
        report = [
            json.loads(line)
            for line in _records_cli(
                "report", str(db), "--interval", "86400", "--json"
            ).splitlines()
        ]
        # By queue: the calls of a queue; one cut off in the flow (queue "") is in no row.
        queued = {c for c, r in records.items() if r.queue}
        assert sum(r["offered"] for r in report) == len(queued)
        assert sum(r["lost"] for r in report) == len(lost_ids & queued)
        assert sum(r["abandoned"] for r in report) == 0  # the lost are not abandons
        table = _records_cli("report", str(db), "--interval", "86400")
        assert table.splitlines()[0].split()[:6] == [
            "queue", "interval", "offered", "answered", "abandoned", "lost",
        ]  # fmt: skip

    run(main)


def _checkpoint_host(db: Path) -> tuple[dict[str, object], dict[str, object]] | None:
    """(open calls, the server's host state) of the last commit, read-only; None before one."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT state FROM checkpoint").fetchone()
    except sqlite3.OperationalError:  # no file or table yet
        return None
    if row is None:
        return None
    state = json.loads(row[0])
    return state["calls"], state["host"].get("center", {})


def test_sigkill_then_restart_byes_the_dead_dialogs_and_records_the_call_in_the_menu(
    tmp_path: Path,
) -> None:
    """Two SIPp callers when the server is killed: one waiting in the queue (no agent
    logged in), one in the menu without a key. The restarted server sends each a BYE (both
    SIPp scenarios need it to pass) and records the queued one lost "waiting" and the one in
    the menu lost "flow" with its caller number and path, though no queue ever held it."""

    async def main() -> None:
        port = free_port()
        config = CONFIG.replace("127.0.0.1:0", f"127.0.0.1:{port}") + AGENTS
        path = center_files(tmp_path, config, FLOW.replace("timeout = 6", "timeout = 60"))
        address = ("127.0.0.1", port)
        db = tmp_path / "records.db"
        server, _ = await _serve(path)
        sipps = [
            asyncio.ensure_future(
                run_sipp(address, "-sf", str(SCENARIOS / name), "-s", "5000", "-m", "1",
                         stat=tmp_path / f"{name}.csv", timeout=60.0)
            )
            for name in ("uac_queue_restart_bye.xml", "uac_wait_bye.xml")
        ]  # fmt: skip

        def in_place() -> bool:
            saved = _checkpoint_host(db)
            if saved is None:
                return False
            calls, host = saved
            flows = host.get("flows", [])
            dialogs = host.get("dialogs", [])
            assert isinstance(flows, list) and isinstance(dialogs, list)
            in_menu = [f for f in flows if f["path"][-1:] == ["menu"]]
            return len(calls) == 1 and len(in_menu) == 1 and len(dialogs) == 2

        try:
            assert await wait_for(in_place, 20.0)  # committed: one queued, one in the menu
            server.kill()
            await asyncio.wait_for(server.wait(), 30.0)
            assert not any(s.done() for s in sipps)  # nobody told them yet
            server, lines = await _serve(path)
            restarted = asyncio.get_running_loop().time()
            assert server.stdout is not None
            lines.append((await asyncio.wait_for(server.stdout.readline(), 30.0)).decode())
            assert "2 calls lost in the restart (1 in the flow)" in lines[1], lines
            codes = await asyncio.wait_for(asyncio.gather(*sipps), 30.0)
            took = asyncio.get_running_loop().time() - restarted
            assert codes == [0, 0]  # each got its BYE and answered it
            assert took < 10.0, took
            for name in ("uac_queue_restart_bye.xml", "uac_wait_bye.xml"):
                assert sipp_totals(tmp_path / f"{name}.csv")["ok"] == 1
            server.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(server.communicate(), 60.0)
            assert server.returncode == 0, err.decode()
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
            for s in sipps:
                s.cancel()
            await asyncio.gather(*sipps, return_exceptions=True)

        with SqliteStore(db, create=False) as store:
            records = {r.caller: r for r in store.search(Query())}
            assert set(records) == {"+33222222222", "sipp"}
            queued, menu = records["+33222222222"], records["sipp"]
            assert (queued.outcome, queued.queue) == ("lost", "sales")
            assert queued.attributes["lost"] == {"why": "restart", "state": "waiting"}
            assert (menu.outcome, menu.queue, menu.called) == ("lost", "", "5000")
            assert menu.attributes["lost"] == {"why": "restart", "state": "flow"}
            assert menu.attributes["path"] == ["welcome", "menu"]
            assert menu.end is not None and menu.end >= menu.arrival
            assert store.queue_log(menu.call_id) == []  # never queued: no queue-log line

    run(main)


@pytest.mark.parametrize("agent", ["udp", "tcp"])
def test_sigkill_mid_call_then_restart_byes_the_caller_and_the_baresip_agent(
    tmp_path: Path, agent: str
) -> None:
    """A SIPp caller talking to a baresip agent (auto-answer) when the server is killed: the
    restarted server sends a BYE on both legs, so SIPp passes and baresip ends the call (its
    log says the peer closed the session), and the call is recorded lost "connected". An
    agent registered over TCP lost its connection with the process: its BYE goes over a new
    one to the registered Contact we rang (baresip's 200 named the dead connection's port)."""

    async def main() -> None:
        port = free_port()
        config = CONFIG.replace("127.0.0.1:0", f"127.0.0.1:{port}")
        if agent == "tcp":
            config = config.replace('digest = ["MD5"]', 'digest = ["MD5"]\ntransport = "both"')
        path = center_files(tmp_path, config)
        address = ("127.0.0.1", port)
        db = tmp_path / "records.db"
        home = tmp_path / "agent1"
        home.mkdir()
        baresip_config(home, address, "secret1", "agent1", "auto", transport=agent)
        write_wav(home / "prompt.wav", tone(60.0, 350.0))  # outlasts the call
        server, _ = await _serve(path)
        out: list[bytes] = []
        try:
            async with baresip(home, 50, asyncio.subprocess.PIPE) as phone:
                assert phone.stdout is not None
                reading = asyncio.ensure_future(_collect(phone.stdout, out))

                def talking() -> bool:
                    saved = _checkpoint_host(db)
                    if saved is None:
                        return False
                    calls, host = saved
                    dialogs = host.get("dialogs", [])
                    assert isinstance(dialogs, list)
                    answered = [c for c in calls.values() if c.get("answer") is not None]
                    return len(answered) == 1 and len(dialogs) == 2

                sipp_run = asyncio.ensure_future(
                    run_sipp(address, "-sf", str(SCENARIOS / "uac_queue_restart_bye.xml"),
                             "-s", "5000", "-m", "1", stat=tmp_path / "caller.csv",
                             timeout=60.0)
                )  # fmt: skip
                assert await wait_for(talking, 25.0)  # committed: caller and agent talking
                server.kill()
                await asyncio.wait_for(server.wait(), 30.0)
                before = len(b"".join(out))
                server, _ = await _serve(path)
                # baresip's words for a BYE from the far end (libre reports it as ECONNRESET).
                bye = b"session closed: Connection reset by peer"
                ended = await wait_for(lambda: bye in b"".join(out)[before:], 10.0)
                assert ended, b"".join(out).decode(errors="replace")
                assert await asyncio.wait_for(sipp_run, 30.0) == 0  # the caller got its BYE
                reading.cancel()
            server.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(server.communicate(), 60.0)
            assert server.returncode == 0, err.decode()
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
        with SqliteStore(db, create=False) as store:
            (record,) = store.search(Query())
            assert (record.outcome, record.agent, record.caller) == ("lost", "ann", "+33222222222")
            assert record.attributes["lost"] == {"why": "restart", "state": "connected"}

    run(main)


async def _collect(stream: asyncio.StreamReader, out: list[bytes]) -> None:
    while line := await stream.readline():
        out.append(line)
