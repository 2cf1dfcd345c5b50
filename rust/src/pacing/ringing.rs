//! How likely a dial still ringing at age `a` is to become a live answer. A dial is answered
//! with probability `q` after a time to answer `A`, or given up after the ring timeout `L`, so
//! for `a < L` (Bayes, given that it has not been answered yet):
//!
//! `P(live answer later | ringing at a) = q (1 - machine) S(a) / (1 - q + q S(a))`,
//!
//! `S` the survival of `A`, and 0 from `a >= L` on. A fresh dial counts at the full
//! `q (1 - machine)`; one that has rung past most answer times is very likely a no-answer.
//! The shape of `A` is given here, its scale following the live mean time to answer, until
//! the campaign reports answer times: from then on the pacer uses the shape it learns
//! ([`super::shape`]), starting from this one.

use crate::error::{Error, Result};
use crate::sim::Dist;

use super::Service;

#[derive(Debug, Clone, PartialEq)]
pub struct Ringing {
    /// The time-to-answer distribution as a service time with no wrap-up, for its survival.
    shape: Service,
    /// Its mean, to rescale it to the estimated mean.
    mean: f64,
    /// Seconds a dial rings before it is given up.
    ring: f64,
}

impl Ringing {
    pub fn new(answer_time: &Dist, ring: f64) -> Result<Self> {
        answer_time.check("answer time")?;
        if !(ring.is_finite() && ring > 0.0) {
            return Err(Error::invalid(format!(
                "ring must be a positive number of seconds, got {ring}"
            )));
        }
        let shape = Service::new(answer_time, 0.0)?;
        let mean = shape.mean();
        if !(mean.is_finite() && mean > 0.0) {
            return Err(Error::invalid(format!(
                "answer time must have a positive mean, got {mean}"
            )));
        }
        Ok(Ringing { shape, mean, ring })
    }

    pub fn ring(&self) -> f64 {
        self.ring
    }

    /// The given shape's survival at age `age`, scaled to the mean time to answer `tta`.
    pub fn prior_survival(&self, age: f64, tta: f64) -> f64 {
        self.shape.survival(age * self.scale(tta))
    }

    /// The factor from a dial's age to the given shape's own time axis at mean `tta`.
    pub fn scale(&self, tta: f64) -> f64 {
        self.mean / tta.max(1e-9)
    }

    /// Expected live answers still to come from one dial ringing for `age` seconds, with
    /// answer rate `answer`, machine share `machine` and the given shape at mean `tta`.
    pub fn p_live_later(&self, age: f64, answer: f64, machine: f64, tta: f64) -> f64 {
        self.p_live_later_scaled(age, self.scale(tta), answer, machine)
    }

    /// `p_live_later` with the scale (`scale(tta)`) worked out once for many dials.
    pub fn p_live_later_scaled(&self, age: f64, scale: f64, answer: f64, machine: f64) -> f64 {
        if age >= self.ring {
            return 0.0;
        }
        live_later(self.shape.survival(age * scale), answer, machine)
    }
}

/// `P(live answer later | ringing)` from the survival `s` of the time to answer at the
/// dial's age (Bayes, as above).
pub(super) fn live_later(s: f64, answer: f64, machine: f64) -> f64 {
    let still = 1.0 - answer + answer * s;
    if still <= 0.0 {
        return 0.0;
    }
    (answer * (1.0 - machine) * s / still).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_dial_counts_in_full_and_an_old_one_hardly() {
        let r = Ringing::new(&Dist::Lognormal { mean: 8.0, sd: 4.0 }, 25.0).unwrap();
        let p = |age| r.p_live_later(age, 0.2, 0.25, 8.0);
        assert!((p(0.0) - 0.2 * 0.75).abs() < 1e-12);
        let ages = [0.0, 4.0, 8.0, 12.0, 20.0, 24.9];
        let q: Vec<f64> = ages.iter().map(|&a| p(a)).collect();
        assert!(q.windows(2).all(|w| w[0] > w[1]), "{q:?}");
        assert!(q[4] < 0.01, "{q:?}");
        assert_eq!(p(25.0), 0.0);
    }

    #[test]
    fn bayes_on_an_exponential_answer_time() {
        let r = Ringing::new(&Dist::exponential(5.0), 30.0).unwrap();
        // Estimated mean 10 s: S(a) = exp(-a / 10).
        let s = (-1.0f64).exp();
        let want = 0.4 * s / (0.6 + 0.4 * s);
        assert!((r.p_live_later(10.0, 0.4, 0.0, 10.0) - want).abs() < 1e-12);
    }

    #[test]
    fn bad_ring_and_answer_time_are_named() {
        let e = Ringing::new(&Dist::exponential(5.0), 0.0).unwrap_err();
        assert!(e.to_string().contains("ring"), "{e}");
        let e = Ringing::new(&Dist::exponential(-1.0), 25.0).unwrap_err();
        assert!(e.to_string().contains("answer time"), "{e}");
    }
}
