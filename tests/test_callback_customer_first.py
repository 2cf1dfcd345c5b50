"""Callbacks in the customer-first order (`[callbacks] order = "customer-first"`), end to end
on 127.0.0.1: an agent phone (`AgentPhone`) talks to a SIPp caller; meanwhile a second SIPp
caller asks for a callback and hangs up. When the agent's wrap-up will end within `lead_time`,
the center dials the customer (a SIPp UAS) before the agent is free; the customer hears the
connect prompt and music, the held call is released to the agent after the wrap-up and the
two are bridged. Also a customer who never answers (the retry path), a customer who hangs up
waiting for the agent (an abandon), a restart (parked again), and config mistakes. CDRs and
the queue log are read back from SQLite. Bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.app.callbacks import CallbackDialer
from acdcore.flows.errors import FlowError
from acdcore.records.recorder import CallRecorder
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from acdcore.traffic.agent import AgentPhone
from test_callbacks import CALLER, FLOW, callback_config, make_center
from test_restart import _kill
from test_serve import CONFIG, center_files
from test_sip_peers import wait_for
from test_sip_transport import SCENARIOS, free_port, run, run_sipp, sipp_totals

WRAPUP = 8.0
LEAD = 5.0


def first_config(port: int, **options: Any) -> str:
    config = callback_config(port, order='"customer-first"', lead_time=LEAD, **options)
    return config.replace("wrapup = 1\n", f"wrapup = {WRAPUP:g}\n", 1)


def customer(port: int, directory: Path, scenario: str, calls: int = 1) -> asyncio.Future[int]:
    """A SIPp UAS standing for the customer's phone, listening on `port`."""
    stat = directory / f"{scenario}.csv"
    return asyncio.ensure_future(
        run_sipp(
            None, "-sf", str(SCENARIOS / f"{scenario}.xml"), "-m", str(calls),
            port=port, stat=stat, timeout=90.0,
        )
    )  # fmt: skip


async def serve_with_phone(
    directory: Path, config: str, seed: int, talk_min: float = 3.0
) -> tuple[ContactCenter, list[str], AgentPhone]:
    """The started center, the prompts it plays, and ann's phone (not yet started): it answers
    after 0.2 s and hangs up after about `talk_min` seconds."""
    center, played = make_center(directory, config)
    await center.start()
    phone = AgentPhone(
        center.address, "agent1", "secret1", answer_delay=0.2, talk_mean=0.5,
        talk_min=talk_min, seed=seed,
    )  # fmt: skip
    return center, played, phone


async def ask_and_leave(center: ContactCenter, directory: Path) -> None:
    """Caller B presses 2 for a callback, hears the prompt and is hung up by us."""
    b = await run_sipp(
        center.address, "-sf", str(SCENARIOS / "uac_callback_key.xml"), "-s", "5000",
        "-m", "1", stat=directory / "caller_b.csv",
    )  # fmt: skip
    assert b == 0
    assert await wait_for(lambda: center.callbacks.stats.requested == 1, 10.0)


async def connect_on_login(
    center: ContactCenter,
    phone: AgentPhone,
    port: int,
    directory: Path,
    first: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """With the customer's UAS listening (and `first` done), ann's phone logs in: the parked
    callback is dialled and connected. The phone and the center are stopped after."""
    try:
        uas = customer(port, directory, "uas_answer_audio")
        await asyncio.sleep(0.5)
        if first is not None:
            await first()
        await phone.start()
        assert await uas == 0
        assert await wait_for(lambda: not center.callbacks.held, 10.0)
    finally:
        await phone.close()
        await center.stop()
    assert center.callbacks.stats.connected == 1


async def callback_while_agent_talks(
    center: ContactCenter, directory: Path, phone: AgentPhone
) -> asyncio.Future[int]:
    """Caller A reaches the agent; while they talk, caller B asks for a callback and leaves.
    Returns A's SIPp run (it ends on our BYE after the agent hangs up)."""
    await phone.start()
    assert await wait_for(lambda: center.login.logged_in == {"ann"}, 15.0)
    first = asyncio.ensure_future(
        run_sipp(
            center.address, "-sf", str(SCENARIOS / "uac_wait_bye.xml"), "-s", "5000",
            "-m", "1", stat=directory / "caller_a.csv", timeout=60.0,
        )
    )  # fmt: skip
    assert await wait_for(lambda: center.engine.agent("ann").state == "busy", 15.0)
    await ask_and_leave(center, directory)
    (call,) = center.callbacks.held
    info = center.engine.call(call)
    assert (info.state, info.parked, info.position) == ("waiting", True, 1)
    return first


def test_customer_first_dials_during_the_wrap_up_and_connects_after_it(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        config = first_config(port, ring_timeout=20)
        center, played, phone = await serve_with_phone(tmp_path, config, seed=1)
        try:
            uas = customer(port, tmp_path, "uas_answer_audio")
            await asyncio.sleep(0.5)  # the UAS listening
            first = await callback_while_agent_talks(center, tmp_path, phone)
            assert center.callbacks.stats.attempts == 0  # agent talking: nobody predicted free
            assert await first == 0
            assert await uas == 0
            assert sipp_totals(tmp_path / "uas_answer_audio.csv")["ok"] == 1
            assert await wait_for(lambda: not center.callbacks.held, 10.0)
            assert await phone.wait_until(lambda: len(phone.calls) == 2, 10.0)
        finally:
            await phone.close()
            await center.stop()
        cb = center.callbacks.stats
        assert (cb.attempts, cb.connected, cb.failed, cb.abandoned) == (1, 1, 0, 0)
        assert cb.to_customer > 50 and cb.from_customer > 50  # bridged both ways
        assert "callback-connecting" in played  # the connect prompt, before the agent came
        assert phone.calls[1].caller.startswith(f"sip:{CALLER}@")  # the agent sees who
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            a, b = sorted(store.search(Query()), key=lambda r: r.arrival)
            assert (a.outcome, b.outcome) == ("answered", "callback")
            assert a.end is not None
            free_at = a.end + WRAPUP  # the agent's wrap-up after caller A ends here
            assert (b.agent, b.caller) == ("ann", CALLER)
            attrs = b.attributes
            assert attrs["callback_order"] == "customer-first"
            assert attrs["callback_result"] == "connected"
            assert attrs["callback_agent_wait"] == 0.0
            log = store.queue_log(b.call_id)
            kinds = [e.event for e in log]
            assert kinds == ["enter", "callback", "callback", "connect", "callback", "complete"]
            answered, connect, connected = log[2], log[3], log[4]
            assert answered.data["result"] == "answered" and answered.agent is None
            # Dialled while the agent wrapped up, about `lead_time` before it ended...
            assert free_at - LEAD - 1.0 < answered.time < free_at - LEAD + 2.0
            # ...and given to the agent once the wrap-up was over.
            assert connect.time >= free_at - 0.05 and connect.agent == "ann"
            wait = attrs["callback_connect_wait"]
            assert wait == pytest.approx(connected.time - answered.time, abs=0.05)
            assert LEAD - 2.0 < wait < LEAD + 1.0
            assert connected.data["connect_wait"] == pytest.approx(wait, abs=0.01)
            assert b.talk is not None and 2.0 < b.talk < 30.0

    run(main)


def test_customer_first_dials_at_once_when_an_agent_logs_in(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        config = first_config(port, ring_timeout=20)
        center, _, phone = await serve_with_phone(tmp_path, config, seed=4)

        async def nobody_dialled() -> None:
            await ask_and_leave(center, tmp_path)
            await asyncio.sleep(1.0)  # nobody logged in: nobody is dialled
            assert center.callbacks.stats.attempts == 0

        # The login alone (no engine event) makes it due.
        await connect_on_login(center, phone, port, tmp_path, nobody_dialled)
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.outcome, record.agent) == ("callback", "ann")
            # The agent was free: the customer waited for its phone to answer (0.2 s) only.
            assert record.attributes["callback_connect_wait"] < 2.0
            assert record.attributes["callback_agent_wait"] == 0.0

    run(main)


def test_customer_first_no_answer_goes_to_the_retry_then_fails(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        config = first_config(port, ring_timeout=2, retry_after=1, max_attempts=2)
        center, _, phone = await serve_with_phone(tmp_path, config, seed=2, talk_min=2.0)
        try:
            uas = customer(port, tmp_path, "uas_ring_no_answer", calls=2)
            await asyncio.sleep(0.5)
            first = await callback_while_agent_talks(center, tmp_path, phone)
            assert await first == 0
            assert await uas == 0  # two INVITEs, each cancelled after its ring time
            assert sipp_totals(tmp_path / "uas_ring_no_answer.csv")["ok"] == 2
            assert await wait_for(lambda: center.callbacks.stats.failed == 1, 15.0)
            assert not center.callbacks.held and not center.callbacks.parked
            assert len(phone.calls) == 1  # the agent's phone never rang for the callback
            # Nobody was reached: the two tries are no caller's abandons in the engine.
            stats = center.engine.queue_stats("sales")
            assert (stats.waiting, stats.abandoned) == (0, 0)
        finally:
            await phone.close()
            await center.stop()
        assert center.callbacks.stats.attempts == 2
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            _, one, two = sorted(store.search(Query()), key=lambda r: r.arrival)
            assert two.call_id == f"{one.call_id}~cb2"
            assert (one.outcome, one.agent) == ("withdrawn", None)
            assert one.attributes["callback_result"] == "no-answer"
            assert two.attributes["callback_result"] == "failed"
            assert two.attributes["callback_order"] == "customer-first"
            kinds = [e.event for e in store.queue_log(one.call_id)]
            assert kinds == ["enter", "callback", "callback", "withdraw"]
            log = store.queue_log(two.call_id)
            kinds = [e.event for e in log]
            assert kinds == ["enter", "callback", "callback", "withdraw", "callback"]
            assert log[2].data["result"] == "no-answer" and log[2].data["attempt"] == 2
            assert log[4].data["result"] == "failed" and log[4].data["of"] == one.call_id

    run(main)


def test_a_customer_hanging_up_before_the_agent_is_an_abandon(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        config = first_config(port, ring_timeout=20, max_connect_wait=0.5)
        center, played, phone = await serve_with_phone(tmp_path, config, seed=3)
        try:
            # The customer answers, then hangs up after 3 s: the agent is still wrapping up.
            uas = customer(port, tmp_path, "uas_lead_hangs_up")
            await asyncio.sleep(0.5)
            first = await callback_while_agent_talks(center, tmp_path, phone)
            assert await first == 0
            assert await uas == 0
            assert await wait_for(lambda: center.callbacks.stats.abandoned == 1, 15.0)
            assert not center.callbacks.held
            assert center.engine.queue_stats("sales").waiting == 0
            await asyncio.sleep(WRAPUP - LEAD)  # past the wrap-up: nothing is offered
            assert len(phone.calls) == 1
        finally:
            await phone.close()
            await center.stop()
        # Past max_connect_wait the queue's announcements (position 1) came between music.
        assert "position-1" in played
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            _, b = sorted(store.search(Query()), key=lambda r: r.arrival)
            assert (b.outcome, b.agent) == ("abandoned", None)
            assert b.attributes["callback_result"] == "abandoned"
            assert b.attributes["callback_order"] == "customer-first"
            assert 0.5 < b.attributes["callback_connect_wait"] < 6.0
            kinds = [e.event for e in store.queue_log(b.call_id)]
            assert kinds == ["enter", "callback", "callback", "abandon"]

    run(main)


def test_a_restart_parks_the_callbacks_again_and_the_order_may_change(tmp_path: Path) -> None:
    async def main() -> None:
        center, _ = make_center(tmp_path, first_config(5070))
        center.sb.enqueue("c1", "sales")
        center.sb.hold_for_callback("c1", CALLER, "sales")  # as the flow's callback node does
        assert center.engine.call("c1").parked
        center.sb.apply(center.engine.unpark(center.sb.now(), "c1"))  # a customer on the line
        center.recorder.commit().wait(10.0)
        await center.callbacks.close()
        resumed = CallRecorder.resume(center.store, center.writer)
        assert resumed is not None
        center.recorder = center.sb.recorder = resumed
        center.engine = center.sb.engine = resumed.engine
        assert not resumed.engine.call("c1").parked
        dialer = CallbackDialer(center)  # the restarted process's
        assert dialer.resume() == 1
        assert resumed.engine.call("c1").parked  # dialled again, from its place
        assert dialer.parked == {"sales": {"c1": None}}
        attrs = resumed.open_calls()["c1"]["attributes"]
        assert attrs["callback_order"] == "customer-first"
        # Started again in agent first, the same callback is released to agents.
        agent_first = load_config(center_files(tmp_path / "af", callback_config(5070), FLOW))
        center.config = agent_first
        dialer = CallbackDialer(center)
        assert dialer.resume() == 1
        assert not resumed.engine.call("c1").parked and not dialer.parked
        center.writer.close()
        center.store.close()

    (tmp_path / "af").mkdir()
    run(main)


def test_callback_order_mistakes_name_the_line_and_field(tmp_path: Path) -> None:
    bad = CONFIG + '\n[callbacks]\norder = "agent-last"\nlead_time = -3\nmax_connect_wait = 0\n'
    path = center_files(tmp_path, bad, FLOW)
    with pytest.raises(FlowError) as e:
        load_config(path)
    text = str(e.value)
    lines = bad.splitlines()
    order = lines.index('order = "agent-last"') + 1
    lead = lines.index("lead_time = -3") + 1
    assert (
        f"{path}:{order}: callbacks.order: unknown order 'agent-last' "
        "(known: agent-first, customer-first)"
    ) in text
    assert f"{path}:{lead}: callbacks.lead_time: must be 0 or more seconds, got -3.0" in text
    assert "callbacks.max_connect_wait: must be a positive number of seconds, got 0.0" in text
    (tmp_path / "ok").mkdir()
    good = load_config(center_files(tmp_path / "ok", first_config(5070), FLOW)).callbacks
    assert (good.order, good.lead_time, good.max_connect_wait) == ("customer-first", LEAD, 30.0)
    (tmp_path / "default").mkdir()
    default = load_config(center_files(tmp_path / "default", CONFIG, FLOW)).callbacks
    assert (default.order, default.lead_time) == ("agent-first", 20.0)


def test_a_killed_server_restarted_dials_the_parked_callback_and_connects(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        port = free_port()
        path = center_files(tmp_path, first_config(port, ring_timeout=20), FLOW)
        old = ContactCenter(load_config(path))
        await old.start()
        await ask_and_leave(old, tmp_path)  # nobody logged in: parked, not dialled
        (call,) = old.callbacks.held
        assert old.engine.call(call).parked and old.callbacks.stats.attempts == 0
        old.recorder.commit().wait(10.0)
        _kill(old)
        center = ContactCenter(load_config(path))  # the same records: a restart
        assert center.restart.resumed and list(center.restart.callbacks) == [call]
        assert center.engine.call(call).parked  # parked again by `resume`
        assert center.callbacks.parked == {"sales": {call: None}}
        await center.start()
        phone = AgentPhone(center.address, "agent1", "secret1", answer_delay=0.2, seed=5)
        await connect_on_login(center, phone, port, tmp_path)
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (record,) = store.search(Query())
            assert (record.call_id, record.outcome, record.agent) == (call, "callback", "ann")
            assert record.attributes["callback_order"] == "customer-first"
            kinds = [e.event for e in store.queue_log(call)]
            assert kinds == ["enter", "callback", "callback", "connect", "callback", "complete"]

    run(main)


def test_when_a_parked_callback_is_due(tmp_path: Path) -> None:
    """`_due_in` on the engine alone (no phones): the head callback is due with an agent free,
    at `lead_time` before a wrap-up ends, or when the queue's estimated wait is within
    `lead_time`; never behind another call."""

    async def main() -> None:
        center, _ = make_center(tmp_path, first_config(5070))
        sb, engine, dialer = center.sb, center.engine, center.callbacks
        sb.listeners.remove(center.legs.on_event)  # no phone to ring: the test answers
        sb.apply(engine.login(sb.now(), "ann", queues=["sales"]))
        sb.enqueue("talk", "sales")  # ann is offered it and answers
        sb.apply(engine.accept(sb.now(), "talk", "ann"))
        sb.enqueue("ahead", "sales")
        sb.enqueue("cb", "sales")
        sb.hold_for_callback("cb", CALLER, "sales")
        assert dialer.parked == {"sales": {"cb": None}}
        assert dialer._due_in("cb", "sales") is None  # position 2
        sb.hangup("ahead")
        assert dialer._due_in("cb", "sales") is None  # ann talking, no handle time known yet
        sb.hangup("talk")  # ann wraps up for 8 s; the handle time is now known (8 s + talk)
        due = dialer._due_in("cb", "sales")
        assert due is not None and WRAPUP - LEAD - 0.5 < due <= WRAPUP - LEAD
        dialer.config = replace(dialer.config, lead_time=WRAPUP)
        assert dialer._due_in("cb", "sales") <= 0.0  # the wrap-up ends within lead_time
        # Busy again (a call that arrives after ann's wrap-up is offered to her, not "cb"):
        # only the head of the line's expected wait can make it due.
        await asyncio.sleep(max(0.0, engine.next_timer_at() or 0.0) - sb.now() + 0.05)
        sb.apply(engine.advance(sb.now()))
        assert engine.agent("ann").state == "available"  # free, and "cb" still parked
        assert (engine.call("cb").state, engine.call("cb").parked) == ("waiting", True)
        sb.enqueue("next", "sales")
        sb.apply(engine.accept(sb.now(), "next", "ann"))
        assert engine.agent_free_in("cb") is None
        # The head of the line waits for the next of the staffed agents to finish: the mean
        # handle time over them (1 here), not a new caller's estimated wait at the back.
        stats = engine.queue_stats("sales")
        assert stats.aht is not None and stats.aht > WRAPUP
        assert stats.estimated_wait is not None and stats.estimated_wait > stats.aht
        # Counted from when it came to the head: just now, it is due lead_time before the
        # mean handle time has passed; at the head that long already, it is due now.
        dialer.config = replace(dialer.config, lead_time=LEAD)
        dialer._head_since["cb"] = sb.now()
        due = dialer._due_in("cb", "sales")
        assert due is not None and stats.aht - LEAD - 0.5 < due <= stats.aht - LEAD
        dialer.config = replace(dialer.config, lead_time=stats.aht)
        assert dialer._due_in("cb", "sales") <= 0.0
        dialer.config = replace(dialer.config, lead_time=LEAD)
        dialer._head_since["cb"] = sb.now() - stats.aht
        assert dialer._due_in("cb", "sales") <= 0.0
        await dialer.close()
        center.writer.close()
        center.store.close()

    run(main)


def test_the_parked_callback_first_in_line_is_the_one_looked_at(tmp_path: Path) -> None:
    """Callers ask for callbacks in another order than they entered: the engine's first
    (priority, then arrival) is the one due, not the first to ask, so neither waits for a
    position the other holds."""

    async def main() -> None:
        center, _ = make_center(tmp_path, first_config(5070))
        sb, engine, dialer = center.sb, center.engine, center.callbacks
        sb.listeners.remove(center.legs.on_event)
        sb.enqueue("early", "sales")
        sb.enqueue("late", "sales")
        sb.hold_for_callback("late", CALLER, "sales")  # asks first
        sb.hold_for_callback("early", CALLER, "sales")
        assert list(dialer.parked["sales"]) == ["late", "early"]
        assert dialer._first_in_line(dialer.parked["sales"]) == "early"
        sb.apply(engine.login(sb.now(), "ann", queues=["sales"]))  # free: "early" is due
        due = dialer._due_in("early", "sales")
        assert due is not None and due <= 0.0
        assert dialer._due_in("late", "sales") is None  # behind it
        await dialer.close()
        center.writer.close()
        center.store.close()

    run(main)
