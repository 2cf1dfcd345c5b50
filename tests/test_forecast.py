"""Contact volume forecasting (issue 3, "Volume forecasting"), end to end.

The planning formula and its worked example (10,000 customers x 3 contacts x 5% = 1,500 calls
a month) spread by a profile; a generated history with a known weekly profile, trend and
Poisson noise, whose profile and trend the fit recovers and whose held-out days it forecasts
better than the seasonal-naive forecast; call records and counts CSVs; the forecast CSV that
`acdcore staffing --csv` reads; bad CSVs named by line through Python and the CLI;
determinism.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from acdcore import cli
from acdcore import forecast as fc
from hypothesis import given, settings
from hypothesis import strategies as st

HALF_HOUR = 1800
MONDAY = datetime(2026, 9, 7, tzinfo=UTC)  # history starts on a Monday
OPEN = slice(16, 36)  # 08:00-18:00, Monday to Saturday
GROWTH = 0.05  # calls per open half-hour, per day


def expected_calls(days: int, start_day: int = 0) -> np.ndarray:
    """The true rate per half-hour: a day shape, busier Mondays, closed Sundays and nights,
    growing by GROWTH calls per open interval per day."""
    lam = np.zeros((days, 48))
    slots = np.arange(48)[OPEN]
    for d in range(days):
        weekday = (start_day + d) % 7
        if weekday == 6:
            continue
        shape = 20 + 12 * np.sin(np.pi * (slots - 16) / 20) + (10 if weekday == 0 else 0)
        lam[d, OPEN] = shape + GROWTH * (start_day + d)
    return lam.ravel()


def generated(days: int = 84, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(interval start times, Poisson counts) of the generated history."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(expected_calls(days)).astype(np.float64)
    starts = MONDAY.timestamp() + HALF_HOUR * np.arange(days * 48)
    return starts, counts


def write_counts(path: Path, starts: np.ndarray, counts: np.ndarray, offset: int = 0) -> Path:
    tz = timezone(timedelta(seconds=offset))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["interval", "calls", "aht"])
        for t, c in zip(starts, counts, strict=True):
            slot = int(t % 86_400) // HALF_HOUR
            w.writerow([datetime.fromtimestamp(t, tz).isoformat(), int(c), 200 + slot])
    return path


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["forecast", *args])
    out, err = capsys.readouterr()
    return code, out, err


# The planning formula


def test_worked_example_is_1500_calls_a_month() -> None:
    assert fc.monthly_volume(10_000, 3, 0.05) == pytest.approx(1500)
    assert fc.monthly_volume(0, 3, 0.05) == 0


def test_plan_spreads_the_month_over_business_hours() -> None:
    f = fc.plan(10_000, 3, 0.05, "2026-12", aht=240)
    assert len(f.calls) == 31 * 48
    assert f.calls.sum() == pytest.approx(1500)
    by_day = f.calls.reshape(31, 48)
    weekdays = [date(2026, 12, d + 1).weekday() < 5 for d in range(31)]
    assert sum(weekdays) == 23
    per_interval = 1500 / (23 * 20)
    for d, open_day in enumerate(weekdays):
        expected = np.zeros(48)
        if open_day:
            expected[OPEN] = per_interval
        np.testing.assert_allclose(by_day[d], expected, atol=1e-9)
    assert set(f.aht) == {240.0}
    assert f.rows()[16] == ("2026-12-01T08:00:00+00:00", pytest.approx(per_interval), 240.0)


def test_plan_follows_the_offset_hours_and_a_learned_profile() -> None:
    # Half an hour open on Saturdays only, in local time one hour east of UTC.
    f = fc.plan(
        100,
        1,
        1.0,
        "2026-02",
        utc_offset=3600,
        profile=fc.business_hours_profile(HALF_HOUR, "09:00-09:30", "sat"),
    )
    busy = [r for r in f.rows() if r[1] > 0]
    assert [r[0] for r in busy] == [f"2026-02-{d:02d}T09:00:00+01:00" for d in (7, 14, 21, 28)]
    assert all(r[1] == pytest.approx(25) for r in busy)
    # Opening at 08:15 gives the 08:00 interval half a weight.
    w = fc.business_hours_profile(HALF_HOUR, "08:15-09:00", "mon")
    assert (w[16], w[17], w[18], w[48 + 16]) == (0.5, 1.0, 0.0, 0.0)
    # A learned profile moves the volume where the history had its calls.
    starts, counts = generated(14)
    learned = fc.learn_profile(fc.from_counts(starts, counts, interval=HALF_HOUR))
    g = fc.plan(1000, 1, 1.0, "2026-12", profile=learned)
    days = g.calls.reshape(31, 48).sum(axis=1)
    mondays = [d for d in range(31) if date(2026, 12, d + 1).weekday() == 0]
    sundays = [d for d in range(31) if date(2026, 12, d + 1).weekday() == 6]
    assert all(days[d] == 0 for d in sundays)
    assert min(days[d] for d in mondays) > max(days[d] for d in range(31) if d not in mondays)
    assert np.isclose(fc.flat_profile(3600), 1.0).all() and len(fc.flat_profile(3600)) == 168


def test_plan_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="share"):
        fc.monthly_volume(100, 3, 5)
    with pytest.raises(ValueError, match="customers"):
        fc.monthly_volume(-1, 3, 0.05)
    with pytest.raises(ValueError, match="contacts"):
        fc.monthly_volume(10, float("nan"), 0.05)
    with pytest.raises(ValueError, match="2026-13"):
        fc.plan(1, 1, 1, "2026-13")
    with pytest.raises(ValueError, match="weights"):
        fc.plan(1, 1, 1, "2026-12", profile=np.ones(5))
    with pytest.raises(ValueError, match="some weight > 0"):
        fc.plan(1, 1, 1, "2026-12", profile=np.zeros(336))
    with pytest.raises(ValueError, match="7"):
        fc.business_hours_profile(7)
    with pytest.raises(ValueError, match="close before"):
        fc.business_hours_profile(HALF_HOUR, "18:00-08:00")
    with pytest.raises(ValueError, match="25:00"):
        fc.business_hours_profile(HALF_HOUR, "08:00-25:00")
    with pytest.raises(ValueError, match="weekdays"):
        fc.business_hours_profile(HALF_HOUR, weekdays="monday")
    with pytest.raises(ValueError, match="aht"):
        fc.plan(1, 1, 1, "2026-12", aht=-5)


def test_cli_planning_formula(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.csv"
    args = ["--customers", "10000", "--contacts", "3", "--share", "0.05", "--month", "2026-12"]
    code, text, err = run_cli(*args, "--aht", "300", "--out", str(out), capsys=capsys)
    assert (code, err) == (0, "")
    assert "= 1500 calls" in text
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["interval", "calls", "aht"]
    assert len(rows) == 1 + 31 * 48
    # Three decimals a row.
    assert sum(float(r[1]) for r in rows[1:]) == pytest.approx(1500, abs=0.5)
    assert rows[1 + 16] == ["2026-12-01T08:00:00+00:00", "3.261", "300.0"]
    every_hour = ["--weekdays", "mon-sun", "--hours", "00:00-24:00", "--json"]
    code, text, err = run_cli(*args, *every_hour, capsys=capsys)
    assert code == 0 and "no handle time known for 1488 of 1488 intervals" in err
    s = json.loads(text)
    assert s["params"]["monthly_volume"] == pytest.approx(1500)
    assert s["peak"]["calls"] == pytest.approx(1500 / (31 * 48))


# Fitting a history


@pytest.fixture(scope="module")
def fitted() -> tuple[fc.History, fc.Forecast]:
    starts, counts = generated()
    h = fc.from_counts(starts, counts, interval=HALF_HOUR)
    return h, fc.fit(h, days=7, holdout_days=14)


def test_fit_recovers_the_profile_and_trend(fitted: tuple[fc.History, fc.Forecast]) -> None:
    h, f = fitted
    assert (h.days, h.start) == (84, MONDAY.timestamp())
    truth = expected_calls(84).reshape(12, 336).mean(axis=0)
    truth /= truth.sum()
    learned = fc.learn_profile(h)
    open_ = truth > 0
    assert (learned[~open_] == 0).all()
    np.testing.assert_allclose(learned[open_], truth[open_], rtol=0.2)
    np.testing.assert_allclose(
        learned.reshape(7, 48).sum(axis=1), truth.reshape(7, 48).sum(axis=1), atol=0.005
    )
    true_trend = GROWTH * 20 * 6 / 7  # calls/day per day, averaged over the week
    assert f.trend_per_day == pytest.approx(true_trend, abs=0.35)


def test_fit_beats_seasonal_naive_on_the_holdout(fitted: tuple[fc.History, fc.Forecast]) -> None:
    _, f = fitted
    assert f.method == "holt-winters"
    assert set(f.params) == {"alpha", "beta", "gamma"}
    assert all(0 <= v <= 1 for v in f.params.values())
    assert f.holdout is not None and f.naive is not None
    assert f.holdout.n == f.naive.n == 14 * 48
    assert f.holdout.wape is not None and f.naive.wape is not None
    assert f.holdout.wape < 0.85 * f.naive.wape
    assert f.holdout.rmse < f.naive.rmse
    # The forecast week lands close to the true rate of the week after the history.
    truth = expected_calls(7, start_day=84)
    assert len(f.calls) == 7 * 48 and (f.calls >= 0).all()
    assert f.calls.sum() == pytest.approx(truth.sum(), rel=0.05)
    assert np.abs(f.calls - truth).sum() / truth.sum() < 0.12
    assert f.calls[truth == 0].max() < 1.0


def test_fit_is_deterministic(fitted: tuple[fc.History, fc.Forecast]) -> None:
    h, f = fitted
    again = fc.fit(h, days=7, holdout_days=14)
    assert again.params == f.params and again.holdout == f.holdout
    np.testing.assert_array_equal(again.calls, f.calls)


def test_fit_without_holdout_and_bad_arguments(fitted: tuple[fc.History, fc.Forecast]) -> None:
    h, _ = fitted
    f = fc.fit(h, days=1, holdout_days=0)
    assert f.holdout is None and f.naive is None and len(f.calls) == 48
    with pytest.raises(ValueError, match="days"):
        fc.fit(h, days=0)
    with pytest.raises(ValueError, match="holdout_days"):
        fc.fit(h, holdout_days=-1)
    with pytest.raises(ValueError, match=r"84 days.*80 held out"):
        fc.fit(h, holdout_days=80)


# Reading history CSVs, writing the forecast CSV


def test_cli_fits_a_counts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    starts, counts = generated()
    path = write_counts(tmp_path / "history.csv", starts, counts, offset=3600)
    out = tmp_path / "forecast.csv"
    code, text, err = run_cli(str(path), "--days", "2", "--out", str(out), capsys=capsys)
    assert (code, err) == (0, ""), err
    assert "holt-winters" in text and "seasonal naive" in text and "WAPE" in text
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["interval", "calls", "aht"]
    assert len(rows) == 1 + 2 * 48
    # Local time one hour east: the history ends at local midnight after its last row, the
    # forecast starts there, and the aht of each interval of the day comes from the history.
    last = datetime.fromtimestamp(starts[-1], timezone(timedelta(hours=1)))
    first_day = (last + timedelta(days=1)).date()
    assert rows[1][0] == f"{first_day.isoformat()}T00:00:00+01:00"
    # Local slot i is UTC slot i - 2, aht 200 + (i - 2); intervals of the day that never had
    # calls get the history's mean handle time.
    mean = fc.read_history(path).mean_aht
    assert mean is not None and 216 <= mean <= 235  # UTC slots 16..35 weighted by calls
    aht = [f"{198 + i}.0" if 18 <= i < 38 else f"{mean:.1f}" for i in range(48)]
    assert [r[2] for r in rows[1:49]] == aht
    code, text, _ = run_cli(str(path), "--days", "2", "--json", capsys=capsys)
    s = json.loads(text)
    assert s["holdout"]["wape"] < s["seasonal_naive"]["wape"]
    assert s["utc_offset"] == 3600 and s["intervals"] == 96


def test_call_records_bin_like_counts(tmp_path: Path) -> None:
    starts, counts = generated(22, seed=5)  # ends on a Monday, with calls
    rng = np.random.default_rng(9)
    times = np.repeat(starts, counts.astype(int)) + rng.uniform(0, HALF_HOUR, int(counts.sum()))
    path = tmp_path / "calls.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "handle_time"])
        for i, t in enumerate(times):
            # Epoch seconds and ISO timestamps both work; every third call has no handle time.
            stamp = f"{t:.3f}" if i % 2 else datetime.fromtimestamp(t, UTC).isoformat()
            w.writerow([stamp, "" if i % 3 == 0 else "100"])
    h = fc.read_history(path)
    assert h.interval == HALF_HOUR and h.utc_offset == 0
    np.testing.assert_array_equal(h.calls, counts)
    assert set(h.aht[OPEN]) == {100.0} and np.isnan(h.aht[:16]).all() and h.mean_aht == 100
    f = fc.fit(h, days=1, holdout_days=7)
    assert f.holdout is not None and f.holdout.n == 7 * 48


def test_counts_finer_than_the_interval_are_summed(tmp_path: Path) -> None:
    path = tmp_path / "quarters.csv"
    path.write_text(
        "interval,calls,aht\n"
        "2026-12-01T08:00:00,4,100\n"
        "2026-12-01T08:15:00,6,200\n"
        "2026-12-01T08:30:00,1,\n"
    )
    h = fc.read_history(path, interval=HALF_HOUR, utc_offset=-5 * 3600)
    assert h.utc_offset == -18_000 and len(h.calls) == 48
    assert (h.calls[16], h.calls[17], h.calls.sum()) == (10, 1, 11)
    assert h.aht[16] == pytest.approx(160) and np.isnan(h.aht[17])
    assert h.mean_aht == pytest.approx(160)
    # The forecast's aht: the interval of the day's own, else --aht, else the overall mean.
    assert fc._aht_for(h.aht, 0, 48, None, h.mean_aht)[17] == pytest.approx(160)
    assert fc._aht_for(h.aht, 0, 48, 300.0, h.mean_aht)[[16, 17]].tolist() == [160, 300]
    assert h.start == datetime(2026, 12, 1, 5, tzinfo=UTC).timestamp()
    assert fc.read_history(path).interval == 900
    with pytest.raises(ValueError, match="900 s apart, coarser than the interval of 600"):
        fc.read_history(path, interval=600)


def test_numeric_timestamps_are_epoch_seconds(tmp_path: Path) -> None:
    # 20261201 is seconds after 1970 (August 23rd), not the basic ISO date 2026-12-01.
    path = tmp_path / "epoch.csv"
    path.write_text("timestamp\n20261201\n20261201.5\n")
    h = fc.read_history(path)
    assert h.start == datetime(1970, 8, 23, tzinfo=UTC).timestamp()
    assert h.calls.sum() == 2 and h.calls[(20261201 % 86_400) // HALF_HOUR] == 2


def test_forecast_csv_round_trips(tmp_path: Path, fitted: tuple[fc.History, fc.Forecast]) -> None:
    _, f = fitted
    out = tmp_path / "f.csv"
    fc.write_forecast(f, out)
    back = fc.read_history(out)
    assert back.utc_offset == 0 and back.interval == HALF_HOUR
    # Written with three decimals; whole days, so the history is exactly the forecast.
    np.testing.assert_allclose(back.calls, f.calls, atol=5e-4)


BAD_CSVS = [
    ("", "the file is empty"),
    ("interval,calls\n2026-12-01T08:00:00Z,3\n\n2026-12-01T08:30:00Z,4\n", "line 3: empty row"),
    ("interval,calls\n2026-12-01T08:00:00Z,3\n , \n", "line 3: empty row"),
    ("interval,calls\n2026-12-01T08:00:00Z,3\n2026-12-32T08:30:00Z,4\n", "line 3: bad timestamp"),
    ("timestamp\nyesterday\n", "line 2: bad timestamp 'yesterday'"),
    ("timestamp\n-5\n", "line 2: timestamp '-5' is not in 0..1e12"),
    ("timestamp\n1969-12-31T00:00:00Z\n", "line 2: timestamp 1969"),
    ("interval,calls\n2026-12-01T08:00:00Z,-3\n", "line 2: calls must be a number >= 0, got '-3'"),
    ("interval,calls\n2026-12-01T08:00:00Z,many\n", "line 2: calls must be a number"),
    ("interval,calls\n2026-12-01T08:00:00Z,inf\n", "line 2: calls must be a number"),
    ("interval,calls,aht\n2026-12-01T08:00:00Z,3,-1\n", "line 2: aht must be a number"),
    ("timestamp,handle_time\n2026-12-01T08:00:00Z,x\n", "line 2: handle_time must be a number"),
    ("interval,calls,queue\n2026-12-01T08:00:00Z,3,a\n", "line 1: unknown column 'queue'"),
    ("timestamp,calls\n2026-12-01T08:00:00Z,3\n", "line 1: unknown column 'timestamp'"),
    ("when\n2026-12-01T08:00:00Z\n", "line 1: unknown column 'when'"),
    ("interval\n2026-12-01T08:00:00Z\n", "line 1: missing column 'calls'"),
    ("calls,calls\n1,2\n", "line 1: column 'calls' appears twice"),
    ("timestamp,handle_time\n2026-12-01T08:00:00Z,3\n2026-12-01T08:00:00Z\n", "line 3: 1 field"),
    ("timestamp\n", "no data rows"),
    ("timestamp\n0\n999999999999\n", "limit"),
    ("timestamp\n2026-12-01T08:00:00Z\n" + "9" * 200_000 + "\n", "line 3: field larger"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CSVS)
def test_bad_csv_is_a_value_error_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.csv: ") as e:
        fc.read_history(path)
    assert message in str(e.value)


@pytest.mark.parametrize(("text", "message"), BAD_CSVS[1:4] + BAD_CSVS[7:8] + BAD_CSVS[12:13])
def test_cli_reports_bad_csv_on_stderr(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    r = subprocess.run(
        [sys.executable, "-m", "acdcore", "forecast", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"acdcore forecast: {path}: ") and message in r.stderr


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(["2026-12-01T08:00:00Z", "1795996800", "3", "-1", "", "x"]),
                st.text(max_size=12),
            ),
            max_size=4,
        ),
        max_size=6,
    ),
    st.sampled_from(["interval,calls,aht", "timestamp,handle_time", "timestamp", "calls"]),
)
def test_any_csv_text_is_a_history_or_a_value_error(rows: list[list[str]], header: str) -> None:
    lines = [header, *(",".join(r) for r in rows)]
    try:
        h = fc.parse_history(lines, interval=HALF_HOUR)
    except ValueError as e:
        assert str(e).startswith("history: ")
    else:
        assert (h.calls >= 0).all() and len(h.calls) % 48 == 0


def test_cli_rejects_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys=capsys)
    assert code == 1 and "--customers, --contacts, --share and --month" in err
    code, _, err = run_cli(str(tmp_path / "missing.csv"), capsys=capsys)
    assert code == 2 and "missing.csv" in err
    code, _, err = run_cli("x.csv", "--share", "0.1", capsys=capsys)
    assert code == 1 and "not both" in err
    plan = ["--customers", "1", "--contacts", "1", "--share", "0.1", "--month", "2026-12"]
    code, _, err = run_cli(*plan, "--interval", "7", capsys=capsys)
    assert code == 1 and "7" in err
    code, _, err = run_cli(*plan, "--out", str(tmp_path / "no" / "dir.csv"), capsys=capsys)
    assert code == 2 and "dir.csv" in err
    with pytest.raises(SystemExit):
        run_cli(*plan, "--utc-offset", "1h", capsys=capsys)
    assert "bad UTC offset '1h'" in capsys.readouterr().err


def test_cli_output_is_deterministic(tmp_path: Path) -> None:
    starts, counts = generated(35)
    path = write_counts(tmp_path / "h.csv", starts, counts)
    cmd = [sys.executable, "-m", "acdcore", "forecast", str(path), "--days", "1", "--out", "-"]
    runs: list[Any] = [subprocess.run(cmd, capture_output=True, timeout=60) for _ in range(2)]
    assert runs[0].returncode == 0 and runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith(b"interval,calls,aht\n")
