"""The snapshot format does not move with the engine's memory layout.

`tests/data/engine_snapshot_v4.bin` was written by main at fd9fada (before the agent and queue
records were laid out for routing, branch `daymem`) from the engine `_day` builds. Structs go
to msgpack as arrays in field order, so a reordered field would change these bytes.
"""

from pathlib import Path

import acdcore

FIXTURE = Path(__file__).parent / "data" / "engine_snapshot_v4.bin"


def _day() -> acdcore.Engine:
    # Agents with one, two and three queues (three spills past the inline memberships), a
    # call answered and wrapping up, a paused agent, calls waiting in two queues.
    e = acdcore.Engine(seed=3)
    e.add_queue("sales", strategy="longest-idle", wrapup=10)
    e.add_queue("support", strategy="fewest-calls", wrapup=5)
    e.add_queue("vip", strategy="skills-best", weight=2)
    # The binding reads a skills dict in hash order, which Python salts per process: one skill
    # per login first fixes the numbers the names get, so the bytes are the same every run.
    for n, skill in enumerate(["en", "fr", "de", "es"]):
        e.login(0.0, f"z{n}", skills={skill: 1}, queues=[])
    e.login(0.0, "a1", skills={"en": 80, "fr": 30}, queues=["sales", "support"])
    e.login(0.5, "a2", skills={"en": 50}, queues={"sales": 3})
    e.login(1.0, "a3", skills={"fr": 90, "de": 10, "es": 20}, queues=["support", "sales", "vip"])
    e.enqueue(2.0, "c1", "sales", skills={"en": 40})
    e.accept(3.0, "c1", "a1")
    e.pause(4.0, "a3", "lunch")
    e.enqueue(5.0, "c2", "support", skills={"fr": 50})
    e.enqueue(5.5, "c3", "vip", priority=2, skills={"de": 5})
    e.hangup(6.0, "c1")
    e.advance(7.0)
    return e


def test_snapshot_bytes_are_those_of_the_layout_before() -> None:
    assert _day().snapshot() == FIXTURE.read_bytes()


def test_a_snapshot_of_the_layout_before_restores_and_routes_the_same() -> None:
    restored = acdcore.Engine.restore(FIXTURE.read_bytes())
    built = _day()
    # a1's wrap-up ends at 16; a3 back from lunch takes the waiting calls it qualifies for.
    got, want = (
        [(ev.kind, ev.call, ev.agents) for ev in e.unpause(8.0, "a3") + e.advance(20.0)]
        for e in (restored, built)
    )
    assert got == want
    assert any(kind == "offer" for kind, _, _ in got)
