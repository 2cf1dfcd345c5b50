"""Known answers for every routing strategy and tie-break of the replay contract (issue 2).

Every expected event list below was worked out by hand from the contract text and
/tmp/acd/decisions.md; the comments walk through the reasoning.
"""

from __future__ import annotations

from typing import Any

import pytest
from replay_support import (
    Replay,
    assign,
    call,
    counts,
    end,
    events,
    hangup,
    login,
    logout,
    queue,
    summary,
)

# ---- one trace, a different answer per strategy -------------------------------------------------
#
# Six agents log in; five "prefix" calls, each needing a skill only one agent has (uA, uB, ...),
# build up a history the same under every strategy. Then the probe call (needs x >= 1, which
# every agent has) finds all six available in this state:
#
#   agent  login seq  available since  calls from q  talk  x level
#   A      1          9                1             8     10
#   B      2          2                1             1     20
#   C      3          3                1             0     30
#   E      4          8                1             1     90
#   F      5          6                1             2     40
#   D      6          5                0             0     50
#
# longest-idle / ring-all: earliest available -> B.      linear: lowest login sequence -> A.
# round-robin: last given E (seq 4), next above is F.    fewest-calls: D (0 calls).
# least-talk-time: C and D have 0 talk, C available longer -> C.   skills-best: E (x 90).


def strategy_trace(strategy: str | None) -> list[dict[str, Any]]:
    fields = {} if strategy is None else {"strategy": strategy}
    return [
        queue(0, "q", **fields),
        login(0, "A", ["q"], {"x": 10, "uA": 1}),
        login(0, "B", ["q"], {"x": 20, "uB": 1}),
        login(0, "C", ["q"], {"x": 30, "uC": 1}),
        login(0, "E", ["q"], {"x": 90, "uE": 1}),
        login(0, "F", ["q"], {"x": 40, "uF": 1}),
        call(1, "pa", "q", skills={"uA": 1}),
        call(1, "pb", "q", skills={"uB": 1}),
        hangup(2, "pb"),
        call(3, "pc", "q", skills={"uC": 1}),
        hangup(3, "pc"),
        call(4, "pf", "q", skills={"uF": 1}),
        login(5, "D", ["q"], {"x": 50, "uD": 1}),
        hangup(6, "pf"),
        call(7, "pe", "q", skills={"uE": 1}),
        hangup(8, "pe"),
        hangup(9, "pa"),
        call(10, "probe", "q", skills={"x": 1}),
        hangup(12, "probe"),
    ]


def strategy_expected(winner: str) -> list[dict[str, Any]]:
    return [
        assign(1, "pa", "A", "q", 0),
        assign(1, "pb", "B", "q", 0),
        end(2, "pb", "B", 1),
        assign(3, "pc", "C", "q", 0),
        end(3, "pc", "C", 0),
        assign(4, "pf", "F", "q", 0),
        end(6, "pf", "F", 2),
        assign(7, "pe", "E", "q", 0),
        end(8, "pe", "E", 1),
        end(9, "pa", "A", 8),
        assign(10, "probe", winner, "q", 0),
        end(12, "probe", winner, 2),
        summary({"q": counts(6, 6, 0, 6, 0)}),
    ]


@pytest.mark.parametrize(
    ("strategy", "winner"),
    [
        (None, "B"),  # the default strategy is longest-idle
        ("longest-idle", "B"),
        ("ring-all", "B"),
        ("linear", "A"),
        ("round-robin", "F"),
        ("fewest-calls", "D"),
        ("least-talk-time", "C"),
        ("skills-best", "E"),
    ],
)
def test_each_strategy_picks_its_own_agent(replay: Replay, strategy: str | None, winner: str):
    # Rule: each deterministic strategy's key (see the table above) picks a different agent.
    assert events(replay, strategy_trace(strategy)) == strategy_expected(winner)


# ---- longest-idle -------------------------------------------------------------------------------


def test_longest_idle_earliest_available_wins(replay: Replay):
    # Rule: longest-idle picks the agent that became available earliest.
    trace = [
        queue(0, "q", strategy="longest-idle"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        call(1, "c1", "q"),  # both idle since 0 -> lowest login sequence, A
        hangup(2, "c1"),  # A available since 2
        call(3, "c2", "q"),  # B (since 0) beats A (since 2)
        hangup(4, "c2"),  # B available since 4
        call(5, "c3", "q"),  # A (since 2) beats B (since 4)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "B", "q", 0),
        end(4, "c2", "B", 1),
        assign(5, "c3", "A", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


def test_longest_idle_tie_goes_to_lowest_login_sequence(replay: Replay):
    # Rule: longest-idle ties (equal available-since) go to the lowest login sequence, not the id
    # and not the order in which the agents became available.
    trace = [
        queue(0, "q"),  # default strategy: longest-idle
        login(0, "b", ["q"]),  # seq 1
        login(0, "a", ["q"]),  # seq 2
        login(0, "c", ["q"]),  # seq 3
        call(1, "c1", "q"),  # all since 0 -> b (seq 1)
        call(2, "c2", "q"),  # a and c since 0 -> a (seq 2)
        hangup(5, "c2"),  # a available since 5 (first in trace order)
        hangup(5, "c1"),  # b available since 5
        call(6, "c3", "q"),  # c since 0 is the longest idle
        call(7, "c4", "q"),  # a and b both since 5 -> b (seq 1), though a freed first
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "b", "q", 0),
        assign(2, "c2", "a", "q", 0),
        end(5, "c2", "a", 3),
        end(5, "c1", "b", 4),
        assign(6, "c3", "c", "q", 0),
        assign(7, "c4", "b", "q", 0),
        summary({"q": counts(4, 4, 0, 4, 0)}),
    ]


# ---- linear -------------------------------------------------------------------------------------


def test_linear_starts_from_the_top_every_call(replay: Replay):
    # Rule: linear picks the lowest login sequence among eligible agents, every call afresh.
    trace = [
        queue(0, "q", strategy="linear"),
        login(0, "C", ["q"]),  # seq 1
        login(0, "A", ["q"]),  # seq 2
        login(0, "B", ["q"]),  # seq 3
        call(1, "c1", "q"),  # C
        hangup(2, "c1"),
        call(3, "c2", "q"),  # C again (longest-idle would pick A)
        call(4, "c3", "q"),  # C busy -> A
        call(5, "c4", "q"),  # -> B
        hangup(6, "c3"),
        call(7, "c5", "q"),  # only A free
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "C", "q", 0),
        end(2, "c1", "C", 1),
        assign(3, "c2", "C", "q", 0),
        assign(4, "c3", "A", "q", 0),
        assign(5, "c4", "B", "q", 0),
        end(6, "c3", "A", 2),
        assign(7, "c5", "A", "q", 0),
        summary({"q": counts(5, 5, 0, 5, 0)}),
    ]


def test_linear_relogin_gets_a_new_login_sequence(replay: Replay):
    # Rule: a login after a logout takes a new (higher) login sequence number.
    trace = [
        queue(0, "q", strategy="linear"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        logout(1, "A"),  # at once: A is available
        login(2, "A", ["q"]),  # seq 3
        call(3, "c1", "q"),  # B (seq 2) before A (seq 3)
    ]
    assert events(replay, trace) == [
        assign(3, "c1", "B", "q", 0),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]


# ---- round-robin --------------------------------------------------------------------------------


def test_round_robin_wraps_around_and_skips_busy_agents(replay: Replay):
    # Rule: round-robin takes the lowest login sequence above the last agent given a call,
    # wrapping around to the lowest eligible one.
    trace = [
        queue(0, "q", strategy="round-robin"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        login(0, "C", ["q"]),  # seq 3
        call(1, "c1", "q"),  # no last agent yet -> lowest, A
        call(2, "c2", "q"),  # above A -> B
        call(3, "c3", "q"),  # above B -> C
        hangup(4, "c2"),  # B since 4
        hangup(5, "c1"),  # A since 5
        hangup(6, "c3"),  # C since 6
        call(7, "c4", "q"),  # nothing above C -> wrap to A (longest-idle would pick B)
        call(8, "c5", "q"),  # above A -> B
        call(9, "c6", "q"),  # above B -> C
        hangup(10, "c5"),  # B free again
        call(11, "c7", "q"),  # wrap; A busy -> B
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        assign(2, "c2", "B", "q", 0),
        assign(3, "c3", "C", "q", 0),
        end(4, "c2", "B", 2),
        end(5, "c1", "A", 4),
        end(6, "c3", "C", 3),
        assign(7, "c4", "A", "q", 0),
        assign(8, "c5", "B", "q", 0),
        assign(9, "c6", "C", "q", 0),
        end(10, "c5", "B", 2),
        assign(11, "c7", "B", "q", 0),
        summary({"q": counts(7, 7, 0, 7, 0)}),
    ]


def test_round_robin_pointer_moves_when_an_agent_takes_a_waiting_call(replay: Replay):
    # Rule: every assignment from the queue moves its round-robin pointer, including an agent
    # taking a waiting call.
    trace = [
        queue(0, "q", strategy="round-robin"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        login(0, "C", ["q"]),
        call(1, "c1", "q"),  # A
        call(2, "c2", "q"),  # B
        call(3, "c3", "q"),  # C
        call(4, "c4", "q"),  # all busy: waits
        hangup(5, "c1"),  # A frees and takes c4: pointer now A
        hangup(6, "c3"),  # C since 6
        hangup(7, "c2"),  # B since 7
        hangup(8, "c4"),  # A since 8
        call(9, "c5", "q"),  # above A -> B (a stale pointer C would wrap to A; longest-idle: C)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        assign(2, "c2", "B", "q", 0),
        assign(3, "c3", "C", "q", 0),
        end(5, "c1", "A", 4),
        assign(5, "c4", "A", "q", 1),
        end(6, "c3", "C", 3),
        end(7, "c2", "B", 5),
        end(8, "c4", "A", 3),
        assign(9, "c5", "B", "q", 0),
        summary({"q": counts(5, 5, 0, 5, 0)}),
    ]


def test_round_robin_pointer_is_per_queue(replay: Replay):
    # Rule: each queue remembers the last agent it gave a call to.
    trace = [
        queue(0, "q1", strategy="round-robin"),
        queue(0, "q2", strategy="round-robin"),
        login(0, "A", ["q1", "q2"]),
        login(0, "B", ["q1", "q2"]),
        login(0, "C", ["q1", "q2"]),
        call(1, "c1", "q1"),  # q1 has no last agent -> A
        hangup(2, "c1"),
        call(3, "c2", "q2"),  # q2 has no last agent -> A (a shared pointer would give B)
        call(4, "c3", "q1"),  # q1 last gave A -> B
        call(5, "c4", "q2"),  # q2 last gave A -> B is busy -> C
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q1", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "A", "q2", 0),
        assign(4, "c3", "B", "q1", 0),
        assign(5, "c4", "C", "q2", 0),
        summary({"q1": counts(2, 2, 0, 2, 0), "q2": counts(2, 2, 0, 2, 0)}),
    ]


# ---- fewest-calls -------------------------------------------------------------------------------


def test_fewest_calls_beats_longest_idle(replay: Replay):
    # Rule: fewest-calls prefers fewer calls since login over a longer idle time.
    trace = [
        queue(0, "q", strategy="fewest-calls"),
        login(0, "A", ["q"]),
        call(1, "c1", "q"),  # A (1 call)
        hangup(2, "c1"),  # A available since 2
        login(3, "B", ["q"]),  # B available since 3, 0 calls
        call(4, "c2", "q"),  # B (0 calls), though A is idle longer
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(4, "c2", "B", "q", 0),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


def test_fewest_calls_tie_goes_to_longest_idle(replay: Replay):
    # Rule: fewest-calls ties are broken as longest-idle (not by login sequence).
    trace = [
        queue(0, "q", strategy="fewest-calls"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"]),  # seq 2
        call(1, "c1", "q"),  # 0 calls each, both since 0 -> A (seq 1)
        call(1, "c2", "q"),  # B
        hangup(2, "c2"),  # B: 1 call, since 2
        hangup(3, "c1"),  # A: 1 call, since 3
        call(4, "c3", "q"),  # tie on 1 call -> longest idle B (lowest sequence would be A)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        assign(1, "c2", "B", "q", 0),
        end(2, "c2", "B", 1),
        end(3, "c1", "A", 2),
        assign(4, "c3", "B", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


def test_fewest_calls_counts_only_calls_from_this_queue(replay: Replay):
    # Rule: fewest-calls counts the calls taken from this queue, not from the agent's other queues.
    trace = [
        queue(0, "q1", strategy="fewest-calls"),
        queue(0, "q2"),  # longest-idle
        login(0, "A", ["q1", "q2"]),
        login(0, "B", ["q1", "q2"]),
        call(1, "x1", "q2"),  # A (tie, seq 1)
        hangup(2, "x1"),  # A since 2
        call(3, "x2", "q2"),  # B (since 0)
        call(4, "x3", "q2"),  # A (B busy); A has 2 calls from q2, B has 1
        hangup(5, "x3"),  # A since 5
        hangup(6, "x2"),  # B since 6
        call(7, "y1", "q1"),  # 0 calls from q1 each -> longest idle A (all-queue count: B)
    ]
    assert events(replay, trace) == [
        assign(1, "x1", "A", "q2", 0),
        end(2, "x1", "A", 1),
        assign(3, "x2", "B", "q2", 0),
        assign(4, "x3", "A", "q2", 0),
        end(5, "x3", "A", 1),
        end(6, "x2", "B", 3),
        assign(7, "y1", "A", "q1", 0),
        summary({"q1": counts(1, 1, 0, 1, 0), "q2": counts(3, 3, 0, 3, 0)}),
    ]


def test_fewest_calls_counter_resets_at_a_new_login(replay: Replay):
    # Rule: counters count since login, so a logout and a new login start them at zero.
    trace = [
        queue(0, "q", strategy="fewest-calls"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        call(1, "c1", "q"),  # A (tie, seq 1)
        hangup(2, "c1"),  # A: 1 call, since 2
        call(3, "c2", "q"),  # B (0 calls)
        hangup(4, "c2"),  # B: 1 call, since 4
        call(5, "c3", "q"),  # tie on 1 -> longest idle A
        hangup(6, "c3"),  # A: 2 calls
        logout(7, "A"),
        login(8, "A", ["q"]),  # A: 0 calls again, since 8
        call(9, "c4", "q"),  # A (0) beats B (1); without the reset B would win
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "B", "q", 0),
        end(4, "c2", "B", 1),
        assign(5, "c3", "A", "q", 0),
        end(6, "c3", "A", 1),
        assign(9, "c4", "A", "q", 0),
        summary({"q": counts(4, 4, 0, 4, 0)}),
    ]


# ---- least-talk-time ----------------------------------------------------------------------------


def test_least_talk_time_picks_least_total_talk(replay: Replay):
    # Rule: least-talk-time picks the least total talk over ended calls since login.
    trace = [
        queue(0, "q", strategy="least-talk-time"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        login(0, "C", ["q"]),
        call(1, "ca", "q"),  # all 0 talk, since 0 -> A
        call(1, "cb", "q"),  # B
        hangup(4, "cb"),  # B: talk 3, since 4
        hangup(6, "ca"),  # A: talk 5, since 6
        call(7, "cc", "q"),  # C (talk 0)
        hangup(8, "cc"),  # C: talk 1, since 8
        call(9, "cd", "q"),  # C (1) < B (3) < A (5); longest-idle would pick B, linear A
    ]
    assert events(replay, trace) == [
        assign(1, "ca", "A", "q", 0),
        assign(1, "cb", "B", "q", 0),
        end(4, "cb", "B", 3),
        end(6, "ca", "A", 5),
        assign(7, "cc", "C", "q", 0),
        end(8, "cc", "C", 1),
        assign(9, "cd", "C", "q", 0),
        summary({"q": counts(4, 4, 0, 4, 0)}),
    ]


def test_least_talk_time_tie_goes_to_longest_idle(replay: Replay):
    # Rule: least-talk-time ties are broken as longest-idle (not by login sequence).
    trace = [
        queue(0, "q", strategy="least-talk-time"),
        login(0, "A", ["q"]),  # seq 1
        login(0, "B", ["q"], {"v": 1}),  # seq 2
        call(1, "c1", "q", skills={"v": 1}),  # only B qualifies
        call(2, "c2", "q"),  # A
        hangup(3, "c1"),  # B: talk 2, since 3
        hangup(4, "c2"),  # A: talk 2, since 4
        call(5, "c3", "q"),  # tie on 2 -> longest idle B (lowest sequence would be A)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "B", "q", 0),
        assign(2, "c2", "A", "q", 0),
        end(3, "c1", "B", 2),
        end(4, "c2", "A", 2),
        assign(5, "c3", "B", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


def test_least_talk_time_sums_calls_from_every_queue(replay: Replay):
    # Rule: least-talk-time sums talk over ended calls from any queue.
    trace = [
        queue(0, "q1", strategy="least-talk-time"),
        queue(0, "q2"),
        login(0, "A", ["q1", "q2"]),
        login(0, "B", ["q1", "q2"]),
        call(1, "x1", "q2"),  # A (tie, seq 1)
        hangup(5, "x1"),  # A: talk 4 (from q2), since 5
        call(6, "y1", "q1"),  # B (talk 0)
        hangup(8, "y1"),  # B: talk 2, since 8
        call(9, "y2", "q1"),  # B (2) < A (4); counting q1 only would give A (0)
    ]
    assert events(replay, trace) == [
        assign(1, "x1", "A", "q2", 0),
        end(5, "x1", "A", 4),
        assign(6, "y1", "B", "q1", 0),
        end(8, "y1", "B", 2),
        assign(9, "y2", "B", "q1", 0),
        summary({"q1": counts(2, 2, 0, 2, 0), "q2": counts(1, 1, 0, 1, 0)}),
    ]


def test_least_talk_time_resets_at_a_new_login(replay: Replay):
    # Rule: talk time counts since login, so it restarts at zero after a logout and login.
    trace = [
        queue(0, "q", strategy="least-talk-time"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        call(1, "c1", "q"),  # A
        call(1, "c2", "q"),  # B
        hangup(2, "c2"),  # B: talk 1
        hangup(11, "c1"),  # A: talk 10
        logout(12, "A"),
        login(13, "A", ["q"]),  # A: talk 0, since 13
        call(14, "c3", "q"),  # A (0) beats B (1)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        assign(1, "c2", "B", "q", 0),
        end(2, "c2", "B", 1),
        end(11, "c1", "A", 10),
        assign(14, "c3", "A", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


# ---- skills-best --------------------------------------------------------------------------------


def test_skills_best_sum_over_required_skills_and_tie_to_longest_idle(replay: Replay):
    # Rule: skills-best sums the agent's levels over the call's required skills only (not its
    # other skills, not the best single level); ties go to longest-idle.
    trace = [
        queue(0, "q", strategy="skills-best"),
        login(0, "A", ["q"], {"x": 30, "y": 10, "z": 1}),  # x+y = 40
        login(0, "B", ["q"], {"x": 10, "y": 30}),  # x+y = 40
        login(0, "C", ["q"], {"x": 38, "y": 1}),  # x+y = 39, best single level
        call(1, "c1", "q", skills={"z": 1}),  # only A has z
        hangup(2, "c1"),  # A since 2
        call(3, "c2", "q", skills={"x": 1, "y": 1}),  # A, B tie at 40 -> longest idle B
        call(4, "c3", "q", skills={"x": 1, "y": 1}),  # A (40) beats C (39, idle longer)
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "B", "q", 0),
        assign(4, "c3", "A", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


def test_skills_best_only_among_agents_meeting_every_minimum(replay: Replay):
    # Rule: skills-best ranks only eligible agents; a higher sum with one level too low loses.
    trace = [
        queue(0, "q", strategy="skills-best"),
        login(0, "A", ["q"], {"x": 100, "y": 9}),  # sum 109 but y < 10
        login(0, "B", ["q"], {"x": 10, "y": 10}),  # sum 20, meets both minimums exactly
        call(1, "c1", "q", skills={"x": 10, "y": 10}),
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "B", "q", 0),
        summary({"q": counts(1, 1, 0, 1, 0)}),
    ]


def test_skills_best_without_required_skills_is_longest_idle(replay: Replay):
    # Rule: with no required skills every sum is 0, so the tie-break (longest-idle) decides.
    trace = [
        queue(0, "q", strategy="skills-best"),
        login(0, "A", ["q"], {"x": 100}),
        login(1, "B", ["q"], {"x": 1}),
        call(2, "c1", "q"),  # A since 0
        hangup(3, "c1"),  # A since 3
        call(4, "c2", "q"),  # B since 1, although A has higher levels
    ]
    assert events(replay, trace) == [
        assign(2, "c1", "A", "q", 0),
        end(3, "c1", "A", 1),
        assign(4, "c2", "B", "q", 0),
        summary({"q": counts(2, 2, 0, 2, 0)}),
    ]


# ---- ring-all -----------------------------------------------------------------------------------


def test_ring_all_goes_to_first_in_longest_idle_order(replay: Replay):
    # Rule: ring-all in replay gives the call to the eligible agent first in longest-idle order.
    trace = [
        queue(0, "q", strategy="ring-all"),
        login(0, "A", ["q"]),
        login(0, "B", ["q"]),
        login(0, "C", ["q"], {"s": 5}),
        call(1, "c1", "q"),  # all since 0 -> A (seq 1)
        hangup(2, "c1"),  # A since 2
        call(3, "c2", "q", skills={"s": 1}),  # only C is eligible
        call(4, "c3", "q"),  # B (since 0) beats A (since 2); linear would pick A
    ]
    assert events(replay, trace) == [
        assign(1, "c1", "A", "q", 0),
        end(2, "c1", "A", 1),
        assign(3, "c2", "C", "q", 0),
        assign(4, "c3", "B", "q", 0),
        summary({"q": counts(3, 3, 0, 3, 0)}),
    ]


# ---- random and weighted-random: eligibility and determinism only -------------------------------

RANDOM_AGENTS = {
    # agent: (queues, skills)
    "a1": (["q"], {"s": 50, "u": 5}),
    "a2": (["q"], {"s": 10}),
    "a3": (["q2"], {"s": 50, "u": 5}),  # never serves q
    "a4": (["q"], {}),
    "a5": (["q", "q2"], {"s": 60, "u": 1}),
    "a6": (["q"], {"s": 20, "u": 10}),
}
RANDOM_NEEDS: list[dict[str, int]] = [{"s": 20}, {"s": 20, "u": 5}, {}, {"u": 10}, {"s": 10}]


def random_trace(strategy: str, n_calls: int = 40) -> list[dict[str, Any]]:
    trace: list[dict[str, Any]] = [queue(0, "q", strategy=strategy), queue(0, "q2")]
    for agent, (queues, skills) in RANDOM_AGENTS.items():
        trace.append(login(0, agent, queues, skills))
    for i in range(n_calls):
        # Each call ends before the next arrives, so every agent is available at each arrival.
        trace.append(call(i + 1, f"c{i}", "q", skills=RANDOM_NEEDS[i % len(RANDOM_NEEDS)]))
        trace.append(hangup(i + 1.5, f"c{i}"))
    return trace


def eligible_for(needs: dict[str, int]) -> set[str]:
    return {
        agent
        for agent, (queues, skills) in RANDOM_AGENTS.items()
        if "q" in queues and all(skills.get(s, 0) >= lvl for s, lvl in needs.items())
    }


@pytest.mark.parametrize("strategy", ["random", "weighted-random"])
def test_random_strategies_pick_eligible_agents_deterministically(replay: Replay, strategy: str):
    # Rule: random strategies pick only eligible agents, and a replay is deterministic (seeded).
    n_calls = 40
    trace = random_trace(strategy, n_calls)
    first = events(replay, trace)
    assert events(replay, trace) == first  # the same output on a second run
    assigns = [e for e in first if e.get("event") == "assign"]
    assert [e["call"] for e in assigns] == [f"c{i}" for i in range(n_calls)]
    for i, e in enumerate(assigns):
        needs = RANDOM_NEEDS[i % len(RANDOM_NEEDS)]
        assert e["agent"] in eligible_for(needs), (e, needs)
        assert e["queue"] == "q"
        assert e["t"] == i + 1
        assert e["wait"] == 0
    assert first[-1] == summary(
        {"q": counts(n_calls, n_calls, 0, n_calls, 0), "q2": counts(0, 0, 0, 0, 0)}
    )
