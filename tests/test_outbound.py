"""acdcore.outbound from Python: lead loading with row reports, the do-not-call list, every
compliance rule refusing with its reason, retries, callbacks, abandonment and blending with
the routing engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import acdcore
import numpy as np
import pytest
from acdcore.outbound import BadRow, Campaign, DncList, LeadList

# 2026-01-15 15:00 UTC: 10:00 in New York, 07:00 in Los Angeles, 15:00 in London.
T0 = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC).timestamp()
NY = "America/New_York"


def ny_leads(n: int) -> LeadList:
    return LeadList.from_iterable([{"phone": f"+1212555{i:04d}", "timezone": NY} for i in range(n)])


def test_from_csv_reports_bad_rows_by_line_and_keeps_fields(tmp_path: Path) -> None:
    p = tmp_path / "leads.csv"
    p.write_text(
        "phone,timezone,priority,name\n"
        "+12125550100,America/New_York,2,Ann\n"
        "+442071838750,,0,Bob\n"
        "2125550100,America/New_York,0,NoPlus\n"
        "+14155550100,Mars/Base,0,Zone\n"
        "+14155550101,America/Los_Angeles,high,Prio\n"
        "+33123456789,,1,Derived\n"
    )
    leads = LeadList.from_csv(p, zone_prefixes={"44": "Europe/London", "33": "Europe/Paris"})
    assert len(leads) == 3
    assert leads.numbers == ["+12125550100", "+442071838750", "+33123456789"]
    assert leads.zones == [NY, "Europe/London", "Europe/Paris"]
    assert leads.priorities.tolist() == [2, 0, 1]
    assert leads.rows.tolist() == [2, 3, 7]
    assert [f["name"] for f in leads.fields] == ["Ann", "Bob", "Derived"]
    bad = leads.bad_rows
    assert [(b.row, b.column, b.value) for b in bad] == [
        (4, "phone", "2125550100"),
        (5, "timezone", "Mars/Base"),
        (6, "priority", "high"),
    ]
    assert "'+'" in bad[0].reason and "unknown IANA" in bad[1].reason


def test_from_csv_without_phone_column(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("number\n+12125550100\n")
    with pytest.raises(ValueError, match="'phone'"):
        LeadList.from_csv(p)


def test_from_numpy_digits_and_missing_zone() -> None:
    phones = np.array([12125550100, 1234, 442071838750], dtype=np.uint64)
    leads = LeadList.from_numpy(phones, [NY, NY, None], np.array([1, 2, 3]))
    assert leads.numbers == ["+12125550100"]
    assert leads.bad_rows == [
        BadRow(1, "phone", "1234", "fewer than 8 digits"),
        BadRow(2, "timezone", "", "no time zone given and no zone prefix matches the number"),
    ]
    with pytest.raises(ValueError, match="priorities must be integers"):
        LeadList.from_numpy(phones, priorities=np.array([0.5, 1, 2]))
    with pytest.raises(ValueError, match="default_zone"):
        LeadList.from_numpy(phones, default_zone="Nowhere")


def test_dnc_batch_lookup_from_numpy_and_strings() -> None:
    rng = np.random.default_rng(1)
    listed = rng.integers(10**10, 10**11, size=200_000, dtype=np.uint64)
    dnc = DncList(listed)
    queries = np.concatenate([listed[:1000], listed[:1000] + np.uint64(1)])
    got = dnc.contains_many(queries)
    expected = np.isin(queries, listed)
    assert got.dtype == np.bool_ and (got == expected).all() and got[:1000].all()
    assert dnc.count_many(queries) == int(expected.sum()) >= 1000
    assert dnc.count_many(queries[::-2]) == int(expected[::-2].sum())  # strided input
    with pytest.raises(ValueError, match="non-negative"):
        dnc.count_many(np.array([-1, 5]))
    d = DncList(["+1 212 555 0100", "bogus"])
    assert len(d) == 1 and d.bad_rows[0].value == "bogus"
    assert "+12125550100" in d and 12125550100 in d and "+12125550101" not in d
    got = d.contains_many(["+12125550100", "junk", "+12125550101"])
    assert got.tolist() == [True, False, False]


def test_every_rule_refuses_and_records_its_reason() -> None:
    rows = [
        {"phone": "+12125550001", "timezone": NY},  # on the DNC list
        {"phone": "+14155550002", "timezone": "America/Los_Angeles"},  # 07:00 local
        {"phone": "+442071838750", "timezone": "Europe/London"},  # holiday in London
        {"phone": "+12125550003", "timezone": NY},  # dialable
    ]
    c = Campaign(
        LeadList.from_iterable(rows),
        now=T0,
        dnc=DncList(["+12125550001"]),
        holidays=[("Europe/London", "2026-01-15")],
    )
    c.start(T0)
    dials = c.tick(T0, ready=4, staffed=4)
    assert [d.lead for d in dials] == [3]
    assert dials[0].number == "+12125550003" and dials[0].campaign == "campaign"
    assert [c.lead(i)["refusal"] for i in range(3)] == ["do-not-call", "calling-hours", "holiday"]
    assert c.lead(0)["state"] == "done"
    assert c.stats()["refused"] == {
        "do-not-call": 1,
        "max-attempts": 0,
        "calling-hours": 1,
        "holiday": 1,
        "min-gap": 0,
    }
    # Los Angeles opens at 08:00 local = 16:00 UTC.
    assert c.tick(T0 + 3599, ready=4, staffed=4) == []
    assert [d.lead for d in c.tick(T0 + 3600, ready=4, staffed=4)] == [1]


def test_calling_hours_follow_daylight_saving() -> None:
    # 12:30 UTC is 07:30 in New York in January (EST), 08:30 in July (EDT).
    winter = dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.UTC).timestamp()
    summer = dt.datetime(2026, 7, 15, 12, 30, tzinfo=dt.UTC).timestamp()
    for now, dialed in ((winter, 0), (summer, 1)):
        c = Campaign(ny_leads(1), now=now, calling_hours=("08:00", "20:00"))
        c.start(now)
        assert len(c.tick(now, ready=1, staffed=1)) == dialed


def test_retries_max_attempts_and_min_gap() -> None:
    c = Campaign(ny_leads(1), now=T0, max_attempts=2, min_gap=900, retry={"busy": 60})
    c.start(T0)
    assert len(c.tick(T0, ready=1, staffed=1)) == 1
    c.dial_result(0, "busy", T0 + 5)
    assert c.lead(0)["state"] == "retry-scheduled"
    assert c.tick(T0 + 70, ready=1, staffed=1) == []
    assert c.lead(0)["refusal"] == "min-gap"
    assert len(c.tick(T0 + 900, ready=1, staffed=1)) == 1
    c.dial_result(0, "no-answer", T0 + 930)
    c.tick(T0 + 86400, ready=1, staffed=1)
    lead = c.lead(0)
    assert (lead["state"], lead["refusal"], lead["attempts"]) == ("done", "max-attempts", 2)
    with pytest.raises(ValueError, match="no-answer after 5"):
        c2 = Campaign(ny_leads(1), now=T0)
        c2.start(T0)
        c2.tick(T0, ready=1, staffed=1)
        c2.dial_result(0, "no-answer", T0 + 5)


def test_new_rules_apply_from_now_on_and_read_back() -> None:
    c = Campaign(ny_leads(2), now=T0, max_attempts=1, calling_hours=("09:00", "17:00"))
    assert c.rules["calling_hours"] == ("09:00", "17:00") and c.rules["max_attempts"] == 1
    c.start(T0)
    assert len(c.tick(T0, ready=1, staffed=1)) == 1  # lead 0 rings
    with pytest.raises(acdcore.StateError, match="in flight"):
        c.set_rules(ring_timeout=30)  # lead 0 rings with the old timeout
    for bad, match in [
        ({"max_attempts": 0}, "max_attempts"),
        ({"calling_hours": ("09:00", "25:00")}, "calling_hours end"),
        ({"retry": {"busy": -5}}, "retry delay after busy"),
        ({"outbound_share": 2.0}, "outbound_share"),
    ]:
        with pytest.raises(ValueError, match=match):
            c.set_rules(**bad)  # type: ignore[arg-type]
    assert c.rules["calling_hours"] == ("09:00", "17:00")  # nothing changed
    c.set_rules(max_attempts=4, retry={"busy": 30}, calling_hours=("10:30", "20:00"))
    r = c.rules
    assert (r["max_attempts"], r["retry"]["busy"]) == (4, 30)
    assert r["calling_hours"] == ("10:30", "20:00")
    assert r["retry"]["no-answer"] == 3600.0  # not given: the default
    # 10:00 in New York is now outside the hours: lead 1 is refused until 10:30.
    assert c.tick(T0 + 1, ready=2, staffed=2) == []
    assert c.lead(1)["refusal"] == "calling-hours"
    c.dial_result(0, "busy", T0 + 5)  # retried by the new rules: 4 attempts, 30 s
    assert c.lead(0)["state"] == "retry-scheduled"
    assert {d.lead for d in c.tick(T0 + 1800, ready=2, staffed=2)} == {0, 1}


def test_callback_with_preferred_agent() -> None:
    c = Campaign(ny_leads(1), now=T0, callback_window=600)
    c.start(T0)
    c.tick(T0, ready=1, staffed=1)
    [a] = c.dial_result(0, "human", T0 + 6)
    assert a.kind == "connect" and a.agent is None
    c.connect(0, T0 + 7)
    c.hangup(0, T0 + 67)
    at = T0 + 86400
    c.disposition(0, T0 + 70, callback_at=at, agent="alice")
    assert c.lead(0)["state"] == "callback"
    assert c.tick(at - 1, ready=1, staffed=1) == []
    [d] = c.tick(at, ready=1, staffed=1)
    assert d.preferred_agent == "alice"
    [a] = c.dial_result(0, "human", at + 5)
    assert (a.agent, a.until) == ("alice", at + 600)
    c.disposition(0, at + 100)
    s = c.stats()
    assert (s["dials"], s["connects"], s["leads_left"], s["talk_time"]) == (2, 2, 0, 60.0)
    assert s["answer_rate"] == 1.0


def test_abandon_plays_info_message_within_two_seconds_and_caps_power() -> None:
    c = Campaign(ny_leads(50), now=T0, mode="power", ratio=3)
    c.start(T0)
    dials = c.tick(T0, ready=1, staffed=1)
    assert len(dials) == 3
    for d in dials:
        c.dial_result(d.lead, "human", T0 + 5)
    c.connect(dials[0].lead, T0 + 5.5)
    info = c.abandon(dials[1].lead, T0 + 6)
    assert info.kind == "play-info-message" and info.deadline == T0 + 7
    s = c.stats()
    assert s["abandoned"] == 1 and s["abandon_rate"] == pytest.approx(1 / 3) and s["capped"]
    # Over the cap, power mode dials only for ready agents.
    c.abandon(dials[2].lead, T0 + 6)
    c.disposition(dials[0].lead, T0 + 30)
    assert len(c.tick(T0 + 31, ready=2, staffed=2)) == 2


def test_modes_controls_and_bad_values() -> None:
    c = Campaign(ny_leads(20), now=T0, mode="predictive")
    assert c.tick(T0, ready=3, staffed=3, dials_wanted=5) == []  # not started
    c.start(T0)
    assert c.tick(T0, ready=0, staffed=0, dials_wanted=5) == []  # no agents, no dials
    assert len(c.tick(T0, ready=0, staffed=4, dials_wanted=5)) == 5
    c.set_mode("power", 2.0)
    assert (c.mode, c.ratio) == ("power", 2.0)
    c.pause(T0 + 1)
    assert c.state == "paused" and c.tick(T0 + 1, ready=5, staffed=5) == []
    c.start(T0 + 2)
    with pytest.raises(ValueError, match="time never goes back"):
        c.tick(T0, ready=1, staffed=1)
    c.stop(T0 + 3)
    with pytest.raises(acdcore.StateError):
        c.start(T0 + 4)
    with pytest.raises(ValueError, match="unknown dialing mode"):
        c.set_mode("turbo")
    with pytest.raises(ValueError, match="ratio"):
        c.set_mode("power", -1)
    with pytest.raises(KeyError):
        c.lead(99)
    for kw, name in [
        ({"abandon_cap": 1.5}, "abandon cap"),
        ({"abandon_cap": -0.1}, "abandon cap"),
        ({"outbound_share": 2}, "outbound_share"),
        ({"ring_timeout": 10}, "ring_timeout"),
        ({"calling_hours": ("8am", "21:00")}, "calling_hours start"),
        ({"holidays": ["15/01/2026"]}, "15/01/2026"),
        ({"retry": {"sometimes": 5}}, "sometimes"),
        ({"profile": "uk"}, "amd_false_positive_rate"),
        ({"profile": "uk", "amd_false_positive_rate": 2.0}, "amd_false_positive_rate"),
    ]:
        with pytest.raises(ValueError, match=name):
            Campaign(ny_leads(1), now=T0, **kw)  # type: ignore[arg-type]


def test_preview_and_click_to_dial() -> None:
    c = Campaign(ny_leads(2), now=T0, mode="preview")
    c.start(T0)
    assert c.tick(T0, ready=2, staffed=2) == []
    lead = c.preview(T0)
    assert lead is not None and c.lead(lead)["state"] == "previewing"
    assert c.dial(lead, T0 + 20).lead == lead
    la = LeadList.from_iterable([{"phone": "+14155550100", "timezone": "America/Los_Angeles"}])
    k = Campaign(la, now=T0, mode="click-to-dial")
    k.start(T0)
    with pytest.raises(acdcore.StateError, match="calling-hours"):
        k.dial(0, T0)


def test_a_lead_added_while_running_is_dialed_by_an_agent_and_restored() -> None:
    leads = ny_leads(1)
    c = Campaign(leads, now=T0, mode="progressive", dnc=DncList(["+12125550099"]))
    c.start(T0)
    added = c.add_lead("+1 212 555 0042", NY)
    assert (added, len(c), len(leads), leads.fields[added]) == (1, 2, 2, {})
    assert c.lead(added)["number"] == "+12125550042" and c.stats()["leads_left"] == 2
    assert [d.lead for d in c.tick(T0, ready=3, staffed=3)] == [0]  # not put in line
    assert c.dial(added, T0 + 1).number == "+12125550042"
    c.dial_result(added, "busy", T0 + 2)
    assert c.lead(added)["state"] == "retry-scheduled"
    dnc = c.add_lead("+12125550099", NY)
    with pytest.raises(acdcore.StateError, match="do-not-call"):
        c.dial(dnc, T0 + 3)
    with pytest.raises(ValueError, match="lead '12': "):
        c.add_lead("12", NY)
    assert len(c) == len(leads) == 3
    data = c.snapshot()
    with pytest.raises(ValueError, match="leads has 1 leads, the snapshot 3"):
        Campaign.restore(data, ny_leads(1))  # without added_leads: another list
    again = ny_leads(1)
    r = Campaign.restore(data, again, added_leads=True)
    assert again.numbers == ["+12125550000", "+12125550042", "+12125550099"]
    assert r.lead(added)["state"] == "retry-scheduled" and r.snapshot() == data


def test_voice_broadcast_needs_no_agents() -> None:
    c = Campaign(ny_leads(5), now=T0, mode="voice-broadcast", lines=2)
    c.start(T0)
    dials = c.tick(T0, ready=0, staffed=0)
    assert len(dials) == 2
    assert [a.kind for a in c.dial_result(dials[0].lead, "human", T0 + 4)] == ["play-message"]
    # The answered call still plays its message on the host's line: the host's free lines
    # (none) cap the dials; the campaign alone would refill the line the answer left.
    assert c.tick(T0 + 5, ready=0, staffed=0, dials_wanted=0) == []
    assert len(c.tick(T0 + 6, ready=0, staffed=0)) == 1
    c.set_mode("voice-broadcast", lines=4)
    assert (c.lines, len(c.tick(T0 + 7, ready=0, staffed=0, dials_wanted=9))) == (4, 2)
    with pytest.raises(ValueError, match="lines must be at least 1 for voice broadcast"):
        c.set_mode("voice-broadcast", lines=0)


def test_blended_with_the_engine() -> None:
    e = acdcore.Engine(seed=1, auto_accept=True)
    e.add_queue("outbound")
    e.login(T0, "alice", queues=["outbound"])
    c = Campaign(ny_leads(5), now=T0, mode="power", ratio=2, engine=e, queue="outbound")
    c.start(T0)
    dials = c.tick(T0)  # one ready agent in the queue, ratio 2
    assert len(dials) == 2
    [first] = c.dial_result(dials[0].lead, "human", T0 + 5)
    assert first.kind == "connect" and any(ev.kind == "assign" for ev in first.engine_events)
    [second] = c.dial_result(dials[1].lead, "human", T0 + 6)
    assert second.kind == "play-info-message" and second.deadline == T0 + 8
    assert c.stats()["abandoned"] == 1
    c.on_engine_events(e.hangup(T0 + 65, f"campaign:{dials[0].lead}:1"))
    assert c.stats()["talk_time"] == pytest.approx(60.0)
    with pytest.raises(KeyError):
        Campaign(ny_leads(1), now=T0, engine=e, queue="nope")


def _drive(c: Campaign, start: float, steps: int, log: list[object]) -> None:
    """Ticks 10 s apart; each dial rings 20 s, then by its lead and attempt is a person (some
    abandoned, every third talk ends in a callback), busy or no answer. Logs every answer."""
    ringing: list[tuple[int, float]] = []
    talking: list[tuple[int, float]] = []
    for s in range(steps):
        t = start + 10 * s
        answered = []
        for lead, at in [r for r in ringing if t - r[1] >= 20]:
            ringing.remove((lead, at))
            k = (lead * 7 + c.lead(lead)["attempts"] * 3) % 10
            outcome = "human" if k < 4 else "busy" if k < 6 else "no-answer"
            log.append(c.dial_result(lead, outcome, t))
            if outcome == "human":
                answered.append((lead, k == 0))
        for lead, at in [x for x in talking if t - x[1] >= 60]:
            talking.remove((lead, at))
            c.hangup(lead, t + 0.5)
            back = lead % 3 == 0
            c.disposition(lead, t + 0.5, callback_at=t + 600 if back else None, agent="alice")
        for lead, abandoned in answered:
            if abandoned:
                log.append(c.abandon(lead, t + 1))
            else:
                c.connect(lead, t + 1)
                talking.append((lead, t))
        ready = max(0, 4 - len(talking))
        dials = c.tick(t + 2, ready=ready, staffed=4)
        ringing += [(d.lead, t + 2) for d in dials]
        log.append((dials, c.stats()))
    # Calls still ringing or talking at the end are left as they are.


def test_a_restored_campaign_goes_on_exactly_as_the_original() -> None:
    leads = ny_leads(300)
    dnc = DncList([f"+1212555{i:04d}" for i in range(0, 300, 11)])
    kw = dict(mode="power", ratio=2.0, retry={"busy": 300}, profile="uk",
              amd_false_positive_rate=0.1)  # fmt: skip
    c = Campaign(leads, now=T0, dnc=dnc, **kw)  # type: ignore[arg-type]
    c.start(T0)
    warmup: list[object] = []
    _drive(c, T0, 100, warmup)
    data = c.snapshot()
    assert isinstance(data, bytes)
    twin = Campaign.restore(data, leads, dnc=dnc)
    assert twin.snapshot() == data and len(twin) == 300 and twin.state == "running"
    assert [twin.lead(i) for i in range(300)] == [c.lead(i) for i in range(300)]
    a: list[object] = []
    b: list[object] = []
    _drive(c, T0 + 1010, 150, a)
    _drive(twin, T0 + 1010, 150, b)
    assert a == b
    s = c.stats()
    assert s["dials"] > 60 and s["abandoned"] > 0 and s["refused"]["do-not-call"] > 0, s
    # The clock came back with the state: time still never goes back.
    with pytest.raises(ValueError, match="time never goes back"):
        twin.tick(T0, ready=1, staffed=1)


def test_bad_and_foreign_campaign_snapshots_are_refused() -> None:
    c = Campaign(ny_leads(2), now=T0)
    data = c.snapshot()
    for bad, msg in [
        (b"", "not an acdcore campaign snapshot"),
        (b"hello world, not a snapshot at all", "not an acdcore campaign snapshot"),
        (data[:30], "not an acdcore campaign snapshot"),
        (data[:-10], "not an acdcore campaign snapshot: truncated"),
        (data[:-2] + b"[1", "campaign snapshot is damaged"),
        (data[:-2] + b'{"c1": "x"}', "campaign snapshot is damaged: bad call table"),
        (data[:200] + bytes([data[200] ^ 0x5A]) + data[201:], "campaign snapshot"),
        (data[:40] + bytes([data[40] ^ 0x5A]) + data[41:], "unsupported snapshot"),
    ]:
        with pytest.raises(ValueError, match=msg):
            Campaign.restore(bad, ny_leads(2))
    engine = acdcore._core.Engine().snapshot()
    with pytest.raises(ValueError, match="not an acdcore campaign snapshot"):
        Campaign.restore(engine, ny_leads(2))
    with pytest.raises(ValueError, match="leads has 3 leads, the snapshot 2"):
        Campaign.restore(data, ny_leads(3))
    other = LeadList.from_iterable(
        [{"phone": p, "timezone": NY} for p in ("+12125550000", "+12125559999")]
    )  # as many leads, one of them another number
    with pytest.raises(ValueError, match=r"lead 1 is \+12125559999 in leads but \+12125550001"):
        Campaign.restore(data, other)


def test_interrupted_closes_the_calls_a_restart_cut_off_and_saves_as_it_changes() -> None:
    c = Campaign(ny_leads(3), now=T0, retry={"failed": 60})
    c.start(T0)
    dials = c.tick(T0, ready=2, staffed=2)
    assert [d.lead for d in dials] == [0, 1]
    c.dial_result(1, "human", T0 + 3)  # answered, no agent yet
    saved = c.changes
    c.tick(T0 + 4, ready=0, staffed=2)  # an idle tick: nothing worth saving
    assert c.changes == saved
    twin = Campaign.restore(c.snapshot(), ny_leads(3))
    assert twin.interrupted(T0 + 100) == [(0, "dialing"), (1, "answered")]
    assert twin.changes > 0 and twin.interrupted(T0 + 100) == []
    assert (twin.lead(0)["state"], twin.lead(0)["attempts"]) == ("retry-scheduled", 1)
    st = twin.stats()
    assert (st["failed"], st["abandoned"], st["in_flight"], st["abandon_rate"]) == (1, 1, 0, 1.0)
    assert [d.lead for d in twin.tick(T0 + 159, ready=3, staffed=3)] == [2]
    assert [d.lead for d in twin.tick(T0 + 160, ready=3, staffed=3)] == [0]  # 60 s on
