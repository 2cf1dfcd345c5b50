//! Contact volume forecasting: history binned into intervals of local time, a day-of-week x
//! interval-of-day profile, a trend, and additive Holt-Winters smoothing with a weekly season
//! fitted on the history and scored on a holdout (docs/forecasting.md).
//!
//! Time is an input: timestamps are seconds since the epoch (UTC) and the caller gives the
//! offset of local time, which decides days and intervals of the day.

mod bins;
mod holdout;
mod profile;
mod smoothing;

pub use bins::{Binned, bin};
pub use holdout::{Errors, seasonal_naive};
pub use profile::{Profile, aht_by_slot_of_day, daily_trend, mean_aht};
pub use smoothing::{Params, fit_params, smooth};

use crate::error::{Error, Result};

/// 1970-01-01, day 0 of the epoch, was a Thursday: day 3 of a week starting on Monday.
const EPOCH_WEEKDAY: i64 = 3;

/// How history and forecasts are cut into intervals: their length and the offset of local time
/// from UTC. Interval `k` starts at local time `k * interval`, i.e. UTC `k * interval - offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    interval: u32,
    offset: i32,
}

impl Grid {
    /// `interval` seconds must divide a day, so every day has the same intervals; `offset` is
    /// local time minus UTC in seconds, within +-18 hours.
    pub fn new(interval: u32, offset: i32) -> Result<Self> {
        if !(60..=86_400).contains(&interval) || 86_400 % interval != 0 {
            return Err(Error::invalid(format!(
                "interval must be 60..=86400 seconds and divide a day (86400), got {interval}"
            )));
        }
        if offset.abs() > 18 * 3600 {
            return Err(Error::invalid(format!(
                "UTC offset must be within +-18 hours (+-64800 s), got {offset}"
            )));
        }
        Ok(Grid { interval, offset })
    }

    pub fn interval(&self) -> u32 {
        self.interval
    }

    pub fn offset(&self) -> i32 {
        self.offset
    }

    pub fn per_day(&self) -> usize {
        (86_400 / self.interval) as usize
    }

    pub fn per_week(&self) -> usize {
        7 * self.per_day()
    }

    /// The interval holding UTC time `t` (finite).
    pub fn bin_of(&self, t: f64) -> i64 {
        ((t + f64::from(self.offset)) / f64::from(self.interval)).floor() as i64
    }

    /// UTC start of interval `k`.
    pub fn start_of(&self, k: i64) -> f64 {
        k as f64 * f64::from(self.interval) - f64::from(self.offset)
    }

    /// Position of interval `k` in its week, Monday 00:00 local time being 0.
    pub fn week_slot(&self, k: i64) -> usize {
        let per_day = self.per_day() as i64;
        (k + EPOCH_WEEKDAY * per_day).rem_euclid(7 * per_day) as usize
    }

    /// Position of interval `k` in its day, midnight local time being 0.
    pub fn day_slot(&self, k: i64) -> usize {
        k.rem_euclid(self.per_day() as i64) as usize
    }
}

/// What [`fit`] learned from a history and what it forecasts.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Smoothing parameters fitted on the whole history (they made `forecast`).
    pub params: Params,
    /// Errors of the same method fitted without the held-out days, forecasting them; `None`
    /// when no days were held out.
    pub holdout: Option<Errors>,
    /// Errors of the seasonal-naive forecast (each interval = the same interval a week
    /// before, the last week repeated) on the same held-out days, for comparison.
    pub naive: Option<Errors>,
    /// Parameters fitted on the history before the held-out days.
    pub holdout_params: Option<Params>,
    /// Change of the daily total per day (calls/day per day), day-of-week effects removed.
    pub trend_per_day: f64,
    /// The day-of-week x interval-of-day profile of the history.
    pub profile: Profile,
    /// Expected calls in each of the `horizon` intervals after the history, never negative.
    pub forecast: Vec<f64>,
}

/// Smallest fitting period: the season is initialised from two whole weeks.
const MIN_FIT_WEEKS: usize = 2;

/// Fits additive Holt-Winters to `calls` (interval `first` onwards, whole local days) and
/// forecasts `horizon` intervals; holds out the last `holdout_days` days to score it first.
pub fn fit(
    grid: Grid,
    first: i64,
    calls: &[f64],
    horizon: usize,
    holdout_days: usize,
) -> Result<Fit> {
    let per_day = grid.per_day();
    let m = grid.per_week();
    check_calls(calls)?;
    if grid.day_slot(first) != 0 || !calls.len().is_multiple_of(per_day) {
        return Err(Error::invalid(
            "history must cover whole local days (start at midnight, a multiple of the intervals in a day)",
        ));
    }
    let days = calls.len() / per_day;
    let need = MIN_FIT_WEEKS * 7 + holdout_days;
    if days < need {
        return Err(Error::invalid(format!(
            "history covers {days} days; fitting needs at least {} days before the {holdout_days} held out",
            MIN_FIT_WEEKS * 7
        )));
    }
    if horizon > bins::MAX_BINS {
        return Err(Error::invalid(format!(
            "horizon of {horizon} intervals is more than the limit of {}",
            bins::MAX_BINS
        )));
    }
    let (holdout, naive, holdout_params) = if holdout_days == 0 {
        (None, None, None)
    } else {
        let cut = calls.len() - holdout_days * per_day;
        let (train, test) = calls.split_at(cut);
        let p = fit_params(train, m);
        let predicted = clipped(smooth(train, m, p).forecast(test.len()));
        let naive = seasonal_naive(train, m, test.len());
        (
            Some(Errors::of(test, &predicted)),
            Some(Errors::of(test, &naive)),
            Some(p),
        )
    };
    let params = fit_params(calls, m);
    let forecast = clipped(smooth(calls, m, params).forecast(horizon));
    Ok(Fit {
        params,
        holdout,
        naive,
        holdout_params,
        trend_per_day: daily_trend(grid, first, calls),
        profile: Profile::learn(grid, first, calls)?,
        forecast,
    })
}

/// A negative expected volume is no volume.
fn clipped(mut v: Vec<f64>) -> Vec<f64> {
    for x in &mut v {
        *x = x.max(0.0);
    }
    v
}

/// Call counts are finite and never negative.
fn check_calls(calls: &[f64]) -> Result<()> {
    match calls.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        Some(i) => Err(Error::invalid(format!(
            "calls[{i}] must be a finite number >= 0, got {}",
            calls[i]
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
