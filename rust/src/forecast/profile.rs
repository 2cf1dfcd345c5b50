//! The shape of a week: what share of a week's calls falls in each interval, by day of week and
//! interval of day. It spreads a planned volume over a period and summarises a history.

use super::Grid;
use crate::error::{Error, Result};

/// Weights for the intervals of a week, Monday 00:00 local time first, summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    weights: Vec<f64>,
}

impl Profile {
    /// Any non-negative weights, one per interval of the week, not all zero; scaled to sum 1.
    pub fn new(grid: Grid, weights: Vec<f64>) -> Result<Self> {
        if weights.len() != grid.per_week() {
            return Err(Error::invalid(format!(
                "a profile of {} s intervals needs {} weights (7 days x {}), got {}",
                grid.interval(),
                grid.per_week(),
                grid.per_day(),
                weights.len()
            )));
        }
        if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(Error::invalid(format!(
                "profile weight {i} must be a finite number >= 0, got {}",
                weights[i]
            )));
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(Error::invalid("a profile needs some weight > 0"));
        }
        Ok(Profile {
            weights: weights.into_iter().map(|w| w / total).collect(),
        })
    }

    /// The mean calls of each interval of the week over the history (interval `first`
    /// onwards), as shares of the mean week.
    pub fn learn(grid: Grid, first: i64, calls: &[f64]) -> Result<Self> {
        super::check_calls(calls)?;
        let m = grid.per_week();
        let mut sum = vec![0.0; m];
        let mut seen = vec![0u32; m];
        for (i, c) in calls.iter().enumerate() {
            let s = grid.week_slot(first + i as i64);
            sum[s] += c;
            seen[s] += 1;
        }
        let mean = sum
            .iter()
            .zip(&seen)
            .map(|(s, n)| if *n == 0 { 0.0 } else { s / f64::from(*n) })
            .collect();
        Profile::new(grid, mean).map_err(|_| Error::invalid("history has no calls"))
    }

    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Spreads `total` calls over the `n` intervals from `first`, in proportion to their
    /// weights, so the parts add up to `total`.
    pub fn spread(&self, grid: Grid, total: f64, first: i64, n: usize) -> Result<Vec<f64>> {
        if !(total.is_finite() && total >= 0.0) {
            return Err(Error::invalid(format!(
                "volume must be a finite number >= 0, got {total}"
            )));
        }
        if self.weights.len() != grid.per_week() {
            return Err(Error::invalid(format!(
                "the profile has {} weights; {} s intervals need {}",
                self.weights.len(),
                grid.interval(),
                grid.per_week()
            )));
        }
        let w: Vec<f64> = (0..n)
            .map(|i| self.weights[grid.week_slot(first + i as i64)])
            .collect();
        let sum: f64 = w.iter().sum();
        if sum <= 0.0 {
            return Err(Error::invalid(
                "the profile gives no weight to any interval of the period",
            ));
        }
        Ok(w.into_iter().map(|x| total * x / sum).collect())
    }
}

/// Mean handle time for each interval of the day, where the history has handle times.
pub fn aht_by_slot_of_day(
    grid: Grid,
    first: i64,
    handled: &[f64],
    handle_sum: &[f64],
) -> Vec<Option<f64>> {
    let per_day = grid.per_day();
    let mut n = vec![0.0; per_day];
    let mut sum = vec![0.0; per_day];
    for (i, (h, s)) in handled.iter().zip(handle_sum).enumerate() {
        let d = grid.day_slot(first + i as i64);
        n[d] += h;
        sum[d] += s;
    }
    n.iter()
        .zip(&sum)
        .map(|(n, s)| (*n > 0.0).then(|| s / n))
        .collect()
}

/// Mean handle time over the whole history, `None` without handle times: the fallback for
/// intervals of the day that have none of their own.
pub fn mean_aht(handled: &[f64], handle_sum: &[f64]) -> Option<f64> {
    let n: f64 = handled.iter().sum();
    (n > 0.0).then(|| handle_sum.iter().sum::<f64>() / n)
}

/// The slope of daily totals against the day, by least squares with one intercept per day of
/// the week, so a history that starts on a Monday and ends on a Sunday shows no false trend.
/// Zero when no day of the week occurs twice.
pub fn daily_trend(grid: Grid, first: i64, calls: &[f64]) -> f64 {
    let per_day = grid.per_day();
    let totals: Vec<f64> = calls.chunks(per_day).map(|d| d.iter().sum()).collect();
    let weekday = |d: usize| grid.week_slot(first + (d * per_day) as i64) / per_day;
    let mut n = [0.0; 7];
    let mut sx = [0.0; 7];
    let mut sy = [0.0; 7];
    for (d, y) in totals.iter().enumerate() {
        let g = weekday(d);
        n[g] += 1.0;
        sx[g] += d as f64;
        sy[g] += y;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for (d, y) in totals.iter().enumerate() {
        let g = weekday(d);
        let dx = d as f64 - sx[g] / n[g];
        num += dx * (y - sy[g] / n[g]);
        den += dx * dx;
    }
    if den > 0.0 { num / den } else { 0.0 }
}
