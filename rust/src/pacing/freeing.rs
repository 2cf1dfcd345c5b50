//! How likely a busy agent is to be free within the next `h` seconds, given how long ago its
//! current call connected. The agent is busy for the talk time `T` plus the wrap-up `w`, so
//! with age `a` (and the agent still busy, `T + w > a`):
//!
//! `P(free within h | age a) = 1 - S(a + h - w) / S(a - w)`, `S` the survival of `T`
//! (`S(x) = 1` for `x < 0`).
//!
//! Long calls become less likely to end soon under a lognormal (the survival flattens) and
//! equally likely under an exponential (it forgets its age): the pacer sees the difference.

use crate::error::Result;
use crate::sim::Dist;
use crate::sim::dist::lognormal_mu_sigma;

/// The talk-time distribution and the wrap-up, ready for survival queries.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    talk: Talk,
    wrapup: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Talk {
    Exponential {
        mean: f64,
    },
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    /// Sorted observed values.
    Empirical(Vec<f64>),
    Constant(f64),
}

impl Service {
    pub fn new(talk: &Dist, wrapup: f64) -> Result<Self> {
        talk.check("handle")?;
        let wrapup = crate::time::check_seconds("wrapup", wrapup)?;
        let talk = match talk {
            Dist::Exponential { mean } => Talk::Exponential { mean: *mean },
            Dist::Lognormal { mean, sd } => {
                let (mu, sigma) = lognormal_mu_sigma(*mean, *sd);
                Talk::Lognormal { mu, sigma }
            }
            Dist::Empirical { values } => {
                let mut v = values.clone();
                v.sort_by(f64::total_cmp);
                Talk::Empirical(v)
            }
            Dist::Constant { value } => Talk::Constant(*value),
        };
        Ok(Service { talk, wrapup })
    }

    /// Mean talk plus wrap-up: the seconds one connect keeps an agent.
    pub fn mean(&self) -> f64 {
        let talk = match &self.talk {
            Talk::Exponential { mean } => *mean,
            Talk::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Talk::Empirical(v) => v.iter().sum::<f64>() / v.len() as f64,
            Talk::Constant(c) => *c,
        };
        talk + self.wrapup
    }

    /// P(talk time > x).
    pub(super) fn survival(&self, x: f64) -> f64 {
        if x < 0.0 {
            return 1.0;
        }
        match &self.talk {
            Talk::Exponential { mean } => (-x / mean).exp(),
            Talk::Lognormal { mu, sigma } => {
                if x == 0.0 {
                    return 1.0;
                }
                super::normal::upper_tail((x.ln() - mu) / sigma)
            }
            Talk::Empirical(v) => {
                let above = v.len() - v.partition_point(|&t| t <= x);
                above as f64 / v.len() as f64
            }
            Talk::Constant(c) => f64::from(u8::from(*c > x)),
        }
    }

    /// The expected number of `ages` (busy agents) free within `h`: the sum of
    /// `p_free_within`. An exponential talk time forgets its age once past the wrap-up, so
    /// there each agent weighs the same `1 - exp(-h / mean)`, one `exp` per campaign instead
    /// of two per busy agent (the pacer's largest cost before).
    pub fn expected_free(&self, ages: &[f64], h: f64) -> f64 {
        let Talk::Exponential { mean } = self.talk else {
            return ages.iter().map(|&a| self.p_free_within(a, h)).sum();
        };
        let settled = 1.0 - (-h / mean).exp();
        ages.iter()
            .map(|&a| {
                if a >= self.wrapup {
                    settled
                } else {
                    self.p_free_within(a, h)
                }
            })
            .sum()
    }

    /// P(free within `h` seconds | busy for `age` seconds).
    pub fn p_free_within(&self, age: f64, h: f64) -> f64 {
        let now = self.survival(age - self.wrapup);
        if now <= 1e-300 {
            // Past every call the distribution allows: it ends any moment.
            return 1.0;
        }
        (1.0 - self.survival(age + h - self.wrapup) / now).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_free_is_the_sum_of_the_chances() {
        let ages = [0.0, 3.0, 9.99, 10.0, 11.0, 250.0, 4_000.0];
        for talk in [
            Dist::exponential(180.0),
            Dist::Lognormal {
                mean: 180.0,
                sd: 90.0,
            },
        ] {
            let s = Service::new(&talk, 10.0).unwrap();
            let sum: f64 = ages.iter().map(|&a| s.p_free_within(a, 12.0)).sum();
            let got = s.expected_free(&ages, 12.0);
            assert!((got - sum).abs() < 1e-12, "{talk:?}: {got} vs {sum}");
        }
    }

    #[test]
    fn exponential_talk_forgets_its_age_once_wrapup_is_counted() {
        let s = Service::new(&Dist::exponential(180.0), 10.0).unwrap();
        let memoryless = 1.0 - (-8.0f64 / 180.0).exp();
        assert!((s.p_free_within(500.0, 8.0) - memoryless).abs() < 1e-12);
        assert!((s.p_free_within(50.0, 8.0) - memoryless).abs() < 1e-12);
        // Just connected: 10 s of wrap-up lie ahead whatever the talk, so nobody is free in 8 s.
        assert_eq!(s.p_free_within(0.0, 8.0), 0.0);
        // Age 5 s: free within 8 s only if the talk ends within 3 s.
        let want = 1.0 - (-3.0f64 / 180.0).exp();
        assert!((s.p_free_within(5.0, 8.0) - want).abs() < 1e-12);
    }

    #[test]
    fn lognormal_long_calls_are_less_likely_to_end_soon() {
        let s = Service::new(
            &Dist::Lognormal {
                mean: 180.0,
                sd: 180.0,
            },
            0.0,
        )
        .unwrap();
        let early = s.p_free_within(120.0, 10.0);
        let late = s.p_free_within(900.0, 10.0);
        assert!(early > late && late > 0.0, "{early} {late}");
        assert!((s.mean() - 180.0).abs() < 1e-9);
    }

    #[test]
    fn constant_and_empirical_talk_are_steps() {
        let s = Service::new(&Dist::Constant { value: 60.0 }, 0.0).unwrap();
        assert_eq!(s.p_free_within(50.0, 5.0), 0.0);
        assert_eq!(s.p_free_within(55.0, 5.0), 1.0);
        let s = Service::new(
            &Dist::Empirical {
                values: vec![30.0, 10.0, 20.0, 40.0],
            },
            0.0,
        )
        .unwrap();
        // Busy at 15 s: talk is 20, 30 or 40; ends within 10 s only at 20 (<= 25).
        assert!((s.p_free_within(15.0, 10.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.p_free_within(45.0, 1.0), 1.0);
    }
}
