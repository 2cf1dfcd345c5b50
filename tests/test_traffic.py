"""Generated traffic (acdcore.traffic) over real SIP and RTP on 127.0.0.1: agent phones
register with digest at the ACD B2BUA and are rung by the engine, callers are answered and
their DTMF reaches the agent in order (and the agent's disposition the caller); callers give
up at their patience against the plain UAS; SIPp calls an agent phone. Bounded in time."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from acdcore.media.calls import CallMedia
from acdcore.sip.acd import AcdB2bua
from acdcore.sip.registrar import Registrar
from acdcore.sip.uas import Uas, serve_uas
from acdcore.traffic import (
    AgentPhone,
    Caller,
    CallerScript,
    RegistrationError,
    TrafficPlan,
    open_endpoint,
    run_traffic,
)
from test_sip_acd import USERS, acd_server, live_engine
from test_sip_transport import FAST, free_port, run, run_sipp, sipp_totals


def test_agent_phones_register_take_queue_calls_and_exchange_dtmf() -> None:
    async def main() -> None:
        engine = live_engine()
        async with acd_server(engine) as server:
            acd = server.b2bua
            assert isinstance(acd, AcdB2bua)
            phones = [
                AgentPhone(
                    server.address, user, USERS[user], talk_mean=0.2, talk_min=2.5,
                    disposition="*42#", seed=i, timers=FAST,
                )
                for i, user in enumerate(["agent1", "agent2"])
            ]  # fmt: skip
            caller_line = await open_endpoint(timers=FAST)
            try:
                for phone in phones:
                    await phone.start()
                    assert phone.registered and phone.granted == 300
                assert acd.login.logged_in == {"ann", "bob"}
                scripts = [CallerScript("5000", [(0.3, "1"), (0.9, "23")], patience=20.0)] * 2
                results = await asyncio.wait_for(
                    asyncio.gather(
                        *(Caller(caller_line, server.address, s).run() for s in scripts)
                    ),
                    40.0,
                )
                for r in results:
                    assert (r.outcome, r.answered, r.status) == ("completed", True, 200)
                    assert r.digits_sent == "123"
                    assert r.dtmf_received == "*42#"  # the agent's disposition, in order
                    assert r.rtp_received > 20 and r.rtp_sent > 20
                    assert r.connected >= 2.0
                calls = [c for p in phones for c in p.calls]
                assert len(calls) == 2 and all(len(p.calls) == 1 for p in phones)
                for c in calls:
                    assert (c.ended_by, c.digits_sent, c.dtmf_received) == ("agent", "*42#", "123")
                    assert c.rtp_received > 20
                stats = engine.queue_stats("support")
                assert (stats.answered, stats.abandoned, stats.ended) == (2, 0, 2)
                # An agent going away logs out.
                await phones[0].unregister()
                assert not phones[0].registered
                assert acd.login.logged_in == {"bob"}
            finally:
                for phone in phones:
                    await phone.close()
                caller_line.close()
            assert acd.login.logged_in == set()

    run(main)


def test_wrong_password_is_refused_with_registration_error() -> None:
    async def main() -> None:
        async with acd_server(live_engine()) as server:
            phone = AgentPhone(server.address, "agent1", "wrong", timers=FAST)
            try:
                with pytest.raises(RegistrationError, match="agent1") as e:
                    await phone.start()
                assert e.value.status in (401, 403)
                assert not phone.registered
            finally:
                await phone.close()

    run(main)


def test_caller_abandons_before_and_after_the_answer_and_sends_digits_in_order() -> None:
    async def main() -> None:
        slow = await serve_uas(Uas(answer_delay=30.0), port=0, timers=FAST)
        media = CallMedia("echo")
        echo = await serve_uas(Uas(media=media), port=0, timers=FAST)
        line = await open_endpoint(timers=FAST)
        try:
            nobody = ("127.0.0.1", free_port())
            lost = await Caller(line, nobody, CallerScript("100", patience=1.0)).run()
            assert (lost.outcome, lost.status, lost.answered) == ("failed", 408, False)
            ringing = await Caller(line, slow.address, CallerScript("100", patience=1.0)).run()
            assert (ringing.outcome, ringing.answered) == ("abandoned", False)
            assert slow.uas.stats.cancelled == 1
            script = CallerScript("100", [(0.2, "12"), (0.8, "#"), (1.2, "9")], patience=3.0)
            r = await Caller(line, echo.address, script).run()
            assert (r.outcome, r.answered, r.digits_sent) == ("abandoned", True, "12#9")
            assert r.rtp_received > 20  # its own tone, echoed
            assert 1.5 < r.connected < 10.0
            for _ in range(100):
                if media.ended:
                    break
                await asyncio.sleep(0.05)
            assert [s.dtmf for _, s in media.ended] == ["12#9"]
        finally:
            line.close()
            slow.close()
            media.close()
            echo.close()

    run(main)


def test_sipp_calls_an_agent_phone_that_waits_for_the_bye(tmp_path: Path) -> None:
    async def main() -> None:
        phone = AgentPhone(("127.0.0.1", 9), "agent1", "x", answer_delay=0.1, talk_mean=None)
        await phone.start(register=False)
        try:
            stat = tmp_path / "uac.csv"
            rc = await run_sipp(
                phone.endpoint.local, "-sn", "uac", "-s", "agent1", "-r", "1", "-m", "3",
                "-d", "300", stat=stat,
            )  # fmt: skip
            assert rc == 0
            assert sipp_totals(stat) == {"ok": 3, "failed": 0, "created": 3}
            assert len(phone.calls) == 3
            assert all(c.ended_by == "caller" for c in phone.calls)
            assert not phone.busy
        finally:
            await phone.close()

    run(main)


def test_run_traffic_plan_against_the_acd_is_seeded_and_bounded() -> None:
    async def main() -> None:
        engine = live_engine()
        async with acd_server(engine) as server:
            plan = TrafficPlan(
                server.address, "5000", agents=list(USERS.items()), rate=2.0, duration=3.0,
                seed=7, patience_mean=600.0, menu={"1": 1.0, "2": 1.0}, menu_delay=0.2,
                talk_mean=0.5, answer_delay=0.1, disposition="7",
            )  # fmt: skip
            loop = asyncio.get_running_loop()
            start = loop.time()
            summary = await asyncio.wait_for(run_traffic(plan, timers=FAST), 120.0)
            assert loop.time() - start < 120.0
            assert summary.agents_registered == 2
            assert summary.calls >= 1 and len(summary.results) == summary.calls
            assert summary.outcomes["failed"] == 0
            assert summary.answered == summary.agent_calls == summary.calls
            assert summary.digits_sent == summary.calls
            assert all(r.digits_sent in ("1", "2") for r in summary.results)
            assert summary.digits_received_by_agents == summary.digits_sent
            assert engine.queue_stats("support").answered == summary.calls
            assert "calls" in summary.lines()[0]
        with pytest.raises(ValueError, match="rate"):
            TrafficPlan(("127.0.0.1", 5060), "5000", rate=0)

    run(main)


def test_agent_phone_refreshes_before_its_binding_expires() -> None:
    async def main() -> None:
        reg = Registrar(USERS, min_expires=2, default_expires=2, max_expires=2)
        uas = Uas()
        uas.handlers["REGISTER"] = reg.on_register
        server = await serve_uas(uas, port=0, timers=FAST)
        phone = AgentPhone(server.address, "agent2", USERS["agent2"], expires=10, timers=FAST)
        try:
            await phone.start()
            assert phone.granted == 2  # clamped by the registrar: refresh every second
            await asyncio.sleep(4.5)  # more than twice the expiry
            assert phone.refreshes >= 2
            assert [b.contact for b in reg.lookup("sip:agent2@127.0.0.1")] == [
                f"sip:agent2@127.0.0.1:{phone.endpoint.local[1]}"
            ]
            assert reg.stats.expired == 0
            await phone.unregister()
            assert reg.lookup("sip:agent2@127.0.0.1") == []
        finally:
            await phone.close()
            reg.close()
            server.close()

    run(main)


def test_an_agent_phone_on_a_call_is_busy_to_a_second_one() -> None:
    async def main() -> None:
        phone = AgentPhone(("127.0.0.1", 9), "agent1", "x", answer_delay=0.1, talk_mean=None)
        await phone.start(register=False)
        line = await open_endpoint(timers=FAST)
        try:
            first = asyncio.ensure_future(
                Caller(line, phone.endpoint.local, CallerScript("agent1", patience=3.0)).run()
            )
            assert await phone.wait_until(lambda: phone.busy, 10.0)
            second = await Caller(line, phone.endpoint.local, CallerScript("agent1")).run()
            assert (second.outcome, second.status, second.answered) == ("failed", 486, False)
            r = await asyncio.wait_for(first, 20.0)
            assert (r.outcome, r.answered) == ("abandoned", True)
            assert r.rtp_received > 20  # the phone's tone
            assert await phone.wait_until(lambda: not phone.busy, 10.0)
            assert [c.ended_by for c in phone.calls] == ["caller"]
            assert phone.calls[0].rtp_received > 20
        finally:
            line.close()
            await phone.close()

    run(main)


def test_plan_schedule_is_seeded_poisson_within_the_duration() -> None:
    target = ("127.0.0.1", 5060)
    menu = {"1": 3.0, "2": 1.0}
    plan = TrafficPlan(target, "5000", rate=2.0, duration=2000.0, seed=11, menu=menu,
                       patience_mean=20.0, max_calls=10_000)  # fmt: skip
    schedule = plan.schedule()
    assert schedule == TrafficPlan(**{**plan.__dict__}).schedule()  # same seed, same callers
    assert schedule != TrafficPlan(**{**plan.__dict__, "seed": 12}).schedule()
    times = [at for at, _ in schedule]
    assert times == sorted(times) and times[0] > 0 and times[-1] < 2000.0
    # About rate * duration = 4000 arrivals (Poisson sd 63): 5 sd either side.
    assert 3680 < len(schedule) < 4320
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.45 < sum(gaps) / len(gaps) < 0.55  # exponential gaps of mean 1 / rate
    pressed = [s.steps[0][1] for _, s in schedule]
    assert 0.70 < pressed.count("1") / len(pressed) < 0.80  # weight 3 of 4
    patience = [s.patience for _, s in schedule]
    assert min(patience) >= 1.0 and max(patience) <= 101.0
    assert 18.0 < sum(patience) / len(patience) < 23.0  # mean 20 (+1, a little capped)
    assert len(TrafficPlan(target, "5000", rate=50.0, duration=100.0, max_calls=7).schedule()) == 7
    no_menu = TrafficPlan(target, "1", duration=20.0).schedule()
    assert no_menu and all(s.steps == [] for _, s in no_menu)
