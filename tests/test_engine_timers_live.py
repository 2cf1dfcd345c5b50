"""Live hosts run the engine's timers at their own time, without a tick: the flows'
`Switchboard` and the SIP `AcdB2bua` sleep until `Engine.next_timer_at()` and are woken when an
operation sets an earlier timer. Real engine, real event loop, real UDP socket on 127.0.0.1;
every wait is bounded (seconds), nothing asserts a tight wall-clock figure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from acdcore import Engine
from acdcore.flows import Switchboard
from acdcore.sip.acd import AcdB2bua
from acdcore.sip.b2bua import serve_b2bua
from acdcore.sip.registrar import Registrar
from test_sip_transport import FAST

RING = 0.3  # seconds an offer rings
WRAP = 0.3  # seconds of wrap-up
SLACK = 3.0  # how late a timer may be observed on a loaded machine


class CountingEngine:
    """The engine, counting `advance` calls (a tick would call it over and over)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.advances = 0

    def advance(self, now: float) -> Any:
        self.advances += 1
        return self.engine.advance(now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def live(**queue: Any) -> Engine:
    engine = Engine(auto_accept=False)
    engine.add_queue("q", **queue)
    return engine


async def until(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def kinds(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]


def test_switchboard_fires_a_ring_timeout_on_time_and_does_not_tick_while_idle() -> None:
    async def main() -> None:
        counting = CountingEngine(live(ring_timeout=RING, max_no_answers=1))
        sb = Switchboard(counting)  # type: ignore[arg-type]
        seen: list[Any] = []
        sb.listeners.append(seen.append)
        runner = asyncio.create_task(sb.run())
        try:
            await asyncio.sleep(0.05)
            sb.apply(counting.engine.login(sb.now(), "ann", queues=["q"]))
            start = time.monotonic()
            offer = kinds(sb.enqueue("c1", "q"), "offer")[0]
            assert offer.agents == ["ann"]
            assert await until(lambda: bool(kinds(seen, "unoffer")), RING + SLACK)
            late = time.monotonic() - start
            unoffer = kinds(seen, "unoffer")[0]
            assert (unoffer.agent, unoffer.why) == ("ann", "timeout")
            assert unoffer.t == offer.t + RING  # the engine's own time of the timer
            assert late >= RING * 0.9, late  # not before it was due
            # The miss paused ann: no timer is left, and an idle switchboard sleeps.
            assert counting.engine.next_timer_at() is None
            before = counting.advances
            await asyncio.sleep(0.5)
            assert counting.advances == before
        finally:
            runner.cancel()

    asyncio.run(main())


def test_switchboard_ends_a_wrap_up_on_time_and_the_agent_takes_the_waiting_call() -> None:
    async def main() -> None:
        engine = live(wrapup=WRAP, ring_timeout=0)
        sb = Switchboard(engine)
        seen: list[Any] = []
        sb.listeners.append(seen.append)
        runner = asyncio.create_task(sb.run())
        try:
            await asyncio.sleep(0.05)
            sb.apply(engine.login(sb.now(), "ann", queues=["q"]))
            sb.enqueue("c1", "q")
            sb.apply(engine.accept(sb.now(), "c1", "ann"))
            sb.enqueue("c2", "q")  # waits: ann is on c1
            end = kinds(sb.hangup("c1"), "end")[0]
            start = time.monotonic()
            # The wrap-up timer is set by the hangup, after run() went to sleep with none.
            assert await until(lambda: bool(kinds(seen, "offer")[1:]), WRAP + SLACK)
            assert time.monotonic() - start >= WRAP * 0.9
            offer = kinds(seen, "offer")[1]
            assert (offer.call, offer.agents, offer.t) == ("c2", ["ann"], end.t + WRAP)
        finally:
            runner.cancel()

    asyncio.run(main())


def test_switchboard_wakes_for_a_timer_earlier_than_the_one_it_sleeps_for() -> None:
    async def main() -> None:
        engine = Engine(auto_accept=False)
        engine.add_queue("slow", ring_timeout=60, max_no_answers=1)
        engine.add_queue("fast", ring_timeout=RING, max_no_answers=1)
        sb = Switchboard(engine)
        seen: list[Any] = []
        sb.listeners.append(seen.append)
        runner = asyncio.create_task(sb.run())
        try:
            sb.apply(engine.login(sb.now(), "ann", queues=["slow"]))
            sb.apply(engine.login(sb.now(), "bob", queues=["fast"]))
            sb.enqueue("c1", "slow")  # a 60 s timer: run() sleeps for it
            await asyncio.sleep(0.1)
            sb.enqueue("c2", "fast")  # an earlier one
            ok = await until(lambda: any(e.call == "c2" for e in kinds(seen, "unoffer")), SLACK)
            assert ok
            assert not any(e.call == "c1" for e in kinds(seen, "unoffer"))
        finally:
            runner.cancel()

    asyncio.run(main())


def test_switchboard_tick_is_optional_and_must_be_positive() -> None:
    engine = live()
    assert Switchboard(engine).tick is None
    assert Switchboard(engine, tick=0.5).tick == 0.5
    for bad in (0, -1.0):
        try:
            Switchboard(engine, tick=bad)
        except ValueError as e:
            assert "tick" in str(e)
        else:
            raise AssertionError(f"tick={bad} accepted")


def test_acd_b2bua_runs_ring_timeouts_and_wrap_ups_on_the_engine_timer() -> None:
    async def main() -> None:
        engine = live(ring_timeout=RING, max_no_answers=1, wrapup=WRAP)
        reg = Registrar({"agent1": "secret1"}, algorithms=["MD5"])
        acd = AcdB2bua(reg, engine, {"5000": "q"}, {})
        server = await serve_b2bua(acd, port=0, timers=FAST)
        try:
            assert acd._timer is None  # nothing pending: nothing armed, no tick
            # Engine operations whose events come through the host (as its own SIP legs'
            # would): a ring timeout, then a wrap-up end.
            acd._events(engine.login(acd.now(), "ann", queues=["q"]))
            acd._events(engine.enqueue(acd.now(), "c1", "q"))  # rings ann
            assert acd._timer_at == engine.next_timer_at()
            ok = await until(lambda: engine.agent("ann").state == "paused", RING + SLACK)
            assert ok and engine.agent("ann").pause_reason == "no-answer"
            assert engine.call("c1").state == "waiting"
            assert acd._timer is None and engine.next_timer_at() is None
            acd._events(engine.unpause(acd.now(), "ann"))  # c1 rings ann again
            acd._events(engine.accept(acd.now(), "c1", "ann"))
            acd._events(engine.hangup(acd.now(), "c1"))  # ann wraps up
            assert engine.agent("ann").state == "wrap-up"
            ok = await until(lambda: engine.agent("ann").state == "available", WRAP + SLACK)
            assert ok
            assert acd._timer is None
        finally:
            acd.close()
            reg.close()
            server.close()

    asyncio.run(main())
