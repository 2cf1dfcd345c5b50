//! Workforce math: Erlang B (blocking), Erlang C (M/M/n, callers wait forever), Erlang A
//! (M/M/n+M, callers abandon after an exponential patience) and staffing for a target.
//!
//! Units: traffic in Erlangs (calls per second x mean handle time in seconds), handle time,
//! patience and thresholds in seconds, agents a count.
//!
//! Numerics: no factorials and no powers. Every probability is a ratio of two sums of
//! positive terms taken relative to the state "all agents busy, nobody waiting" (`pi_n`):
//!
//! - `S = sum_{k<n} pi_k / pi_n = sum_{j=1..n} n (n-1) ... (n-j+1) / A^j`, built term by term,
//!   largest terms first, stopped once the rest cannot change the sum (see [`sums`]);
//! - for Erlang A, `J = sum_{m>=0} pi_{n+m} / pi_n = sum_m x^m / ((a+1) ... (a+m))` with
//!   `x = A * patience / aht` and `a = n * patience / aht` (the incomplete-gamma series).
//!
//! Sums rescale themselves before they overflow (a value and a log scale), so the results
//! hold from 0.01 to beyond 100,000 Erlangs; cost grows like the square root of the traffic,
//! not like the number of agents.

mod batch;
mod erlang_a;
mod erlang_b;
mod erlang_c;
mod staffing;
mod sums;

pub use batch::{map_items, map_items_on, threads_for};
pub use erlang_a::erlang_a;
pub use erlang_b::erlang_b;
pub use erlang_c::erlang_c;
pub use staffing::{Staffing, Target, staff};

use crate::error::{Error, Result};

/// What a queue of `agents` offered `traffic` does, as seen by a caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Probability that a call has to wait (all agents busy on arrival).
    pub p_wait: f64,
    /// Calls answered within the threshold / calls offered (abandoned calls count as missed).
    pub service_level: f64,
    /// Average speed of answer: mean wait of answered calls, in seconds.
    pub asa: f64,
    /// Fraction of agent time spent on calls (carried traffic / agents).
    pub occupancy: f64,
    /// Probability that a call abandons (0 under Erlang C).
    pub abandon: f64,
}

/// The largest traffic accepted: sums cost up to `9 sqrt(A)` terms, and agent counts stay
/// far inside `u64`.
pub const MAX_TRAFFIC: f64 = 1e9;

pub(crate) fn check_traffic(traffic: f64) -> Result<()> {
    if traffic.is_finite() && traffic > 0.0 && traffic <= MAX_TRAFFIC {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "traffic must be a positive number of Erlangs up to {MAX_TRAFFIC:e}, got {traffic}"
        )))
    }
}

pub(crate) fn check_agents(agents: u64) -> Result<()> {
    if agents == 0 {
        return Err(Error::invalid("agents must be at least 1, got 0"));
    }
    Ok(())
}

/// A positive, finite number of seconds (`what` names the argument in the message).
pub(crate) fn check_seconds(what: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} must be a positive number of seconds, got {v}"
        )))
    }
}

pub(crate) fn check_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() && threshold >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "threshold must be a number of seconds >= 0, got {threshold}"
        )))
    }
}
