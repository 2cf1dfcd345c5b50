"""The Python API of the routing engine, end to end (issue 2, "The engine" and "Python API").

Every method of `acdcore.Engine` with its typed return values; each error kind (`KeyError` for
unknown ids, `ValueError` for invalid arguments, `acdcore.StateError` for a request the current
state forbids) with a message naming the bad value; live offers (accept, reject, ring timeout,
auto-pause, ring-all); preferred agents; escalation steps; max waiting and max wait; priority
aging; positions and wait estimates; snapshot and restore; the percentage distributor; the
numpy batch APIs; and inputs that must never crash the process.

Tests named for an engine bug they once caught stay as regressions.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import acdcore
import numpy as np
import pytest
from acdcore import Engine, StateError

Events = list[Any]


def auto(**kw: Any) -> Engine:
    """An engine whose offers are accepted at once (replay, simulation)."""
    return Engine(auto_accept=True, **kw)


def live(**kw: Any) -> Engine:
    """An engine that offers calls and waits for accept / reject / timeout."""
    return Engine(auto_accept=False, **kw)


def kinds(events: Events) -> list[str]:
    return [e.kind for e in events]


def of(events: Events, kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]


def one(events: Events, kind: str) -> Any:
    found = of(events, kind)
    assert len(found) == 1, f"expected one {kind!r} in {events}"
    return found[0]


# ---- module and types -------------------------------------------------------------------------


def test_module_exports_names_and_constants() -> None:
    for name in acdcore.__all__:
        assert hasattr(acdcore, name), name
    assert acdcore.STRATEGIES == [
        "longest-idle",
        "round-robin",
        "linear",
        "fewest-calls",
        "least-talk-time",
        "skills-best",
        "random",
        "weighted-random",
        "ring-all",
    ]
    assert set(acdcore.AGENT_STATES) == {
        "logged-out",
        "available",
        "reserved",
        "busy",
        "wrap-up",
        "paused",
    }
    assert set(acdcore.EVENT_KINDS) == {
        "offer",
        "unoffer",
        "assign",
        "abandon",
        "end",
        "timeout",
        "overflow",
        "escalate",
        "fallback",
        "auto-pause",
        "withdraw",
    }
    assert issubclass(StateError, Exception)
    assert not issubclass(StateError, (KeyError, ValueError))


def test_engine_options_and_clock() -> None:
    e = Engine()
    assert e.auto_accept is False
    assert e.now == 0.0
    e2 = Engine(seed=42, auto_accept=True)
    assert e2.auto_accept is True
    e2.add_queue("q")
    assert e2.advance(12.5) == []
    assert e2.now == 12.5
    with pytest.raises(TypeError):
        Engine(42)  # type: ignore[misc]  # keyword-only


def test_every_method_returns_plain_typed_values() -> None:
    e = auto(seed=1)
    assert e.add_queue("q", wrapup=5, sl=10) is None
    assert e.add_queue("r", strategy="round-robin") is None
    assert e.queues() == ["q", "r"]

    out = e.login(0, "a", skills={"en": 50}, queues=["q", "r"])
    assert out == [] and isinstance(out, list)
    e.login(0, "b", skills={"en": 70, "fr": 30}, queues={"q": 2}, limit=2)
    assert e.agents() == ["a", "b"]

    evs = e.enqueue(1, "c1", "q", priority=3, skills={"en": 40})
    ev = one(evs, "assign")
    assert isinstance(ev, acdcore.Event)
    assert (ev.kind, ev.t, ev.call, ev.agent, ev.queue, ev.wait) == (
        "assign",
        1.0,
        "c1",
        "a",
        "q",
        0.0,
    )
    assert isinstance(ev.t, float) and isinstance(ev.wait, float)
    d = ev.to_dict()
    assert d["kind"] == "assign" and d["call"] == "c1" and d["agent"] == "a" and d["wait"] == 0.0
    assert "assign" in repr(ev) and "c1" in repr(ev)

    end = one(e.hangup(4, "c1"), "end")
    assert (end.call, end.agent, end.talk) == ("c1", "a", 3.0)
    assert isinstance(end.talk, float)

    info = e.agent("a")
    assert isinstance(info, acdcore.AgentInfo)
    assert info.id == "a" and info.state == "wrap-up"
    assert info.calls == 1 and info.talk_time == 3.0 and info.limit == 1
    assert info.skills == {"en": 50}
    assert info.calls_per_queue == [("q", 1), ("r", 0)]
    assert info.active_calls == [] and info.pause_reason is None
    assert info.pending_pause is False and info.pending_logout is False
    assert isinstance(info.login_seq, int) and info.login_time == 0.0
    assert "a" in repr(info)

    assert e.enqueue(5, "c2", "q") != []  # b is free
    e.enqueue(5, "c3", "q")  # b again (limit 2)
    e.enqueue(6, "c4", "q")  # waits: a in wrap-up, b full
    call = e.call("c4")
    assert isinstance(call, acdcore.CallInfo)
    assert (call.id, call.queue, call.state, call.position) == ("c4", "q", "waiting", 1)
    assert call.priority == 0.0 and call.arrival == 6.0 and call.agents == []
    assert e.call("c2").state == "connected" and e.call("c2").agents == ["b"]
    assert isinstance(e.position("c4"), int) and e.position("c4") == 1

    st = e.queue_stats("q")
    assert isinstance(st, acdcore.QueueStats)
    assert (st.id, st.strategy, st.offered, st.answered, st.waiting) == (
        "q",
        "longest-idle",
        4,
        3,
        1,
    )
    assert st.abandoned == 0 and st.timed_out == 0 and st.overflowed == 0 and st.fallback == 0
    assert st.answered_within_sl == 3 and st.service_level == 1.0
    assert st.asa == 0.0 and st.aht == 3.0 + 5.0
    assert st.longest_wait == 0.0
    assert st.agents == {
        "logged-out": 0,
        "available": 0,
        "reserved": 0,
        "busy": 1,
        "wrap-up": 1,
        "paused": 0,
    }
    assert "q" in repr(st)

    ids, codes = e.agent_states()
    assert ids == ["a", "b"]
    assert isinstance(codes, np.ndarray) and codes.dtype == np.uint8
    assert [acdcore.AGENT_STATES[c] for c in codes] == ["wrap-up", "busy"]

    evs = e.advance(9)  # a's wrap-up ended at 9 and it takes c4
    assert kinds(evs) == ["assign"] and evs[0].t == 9.0 and evs[0].wait == 3.0
    assert e.pause(10, "a", reason="lunch") == []  # pending: a is on a call
    assert e.agent("a").pending_pause is True
    assert e.unpause(11, "a") == []
    assert e.logout(12, "a") == []
    assert e.agent("a").pending_logout is True

    snap = e.snapshot()
    assert isinstance(snap, bytes) and snap
    again = Engine.restore(snap)
    assert isinstance(again, Engine) and again.now == e.now

    assert e.take_events() == []
    assert isinstance(e.finish(), list)


def test_next_timer_at_names_the_earliest_pending_timer_and_none_without_one() -> None:
    e = live()
    e.add_queue("q", wrapup=5, ring_timeout=20)
    assert e.next_timer_at() is None
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c1", "q")
    assert e.next_timer_at() == 21.0  # the offer's ring timeout
    e.accept(2, "c1", "a")
    assert e.next_timer_at() is None  # cancelled by the answer
    e.hangup(10, "c1")
    assert e.next_timer_at() == 15.0  # the wrap-up's end
    assert kinds(e.advance(e.next_timer_at() or 0)) == []
    assert e.agent("a").state == "available" and e.next_timer_at() is None


def test_wrapup_ends_on_its_own_time_and_the_agent_takes_the_next_call() -> None:
    e = auto()
    e.add_queue("q", wrapup=5)
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c1", "q")
    e.enqueue(2, "c2", "q")
    evs = e.hangup(10, "c1")
    assert kinds(evs) == ["end"] and evs[0].talk == 9.0
    assert e.agent("a").state == "wrap-up"
    # The host calls in late; the assignment carries the wrap-up's own end time.
    evs = e.advance(30)
    a = one(evs, "assign")
    assert (a.call, a.t, a.wait) == ("c2", 15.0, 13.0)
    e.hangup(31, "c2")
    assert kinds(e.finish()) == []
    assert e.agent("a").state == "available"
    assert e.now == 36.0


def test_weighted_memberships_keep_the_given_order() -> None:
    orders = set()
    served = set()
    for _ in range(40):
        e = auto()
        e.add_queue("q1")
        e.add_queue("q2", escalation=[(5, "add-queues", ["q1"])])
        e.add_queue("q3")
        e.login(0, "a", queues={"q3": 1, "q2": 2, "q1": 1})
        orders.add(tuple(q for q, _ in e.agent("a").calls_per_queue))
        e.enqueue(0, "x", "q3")  # a is busy
        e.enqueue(0, "c", "q2")
        e.advance(6)  # c waits in q2 and q1 now
        served.add(one(e.hangup(7, "x"), "assign").queue)
    assert orders == {("q3", "q2", "q1")}
    assert served == {"q2"}


def test_pause_logout_and_login_again() -> None:
    e = auto()
    e.add_queue("q")
    e.login(0, "a", queues=["q"])
    e.pause(1, "a", "coffee")
    info = e.agent("a")
    assert (info.state, info.pause_reason) == ("paused", "coffee")
    assert e.enqueue(2, "c", "q") == []
    evs = e.unpause(3, "a")
    assert kinds(evs) == ["assign"] and evs[0].wait == 1.0
    e.logout(4, "a")  # pending: on a call
    assert e.agent("a").state == "busy" and e.agent("a").pending_logout
    e.hangup(5, "c")
    assert e.agent("a").state == "logged-out"
    e.login(6, "a", queues=["q"])
    assert e.agent("a").state == "available" and e.agent("a").calls == 0


# ---- errors -----------------------------------------------------------------------------------


def base() -> Engine:
    e = live()
    e.add_queue("q")
    e.login(1, "a", queues=["q"])
    e.login(1, "b", queues=["q"])
    e.enqueue(2, "c", "q")  # offered to a
    return e


@pytest.mark.parametrize(
    ("name", "call", "bad"),
    [
        ("add_queue overflow", lambda e: e.add_queue("q2", overflow="nope-q"), "nope-q"),
        ("login queue", lambda e: e.login(3, "z", queues=["nope-q"]), "nope-q"),
        ("login weighted queue", lambda e: e.login(3, "z", queues={"nope-q": 1}), "nope-q"),
        ("logout", lambda e: e.logout(3, "ghost"), "ghost"),
        ("pause", lambda e: e.pause(3, "ghost"), "ghost"),
        ("unpause", lambda e: e.unpause(3, "ghost"), "ghost"),
        ("enqueue queue", lambda e: e.enqueue(3, "c9", "nope-q"), "nope-q"),
        ("hangup", lambda e: e.hangup(3, "ghost-call"), "ghost-call"),
        ("accept call", lambda e: e.accept(3, "ghost-call", "a"), "ghost-call"),
        ("accept agent", lambda e: e.accept(3, "c", "ghost"), "ghost"),
        ("reject agent", lambda e: e.reject(3, "c", "ghost"), "ghost"),
        ("queue_stats", lambda e: e.queue_stats("nope-q"), "nope-q"),
        ("agent", lambda e: e.agent("ghost"), "ghost"),
        ("call", lambda e: e.call("ghost-call"), "ghost-call"),
        ("position", lambda e: e.position("ghost-call"), "ghost-call"),
        ("exempt_max_wait", lambda e: e.exempt_max_wait(3, "ghost-call"), "ghost-call"),
        (
            "add-queues step",
            lambda e: e.add_queue("q2", escalation=[(5, "add-queues", ["nope-q"])]),
            "nope-q",
        ),
    ],
)
def test_unknown_ids_raise_key_error_naming_them(name: str, call: Any, bad: str) -> None:
    e = base()
    with pytest.raises(KeyError) as err:
        call(e)
    assert bad in str(err.value), name


@pytest.mark.parametrize(
    ("now", "shown"),
    [(float("nan"), "nan"), (-1.0, "-1"), (float("inf"), "inf"), (-0.5, "-0.5")],
)
def test_bad_now_raises_value_error_naming_it(now: float, shown: str) -> None:
    e = base()
    calls = [
        lambda: e.login(now, "z", queues=["q"]),
        lambda: e.enqueue(now, "c9", "q"),
        lambda: e.advance(now),
        lambda: e.hangup(now, "c"),
        lambda: e.pause(now, "b"),
    ]
    for f in calls:
        with pytest.raises(ValueError) as err:
            f()
        assert shown in str(err.value).lower(), str(err.value)


def test_time_never_goes_back() -> None:
    e = base()
    e.advance(10)
    for f in (
        lambda: e.advance(9.5),
        lambda: e.enqueue(9.5, "c9", "q"),
        lambda: e.login(9.5, "z", queues=["q"]),
        lambda: e.hangup(9.5, "c"),
    ):
        with pytest.raises(ValueError) as err:
            f()
        assert "9.5" in str(err.value)
    assert e.now == 10.0
    assert e.call("c").state == "offered"  # nothing happened


def test_bad_queue_settings_raise_value_error() -> None:
    e = Engine()
    with pytest.raises(ValueError, match="bogus-strategy"):
        e.add_queue("q", strategy="bogus-strategy")
    for field in ("wrapup", "weight", "sl", "ring_timeout", "retry", "aging", "max_wait"):
        with pytest.raises(ValueError, match=field):
            e.add_queue("q", **{field: -3.0})
        with pytest.raises(ValueError, match=field):
            e.add_queue("q", **{field: float("nan")})
    e.add_queue("q")
    with pytest.raises(ValueError, match='"q"'):
        e.add_queue("q")
    assert e.queues() == ["q"]


@pytest.mark.parametrize("level", [0, 101, -5])
def test_skill_levels_outside_1_to_100_raise_value_error(level: int) -> None:
    e = base()
    with pytest.raises(ValueError) as err:
        e.login(3, "z", skills={"en": 50, "spanish": level}, queues=["q"])
    assert "spanish" in str(err.value) and str(level) in str(err.value)
    with pytest.raises(ValueError) as err:
        e.enqueue(3, "c9", "q", skills={"spanish": level})
    assert "spanish" in str(err.value) and str(level) in str(err.value)
    with pytest.raises(KeyError):
        e.agent("z")
    with pytest.raises(KeyError):
        e.call("c9")


@pytest.mark.parametrize(
    ("steps", "shown"),
    [
        ([(5, "teleport")], "teleport"),
        ([(5, "fallback")], "fallback"),
        ([(5, "lower-skills")], "lower-skills"),
        ([(5, "add-queues")], "add-queues"),
        ([(5, "raise-priority")], "raise-priority"),
        ([(-1, "clear-skills")], "-1"),
        ([(float("nan"), "clear-skills")], "nan"),
        ([(10, "clear-skills"), (5, "clear-skills")], "5"),
        ([(5, "fallback", "")], "fallback target"),
    ],
)
def test_bad_escalation_steps_raise_value_error(steps: list[Any], shown: str) -> None:
    e = Engine()
    with pytest.raises(ValueError) as err:
        e.add_queue("q", escalation=steps)
    assert shown in str(err.value).lower(), str(err.value)
    assert e.queues() == []


@pytest.mark.parametrize("step", [(5,), ()])
def test_escalation_tuple_too_short_raises_value_error(step: tuple[Any, ...]) -> None:
    e = Engine()
    with pytest.raises(ValueError, match="step"):
        e.add_queue("q", escalation=[step])


@pytest.mark.parametrize(
    ("what", "call", "shown"),
    [
        ("lower-skills", lambda e: e.add_queue("q2", escalation=[(5, "lower-skills", 300)]), "300"),
        ("max_waiting", lambda e: e.add_queue("q2", max_waiting=-1), "-1"),
        ("max_no_answers", lambda e: e.add_queue("q2", max_no_answers=-1), "-1"),
        ("limit", lambda e: e.login(3, "z", queues=["q"], limit=-1), "-1"),
        ("membership weight", lambda e: e.login(3, "z", queues={"q": -1}), "-1"),
        ("priority", lambda e: e.enqueue(3, "c9", "q", priority=2**70), str(2**70)),
        ("seed", lambda e: Engine(seed=-1), "-1"),
        ("distributor weight", lambda e: acdcore.Distributor([("x", 2**40)]), str(2**40)),
        pytest.param(
            "agent skill level",
            lambda e: e.login(3, "z", skills={"en": 2**70}, queues=["q"]),
            str(2**70),
        ),
        pytest.param(
            "call skill level",
            lambda e: e.enqueue(3, "c9", "q", skills={"en": -(2**70)}),
            str(2**70),
        ),
        pytest.param(
            "next_many count",
            lambda e: acdcore.Distributor([("x", 1)]).next_many(-1),
            "-1",
        ),
    ],
)
def test_out_of_range_integers_raise_value_error(what: str, call: Any, shown: str) -> None:
    e = base()
    with pytest.raises(ValueError) as err:
        call(e)
    assert shown in str(err.value), what


def test_other_invalid_arguments_raise_value_error() -> None:
    e = base()
    with pytest.raises(ValueError, match="limit"):
        e.login(3, "z", queues=["q"], limit=0)
    with pytest.raises(ValueError, match='"q"'):
        e.login(3, "z", queues=["q", "q"])
    with pytest.raises(ValueError, match="1000000001"):
        e.enqueue(3, "c9", "q", priority=1_000_000_001)
    with pytest.raises(ValueError, match='"c"'):
        e.enqueue(3, "c", "q")  # id in use
    with pytest.raises(ValueError, match="preferred wait"):
        e.enqueue(3, "c9", "q", preferred_agent="a", preferred_wait=-1)
    with pytest.raises(ValueError, match="agent id"):
        e.login(3, "", queues=["q"])
    with pytest.raises(ValueError, match="reason"):
        e.pause(3, "b", reason="r" * 10_000)


def test_wrong_state_raises_state_error() -> None:
    e = base()  # c is offered to a; b is available
    with pytest.raises(StateError, match='"a"'):
        e.login(3, "a", queues=["q"])
    with pytest.raises(StateError) as err:
        e.accept(3, "c", "b")  # not offered to b
    assert '"c"' in str(err.value) and '"b"' in str(err.value)
    with pytest.raises(StateError):
        e.reject(3, "c", "b")
    e.enqueue(3, "w", "q")  # offered to b
    e.enqueue(3, "w2", "q")  # waits
    with pytest.raises(StateError, match='"w2"'):
        e.accept(4, "w2", "a")  # waiting, offered to nobody
    e.accept(4, "c", "a")
    with pytest.raises(StateError):
        e.accept(5, "c", "a")  # already connected
    with pytest.raises(StateError, match='"c"'):
        e.position("c")  # connected, not waiting
    e.hangup(6, "c")
    e.logout(7, "a")
    with pytest.raises(StateError, match='"a"'):
        e.pause(8, "a")
    with pytest.raises(StateError, match='"a"'):
        e.logout(8, "a")
    with pytest.raises(KeyError, match='"c"'):
        e.hangup(9, "c")  # finished: unknown now


def test_an_error_changes_nothing() -> None:
    e = base()
    before = e.snapshot()
    for f in (
        lambda: e.login(5, "a", queues=["q"]),
        lambda: e.enqueue(5, "c", "q"),
        lambda: e.enqueue(5, "c9", "q", skills={"x": 0}),
        lambda: e.accept(5, "c", "b"),
        lambda: e.add_queue("q"),
    ):
        with pytest.raises((ValueError, KeyError, StateError)):
            f()
    assert e.take_events() == []
    assert e.now == 2.0
    assert Engine.restore(before).call("c").state == e.call("c").state == "offered"


# ---- live offers ------------------------------------------------------------------------------


def test_live_offer_then_accept() -> None:
    e = live()
    e.add_queue("q", sl=5)
    e.login(0, "a", queues=["q"])
    evs = e.enqueue(1, "c", "q")
    offer = one(evs, "offer")
    assert (offer.call, offer.queue, offer.agents, offer.t) == ("c", "q", ["a"], 1.0)
    assert e.agent("a").state == "reserved"
    assert e.call("c").state == "offered" and e.call("c").agents == ["a"]
    assert e.queue_stats("q").waiting == 1
    evs = e.accept(4, "c", "a")
    assign = one(evs, "assign")
    assert (assign.agent, assign.wait, assign.t) == ("a", 3.0, 4.0)
    assert e.agent("a").state == "busy"
    st = e.queue_stats("q")
    assert (st.answered, st.answered_within_sl, st.waiting) == (1, 1, 0)


def test_reject_reoffers_to_another_available_agent_at_once() -> None:
    e = live()
    e.add_queue("q")
    e.login(0, "a", queues=["q"])
    e.login(1, "b", queues=["q"])
    assert one(e.enqueue(2, "c", "q"), "offer").agents == ["a"]
    evs = e.reject(3, "c", "a")
    assert of(evs, "unoffer") == []  # the host declined: it needs no telling
    offer = one(evs, "offer")
    assert (offer.call, offer.agents, offer.t) == ("c", ["b"], 3.0)
    assert e.agent("a").state == "available"


def test_reject_keeps_the_place_in_line_and_the_agent_rests() -> None:
    e = live()
    e.add_queue("q", retry=5)
    e.login(0, "a", queues=["q"])
    e.login(0, "b", queues=["q"])
    e.enqueue(1, "c1", "q")  # -> a
    e.enqueue(2, "c2", "q")  # -> b
    e.enqueue(3, "c3", "q")  # waits
    assert e.position("c3") == 1
    evs = e.reject(4, "c1", "a")
    # c1 is back ahead of c3; a rests for the queue's retry before it is offered calls again.
    assert (e.position("c1"), e.position("c3")) == (1, 2)
    assert of(evs, "offer") == []
    e.accept(5, "c2", "b")
    evs = e.hangup(6, "c2")
    # b frees up: it takes the head of the line, c1 — offered again, to another agent.
    assert [(o.call, o.agents, o.t) for o in of(evs, "offer")] == [("c1", ["b"], 6.0)]
    assert e.advance(8.9) == []
    evs = e.advance(9.5)
    assert [(o.call, o.agents, o.t) for o in of(evs, "offer")] == [("c3", ["a"], 9.0)]
    assign = one(e.accept(10, "c1", "b"), "assign")
    assert assign.wait == 9.0


def test_reject_with_no_rest_offers_the_call_again_to_the_same_agent() -> None:
    e = live()
    e.add_queue("q", retry=0)
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c1", "q")  # -> a
    e.enqueue(1, "c2", "q")  # waits behind it
    evs = e.reject(2, "c1", "a")
    # No one else is eligible: back to a, and c1 keeps its place ahead of c2.
    assert [(o.call, o.agents, o.t) for o in of(evs, "offer")] == [("c1", ["a"], 2.0)]
    assert e.position("c2") == 1


def test_ring_timeout_unoffers_and_offers_again() -> None:
    e = live()
    e.add_queue("q", ring_timeout=10, max_no_answers=5)
    e.login(0, "a", queues=["q"])
    e.login(1, "b", queues=["q"])
    e.enqueue(2, "c", "q")  # -> a
    assert e.advance(11.9) == []
    evs = e.advance(20)
    assert [(x.kind, x.t) for x in evs] == [("unoffer", 12.0), ("offer", 12.0)]
    assert (evs[0].agent, evs[0].why) == ("a", "timeout")
    assert evs[1].agents == ["b"]
    assert e.agent("a").no_answers == 1 and e.agent("a").state == "available"
    evs = e.advance(22)  # b misses it too: back to a
    assert [(x.kind, x.t) for x in evs] == [("unoffer", 22.0), ("offer", 22.0)]
    assert evs[1].agents == ["a"]
    e.accept(23, "c", "a")
    assert e.agent("a").no_answers == 0  # an answer resets the count


def test_accept_after_the_ring_timeout_is_refused_and_keeps_the_timeout_events() -> None:
    e = live()
    e.add_queue("q", ring_timeout=10)
    e.login(0, "a", queues=["q"])
    e.login(0, "b", queues=["q"])
    e.enqueue(1, "c", "q")  # -> a
    with pytest.raises(StateError, match='"a"'):
        e.accept(15, "c", "a")  # it stopped ringing at a at 11
    # The clock moved to 15 and what happened meanwhile is not lost.
    evs = e.take_events()
    assert [(x.kind, x.t) for x in evs] == [("unoffer", 11.0), ("offer", 11.0)]
    assert evs[1].agents == ["b"]
    assert e.now == 15.0
    assert one(e.accept(16, "c", "b"), "assign").wait == 15.0


def test_auto_pause_after_max_no_answers_in_a_row() -> None:
    e = live()
    e.add_queue("q", ring_timeout=5, max_no_answers=2)
    e.login(0, "a", queues=["q"])
    e.login(0, "b", queues=["q"])
    e.enqueue(1, "c", "q")  # a (longest idle, lower sequence)
    evs = e.advance(100)
    # a 6, b 11, a 16: a's second miss in a row pauses it; then b 21: paused too.
    pauses = of(evs, "auto-pause")
    assert [(p.agent, p.t, p.target) for p in pauses] == [
        ("a", 16.0, "no-answer"),
        ("b", 21.0, "no-answer"),
    ]
    assert e.agent("a").state == "paused" and e.agent("a").pause_reason == "no-answer"
    assert e.call("c").state == "waiting" and e.position("c") == 1
    evs = e.unpause(101, "a")
    assert one(evs, "offer").agents == ["a"]
    assert e.agent("a").no_answers == 2
    e.accept(102, "c", "a")
    assert e.agent("a").no_answers == 0


def test_a_pause_asked_while_ringing_keeps_its_reason_at_max_no_answers() -> None:
    e = live()
    e.add_queue("q", ring_timeout=5, max_no_answers=1)
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c", "q")  # rings a
    e.pause(2, "a", "lunch")  # waits for the offer
    evs = e.advance(10)  # the offer times out at 6: the miss reaches the limit
    assert [(x.kind, x.t) for x in evs] == [("unoffer", 6.0)]
    assert e.agent("a").state == "paused" and e.agent("a").pause_reason == "lunch"
    assert e.call("c").state == "waiting"


def test_the_no_answer_rule_never_overwrites_a_pending_pause() -> None:
    e = live()
    e.add_queue("q", ring_timeout=5, max_no_answers=1)
    e.login(0, "a", queues=["q"], limit=2)
    e.enqueue(1, "c1", "q")
    e.accept(2, "c1", "a")
    e.enqueue(3, "c2", "q")  # a has room for a second call: it rings
    e.pause(4, "a", "lunch")  # pending while a holds c1 and c2 rings
    evs = e.advance(20)  # c2 times out at 8, a's miss reaches the limit
    assert [(x.kind, x.t) for x in evs] == [("unoffer", 8.0)]
    assert e.agent("a").pending_pause and e.agent("a").state == "busy"
    e.hangup(30, "c1")  # no wrap-up: the pause applies now, with the agent's own reason
    assert e.agent("a").state == "paused" and e.agent("a").pause_reason == "lunch"
    assert e.call("c2").state == "waiting"


def test_agent_info_shows_ringing_offers_and_the_retry_rest() -> None:
    e = live()
    e.add_queue("q", retry=4)
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c", "q")
    info = e.agent("a")
    assert (info.state, info.offers, info.resting) == ("reserved", ["c"], False)
    e.reject(2, "c", "a")
    info = e.agent("a")
    assert (info.state, info.offers, info.resting) == ("available", [], True)
    evs = e.advance(6)  # the rest is over: a is offered the call again
    assert [(x.kind, x.t, x.agents) for x in evs] == [("offer", 6.0, ["a"])]
    assert e.agent("a").resting is False


def test_agent_state_time_adds_up_every_state_since_login() -> None:
    e = live()
    e.add_queue("q", wrapup=5)
    e.login(10, "a", queues=["q"])
    e.enqueue(12, "c", "q")  # rings from 12
    e.accept(15, "c", "a")
    e.hangup(45, "c")  # wrap-up 45..50
    e.pause(60, "a", "lunch")
    e.advance(100)
    t = e.agent("a").state_time
    assert t == {
        "logged-out": 0.0,
        "available": 2.0 + 10.0,
        "reserved": 3.0,
        "busy": 30.0,
        "wrap-up": 5.0,
        "paused": 40.0,
    }
    assert sum(t.values()) == 100 - 10
    e.logout(100, "a")
    e.login(200, "a", queues=["q"])  # counters restart at each login
    e.advance(210)
    assert e.agent("a").state_time["available"] == 10.0
    assert e.agent("a").state_time["paused"] == 0.0


def test_a_missed_call_is_offered_again_before_later_calls() -> None:
    e = live()
    e.add_queue("q", ring_timeout=10, max_no_answers=0)
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c1", "q")
    assert kinds(e.advance(11)) == ["unoffer"]
    evs = e.enqueue(100, "c2", "q")
    c2_offered = any(o.call == "c2" for o in of(evs, "offer"))
    assert not (c2_offered and e.call("c1").state == "waiting"), (
        "c2 was offered to a while c1 waited ahead of it since 11"
    )


def test_ring_all_offers_everyone_and_the_first_accept_wins() -> None:
    e = live()
    e.add_queue("q", strategy="ring-all")
    e.login(0, "x", queues=["q"])
    e.login(1, "y", queues=["q"], skills={"fr": 50})
    e.login(2, "z", queues=["q"])
    e.login(3, "w", queues=[])  # not a member
    evs = e.enqueue(5, "c", "q")
    assert sorted(one(evs, "offer").agents) == ["x", "y", "z"]
    assert all(e.agent(a).state == "reserved" for a in "xyz")
    evs = e.accept(6, "c", "y")
    assert kinds(evs)[-1] == "assign"
    taken = of(evs, "unoffer")
    assert sorted(u.agent for u in taken) == ["x", "z"]
    assert {u.why for u in taken} == {"taken"}
    assert one(evs, "assign").agent == "y"
    with pytest.raises(StateError):
        e.accept(7, "c", "x")
    assert [e.agent(a).state for a in "xyz"] == ["available", "busy", "available"]
    # Only agents with the skills ring.
    evs = e.enqueue(8, "f", "q", skills={"fr": 10})
    assert of(evs, "offer") == []  # y is busy, nobody else speaks French
    evs = e.hangup(9, "c")
    assert one(evs, "offer").call == "f" and e.call("f").agents == ["y"]


def test_hangup_of_a_ringing_call_withdraws_the_offer() -> None:
    e = live()
    e.add_queue("q", strategy="ring-all")
    e.login(0, "x", queues=["q"])
    e.login(0, "y", queues=["q"])
    e.enqueue(1, "c", "q")
    evs = e.hangup(3, "c")
    assert sorted((u.agent, u.why) for u in of(evs, "unoffer")) == [
        ("x", "withdrawn"),
        ("y", "withdrawn"),
    ]
    ab = one(evs, "abandon")
    assert (ab.wait, ab.queue) == (2.0, "q")
    assert e.queue_stats("q").abandoned == 1
    assert [e.agent(a).state for a in "xy"] == ["available", "available"]


# ---- known engine bugs (each also pinned in rust/tests/properties.rs) ---------------------------


def test_a_pause_that_applied_during_a_call_survives_its_wrap_up() -> None:
    e = auto()
    e.add_queue("q", wrapup=5)
    e.login(0, "a", queues=["q"], limit=2)
    e.enqueue(0, "c1", "q")
    e.enqueue(0, "c2", "q")
    e.pause(1, "a", "lunch")  # pending: on calls
    e.hangup(2, "c1")
    e.advance(7)  # c1's wrap-up is over; a still holds c2, so the pause still waits
    info = e.agent("a")
    assert (info.state, info.pending_pause) == ("busy", True)
    assert e.enqueue(7.5, "c4", "q") == []  # no new call while the pause waits
    e.hangup(8, "c2")
    assert e.agent("a").state == "wrap-up"
    assert e.advance(20) == []
    assert (e.agent("a").state, e.agent("a").pause_reason) == ("paused", "lunch")
    assert e.enqueue(21, "c3", "q") == []


def test_a_completed_logout_withdraws_offers_still_ringing() -> None:
    e = live()
    e.add_queue("q", wrapup=5)
    e.login(0, "a", queues=["q"], limit=2)
    e.enqueue(0, "c1", "q")
    e.accept(1, "c1", "a")
    e.enqueue(2, "c2", "q")  # rings at a (its second line)
    evs = e.logout(3, "a")  # pending: a is on c1; the ringing offer is withdrawn now
    assert [(u.agent, u.why) for u in of(evs, "unoffer")] == [("a", "withdrawn")]
    assert e.call("c2").state == "waiting"
    e.hangup(4, "c1")
    assert e.agent("a").state == "logged-out"
    with pytest.raises(StateError):
        e.accept(5, "c2", "a")


def test_a_login_that_cancels_a_logout_never_lets_the_agent_exceed_its_limit() -> None:
    e = live()
    e.add_queue("q")
    e.login(0, "a", queues=["q"], limit=2)
    e.enqueue(0, "c1", "q")
    e.enqueue(0, "c2", "q")  # both ring at a
    e.accept(1, "c1", "a")
    e.logout(2, "a")
    with contextlib.suppress(StateError, ValueError):
        e.login(3, "a", queues=["q"], limit=1)  # refusing it would be a fix too
    with contextlib.suppress(StateError):
        e.accept(4, "c2", "a")
    info = e.agent("a")
    assert len(info.active_calls) <= info.limit, (info.active_calls, info.limit)


def test_an_escalation_step_due_at_arrival_applies_at_once() -> None:
    e = auto()
    e.add_queue("q", escalation=[(0, "clear-skills")])
    e.login(0, "a", queues=["q"])
    assert kinds(e.enqueue(1, "c", "q", skills={"fr": 50})) == ["escalate", "assign"]


def test_a_call_past_its_max_wait_times_out_when_the_offer_ends() -> None:
    e = live()
    e.add_queue("q", max_wait=10, ring_timeout=0)
    e.login(0, "a", queues=["q"])
    evs = e.enqueue(0, "c", "q")
    with contextlib.suppress(StateError, KeyError):
        evs += e.reject(20, "c", "a")
    evs += e.take_events()
    assert len(of(evs, "timeout")) == 1, evs


# ---- preferred agents ---------------------------------------------------------------------------


def test_preferred_agent_holds_the_call_then_releases_it() -> None:
    e = auto()
    e.add_queue("q")
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "x", "q")  # a is busy
    e.login(2, "b", queues=["q"])
    # v waits for a although b is free.
    assert e.enqueue(3, "v", "q", preferred_agent="a", preferred_wait=30) == []
    assert e.call("v").state == "held"
    # a frees up within the hold and gets v.
    evs = e.hangup(10, "x")
    assign = one(evs, "assign")
    assert (assign.call, assign.agent, assign.wait) == ("v", "a", 7.0)
    # v2 waits for busy a; after 30 s anyone will do.
    assert e.enqueue(11, "v2", "q", preferred_agent="a", preferred_wait=30) == []
    assert e.advance(40.9) == []
    evs = e.advance(50)
    assign = one(evs, "assign")
    assert (assign.call, assign.agent, assign.t, assign.wait) == ("v2", "b", 41.0, 30.0)


def test_preferred_agent_not_logged_in_and_zero_wait() -> None:
    e = auto()
    e.add_queue("q")
    e.login(0, "b", queues=["q"])
    # No wait: routed as usual at once.
    assert (
        one(e.enqueue(1, "now", "q", preferred_agent="nobody", preferred_wait=0), "assign").agent
        == "b"
    )
    e.hangup(2, "now")
    # The preferred agent logs in during the hold and gets the call.
    assert e.enqueue(3, "v", "q", preferred_agent="late", preferred_wait=60) == []
    evs = e.login(20, "late", queues=[])  # not even a member of q
    assign = one(evs, "assign")
    assert (assign.call, assign.agent, assign.wait) == ("v", "late", 17.0)


# ---- escalation, max waiting, max wait ----------------------------------------------------------


def test_escalation_lower_skills_then_fallback() -> None:
    e = auto()
    e.add_queue(
        "q",
        escalation=[(10, "lower-skills", 40), (20, "fallback", "voicemail")],
    )
    e.login(0, "a", skills={"fr": 50}, queues=["q"])
    assert e.enqueue(1, "c", "q", skills={"fr": 80}) == []  # a's 50 < 80
    evs = e.advance(11)
    esc = one(evs, "escalate")
    assert (esc.call, esc.queue, esc.step, esc.t) == ("c", "q", 0, 11.0)
    assign = one(evs, "assign")  # 80 - 40 = 40 <= 50
    assert (assign.agent, assign.t) == ("a", 11.0)

    assert e.enqueue(12, "d", "q", skills={"fr": 100}) == []  # 60 after lowering: too high
    evs = e.advance(40)
    assert [(x.kind, x.t, x.step) for x in of(evs, "escalate")] == [
        ("escalate", 22.0, 0),
        ("escalate", 32.0, 1),
    ]
    fb = one(evs, "fallback")
    assert (fb.call, fb.queue, fb.target, fb.t, fb.wait) == ("d", "q", "voicemail", 32.0, 20.0)
    with pytest.raises(KeyError):
        e.call("d")
    st = e.queue_stats("q")
    assert (st.fallback, st.waiting, st.offered) == (1, 0, 2)


def test_escalation_clear_skills() -> None:
    e = auto()
    e.add_queue("q", escalation=[(5, "clear-skills")])
    e.login(0, "a", queues=["q"])
    e.enqueue(1, "c", "q", skills={"klingon": 90})
    evs = e.advance(6)
    assert kinds(evs) == ["escalate", "assign"]


def test_escalation_add_queues() -> None:
    e = auto()
    e.add_queue("overflow")
    e.add_queue("q", escalation=[(30, "add-queues", ["overflow"])])
    e.login(0, "helper", queues=["overflow"])
    e.enqueue(1, "c", "q")
    assert e.advance(30) == []
    evs = e.advance(31)
    assert kinds(evs) == ["escalate", "assign"]
    assign = evs[1]
    assert (assign.agent, assign.queue, assign.wait) == ("helper", "overflow", 30.0)
    # The call still counts in its own queue.
    assert e.queue_stats("q").answered == 1 and e.queue_stats("overflow").answered == 0


def test_escalation_raise_priority_reorders_the_line() -> None:
    e = auto()
    e.add_queue("q", escalation=[(10, "raise-priority", 5)])
    e.enqueue(0, "old", "q")
    e.enqueue(5, "vip", "q", priority=3)
    assert (e.position("vip"), e.position("old")) == (1, 2)
    evs = e.advance(10)
    assert one(evs, "escalate").call == "old"
    assert (e.position("old"), e.position("vip")) == (1, 2)
    assert e.call("old").priority == 5.0
    evs = e.login(12, "a", queues=["q"])  # before vip's own step at 15
    assert one(evs, "assign").call == "old"


def test_max_waiting_overflows_or_refuses() -> None:
    e = auto()
    e.add_queue("spill")
    e.add_queue("q", max_waiting=1, overflow="spill")
    e.add_queue("closed", max_waiting=1)
    assert e.enqueue(0, "c1", "q") == []
    ov = one(e.enqueue(1, "c2", "q"), "overflow")
    assert (ov.call, ov.queue, ov.target, ov.wait) == ("c2", "q", "spill", 0.0)
    assert e.call("c2").queue == "spill"
    e.enqueue(2, "d1", "closed")
    ov = one(e.enqueue(3, "d2", "closed"), "overflow")
    assert (ov.queue, ov.target) == ("closed", None)
    with pytest.raises(KeyError):
        e.call("d2")
    q, spill, closed = (e.queue_stats(x) for x in ("q", "spill", "closed"))
    assert (q.offered, q.overflowed, q.waiting) == (2, 1, 1)
    assert (spill.offered, spill.waiting) == (1, 1)
    assert (closed.offered, closed.overflowed, closed.waiting) == (2, 1, 1)


def test_max_wait_times_out_or_overflows() -> None:
    e = auto()
    e.add_queue("spill")
    e.add_queue("q", max_wait=30, overflow="spill")
    e.add_queue("t", max_wait=20)
    e.enqueue(0, "c", "q")
    e.enqueue(5, "d", "t")
    evs = e.advance(100)
    to = one(evs, "timeout")
    assert (to.call, to.queue, to.t, to.wait) == ("d", "t", 25.0, 20.0)
    ov = one(evs, "overflow")
    assert (ov.call, ov.queue, ov.target, ov.t, ov.wait) == ("c", "q", "spill", 30.0, 30.0)
    assert e.call("c").queue == "spill"
    assert e.queue_stats("t").timed_out == 1
    assert e.queue_stats("q").overflowed == 1
    evs = e.login(101, "a", queues=["spill"])
    assert one(evs, "assign").wait == 101.0  # wait counts from the first arrival


def test_a_max_wait_exempt_call_stays_in_line_through_a_snapshot() -> None:
    e = auto()
    e.add_queue("q", max_wait=30, escalation=[(40, "raise-priority", 5)])
    e.enqueue(0, "live", "q")
    e.enqueue(0, "entry", "q", max_wait_exempt=True)
    e.enqueue(0, "later", "q")
    assert e.exempt_max_wait(10, "later") == []
    assert [e.call(c).max_wait_exempt for c in ("live", "entry", "later")] == [False, True, True]
    e = Engine.restore(e.snapshot())
    evs = e.advance(100)
    assert [(ev.kind, ev.call, ev.t) for ev in evs] == [
        ("timeout", "live", 30.0),
        ("escalate", "entry", 40.0),  # escalation is the queue's policy: it still applies
        ("escalate", "later", 40.0),
    ]
    assert e.call("entry").priority == 5.0 and e.call("entry").state == "waiting"
    assert e.next_timer_at() is None
    assert one(e.login(500, "a", queues=["q"]), "assign").wait == 500.0
    with pytest.raises(StateError, match='"entry" is connected'):
        e.exempt_max_wait(501, "entry")


def test_queue_weight_decides_between_queues() -> None:
    e = auto()
    e.add_queue("low", weight=1)
    e.add_queue("high", weight=5)
    e.enqueue(0, "l", "low")
    e.enqueue(5, "h", "high")
    evs = e.login(10, "a", queues=["low", "high"])
    assert one(evs, "assign").call == "h"


def test_priority_aging_changes_the_order() -> None:
    def scenario(aging: float) -> str:
        e = auto()
        e.add_queue("q", aging=aging)
        e.enqueue(0, "patient", "q", priority=0)
        e.enqueue(10, "urgent", "q", priority=5)
        e.advance(20)
        first = "patient" if e.position("patient") == 1 else "urgent"
        evs = e.login(20, "a", queues=["q"])
        assert one(evs, "assign").call == first
        return first

    # At t=20: without aging 0 < 5; with 1 point per second 20 > 5 + 10.
    assert scenario(0.0) == "urgent"
    assert scenario(1.0) == "patient"


def test_higher_priority_first_then_arrival() -> None:
    e = auto()
    e.add_queue("q")
    for i, p in enumerate([0, 2, 1, 2, 0]):
        e.enqueue(i, f"c{i}", "q", priority=p)
    order = sorted((e.position(f"c{i}"), f"c{i}") for i in range(5))
    assert [c for _, c in order] == ["c1", "c3", "c2", "c0", "c4"]
    e.login(10, "a", queues=["q"], limit=2)
    assert [x.call for x in e.take_events()] == []  # returned by login, not left behind
    assert e.agent("a").active_calls == ["c1", "c3"]


# ---- positions and estimates ------------------------------------------------------------------


def test_position_and_estimated_wait() -> None:
    e = auto()
    e.add_queue("q", wrapup=10)
    e.login(0, "a", queues=["q"])
    e.login(0, "b", queues=["q"])
    assert e.queue_stats("q").estimated_wait is None  # no handle times yet
    e.enqueue(1, "c1", "q")
    e.enqueue(1, "c2", "q")
    e.hangup(51, "c1")  # handle 50 + 10
    e.hangup(51, "c2")
    e.advance(61)
    for i in range(3, 9):
        e.enqueue(62, f"c{i}", "q")
    assert [e.position(f"c{i}") for i in range(5, 9)] == [1, 2, 3, 4]
    st = e.queue_stats("q")
    assert st.waiting == 4 and st.longest_wait == 0.0
    assert st.estimated_wait is not None and st.estimated_wait > 0
    # Four ahead of a new caller, two agents, about a minute each: about two minutes.
    assert 60 <= st.estimated_wait <= 180
    e.advance(70)
    assert e.queue_stats("q").longest_wait == 8.0
    e.hangup(71, "c6")  # abandon in the middle
    assert [e.position(f"c{i}") for i in (5, 7, 8)] == [1, 2, 3]
    assert e.queue_stats("q").abandoned == 1
    e.hangup(72, "c3")
    e.hangup(72, "c4")
    e.logout(73, "a")
    e.logout(73, "b")
    assert e.queue_stats("q").estimated_wait is None  # nobody staffed


# ---- snapshot and restore ---------------------------------------------------------------------


def _busy_engine(seed: int, auto_accept: bool) -> Engine:
    e = Engine(seed=seed, auto_accept=auto_accept)
    e.add_queue("spill", strategy="random")
    e.add_queue(
        "q",
        strategy="weighted-random",
        wrapup=3,
        max_wait=40,
        overflow="spill",
        ring_timeout=6,
        aging=0.5,
        escalation=[(8, "lower-skills", 20), (15, "add-queues", ["spill"])],
    )
    e.login(0, "a", skills={"en": 60}, queues={"q": 3, "spill": 1})
    e.login(0, "b", skills={"en": 90, "fr": 40}, queues={"q": 1})
    e.login(0, "c", queues={"spill": 2}, limit=2)
    e.login(0, "d", skills={"fr": 80}, queues={"q": 2, "spill": 2})
    for i in range(12):
        e.enqueue(i, f"k{i}", "q", priority=i % 3, skills={"en": 70} if i % 2 else {})
    e.pause(12, "d")
    e.enqueue(12, "vip", "q", preferred_agent="b", preferred_wait=20)
    return e


def _future(e: Engine, auto_accept: bool) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    rng = random.Random(5)
    t = 13.0
    n = 0
    for _ in range(120):
        t += rng.choice([0, 0.5, 1, 3, 7])
        r = rng.random()
        try:
            if r < 0.3:
                evs = e.enqueue(t, f"n{n}", rng.choice(["q", "spill"]), priority=rng.randint(0, 3))
                n += 1
            elif r < 0.55:
                evs = e.hangup(
                    t, rng.choice([f"k{i}" for i in range(12)] + [f"n{i}" for i in range(n)])
                )
            elif r < 0.7 and not auto_accept:
                offered = [c for c in [f"n{i}" for i in range(n)] if _state(e, c) == "offered"]
                if not offered:
                    continue
                c = rng.choice(offered)
                agent = e.call(c).agents[0]
                evs = (e.accept if rng.random() < 0.7 else e.reject)(t, c, agent)
            elif r < 0.8:
                evs = e.unpause(t, "d")
            else:
                evs = e.advance(t)
        except (KeyError, ValueError, StateError) as err:
            out.append(("error", type(err).__name__, str(err)))
            evs = e.take_events()
        out.extend(tuple(sorted(x.to_dict().items())) for x in evs)
    out.extend(tuple(sorted(x.to_dict().items())) for x in e.finish())
    out.append(tuple(sorted(vars_of(e.queue_stats("q")).items())))
    return out


def _state(e: Engine, c: str) -> str | None:
    try:
        return e.call(c).state
    except KeyError:
        return None


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in dir(obj) if not k.startswith("_")}


@pytest.mark.parametrize("auto_accept", [True, False])
@pytest.mark.parametrize("seed", [0, 7])
def test_restore_makes_the_same_future_decisions(seed: int, auto_accept: bool) -> None:
    e = _busy_engine(seed, auto_accept)
    snap = e.snapshot()
    twin = Engine.restore(snap)
    for c in ["k0", "k5", "k11", "vip"]:
        assert vars_of(twin.call(c)) == vars_of(e.call(c))
    for a in "abcd":
        assert vars_of(twin.agent(a)) == vars_of(e.agent(a))
    assert twin.now == e.now and twin.auto_accept == e.auto_accept
    assert _future(twin, auto_accept) == _future(e, auto_accept)


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\x00" * 64, b"\x93\xa3abc\x01\xc0", bytes(range(256))],
)
def test_restore_of_bytes_that_are_not_a_snapshot_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="snapshot"):
        Engine.restore(data)


def test_restore_of_a_truncated_snapshot_raises_value_error() -> None:
    snap = _busy_engine(1, False).snapshot()
    for cut in range(0, len(snap), max(1, len(snap) // 97)):
        with pytest.raises(ValueError):
            Engine.restore(snap[:cut])


_MUTANT_SCRIPT = r"""
import json, sys
import acdcore
from acdcore import Engine, StateError

e = Engine(auto_accept=True)
e.add_queue("q")
e.enqueue(0, "c1", "q")
e.enqueue(0, "c2", "q")
snap = e.snapshot()
ops = (
    lambda r: r.position("c1"),
    lambda r: r.position("c2"),
    lambda r: r.queue_stats("q"),
    lambda r: r.hangup(1, "c1"),
    lambda r: r.login(2, "a", queues=["q"]),
    lambda r: r.hangup(3, "c2"),
    lambda r: r.finish(),
)
restored, panics = 0, []
for i in range(len(snap)):
    for v in (0x00, 0x05, 0x7F, 0xFF):
        if snap[i] == v:
            continue
        data = bytearray(snap)
        data[i] = v
        try:
            r = Engine.restore(bytes(data))
        except ValueError:
            continue
        restored += 1
        for op in ops:
            try:
                op(r)
            except (KeyError, ValueError, StateError):
                pass
            except BaseException as err:  # pyo3's PanicException is a BaseException
                panics.append(f"byte {i} = {v}: {type(err).__name__}: {err}")
                break
print(json.dumps({"restored": restored, "panics": panics}))
"""


def test_a_damaged_snapshot_never_panics() -> None:
    # In a child process: a damaged snapshot could also make the engine loop forever.
    proc = subprocess.run(
        [sys.executable, "-c", _MUTANT_SCRIPT],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    result = json.loads(proc.stdout)
    panics = result["panics"]
    assert panics == [], (
        f"{len(panics)} of {result['restored']} damaged snapshots that restore accepted "
        f"panicked later, e.g. {panics[:3]}"
    )


# ---- percentage distribution ------------------------------------------------------------------


def test_distributor_shares_are_exact_and_smooth() -> None:
    d = acdcore.Distributor([("a", 5), ("b", 3), ("c", 2)])
    assert d.targets() == [("a", 5), ("b", 3), ("c", 2)]
    picks = [d.next() for _ in range(500)] + d.next_many(500)
    assert Counter(picks) == {"a": 500, "b": 300, "c": 200}
    # Smooth: every prefix stays within one pick of its exact share.
    seen: Counter[str] = Counter()
    for n, p in enumerate(picks, 1):
        seen[p] += 1
        for name, w in (("a", 5), ("b", 3), ("c", 2)):
            assert abs(seen[name] - n * w / 10) < 1, (n, name, seen)
    # The first cycle interleaves rather than bunching.
    assert picks[:10] == ["a", "b", "c", "a", "a", "b", "a", "c", "b", "a"]


def test_distributor_bad_configs_raise_value_error() -> None:
    with pytest.raises(ValueError):
        acdcore.Distributor([])
    with pytest.raises(ValueError, match="weight"):
        acdcore.Distributor([("a", 0), ("b", 0)])
    with pytest.raises(ValueError, match='"a"'):
        acdcore.Distributor([("a", 1), ("a", 2)])
    d = acdcore.Distributor([("only", 1), ("never", 0)])
    assert set(d.next_many(20)) == {"only"}


# ---- batch APIs -------------------------------------------------------------------------------


def test_integer_call_ids_come_back_as_an_int64_column() -> None:
    e = auto()
    e.add_queue("q")
    e.login(0, "a", queues=["q"])
    out = e.enqueue_many(np.array([1.0, 2.0]), np.array([7, 8], dtype=np.int64), "q")
    assert out["call"].dtype == np.int64 and list(out["call"]) == [7]
    out = e.hangup_many(np.array([3.0]), np.array([7], dtype=np.int64))
    got = list(zip([acdcore.EVENT_KINDS[k] for k in out["kind"]], out["call"], strict=True))
    assert got == [("end", 7), ("assign", 8)]
    assert list(out["wait"]) == [2.0, 1.0]  # talk of the end, wait of the assign
    # A batch naming a call whose id is not an integer falls back to a list of str.
    e.enqueue(4.0, "vip", "q")
    out = e.hangup_many(np.array([5.0]), np.array([8], dtype=np.int64))
    assert out["call"] == ["8", "vip"]


def test_enqueue_many_takes_numpy_and_returns_columns() -> None:
    e = auto()
    e.add_queue("q")
    e.add_queue("r")
    e.login(0, "a", queues=["q"])
    e.login(0, "b", queues=["r"])
    now = np.array([1.0, 2.0, 3.0, 4.0])
    out = e.enqueue_many(
        now, ["c0", "c1", "c2", "c3"], ["q", "r", "q", "r"], np.array([0, 0, 5, 1])
    )
    assert set(out) == {"kind", "t", "wait", "call", "agent", "queue"}
    assert isinstance(out["kind"], np.ndarray) and out["kind"].dtype == np.uint8
    assert out["t"].dtype == np.float64 and out["wait"].dtype == np.float64
    assert [acdcore.EVENT_KINDS[k] for k in out["kind"]] == ["assign", "assign"]
    assert out["call"] == ["c0", "c1"] and out["agent"] == ["a", "b"]
    assert out["queue"] == ["q", "r"]
    assert list(out["t"]) == [1.0, 2.0] and list(out["wait"]) == [0.0, 0.0]
    assert e.position("c2") == 1 and e.call("c2").priority == 5.0

    # Integer ids, one queue for all.
    out = e.enqueue_many(np.array([5.0, 6.0]), np.array([10, 11], dtype=np.int64), "q")
    assert len(out["kind"]) == 0
    assert e.call("10").state == "waiting" and e.call("11").queue == "q"

    out = e.hangup_many(np.array([7.0, 8.0, 9.0]), ["c0", "10", "c1"])
    got = list(zip([acdcore.EVENT_KINDS[k] for k in out["kind"]], out["call"], strict=True))
    # c0 ends and a takes the best waiting call (c2, priority 5); 10 abandons; c1 ends and b
    # takes c3 from its queue r.
    assert got == [
        ("end", "c0"),
        ("assign", "c2"),
        ("abandon", "10"),
        ("end", "c1"),
        ("assign", "c3"),
    ]
    waits = dict(zip(out["call"], out["wait"], strict=False))
    assert waits["10"] == 3.0  # an abandon's wait
    assert math.isclose(out["wait"][0], 6.0)  # an end's talk time
    assert out["agent"][2] is None


def test_batch_stops_at_a_bad_item_naming_it_and_keeps_earlier_items() -> None:
    e = auto()
    e.add_queue("q")
    e.login(0, "a", queues=["q"])
    with pytest.raises(ValueError) as err:
        e.enqueue_many(np.array([1.0, 2.0, 3.0, 4.0]), ["ok0", "ok1", "ok0", "never"], "q")
    msg = str(err.value)
    assert "item 2" in msg and '"ok0"' in msg
    assert e.call("ok0").state == "connected" and e.call("ok1").state == "waiting"
    with pytest.raises(KeyError):
        e.call("never")
    # The events of the applied items are kept for take_events().
    assert [(x.kind, x.call) for x in e.take_events()] == [("assign", "ok0")]

    with pytest.raises(ValueError, match=r"item 1: .*nope-q"):
        e.enqueue_many(np.array([5.0, 5.0]), ["x0", "x1"], ["q", "nope-q"])
    with pytest.raises(ValueError, match=r"item 0: .*nope-q"):
        e.enqueue_many(np.array([5.0, 5.0]), ["y0", "y1"], "nope-q")
    assert e.call("x0").state == "waiting"
    with pytest.raises(ValueError, match="item 1"):
        e.enqueue_many(np.array([6.0, 5.5]), ["t0", "t1"], "q")  # time goes back
    assert e.call("t0").state == "waiting"

    with pytest.raises(ValueError) as err:
        e.hangup_many(np.array([7.0, 7.0, 7.0]), ["ok1", "ghost", "t0"])
    assert "item 1" in str(err.value) and "ghost" in str(err.value)
    assert [(x.kind, x.call) for x in e.take_events()] == [("abandon", "ok1")]
    assert e.call("t0").state == "waiting"  # after the bad item: not applied


def test_batch_length_mismatch_raises_value_error() -> None:
    e = auto()
    e.add_queue("q")
    with pytest.raises(ValueError, match="calls"):
        e.enqueue_many(np.array([1.0, 2.0]), ["a"], "q")
    with pytest.raises(ValueError, match="queues"):
        e.enqueue_many(np.array([1.0, 2.0]), ["a", "b"], ["q"])
    with pytest.raises(ValueError, match="priorities"):
        e.enqueue_many(np.array([1.0]), ["a"], "q", np.array([1, 2]))
    with pytest.raises(ValueError, match="calls"):
        e.hangup_many(np.array([1.0]), ["a", "b"])
    assert e.queue_stats("q").offered == 0


def test_batch_of_many_calls() -> None:
    e = auto()
    e.add_queue("q")
    for i in range(50):
        e.login(0, f"a{i}", queues=["q"])
    n = 20_000
    now = np.linspace(1.0, 1000.0, n)
    out = e.enqueue_many(now, np.arange(n, dtype=np.int64), "q")
    assert len(out["kind"]) == 50
    assert e.queue_stats("q").waiting == n - 50
    out = e.hangup_many(now[-1] + np.arange(n, dtype=np.float64), np.arange(n, dtype=np.int64))
    # Each hangup ends a connected call whose agent takes the next waiting one.
    assert Counter(acdcore.EVENT_KINDS[k] for k in out["kind"]) == {"end": n, "assign": n - 50}
    assert e.queue_stats("q").waiting == 0
    ids, codes = e.agent_states()
    assert len(ids) == 50 and set(codes.tolist()) == {acdcore.AGENT_STATES.index("available")}


# ---- inputs that must not crash -----------------------------------------------------------------


def test_huge_strings_are_refused_with_a_clipped_message() -> None:
    e = auto()
    e.add_queue("q")
    huge = "x" * 10_000_000
    for f in (
        lambda: e.add_queue(huge),
        lambda: e.login(0, huge, queues=["q"]),
        lambda: e.enqueue(0, huge, "q"),
        lambda: e.login(0, "a", skills={huge: 5}, queues=["q"]),
        lambda: e.enqueue(0, "c", "q", preferred_agent=huge, preferred_wait=5),
        lambda: e.add_queue("q2", escalation=[(1, "fallback", huge)]),
        lambda: e.pause(0, "a", huge),
    ):
        with pytest.raises((ValueError, KeyError, StateError)) as err:
            f()
        assert len(str(err.value)) < 1000
    for f in (
        lambda: e.enqueue(0, "c", huge),
        lambda: e.hangup(0, huge),
        lambda: e.agent(huge),
        lambda: e.queue_stats(huge),
    ):
        with pytest.raises(KeyError) as err:
            f()
        assert len(str(err.value)) < 1000
    assert e.queues() == ["q"] and e.agents() == []


def test_a_million_skills_is_refused_quickly() -> None:
    e = auto()
    e.add_queue("q")
    skills = {f"s{i}": 50 for i in range(1_000_000)}
    # CPU time, not wall time: a guard against quadratic work that a loaded machine cannot trip.
    start = time.process_time()
    with pytest.raises(ValueError, match="256"):
        e.login(0, "a", skills=skills, queues=["q"])
    with pytest.raises(ValueError, match="256"):
        e.enqueue(0, "c", "q", skills=skills)
    assert time.process_time() - start < 5.0
    assert e.agents() == [] and e.queue_stats("q").offered == 0


def test_odd_values_never_crash() -> None:
    e = auto()
    e.add_queue("q")
    for now in (1e300, float("inf"), -0.0, 5e-324):
        with contextlib.suppress(ValueError):
            e.advance(now)
    e.login(1, "ünïcødé-🙂", skills={"日本語": 100}, queues=["q"])
    assert one(e.enqueue(2, "☎", "q", skills={"日本語": 1}), "assign").agent == "ünïcødé-🙂"
    with pytest.raises((TypeError, ValueError)):
        e.login(3, "z", skills={"en": "high"}, queues=["q"])  # type: ignore[dict-item]
    with pytest.raises((TypeError, ValueError)):
        e.add_queue("bad", escalation=[[5, "clear-skills"]])
    with pytest.raises((TypeError, ValueError)):
        e.enqueue(3, "n", "q", priority=1.5)  # type: ignore[arg-type]
