"""Bad scenarios and arguments: a clear message naming the bad thing, a ValueError from
Python, a non-zero exit from the CLI, never a crash or a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from acdcore import Scenario, simulate

GOOD = """
[simulation]
intervals = 2
[[queue]]
id = "q"
[[group]]
name = "g"
agents = 2
queues = ["q"]
[[calls]]
name = "c"
queue = "q"
rate = 0.01
handle = { dist = "exponential", mean = 60 }
"""


def test_the_good_scenario_runs() -> None:
    assert simulate(Scenario.from_toml(GOOD)).totals["calls"] > 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("agents = 2", "agents = 0", 'group "g": agents must be >= 1'),
        ("agents = 2", "agnets = 2", "unknown field `agnets`"),
        ("rate = 0.01", "rate = -1", "arrival rate -1 must be >= 0"),
        ("rate = 0.01", "rate = 0", "every arrival rate is zero"),
        ("rate = 0.01", "rates = []", "rates is empty"),
        ("rate = 0.01", "", "give exactly one of rate, rates, rates_csv"),
        ('dist = "exponential"', 'dist = "weibull"', "unknown variant `weibull`"),
        ("mean = 60", "mean = 0", "handle: mean must be a positive number"),
        ('queue = "q"\nrate', 'queue = "nope"\nrate', 'queue "nope" is not defined'),
        ('queues = ["q"]', 'queues = ["q", "x"]', 'queue "x" is not defined'),
        ("intervals = 2", "interval = 0\nintervals = 2", "simulation.interval must be > 0"),
        ("intervals = 2", "", "give intervals or calls"),
        ("intervals = 2", "intervals = 2\nreplications = 0", "replications must be >= 1"),
        ('id = "q"', 'id = "q"\nstrategy = "fastest"', 'unknown strategy "fastest"'),
        ('id = "q"', 'id = "q"\nwrapup = -5', "wrapup must be a number"),
        (
            'queues = ["q"]',
            'queues = ["q"]\nshifts = [{ start = "25:00" }]',
            '"25:00" is not a clock time',
        ),
        (
            'queues = ["q"]',
            'queues = ["q"]\nshifts = [{ start = 100, end = 50 }]',
            "end is not after start",
        ),
        ("mean = 60 }", "mean = 60 }\nself_service = 1.5", "self_service must be within 0..=1"),
        (
            "mean = 60 }",
            'mean = 60 }\nretrial = { probability = 2, delay = { dist = "constant", value = 1 } }',
            "retrial probability must be within 0..=1",
        ),
        ('name = "c"', 'name = "c"\nskills = { lang = 500 }', "level"),
        ("[[queue]]", "[[queue]\n", "TOML parse error at line"),
    ],
)
def test_bad_scenarios_are_refused_by_name(old: str, new: str, message: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(ValueError, match=None) as err:
        Scenario.from_toml(text)
    assert message in str(err.value)


def test_toml_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("agents = 2", "agents = two"))
    with pytest.raises(ValueError) as err:
        Scenario.load(path)
    msg = str(err.value)
    assert str(path) in msg and "line 8" in msg and "agents = two" in msg


def test_rates_csv_rows_are_named_by_line(tmp_path: Path) -> None:
    (tmp_path / "rates.csv").write_text("interval,calls,aht\n0,10,60\n1,ten,60\n")
    (tmp_path / "s.toml").write_text(GOOD.replace("rate = 0.01", 'rates_csv = "rates.csv"'))
    with pytest.raises(ValueError, match=r'rates.csv: line 3: calls "ten"'):
        Scenario.load(tmp_path / "s.toml")
    (tmp_path / "rates.csv").write_text("interval,calls\n0,10\n1,20\n")
    r = simulate(Scenario.load(tmp_path / "s.toml"), seed=1)
    assert r.totals["calls"] > 0


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nowhere\.toml"):
        Scenario.load(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agents": 0}, "agents must be >= 1"),
        ({"arrival_rate": 0.0}, "every arrival rate is zero"),
        ({"arrival_rate": float("nan")}, "arrival rate NaN"),
        ({"aht": -1.0}, "handle: mean must be a positive"),
        ({"calls": 0}, "calls must be >= 1"),
        ({"patience": float("inf")}, "patience: mean"),
        ({"threshold": -1.0}, "sl must be a number"),
    ],
)
def test_bad_quick_form_arguments(kwargs: dict[str, float], message: str) -> None:
    args = {"agents": 5, "arrival_rate": 0.01, "aht": 60.0, "calls": 10} | kwargs
    with pytest.raises(ValueError) as err:
        Scenario.mmc(**args)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_bad_replications_and_seed() -> None:
    scn = Scenario.from_toml(GOOD)
    with pytest.raises(ValueError, match="replications must be >= 1"):
        simulate(scn, replications=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        simulate(scn, seed=-1)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acdcore", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        ([], "missing --agents, --arrival-rate, --aht, --calls", 2),
        (["--agents", "0", "--arrival-rate", "1", "--aht", "1", "--calls", "1"], "--agents", 1),
        (
            ["--agents", "2", "--arrival-rate", "-1", "--aht", "1", "--calls", "1"],
            "--arrival-rate",
            1,
        ),
        (
            ["--agents", "2", "--arrival-rate", "nan", "--aht", "1", "--calls", "1"],
            "--arrival-rate",
            1,
        ),
        (["nowhere.toml"], "nowhere.toml: no such file", 2),
        (["x.toml", "--agents", "3"], "--agents belongs to the quick form", 2),
    ],
)
def test_cli_refuses_with_a_message_and_an_exit_code(
    args: list[str], message: str, code: int
) -> None:
    """Bad values exit 1; usage mistakes and unreadable files exit 2."""
    p = cli(*args)
    assert p.returncode == code, p.stderr
    assert message in p.stderr
    assert p.stdout == ""


def test_cli_bad_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD.replace("agents = 2", "agents = 0"))
    p = cli(str(path), "--json")
    assert p.returncode == 1
    assert 'group "g": agents must be >= 1' in p.stderr


@pytest.mark.parametrize(
    "settings",
    [
        "interval = 0.001\nintervals = 900000000",
        "interval = 1\ncalls = 5",
    ],
)
def test_runs_spanning_millions_of_intervals_are_refused(settings: str) -> None:
    """Not ground through for hours: a tiny interval, or calls so rare they take ages."""
    text = GOOD.replace("intervals = 2", settings).replace("rate = 0.01", "rate = 0.000001")
    with pytest.raises(ValueError, match="more than 1000000 intervals"):
        simulate(Scenario.from_toml(text))
