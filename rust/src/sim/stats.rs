//! What a simulation measures. Call outcomes count in the interval the call arrived in (how
//! contact centers report service level); queue length and agent time count in the interval
//! they happen in. Totals leave out the warm-up.

use serde::Serialize;

/// Answered waits are binned by the second up to this many seconds (the last bin holds the rest).
pub const WAIT_BINS: usize = 3601;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Interval {
    /// Calls that arrived (retrials included, self-service included).
    pub arrivals: u64,
    /// Callers the IVR served alone.
    pub self_service: u64,
    pub retrials: u64,
    /// Calls answered live (callbacks apart).
    pub answered: u64,
    pub answered_within: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    /// Refused by a full queue, or sent to the host (escalation fallback).
    pub blocked: u64,
    pub fallback: u64,
    /// Callbacks (virtual hold) that reached an agent; they count in no other outcome.
    pub callbacks: u64,
    /// Calls that waited at all (not answered at once).
    pub waited: u64,
    /// Seconds waited by answered calls.
    pub answer_wait: f64,
    /// Seconds waited by every call that left the queue (answered, abandoned, ..., callbacks).
    pub wait: f64,
    /// Integral of the number of waiting calls over this interval's time.
    pub queue_area: f64,
    pub queue_max: u64,
    /// Agent-seconds talking or in wrap-up, and logged in and not paused, per group.
    pub busy: Vec<f64>,
    pub staffed: Vec<f64>,
}

impl Interval {
    pub fn new(groups: usize) -> Self {
        Interval {
            busy: vec![0.0; groups],
            staffed: vec![0.0; groups],
            ..Interval::default()
        }
    }

    /// Adds `other`'s call counts (not its seconds, queue or agent figures).
    fn add_counts(&mut self, other: &Interval) {
        self.arrivals += other.arrivals;
        self.self_service += other.self_service;
        self.retrials += other.retrials;
        self.answered += other.answered;
        self.answered_within += other.answered_within;
        self.abandoned += other.abandoned;
        self.timed_out += other.timed_out;
        self.blocked += other.blocked;
        self.fallback += other.fallback;
        self.callbacks += other.callbacks;
        self.waited += other.waited;
    }

    /// Calls on the line that got an outcome: the base of service level and `p_wait`.
    pub fn settled(&self) -> u64 {
        self.answered + self.abandoned + self.timed_out + self.blocked + self.fallback
    }
}

/// The figures of one run, as the CLI prints them.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub calls: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub service_level: f64,
    pub asa: f64,
    pub abandon_rate: f64,
    pub occupancy: f64,
    pub p_wait: f64,
    /// Time-average number of calls waiting.
    pub queue_mean: f64,
    /// Mean wait of every call that left the queue (callbacks too); with `queue_mean` and
    /// `arrival_rate` it checks Little's law L = lambda W.
    pub wait_mean: f64,
    /// Calls per second leaving the queue (settled or called back) over the measured time.
    pub arrival_rate: f64,
    /// Calls still waiting when the run ended (no agent could ever take them).
    pub unserved: u64,
    pub measured_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub interval: f64,
    pub intervals: Vec<Interval>,
    /// Outcomes by the queue calls arrived at, after warm-up.
    pub queues: Vec<(String, Interval)>,
    pub groups: Vec<String>,
    /// Answered calls by whole seconds waited.
    pub wait_histogram: Vec<u64>,
    pub totals: Totals,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl RunResult {
    pub(crate) fn new(
        interval: f64,
        intervals: Vec<Interval>,
        queues: Vec<(String, Interval)>,
        groups: Vec<String>,
        wait_histogram: Vec<u64>,
        m: &Measured,
    ) -> Self {
        // Every measured call counts in the queue it arrived at, so the totals' counts are the
        // queues' sums (integers: exact); the seconds were summed call by call (`Measured`),
        // in the order the calls left, as before this was folded.
        let mut sum = Interval::default();
        for (_, q) in &queues {
            sum.add_counts(q);
        }
        sum.wait = m.wait;
        sum.answer_wait = m.answer_wait;
        let settled = sum.settled() as f64;
        let left = settled + sum.callbacks as f64;
        let totals = Totals {
            calls: sum.arrivals,
            answered: sum.answered,
            abandoned: sum.abandoned,
            service_level: ratio(sum.answered_within as f64, settled),
            asa: ratio(sum.answer_wait, sum.answered as f64),
            abandon_rate: ratio(sum.abandoned as f64, settled),
            occupancy: ratio(m.busy, m.staffed),
            p_wait: ratio(sum.waited as f64, settled),
            queue_mean: ratio(m.queue_area, m.seconds),
            wait_mean: ratio(sum.wait, left),
            arrival_rate: ratio(left, m.seconds),
            unserved: m.unserved,
            measured_seconds: m.seconds,
        };
        RunResult {
            interval,
            intervals,
            queues,
            groups,
            wait_histogram,
            totals,
        }
    }
}

impl RunResult {
    /// Per-interval figures as named columns (one value per interval), for numpy and reports.
    /// Ratios of an interval with nothing to divide by are NaN.
    pub fn columns(&self) -> Vec<(&'static str, Vec<f64>)> {
        let col = |f: &dyn Fn(usize, &Interval) -> f64| -> Vec<f64> {
            self.intervals
                .iter()
                .enumerate()
                .map(|(k, iv)| f(k, iv))
                .collect()
        };
        let nan_ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        let width = self.interval;
        vec![
            ("start", col(&|k, _| k as f64 * width)),
            ("arrivals", col(&|_, iv| iv.arrivals as f64)),
            ("answered", col(&|_, iv| iv.answered as f64)),
            ("abandoned", col(&|_, iv| iv.abandoned as f64)),
            ("self_service", col(&|_, iv| iv.self_service as f64)),
            ("retrials", col(&|_, iv| iv.retrials as f64)),
            ("callbacks", col(&|_, iv| iv.callbacks as f64)),
            ("timed_out", col(&|_, iv| iv.timed_out as f64)),
            ("blocked", col(&|_, iv| iv.blocked as f64)),
            ("fallback", col(&|_, iv| iv.fallback as f64)),
            (
                "service_level",
                col(&|_, iv| nan_ratio(iv.answered_within as f64, iv.settled() as f64)),
            ),
            (
                "asa",
                col(&|_, iv| nan_ratio(iv.answer_wait, iv.answered as f64)),
            ),
            (
                "abandon_rate",
                col(&|_, iv| nan_ratio(iv.abandoned as f64, iv.settled() as f64)),
            ),
            (
                "p_wait",
                col(&|_, iv| nan_ratio(iv.waited as f64, iv.settled() as f64)),
            ),
            (
                "occupancy",
                col(&|_, iv| nan_ratio(iv.busy.iter().sum(), iv.staffed.iter().sum())),
            ),
            ("queue_mean", col(&|_, iv| iv.queue_area / width)),
            ("queue_max", col(&|_, iv| iv.queue_max as f64)),
            (
                "staffed_agents",
                col(&|_, iv| iv.staffed.iter().sum::<f64>() / width),
            ),
        ]
    }

    /// Occupancy per agent group and interval (rows: groups), NaN where a group was not staffed.
    pub fn group_occupancy(&self) -> Vec<Vec<f64>> {
        (0..self.groups.len())
            .map(|g| {
                self.intervals
                    .iter()
                    .map(|iv| {
                        if iv.staffed[g] > 0.0 {
                            iv.busy[g] / iv.staffed[g]
                        } else {
                            f64::NAN
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// Sums after warm-up, kept beside the per-interval figures. The call counts after warm-up are
/// not here: they are the per-queue figures' sums (a call leaving the queue adds to two sets of
/// figures, not three).
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    /// Seconds waited by every call that left the queue, and by answered calls (callbacks apart).
    pub wait: f64,
    pub answer_wait: f64,
    pub queue_area: f64,
    pub busy: f64,
    pub staffed: f64,
    pub seconds: f64,
    pub unserved: u64,
}

/// Mean and half-width of a 95% confidence interval (Student t) over replications.
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t975(n - 1) * (var / n as f64).sqrt())
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: exact table values to 30,
/// then the Cornish-Fisher expansion around the normal quantile (error below 1e-4 there).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if (1..=30).contains(&df) {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_963_985;
    let v = df.max(1) as f64;
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_join_the_table_smoothly() {
        assert!((t975(30) - 2.042).abs() < 1e-9);
        assert!((t975(31) - 2.0395).abs() < 1e-3);
        assert!((t975(1000) - 1.9623).abs() < 1e-3);
    }

    #[test]
    fn confidence_interval_of_known_values() {
        let (m, h) = mean_ci(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sd = 1.29099, se = 0.645497, t(3) = 3.182
        assert!((h - 3.182 * 0.645_497).abs() < 1e-5, "{h}");
        assert!(mean_ci(&[5.0]).1.is_nan());
    }
}
