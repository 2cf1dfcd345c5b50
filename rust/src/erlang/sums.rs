//! The two series behind every formula, summed without overflow.

/// Terms are rescaled by an exact power of two once they pass this, so a sum whose true value
/// is far beyond `f64::MAX` is held as `value * exp(ln_scale)`.
pub(crate) const BIG: f64 = f64::from_bits((1023 + 768) << 52); // 2^768, exactly
pub(crate) const LN_BIG: f64 = 768.0 * std::f64::consts::LN_2;
/// `1 / BIG`, exact: rescaling multiplies by it, because a division in the loop (even one the
/// compiler makes branch-free) would sit on the chain of every term.
pub(crate) const INV_BIG: f64 = f64::from_bits((1023 - 768) << 52); // 2^-768
/// Relative size below which the rest of a series cannot change the sum.
pub(crate) const EPS: f64 = 1e-17;

/// A positive number `value * exp(ln_scale)`; `ln_scale` is +inf for "too large for any
/// result that depends on it to differ from its limit".
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scaled {
    pub value: f64,
    pub ln_scale: f64,
}

impl Scaled {
    pub const INFINITE: Scaled = Scaled {
        value: 1.0,
        ln_scale: f64::INFINITY,
    };

    pub fn ln(self) -> f64 {
        self.value.ln() + self.ln_scale
    }

    /// `self * factor` (factor > 0), moving into the scale rather than overflowing.
    fn times(self, factor: f64) -> Scaled {
        let value = self.value * factor;
        if value < BIG {
            Scaled { value, ..self }
        } else {
            Scaled {
                value: self.value,
                ln_scale: self.ln_scale + factor.ln(),
            }
        }
    }

    /// `self * factor + addend` where `addend` is an unscaled number (for the agent-by-agent
    /// recurrence of the staffing search).
    pub fn mul_add(self, factor: f64, addend: f64) -> Scaled {
        let shifted = if self.ln_scale == 0.0 {
            addend
        } else {
            addend * (-self.ln_scale).exp()
        };
        let mut out = Scaled {
            value: (self.value + shifted) * factor,
            ln_scale: self.ln_scale,
        };
        if out.value > BIG {
            out.value *= INV_BIG;
            out.ln_scale += LN_BIG;
        }
        out
    }

    /// The plain number (may overflow to +inf).
    #[cfg(test)]
    pub fn get(self) -> f64 {
        if self.ln_scale == 0.0 {
            self.value
        } else {
            self.ln().exp()
        }
    }
}

/// `ln(1 + exp(l))` without overflow.
pub(crate) fn ln_1p_exp(l: f64) -> f64 {
    if l > 0.0 {
        l + (-l).exp().ln_1p()
    } else {
        l.exp().ln_1p()
    }
}

/// Number of terms a series with ratio `y / (b + m)` needs: it grows while `b + m < y`, then
/// falls off like a Gaussian of width `sqrt(y)`.
pub(crate) fn series_terms(b: f64, y: f64) -> f64 {
    (y - b).max(0.0) + 40.0 * y.sqrt() + 100.0
}

/// `S(n, A) = sum_{k<n} pi_k / pi_n = sum_{k=0}^{n-1} A^(k-n) n! / k!`, the Poisson mass below
/// `n` relative to the mass at `n` (so Erlang B is `1 / (1 + S)`).
///
/// Summed downward from `k = n - 1` (term `n / A`, each next term times `k / A`), so terms
/// rise until `k` falls below `A` and then vanish; the loop stops when the geometric bound on
/// the rest is below `EPS` of the sum: about `n - A + 9 sqrt(A)` terms at most. When `n`
/// exceeds `A` by so much that `1 / S` is below `exp(-780)` (the deviance
/// `(n-A)^2 / (2 (A + n - A))` is a lower bound of `ln S`), it returns [`Scaled::INFINITE`].
pub(crate) fn below_sum(n: u64, traffic: f64) -> Scaled {
    let nf = n as f64;
    let d = nf - traffic;
    if d > 0.0 && d * d > 1560.0 * nf {
        return Scaled::INFINITE;
    }
    let inv = 1.0 / traffic;
    // k counts down in floating point: exact below 2^53, and the loop never runs that long.
    let mut k = nf;
    series(|| {
        k -= 1.0;
        (k >= 0.5).then_some(k * inv)
    })
    .times(nf * inv)
}

/// `G(b, y) = sum_{m>=0} y^m / ((b+1) (b+2) ... (b+m))`, the series of the lower incomplete
/// gamma function: `gamma(b, y) = y^b e^-y G(b, y) / b`, on its own: the reference for the
/// single pass of the Erlang A sums, which folds it in.
#[cfg(test)]
pub(crate) fn gamma_series(b: f64, y: f64) -> Scaled {
    let mut m = 0.0;
    series(|| {
        m += 1.0;
        Some(y / (b + m))
    })
}

/// `1 + q1 + q1 q2 + q1 q2 q3 + ...` with the ratios `q` from `ratio` (`None` ends the
/// series), stopped once the ratios are below 1 and shrinking (as in both series here) and
/// the geometric bound on the rest is below `EPS` of the sum.
fn series(mut ratio: impl FnMut() -> Option<f64>) -> Scaled {
    let mut term = 1.0;
    let mut sum = 0.0;
    let mut ln_scale = 0.0;
    loop {
        sum += term;
        let Some(q) = ratio() else { break };
        if q < 1.0 && term * q < EPS * sum * (1.0 - q) {
            break;
        }
        term *= q;
        if term > BIG {
            term *= INV_BIG;
            sum *= INV_BIG;
            ln_scale += LN_BIG;
        }
    }
    Scaled {
        value: sum,
        ln_scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_sum_matches_the_direct_sum_for_small_n() {
        // n = 3, A = 2: 3/2 + 3*2/4 + 3*2*1/8 = 1.5 + 1.5 + 0.75
        let s = below_sum(3, 2.0);
        assert!((s.get() - 3.75).abs() < 1e-15);
        assert_eq!(below_sum(1, 0.5).get(), 2.0);
    }

    #[test]
    fn below_sum_rescales_instead_of_overflowing() {
        // ln S is about the deviance 3000 ln 3 - 2000 = 1296: far beyond f64, fine as a log.
        let s = below_sum(3_000, 1_000.0);
        assert!(s.ln_scale > 0.0);
        assert!((s.ln() - 1296.0).abs() < 10.0, "{}", s.ln());
        assert_eq!(below_sum(1_000_000, 1.0), Scaled::INFINITE);
    }

    #[test]
    fn inv_big_is_exactly_the_reciprocal() {
        assert_eq!(INV_BIG, 2f64.powi(-768));
        assert_eq!(BIG, 2f64.powi(768));
    }

    #[test]
    fn gamma_series_of_zero_argument_is_one() {
        assert_eq!(gamma_series(3.0, 0.0).get(), 1.0);
        // b = 0: sum y^m / m! = e^y
        let e = gamma_series(0.0, 2.0).get();
        assert!((e - 2f64.exp()).abs() < 1e-14 * e);
    }

    #[test]
    fn mul_add_carries_the_scale() {
        let s = Scaled {
            value: 2.0,
            ln_scale: 0.0,
        }
        .mul_add(3.0, 1.0);
        assert_eq!(s.get(), 9.0);
        let big = Scaled {
            value: 1.0,
            ln_scale: 1000.0,
        }
        .mul_add(2.0, 1.0);
        assert!((big.ln() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }
}
