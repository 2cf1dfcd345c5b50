"""Known answers for agent and call life cycles in the replay contract (issue 2).

Wrap-up timing and ordering, which waiting call an agent takes, skills eligibility, logout,
login cancelling a pending logout, pause/unpause, abandon and the summary counts. Every expected
event list was worked out by hand from the contract text and /tmp/acd/decisions.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from replay_support import (
    EVENT_KEYS,
    SUMMARY_KEYS,
    Event,
    Replay,
    abandon,
    assign,
    call,
    counts,
    end,
    events,
    hangup,
    lines_of,
    login,
    logout,
    pause,
    queue,
    st,
    summary,
    unpause,
    with_data,
)

# ---- wrap-up ------------------------------------------------------------------------------------


def test_wrapup_ending_at_a_line_time_finishes_before_that_line(replay: Replay):
    # Rule: wrap-ups ending at or before t finish before the line at t is applied.
    trace = [
        queue(0, "q", strategy="linear", wrapup=5),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        call(0, "c1", "q"),  # A
        hangup(5, "c1"),  # A in wrap-up until 10
        call(10, "c2", "q"),  # A's wrap-up ends first, so linear picks A (else only B is free)
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(5, "c1", "A", 5),
        assign(10, "c2", "A", "q", 0),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_wrapup_end_takes_a_waiting_call_at_the_end_time(replay: Replay):
    # Rule: an agent whose wrap-up ends between lines takes a waiting call at the end time.
    trace = [
        queue(0, "q", wrapup=3, sl=2),
        login(0, "A", ["q"]),
        call(1, "c1", "q"),  # A
        call(2, "c2", "q"),  # waits
        hangup(4, "c1"),  # wrap-up until 7
        call(9, "c3", "q"),  # first A's wrap-up ends at 7 and A takes c2 (wait 5); c3 waits
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(4, "c1", "A", 3),
        assign(7, "c2", "A", "q", 5),
        summary({"q": counts(3, 2, 0, 1, 1)}),  # wait 5 > sl 2
    ]


@pytest.mark.parametrize(
    ("line", "after"),
    [
        # A took c2 at 7, so the hangup ends it (not an abandon of a waiting call).
        (hangup(8, "c2"), [end(8, "c2", "A", 1)]),
        # A is on c2 at 8, so the pause is pending (not applied at the wrap-up end at 7).
        (pause(8, "A"), []),
        # A is on c2 at 8, so the logout is pending (not dropping the wrap-up before c2).
        (logout(8, "A"), []),
        # B logs in with nothing left to take (c2 went to A at 7).
        (login(8, "B", ["q"]), []),
    ],
    ids=["hangup", "pause", "logout", "login"],
)
def test_wrapup_ends_before_a_line_of_any_op(
    replay: Replay, line: dict[str, Any], after: list[Event]
):
    # Rule: wrap-ups ending by t finish (and take waiting calls) before any line at t applies.
    trace = [
        queue(0, "q", wrapup=5),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        call(1, "c2", "q"),  # waits
        hangup(2, "c1"),  # wrap-up until 7
        line,  # at 8
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(2, "c1", "A", 2),
        assign(7, "c2", "A", "q", 6),
        *after,
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_wrapups_ending_at_the_same_time_finish_in_start_order(replay: Replay):
    # Rule: wrap-ups with the same end time finish in the order in which they started.
    trace = [
        queue(0, "qa", wrapup=10),
        queue(0, "qb", wrapup=5),
        queue(0, "qc"),
        login(0, "A", ["qa", "qb", "qc"]),  # seq 1
        login(0, "B", ["qa", "qb", "qc"]),  # seq 2
        call(1, "x1", "qb"),  # A
        call(1, "x2", "qa"),  # B
        hangup(2, "x2"),  # B's wrap-up: 2 -> 12 (started first)
        hangup(7, "x1"),  # A's wrap-up: 7 -> 12
        call(8, "w1", "qc"),  # waits
        call(20, "w2", "qc"),  # at 12 B finishes first and takes w1; then A is free for w2
    ]
    assert events(replay, trace) == [
        assign(1, "x1", "A", "qb", 0),
        assign(1, "x2", "B", "qa", 0),
        end(2, "x2", "B", 1),
        end(7, "x1", "A", 6),
        assign(12, "w1", "B", "qc", 4),
        assign(20, "w2", "A", "qc", 0),
        summary(
            {
                "qa": counts(1, 1, 0, 1, 0),
                "qb": counts(1, 1, 0, 1, 0),
                "qc": counts(2, 2, 0, 2, 0),
            }
        ),
    ]


def test_wrapups_finish_in_order_of_end_time(replay: Replay):
    # Rule: wrap-ups finish in order of end time, even when a later one started first.
    trace = [
        queue(0, "qa", wrapup=10),
        queue(0, "qb", wrapup=2),
        queue(0, "qc"),
        login(0, "A", ["qa", "qb", "qc"]),
        login(0, "B", ["qa", "qb", "qc"]),
        call(1, "x1", "qb"),  # A
        call(1, "x2", "qa"),  # B
        hangup(2, "x2"),  # B's wrap-up: 2 -> 12
        hangup(5, "x1"),  # A's wrap-up: 5 -> 7
        call(6, "w1", "qc"),  # waits
        call(6, "w2", "qc"),  # waits
        call(20, "w3", "qc"),  # first: A at 7 takes w1, B at 12 takes w2; then w3 waits
    ]
    assert events(replay, trace) == [
        assign(1, "x1", "A", "qb", 0),
        assign(1, "x2", "B", "qa", 0),
        end(2, "x2", "B", 1),
        end(5, "x1", "A", 4),
        assign(7, "w1", "A", "qc", 1),
        assign(12, "w2", "B", "qc", 6),
        summary(
            {
                "qa": counts(1, 1, 0, 1, 0),
                "qb": counts(1, 1, 0, 1, 0),
                "qc": counts(3, 2, 0, 2, 1),
            }
        ),
    ]


def test_wrapups_after_the_last_line_finish_and_take_waiting_calls(replay: Replay):
    # Rule: wrap-ups still running after the last line finish (in end order) and take calls.
    trace = [
        queue(0, "q", wrapup=5, sl=5),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        call(0, "c1", "q"),  # A
        call(0, "c2", "q"),  # B
        call(1, "c3", "q"),  # waits
        call(1, "c4", "q"),  # waits
        hangup(2, "c1"),  # A: wrap-up until 7
        hangup(3, "c2"),  # B: wrap-up until 8
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        assign(0, "c2", "B", "q", 0),
        end(2, "c1", "A", 2),
        end(3, "c2", "B", 3),
        assign(7, "c3", "A", "q", 6),
        assign(8, "c4", "B", "q", 7),
        summary({"q": counts(4, 4, 0, 2, 0)}),  # waits 6 and 7 exceed sl 5
    ]


def test_zero_wrapup_call_end_then_assign_at_once(replay: Replay):
    # Rule: with wrap-up 0 the agent is available when the call ends; `end` comes before `assign`.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        call(1, "c2", "q"),  # waits
        hangup(3, "c1"),
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(3, "c1", "A", 3),
        assign(3, "c2", "A", "q", 2),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


# ---- which waiting call an available agent takes ------------------------------------------------


def test_login_takes_the_oldest_waiting_call(replay: Replay):
    # Rule: an agent logging in takes a waiting call at once (assign at the login time).
    trace = [
        queue(0, "q"),
        call(0, "c1", "q"),
        call(1, "c2", "q"),
        login(3, "A", ["q"]),
    ]
    assert events(replay, trace) == [
        assign(3, "c1", "A", "q", 3),
        summary({"q": counts(2, 1, 0, 1, 1)}),
    ]


def test_waiting_call_order_weight_priority_arrival_trace(replay: Replay):
    # Rule: an available agent takes the waiting call with the highest queue weight, then the
    # highest priority, then the earliest arrival, then the earliest trace line, across queues.
    trace = [
        queue(0, "lo", weight=1),
        queue(0, "hi", weight=2),
        queue(0, "lo2", weight=1),
        login(0, "A", ["lo", "hi", "lo2"]),
        call(0, "c0", "lo"),  # A is busy from here on
        call(0.5, "w8", "lo", priority=-1),
        call(1, "w1", "lo", priority=5),
        call(2, "w2", "hi"),  # priority 0, but the heaviest queue
        call(3, "w3", "lo2", priority=5),
        call(4, "w4", "lo", priority=9),
        call(5, "w6", "lo2", priority=1),  # same weight, priority, time as w7; first in trace
        call(5, "w7", "lo", priority=1),
        call(5, "w5", "hi"),
        hangup(10, "c0"),
        hangup(11, "w2"),
        hangup(12, "w5"),
        hangup(13, "w4"),
        hangup(14, "w1"),
        hangup(15, "w3"),
        hangup(16, "w6"),
        hangup(17, "w7"),
        hangup(18, "w8"),
    ]
    # Expected order: w2, w5 (weight 2); w4 (priority 9); w1, w3 (priority 5, by arrival);
    # w6, w7 (priority 1, same arrival, by trace line); w8 (priority -1).
    assert events(replay, trace) == [
        assign(0, "c0", "A", "lo", 0),
        end(10, "c0", "A", 10),
        assign(10, "w2", "A", "hi", 8),
        end(11, "w2", "A", 1),
        assign(11, "w5", "A", "hi", 6),
        end(12, "w5", "A", 1),
        assign(12, "w4", "A", "lo", 8),
        end(13, "w4", "A", 1),
        assign(13, "w1", "A", "lo", 12),
        end(14, "w1", "A", 1),
        assign(14, "w3", "A", "lo2", 11),
        end(15, "w3", "A", 1),
        assign(15, "w6", "A", "lo2", 10),
        end(16, "w6", "A", 1),
        assign(16, "w7", "A", "lo", 11),
        end(17, "w7", "A", 1),
        assign(17, "w8", "A", "lo", 16.5),
        end(18, "w8", "A", 1),
        summary(
            {
                "lo": counts(5, 5, 0, 5, 0),
                "hi": counts(2, 2, 0, 2, 0),
                "lo2": counts(2, 2, 0, 2, 0),
            }
        ),
    ]


# ---- skills eligibility -------------------------------------------------------------------------


def test_skills_eligibility_with_minimum_levels(replay: Replay):
    # Rule: eligible = available, serves the call's queue, every required skill >= its minimum;
    # an agent freeing up skips waiting calls it is not eligible for.
    trace = [
        queue(0, "q"),
        queue(0, "q2"),
        login(0, "A", ["q"], {"es": 50}),
        login(0, "B", ["q"], {"es": 49, "en": 100}),
        login(0, "C", ["q2"], {"es": 100, "en": 100}),  # skilled, but does not serve q
        login(0, "D", ["q"]),  # no skills
        call(1, "c1", "q", skills={"es": 50}),  # A (exactly the minimum); B is one level short
        call(2, "c2", "q", skills={"es": 50}),  # nobody free qualifies: waits
        call(3, "c3", "q", skills={"en": 1, "es": 1}),  # B (D lacks both)
        call(4, "c4", "q"),  # no requirements: D
        call(5, "c5", "q", skills={"fr": 1}),  # nobody has fr: waits for good
        call(5.5, "c6", "q", skills={"en": 50}),  # waits (everyone in q is busy)
        hangup(6, "c3"),  # B skips c2 (es 49) and c5, takes c6
        hangup(7, "c1"),  # A takes c2
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        assign(3, "c3", "B", "q", 0),
        assign(4, "c4", "D", "q", 0),
        end(6, "c3", "B", 3),
        assign(6, "c6", "B", "q", 0.5),
        end(7, "c1", "A", 6),
        assign(7, "c2", "A", "q", 5),
        summary({"q": counts(6, 5, 0, 5, 1), "q2": counts(0, 0, 0, 0, 0)}),
    ]


# ---- logout -------------------------------------------------------------------------------------


def test_logout_of_an_available_agent_is_at_once(replay: Replay):
    # Rule: logout of an agent not on a call takes effect at once.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        logout(1, "A"),
        call(2, "c1", "q"),  # B (A, seq 1, is gone)
        call(3, "c2", "q"),  # waits
    ]
    assert events(replay, trace) == [
        assign(2, "c1", "B", "q", 0),
        summary({"q": counts(2, 1, 0, 1, 1)}),
    ]


def test_logout_during_wrapup_drops_the_wrapup(replay: Replay):
    # Rule: logout during a wrap-up is at once and the wrap-up is dropped (it never ends and
    # never takes the waiting call, not even after the last line).
    trace = [
        queue(0, "q", wrapup=10),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        hangup(1, "c1"),  # wrap-up until 11
        call(2, "c2", "q"),  # waits
        logout(3, "A"),
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(1, "c1", "A", 1),
        summary({"q": counts(2, 1, 0, 1, 1)}),
    ]


@pytest.mark.parametrize("wrapup", [0, 10])
def test_logout_on_a_call_is_pending_until_it_ends_without_wrapup(replay: Replay, wrapup: int):
    # Rule: logout during a call is pending; when the call ends the agent logs out, with no
    # wrap-up and without taking a waiting call.
    trace = [
        queue(0, "q", wrapup=wrapup),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        logout(1, "A"),  # pending
        call(2, "c2", "q"),  # waits
        hangup(3, "c1"),  # A logs out
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(3, "c1", "A", 3),
        summary({"q": counts(2, 1, 0, 1, 1)}),
    ]


def test_pending_logout_completes_so_a_new_login_is_valid(replay: Replay):
    # Rule: after a pending logout completes the agent is logged out: it may log in again, at
    # once available (no wrap-up was left running).
    trace = [
        queue(0, "q", wrapup=10),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        logout(1, "A"),  # pending
        logout(1.5, "A"),  # already pending: does nothing
        call(2, "c2", "q"),  # waits
        hangup(3, "c1"),  # A logs out
        login(4, "A", ["q"]),  # takes c2
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(3, "c1", "A", 3),
        assign(4, "c2", "A", "q", 2),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


# ---- login cancelling a pending logout ----------------------------------------------------------


def test_login_cancelling_pending_logout_keeps_login_sequence(replay: Replay):
    # Rule: a login while the logout is pending cancels it and keeps the login sequence.
    trace = [
        queue(0, "q", strategy="linear"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        call(1, "c1", "q"),  # A
        logout(2, "A"),  # pending
        login(3, "A", ["q"]),  # cancels the logout; A keeps seq 1
        hangup(4, "c1"),  # A stays logged in and is available
        call(5, "c2", "q"),  # linear: A (seq 1); a new sequence (3) would give B
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(4, "c1", "A", 3),
        assign(5, "c2", "A", "q", 0),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_login_cancelling_pending_logout_keeps_the_agent_on_its_call(replay: Replay):
    # Rule: the cancelling login is no "becomes available" moment: the agent stays on its call.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        logout(1, "A"),  # pending
        call(2, "c2", "q"),  # waits
        login(3, "A", ["q"]),  # cancels; A is still on c1 and takes nothing now
        hangup(5, "c1"),  # A is available and takes c2
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(5, "c1", "A", 5),
        assign(5, "c2", "A", "q", 3),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_login_cancelling_pending_logout_applies_new_skills_and_queues(replay: Replay):
    # Rule: the cancelling login's skills and queues replace the old ones.
    trace = [
        queue(0, "q1"),
        queue(0, "q2"),
        login(0, "A", ["q1"], {"x": 10}),
        call(0, "c1", "q1"),  # A
        logout(1, "A"),  # pending
        login(2, "A", ["q2"], {"x": 90}),  # cancels; now serves q2 only, x 90
        call(3, "c2", "q1"),  # waits
        call(4, "c3", "q2", skills={"x": 50}),  # waits
        hangup(5, "c1"),  # A takes c3 (x 90 >= 50, in q2), not the older c2 of q1
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q1", 0),
        end(5, "c1", "A", 5),
        assign(5, "c3", "A", "q2", 1),
        summary({"q1": counts(2, 1, 0, 1, 1), "q2": counts(1, 1, 0, 1, 0)}),
    ]


def test_login_cancelling_pending_logout_keeps_counters(replay: Replay):
    # Rule: the cancelling login keeps the counters since the original login.
    trace = [
        queue(0, "q", strategy="fewest-calls"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        call(1, "c1", "q"),  # A (tie, seq 1)
        hangup(2, "c1"),  # A: 1 call, since 2
        call(3, "c2", "q"),  # B (0 calls)
        hangup(4, "c2"),  # B: 1 call, since 4
        call(5, "c3", "q"),  # tie on 1 -> longest idle A: A has 2 calls
        logout(6, "A"),  # pending
        login(7, "A", ["q"]),  # cancels; A keeps its 2 calls
        hangup(8, "c3"),  # A available since 8
        call(9, "c4", "q"),  # B (1 call) beats A (2); reset counters would give A
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "B", "q", 0),
        end(4, "c2", "B", 1),
        assign(5, "c3", "A", "q", 0),
        end(8, "c3", "A", 3),
        assign(9, "c4", "B", "q", 0),
        summary({"q": counts(4, 4, 0, 4, 0)}),
    ]


# ---- pause / unpause ----------------------------------------------------------------------------


def test_pause_then_unpause_takes_a_waiting_call(replay: Replay):
    # Rule: a paused agent gets no calls; unpause makes it available at t and it takes a call.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        pause(1, "A"),
        call(2, "c1", "q"),  # B (A, seq 1, is paused)
        call(3, "c2", "q"),  # waits
        unpause(4, "A"),  # A takes c2
    ]
    assert events(replay, trace) == [
        assign(2, "c1", "B", "q", 0),
        assign(4, "c2", "A", "q", 1),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_unpause_sets_the_available_since_time(replay: Replay):
    # Rule: unpause is a "becomes available" moment: longest-idle counts from the unpause.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        pause(1, "A"),
        unpause(3, "A"),  # A available since 3
        call(4, "c1", "q"),  # B (since 0)
    ]
    assert events(replay, trace) == [
        assign(4, "c1", "B", "q", 0),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]


def test_pause_during_a_call_is_pending_until_it_ends(replay: Replay):
    # Rule: pause during a call is pending; when the call ends (wrap-up 0) the agent is paused
    # and takes no waiting call until unpaused.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        pause(1, "A"),  # pending
        call(2, "c2", "q"),  # waits
        hangup(3, "c1"),  # A paused
        unpause(5, "A"),  # A takes c2
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(3, "c1", "A", 3),
        assign(5, "c2", "A", "q", 3),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_pause_during_wrapup_applies_when_the_wrapup_ends(replay: Replay):
    # Rule: pause during a wrap-up is pending and applies when the wrap-up ends.
    trace = [
        queue(0, "q", wrapup=5),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        hangup(1, "c1"),  # wrap-up until 6
        call(2, "c2", "q"),  # waits
        pause(3, "A"),  # pending
        unpause(10, "A"),  # (the wrap-up ended at 6 into pause) A takes c2 now
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(1, "c1", "A", 1),
        assign(10, "c2", "A", "q", 8),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_pending_pause_applies_to_a_wrapup_ending_after_the_last_line(replay: Replay):
    # Rule: a wrap-up finishing after the last line still honours a pending pause.
    trace = [
        queue(0, "q", wrapup=5),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        hangup(1, "c1"),  # wrap-up until 6
        call(2, "c2", "q"),  # waits
        pause(3, "A"),  # pending
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(1, "c1", "A", 1),
        summary({"q": counts(2, 1, 0, 1, 1)}),
    ]


def test_unpause_cancels_a_pending_pause_during_a_call(replay: Replay):
    # Rule: unpause cancels a pending pause, so the agent is available when the call ends.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        pause(1, "A"),  # pending
        unpause(2, "A"),  # cancelled
        call(3, "c2", "q"),  # waits
        hangup(4, "c1"),  # A available: takes c2
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(4, "c1", "A", 4),
        assign(4, "c2", "A", "q", 1),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_unpause_cancels_a_pending_pause_during_wrapup(replay: Replay):
    # Rule: unpause during wrap-up cancels the pending pause; the wrap-up ends into available.
    trace = [
        queue(0, "q", wrapup=5),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        hangup(1, "c1"),  # wrap-up until 6
        pause(2, "A"),  # pending
        unpause(3, "A"),  # cancelled
        call(4, "c2", "q"),  # waits; after the last line the wrap-up ends at 6 and A takes it
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        end(1, "c1", "A", 1),
        assign(6, "c2", "A", "q", 2),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_pause_and_unpause_otherwise_do_nothing(replay: Replay):
    # Rule: unpause of an available agent and pause of a paused agent do nothing (no error, no
    # new available-since time, no double pause).
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        unpause(1, "A"),  # A is available: nothing (still available since 0)
        call(2, "c1", "q"),  # tie at 0 -> A (had the unpause counted, B)
        pause(3, "B"),
        pause(4, "B"),  # already paused: nothing
        unpause(5, "B"),  # one unpause is enough
        call(6, "c2", "q"),  # B
    ]
    assert events(replay, trace) == [
        assign(2, "c1", "A", "q", 0),
        assign(6, "c2", "B", "q", 0),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_logout_of_a_paused_agent_then_login_is_available(replay: Replay):
    # Rule: logout of a paused agent is at once; a new login starts available, not paused.
    trace = [
        queue(0, "q"),
        login(0, "A", ["q"]),
        pause(1, "A"),
        logout(2, "A"),
        login(3, "A", ["q"]),
        call(4, "c1", "q"),
    ]
    assert events(replay, trace) == [
        assign(4, "c1", "A", "q", 0),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]


# ---- abandon ------------------------------------------------------------------------------------


def test_abandon_removes_the_waiting_call(replay: Replay):
    # Rule: hangup of a waiting call abandons it (wait = hangup time - arrival); it leaves the line.
    trace = [
        queue(0, "q", sl=10),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),  # A
        call(1, "c2", "q"),  # waits
        call(2, "c3", "q"),  # waits
        hangup(5, "c2"),  # abandoned after 4 s
        hangup(6, "c1"),  # A takes c3, the abandoned c2 is gone
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        abandon(5, "c2", "q", 4),
        end(6, "c1", "A", 6),
        assign(6, "c3", "A", "q", 4),
        summary({"q": counts(3, 2, 1, 2, 0)}),
    ]


def test_abandon_with_no_agents_at_all(replay: Replay):
    # Rule: a call in a queue nobody serves waits until it is abandoned.
    trace = [queue(0, "q"), call(0, "c1", "q"), hangup(3, "c1")]
    assert events(replay, trace) == [
        abandon(3, "c1", "q", 3),
        summary({"q": counts(1, 0, 1, 0, 0)}),
    ]


# ---- summary ------------------------------------------------------------------------------------


def test_summary_counts_and_service_level_boundary(replay: Replay):
    # Rule: answered_within_sl counts waits <= sl (a wait exactly equal to sl counts; sl 0
    # counts only immediate answers); waiting counts calls still waiting at the end.
    trace = [
        queue(0, "q", sl=5),
        queue(0, "q0", sl=0),
        login(0, "A", ["q"]),
        login(0, "B", ["q0"]),
        call(0, "c1", "q"),  # A, wait 0
        call(0, "c2", "q"),  # waits
        call(0, "c3", "q"),  # waits
        call(0, "d1", "q0"),  # B, wait 0 (within sl 0)
        call(0, "d2", "q0"),  # waits
        hangup(1, "d1"),  # B takes d2, wait 1 (> sl 0)
        hangup(5, "c1"),  # A takes c2, wait 5 == sl: within
        hangup(5.5, "c2"),  # A takes c3, wait 5.5 > sl
        call(6, "c4", "q"),  # waits to the end
        call(6.5, "c5", "q"),  # waits
        hangup(7, "c5"),  # abandoned
    ]
    assert events(replay, trace) == [
        assign(0, "c1", "A", "q", 0),
        assign(0, "d1", "B", "q0", 0),
        end(1, "d1", "B", 1),
        assign(1, "d2", "B", "q0", 1),
        end(5, "c1", "A", 5),
        assign(5, "c2", "A", "q", 5),
        end(5.5, "c2", "A", 0.5),
        assign(5.5, "c3", "A", "q", 5.5),
        abandon(7, "c5", "q", 0.5),
        summary({"q": counts(5, 3, 1, 2, 1), "q0": counts(2, 2, 0, 1, 0)}),
    ]


def test_summary_lists_queues_in_definition_order(replay: Replay):
    # Rule: the summary lists every defined queue (unused ones with zeros) in definition order.
    trace = [
        queue(0, "zeta"),
        queue(0, "alpha"),
        queue(0, "mid"),
        login(0, "A", ["mid"]),
        call(1, "c1", "mid"),
    ]
    out = events(replay, trace)
    assert out == [
        assign(1, "c1", "A", "mid", 0),
        summary(
            {
                "zeta": counts(0, 0, 0, 0, 0),
                "alpha": counts(0, 0, 0, 0, 0),
                "mid": counts(1, 1, 0, 1, 0),
            }
        ),
    ]
    assert list(out[-1]["queues"]) == ["zeta", "alpha", "mid"]


def test_empty_trace_gives_only_an_empty_summary(replay: Replay):
    # Rule: the summary is always written last, even for an empty trace.
    assert replay([]) == [summary({})]


def test_blank_lines_are_skipped(replay: Replay):
    # Rule: lines holding only whitespace are skipped.
    lines = lines_of([queue(0, "q"), login(0, "A", ["q"]), call(1, "c1", "q")])
    lines = ["", lines[0], "   ", lines[1], "\t", lines[2], ""]
    assert replay(lines) == [
        assign(1, "c1", "A", "q", 0),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]


# ---- the command line ---------------------------------------------------------------------------


def test_cli_writes_one_json_object_per_line_with_documented_key_order(cli: Any):
    # Rule: `acdcore replay TRACE` writes the events as JSON lines, keys in the documented order,
    # and exits 0.
    trace = [
        queue(0, "q", sl=10),
        login(0, "A", ["q"]),
        call(0, "c1", "q"),
        call(1, "c2", "q"),
        call(2, "c3", "q"),
        hangup(5, "c2"),
        hangup(6, "c1"),
    ]
    result = cli(lines_of(trace))
    assert result.returncode == 0, result.stderr
    assert result.events == [
        assign(0, "c1", "A", "q", 0),
        abandon(5, "c2", "q", 4),
        end(6, "c1", "A", 6),
        assign(6, "c3", "A", "q", 4),
        summary({"q": counts(3, 2, 1, 2, 0)}),
    ]
    for line in result.lines:
        obj = json.loads(line)
        assert list(obj) == EVENT_KEYS[obj["event"]], line
    assert list(result.events[-1]["queues"]["q"]) == SUMMARY_KEYS


def test_replay_of_a_path_gives_the_same_events(tmp_path: Any):
    # Rule: `acdcore.replay(path)` runs the same contract over a trace file.
    acdcore = pytest.importorskip("acdcore", reason="acdcore is not importable yet")
    if not hasattr(acdcore, "replay"):
        pytest.skip("acdcore.replay does not exist yet")
    trace = [queue(0, "q"), login(0, "A", ["q"]), call(1, "c1", "q"), hangup(4, "c1")]
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(line + "\n" for line in lines_of(trace)), encoding="utf-8")
    assert acdcore.replay(str(path)) == [
        assign(1, "c1", "A", "q", 0),
        end(4, "c1", "A", 3),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]
    path.write_text(lines_of(trace)[0] + "\n" + '{"t": 1, "op": "dance"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"^line 2: "):
        acdcore.replay(str(path))


# ---- properties over random valid traces --------------------------------------------------------


DETERMINISTIC = [
    "longest-idle",
    "round-robin",
    "linear",
    "fewest-calls",
    "least-talk-time",
    "skills-best",
    "ring-all",
]
AGENTS = ["a0", "a1", "a2", "a3"]
SKILLS = ["s", "u"]


def valid_trace(draw: Callable[..., Any], strategies: list[str]) -> list[dict[str, Any]]:
    """Random traces that are valid by construction (every op allowed in the state it meets)."""
    qids = [f"q{i}" for i in range(draw(st.integers(1, 3)))]
    trace: list[dict[str, Any]] = [
        queue(
            0,
            q,
            strategy=draw(st.sampled_from(strategies)),
            wrapup=draw(st.sampled_from([0, 1, 2.5])),
            weight=draw(st.sampled_from([0, 1, 2])),
            sl=draw(st.sampled_from([0, 2, 20])),
        )
        for q in qids
    ]
    # "out": logged out; "in": logged in; "leaving": logout sent (maybe still pending).
    state = dict.fromkeys(AGENTS, "out")
    open_calls: list[str] = []
    t = 0.0
    levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 100), max_size=2)
    for n in range(draw(st.integers(0, 40))):
        t += draw(st.sampled_from([0, 0, 0.5, 1, 3]))
        kind = draw(st.sampled_from(["login", "agent", "call", "call", "hangup", "hangup"]))
        if kind == "login":
            free = [a for a in AGENTS if state[a] != "in"]
            if free:
                a = draw(st.sampled_from(free))
                queues = draw(st.lists(st.sampled_from(qids), unique=True))
                trace.append(login(t, a, queues, draw(levels)))
                state[a] = "in"
        elif kind == "agent":
            present = [a for a in AGENTS if state[a] == "in"]
            if present:
                a = draw(st.sampled_from(present))
                op = draw(st.sampled_from(["logout", "pause", "unpause"]))
                trace.append({"t": t, "op": op, "id": a})
                if op == "logout":
                    state[a] = "leaving"
        elif kind == "call":
            cid = f"c{n}"
            prio = draw(st.integers(-2, 2))
            trace.append(call(t, cid, draw(st.sampled_from(qids)), prio, draw(levels)))
            open_calls.append(cid)
        elif open_calls:
            cid = draw(st.sampled_from(open_calls))
            open_calls.remove(cid)
            trace.append(hangup(t, cid))
    return trace


def check_accounting(trace: list[dict[str, Any]], out: list[Event]) -> None:
    """Invariants any correct replay output has, whatever the strategy."""
    assert out and out[-1]["event"] == "summary"
    assert all(e["event"] != "summary" for e in out[:-1])
    body = out[:-1]
    times = [e["t"] for e in body]
    assert times == sorted(times), "events out of time order"
    queues = [x for x in trace if x["op"] == "queue"]
    arrival = {x["id"]: x for x in trace if x["op"] == "call"}
    logins: dict[str, list[dict[str, Any]]] = {}
    for x in trace:
        if x["op"] == "login":
            logins.setdefault(x["id"], []).append(x)
    assigned: dict[str, Event] = {}
    finished: set[str] = set()
    holding: dict[str, str] = {}  # agent -> call it is on
    for e in body:
        c = e["call"]
        assert c in arrival and c not in finished, e
        if e["event"] == "assign":
            assert c not in assigned, f"{c} assigned twice"
            assert e["queue"] == arrival[c]["queue"]
            assert e["wait"] == e["t"] - arrival[c]["t"]
            assert e["agent"] not in holding, f"{e['agent']} holds two calls"
            if len(logins.get(e["agent"], [])) == 1:  # skills/queues never changed
                (lg,) = logins[e["agent"]]
                assert e["queue"] in lg.get("queues", [])
                need = arrival[c].get("skills", {})
                assert all(lg.get("skills", {}).get(s, 0) >= v for s, v in need.items())
            assigned[c] = e
            holding[e["agent"]] = c
        elif e["event"] == "end":
            assert c in assigned and assigned[c]["agent"] == e["agent"], e
            assert e["talk"] == e["t"] - assigned[c]["t"]
            del holding[e["agent"]]
            finished.add(c)
        else:
            assert e["event"] == "abandon" and c not in assigned, e
            assert e["queue"] == arrival[c]["queue"]
            assert e["wait"] == e["t"] - arrival[c]["t"]
            finished.add(c)
    assert len(finished) == sum(x["op"] == "hangup" for x in trace)
    got = out[-1]["queues"]
    assert list(got) == [q["id"] for q in queues]
    for q in queues:
        qid, sl = q["id"], q.get("sl", 20)
        offered = sum(x["queue"] == qid for x in arrival.values())
        answered = [e for e in assigned.values() if e["queue"] == qid]
        abandoned = sum(e["event"] == "abandon" and e["queue"] == qid for e in body)
        within = sum(e["wait"] <= sl for e in answered)
        waiting = offered - len(answered) - abandoned
        assert got[qid] == counts(offered, len(answered), abandoned, within, waiting), qid


@with_data(max_examples=150)
def test_random_valid_traces_keep_the_books(replay: Replay, data: Any):
    # Rule: on any valid trace: no error, deterministic output, each call assigned/ended/abandoned
    # at most once, one call per agent, and a summary that matches the event log.
    trace = valid_trace(data.draw, [*DETERMINISTIC, "random", "weighted-random"])
    out = events(replay, trace)
    check_accounting(trace, out)
    assert events(replay, trace) == out


@with_data(max_examples=150)
def test_engine_and_baseline_agree(implementations: dict[str, Replay], data: Any):
    # Rule: the engine and the pure-Python baseline implement the same contract: equal output.
    if len(implementations) < 2:
        pytest.skip(f"needs both implementations, have {sorted(implementations)}")
    engine, baseline = implementations["engine"], implementations["baseline"]
    trace = valid_trace(data.draw, DETERMINISTIC)
    assert events(engine, trace) == events(baseline, trace)
