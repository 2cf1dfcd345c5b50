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

/// A finite, non-negative number of seconds (a duration or an absolute time).
pub fn check_seconds(what: &str, v: f64) -> Result<f64> {
    if !v.is_finite() || v < 0.0 {
        return Err(Error::invalid(format!(
            "{what} must be a finite number >= 0, got {v}"
        )));
    }
    // -0.0 would sort before 0.0 under total_cmp.
    Ok(v + 0.0)
}
