"""Callbacks (virtual hold) in the example contact center, end to end on 127.0.0.1: a SIPp
caller waits with no agent free, presses 2 (RFC 2833) for a callback, hears "we will call you
back" and is hung up; a baresip agent phone registers, is offered the held call and answers;
the center dials a SIPp UAS standing for the customer's phone and bridges the two. Also a
customer who never answers: the agent is freed, the callback retried, then recorded as
failed. The CDRs and the queue log are read back from SQLite. Bounded in time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import acdcore
import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.app.callbacks import CallbackDialer
from acdcore.flows import CallbackRequest
from acdcore.flows.errors import FlowError
from acdcore.flows.result import CallResult
from acdcore.media.wav import write_wav
from acdcore.records.recorder import CallRecorder
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from test_flow_interpreter import ScriptedCaller, run_flow
from test_serve import CONFIG, center_files, tone
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

CALLER = "+33122222222"  # the From of tests/sipp/uac_callback_key.xml

FLOW = """
[flow]
name = "callback-center"
start = "sales"

[nodes.sales]
type = "queue"
queue = "sales"
prompt = "please-hold"
announce_every = 60
options = { "2" = "callback" }
timeout = "bye"

[nodes.callback]
type = "callback"
queue = "sales"
prompt = "we-will-call-you-back"

[nodes.bye]
type = "hangup"
"""


def callback_config(port: int, **options: Any) -> str:
    lines = [f'uri = "sip:{{number}}@127.0.0.1:{port}"']
    lines += [f"{key} = {value}" for key, value in options.items()]
    return CONFIG + "\n[callbacks]\n" + "\n".join(lines) + "\n"


def make_center(directory: Path, config: str) -> tuple[ContactCenter, list[str]]:
    """The center and the names of the prompts it played, in order."""
    path = center_files(directory, config, FLOW)
    write_wav(directory / "prompts" / "we-will-call-you-back.wav", tone(1.0, 500.0))
    center = ContactCenter(load_config(path))
    played: list[str] = []
    encoded = center.prompts.encoded

    def spy(name: str, codec: str) -> bytes | None:
        played.append(name)
        return encoded(name, codec)

    center.prompts.encoded = spy  # type: ignore[method-assign]
    return center, played


async def ask_for_callback(center: ContactCenter, directory: Path) -> None:
    """The caller presses 2 in the queue and stays until our BYE."""
    stat = directory / "caller.csv"
    scenario = str(SCENARIOS / "uac_callback_key.xml")
    rc = await run_sipp(center.address, "-sf", scenario, "-s", "5000", "-m", "1", stat=stat)
    assert rc == 0
    assert sipp_totals(stat) == {"ok": 1, "failed": 0, "created": 1}
    assert await wait_for(lambda: center.stats.by_outcome, 10.0)
    assert center.stats.by_outcome == {"callback": 1}
    assert center.callbacks.stats.requested == 1
    assert center.engine.queue_stats("sales").waiting == 1  # its place is kept


def agent_phone(center: ContactCenter, directory: Path, talk: float) -> Path:
    home = directory / "agent1"
    home.mkdir()
    baresip_config(home, center.address, "secret1", "agent1", "auto")
    # baresip hangs up when its audio file ends: that is how long the agent talks.
    write_wav(home / "prompt.wav", tone(talk, 350.0))
    return home


def test_callback_dials_the_customer_once_an_agent_is_free_and_bridges_them(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        customer_port = free_port()
        center, played = make_center(tmp_path, callback_config(customer_port, ring_timeout=20))
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            assert "we-will-call-you-back" in played
            stat = tmp_path / "customer.csv"
            customer = asyncio.ensure_future(
                run_sipp(
                    None, "-sf", str(SCENARIOS / "uas_answer_audio.xml"), "-m", "1",
                    port=customer_port, stat=stat, timeout=90.0,
                )
            )  # fmt: skip
            await asyncio.sleep(0.5)  # the UAS listening before an agent frees up
            home = agent_phone(center, tmp_path, 8.0)
            async with baresip(home, 60):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 15.0)
                assert await customer == 0
                assert sipp_totals(stat) == {"ok": 1, "failed": 0, "created": 1}
                assert await wait_for(lambda: not center.callbacks.held, 10.0)
            cb = center.callbacks.stats
            assert (cb.attempts, cb.connected, cb.failed) == (1, 1, 0)
            # Media went both ways through our bridge: agent -> customer and back.
            assert cb.to_customer > 50 and cb.from_customer > 50
            stats = center.engine.queue_stats("sales")
            assert (stats.offered, stats.answered, stats.waiting) == (1, 1, 0)
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.queue, record.agent, record.outcome) == ("sales", "ann", "callback")
            assert record.caller == CALLER and record.disposition == "resolved"
            assert record.attributes["callback_number"] == CALLER
            assert record.attributes["callback_result"] == "connected"
            assert record.attributes["callback_rtp"]["from_customer"] > 50
            assert record.talk is not None and 2.0 < record.talk < 30.0
            log = store.queue_log(record.call_id)
            assert [e.event for e in log] == [
                "enter",
                "callback",
                "connect",
                "callback",
                "complete",
            ]
            assert log[1].data == {"number": CALLER}
            assert log[3].agent == "ann"
            assert log[3].data["result"] == "connected" and log[3].data["attempt"] == 1

    run(main)


def test_customer_not_answering_frees_the_agent_retries_then_records_the_failure(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        customer_port = free_port()
        config = callback_config(customer_port, ring_timeout=3, retry_after=1, max_attempts=2)
        center, _ = make_center(tmp_path, config)
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            stat = tmp_path / "customer.csv"
            customer = asyncio.ensure_future(
                run_sipp(
                    None, "-sf", str(SCENARIOS / "uas_ring_no_answer.xml"), "-m", "2",
                    port=customer_port, stat=stat, timeout=90.0,
                )
            )  # fmt: skip
            await asyncio.sleep(0.5)
            home = agent_phone(center, tmp_path, 60.0)
            async with baresip(home, 80):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 15.0)
                assert await customer == 0  # two INVITEs, each cancelled after its ring time
                assert sipp_totals(stat) == {"ok": 2, "failed": 0, "created": 2}
                assert await wait_for(lambda: center.callbacks.stats.failed == 1, 10.0)
                # The agent's phone was hung up and the agent is free again after wrap-up.
                assert await wait_for(lambda: not center.legs.by_dialog, 10.0)
                assert await wait_for(lambda: center.engine.agent("ann").state == "available", 10.0)
            cb = center.callbacks.stats
            assert (cb.attempts, cb.connected, cb.failed) == (2, 0, 1)
            assert not center.callbacks.held
            assert center.engine.queue_stats("sales").waiting == 0
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            first, retry = sorted(store.search(Query()), key=lambda r: r.arrival)
            assert retry.call_id == f"{first.call_id}~cb2"
            assert (first.outcome, first.agent) == ("callback", "ann")
            assert first.attributes["callback_result"] == "no-answer"
            assert retry.attributes["callback_of"] == first.call_id
            assert retry.attributes["callback_result"] == "failed"
            assert retry.caller == CALLER
            one = store.queue_log(first.call_id)
            assert [e.event for e in one] == [
                "enter",
                "callback",
                "connect",
                "callback",
                "complete",
            ]
            assert one[3].data["result"] == "no-answer" and one[3].data["attempt"] == 1
            two = store.queue_log(retry.call_id)
            kinds = [e.event for e in two]
            assert kinds == ["enter", "callback", "connect", "callback", "complete", "callback"]
            assert two[3].data["attempt"] == 2
            assert two[5].data["result"] == "failed" and two[5].data["attempts"] == 2
            assert two[5].data["of"] == first.call_id

    run(main)


def test_callback_config_mistakes_name_the_line_and_field(tmp_path: Path) -> None:
    bad = CONFIG + '\n[callbacks]\nuri = "tel:{number}"\nmax_attempts = 0\nretries = 2\n'
    path = center_files(tmp_path, bad, FLOW)
    with pytest.raises(FlowError) as e:
        load_config(path)
    text = str(e.value)
    line = bad.splitlines().index('uri = "tel:{number}"') + 1
    assert (
        f"{path}:{line}: callbacks.uri: expected a sip: URI template, got 'tel:{{number}}'" in text
    )
    assert "callbacks.max_attempts: must be at least 1, got 0" in text
    assert "callbacks.retries: unknown field" in text
    (tmp_path / "ok").mkdir()
    good = load_config(center_files(tmp_path / "ok", callback_config(5070), FLOW))
    assert good.callbacks.uri == "sip:{number}@127.0.0.1:5070"
    assert (good.callbacks.max_attempts, good.callbacks.retry_after) == (3, 120.0)


def with_max_wait(config: str, seconds: float) -> str:
    return config.replace("[queues.sales]\n", f"[queues.sales]\nmax_wait = {seconds}\n", 1)


def test_a_held_callback_outlives_its_queues_max_wait_and_is_dialled(tmp_path: Path) -> None:
    async def main() -> None:
        customer_port = free_port()
        config = with_max_wait(callback_config(customer_port, ring_timeout=20), 3)
        center, _ = make_center(tmp_path, config)
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            (call,) = center.callbacks.held
            info = center.engine.call(call)
            assert info.max_wait_exempt
            # A second past the queue's max wait, the engine's timers run: still in line.
            await asyncio.sleep(max(0.0, info.arrival + 4.0 - center.sb.now()))
            center.sb.apply(center.engine.advance(center.sb.now()))
            assert center.engine.call(call).state == "waiting"
            stats = center.engine.queue_stats("sales")
            assert (stats.waiting, stats.timed_out) == (1, 0)
            stat = tmp_path / "customer.csv"
            customer = asyncio.ensure_future(
                run_sipp(
                    None, "-sf", str(SCENARIOS / "uas_answer_audio.xml"), "-m", "1",
                    port=customer_port, stat=stat, timeout=90.0,
                )
            )  # fmt: skip
            await asyncio.sleep(0.5)  # the UAS listening before an agent frees up
            home = agent_phone(center, tmp_path, 3.0)
            async with baresip(home, 60):
                assert await customer == 0
                assert await wait_for(lambda: not center.callbacks.held, 10.0)
            assert center.callbacks.stats.connected == 1
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.outcome, record.agent) == ("callback", "ann")
            assert record.wait is not None and record.wait > 3.0  # waited past max_wait
            assert record.attributes["callback_result"] == "connected"
            kinds = [e.event for e in store.queue_log(record.call_id)]
            assert kinds == ["enter", "callback", "connect", "callback", "complete"]

    run(main)


def test_a_callback_nobody_takes_expires_with_its_own_record(tmp_path: Path) -> None:
    async def main() -> None:
        config = with_max_wait(callback_config(free_port(), expire_after=5), 2)
        center, _ = make_center(tmp_path, config)
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            assert await wait_for(lambda: center.callbacks.stats.expired == 1, 10.0)
            assert not center.callbacks.held and not center.callbacks._expiry
            stats = center.engine.queue_stats("sales")
            assert (stats.waiting, stats.timed_out, stats.abandoned) == (0, 0, 1)
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.outcome, record.queue) == ("callback-expired", "sales")
            assert record.agent is None and record.answer is None
            requested = record.attributes["callback_requested"]
            assert record.arrival < requested < record.end
            assert record.end == pytest.approx(requested + 5.0, abs=0.5)
            assert record.attributes["callback_result"] == "expired"
            log = store.queue_log(record.call_id)
            assert [e.event for e in log] == ["enter", "callback", "callback-expired"]
            assert log[2].data["after"] == 5.0
            assert log[2].data["wait"] == pytest.approx(record.end - record.arrival, abs=0.01)

    run(main)


def test_a_restart_keeps_the_exemption_and_arms_the_same_expiry(tmp_path: Path) -> None:
    async def main() -> None:
        config = with_max_wait(callback_config(5070, expire_after=1), 1)
        center, _ = make_center(tmp_path, config)
        center.sb.enqueue("c1", "sales")
        center.sb.hold_for_callback("c1", CALLER, "sales")  # as the flow's callback node does
        requested = center.recorder.open_calls()["c1"]["attributes"]["callback_requested"]
        center.recorder.commit().wait(10.0)
        await center.callbacks.close()  # the process stops: its expiry timer goes with it
        await asyncio.sleep(1.2)  # down past both the max wait and the expiry
        resumed = CallRecorder.resume(center.store, center.writer)
        assert resumed is not None
        center.recorder = center.sb.recorder = resumed
        center.engine = center.sb.engine = resumed.engine
        center.sb.apply(resumed.engine.advance(center.sb.now()))
        info = resumed.engine.call("c1")
        assert (info.state, info.max_wait_exempt) == ("waiting", True)  # in the snapshot
        dialer = CallbackDialer(center)
        assert dialer.resume() == 1
        assert dialer.held["c1"].since == pytest.approx(requested - resumed.epoch)
        assert dialer.arm_expiries() == 1
        assert await wait_for(lambda: dialer.stats.expired == 1, 5.0)  # due in the downtime
        resumed.commit().wait(10.0)
        center.writer.close()
        center.store.close()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.call_id, record.outcome) == ("c1", "callback-expired")

    run(main)


def test_a_callback_ringing_an_agent_at_its_expiry_expires_once_back_in_line(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        config = callback_config(5070, expire_after=0.5).replace(
            "ring_timeout = 10", "ring_timeout = 1"
        )
        center, _ = make_center(tmp_path, config)
        sb, engine = center.sb, center.engine
        sb.enqueue("c1", "sales")
        sb.hold_for_callback("c1", CALLER, "sales")
        # The offer goes round the dialer (which would ring a phone): the agent is ringing.
        login = engine.login(sb.now(), "ann", queues=["sales"])
        center.recorder.feed(login)
        (offered,) = [e.t for e in login if e.kind == "offer"]
        await asyncio.sleep(0.7)  # past the expiry: being served, left alone
        assert engine.call("c1").state == "offered" and center.callbacks.owns("c1")
        assert center.callbacks.stats.expired == 0
        await asyncio.sleep(max(0.0, offered + 1.05 - sb.now()))
        evs = sb.apply(engine.advance(sb.now()))  # the ring timeout: back in line
        assert [e.kind for e in evs if e.call == "c1"] == ["unoffer"]
        assert await wait_for(lambda: center.callbacks.stats.expired == 1, 2.0)
        assert not center.callbacks.owns("c1") and engine.queue_stats("sales").waiting == 0
        center.recorder.commit().wait(10.0)
        center.writer.close()
        center.store.close()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert record.outcome == "callback-expired"

    run(main)


def test_callback_expiry_must_be_a_positive_number_of_seconds(tmp_path: Path) -> None:
    for i, (value, message) in enumerate(
        [
            ("-5", "callbacks.expire_after: must be a positive number of seconds, got -5.0"),
            ("0", "callbacks.expire_after: must be a positive number of seconds, got 0.0"),
            ("inf", "callbacks.expire_after: must be a positive number of seconds, got inf"),
            ('"soon"', "callbacks.expire_after: expected float, got 'soon'"),
        ]
    ):
        directory = tmp_path / str(i)
        directory.mkdir()
        path = center_files(directory, callback_config(5070, expire_after=value), FLOW)
        with pytest.raises(FlowError) as e:
            load_config(path)
        assert message in str(e.value)
    (tmp_path / "ok").mkdir()
    good = load_config(center_files(tmp_path / "ok", callback_config(5070, expire_after=90), FLOW))
    assert good.callbacks.expire_after == 90.0
    (tmp_path / "default").mkdir()
    default = load_config(center_files(tmp_path / "default", CONFIG, FLOW))
    assert default.callbacks.expire_after is None


def test_a_busy_customer_on_the_last_try_is_a_failed_callback(tmp_path: Path) -> None:
    async def main() -> None:
        customer_port = free_port()
        center, _ = make_center(tmp_path, callback_config(customer_port, max_attempts=1))
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            stat = tmp_path / "customer.csv"
            customer = asyncio.ensure_future(
                run_sipp(
                    None, "-sf", str(SCENARIOS / "uas_busy.xml"), "-m", "1",
                    port=customer_port, stat=stat, timeout=90.0,
                )
            )  # fmt: skip
            await asyncio.sleep(0.5)
            home = agent_phone(center, tmp_path, 60.0)
            async with baresip(home, 60):
                assert await customer == 0
                assert await wait_for(lambda: center.callbacks.stats.failed == 1, 10.0)
                assert await wait_for(lambda: center.engine.agent("ann").state == "available", 10.0)
            assert center.callbacks.stats.attempts == 1
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert record.attributes["callback_result"] == "failed"
            log = store.queue_log(record.call_id)
            assert [e.data.get("result") for e in log if e.event == "callback"] == [
                None,  # the request
                "busy",
                "failed",
            ]
            assert log[3].data["status"] == 486

    run(main)


def test_without_a_dial_plan_a_due_callback_is_recorded_failed_and_no_phone_rings(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        center, _ = make_center(tmp_path, CONFIG)  # no [callbacks] uri
        await center.start()
        try:
            await ask_for_callback(center, tmp_path)
            home = agent_phone(center, tmp_path, 60.0)
            async with baresip(home, 30):
                assert await wait_for(lambda: center.login.logged_in == {"ann"}, 15.0)
                assert await wait_for(lambda: center.callbacks.stats.failed == 1, 10.0)
                assert center.stats.offers == 0  # the agent's phone never rang
                assert center.engine.agent("ann").state == "available"
                assert center.engine.queue_stats("sales").waiting == 0
        finally:
            await center.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert record.attributes["callback_result"] == "failed"
            log = store.queue_log(record.call_id)
            # No way to place it: withdrawn, not a caller's abandon.
            assert [e.event for e in log] == ["enter", "callback", "callback", "withdraw"]
            assert record.outcome == "withdrawn"
            assert log[2].data["why"] == "no [callbacks] uri in the config"

    run(main)


def test_resume_takes_back_the_callbacks_a_restored_engine_holds(tmp_path: Path) -> None:
    async def main() -> None:
        center, _ = make_center(tmp_path, callback_config(5070))
        rec = center.recorder
        rec.enter(1.0, "c1", "sales", caller=CALLER, called="5000", priority=3)
        rec.callback(2.0, "c1", CALLER)
        rec.enter(3.0, "c2~cb2", "sales", caller="+331", attributes={"callback_of": "c2"})
        rec.add_attributes("c2~cb2", callback_attempt=2)
        rec.callback(3.0, "c2~cb2", "+331")
        rec.enter(4.0, "c3", "sales", caller="+332")  # an ordinary waiting call
        rec.commit().wait(10.0)
        resumed = CallRecorder.resume(center.store, center.writer)
        assert resumed is not None
        center.recorder, center.engine, center.sb.engine = resumed, resumed.engine, resumed.engine
        assert center.callbacks.resume() == 2
        one, two = center.callbacks.held["c1"], center.callbacks.held["c2~cb2"]
        assert (one.number, one.origin, one.attempt, one.priority, one.called) == (
            CALLER, "c1", 1, 3, "5000"
        )  # fmt: skip
        assert (two.number, two.origin, two.attempt) == ("+331", "c2", 2)
        assert not center.callbacks.owns("c3")
        center.writer.close()
        center.store.close()

    run(main)


LEAVE_A_NUMBER = """
[flow]
start = "number"

[nodes.number]
type = "collect"
prompt = "enter-number"
into = "callback_number"
min_digits = 4
max_digits = 12
next = "cb"

[nodes.cb]
type = "callback"
queue = "support"
prompt = "we-call-back"
"""


def test_a_number_the_caller_left_is_the_one_called_back() -> None:
    async def scenario() -> tuple[CallResult, list[CallbackRequest]]:
        engine = acdcore.Engine(seed=1)
        engine.add_queue("support")
        fired: list[CallbackRequest] = []

        async def hook(req: CallbackRequest) -> None:
            fired.append(req)

        caller = ScriptedCaller(on_prompt={"enter-number": ["0612345678#"]})
        result, _, sb = await run_flow(LEAVE_A_NUMBER, engine, caller, on_callback=hook)
        assert caller.played == ["enter-number", "we-call-back"]
        sb.apply(engine.login(sb.now(), "alice", queues=["support"]))
        await asyncio.sleep(0)
        return result, fired

    result, fired = asyncio.run(scenario())
    assert result.outcome == "callback"
    assert result.attributes["callback_number"] == "0612345678"
    (req,) = fired
    assert (req.call, req.caller_id, req.agent) == ("c1", "0612345678", "alice")
