//! Holt-Winters smoothing with an additive trend and a multiplicative season of one week of
//! intervals (Holt 1957, Winters 1960; component form as in Hyndman & Athanasopoulos,
//! "Forecasting: Principles and Practice", 3rd ed., section 8.3). Level and trend follow slow
//! changes in volume; the season keeps the day-of-week x interval-of-day shape as factors, so
//! growth lands where the calls are and closed intervals stay at zero (an additive season
//! would spread the trend over the night too).
//!
//! With `y` the calls of interval `t`, `l` the level, `b` the trend per interval and `s` the
//! seasonal factor of the same interval a week (`m` intervals) before:
//!
//! ```text
//! forecast  y(t+h) = (l(t) + h b(t)) s(t+h-m)
//! level     l(t)   = alpha y(t) / s(t-m) + (1 - alpha) (l(t-1) + b(t-1))
//! trend     b(t)   = beta (l(t) - l(t-1)) + (1 - beta) b(t-1)
//! season    s(t)   = gamma y(t) / (l(t-1) + b(t-1)) + (1 - gamma) s(t-m)
//! ```
//!
//! An interval whose factor is zero (closed) says nothing about the level, so the level just
//! carries on there; likewise the season is not updated while the level is zero.
//!
//! Parameters are chosen to minimise the one-step-ahead squared error over the history by a
//! bounded grid and then a pattern search, within 0 <= alpha, beta <= 1, 0 <= gamma <= 1 - alpha
//! (the usual restriction, Hyndman et al. 2008, "Forecasting with Exponential Smoothing").
//! Everything is deterministic.

/// Smoothing parameters: level (`alpha`), trend (`beta`), season (`gamma`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
}

/// The smoothed state after the last interval of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub level: f64,
    /// Change of level per interval.
    pub trend: f64,
    /// `season[t % m]` is the seasonal factor last updated at interval `t`.
    pub season: Vec<f64>,
    /// Intervals smoothed.
    pub n: usize,
    /// Sum of squared one-step-ahead errors.
    pub sse: f64,
}

impl State {
    /// Forecasts for the `h` intervals after the history.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        (1..=h)
            .map(|i| (self.level + i as f64 * self.trend) * factor(&self.season, self.n + i - 1))
            .collect()
    }
}

/// Below this a factor or a level counts as zero (nothing to divide by).
const TINY: f64 = 1e-9;

/// The seasonal factor for interval `t`; 1 without a season.
fn factor(season: &[f64], t: usize) -> f64 {
    if season.is_empty() {
        1.0
    } else {
        season[t % season.len()]
    }
}

/// Initial state from the first (up to four) weeks: the trend is the least-squares slope of
/// their weekly means, the level the first week's mean, the season each interval's mean ratio
/// to its week's mean. Histories shorter than two seasons get no trend; shorter than one, a
/// flat season.
fn initial(y: &[f64], m: usize) -> (f64, f64, Vec<f64>) {
    let weeks = y.len().checked_div(m).unwrap_or(0);
    if weeks == 0 {
        let mean = if y.is_empty() {
            0.0
        } else {
            y.iter().sum::<f64>() / y.len() as f64
        };
        return (mean, 0.0, vec![1.0; m]);
    }
    let mean_of = |k: usize| y[k * m..(k + 1) * m].iter().sum::<f64>() / m as f64;
    let used = weeks.min(4);
    let centre = (used as f64 - 1.0) / 2.0;
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..used {
        num += (k as f64 - centre) * mean_of(k);
        den += (k as f64 - centre).powi(2);
    }
    let trend = if den > 0.0 { num / den / m as f64 } else { 0.0 };
    let busy: Vec<usize> = (0..used).filter(|k| mean_of(*k) > TINY).collect();
    let mut season = vec![if busy.is_empty() { 1.0 } else { 0.0 }; m];
    for &k in &busy {
        let mean = mean_of(k);
        for (i, s) in season.iter_mut().enumerate() {
            *s += y[k * m + i] / mean / busy.len() as f64;
        }
    }
    // The level just before the first interval, so the first week's middle sits at its mean.
    let level = mean_of(0) - trend * (m as f64 + 1.0) / 2.0;
    (level, trend, season)
}

/// Runs the recursions over `y` with season length `m`.
pub fn smooth(y: &[f64], m: usize, p: Params) -> State {
    let (mut level, mut trend, mut season) = initial(y, m);
    let mut sse = 0.0;
    for (t, &yt) in y.iter().enumerate() {
        let s = factor(&season, t);
        let base = level + trend;
        let e = yt - base * s;
        sse += e * e;
        let l0 = level;
        level = if s > TINY {
            p.alpha * yt / s + (1.0 - p.alpha) * base
        } else {
            base
        };
        trend = p.beta * (level - l0) + (1.0 - p.beta) * trend;
        if base > TINY && !season.is_empty() {
            season[t % m] = p.gamma * yt / base + (1.0 - p.gamma) * s;
        }
    }
    State {
        level,
        trend,
        season,
        n: y.len(),
        sse,
    }
}

/// One-step squared error of `p`; parameters outside the bounds, or errors that overflow,
/// cost infinity.
fn cost(y: &[f64], m: usize, p: Params) -> f64 {
    let inside = |v: f64| (0.0..=1.0).contains(&v);
    if !(inside(p.alpha) && inside(p.beta) && inside(p.gamma)) || p.gamma > 1.0 - p.alpha + 1e-12 {
        return f64::INFINITY;
    }
    let sse = smooth(y, m, p).sse;
    if sse.is_finite() { sse } else { f64::INFINITY }
}

const MAX_MOVES: usize = 500;
const ALPHAS: [f64; 8] = [0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9];
const BETAS: [f64; 5] = [0.0, 0.001, 0.01, 0.05, 0.2];
const GAMMAS: [f64; 8] = [0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9];

/// Parameters minimising the one-step squared error on `y`: the best point of a grid, then a
/// pattern search around it, halving the steps until they are below 0.001.
pub fn fit_params(y: &[f64], m: usize) -> Params {
    let mut best = Params {
        alpha: 0.2,
        beta: 0.0,
        gamma: 0.1,
    };
    let mut best_cost = cost(y, m, best);
    for &alpha in &ALPHAS {
        for &beta in &BETAS {
            for &gamma in &GAMMAS {
                let p = Params { alpha, beta, gamma };
                let c = cost(y, m, p);
                if c < best_cost {
                    best = p;
                    best_cost = c;
                }
            }
        }
    }
    let mut step = [0.05, 0.005, 0.05];
    // Every move lowers the cost; the cap only bounds the work on a pathological surface.
    for _ in 0..MAX_MOVES {
        if step.iter().all(|s| *s < 0.001) {
            break;
        }
        let mut moved = false;
        for (axis, &size) in step.iter().enumerate() {
            for sign in [1.0, -1.0] {
                let mut p = best;
                let v = match axis {
                    0 => &mut p.alpha,
                    1 => &mut p.beta,
                    _ => &mut p.gamma,
                };
                *v = (*v + sign * size).clamp(0.0, 1.0);
                let c = cost(y, m, p);
                if c < best_cost {
                    best = p;
                    best_cost = c;
                    moved = true;
                }
            }
        }
        if !moved {
            for s in &mut step {
                *s /= 2.0;
            }
        }
    }
    best
}
