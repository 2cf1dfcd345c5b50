//! Erlang A (M/M/n+M, Palm's model): callers abandon after an exponential patience of mean
//! `patience` seconds, so the queue is stable at any load.
//!
//! Rates: arrivals `lambda = A / aht`, service `mu = 1 / aht`, abandonment
//! `theta = 1 / patience`; write `x = lambda / theta`, `a = n mu / theta`. With `m` callers
//! queued the state's weight relative to `pi_n` is `t_m = x^m / ((a+1) ... (a+m))`, so
//! (Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn 2004, in series form):
//!
//! - `J = sum t_m` (the queue's mass, `a e^x x^-a gamma(a, x)`), `P(wait) = J / (S + J)`;
//! - `P(abandon) = P(wait) * K / (x J)` with `K = sum m t_m` (Little: `theta E[queue] / lambda`);
//! - a caller who finds `m` queued is served after `V = sum_{j=0..m} Exp(n mu + j theta)`;
//!   `e^(-theta V)` is Beta(a, m + 1), so it is answered (patience beyond `V`) with probability
//!   `a / (a+m+1)`: `P(answered | wait) = Sv / J`, `Sv = sum t_m a / (a+m+1)`;
//! - its mean wait when answered is `sum_{j=1..m+1} 1 / (theta (a+j))` weighted the same way:
//!   `ASA = P(wait) patience Hs / J / P(answered)`, `Hs = sum t_m a/(a+m+1) H_m`;
//! - answered after more than `t` (summing the Beta tails over `m`):
//!   `P(answered, V > t | wait) = a/(a+1) u^(a+1) e^(x (1-u)) G(a+1, x u) / J`, `u = e^(-theta t)`,
//!   with `G` the incomplete-gamma series, summed in the same pass as the queue sums; the
//!   service level is answered within `t` over all offered calls (abandoned calls count as
//!   missed, as in the engine's queue statistics).

use super::sums::{BIG, EPS, INV_BIG, LN_BIG, Scaled, below_sum, ln_1p_exp, series_terms};
use super::{Metrics, check_agents, check_seconds, check_threshold, check_traffic};
use crate::error::{Error, Result};

/// More terms than this means a patience so long against the handle time, at such a load,
/// that the model is Erlang C in all but cost.
const MAX_TERMS: f64 = 5e7;

/// Erlang A metrics of `agents` offered `traffic` Erlangs, handle time `aht`, mean patience
/// `patience` and service-level `threshold` (seconds). Any load is stable.
pub fn erlang_a(
    agents: u64,
    traffic: f64,
    aht: f64,
    patience: f64,
    threshold: f64,
) -> Result<Metrics> {
    check_agents(agents)?;
    check_traffic(traffic)?;
    check_seconds("aht", aht)?;
    check_seconds("patience", patience)?;
    check_threshold(threshold)?;
    Queue::new(traffic, aht, patience, threshold).metrics(agents, below_sum(agents, traffic))
}

/// One interval's checked inputs and what every agent count shares, so the staffing search
/// pays the exponentials once rather than per candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queue {
    traffic: f64,
    aht: f64,
    patience: f64,
    threshold: f64,
    /// `x = A * patience / aht`.
    x: f64,
    /// `theta t`.
    theta_t: f64,
    /// `x u`, the argument of the late calls' series `G(a+1, x u)` (0 for a zero threshold,
    /// which needs no such series).
    xu: f64,
    /// `x (1 - u)`: the exponent of `e^(x (1-u))` in the late calls' formula.
    gain: f64,
}

impl Queue {
    pub fn new(traffic: f64, aht: f64, patience: f64, threshold: f64) -> Queue {
        let x = traffic * (patience / aht);
        let theta_t = threshold / patience;
        let u = (-theta_t).exp();
        Queue {
            traffic,
            aht,
            patience,
            threshold,
            x,
            theta_t,
            xu: if threshold == 0.0 { 0.0 } else { x * u },
            gain: -x * (-theta_t).exp_m1(),
        }
    }

    /// The metrics of `agents`, given `S(n, A)` (which the staffing search carries from one
    /// agent count to the next).
    pub fn metrics(&self, agents: u64, below: Scaled) -> Result<Metrics> {
        let Queue {
            traffic,
            aht,
            patience,
            threshold,
            x,
            theta_t,
            ..
        } = *self;
        let a = agents as f64 * (patience / aht);
        let terms = series_terms(a, x);
        if terms.is_nan() || terms > MAX_TERMS {
            return Err(Error::invalid(format!(
                "patience {patience} s is too long against aht {aht} s at {traffic} Erlangs for \
                 Erlang A to sum; without a patience (Erlang C) the answer is the same to within \
                 its precision when agents exceed traffic"
            )));
        }
        let q = queue_sums(a, x, self.xu);
        let plain = q.ln_scale == 0.0 && below.ln_scale == 0.0;
        let (p_wait, p_none) = if plain {
            let total = below.value + q.j;
            (q.j / total, below.value / total)
        } else {
            let ln_j = q.j.ln() + q.ln_scale;
            (
                (-ln_1p_exp(below.ln() - ln_j)).exp(),
                (-ln_1p_exp(ln_j - below.ln())).exp(),
            )
        };
        let served = q.sv / q.j;
        let answered = p_none + p_wait * served;
        let abandon = p_wait * q.k / (x * q.j);
        let asa = if p_wait == 0.0 {
            0.0
        } else {
            p_wait * patience * (q.hs / q.j) / answered
        };
        let late = if threshold == 0.0 {
            served
        } else {
            // u^(a+1) e^(x (1-u)) G / J, in logarithms unless every part is a plain number.
            let exponent = self.gain - (a + 1.0) * theta_t;
            let ratio = if q.ln_scale == 0.0 && q.g.ln_scale == 0.0 && exponent.abs() < 600.0 {
                exponent.exp() * (q.g.value / q.j)
            } else {
                (exponent + q.g.ln() - q.j.ln() - q.ln_scale).exp()
            };
            a / (a + 1.0) * ratio
        };
        Ok(Metrics {
            p_wait,
            service_level: p_none + p_wait * (served - late).max(0.0),
            asa,
            // Rounding can put a saturated queue a few ulps above 1.
            occupancy: (traffic * answered / agents as f64).min(1.0),
            abandon,
        })
    }
}

/// The four queue sums of the module docs, all relative to `pi_n` and sharing one scale, and
/// the late calls' `G(a+1, x u)` with its own (it can be far smaller than `J`).
struct QueueSums {
    j: f64,
    k: f64,
    sv: f64,
    hs: f64,
    ln_scale: f64,
    g: Scaled,
}

/// One pass for all five sums: `G`'s terms `(xu)^m / ((a+2) ... (a+m+1))` share the
/// reciprocals `1 / (a+m+1)`, the only division per term.
fn queue_sums(a: f64, x: f64, xu: f64) -> QueueSums {
    let mut s = QueueSums {
        j: 0.0,
        k: 0.0,
        sv: 0.0,
        hs: 0.0,
        ln_scale: 0.0,
        g: Scaled {
            value: 0.0,
            ln_scale: 0.0,
        },
    };
    let mut t = 1.0;
    let mut g = 1.0;
    let mut h = 0.0;
    let mut m = 0.0;
    let mut inv = 1.0 / (a + 1.0);
    let mut steps = 0u32;
    loop {
        h += inv;
        let w = t * a * inv;
        s.j += t;
        s.k += m * t;
        s.sv += w;
        s.hs += w * h;
        s.g.value += g;
        let q = x * inv;
        // Tested every fourth term: the test costs more than the terms it might save.
        if steps.is_multiple_of(4) && q < 1.0 && s.k > 0.0 {
            // Geometric bounds on the rest: of K (which bounds J's) and of G.
            let rest = t * q * (m + 2.0);
            let qg = xu * inv;
            if rest < EPS * s.j.min(s.k) * (1.0 - q) * (1.0 - q)
                && g * qg < EPS * s.g.value * (1.0 - qg)
            {
                break;
            }
        }
        if q == 0.0 {
            break;
        }
        t *= q;
        m += 1.0;
        steps += 1;
        inv = 1.0 / (a + m + 1.0);
        g *= xu * inv;
        if t > BIG {
            t *= INV_BIG;
            s.j *= INV_BIG;
            s.k *= INV_BIG;
            s.sv *= INV_BIG;
            s.hs *= INV_BIG;
            s.ln_scale += LN_BIG;
        }
        if g > BIG {
            g *= INV_BIG;
            s.g.value *= INV_BIG;
            s.g.ln_scale += LN_BIG;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::erlang_c;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn answered_and_abandoned_add_up() {
        for &(n, a, p) in &[(10u64, 8.0, 60.0), (10, 14.0, 30.0), (200, 190.0, 300.0)] {
            let m = erlang_a(n, a, 180.0, p, 20.0).unwrap();
            let answered = m.occupancy * n as f64 / a;
            assert!(close(answered + m.abandon, 1.0, 1e-13), "{m:?}");
            assert!(m.service_level > 0.0 && m.service_level < 1.0);
        }
    }

    #[test]
    fn long_patience_tends_to_erlang_c() {
        let c = erlang_c(12, 10.0, 1.0, 0.5).unwrap();
        let a = erlang_a(12, 10.0, 1.0, 1e7, 0.5).unwrap();
        assert!(close(a.p_wait, c.p_wait, 1e-5), "{a:?} {c:?}");
        assert!(close(a.service_level, c.service_level, 1e-5));
        assert!(close(a.asa, c.asa, 1e-5));
        assert!(a.abandon < 1e-6);
    }

    #[test]
    fn one_agent_with_patience_equal_to_aht() {
        // n = 1, theta = mu: the queue is M/M/1-like with departure rate mu (k + 1) from k
        // queued, so pi_{1+m} / pi_1 = A^m / (m+1)! * 1 and J = (e^A - 1) / A.
        let a = 0.8;
        let m = erlang_a(1, a, 1.0, 1.0, 0.0).unwrap();
        let j = a.exp_m1() / a;
        let p_wait = j / (1.0 / a + j);
        assert!(close(m.p_wait, p_wait, 1e-14), "{} {}", m.p_wait, p_wait);
        assert!(close(m.service_level, 1.0 - p_wait, 1e-14));
    }

    #[test]
    fn late_series_in_the_shared_pass_matches_it_summed_alone() {
        use crate::erlang::sums::gamma_series;
        // The last case overloads the queue so far that J is rescaled while G is not.
        for &(a, x, u) in &[
            (5.0, 3.0, 0.8),
            (40.0, 55.0, 0.3),
            (0.5, 2.0, 0.99),
            (100.0, 5e3, 0.1),
        ] {
            let fused = queue_sums(a, x, x * u).g;
            let alone = gamma_series(a + 1.0, x * u);
            assert!(
                close(fused.ln(), alone.ln(), 1e-13),
                "{a} {x}: {fused:?} {alone:?}"
            );
        }
        assert!(queue_sums(100.0, 5e3, 500.0).ln_scale > 0.0);
    }

    #[test]
    fn overload_is_fine_and_bad_patience_is_named() {
        let m = erlang_a(50, 100.0, 300.0, 120.0, 20.0).unwrap();
        assert!(m.abandon > 0.4 && m.abandon < 0.6, "{m:?}");
        let e = erlang_a(5, 1.0, 1.0, 0.0, 0.0).unwrap_err().to_string();
        assert!(e.contains("patience"), "{e}");
        assert!(erlang_a(5, 1e5, 1.0, 1e9, 0.0).is_err());
        assert!(erlang_a(5, 1e5, 1e-300, 1e300, 0.0).is_err());
    }
}
