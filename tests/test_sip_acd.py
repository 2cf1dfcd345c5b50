"""The engine choosing which agent's phone rings (acdcore.sip.acd), against real peers on
127.0.0.1: two baresip agent phones register with digest auth (and so log in), SIPp calls the
queue's number. Bounded in time; without the peers these fail in CI and skip elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acdcore import Engine
from acdcore.sip.acd import AcdB2bua
from acdcore.sip.b2bua import B2buaServer, BridgedCall, serve_b2bua
from acdcore.sip.registrar import AgentProfile, Registrar
from test_sip_peers import baresip, baresip_config, wait_for
from test_sip_transport import FAST, SCENARIOS, run, run_sipp, sipp_totals

USERS = {"agent1": "secret1", "agent2": "secret2"}
PROFILES = {
    "agent1": AgentProfile("ann", queues=["support"]),
    "agent2": AgentProfile("bob", queues=["support"]),
}


def live_engine(**queue: object) -> Engine:
    engine = Engine(auto_accept=False)
    engine.add_queue("support", strategy="longest-idle", **queue)  # type: ignore[arg-type]
    return engine


@contextlib.asynccontextmanager
async def acd_server(engine: Engine) -> AsyncIterator[B2buaServer]:
    reg = Registrar(USERS, algorithms=["MD5"])
    acd = AcdB2bua(reg, engine, {"5000": "support"}, PROFILES)
    server = await serve_b2bua(acd, port=0, timers=FAST)
    try:
        yield server
    finally:
        acd.close()
        reg.close()
        server.close()


@contextlib.asynccontextmanager
async def agent_phones(
    directory: Path, server: B2buaServer, users: list[str], manual: frozenset[str] = frozenset()
) -> AsyncIterator[None]:
    """baresip phones for `users`, started one after the other, each registered before the next
    (so the first has been idle longest)."""
    async with contextlib.AsyncExitStack() as stack:
        reg = server.b2bua.registrar
        for user in users:
            home = directory / user
            home.mkdir()
            answermode = "manual" if user in manual else "auto"
            baresip_config(home, server.address, USERS[user], user, answermode)
            await stack.enter_async_context(baresip(home, 30))
            assert await wait_for(lambda u=user: reg.lookup(f"sip:{u}@127.0.0.1"), 5.0)
        yield


async def call_queue(acd: AcdB2bua, directory: Path, calls: int, hold_ms: int) -> list[str]:
    """SIPp's `uac` calls the queue number `calls` times (one a second), each held `hold_ms`
    and hung up by the caller; returns the AOR of the agent each call reached, in order."""
    reached: list[BridgedCall] = []
    acd.on_ended.append(reached.append)
    stat = directory / "calls.csv"
    rc = await run_sipp(
        acd.uac.local, "-sn", "uac", "-s", "5000", "-r", "1", "-m", str(calls),
        "-d", str(hold_ms), stat=stat,
    )  # fmt: skip
    assert rc == 0
    assert sipp_totals(stat) == {"ok": calls, "failed": 0, "created": calls}
    assert [c.ended_by for c in reached] == ["caller"] * calls
    return [c.aor for c in reached]


def test_queue_calls_ring_the_agent_the_engine_picks(tmp_path: Path) -> None:
    async def main() -> None:
        engine = live_engine()
        async with (
            acd_server(engine) as server,
            agent_phones(tmp_path, server, ["agent1", "agent2"]),
        ):
            acd = server.b2bua
            assert isinstance(acd, AcdB2bua)
            assert acd.login.logged_in == {"ann", "bob"}
            reached = await call_queue(acd, tmp_path, 2, 500)
            # Longest-idle: ann logged in first, takes the first call; bob, idle since his
            # login, is idler than ann after her call, so the second goes to him.
            assert reached == ["sip:agent1@127.0.0.1", "sip:agent2@127.0.0.1"]
            stats = engine.queue_stats("support")
            assert (stats.offered, stats.answered, stats.abandoned, stats.ended) == (2, 2, 0, 2)
            assert (stats.waiting, acd.queued, acd.calls) == (0, {}, {})
            assert (acd.acd.offers, acd.acd.rejected) == (2, 0)
            assert engine.agent("ann").calls == 1 and engine.agent("bob").calls == 1

    run(main)


def test_caller_cancel_while_no_agent_is_logged_in_is_an_abandon(tmp_path: Path) -> None:
    async def main() -> None:
        engine = live_engine()
        engine.advance(100.0)  # an engine already in use: our clock carries on from its time
        async with acd_server(engine) as server:
            acd = server.b2bua
            assert isinstance(acd, AcdB2bua)
            assert 100.0 <= acd.now() < 110.0
            stat = tmp_path / "cancel.csv"
            scenario = str(SCENARIOS / "uac_cancel.xml")
            rc = await run_sipp(server.address, "-sf", scenario, "-s", "5000", "-m", "1", stat=stat)
            assert rc == 0
            assert sipp_totals(stat)["ok"] == 1
            stats = engine.queue_stats("support")
            assert (stats.offered, stats.answered, stats.abandoned, stats.waiting) == (1, 0, 1, 0)
            assert (acd.acd.abandoned, acd.stats.cancelled, acd.queued) == (1, 1, {})

    run(main)


def test_an_unregistered_agent_is_rejected_and_the_call_goes_to_the_other(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        # ann is logged in by hand with no phone: her offer is rejected at once, bob rings.
        engine = live_engine(retry=30.0)
        async with acd_server(engine) as server:
            acd = server.b2bua
            assert isinstance(acd, AcdB2bua)
            engine.login(acd.now(), "ann", queues=["support"])
            async with agent_phones(tmp_path, server, ["agent2"]):
                assert await call_queue(acd, tmp_path, 1, 300) == ["sip:agent2@127.0.0.1"]
                assert acd.acd.rejected == 1
                assert engine.queue_stats("support").answered == 1

    run(main)


def test_an_agent_who_lets_it_ring_is_cancelled_at_the_ring_timeout(tmp_path: Path) -> None:
    async def main() -> None:
        engine = live_engine(ring_timeout=1.0, retry=30.0)
        async with (
            acd_server(engine) as server,
            agent_phones(tmp_path, server, ["agent1", "agent2"], frozenset({"agent1"})),
        ):
            acd = server.b2bua
            assert isinstance(acd, AcdB2bua)
            reached = await call_queue(acd, tmp_path, 1, 300)
            # ann (idle longest) rang and never answered: the engine's timeout withdrew the
            # offer, we cancelled her phone, and bob got the call.
            assert reached == ["sip:agent2@127.0.0.1"]
            assert (acd.acd.offers, acd.acd.withdrawn, acd.acd.rejected) == (2, 1, 0)
            assert engine.agent("ann").no_answers == 1
            stats = engine.queue_stats("support")
            assert (stats.answered, stats.abandoned) == (1, 0)

    run(main)


def test_acd_refuses_bad_setup() -> None:
    reg = Registrar(USERS)
    with pytest.raises(ValueError, match="auto_accept"):
        AcdB2bua(reg, Engine(auto_accept=True), {}, PROFILES)
    with pytest.raises(ValueError, match="unknown engine queue 'sales'"):
        AcdB2bua(reg, live_engine(), {"6000": "sales"}, PROFILES)
    with pytest.raises(ValueError, match="tick"):
        AcdB2bua(reg, live_engine(), {}, PROFILES, tick=0)


def test_served_on_udp_and_tcp_the_engine_ticks_once() -> None:
    class Counting(AcdB2bua):
        ticks = 0

        def _advance(self) -> None:
            self.ticks += 1
            super()._advance()

    async def main() -> None:
        reg = Registrar(USERS, algorithms=["MD5"])
        acd = Counting(reg, live_engine(), {"5000": "support"}, PROFILES, tick=0.05)
        server = await serve_b2bua(acd, port=0, timers=FAST, transport="both")
        try:
            assert len(server.others) == 1
            await asyncio.sleep(0.5)  # about 10 ticks of one timer; two timers would be 20
            assert 1 <= acd.ticks <= 13
        finally:
            acd.close()
            reg.close()
            server.close()

    run(main)
