//! Erlang C (M/M/n): callers wait as long as it takes; exponential handle times of mean
//! `aht`, Poisson arrivals.
//!
//! With `rho = A / n` and `S` as in [`super::sums`]:
//! - probability of waiting `C = n B / (n - A (1 - B)) = 1 / (1 + (1 - rho) S)`;
//! - service level `P(wait <= t) = 1 - C exp(-(n - A) t / aht)`;
//! - average speed of answer `ASA = C aht / (n - A)`;
//! - occupancy `A / n`.

use super::sums::{Scaled, below_sum, ln_1p_exp};
use super::{Metrics, check_agents, check_seconds, check_threshold, check_traffic};
use crate::error::{Error, Result};

/// Erlang C metrics of `agents` offered `traffic` Erlangs with handle time `aht` and a
/// service-level `threshold` (seconds). `traffic >= agents` is an error: the queue grows
/// without bound.
pub fn erlang_c(agents: u64, traffic: f64, aht: f64, threshold: f64) -> Result<Metrics> {
    check_agents(agents)?;
    check_traffic(traffic)?;
    check_seconds("aht", aht)?;
    check_threshold(threshold)?;
    if traffic >= agents as f64 {
        return Err(unstable(agents, traffic));
    }
    let s = below_sum(agents, traffic);
    Ok(metrics(agents, traffic, aht, threshold, s))
}

pub(crate) fn unstable(agents: u64, traffic: f64) -> Error {
    Error::invalid(format!(
        "traffic {traffic} Erlangs is at or above {agents} agents: under Erlang C the queue grows \
         without bound (add agents, or give a patience for Erlang A)"
    ))
}

/// `C = 1 / (1 + (1 - A/n) S)` for `n` agents, `gap = n - A`.
pub(crate) fn p_wait(n: f64, gap: f64, s: Scaled) -> f64 {
    let free = gap / n;
    if s.ln_scale == 0.0 {
        1.0 / (1.0 + free * s.value)
    } else {
        (-ln_1p_exp(free.ln() + s.ln())).exp()
    }
}

/// The metrics from `S(n, A)` (which the staffing search carries from one `n` to the next).
pub(crate) fn metrics(agents: u64, traffic: f64, aht: f64, threshold: f64, s: Scaled) -> Metrics {
    let n = agents as f64;
    let gap = n - traffic;
    let p_wait = p_wait(n, gap, s);
    Metrics {
        p_wait,
        service_level: 1.0 - p_wait * (-gap * threshold / aht).exp(),
        asa: p_wait * aht / gap,
        occupancy: traffic / n,
        abandon: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_agent_is_m_m_1() {
        // M/M/1: P(wait) = rho, ASA = rho aht / (1 - rho), P(W > t) = rho e^{-(1-rho) t / aht}
        let m = erlang_c(1, 0.5, 100.0, 50.0).unwrap();
        assert!((m.p_wait - 0.5).abs() < 1e-15);
        assert!((m.asa - 100.0).abs() < 1e-12);
        assert!((m.service_level - (1.0 - 0.5 * (-0.25f64).exp())).abs() < 1e-15);
        assert_eq!(m.occupancy, 0.5);
    }

    #[test]
    fn agrees_with_erlang_b_identity() {
        for &(n, a) in &[(5u64, 3.2), (30, 25.0), (1200, 1100.5)] {
            let b = super::super::erlang_b(n, a).unwrap();
            let nf = n as f64;
            let c = nf * b / (nf - a * (1.0 - b));
            let got = erlang_c(n, a, 1.0, 0.0).unwrap().p_wait;
            assert!((got - c).abs() < 1e-12 * c, "{got} vs {c}");
        }
    }

    #[test]
    fn unstable_traffic_is_an_error() {
        let e = erlang_c(10, 10.0, 180.0, 20.0).unwrap_err().to_string();
        assert!(e.contains("without bound"), "{e}");
        assert!(erlang_c(10, 12.5, 180.0, 20.0).is_err());
        assert!(
            erlang_c(10, 5.0, 0.0, 20.0)
                .unwrap_err()
                .to_string()
                .contains("aht")
        );
        assert!(
            erlang_c(10, 5.0, 1.0, -1.0)
                .unwrap_err()
                .to_string()
                .contains("threshold")
        );
    }
}
