//! Forecast errors on held-out days, and the seasonal-naive benchmark a method must beat.

/// Errors of a forecast against what happened, over `n` intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Errors {
    pub n: usize,
    /// Mean absolute percentage error over the intervals that had calls (a percentage of zero
    /// is undefined); `None` if none had.
    pub mape: Option<f64>,
    /// Weighted absolute percentage error: total absolute error / total calls, in percent.
    /// The figure to quote for staffing: it is not inflated by quiet intervals.
    pub wape: Option<f64>,
    /// Root mean squared error, in calls per interval.
    pub rmse: f64,
}

impl Errors {
    /// `actual` and `forecast` have the same length (the caller's invariant).
    pub fn of(actual: &[f64], forecast: &[f64]) -> Errors {
        let n = actual.len().min(forecast.len());
        let (mut abs, mut sq, mut total, mut pct, mut busy) = (0.0, 0.0, 0.0, 0.0, 0usize);
        for (a, f) in actual.iter().zip(forecast) {
            let e = (a - f).abs();
            abs += e;
            sq += e * e;
            total += a;
            if *a > 0.0 {
                pct += e / a;
                busy += 1;
            }
        }
        Errors {
            n,
            mape: (busy > 0).then(|| 100.0 * pct / busy as f64),
            wape: (total > 0.0).then(|| 100.0 * abs / total),
            rmse: if n == 0 { 0.0 } else { (sq / n as f64).sqrt() },
        }
    }
}

/// Each of the `h` intervals after `history` gets the value of the same interval in the last
/// season (`m` intervals) of the history.
pub fn seasonal_naive(history: &[f64], m: usize, h: usize) -> Vec<f64> {
    if m == 0 || history.len() < m {
        return vec![0.0; h];
    }
    let last = &history[history.len() - m..];
    (0..h).map(|i| last[i % m]).collect()
}
