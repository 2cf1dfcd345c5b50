"""The example contact-center server (acdcore.app) end to end on 127.0.0.1: SIPp callers
press a menu key by RFC 2833, wait in the queue with music, and reach a baresip agent phone
registered with digest auth; the CDR and the queue log are read back from the SQLite file.
Bounded in time; without the peers these fail in CI and skip elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.app.legs import AgentLeg
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

FLOW = """
[flow]
name = "test-center"
start = "welcome"

[nodes.welcome]
type = "greeting"
prompts = ["welcome"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
timeout = 6
retries = 0
options = { "1" = "sales" }
fallback = "bye"

[nodes.sales]
type = "queue"
queue = "sales"
prompt = "please-hold"
announce_every = 60
timeout = "bye"

[nodes.bye]
type = "hangup"
"""

CONFIG = """
[sip]
address = "127.0.0.1:0"
digest = ["MD5"]

[rtp]
port_min = 30000
port_max = 30999

[flow]
file = "flow.toml"

[records]
database = "records.db"

[prompts]
directory = "prompts"

[wrapup]
default_disposition = "resolved"

[queues.sales]
sl = 20
wrapup = 1
ring_timeout = 10

[[agents]]
id = "ann"
user = "agent1"
password = "secret1"
queues = ["sales"]
"""


def tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000.0
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def center_files(directory: Path, config: str = CONFIG, flow: str = FLOW) -> Path:
    prompts = directory / "prompts"
    prompts.mkdir()
    for name, seconds, freq in (
        ("welcome", 0.3, 440.0),
        ("main-menu", 0.3, 660.0),
        ("please-hold", 0.2, 550.0),
        ("moh", 1.0, 300.0),
        ("beep", 0.2, 1000.0),
    ):
        write_wav(prompts / f"{name}.wav", tone(seconds, freq))
    (directory / "flow.toml").write_text(flow)
    path = directory / "config.toml"
    path.write_text(config)
    return path


@contextlib.asynccontextmanager
async def serving(directory: Path, flow: str = FLOW) -> AsyncIterator[ContactCenter]:
    center = ContactCenter(load_config(center_files(directory, flow=flow)))
    await center.start()
    try:
        yield center
    finally:
        await center.stop()


async def call_in(center: ContactCenter, directory: Path, hold_ms: int) -> None:
    stat = directory / "caller.csv"
    scenario = str(SCENARIOS / "uac_menu_wait_bye.xml")
    rc = await run_sipp(
        center.address, "-sf", scenario, "-s", "5000", "-m", "1", "-d", str(hold_ms), stat=stat
    )
    assert rc == 0
    assert sipp_totals(stat) == {"ok": 1, "failed": 0, "created": 1}


def test_menu_queue_agent_answers_talk_hangup_and_records(tmp_path: Path) -> None:
    async def main() -> None:
        async with serving(tmp_path) as center:
            home = tmp_path / "agent1"
            home.mkdir()
            baresip_config(home, center.address, "secret1", "agent1", "auto")
            # baresip hangs up when its audio file ends: make it outlast the talk.
            write_wav(home / "prompt.wav", tone(30.0, 350.0))
            async with baresip(home, 40):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 10.0)
                await call_in(center, tmp_path, 6000)
                assert await wait_for(lambda: center.stats.by_outcome, 10.0)
            assert center.stats.by_outcome == {"answered": 1}
            assert center.stats.offers == 1
            # Media was anchored: the agent's audio went through our bridge to the caller.
            assert center.stats.relayed > 50
            stats = center.engine.queue_stats("sales")
            assert (stats.offered, stats.answered, stats.abandoned) == (1, 1, 0)
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.agent, record.outcome) == ("sales", "ann", "answered")
            assert record.caller == "+33111111111" and record.called == "5000"
            assert record.disposition == "resolved"
            assert record.talk is not None and 1.0 < record.talk < 10.0
            assert record.wait is not None and record.wait < 8.0
            kinds = [e.event for e in store.queue_log(record.call_id)]
            assert kinds[0] == "enter" and "connect" in kinds and "complete" in kinds

    run(main)


def test_caller_hanging_up_in_queue_is_an_abandon(tmp_path: Path) -> None:
    async def main() -> None:
        async with serving(tmp_path) as center:  # no agent registered: the caller waits
            await call_in(center, tmp_path, 3000)
            assert await wait_for(lambda: center.stats.by_outcome, 10.0)
            assert center.stats.by_outcome == {"abandoned": 1}
            assert center.engine.queue_stats("sales").abandoned == 1
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.outcome, record.agent) == ("sales", "abandoned", None)
            assert record.wait is not None and 1.0 < record.wait < 10.0
            kinds = [e.event for e in store.queue_log(record.call_id)]
            assert kinds == ["enter", "abandon"]

    run(main)


def test_config_mistakes_name_the_file_line_and_field(tmp_path: Path) -> None:
    bad = CONFIG.replace('queues = ["sales"]', 'queues = ["nowhere"]').replace(
        'address = "127.0.0.1:0"', 'address = "127.0.0.1:x"'
    )
    path = center_files(tmp_path, bad)
    with pytest.raises(FlowError) as e:
        load_config(path)
    text = str(e.value)
    assert f"{path}:3: sip.address: '127.0.0.1:x' is not HOST:PORT" in text
    assert "agents.0.queues: no queue named 'nowhere'" in text


def test_serve_cli_refuses_a_bad_config_with_a_message(tmp_path: Path) -> None:
    path = center_files(tmp_path, CONFIG.replace('file = "flow.toml"', 'file = "gone.toml"'))
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "flow.file: no such file" in done.stderr


def test_serve_cli_runs_for_a_duration_and_stops_cleanly(tmp_path: Path) -> None:
    path = center_files(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--duration", "1.5",
         "--db", str(tmp_path / "other.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "queue=sales waiting=0" in done.stdout
    assert "stopped; calls=0" in done.stdout
    assert (tmp_path / "other.db").is_file()


def test_sigterm_sends_bye_to_a_waiting_caller_and_flushes_its_record(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        path = center_files(tmp_path, CONFIG.replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acdcore", "serve", "--config", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            first = await asyncio.wait_for(server.stdout.readline(), 30.0)
            assert f"SIP on 127.0.0.1:{port}" in first.decode()
            stat = tmp_path / "caller.csv"
            scenario = str(SCENARIOS / "uac_menu_wait_bye.xml")
            args = ["-sf", scenario, "-s", "5000", "-m", "1", "-d", "30000"]
            caller = asyncio.ensure_future(run_sipp(("127.0.0.1", port), *args, stat=stat))
            await asyncio.sleep(4.0)  # menu key pressed, waiting in the queue
            server.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(server.communicate(), 30.0)
            assert server.returncode == 0, err.decode()
            assert "outcomes={'abandoned': 1}" in out.decode()
            # Our BYE ended SIPp's call (an unexpected BYE for its scenario: a failed call).
            await asyncio.wait_for(caller, 30.0)
            assert sipp_totals(stat)["created"] == 1
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.outcome) == ("sales", "abandoned")
            assert [e.event for e in store.queue_log(record.call_id)] == ["enter", "abandon"]

    run(main)


VOICEMAIL_FLOW = (
    FLOW.replace('options = { "1" = "sales" }', 'options = { "1" = "vm", "2" = "sales" }')
    + """
[nodes.vm]
type = "voicemail"
path = "voicemail/{call}.wav"
max_seconds = 20
"""
)


def test_menu_to_voicemail_records_a_wav_beside_the_database(tmp_path: Path) -> None:
    async def main() -> None:
        async with serving(tmp_path, VOICEMAIL_FLOW) as center:
            await call_in(center, tmp_path, 3000)  # key 1, then 3 s on the line, then BYE
            assert await wait_for(lambda: center.stats.by_outcome, 10.0)
            assert center.stats.by_outcome == {"voicemail": 1}
        (wav,) = (tmp_path / "voicemail").glob("*.wav")
        with wave.open(str(wav)) as w:  # SIPp sent digits, no speech: the WAV may be empty
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)

    run(main)


def test_agent_keys_star_code_pound_set_the_disposition(tmp_path: Path) -> None:
    async def main() -> None:
        center = ContactCenter(load_config(center_files(tmp_path)))
        leg = AgentLeg("call-1", "ann", call=None, rtp=None)  # type: ignore[arg-type]
        for key in "12*42#9*#*7":  # digits before '*' and an empty code are ignored
            center.legs._agent_key(leg, key)
        assert center.sb.disposition("call-1") == "42"
        assert center.stats.dispositions == 1
        center.writer.close()
        center.store.close()

    run(main)


def test_the_example_config_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "contact_center"
    if not (example / "../../python/acdcore/prompts").resolve().is_dir():
        pytest.skip("the shipped prompts (python/acdcore/prompts) are not in this checkout")
    config = load_config(example / "config.toml")
    assert config.sip == ("127.0.0.1", 5060)
    assert [a.user for a in config.agents] == ["agent1", "agent2", "agent3"]
    assert {q.id for q in config.queues} == {"sales", "support"}
