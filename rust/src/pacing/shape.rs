//! The time-to-answer distribution learned live: a histogram of observed times to answer over
//! `[0, ring)`, each answer fading the old ones, for the survival `S(a)` that weighs a dial
//! still ringing at age `a` ([`super::Ringing`]).
//!
//! Every answer the pacer sees came before the ring timeout, and the answer rate it learns is
//! "answered before the timeout", so the distribution `S` must describe is exactly that of the
//! observed answers: no censoring correction is needed. The histogram keeps any shape (quick
//! and late pickups, answers bunched at a ring count) where a fitted lognormal would smooth
//! them away and would need truncating at the ring timeout. docs/pacing.md has the reasons.
//!
//! Stored as the tail masses `tail[k] = P(answer time >= k w)`, `w` the bin width, so a
//! survival query is O(1) (one bin lookup, linear within the bin: answer times uniform
//! inside a bin) and learning a tick's answers costs one pass over the bins.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// At most this many bins: 1 s bins up to a 64 s ring timeout, wider beyond.
const MAX_BINS: usize = 64;
const MIN_BINS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerShape {
    width: f64,
    /// `tail[k]` for k in 0..bins: `tail[0] = 1`, falling; past the last bin the mass is 0.
    tail: Box<[f64]>,
    /// Answers learned so far (not faded): how much the shape rests on data.
    learned: u64,
}

impl AnswerShape {
    /// The bins for a ring timeout of `ring` seconds, with a prior shape given as a survival
    /// function (cut at `ring` and renormalized: the answers the pacer will see).
    pub fn new(ring: f64, prior: impl Fn(f64) -> f64) -> Self {
        let bins = (ring.ceil() as usize).clamp(MIN_BINS, MAX_BINS);
        let width = ring / bins as f64;
        let beyond = prior(ring).clamp(0.0, 1.0);
        let norm = (1.0 - beyond).max(1e-12);
        let tail = (0..bins)
            .map(|k| {
                if norm <= 1e-12 {
                    // A prior with no mass before the timeout: start flat.
                    1.0 - k as f64 / bins as f64
                } else {
                    ((prior(k as f64 * width).clamp(0.0, 1.0) - beyond) / norm).clamp(0.0, 1.0)
                }
            })
            .collect();
        AnswerShape {
            width,
            tail,
            learned: 0,
        }
    }

    pub fn bins(&self) -> usize {
        self.tail.len()
    }

    /// The ring timeout the bins cover.
    pub fn ring(&self) -> f64 {
        self.width * self.tail.len() as f64
    }

    /// A shape from saved bytes: as `new` and learning keep it (bins in range, a positive
    /// width, tails falling from 1 within [0, 1]).
    pub(super) fn check(&self) -> Result<()> {
        let n = self.tail.len();
        // Learning's rounding may leave a tail an ulp above its neighbour or 1: tolerated.
        const SLACK: f64 = 1e-9;
        let falling = self.tail.windows(2).all(|w| w[1] <= w[0] + SLACK);
        if !((MIN_BINS..=MAX_BINS).contains(&n)
            && self.width.is_finite()
            && self.width > 0.0
            && falling
            && self.tail.iter().all(|t| (-SLACK..=1.0 + SLACK).contains(t))
            && (self.tail[0] - 1.0).abs() < SLACK)
        {
            return Err(Error::invalid(format!(
                "saved answer shape out of range: {n} bins of {} s",
                self.width
            )));
        }
        Ok(())
    }

    pub fn width(&self) -> f64 {
        self.width
    }

    pub fn learned(&self) -> u64 {
        self.learned
    }

    /// Probability mass per bin (sums to 1).
    pub fn masses(&self) -> impl Iterator<Item = f64> + '_ {
        let n = self.tail.len();
        (0..n).map(move |k| self.tail[k] - self.tail.get(k + 1).copied().unwrap_or(0.0))
    }

    fn bin(&self, t: f64) -> usize {
        ((t / self.width) as usize).min(self.tail.len() - 1)
    }

    /// P(answer time > a), linear within a bin; 0 from the ring timeout on.
    pub fn survival(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 1.0;
        }
        let k = (a / self.width) as usize;
        if k >= self.tail.len() {
            return 0.0;
        }
        let next = self.tail.get(k + 1).copied().unwrap_or(0.0);
        let inside = a / self.width - k as f64;
        next + (self.tail[k] - next) * (1.0 - inside)
    }

    /// Learns a tick's answer times (checked: finite, >= 0; those at or past the timeout
    /// count in the last bin): together they move the shape by `1 - (1 - smoothing)^n`, as
    /// `n` answers one after another would, each weighing the same. `scratch` is reused.
    pub fn learn(&mut self, times: &[f64], smoothing: f64, scratch: &mut Vec<f64>) {
        if times.is_empty() {
            return;
        }
        let n = times.len();
        let keep = (1.0 - smoothing).powi(n.min(i32::MAX as usize) as i32);
        let each = (1.0 - keep) / n as f64;
        scratch.clear();
        scratch.resize(self.tail.len(), 0.0);
        for &t in times {
            let b = self.bin(t);
            scratch[b] += each;
        }
        // New mass at or above bin k adds to tail[k]: one pass from the top.
        let mut above = 0.0;
        for k in (0..self.tail.len()).rev() {
            above += scratch[k];
            self.tail[k] = self.tail[k] * keep + above;
        }
        self.tail[0] = 1.0;
        self.learned = self.learned.saturating_add(n as u64);
    }
}

/// Answer times must be seconds.
pub fn check_times(times: &[f64]) -> Result<()> {
    match times.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
        Some(t) => Err(Error::invalid(format!(
            "answer time must be a non-negative number of seconds, got {t}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::sim::Dist;
    use crate::sim::dist::uniform;

    fn flat_prior(ring: f64) -> AnswerShape {
        AnswerShape::new(ring, |a| (1.0 - a / ring).max(0.0))
    }

    #[test]
    fn the_prior_is_cut_at_the_ring_timeout() {
        // Exponential of mean 10 s cut at 20 s: S(a) = (e^{-a/10} - e^{-2}) / (1 - e^{-2}).
        let s = AnswerShape::new(20.0, |a| (-a / 10.0f64).exp());
        assert_eq!(s.bins(), 20);
        let want = |a: f64| ((-a / 10.0f64).exp() - (-2.0f64).exp()) / (1.0 - (-2.0f64).exp());
        for a in [0.0, 1.0, 5.0, 13.0, 19.0] {
            assert!((s.survival(a) - want(a)).abs() < 1e-12, "{a}");
        }
        assert_eq!(s.survival(20.0), 0.0);
        assert!((s.masses().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn converges_to_the_distribution_fed_in() {
        // Answers uniform on 12..15 s fed to a flat prior over a 25 s ring.
        let mut s = flat_prior(25.0);
        let mut rng = Rng::new(5);
        let mut scratch = Vec::new();
        for _ in 0..2_000 {
            let times: Vec<f64> = (0..3).map(|_| 12.0 + 3.0 * uniform(&mut rng)).collect();
            s.learn(&times, 0.01, &mut scratch);
        }
        assert_eq!(s.learned(), 6_000);
        for (a, want) in [
            (5.0, 1.0),
            (11.9, 1.0),
            (13.5, 0.5),
            (15.1, 0.0),
            (20.0, 0.0),
        ] {
            assert!(
                (s.survival(a) - want).abs() < 0.06,
                "S({a}) = {}",
                s.survival(a)
            );
        }
        assert!((s.masses().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn converges_to_a_lognormal_and_forgets_an_old_one() {
        let mut s = flat_prior(25.0);
        let mut rng = Rng::new(9);
        let mut scratch = Vec::new();
        let early = Dist::Lognormal { mean: 3.0, sd: 1.0 };
        let late = Dist::Lognormal { mean: 9.0, sd: 3.0 };
        let feed = |s: &mut AnswerShape, d: &Dist, rng: &mut Rng, scratch: &mut Vec<f64>| {
            for _ in 0..3_000 {
                let t = d.sample(rng).min(25.0);
                s.learn(&[t], 0.01, scratch);
            }
        };
        feed(&mut s, &early, &mut rng, &mut scratch);
        assert!(s.survival(6.0) < 0.05, "{}", s.survival(6.0));
        feed(&mut s, &late, &mut rng, &mut scratch);
        // The late lognormal's survival: P(X > 9) about 0.43, P(X > 14) about 0.07.
        let service = crate::pacing::Service::new(&late, 0.0).unwrap();
        for a in [4.0, 9.0, 14.0] {
            let want = service.survival(a);
            assert!(
                (s.survival(a) - want).abs() < 0.06,
                "S({a}) {} vs {want}",
                s.survival(a)
            );
        }
    }

    #[test]
    fn bins_are_bounded_and_late_times_land_in_the_last() {
        assert_eq!(flat_prior(600.0).bins(), MAX_BINS);
        assert_eq!(flat_prior(1.0).bins(), MIN_BINS);
        let mut s = flat_prior(20.0);
        s.learn(&[1e9; 5], 1.0, &mut Vec::new());
        assert!((s.survival(19.5) - 0.5).abs() < 1e-12);
        assert!(check_times(&[1.0, f64::NAN]).is_err());
        assert!(
            check_times(&[-0.5])
                .unwrap_err()
                .to_string()
                .contains("answer time")
        );
    }
}
