//! Erlang B: the probability that a call finds every one of `n` agents busy when there is no
//! queue (blocked calls are lost), `B = (A^n / n!) / sum_{k<=n} A^k / k!`.

use super::sums::{below_sum, ln_1p_exp};
use super::{check_agents, check_traffic};
use crate::error::Result;

/// Blocking probability of `agents` servers offered `traffic` Erlangs: `1 / (1 + S)` with
/// `S = sum_{k<n} pi_k / pi_n` summed as in [`super::sums`].
pub fn erlang_b(agents: u64, traffic: f64) -> Result<f64> {
    check_agents(agents)?;
    check_traffic(traffic)?;
    let s = below_sum(agents, traffic);
    Ok((-ln_1p_exp(s.ln())).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases_by_hand() {
        // B(1, A) = A / (1 + A); B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
        assert!((erlang_b(1, 3.0).unwrap() - 0.75).abs() < 1e-15);
        assert!((erlang_b(2, 1.0).unwrap() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn matches_the_classic_recurrence_where_it_is_safe() {
        for &a in &[0.01, 0.7, 5.0, 42.0, 300.0] {
            let mut b = 1.0;
            for n in 1..=600u64 {
                b = a * b / (n as f64 + a * b);
                let got = erlang_b(n, a).unwrap();
                if b > 1e-300 {
                    assert!((got - b).abs() <= 1e-12 * b, "n={n} a={a}: {got} vs {b}");
                }
            }
        }
    }

    #[test]
    fn tiny_values_underflow_to_zero_not_nan() {
        assert_eq!(erlang_b(1_000_000, 10.0).unwrap(), 0.0);
        assert_eq!(erlang_b(u64::MAX, 10.0).unwrap(), 0.0);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(erlang_b(0, 1.0).unwrap_err().to_string().contains("agents"));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                erlang_b(3, bad)
                    .unwrap_err()
                    .to_string()
                    .contains("traffic")
            );
        }
    }
}
