"""Outbound pacing through Python: the batch pacer, the simulated day and its targets, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from acdcore.pacing import Pacer, simulate_outbound

SEEDS = range(1, 11)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acdcore", "simulate-outbound", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_predictive_stays_under_the_target_and_keeps_agents_busy(seed: int) -> None:
    day = simulate_outbound(50, 0.2, 180, wrapup=10, mode="predictive", target=0.03, seed=seed)
    assert day["abandon_rate"] <= 0.03
    # The target; the pacer reaches about 0.93 (docs/pacing.md, benches/README.md).
    assert day["occupancy"] >= 0.90
    assert day["live"] == day["connects"] + day["abandoned"]


@pytest.mark.parametrize("seed", SEEDS)
def test_small_teams_at_low_answer_rates_stay_under_the_target(seed: int) -> None:
    day = simulate_outbound(10, 0.08, 180, wrapup=10, mode="predictive", target=0.03, seed=seed)
    assert day["abandon_rate"] <= 0.03
    assert day["connects"] > 500


def test_progressive_never_abandons_and_predictive_beats_it() -> None:
    prog = simulate_outbound(50, 0.2, 180, wrapup=10, mode="progressive", seed=1)
    pred = simulate_outbound(50, 0.2, 180, wrapup=10, mode="predictive", seed=1)
    assert prog["abandoned"] == 0 and prog["connects"] == prog["live"]
    assert pred["occupancy"] > prog["occupancy"] + 0.15
    assert pred["agent_wait_s"] < prog["agent_wait_s"] / 2


def test_a_higher_power_ratio_dials_more_and_abandons_more() -> None:
    low = simulate_outbound(20, 0.2, 180, mode="power", ratio=2, hours=2, seed=3)
    high = simulate_outbound(20, 0.2, 180, mode="power", ratio=8, hours=2, seed=3)
    assert high["dials"] > low["dials"]
    assert high["abandon_rate"] > low["abandon_rate"]


def test_the_batch_pacer() -> None:
    pacer = Pacer(4, mode=["predictive", "predictive", "progressive", "power"], ratio=2.0)
    ages = [np.full(30, 200.0), np.full(30, 200.0), [10.0], []]
    dials = pacer.tick(0.0, ready=[0, 5, 5, 5], busy_ages=ages, in_flight=[0, 0, 2, 1])
    assert dials.dtype == np.uint32
    assert dials[2] == 3 and dials[3] == 9  # 5 - 2; 2 x 5 - 1
    assert dials[1] > 5  # dials ahead of agents
    # No agents at all: no dials, in every mode.
    none = Pacer(3, mode=["predictive", "progressive", "power"], ratio=3.0)
    assert none.tick(0.0, ready=[0, 0, 0]).tolist() == [0, 0, 0]
    more = [int(Pacer(1).tick(0.0, ready=[r], busy_ages=[ages[0]])[0]) for r in range(0, 12)]
    assert more == sorted(more) and more[-1] > more[0]
    est = pacer.state(0)
    assert est["answer_rate"] == 0.5 and est["risk"] > 0


def test_a_pacer_snapshot_restores_its_learning_and_bad_bytes_change_nothing() -> None:
    pacer = Pacer(2, ring=25.0)
    ages = [np.full(10, 90.0), np.full(10, 90.0)]
    for t in range(50):
        pacer.tick(float(t), ready=[2, 1], busy_ages=ages, in_flight=[3, 1], resolved=[5, 2],
                   answered=[2, 1], abandoned=[1 if t % 10 == 0 else 0, 0],
                   answer_times=[[4.0, 9.0], [12.0]])  # fmt: skip
    saved = pacer.snapshot()
    back = Pacer(2, ring=25.0)
    back.restore(saved)
    for i in range(2):
        assert back.state(i) == pacer.state(i)
    now = dict(ready=[3, 3], busy_ages=ages, in_flight=[2, 0])
    assert back.tick(60.0, **now).tolist() == pacer.tick(60.0, **now).tolist()  # type: ignore[arg-type]
    fresh = Pacer(2, ring=25.0)
    for bad, match in [(b"", "not an acdcore pacer"), (saved[:-3], "not an acdcore pacer")]:
        with pytest.raises(ValueError, match=match):
            fresh.restore(bad)
    with pytest.raises(ValueError, match="2 campaigns, this pacer 3"):
        Pacer(3).restore(saved)
    assert fresh.state(0) == Pacer(2, ring=25.0).state(0)


def test_a_small_idle_team_is_dialed_for() -> None:
    # A dial brings at most one answer: as many dials as ready agents cannot abandon anyone, so
    # predictive dials at least that many for a team with nobody busy (issue 4: it dialed 0).
    for ready in range(1, 6):
        dials = Pacer(1, aht=180).tick(0.0, ready=[ready], busy_ages=[[]], in_flight=[0])
        assert int(dials[0]) >= ready, (ready, dials)
    # Dials in flight take their share of the certain agents.
    covered = Pacer(1, aht=180).tick(0.0, ready=[3], busy_ages=[[]], in_flight=[2])
    assert int(covered[0]) >= 1
    # Nobody ready and nobody busy still means no dials.
    assert Pacer(1, aht=180).tick(0.0, ready=[0], busy_ages=[[]], in_flight=[0]).tolist() == [0]


def test_dials_that_have_rung_long_leave_room_for_more() -> None:
    # As the Rust test of the same name: 12 dials in flight beside 10 ready agents.
    busy = [np.full(40, 100.0)]

    def dials(pacer: Pacer, **flight: object) -> int:
        return int(pacer.tick(0.0, ready=[10], busy_ages=busy, in_flight=[12], **flight)[0])

    def ringing() -> Pacer:
        return Pacer(1, ring=25.0, answer_cv=0.5)

    unknown = dials(ringing())
    fresh = dials(ringing(), flight_ages=[np.zeros(12)])
    old = dials(ringing(), flight_ages=[np.full(12, 20.0)])
    assert unknown == fresh
    # Dials at 20 s of a 25 s ring are almost all no-answers: room for many more.
    assert old >= fresh + 8, (old, fresh)
    # Half of them aged: in between. Flat with offsets is the same as one array per campaign.
    half = dials(ringing(), flight_ages=[np.full(6, 20.0)])
    assert fresh < half < old, (fresh, half, old)
    flat = dials(ringing(), flight_ages=np.full(6, 20.0), flight_offsets=[0, 6])
    assert flat == half
    # Without the ringing model (no `ring`) ages change nothing: the old call form.
    assert dials(Pacer(1), flight_ages=[np.full(12, 20.0)]) == dials(Pacer(1)) == fresh
    # Two campaigns, ages only for the second: the first paces as if none were known.
    two = Pacer(2, ring=25.0)
    got = two.tick(
        0.0, ready=[10, 10], busy_ages=busy * 2, in_flight=[12, 12],
        flight_ages=[[], np.full(12, 20.0)],
    )  # fmt: skip
    assert got.tolist() == [fresh, old]


def test_bad_flight_ages_are_refused() -> None:
    pacer = Pacer(2, ring=25.0)
    with pytest.raises(ValueError, match="campaign 1: 3 flight ages for 2 dials in flight"):
        pacer.tick(0.0, ready=[1, 1], in_flight=[2, 2], flight_ages=[[], [1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="flight age"):
        pacer.tick(0.0, ready=[1, 1], in_flight=[2, 2], flight_ages=[[-1.0], []])
    with pytest.raises(ValueError, match="flight_offsets must rise"):
        pacer.tick(0.0, ready=[1, 1], in_flight=[2, 2], flight_ages=[1.0], flight_offsets=[0, 2, 1])
    with pytest.raises(ValueError, match="flight_ages has 1 campaigns, the pacer 2"):
        pacer.tick(0.0, ready=[1, 1], in_flight=[2, 2], flight_ages=[[1.0]])
    with pytest.raises(ValueError, match="one sequence per campaign"):
        pacer.tick(0.0, ready=[1, 1], in_flight=[2, 2], flight_ages=np.zeros(2))
    with pytest.raises(ValueError, match="flight_offsets needs flight_ages"):
        pacer.tick(0.0, ready=[1, 1], flight_offsets=[0, 0, 0])
    with pytest.raises(ValueError, match="ring must be a positive"):
        Pacer(1, ring=0.0)
    with pytest.raises(ValueError, match="answer_cv must be a positive"):
        Pacer(1, ring=25.0, answer_cv=-1.0)
    # Refused ticks changed nothing: the clock has not moved.
    pacer.tick(0.0, ready=[1, 1])


def _learned(times: list[np.ndarray]) -> Pacer:
    """A pacer of len(times) campaigns with a 25 s ring, each fed 1,500 ticks of 10 dials
    resolved and 2 answered, the answers' times drawn in turn from its array."""
    n = len(times)
    pacer = Pacer(n, ring=25.0)
    for s in range(1500):
        pacer.tick(
            float(s),
            ready=[5] * n,
            resolved=[10] * n,
            answered=[2] * n,
            answer_times=[t[2 * s % len(t) : 2 * s % len(t) + 2] for t in times],
        )
    return pacer


def _faded(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """What `_learned` should hold: the histogram of the times fed, each tick's two answers
    moving it by 1 - 0.99^2 (the prior's share after 3,000 answers, 0.99^3000, is below 1e-13)."""
    ticks = 1500
    fed = np.concatenate([times[2 * s % len(times) :][:2] for s in range(ticks)])
    weight = np.repeat((1 - 0.99**2) / 2 * 0.99 ** (2 * (ticks - 1 - np.arange(ticks))), 2)
    got, _ = np.histogram(np.minimum(fed, edges[-1] - 1e-9), bins=edges, weights=weight)
    return got


def test_the_learned_shape_converges_to_the_answer_times_fed_in() -> None:
    rng = np.random.default_rng(4)
    late = rng.uniform(12.0, 15.0, 3000)
    lognormal = np.minimum(rng.lognormal(np.log(5.0), 0.4, 3000), 25.0)
    pacer = _learned([late, lognormal])
    masses, edges = pacer.answer_shape(0)  # type: ignore[misc]
    assert edges[0] == 0.0 and edges[-1] == 25.0 and len(masses) == len(edges) - 1 == 25
    assert masses.sum() == pytest.approx(1.0)
    # Exactly the faded histogram of the times fed in...
    assert masses == pytest.approx(_faded(late, edges), abs=1e-9)
    # ... which is near the distribution they come from (uniform on 12..15 s), within the
    # sampling error of about 200 effective answers.
    assert masses[12:15] == pytest.approx([1 / 3] * 3, abs=0.12)
    assert masses[:12].sum() + masses[15:].sum() < 1e-9
    assert pacer.state(0)["time_to_answer"] == pytest.approx(13.5, abs=0.3)
    masses, edges = pacer.answer_shape(1)  # type: ignore[misc]
    assert masses == pytest.approx(_faded(lognormal, edges), abs=1e-9)
    cdf = np.cumsum(masses)
    # The lognormal's median is 5 s; P(under 10 s) = 0.96.
    assert cdf[4] == pytest.approx(0.5, abs=0.1) and cdf[9] > 0.88
    # No answer times, or no ring: nothing learned, the given shape stands.
    assert Pacer(1, ring=25.0).answer_shape(0) is None
    plain = Pacer(1)
    plain.tick(0.0, ready=[1], resolved=[1], answered=[1], answer_times=[[3.0]])
    assert plain.answer_shape(0) is None
    assert plain.state(0)["time_to_answer"] < 10.0
    with pytest.raises(IndexError):
        plain.answer_shape(1)


def test_late_answers_weigh_old_dials_more_and_dial_fewer() -> None:
    rng = np.random.default_rng(5)
    pacer = _learned([rng.uniform(12.0, 15.0, 3000), rng.uniform(2.0, 3.0, 3000)])
    # 20 dials that have rung 8 s: after 2-3 s answers they are no-answers, after 12-15 s
    # answers still all to come. No busy agents, so the late campaign's longer answer time
    # frees nobody more.
    late, early = pacer.tick(
        2000.0, ready=[5, 5], in_flight=[20, 20], flight_ages=[np.full(20, 8.0)] * 2
    )
    assert early >= late + 15, (early, late)


def test_bad_answer_times_are_refused() -> None:
    pacer = Pacer(2, ring=25.0)
    kw: dict[str, object] = {"ready": [1, 1], "resolved": [3, 3], "answered": [2, 2]}
    for times, named in [
        ([[-1.0], []], "campaign 0: answer time must be a non-negative"),
        ([[], [float("nan")]], "campaign 1: answer time"),
        ([[1.0, 2.0, 3.0], []], "campaign 0: 3 answer times for 2 answered"),
        ([[1.0]], "answer_times has 1 campaigns, the pacer 2"),
    ]:
        with pytest.raises(ValueError, match=named):
            pacer.tick(0.0, answer_times=times, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tta_sum or answer_times, not both"):
        pacer.tick(0.0, answer_times=[[1.0], []], tta_sum=[1.0, 0.0], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="answer_offsets must rise"):
        pacer.tick(0.0, answer_times=[1.0], answer_offsets=[0, 2, 1], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="answer_offsets needs answer_times"):
        pacer.tick(0.0, answer_offsets=[0, 0, 0], **kw)  # type: ignore[arg-type]
    # Nothing was learned from the refused ticks; flat with offsets is the same form.
    assert pacer.answer_shape(0) is None
    pacer.tick(0.0, answer_times=[1.0, 2.0, 4.0], answer_offsets=[0, 2, 3], **kw)  # type: ignore[arg-type]
    assert pacer.answer_shape(1) is not None


def test_the_simulated_day_takes_a_time_to_answer_and_learns_its_shape() -> None:
    late = "empirical:" + ",".join(str(12 + k / 4) for k in range(13))
    kw: dict[str, object] = {"wrapup": 10, "hours": 2, "seed": 2, "answer_time": late}
    # Told a lognormal of cv 0.5 (the Python Pacer's shape) while answers come at 12-15 s.
    told = "lognormal:1:0.5"
    fixed = simulate_outbound(20, 0.2, 180, pacer_answer_time=told, learn_answer_shape=False, **kw)
    learned = simulate_outbound(20, 0.2, 180, pacer_answer_time=told, **kw)
    for day in (fixed, learned):
        assert day["abandon_rate"] <= 0.03
        assert day["live"] == day["connects"] + day["abandoned"]
    assert learned["dials"] != fixed["dials"]
    with pytest.raises(ValueError, match="answer_time"):
        simulate_outbound(20, 0.2, 180, answer_time="normal:3:1")
    with pytest.raises(ValueError, match="pacer_answer_time"):
        simulate_outbound(20, 0.2, 180, pacer_answer_time="lognormal:-1:1")


def test_the_batch_pacer_refuses_bad_input() -> None:
    pacer = Pacer(2)
    pacer.tick(10.0, ready=[1, 1])
    with pytest.raises(ValueError, match="clock went backwards"):
        pacer.tick(9.0, ready=[1, 1])
    with pytest.raises(ValueError, match="campaign 1: machines 2 > answered 1"):
        pacer.tick(11.0, ready=[1, 1], resolved=[1, 1], answered=[1, 1], machines=[0, 2])
    with pytest.raises(ValueError, match="busy age"):
        pacer.tick(11.0, ready=[1, 1], busy_ages=[[1.0], [-2.0]])
    with pytest.raises(ValueError, match="ready must be non-negative"):
        pacer.tick(11.0, ready=[-1, 1])
    with pytest.raises(ValueError, match="abandon target"):
        Pacer(1, target=1.5)
    with pytest.raises(ValueError, match="ratio"):
        Pacer(1, mode="power", ratio=0.5)
    with pytest.raises(ValueError, match="unknown mode"):
        Pacer(1, mode="preview")
    with pytest.raises(ValueError, match="aht has 3 values for 2"):
        Pacer(2, aht=[1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"target": -0.1}, "abandon target"),
        ({"target": 0.0}, "abandon target"),
        ({"target": float("nan")}, "abandon target"),
        ({"mode": "power", "ratio": float("nan")}, "ratio"),
        ({"mode": "power", "ratio": 101.0}, "ratio"),
        ({"aht": -1.0}, "aht|mean"),
        ({"wrapup": -1.0}, "wrap"),
    ],
)
def test_the_pacer_refuses_bad_ratios_and_targets_naming_them(
    kw: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        Pacer(2, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"answer_rate": 1.5}, "answer rate"),
        ({"answer_rate": -0.2}, "answer rate"),
        ({"machine_rate": 2.0}, "machine rate"),
        ({"target": 1.5}, "target"),
        ({"target": -0.03}, "target"),
        ({"mode": "power", "ratio": 0.5}, "ratio"),
    ],
)
def test_the_simulated_day_refuses_bad_rates_naming_them(kw: dict[str, object], named: str) -> None:
    args: dict[str, object] = {"agents": 5, "answer_rate": 0.2, "aht": 180.0, "hours": 0.1}
    args.update(kw)
    with pytest.raises(ValueError, match=named):
        simulate_outbound(**args)  # type: ignore[arg-type]


def test_cli_prints_the_figures() -> None:
    r = _cli("--agents", "10", "--answer-rate", "0.2", "--aht", "180", "--wrapup", "10",
             "--mode", "predictive", "--abandon-target", "0.03", "--hours", "1", "--seed", "1",
             "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["mode", "dials", "connects", "abandoned", "abandon_rate", "occupancy",
                         "agent_wait_s"]  # fmt: skip
    assert out["mode"] == "predictive" and out["dials"] > out["connects"] > 0
    again = _cli("--agents", "10", "--answer-rate", "0.2", "--aht", "180", "--wrapup", "10",
                 "--hours", "1", "--seed", "1", "--json")  # fmt: skip
    assert json.loads(again.stdout) == out
    # A time to answer the pacer is not told, learned or kept fixed: another day.
    late = ["--answer-time", "empirical:12,13,14,15", "--pacer-answer-time", "lognormal:1:0.5"]
    learned = _cli("--agents", "10", "--answer-rate", "0.2", "--aht", "180", "--hours", "1",
                   "--json", *late)  # fmt: skip
    fixed = _cli("--agents", "10", "--answer-rate", "0.2", "--aht", "180", "--hours", "1",
                 "--json", "--fixed-answer-shape", *late)  # fmt: skip
    assert learned.returncode == fixed.returncode == 0, learned.stderr + fixed.stderr
    assert json.loads(learned.stdout) != json.loads(fixed.stdout)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--answer-rate", "1.2"], "--answer-rate"),
        (["--answer-rate", "-0.1"], "--answer-rate"),
        (["--aht", "-5"], "--aht"),
        (["--abandon-target", "2"], "--abandon-target"),
        (["--mode", "power", "--ratio", "0.5"], "--ratio"),
        (["--agents", "0"], "--agents"),
        (["--wrapup", "nan"], "--wrapup"),
        (["--hours", "-1"], "--hours"),
        (["--answer-time", "normal:8:4"], "--answer-time"),
        (["--answer-time", "lognormal:8:-4"], "--answer-time"),
        (["--pacer-answer-time", "empirical:"], "--pacer-answer-time"),
    ],
)
def test_cli_bad_values_exit_1_naming_them(extra: list[str], named: str) -> None:
    base = {"--agents": "5", "--answer-rate": "0.2", "--aht": "180"}
    for k, v in zip(extra[::2], extra[1::2], strict=True):
        base[k] = v
    r = _cli(*[x for kv in base.items() for x in kv])
    assert r.returncode == 1
    assert named in r.stderr and r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--answer-rate", "0.2", "--aht", "180"],
        ["--agents", "5", "--answer-rate", "0.2", "--aht", "180", "--mode", "preview"],
        ["--agents", "5", "--answer-rate", "0.2", "--aht", "180", "--ratio", "3"],
        ["--agents", "five", "--answer-rate", "0.2", "--aht", "180"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    r = _cli(*args)
    assert r.returncode == 2 and r.stderr


def test_cli_report_shows_the_three_modes(tmp_path: Path) -> None:
    r = _cli("--agents", "10", "--answer-rate", "0.2", "--aht", "180", "--hours", "1",
             "--report", str(tmp_path / "out"), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "out" / "index.html").read_text()
    for mode in ("progressive", "power (2:1)", "predictive"):
        assert mode in page
    for png in ("occupancy.png", "abandonment.png"):
        assert (tmp_path / "out" / png).read_bytes()[:4] == b"\x89PNG"
    assert json.loads(r.stdout)["report"].endswith("index.html")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    r = _cli("--agents", "5", "--answer-rate", "0.2", "--aht", "180", "--hours", "0.5",
             "--report", str(blocked))  # fmt: skip
    assert r.returncode == 2 and "--report" in r.stderr
