"""CallRecorder on a real Engine: one CDR per finished call with the right outcome, times and
host facts; queue-log rows as things happen; reports computed from those records."""

from __future__ import annotations

from pathlib import Path

import pytest
from acdcore import Engine, StateError
from acdcore.app.switchboard import RecordingSwitchboard
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore, report

EPOCH = 1_800_000_000.0  # a round UNIX time, a multiple of 1800


@pytest.fixture
def rec(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = SqliteStore(tmp_path / "r.db")
    writer = RecordWriter(store)
    engine = Engine(auto_accept=True)
    engine.add_queue("support", wrapup=10, sl=20)
    engine.add_queue("overflow")
    engine.add_queue("spill", max_wait=20, overflow="overflow")
    engine.add_queue("vm", escalation=[(15, "fallback", "voicemail")])
    engine.add_queue("short", max_wait=30)
    r = CallRecorder(engine, writer, epoch=EPOCH, wrapup={"support": 10})
    yield r
    writer.close()
    store.close()


def _day(rec: CallRecorder) -> None:
    e = rec.engine
    rec.feed(e.login(0.0, "alice", queues=["support"]))
    rec.enter(0.0, "c1", "support", caller="+1A", called="+1800", attributes={"lang": "en"})
    rec.enter(5.0, "c2", "support", caller="+1B")
    rec.hangup(30.0, "c2")  # abandons after 25 s
    rec.enter(50.0, "c3", "support", caller="+1A")  # A calls again
    rec.enter(60.0, "c4", "support", caller="+1C")
    rec.callback(61.0, "c4", "+1C-home")
    rec.annotate("c1", recording_path="/rec/c1.wav", hold=12.0)
    rec.hangup(100.0, "c1")  # alice wraps up until 110, then takes c3
    rec.annotate("c1", disposition="unresolved", survey_score=2)  # after the end
    rec.enter(120.0, "c5", "spill", caller="+1D")  # moves to overflow at 140
    rec.enter(120.0, "c6", "vm", caller="+1E")  # voicemail at 135
    rec.enter(121.0, "c7", "short", caller="+1F")  # times out at 151
    rec.transfer(150.0, "c3", "+1999")  # runs the timers due before: c5, c6 leave
    rec.hangup(200.0, "c3")
    rec.annotate("c6", voicemail_path="/vm/c6.wav")
    rec.feed(e.login(205.0, "bob", queues=["overflow"]))  # takes c5
    rec.hangup(260.0, "c5")
    rec.feed(e.advance(300.0))  # alice, free at 210, takes the callback c4
    rec.annotate("c4", disposition="resolved", survey_score=5)
    rec.hangup(400.0, "c4")
    rec.annotate("c4", wrapup=25.0)


def test_every_finished_call_gets_one_record(rec: CallRecorder) -> None:
    _day(rec)
    rec.commit().wait(5)
    got = {r.call_id: r for r in rec.writer.store.search(Query())}
    assert sorted(got) == ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert {k: r.outcome for k, r in got.items()} == {
        "c1": "answered",
        "c2": "abandoned",
        "c3": "transferred",
        "c4": "callback",
        "c5": "answered",
        "c6": "voicemail",
        "c7": "timeout",
    }
    c1 = got["c1"]
    assert (c1.caller, c1.called, c1.agent, c1.queue) == ("+1A", "+1800", "alice", "support")
    assert (c1.arrival, c1.answer, c1.end) == (EPOCH, EPOCH, EPOCH + 100)
    assert (c1.wait, c1.talk, c1.hold, c1.wrapup) == (0.0, 100.0, 12.0, 10)
    assert (c1.disposition, c1.survey_score, c1.recording_path) == ("unresolved", 2, "/rec/c1.wav")
    assert c1.attributes == {"lang": "en"}
    assert (got["c2"].wait, got["c2"].end, got["c2"].answer) == (25.0, EPOCH + 30, None)
    c3 = got["c3"]
    assert (c3.answer, c3.wait, c3.talk) == (EPOCH + 110, 60.0, 90.0)
    assert c3.attributes["transferred_to"] == "+1999"
    c4 = got["c4"]
    assert (c4.answer, c4.wait, c4.agent, c4.wrapup) == (EPOCH + 210, 150.0, "alice", 25.0)
    assert c4.attributes["callback_number"] == "+1C-home"
    c5 = got["c5"]
    assert (c5.queue, c5.agent, c5.wait) == ("overflow", "bob", 85.0)
    assert c5.attributes["queues"] == ["spill", "overflow"]
    assert (got["c6"].end, got["c6"].voicemail_path) == (EPOCH + 135, "/vm/c6.wav")
    assert (got["c7"].end, got["c7"].wait) == (EPOCH + 151, 30.0)


def test_queue_log_follows_each_call(rec: CallRecorder) -> None:
    _day(rec)
    rec.commit().wait(5)
    log = rec.writer.store.queue_log

    def trail(call: str) -> list[tuple[float, str, str | None, str | None]]:
        return [(e.time - EPOCH, e.event, e.queue, e.agent) for e in log(call)]

    assert trail("c1") == [
        (0, "enter", "support", None),
        (0, "connect", "support", "alice"),
        (100, "complete", "support", "alice"),
    ]
    assert trail("c2") == [(5, "enter", "support", None), (30, "abandon", "support", None)]
    assert [e for _, e, _, _ in trail("c3")] == ["enter", "connect", "transfer", "complete"]
    assert [e for _, e, _, _ in trail("c4")] == ["enter", "callback", "connect", "complete"]
    assert trail("c5")[1:3] == [(140, "transfer", "spill", None), (140, "enter", "overflow", None)]
    assert log("c5")[1].data == {"to": "overflow", "why": "overflow"}
    assert trail("c6")[-1] == (135, "transfer", "vm", None)
    assert trail("c7")[-1] == (151, "timeout", "short", None)
    assert [e.time for e in log()] == sorted(e.time for e in log())


def test_commit_reports_the_calls_it_made_durable(rec: CallRecorder) -> None:
    e = rec.engine
    rec.feed(e.login(0.0, "alice", queues=["support"]))
    rec.enter(0.0, "c1", "support")
    assert rec.commit().wait(5) == []
    rec.hangup(10.0, "c1")
    assert rec.commit().wait(5) == ["c1"]
    assert [r.call_id for r in rec.writer.store.search(Query())] == ["c1"]


def test_bad_host_input_is_refused_by_name(rec: CallRecorder) -> None:
    with pytest.raises(KeyError, match="nope"):
        rec.callback(0.0, "nope")
    with pytest.raises(ValueError, match="survey_score"):
        rec.annotate("c1", survey_score=9)
    with pytest.raises(ValueError, match="'colour'"):
        rec.annotate("c1", colour="red")
    with pytest.raises(ValueError, match="hold"):
        rec.annotate("c1", hold=-1)
    with pytest.raises(ValueError, match="JSON"):
        rec.enter(0.0, "c9", "support", attributes={"x": object()})
    with pytest.raises(ValueError, match="caller"):
        rec.enter(0.0, "c9", "support", caller=5)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        rec.enter(0.0, "c9", "no-such-queue")
    assert rec.open_calls() == {}


def test_reports_per_queue_and_agent(rec: CallRecorder) -> None:
    _day(rec)
    rec.unqueued(EPOCH + 5, EPOCH + 9, "closed1", "hangup", caller="+1Z")  # never queued
    rec.commit().wait(5)
    store = rec.writer.store
    rows = {r["queue"]: r for r in report(store, by="queue", interval=1800, threshold=20)}
    assert "" not in rows and "support" in rows
    s = rows["support"]
    assert (s["interval_start"], s["offered"], s["answered"], s["abandoned"]) == (EPOCH, 4, 3, 1)
    # Answered within 20 s: c1 only (c3 waited 60, c4 150); abandoned c2 counts as missed.
    assert s["service_level"] == pytest.approx(1 / 4)
    assert s["asa"] == pytest.approx((0 + 60 + 150) / 3)
    assert s["abandon_rate"] == pytest.approx(1 / 4)
    assert s["aht"] == pytest.approx((100 + 10 + 90 + 10 + 190 + 25) / 3)
    # FCR: c1 unresolved (and A called again), c3 and c4 resolved -> 2 of 3.
    assert s["fcr"] == pytest.approx(2 / 3)
    assert (s["surveys"], s["survey_mean"]) == (2, 3.5)
    assert rows["short"]["timed_out"] == 1 and rows["short"]["service_level"] == 0.0
    assert rows["vm"]["answered"] == 0 and rows["vm"]["asa"] is None
    # c1 is also a repeat (A called again within 7 days) even without its disposition.
    loose = report(store, by="queue", unresolved=(), repeat_days=7)
    assert {r["queue"]: r["fcr"] for r in loose}["support"] == pytest.approx(2 / 3)
    no_window = report(store, by="queue", unresolved=(), repeat_days=0)
    assert {r["queue"]: r["fcr"] for r in no_window}["support"] == 1.0
    agents = {r["agent"]: r for r in report(store, by="agent", interval=60)}
    assert set(agents) == {"alice", "bob"}
    # 60-s intervals by arrival: alice's calls arrived at 0, 50 and 60.
    alice = [r for r in report(store, by="agent", interval=60) if r["agent"] == "alice"]
    assert [(r["interval_start"] - EPOCH, r["answered"]) for r in alice] == [(0, 2), (60, 1)]
    with pytest.raises(ValueError, match="interval"):
        report(store, interval=0)
    with pytest.raises(ValueError, match="'team'"):
        report(store, by="team")


def test_resume_without_checkpoint_is_none(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "empty.db")
    with RecordWriter(store) as w:
        assert CallRecorder.resume(store, w) is None


def test_corrupt_checkpoint_is_a_store_error(tmp_path: Path) -> None:
    from acdcore.records import Batch, Checkpoint, StoreError

    store = SqliteStore(tmp_path / "cp.db")
    with RecordWriter(store) as w:
        store.write(Batch(checkpoint=Checkpoint(b"not msgpack", {"version": 1})))
        with pytest.raises(StoreError, match="corrupt checkpoint"):
            CallRecorder.resume(store, w)
        good = Engine().snapshot()
        store.write(Batch(checkpoint=Checkpoint(good, {"version": 1, "epoch": 0.0})))
        with pytest.raises(StoreError, match="corrupt checkpoint"):
            CallRecorder.resume(store, w)


def test_a_call_that_never_reached_a_queue_gets_a_record_of_its_own(rec: CallRecorder) -> None:
    rec.unqueued(3.0, 9.5, "ivr1", "hangup", caller="+1Z", attributes={"hours": "closed"})
    rec.unqueued(4.0, 30.0, "ivr2", "voicemail", caller="+1Y", voicemail_path="/vm/ivr2.wav")
    with pytest.raises(ValueError, match="unknown outcome 'gone'"):
        rec.unqueued(5.0, 6.0, "ivr3", "gone")
    with pytest.raises(ValueError, match="survey_score"):
        rec.unqueued(5.0, 6.0, "ivr3", "hangup", survey_score=9)
    rec.enter(7.0, "q1", "support")
    with pytest.raises(ValueError, match="is in a queue"):
        rec.unqueued(7.0, 8.0, "q1", "hangup")
    rec.commit().wait(5)
    got = {r.call_id: r for r in rec.writer.store.search(Query(queue=""))}
    assert set(got) == {"ivr1", "ivr2"}
    one, two = got["ivr1"], got["ivr2"]
    assert (one.outcome, one.caller, one.arrival, one.end) == (
        "hangup",
        "+1Z",
        EPOCH + 3,
        EPOCH + 9.5,
    )
    assert one.attributes == {"hours": "closed"} and one.agent is None and one.wait is None
    assert (two.outcome, two.voicemail_path) == ("voicemail", "/vm/ivr2.wav")
    assert rec.writer.store.queue_log("ivr1") == []


def test_callback_and_transfer_return_the_events_their_advance_ran(rec: CallRecorder) -> None:
    e = rec.engine
    rec.feed(e.login(0.0, "alice", queues=["support"]))
    rec.enter(0.0, "c1", "support", caller="+1A")
    rec.enter(1.0, "c2", "support", caller="+1B")
    rec.enter(2.0, "c3", "support", caller="+1C")
    rec.hangup(10.0, "c1")  # alice wraps up until 20, then takes c2
    got = rec.callback(25.0, "c3", "+1C-home")  # the host must see that assign to ring alice
    assert [(ev.kind, ev.call, ev.agent) for ev in got if ev.kind == "assign"] == [
        ("assign", "c2", "alice")
    ]
    rec.hangup(30.0, "c2")  # wrap-up until 40, then c3 (the callback) is hers
    got = rec.transfer(45.0, "c3", "+1999")
    assert [(ev.kind, ev.call) for ev in got if ev.kind == "assign"] == [("assign", "c3")]
    assert rec.transfer(45.0, "c3", "+1998") == []  # nothing more fell due


def test_a_withdrawn_call_is_on_record_but_in_no_report_count(rec: CallRecorder) -> None:
    """The host takes back a call nobody was on the line for (the dialer's preview no agent
    took): outcome "withdrawn" and a "withdraw" queue-log event, not an abandon."""
    e = rec.engine
    rec.enter(0.0, "c1", "support", caller="+1A")  # nobody logged in: it waits
    rec.enter(1.0, "c2", "support", caller="+1B")
    events = rec.withdraw(12.0, "c1")
    assert [ev.kind for ev in events] == ["withdraw"]
    assert (events[0].call, events[0].queue, events[0].wait) == ("c1", "support", 12.0)
    rec.hangup(20.0, "c2")  # a caller giving up
    with pytest.raises(KeyError, match="'c1' is not open"):
        rec.withdraw(21.0, "c1")
    rec.commit().wait(5)
    store = rec.writer.store
    got = {r.call_id: r for r in store.search(Query())}
    assert (got["c1"].outcome, got["c1"].wait, got["c1"].end) == ("withdrawn", 12.0, EPOCH + 12)
    assert got["c2"].outcome == "abandoned"
    assert [(ev.event, ev.data) for ev in store.queue_log("c1")] == [
        ("enter", {}),
        ("withdraw", {"wait": 12.0}),
    ]
    (row,) = report(store)
    assert (row["offered"], row["abandoned"], row["abandon_rate"]) == (1, 1, 1.0)
    # The engine's figures agree with the records': one caller offered, one abandon.
    stats = e.queue_stats("support")
    assert (stats.offered, stats.abandoned, stats.waiting) == (1, 1, 0)


def test_withdrawing_a_connected_call_is_refused_and_changes_nothing(rec: CallRecorder) -> None:
    e = rec.engine
    rec.feed(e.login(0.0, "alice", queues=["support"]))
    rec.enter(1.0, "c1", "support", caller="+1A")
    assert e.call("c1").state == "connected"
    with pytest.raises(StateError, match="connected"):
        rec.withdraw(5.0, "c1")
    rec.hangup(30.0, "c1")  # still open and still connected: it ends as answered
    rec.commit().wait(5)
    (got,) = rec.writer.store.search(Query())
    assert (got.outcome, got.talk) == ("answered", 29.0)


def test_a_withdraw_after_the_max_wait_ran_out_keeps_the_timeout(rec: CallRecorder) -> None:
    """The timer due by the withdraw's own time ends the call first: the record says timeout
    (the engine's event comes back to route), not withdrawn."""
    rec.enter(0.0, "c1", "short", caller="+1A")  # max_wait 30, nobody to take it
    events = rec.withdraw(40.0, "c1")
    assert [(ev.kind, ev.call) for ev in events] == [("timeout", "c1")]
    rec.commit().wait(5)
    (got,) = rec.writer.store.search(Query())
    assert (got.outcome, got.end) == ("timeout", EPOCH + 30)
    assert rec.engine.take_events() == []  # nothing left behind for the next operation


class _Clock:
    """The switchboard's time, set by the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_let_go_withdraws_an_unanswered_call_and_hangs_up_an_answered_one(
    rec: CallRecorder,
) -> None:
    e = rec.engine
    clock = _Clock()
    sb = RecordingSwitchboard(e, rec, clock=clock)
    sb.enqueue("waits", "support")  # nobody logged in
    sb.enqueue("parked", "support", parked=True)
    clock.t = 5.0
    assert [ev.kind for ev in sb.let_go("waits")] == ["withdraw"]
    assert [ev.kind for ev in sb.let_go("parked")] == ["withdraw"]
    sb.apply(e.login(6.0, "alice", queues=["support"]))
    clock.t = 7.0
    sb.enqueue("talks", "support")
    assert e.call("talks").state == "connected"
    clock.t = 9.0
    assert [(ev.kind, ev.call) for ev in sb.let_go("talks")] == [("end", "talks")]
    assert e.agent("alice").state == "wrap-up"
    assert sb.let_go("talks") == []  # gone already: fine
    assert sb.let_go("never") == []
    stats = e.queue_stats("support")
    assert (stats.offered, stats.abandoned, stats.answered) == (1, 0, 1)
    rec.commit().wait(5)
    got = {r.call_id: r.outcome for r in rec.writer.store.search(Query())}
    assert got == {"waits": "withdrawn", "parked": "withdrawn", "talks": "answered"}


def test_let_go_of_a_call_only_the_engine_holds_is_no_abandon(rec: CallRecorder) -> None:
    e = rec.engine
    clock = _Clock()
    sb = RecordingSwitchboard(e, rec, clock=clock)
    e.enqueue(0.0, "bare", "support")  # put in behind the records' back
    clock.t = 5.0
    assert [ev.kind for ev in sb.let_go("bare")] == ["withdraw"]
    assert e.queue_stats("support").abandoned == 0
    e.enqueue(6.0, "late", "short")  # max_wait 30
    clock.t = 40.0
    assert [(ev.kind, ev.call) for ev in sb.let_go("late")] == [("timeout", "late")]
