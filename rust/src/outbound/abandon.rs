//! The abandonment cap over a rolling window. US profile: abandoned calls over live answered
//! calls, 3% over 30 days. UK profile: 3% over 24 hours, where calls the answering-machine
//! detection hung up on but that were people (false positives, estimated by the rate the user
//! measured) count both as live calls and as abandoned ones.
//!
//! The window is kept in 1,440 buckets (a minute for 24 hours, half an hour for 30 days), so
//! memory stays fixed however many calls a month holds; a call leaves the window at most one
//! bucket late.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const BUCKETS: f64 = 1440.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AbandonProfile {
    /// Highest abandon rate allowed, 0..=1.
    pub cap: f64,
    /// Rolling window, seconds.
    pub window: f64,
    /// Share of machine detections that were people, counted as abandoned (0: not counted).
    pub amd_false_positive_rate: f64,
}

impl AbandonProfile {
    pub const US: AbandonProfile = AbandonProfile {
        cap: 0.03,
        window: 30.0 * 86_400.0,
        amd_false_positive_rate: 0.0,
    };

    /// `amd_false_positive_rate`: the measured share of machine verdicts that were people.
    pub fn uk(amd_false_positive_rate: f64) -> Result<Self> {
        AbandonProfile {
            cap: 0.03,
            window: 86_400.0,
            amd_false_positive_rate,
        }
        .checked()
    }

    pub fn checked(self) -> Result<Self> {
        rate("abandon cap", self.cap)?;
        rate("amd_false_positive_rate", self.amd_false_positive_rate)?;
        if !(self.window >= 60.0 && self.window <= 366.0 * 86_400.0) {
            return Err(Error::invalid(format!(
                "abandon window must be 60..=31622400 seconds, got {}",
                self.window
            )));
        }
        Ok(self)
    }
}

/// A rate in 0..=1, or an error naming it.
pub fn rate(what: &str, v: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&v) {
        return Err(Error::invalid(format!(
            "{what} must be a rate in 0..=1, got {v}"
        )));
    }
    Ok(v)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbandonWindow {
    profile: AbandonProfile,
    bucket: f64,
    /// (bucket index, live answered, abandoned), oldest first.
    buckets: VecDeque<(i64, f64, f64)>,
    live: f64,
    abandoned: f64,
}

impl AbandonWindow {
    pub fn new(profile: AbandonProfile) -> Self {
        AbandonWindow {
            bucket: profile.window / BUCKETS,
            profile,
            buckets: VecDeque::new(),
            live: 0.0,
            abandoned: 0.0,
        }
    }

    pub fn profile(&self) -> AbandonProfile {
        self.profile
    }

    fn add(&mut self, now: f64, live: f64, abandoned: f64) {
        let idx = (now / self.bucket).floor() as i64;
        match self.buckets.back_mut() {
            Some(b) if b.0 == idx => {
                b.1 += live;
                b.2 += abandoned;
            }
            _ => self.buckets.push_back((idx, live, abandoned)),
        }
        self.live += live;
        self.abandoned += abandoned;
    }

    pub fn live_answer(&mut self, now: f64) {
        self.add(now, 1.0, 0.0);
    }

    /// A live call already counted by `live_answer` that no agent took.
    pub fn abandon(&mut self, now: f64) {
        self.add(now, 0.0, 1.0);
    }

    pub fn machine(&mut self, now: f64) {
        let fp = self.profile.amd_false_positive_rate;
        if fp > 0.0 {
            self.add(now, fp, fp);
        }
    }

    fn expire(&mut self, now: f64) {
        let oldest = ((now - self.profile.window) / self.bucket).floor() as i64;
        while let Some(&(idx, live, ab)) = self.buckets.front() {
            if idx > oldest {
                break;
            }
            self.live -= live;
            self.abandoned -= ab;
            self.buckets.pop_front();
        }
        if self.buckets.is_empty() {
            // No drift from adding and subtracting fractions.
            self.live = 0.0;
            self.abandoned = 0.0;
        }
    }

    /// Abandoned over live answered calls in the window ending at `now` (None before any).
    pub fn rate(&mut self, now: f64) -> Option<f64> {
        self.expire(now);
        (self.live > 0.0).then(|| self.abandoned / self.live)
    }

    /// At or over the cap: only dials an agent is already free for may go out.
    pub fn capped(&mut self, now: f64) -> bool {
        self.rate(now).is_some_and(|r| r >= self.profile.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_window_forgets_after_thirty_days() {
        let mut w = AbandonWindow::new(AbandonProfile::US);
        for i in 0..97 {
            w.live_answer(f64::from(i));
        }
        for i in 0..3 {
            w.live_answer(100.0 + f64::from(i));
            w.abandon(100.0 + f64::from(i));
        }
        assert_eq!(w.rate(200.0), Some(0.03));
        assert!(w.capped(200.0));
        // 29 days later still inside; 30 days and a bucket later all gone.
        assert!(w.capped(29.0 * 86_400.0));
        assert_eq!(w.rate(30.0 * 86_400.0 + 2000.0), None);
        assert!(!w.capped(30.0 * 86_400.0 + 2000.0));
    }

    #[test]
    fn uk_counts_machine_false_positives_over_a_day() {
        let mut w = AbandonWindow::new(AbandonProfile::uk(0.1).unwrap());
        for i in 0..100 {
            w.live_answer(f64::from(i));
        }
        for i in 0..20 {
            w.machine(200.0 + f64::from(i));
        }
        // 2 estimated false positives over 102 live calls.
        let r = w.rate(300.0).unwrap();
        assert!((r - 2.0 / 102.0).abs() < 1e-12, "{r}");
        w.abandon(400.0);
        assert!(!w.capped(400.0));
        w.abandon(401.0);
        assert!(w.capped(401.0)); // 4 / 102
        assert_eq!(w.rate(86_400.0 + 500.0), None);
    }

    #[test]
    fn profiles_refuse_bad_rates() {
        assert!(
            AbandonProfile::uk(1.5)
                .unwrap_err()
                .to_string()
                .contains("amd_false_positive_rate")
        );
        let p = AbandonProfile {
            cap: -0.1,
            ..AbandonProfile::US
        };
        assert!(p.checked().unwrap_err().to_string().contains("abandon cap"));
        let p = AbandonProfile {
            window: 1.0,
            ..AbandonProfile::US
        };
        assert!(p.checked().is_err());
    }
}
