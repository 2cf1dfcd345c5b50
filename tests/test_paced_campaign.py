"""A predictive campaign paced by acdcore.pacing.Pacer on a real Engine."""

from __future__ import annotations

import datetime as dt
import random

import acdcore
import pytest
from acdcore.outbound import Campaign, LeadList, PacedCampaign

T0 = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC).timestamp()  # 10:00 in New York
NY = "America/New_York"


def _leads(n: int) -> LeadList:
    return LeadList.from_iterable([{"phone": f"+1212{i:07d}", "timezone": NY} for i in range(n)])


def _day(
    agents: int, seconds: int, ring: float | None = None
) -> tuple[PacedCampaign, list[tuple[int, int]]]:
    """Drives the paced campaign a second at a time: 20% of dials answered by a person after
    6-10 s (whole seconds, so every event lands on a tick), the rest no answer after 20 s;
    connected calls talk 60 s. Returns the campaign and (ready, dials) per tick."""
    rng = random.Random(7)
    e = acdcore.Engine(seed=1, auto_accept=True)
    e.add_queue("outbound")
    for a in range(agents):
        e.login(T0, f"a{a}", queues=["outbound"])
    c = Campaign(_leads(5000), now=T0, mode="predictive", engine=e, queue="outbound")
    paced = PacedCampaign(c, aht=60.0, ring=ring)
    c.start(T0)
    outcomes: list[tuple[float, int, str]] = []
    ends: list[tuple[float, str]] = []
    per_tick = []
    for s in range(seconds):
        now = T0 + s
        for t, lead, outcome in sorted(o for o in outcomes if o[0] <= now):
            outcomes.remove((t, lead, outcome))
            for action in paced.dial_result(lead, outcome, t):
                for ev in action.engine_events:
                    if ev.kind == "assign" and ev.call is not None:
                        ends.append((t + 60.0, ev.call))
        for t, call in sorted(x for x in ends if x[0] <= now):
            ends.remove((t, call))
            c.on_engine_events(e.hangup(t, call))
        ready, _ = c.agents()
        dials = paced.tick(now)
        per_tick.append((ready, len(dials)))
        for d in dials:
            if rng.random() < 0.2:
                outcomes.append((now + rng.randint(6, 10), d.lead, "human"))
            else:
                outcomes.append((now + 20.0, d.lead, "no-answer"))
    return paced, per_tick


def test_the_pacer_learns_the_campaign_and_dials_ahead_of_agents() -> None:
    paced, per_tick = _day(agents=10, seconds=900)
    st = paced.campaign.stats()
    est = paced.pacer.state(0)
    # From the cautious prior (0.5, 10 s) toward what the campaign measured (0.2, about 8 s).
    assert est["answer_rate"] == pytest.approx(0.2, abs=0.06)
    assert est["time_to_answer"] == pytest.approx(8.0, abs=1.5)
    # Predictive: more dials than ready agents at some ticks, and far more dials than connects.
    assert any(n > ready for ready, n in per_tick)
    assert st["dials"] > 3 * st["connects"] > 0
    assert st["abandoned"] <= 0.05 * st["connects"] + 2


def test_dials_in_flight_weighed_by_their_ages_dial_more() -> None:
    # A dial that has rung 12 s of 20 is most likely a no-answer: with the ringing model
    # the pacer counts it for less and dials more, still within the abandon target's reach.
    plain, _ = _day(agents=10, seconds=600)
    aged, _ = _day(agents=10, seconds=600, ring=20.0)
    a, p = aged.campaign.stats(), plain.campaign.stats()
    assert a["dials"] > p["dials"] * 1.05, (a["dials"], p["dials"])
    assert a["abandoned"] <= 0.05 * a["connects"] + 2


def test_dial_results_teach_the_pacer_the_time_to_answer_shape() -> None:
    # The answers come 6-10 s after their dial (whole seconds): all that the learned histogram
    # took from them is in the 1 s bins from 6 to 10; the rest is what remains of the prior
    # shape after n answers, 0.99^n.
    paced, _ = _day(agents=10, seconds=900, ring=20.0)
    shape = paced.pacer.answer_shape(0)
    assert shape is not None
    masses, edges = shape
    assert edges[-1] == 20.0 and len(masses) == 20
    st = paced.campaign.stats()
    prior = 0.99 ** (st["connects"] + st["machines"])
    assert st["connects"] > 100 and prior < 0.4
    assert masses[6:11].sum() >= 1 - prior - 1e-9, masses
    assert masses[:6].sum() + masses[11:].sum() <= prior + 1e-9, masses
    # Without ring the times only feed the mean.
    plain, _ = _day(agents=10, seconds=300)
    assert plain.pacer.answer_shape(0) is None
    assert plain.pacer.state(0)["time_to_answer"] < 10.0


def test_no_agents_no_dials_and_only_predictive_campaigns() -> None:
    paced, per_tick = _day(agents=0, seconds=30)
    assert all(n == 0 for _, n in per_tick)
    assert paced.campaign.stats()["dials"] == 0
    with pytest.raises(ValueError, match="must be predictive"):
        PacedCampaign(Campaign(_leads(1), now=T0, mode="power", ratio=2))
