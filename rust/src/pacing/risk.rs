//! The predictive risk model: how many more dials keep the expected share of live answers
//! that find no agent under a risk level.
//!
//! Over the next window (the expected time to answer), `C` live answers arrive from the dials
//! in flight and the new ones, each answering live with probability `p`, so
//! `C ~ Poisson(p (m + n))` (the Poisson limit of the binomial: many dials, small `p`). The
//! agents free for them are the ready ones, less the answered calls already waiting, plus `K`
//! busy agents finishing in the window, `K ~ Poisson(sum of P(free within h | age))`. Calls that
//! find no agent are abandoned, so the expected number is `E[(W + C - R - K)^+]` and the pacer
//! takes the largest `n` with
//!
//! `E[(W + C - R - K)^+] <= r * (W + E[C])`.
//!
//! The left side is convex in `n` (its slope is `p P(C > R + K - W)`, growing with `n`) and the
//! right side linear, so the admissible `n` form one interval from 0 and a binary search finds
//! its end. This is the expected-overflow form of Samuelson (Interfaces 29(5), 1999) with the
//! Poisson approximations of Koole's call-center notes (ch. "outbound").

/// Largest `n` in `0..=cap` with `expected_overflow(d0, k, p (m + n)) <= r (w + p (m + n))`
/// (0 when none is).
pub fn admissible_dials(free: &FreeAgents, waiting: f64, m: f64, p: f64, r: f64, cap: u32) -> u32 {
    let fits = |n: u32| {
        let mu = p * (m + f64::from(n));
        free.expected_overflow(mu) <= r * (waiting + mu)
    };
    if cap == 0 || !fits(0) {
        return 0;
    }
    // fits(lo) holds; grow hi until it fails (or reaches cap), then bisect.
    let (mut lo, mut hi) = (0u32, 1u32.max(cap.min(16)));
    while fits(hi) {
        if hi >= cap {
            return cap;
        }
        lo = hi;
        hi = hi.saturating_mul(2).min(cap);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Agents for the window: `d0` certain (ready less waiting; may be negative) plus a Poisson
/// number of busy agents freeing up, kept as its probabilities.
pub struct FreeAgents {
    d0: i64,
    /// P(K = k) for k = 0..len, the tail beyond negligible.
    pk: Vec<f64>,
}

impl FreeAgents {
    pub fn new(d0: i64, lambda: f64, buf: Vec<f64>) -> Self {
        let mut pk = buf;
        pk.clear();
        let kmax = (lambda + 8.0 * lambda.sqrt() + 8.0).ceil() as usize;
        let mut p = (-lambda).exp();
        for k in 0..=kmax {
            pk.push(p);
            p *= lambda / (k + 1) as f64;
        }
        FreeAgents { d0, pk }
    }

    /// The probability buffer, for reuse by the next campaign.
    pub fn into_buf(self) -> Vec<f64> {
        self.pk
    }

    /// `E[(C - d0 - K)^+]` for `C ~ Poisson(mu)` independent of `K`.
    pub fn expected_overflow(&self, mu: f64) -> f64 {
        if mu <= 0.0 {
            return 0.0;
        }
        let mut poisson = PoissonWalk::new(mu);
        let mut sum = 0.0;
        for (k, &pk) in self.pk.iter().enumerate() {
            let j = self.d0 + k as i64;
            if j > poisson.hi {
                break; // C > j is impossible from here on
            }
            sum += pk * poisson.excess(j);
        }
        sum
    }
}

/// `E[(C - j)^+]` for `C ~ Poisson(mu)` and rising `j`, walking the distribution once over
/// the range where it has mass (below it `C >= j` is certain, above it `C > j` impossible).
struct PoissonWalk {
    mu: f64,
    lo: i64,
    hi: i64,
    /// The next value whose probability is not yet in `acc`, and that probability.
    c: i64,
    p: f64,
    /// P(C < c).
    acc: f64,
}

impl PoissonWalk {
    fn new(mu: f64) -> Self {
        let spread = 8.0 * mu.sqrt() + 8.0;
        let lo = (mu - spread).floor().max(0.0) as i64;
        let hi = (mu + spread).ceil() as i64;
        let p = (-mu + lo as f64 * mu.ln() - ln_factorial(lo)).exp();
        PoissonWalk {
            mu,
            lo,
            hi,
            c: lo,
            p,
            acc: 0.0,
        }
    }

    /// P(C <= x), for `x` never below the last asked.
    fn cdf(&mut self, x: i64) -> f64 {
        if x < self.lo {
            return 0.0;
        }
        if x >= self.hi {
            return 1.0;
        }
        while self.c <= x {
            self.acc += self.p;
            self.p *= self.mu / (self.c + 1) as f64;
            self.c += 1;
        }
        self.acc.min(1.0)
    }

    /// `E[(C - j)^+] = mu P(C >= j) - j P(C >= j + 1)` for `j >= 1` (as `c P(c) = mu P(c - 1)`);
    /// `mu - j` for `j <= 0`.
    fn excess(&mut self, j: i64) -> f64 {
        if j <= 0 {
            return self.mu - j as f64;
        }
        let below = self.cdf(j - 1);
        let upto = self.cdf(j);
        (self.mu * (1.0 - below) - j as f64 * (1.0 - upto)).max(0.0)
    }
}

/// ln(n!), exact by product up to 20, Stirling's series beyond (error below 1e-12 there).
fn ln_factorial(n: i64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    if n <= 20 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    let x3 = x * x * x;
    x * x.ln() - x + 0.5 * (std::f64::consts::TAU * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x3)
        + 1.0 / (1260.0 * x3 * x * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E[(C - d0 - K)^+] by brute force over both distributions.
    fn brute(d0: i64, lambda: f64, mu: f64) -> f64 {
        let pois = |l: f64, k: i64| {
            if l == 0.0 {
                return f64::from(u8::from(k == 0));
            }
            (-l + k as f64 * l.ln() - ln_factorial(k)).exp()
        };
        let mut s = 0.0;
        for k in 0..200 {
            for c in 0..400 {
                let over = (c - d0 - k).max(0) as f64;
                s += pois(lambda, k) * pois(mu, c) * over;
            }
        }
        s
    }

    #[test]
    fn expected_overflow_matches_brute_force() {
        for (d0, lambda, mu) in [
            (5, 2.0, 4.0),
            (0, 0.5, 3.0),
            (-2, 1.0, 1.0),
            (40, 3.0, 45.0),
            (10, 0.0, 2.0),
            (3, 8.0, 20.0),
        ] {
            let got = FreeAgents::new(d0, lambda, Vec::new()).expected_overflow(mu);
            let want = brute(d0, lambda, mu);
            assert!(
                (got - want).abs() < 1e-9 * (1.0 + want),
                "{d0} {lambda} {mu}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn ln_factorial_is_continuous_at_the_switch() {
        let exact: f64 = (2..=21).map(|k| (k as f64).ln()).sum();
        assert!((ln_factorial(21) - exact).abs() < 1e-10);
    }

    #[test]
    fn more_free_agents_allow_more_dials_and_none_allow_none() {
        let dials = |ready: i64| {
            let free = FreeAgents::new(ready, 1.0, Vec::new());
            admissible_dials(&free, 0.0, 0.0, 0.2, 0.03, 10_000)
        };
        let counts: Vec<u32> = (0..30).map(dials).collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        assert!(counts[29] > 29 * 3, "{counts:?}");
        let none = FreeAgents::new(0, 0.0, Vec::new());
        assert_eq!(admissible_dials(&none, 0.0, 0.0, 0.2, 0.03, 10_000), 0);
    }

    #[test]
    fn the_chosen_count_is_the_last_that_fits() {
        let free = FreeAgents::new(8, 2.0, Vec::new());
        let (p, r) = (0.25, 0.05);
        let n = admissible_dials(&free, 0.0, 3.0, p, r, 10_000);
        let ok = |n: u32| {
            let mu = p * (3.0 + f64::from(n));
            free.expected_overflow(mu) <= r * mu
        };
        assert!(ok(n) && !ok(n + 1), "{n}");
        assert_eq!(admissible_dials(&free, 0.0, 3.0, p, r, 5), 5);
    }
}
