//! Time is an input: every operation takes `now` in seconds. `Time` gives f64 a total order so it
//! can key B-trees; validation keeps NaN and infinities out of the engine entirely.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Time(pub f64);

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Largest time or duration accepted (about 31,700 years): sums of two stay finite, so no
/// timer can land at infinity.
pub const MAX_SECONDS: f64 = 1e12;

/// A number of seconds (a duration or an absolute time) in 0..=MAX_SECONDS.
pub fn check_seconds(what: &str, v: f64) -> Result<f64> {
    if !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(Error::invalid(format!(
            "{what} must be a number in 0..={MAX_SECONDS:e}, got {v}"
        )));
    }
    // -0.0 would sort before 0.0 under total_cmp.
    Ok(v + 0.0)
}
