//! The predictive risk model: how many more dials keep the expected share of live answers
//! that find no agent under a risk level.
//!
//! Over the next window (the expected time to answer), `C` live answers arrive from the `N`
//! dials in flight and new, with `mu = p (m + n)` expected (`m` the dials in flight weighed by
//! their ages). A dial brings at most one answer, so `C ~ Binomial(N, mu / N)`: the same mean
//! as the Poisson limit but never more than `N`, so dials an agent is certain to cover carry
//! no risk (a Poisson count would put mass above any bound and never dial for one idle agent).
//! The true count is a sum of Bernoulli variables of different probabilities (aged dials are
//! less likely to answer), and the binomial of the same mean dominates it in convex order
//! (Hoeffding, Ann. Math. Statist. 27(3), 1956), so the expected overflow below is cautious.
//! The agents free for them are the ready ones, less the answered calls already waiting, plus
//! `K` busy agents finishing in the window, `K ~ Poisson(sum of P(free within h | age))`.
//! Calls that find no agent are abandoned, so the expected number is `E[(W + C - R - K)^+]`
//! and the pacer takes the largest `n` with
//!
//! `E[(W + C - R - K)^+] <= r * (W + E[C])`.
//!
//! The left side grows with `n` faster and faster (each new dial adds about
//! `p P(C > R + K - W)`) and the right side linearly, so the admissible `n` form one interval
//! from 0 and a binary search finds its end. This is the expected-overflow form of Samuelson
//! (Interfaces 29(5), 1999); Koole's call-center notes (ch. "outbound") take `C` Poisson.

use std::sync::OnceLock;

/// Largest `n` in `0..=cap` with `expected_overflow(p (m + n), in_flight + n)
/// <= r (w + p (m + n))` (0 when none is). `guess` is where the search starts (the last
/// tick's answer, which moves little from tick to tick): it gallops up or down from there,
/// then bisects, so a steady campaign costs about three evaluations instead of a dozen. The
/// answer is the same for any guess, since the admissible `n` form one interval from 0.
#[allow(clippy::too_many_arguments)]
pub fn admissible_dials(
    free: &FreeAgents,
    waiting: f64,
    m: f64,
    in_flight: u32,
    p: f64,
    r: f64,
    cap: u32,
    guess: u32,
) -> u32 {
    let fits = |n: u32| {
        let mu = p * (m + f64::from(n));
        let dials = u64::from(in_flight) + u64::from(n);
        free.expected_overflow(mu, dials) <= r * (waiting + mu)
    };
    if cap == 0 || !fits(0) {
        return 0;
    }
    let guess = guess.min(cap);
    // Gallop from the guess to a fitting `lo` and a failing `hi`, then bisect between them.
    let (mut lo, mut hi);
    let mut step = 1u32;
    if guess == 0 || fits(guess) {
        lo = guess;
        loop {
            if lo == cap {
                return cap;
            }
            let probe = lo.saturating_add(step).min(cap);
            if !fits(probe) {
                hi = probe;
                break;
            }
            lo = probe;
            step = step.saturating_mul(2);
        }
    } else {
        hi = guess;
        loop {
            let probe = hi.saturating_sub(step);
            if probe == 0 || fits(probe) {
                lo = probe; // 0 fits (checked above)
                break;
            }
            hi = probe;
            step = step.saturating_mul(2);
        }
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

    /// `E[(C - d0 - K)^+]` for `C ~ Binomial(dials, mu / dials)` independent of `K` (a `mu`
    /// above `dials` is taken as `dials`: every dial answers).
    pub fn expected_overflow(&self, mu: f64, dials: u64) -> f64 {
        if dials == 0 || mu <= 0.0 || self.d0 >= dials as i64 {
            return 0.0; // no answer can find every agent taken
        }
        self.overflow(CountWalk::binomial(dials, mu))
    }

    /// The same for `C ~ Poisson(mu)`, the pacer's first model, kept to check the binomial
    /// against its limit.
    #[cfg(test)]
    fn expected_overflow_poisson(&self, mu: f64) -> f64 {
        if mu <= 0.0 {
            return 0.0;
        }
        self.overflow(CountWalk::poisson(mu))
    }

    fn overflow(&self, mut walk: CountWalk) -> f64 {
        let mut sum = 0.0;
        for (k, &pk) in self.pk.iter().enumerate() {
            let j = self.d0 + k as i64;
            if j >= walk.hi {
                break; // C > j is impossible from here on
            }
            sum += pk * walk.excess(j);
        }
        sum
    }
}

/// `E[(C - j)^+]` for rising `j`, walking the distribution of `C` once over the range where it
/// has mass (below it `C >= j` is certain, above it `C > j` impossible). It uses
/// `E[(C - j)^+] = mu - j + E[(j - C)^+]` and `E[(j - C)^+] = sum_{i < j} P(C <= i)`, which
/// holds for any count, so one walk serves the binomial and the Poisson.
struct CountWalk {
    mu: f64,
    lo: i64,
    /// Past the last value with mass (`N + 1` for the binomial, whose bound is exact).
    hi: i64,
    /// The pmf step `P(c + 1) / P(c) = (a - b c) / (c + 1)`: `a = mu`, `b = 0` for the
    /// Poisson; `a = N p / (1 - p)`, `b = p / (1 - p)` for the binomial.
    a: f64,
    b: f64,
    /// The next value whose probability is not yet in `acc`, and that probability.
    c: i64,
    p: f64,
    /// P(C < c).
    acc: f64,
    /// E[(c - C)^+] = sum over i < c of P(C <= i).
    under: f64,
}

impl CountWalk {
    fn range(mu: f64) -> (i64, i64) {
        let spread = 8.0 * mu.sqrt() + 8.0;
        let lo = (mu - spread).floor().max(0.0) as i64;
        (lo, (mu + spread).ceil() as i64 + 1)
    }

    #[cfg(test)]
    fn poisson(mu: f64) -> Self {
        let (lo, hi) = Self::range(mu);
        let p = (-mu + lo as f64 * mu.ln() - ln_factorial(lo)).exp();
        CountWalk {
            mu,
            lo,
            hi,
            a: mu,
            b: 0.0,
            c: lo,
            p,
            acc: 0.0,
            under: 0.0,
        }
    }

    /// `mu` is clamped to `(0, n]`; at `mu = n` every dial answers.
    fn binomial(n: u64, mu: f64) -> Self {
        let nf = n as f64;
        let mu = mu.min(nf);
        let q = mu / nf;
        let (lo, hi) = Self::range(mu);
        let (lo, hi) = (lo.min(n as i64), hi.min(n as i64 + 1));
        if q >= 1.0 {
            // All mass at n: the walk starts there with probability 1 and stops.
            let n = n as i64;
            return CountWalk {
                mu,
                lo: n,
                hi: n + 1,
                a: 0.0,
                b: 0.0,
                c: n,
                p: 1.0,
                acc: 0.0,
                under: 0.0,
            };
        }
        let ln_p = ln_factorial(n as i64) - ln_factorial(lo) - ln_factorial(n as i64 - lo)
            + if lo > 0 { lo as f64 * q.ln() } else { 0.0 } // most walks start at 0
            + (nf - lo as f64) * (-q).ln_1p();
        let odds = q / (1.0 - q);
        CountWalk {
            mu,
            lo,
            hi,
            a: nf * odds,
            b: odds,
            c: lo,
            p: ln_p.exp(),
            acc: 0.0,
            under: 0.0,
        }
    }

    /// `E[(C - j)^+]`, for `j` never below the last asked.
    fn excess(&mut self, j: i64) -> f64 {
        if j <= self.lo {
            return self.mu - j as f64; // C >= lo (up to the negligible tail)
        }
        while self.c < j {
            // E[(c + 1 - C)^+] = E[(c - C)^+] + P(C <= c).
            self.acc += self.p;
            self.under += self.acc.min(1.0);
            self.p *= (self.a - self.b * self.c as f64) / (self.c + 1) as f64;
            self.c += 1;
        }
        (self.mu - j as f64 + self.under).max(0.0)
    }
}

/// Counts below this have their `ln(n!)` read from a table: every binomial walk starts with
/// three of them, and for a small count each was a sum of up to 19 `ln`s (most of a tick's
/// cost once the shapes were tabulated).
const LN_FACTORIAL_TABLE: usize = 1024;

/// ln(n!), exact by product up to 20, Stirling's series beyond (error below 1e-12 there); the
/// table holds the same values, so a lookup changes no result.
fn ln_factorial(n: i64) -> f64 {
    static TABLE: OnceLock<Box<[f64]>> = OnceLock::new();
    match usize::try_from(n) {
        Ok(i) if i < LN_FACTORIAL_TABLE => TABLE.get_or_init(|| {
            (0..LN_FACTORIAL_TABLE as i64)
                .map(ln_factorial_direct)
                .collect()
        })[i],
        _ => ln_factorial_direct(n),
    }
}

fn ln_factorial_direct(n: i64) -> f64 {
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
            let got = FreeAgents::new(d0, lambda, Vec::new()).expected_overflow_poisson(mu);
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
    fn the_ln_factorial_table_holds_the_direct_values() {
        let edge = LN_FACTORIAL_TABLE as i64;
        for n in (-1..40).chain([500, edge - 1, edge, edge + 1, 1 << 20]) {
            assert_eq!(
                ln_factorial(n).to_bits(),
                ln_factorial_direct(n).to_bits(),
                "{n}"
            );
        }
    }

    #[test]
    fn more_free_agents_allow_more_dials_and_none_allow_none() {
        let dials = |ready: i64| {
            let free = FreeAgents::new(ready, 1.0, Vec::new());
            admissible_dials(&free, 0.0, 0.0, 0, 0.2, 0.03, 10_000, 0)
        };
        let counts: Vec<u32> = (0..30).map(dials).collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        assert!(counts[29] > 29 * 3, "{counts:?}");
        let none = FreeAgents::new(0, 0.0, Vec::new());
        assert_eq!(
            admissible_dials(&none, 0.0, 0.0, 0, 0.2, 0.03, 10_000, 0),
            0
        );
    }

    #[test]
    fn every_starting_guess_finds_the_same_count() {
        for (d0, lambda, m, in_flight) in [(0, 0.5, 0.0, 0), (3, 2.0, 4.0, 6), (-2, 6.0, 1.5, 9)] {
            let free = FreeAgents::new(d0, lambda, Vec::new());
            let want = admissible_dials(&free, 1.0, m, in_flight, 0.3, 0.03, 500, 0);
            for guess in [
                1,
                2,
                want.saturating_sub(1),
                want,
                want + 1,
                want + 7,
                499,
                500,
                9_999,
            ] {
                let got = admissible_dials(&free, 1.0, m, in_flight, 0.3, 0.03, 500, guess);
                assert_eq!(got, want, "d0 {d0} lambda {lambda} guess {guess}");
            }
        }
    }

    #[test]
    fn the_chosen_count_is_the_last_that_fits() {
        let free = FreeAgents::new(8, 2.0, Vec::new());
        let (p, r) = (0.25, 0.05);
        let n = admissible_dials(&free, 0.0, 2.5, 3, p, r, 10_000, 0);
        let ok = |n: u32| {
            let mu = p * (2.5 + f64::from(n));
            free.expected_overflow(mu, 3 + u64::from(n)) <= r * mu
        };
        assert!(ok(n) && !ok(n + 1), "{n}");
        assert_eq!(admissible_dials(&free, 0.0, 2.5, 3, p, r, 5, 0), 5);
    }

    /// E[(C - d0 - K)^+] for `C ~ Binomial(n, mu / n)` by brute force (pmf from the product
    /// formula, no walk), `K` Poisson as above.
    fn brute_binomial(d0: i64, lambda: f64, mu: f64, n: i64) -> f64 {
        let q = mu / n as f64;
        let binom = |c: i64| {
            let ln_choose = ln_factorial(n) - ln_factorial(c) - ln_factorial(n - c);
            (ln_choose + c as f64 * q.ln() + (n - c) as f64 * (1.0 - q).ln()).exp()
        };
        let pois = |k: i64| (-lambda + k as f64 * lambda.ln() - ln_factorial(k)).exp();
        let mut s = 0.0;
        for k in 0..200 {
            let pk = if lambda == 0.0 {
                f64::from(u8::from(k == 0))
            } else {
                pois(k)
            };
            for c in 0..=n {
                s += pk * binom(c) * (c - d0 - k).max(0) as f64;
            }
        }
        s
    }

    #[test]
    fn binomial_overflow_matches_brute_force() {
        for (d0, lambda, mu, n) in [
            (1, 0.0, 1.5, 3),
            (2, 0.5, 2.0, 10),
            (-2, 1.0, 1.0, 4),
            (5, 2.0, 4.0, 20),
            (40, 3.0, 45.0, 200),
            (3, 8.0, 20.0, 25),
            (10, 0.0, 9.5, 12),
        ] {
            let got = FreeAgents::new(d0, lambda, Vec::new()).expected_overflow(mu, n as u64);
            let want = brute_binomial(d0, lambda, mu, n);
            assert!(
                (got - want).abs() < 1e-9 * (1.0 + want),
                "{d0} {lambda} {mu} {n}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn dials_the_certain_agents_cover_carry_no_risk() {
        // However likely an answer, no more answers than dials can come.
        for d0 in 0..6i64 {
            let free = FreeAgents::new(d0, 0.0, Vec::new());
            for dials in 0..=d0 as u64 {
                assert_eq!(free.expected_overflow(0.9 * dials as f64, dials), 0.0);
            }
            if d0 > 0 {
                // The Poisson count put risk on these very dials.
                assert!(free.expected_overflow_poisson(0.9 * d0 as f64) > 0.0);
            }
            // So a team of d0 idle agents is dialed for at least d0 times, at any risk level.
            for r in [0.0, 0.01, 0.03] {
                let n = admissible_dials(&free, 0.0, 0.0, 0, 0.5, r, 10_000, 0);
                assert!(n as i64 >= d0, "{d0} {r}: {n}");
            }
        }
        // Dials in flight take their share of the certain agents.
        let free = FreeAgents::new(3, 0.0, Vec::new());
        assert_eq!(admissible_dials(&free, 0.0, 2.0, 2, 0.5, 0.0, 10_000, 0), 1);
    }

    #[test]
    fn binomial_tends_to_poisson_for_many_dials_of_small_p() {
        for (d0, lambda, mu) in [
            (5, 2.0, 4.0),
            (40, 3.0, 45.0),
            (0, 0.5, 3.0),
            (300, 10.0, 320.0),
        ] {
            let free = FreeAgents::new(d0, lambda, Vec::new());
            let poisson = free.expected_overflow_poisson(mu);
            let near = free.expected_overflow(mu, 1_000_000);
            let far = free.expected_overflow(mu, (4.0 * mu) as u64);
            assert!(
                (near - poisson).abs() < 1e-3 * poisson,
                "{d0} {mu}: {near} vs {poisson}"
            );
            // Fewer dials of a higher p spread less: less overflow than the Poisson.
            assert!(far < poisson, "{d0} {mu}: {far} vs {poisson}");
        }
    }

    #[test]
    fn degenerate_counts_are_finite() {
        let free = FreeAgents::new(2, 1.5, Vec::new());
        for (mu, dials) in [
            (0.0, 0),
            (0.0, 10),
            (3.0, 0),
            (1e-300, 5),
            (10.0, 10),
            (12.0, 10),
        ] {
            let v = free.expected_overflow(mu, dials);
            assert!(v.is_finite() && v >= 0.0, "{mu} {dials}: {v}");
        }
        assert_eq!(free.expected_overflow(0.0, 10), 0.0);
        // Every dial answers (mu = dials, or above it, clamped): C = 10 for sure.
        let all = FreeAgents::new(2, 0.0, Vec::new()).expected_overflow(10.0, 10);
        assert!((all - 8.0).abs() < 1e-12, "{all}");
        // With K ~ Poisson(1.5) beside: E[(8 - K)^+].
        let k_mean: f64 = (0..9)
            .map(|k: i64| {
                let pk = (-1.5 + k as f64 * 1.5f64.ln() - ln_factorial(k)).exp();
                pk * (8 - k) as f64
            })
            .sum();
        assert!((free.expected_overflow(10.0, 10) - k_mean).abs() < 1e-12);
        assert!((free.expected_overflow(12.0, 10) - k_mean).abs() < 1e-12);
    }
}
