"""Property tests of the engine through the Python API (issue 2, "Tests").

A hypothesis state machine drives random operation sequences — queues with every strategy,
wrap-ups, max waiting, max wait with and without overflow, escalation steps, aging; agents with
skills and limits; calls with skills, priorities and preferred agents; hangups; and with live
offers, accepts, rejects and ring timeouts — with a clock that never goes back, and checks after
every step, from the event log alone:

- every call ends exactly once (answered then ended, abandoned, timed out, refused, fallback),
  and nothing happens to a call after it ended;
- no agent ever holds more connected calls than its limit;
- the queue statistics equal the counts recomputed from the log;
- once a snapshot has been restored into a twin engine, every later operation gives the same
  result and the same events on both.

At teardown every remaining call is hung up and `finish()` runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")

import acdcore  # noqa: E402
from acdcore import Engine, StateError  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

AGENTS = ["a0", "a1", "a2", "a3"]
SKILLS = ["en", "fr", "billing"]
STRATEGIES = list(acdcore.STRATEGIES)
API_ERRORS = (KeyError, ValueError, StateError)


# Events seen across runs, by kind (see test_the_machine_reaches_every_event_kind).
TALLY: Counter[str] = Counter()


@dataclass
class CallModel:
    home: str
    arrival: float
    agent: str | None = None
    offers: set[str] = field(default_factory=set)
    ended: int = 0


@dataclass
class Counts:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_sl: int = 0
    timed_out: int = 0
    overflowed: int = 0
    fallback: int = 0


def queue_configs() -> st.SearchStrategy[list[dict[str, Any]]]:
    step = st.one_of(
        st.tuples(st.just("lower-skills"), st.integers(1, 60)),
        st.tuples(st.just("clear-skills")),
        st.tuples(st.just("raise-priority"), st.integers(1, 5)),
        st.tuples(st.just("fallback"), st.just("voicemail")),
        st.tuples(st.just("add-queues")),
    )
    one = st.fixed_dictionaries(
        {
            "strategy": st.sampled_from(STRATEGIES),
            "wrapup": st.sampled_from([0.0, 0.0, 3.0, 10.0]),
            "weight": st.sampled_from([0.0, 1.0, 2.0]),
            "sl": st.sampled_from([0.0, 5.0, 20.0]),
            "max_waiting": st.sampled_from([None, None, 1, 3]),
            "max_wait": st.sampled_from([None, None, 10.0, 40.0]),
            "overflow": st.booleans(),
            "ring_timeout": st.sampled_from([0.0, 5.0, 15.0]),
            "retry": st.sampled_from([0.0, 0.0, 3.0]),
            "max_no_answers": st.integers(0, 3),
            "aging": st.sampled_from([0.0, 0.1, 1.0]),
            "steps": st.lists(st.tuples(st.sampled_from([5.0, 10.0, 25.0]), step), max_size=3).map(
                lambda s: sorted(s, key=lambda x: x[0])
            ),
        }
    )
    return st.lists(one, min_size=1, max_size=3)


class EngineMachine(RuleBasedStateMachine):
    """An engine, its model rebuilt from the event log, and maybe a restored twin."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: Engine | None = None
        self.twin: Engine | None = None
        self.auto = True
        self.now = 0.0
        self.queues: list[str] = []
        self.cfg: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, CallModel] = {}
        self.counts: dict[str, Counts] = {}
        self.limits: dict[str, int] = {}
        self.connected: dict[str, set[str]] = {}
        self.logged_in: set[str] = set()
        self.next_call = 0

    # ---- setup ---------------------------------------------------------------------------

    @initialize(
        auto=st.booleans(),
        seed=st.integers(0, 2**32),
        configs=queue_configs(),
        limits=st.lists(st.integers(1, 2), min_size=len(AGENTS), max_size=len(AGENTS)),
    )
    def setup(
        self, auto: bool, seed: int, configs: list[dict[str, Any]], limits: list[int]
    ) -> None:
        self.auto = auto
        self.engine = Engine(seed=seed, auto_accept=auto)
        for i, c in enumerate(configs):
            qid = f"q{i}"
            earlier = self.queues[-1] if self.queues else None
            escalation: list[tuple[Any, ...]] = []
            for after, (action, *arg) in c["steps"]:
                if action == "add-queues":
                    escalation.append((after, action, [earlier] if earlier else []))
                else:
                    escalation.append((after, action, *arg))
            self.engine.add_queue(
                qid,
                strategy=c["strategy"],
                wrapup=c["wrapup"],
                weight=c["weight"],
                sl=c["sl"],
                max_waiting=c["max_waiting"],
                max_wait=c["max_wait"],
                overflow=earlier if c["overflow"] else None,
                ring_timeout=c["ring_timeout"],
                retry=c["retry"],
                max_no_answers=c["max_no_answers"],
                aging=c["aging"],
                escalation=escalation,
            )
            self.queues.append(qid)
            self.cfg[qid] = c
            self.counts[qid] = Counts()
        # A fixed limit per agent: a login that cancels a pending logout with a lower limit is
        # a known engine bug ([relogin-lowers-limit], see rust/tests/properties.rs).
        self.limits = dict(zip(AGENTS, limits, strict=True))
        self.connected = {a: set() for a in AGENTS}

    # ---- applying operations -------------------------------------------------------------

    def apply(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """Runs `op` on the engine (and the twin), clock first; feeds the events to the model.

        Returns the exception the operation raised, or None.
        """
        assert self.engine is not None
        results = []
        for e in [self.engine] + ([self.twin] if self.twin is not None else []):
            timers = e.advance(self.now)
            try:
                evs = getattr(e, op)(*args, **kwargs)
                err = None
            except API_ERRORS as exc:
                evs = e.take_events()
                err = exc
            results.append((timers, evs, err))
        timers, evs, err = results[0]
        if len(results) > 1:
            t2, e2, err2 = results[1]
            assert [x.to_dict() for x in t2 + e2] == [x.to_dict() for x in timers + evs], op
            assert (type(err2), str(err2)) == (type(err), str(err)), op
        self.feed(timers)
        if err is None:
            self.learn(op, args, kwargs)
        else:
            assert evs == [], f"{op}{args} failed ({err!r}) but did something: {evs}"
        self.feed(evs)
        return err

    def learn(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if op == "enqueue":
            _, call, queue = args
            self.calls[call] = CallModel(home=queue, arrival=self.now)
            self.counts[queue].offered += 1
        elif op == "login":
            self.logged_in.add(args[1])
        elif op == "reject":
            self.calls[args[1]].offers.discard(args[2])

    def feed(self, events: list[Any]) -> None:
        for ev in events:
            assert ev.kind in acdcore.EVENT_KINDS
            TALLY[ev.kind] += 1
            if self.twin is not None:
                TALLY["checked against a restored twin"] += 1
            assert ev.t <= self.now + 1e-9
            if ev.kind == "auto-pause":
                assert not self.auto
                continue
            c = self.calls[ev.call]
            assert c.ended == 0, f"{ev} after {ev.call} ended"
            if ev.kind == "offer":
                assert not self.auto and c.agent is None and not c.offers
                c.offers = set(ev.agents)
                for a in ev.agents:
                    assert a in self.logged_in
            elif ev.kind == "unoffer":
                assert ev.agent in c.offers
                c.offers.discard(ev.agent)
            elif ev.kind == "assign":
                assert c.agent is None
                if not self.auto:
                    assert c.offers == {ev.agent}, (ev, c.offers)
                    assert ev.agent in self.logged_in, f"{ev}: {ev.agent} is logged out"
                    c.offers = set()
                held = self.connected[ev.agent]
                assert len(held) < self.limits[ev.agent], (ev, held)
                held.add(ev.call)
                c.agent = ev.agent
                assert abs(ev.wait - (ev.t - c.arrival)) < 1e-9
                self.counts[c.home].answered += 1
                if ev.wait <= self.cfg[c.home]["sl"]:
                    self.counts[c.home].answered_within_sl += 1
            elif ev.kind == "end":
                assert c.agent == ev.agent
                self.connected[ev.agent].discard(ev.call)
                c.ended += 1
            elif ev.kind in ("abandon", "timeout", "fallback"):
                assert c.agent is None and not c.offers and ev.queue == c.home
                c.ended += 1
                field_name = {"abandon": "abandoned", "timeout": "timed_out"}.get(
                    ev.kind, "fallback"
                )
                setattr(
                    self.counts[c.home], field_name, getattr(self.counts[c.home], field_name) + 1
                )
            elif ev.kind == "withdraw":  # the host took it back: not a caller's, not offered
                assert c.agent is None and not c.offers and ev.queue == c.home
                c.ended += 1
                self.counts[c.home].offered -= 1
            elif ev.kind == "overflow":
                assert c.agent is None and not c.offers and ev.queue == c.home
                self.counts[c.home].overflowed += 1
                if ev.target is None:
                    c.ended += 1
                else:
                    c.home = ev.target
                    self.counts[ev.target].offered += 1
            elif ev.kind == "escalate":
                assert ev.queue == c.home and c.agent is None

    def tick(self, dt: float) -> None:
        self.now += dt

    def live_calls(self) -> list[str]:
        return [c for c, m in self.calls.items() if m.ended == 0]

    # ---- rules ---------------------------------------------------------------------------

    dts = st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 7.0, 20.0, 60.0])

    @rule(
        dt=dts,
        agent=st.sampled_from(AGENTS),
        skills=st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([50, 90]), max_size=3),
        data=st.data(),
    )
    def login(self, dt: float, agent: str, skills: dict[str, int], data: st.DataObject) -> None:
        self.tick(dt)
        queues = data.draw(
            st.lists(st.sampled_from(self.queues), unique=True, min_size=1, max_size=3)
        )
        # A mapping of more than one queue reaches the engine in a random order: known engine
        # bug [weighted-queues-order-random] (see test_engine_api.py).
        weighted = len(queues) <= 1 and data.draw(st.booleans())
        memberships: Any = {q: data.draw(st.integers(0, 3)) for q in queues} if weighted else queues
        self.apply(
            "login", self.now, agent, skills=skills, queues=memberships, limit=self.limits[agent]
        )

    @rule(dt=dts, agent=st.sampled_from(AGENTS))
    def logout(self, dt: float, agent: str) -> None:
        # With offers still ringing at the agent, a logout that completes later leaves them
        # ringing: known engine bug [logout-leaves-offers-ringing].
        if any(agent in c.offers for c in self.calls.values() if c.ended == 0):
            return
        self.tick(dt)
        self.apply("logout", self.now, agent)

    @rule(dt=dts, agent=st.sampled_from(AGENTS))
    def pause(self, dt: float, agent: str) -> None:
        self.tick(dt)
        self.apply("pause", self.now, agent, "break")

    @rule(dt=dts, agent=st.sampled_from(AGENTS))
    def unpause(self, dt: float, agent: str) -> None:
        self.tick(dt)
        self.apply("unpause", self.now, agent)

    @rule(
        dt=dts,
        data=st.data(),
        priority=st.integers(-2, 3),
        skills=st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([1, 40, 80]), max_size=1),
        preferred=st.one_of(
            st.none(), st.tuples(st.sampled_from(AGENTS), st.sampled_from([5.0, 30.0]))
        ),
    )
    def enqueue(
        self,
        dt: float,
        data: st.DataObject,
        priority: int,
        skills: dict[str, int],
        preferred: tuple[str, float] | None,
    ) -> None:
        self.tick(dt)
        queue = data.draw(st.sampled_from(self.queues))
        call = f"c{self.next_call}"
        self.next_call += 1
        kw: dict[str, Any] = {"priority": priority, "skills": skills}
        if preferred is not None:
            kw["preferred_agent"], kw["preferred_wait"] = preferred
        err = self.apply("enqueue", self.now, call, queue, **kw)
        assert err is None, err

    @precondition(lambda self: any(m.ended == 0 for m in self.calls.values()))
    @rule(dt=dts, data=st.data())
    def hangup(self, dt: float, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(self.live_calls()))
        self.tick(dt)
        err = self.apply("hangup", self.now, call)
        if err is not None:  # it left (a timeout, say) as the clock moved
            assert isinstance(err, KeyError) and self.calls[call].ended == 1

    @precondition(lambda self: any(m.ended == 0 for m in self.calls.values()))
    @rule(dt=dts, data=st.data())
    def withdraw(self, dt: float, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(self.live_calls()))
        self.tick(dt)
        err = self.apply("withdraw", self.now, call)
        c = self.calls[call]
        if isinstance(err, StateError):  # connected (maybe as the clock moved): it stays
            assert c.ended == 0 and c.agent is not None and "connected" in str(err)
        elif err is not None:  # it left (a timeout, say) as the clock moved
            assert isinstance(err, KeyError) and c.ended == 1
        else:
            assert c.ended == 1

    @precondition(lambda self: any(m.ended for m in self.calls.values()))
    @rule(data=st.data())
    def hangup_finished_call(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from([c for c, m in self.calls.items() if m.ended]))
        err = self.apply("hangup", self.now, call)
        assert isinstance(err, KeyError) and call in str(err)

    @precondition(lambda self: any(m.offers for m in self.calls.values()))
    @rule(data=st.data(), accept=st.booleans(), dt=st.sampled_from([0.0, 1.0, 4.0]))
    def answer(self, data: st.DataObject, accept: bool, dt: float) -> None:
        pairs = sorted((c, a) for c, m in self.calls.items() for a in m.offers)
        call, agent = data.draw(st.sampled_from(pairs))
        self.tick(dt)
        err = self.apply("accept" if accept else "reject", self.now, call, agent)
        if err is not None:  # the offer timed out (or the call left) as the clock moved
            assert isinstance(err, (StateError, KeyError)), err

    @rule(dt=dts)
    def advance(self, dt: float) -> None:
        self.tick(dt)
        self.apply("advance", self.now)

    @precondition(lambda self: self.twin is None)
    @rule()
    def snapshot_and_restore(self) -> None:
        assert self.engine is not None
        self.twin = Engine.restore(self.engine.snapshot())
        for q in self.queues:
            assert repr(self.twin.queue_stats(q)) == repr(self.engine.queue_stats(q))

    # ---- invariants ----------------------------------------------------------------------

    @invariant()
    def stats_match_the_log_and_limits_hold(self) -> None:
        if self.engine is None:
            return
        e = self.engine
        for q in self.queues:
            s = e.queue_stats(q)
            got = Counts(
                s.offered,
                s.answered,
                s.abandoned,
                s.answered_within_sl,
                s.timed_out,
                s.overflowed,
                s.fallback,
            )
            assert got == self.counts[q], (q, got, self.counts[q])
            waiting = sum(
                1 for m in self.calls.values() if m.ended == 0 and m.agent is None and m.home == q
            )
            assert s.waiting == waiting, (q, s.waiting, waiting)
        for a in AGENTS:
            try:
                info = e.agent(a)
            except KeyError:
                continue
            assert set(info.active_calls) == self.connected[a], (a, info.active_calls)
            assert len(info.active_calls) <= info.limit
            if info.state == "logged-out":
                self.logged_in.discard(a)
                ringing = [c for c, m in self.calls.items() if m.ended == 0 and a in m.offers]
                assert ringing == [], f"logged-out {a} still offered {ringing}"

    def teardown(self) -> None:
        if self.engine is None:
            return
        for _ in range(10 * len(self.calls) + 10):
            live = self.live_calls()
            if not live:
                break
            self.tick(1.0)
            self.apply("advance", self.now)
            if self.calls[live[0]].ended == 0:
                assert self.apply("hangup", self.now, live[0]) is None
        assert self.live_calls() == []
        evs = self.engine.finish()
        if self.twin is not None:
            assert [x.to_dict() for x in self.twin.finish()] == [x.to_dict() for x in evs]
        self.feed_finish(evs)
        for c, m in self.calls.items():
            assert m.ended == 1, (c, m)
        for q in self.queues:
            assert self.engine.queue_stats(q).waiting == 0

    def feed_finish(self, events: list[Any]) -> None:
        self.now = max([self.now] + [ev.t for ev in events])
        self.feed(events)


EngineMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEngineMachine = EngineMachine.TestCase


def test_the_machine_reaches_every_event_kind() -> None:
    """The properties above are not vacuous: a fixed run of the machine produces every kind
    of event, and compares events with a restored twin."""
    TALLY.clear()
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=150,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    missing = [k for k in [*acdcore.EVENT_KINDS, "checked against a restored twin"] if not TALLY[k]]
    assert missing == [], dict(TALLY)
