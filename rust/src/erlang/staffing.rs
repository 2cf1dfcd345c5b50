//! Agents required for a target: the fewest agents whose service level, ASA, abandonment and
//! occupancy all meet it, then the agents to schedule once shrinkage (breaks, training,
//! absence) takes its share: `scheduled = ceil(required / (1 - shrinkage))`.
//!
//! Every metric improves as agents are added, so the answer is the first `n` that meets all
//! targets. Erlang C walks up from the first stable count (`floor(A) + 1`, or `A / max
//! occupancy`) with the recurrence `S(n+1) = (n+1)/A (1 + S(n))`: one sum of about `9 sqrt(A)`
//! terms and then a few operations per agent, never work in proportion to `n`. Erlang A has no
//! such recurrence for its queue sums; it starts just below the Erlang C answer for the same
//! targets (or at `A`), walks a few agents carrying `S`, then gallops to a bracket and bisects:
//! usually two full evaluations in all.

use super::erlang_a::Queue;
use super::erlang_c::{metrics, p_wait, unstable};
use super::sums::{Scaled, below_sum};
use super::{Metrics, check_seconds, check_threshold, check_traffic};
use crate::error::{Error, Result};

/// What the staffing must achieve. `threshold` is the service-level threshold in seconds (the
/// reported service level uses it even when `service_level` is not a target).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Minimum fraction of calls answered within `threshold`, in (0, 1).
    pub service_level: Option<f64>,
    pub threshold: f64,
    /// Maximum average speed of answer, seconds.
    pub max_asa: Option<f64>,
    /// Maximum fraction of calls abandoned, in (0, 1); needs a patience (Erlang A).
    pub max_abandon: Option<f64>,
    /// Maximum occupancy, in (0, 1].
    pub max_occupancy: Option<f64>,
    /// Fraction of scheduled time agents are not available for calls, in [0, 1).
    pub shrinkage: f64,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            service_level: Some(0.8),
            threshold: 20.0,
            max_asa: None,
            max_abandon: None,
            max_occupancy: None,
            shrinkage: 0.0,
        }
    }
}

/// The answer: agents required on the phones, agents to schedule, and the metrics at
/// `agents`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Staffing {
    pub agents: u64,
    pub scheduled: u64,
    pub metrics: Metrics,
}

/// A fraction strictly inside (0, 1) (`closed_top` admits 1).
fn check_fraction(what: &str, v: f64, closed_top: bool) -> Result<()> {
    let top_ok = if closed_top { v <= 1.0 } else { v < 1.0 };
    if v > 0.0 && top_ok {
        Ok(())
    } else {
        let range = if closed_top { "(0, 1]" } else { "(0, 1)" };
        Err(Error::invalid(format!(
            "{what} must be in {range}, got {v}"
        )))
    }
}

impl Target {
    fn check(&self, patience: Option<f64>) -> Result<()> {
        check_threshold(self.threshold)?;
        if let Some(v) = self.service_level {
            check_fraction("service level target", v, false)?;
        }
        if let Some(v) = self.max_asa {
            check_seconds("max ASA", v)?;
        }
        if let Some(v) = self.max_abandon {
            check_fraction("max abandon", v, false)?;
            if patience.is_none() {
                return Err(Error::invalid(
                    "a max abandon target needs a patience (Erlang A): under Erlang C nobody \
                     abandons",
                ));
            }
        }
        if let Some(v) = self.max_occupancy {
            check_fraction("max occupancy", v, true)?;
        }
        if !(0.0..1.0).contains(&self.shrinkage) {
            return Err(Error::invalid(format!(
                "shrinkage must be in [0, 1), got {}",
                self.shrinkage
            )));
        }
        let none = self.service_level.is_none()
            && self.max_asa.is_none()
            && self.max_abandon.is_none()
            && self.max_occupancy.is_none();
        if none {
            return Err(Error::invalid(
                "no staffing target: give a service level, a max ASA, a max abandon or a max \
                 occupancy",
            ));
        }
        Ok(())
    }

    fn met(&self, m: &Metrics) -> bool {
        self.service_level.is_none_or(|v| m.service_level >= v)
            && self.max_asa.is_none_or(|v| m.asa <= v)
            && self.max_abandon.is_none_or(|v| m.abandon <= v)
            && self.max_occupancy.is_none_or(|v| m.occupancy <= v)
    }

    /// `ceil(agents / (1 - shrinkage))`; a quotient within 1e-9 of an integer is that integer
    /// (0.3 is not exact in binary, and 7 / 0.7 must stay 10).
    fn scheduled(&self, agents: u64) -> u64 {
        let exact = agents as f64 / (1.0 - self.shrinkage);
        (exact * (1.0 - 1e-9)).ceil().max(agents as f64) as u64
    }
}

/// Staffing for `traffic` Erlangs with handle time `aht` (seconds): Erlang C, or Erlang A
/// when `patience` (mean, seconds) is given.
///
/// No traffic (an interval the forecast leaves empty, e.g. closed hours) needs no agents: 0
/// required and scheduled, service level 1, nothing waits.
pub fn staff(traffic: f64, aht: f64, patience: Option<f64>, target: &Target) -> Result<Staffing> {
    if traffic != 0.0 {
        check_traffic(traffic)?;
    }
    check_seconds("aht", aht)?;
    if let Some(p) = patience {
        check_seconds("patience", p)?;
    }
    target.check(patience)?;
    if traffic == 0.0 {
        return Ok(Staffing {
            agents: 0,
            scheduled: 0,
            metrics: Metrics {
                p_wait: 0.0,
                service_level: 1.0,
                asa: 0.0,
                occupancy: 0.0,
                abandon: 0.0,
            },
        });
    }
    let (agents, metrics) = match patience {
        None => staff_c(traffic, aht, target).map(|c| (c.agents, c.metrics))?,
        Some(p) => staff_a(traffic, aht, p, target)?,
    };
    Ok(Staffing {
        agents,
        scheduled: target.scheduled(agents),
        metrics,
    })
}

/// Steps past this many agents above the start mean a target no count can meet.
const MAX_STEPS: u64 = 1 << 32;
/// Agent counts stay exact as floats (and far from `u64` overflow).
const MAX_AGENTS: f64 = 1e15;

/// The Erlang C answer with what the Erlang A search starts from.
struct CAnswer {
    agents: u64,
    metrics: Metrics,
    /// `S(agents, A)`.
    below: Scaled,
    /// The occupancy cap decided, not the waiting (one agent fewer would break it).
    capped: bool,
}

fn staff_c(traffic: f64, aht: f64, target: &Target) -> Result<CAnswer> {
    let mut n = traffic.floor() as u64 + 1;
    if let Some(occ) = target.max_occupancy {
        let floor = (traffic / occ).floor();
        if floor > MAX_AGENTS {
            return Err(Error::invalid(format!(
                "max occupancy {occ} at {traffic} Erlangs needs more than {MAX_AGENTS:e} agents"
            )));
        }
        n = n.max(floor as u64);
    }
    let start = n;
    let mut s = below_sum(n, traffic);
    // The service level's tail exp(-(n - A) t / aht), carried by one multiply per agent.
    let rate = target.threshold / aht;
    let decay = (-rate).exp();
    let mut tail = (-(n as f64 - traffic) * rate).exp();
    loop {
        let nf = n as f64;
        let gap = nf - traffic;
        let p_wait = p_wait(nf, gap, s);
        let likely = target
            .service_level
            .is_none_or(|v| 1.0 - p_wait * tail >= v)
            && target.max_asa.is_none_or(|v| p_wait * aht <= v * gap)
            && target.max_occupancy.is_none_or(|v| traffic <= v * nf);
        if likely {
            // The reported metrics decide (the carried tail may differ in the last bits).
            let m = metrics(n, traffic, aht, target.threshold, s);
            if target.met(&m) {
                return Ok(CAnswer {
                    agents: n,
                    metrics: m,
                    below: s,
                    capped: target
                        .max_occupancy
                        .is_some_and(|v| traffic > v * (nf - 1.0)),
                });
            }
        }
        if n - start > MAX_STEPS {
            return Err(unstable(n, traffic));
        }
        n += 1;
        s = s.mul_add(n as f64 / traffic, 1.0);
        tail *= decay;
    }
}

/// Agents walked one at a time from the Erlang C guess before galloping: the answer is
/// usually within a few, and each step reuses `S(n, A)`.
const WALK: u32 = 6;

/// Abandonment lowers the agents required below Erlang C's when the waiting decides, usually
/// by one to three, and by at most one when an occupancy cap does (abandoned calls take no
/// agent time, but few abandon): the walk starts this far below, so that most intervals take
/// two evaluations (the answer and the count below it).
const BELOW_C: u64 = 2;
const BELOW_C_CAPPED: u64 = 1;

/// `S(n-1, A) = S(n, A) A / n - 1`, when the subtraction loses at most one bit
/// (`S(n-1) > 1`); otherwise the sum is taken afresh.
fn below_down(s: Scaled, n: u64, traffic: f64) -> Scaled {
    let down = s.value * traffic / n as f64;
    if s.ln_scale == 0.0 && down > 2.0 {
        Scaled {
            value: down - 1.0,
            ln_scale: 0.0,
        }
    } else {
        below_sum(n - 1, traffic)
    }
}

fn staff_a(traffic: f64, aht: f64, patience: f64, target: &Target) -> Result<(u64, Metrics)> {
    let queue = Queue::new(traffic, aht, patience, target.threshold);
    let eval = |n: u64, s: Scaled| queue.metrics(n, s);
    let c_targets = target.service_level.is_some() || target.max_asa.is_some();
    let (mut n, mut s) = if c_targets {
        let c = Target {
            max_abandon: None,
            ..*target
        };
        let c = staff_c(traffic, aht, &c)?;
        let (mut n, mut s) = (c.agents, c.below);
        for _ in 0..if c.capped { BELOW_C_CAPPED } else { BELOW_C } {
            if n == 1 {
                break;
            }
            (n, s) = (n - 1, below_down(s, n, traffic));
        }
        (n, s)
    } else {
        let n = traffic.ceil().max(1.0) as u64;
        (n, below_sum(n, traffic))
    };
    let mut m = eval(n, s)?;
    let met = target.met(&m);
    for _ in 0..WALK {
        if met {
            if n == 1 {
                return Ok((n, m));
            }
            let down = below_down(s, n, traffic);
            let below = eval(n - 1, down)?;
            if !target.met(&below) {
                return Ok((n, m));
            }
            (n, s, m) = (n - 1, down, below);
        } else {
            s = s.mul_add((n + 1) as f64 / traffic, 1.0);
            n += 1;
            m = eval(n, s)?;
            if target.met(&m) {
                return Ok((n, m));
            }
        }
    }
    gallop(
        n,
        m,
        met,
        |n| eval(n, below_sum(n, traffic)),
        target,
        traffic,
    )
}

/// From `n` (whose metrics `m` meet the target or not, `met`), doubles the step to a bracket
/// and bisects it: the fewest agents that meet the target.
fn gallop(
    n: u64,
    m: Metrics,
    met: bool,
    at: impl Fn(u64) -> Result<Metrics>,
    target: &Target,
    traffic: f64,
) -> Result<(u64, Metrics)> {
    // Bracket: `fail` does not meet the target (0 stands for "no agents"), `ok` does.
    let (mut fail, mut ok, mut ok_m) = if met {
        let (mut ok, mut ok_m, mut step) = (n, m, 1u64);
        loop {
            let lower = ok.saturating_sub(step);
            if lower == 0 {
                break (0, ok, ok_m);
            }
            let m = at(lower)?;
            if !target.met(&m) {
                break (lower, ok, ok_m);
            }
            (ok, ok_m, step) = (lower, m, step * 2);
        }
    } else {
        let (mut fail, mut step) = (n, 1u64);
        loop {
            if step > MAX_STEPS {
                return Err(Error::invalid(format!(
                    "no agent count meets the target at {traffic} Erlangs"
                )));
            }
            let upper = fail + step;
            let m = at(upper)?;
            if target.met(&m) {
                break (fail, upper, m);
            }
            (fail, step) = (upper, step * 2);
        }
    };
    while ok - fail > 1 {
        let mid = fail + (ok - fail) / 2;
        let m = at(mid)?;
        if target.met(&m) {
            (ok, ok_m) = (mid, m);
        } else {
            fail = mid;
        }
    }
    Ok((ok, ok_m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::{erlang_a, erlang_c, map_items_on};

    fn sl(v: f64) -> Target {
        Target {
            service_level: Some(v),
            ..Target::default()
        }
    }

    #[test]
    fn the_answer_is_the_first_count_that_meets_the_target() {
        for &a in &[0.05, 1.0, 9.7, 48.0, 333.3, 5_000.0, 100_000.0] {
            let s = staff(a, 180.0, None, &sl(0.8)).unwrap();
            assert!(s.metrics.service_level >= 0.8);
            let n = s.agents;
            if (n - 1) as f64 > a {
                let below = erlang_c(n - 1, a, 180.0, 20.0).unwrap();
                assert!(below.service_level < 0.8, "a={a} n={n}");
            }
            let direct = erlang_c(n, a, 180.0, 20.0).unwrap();
            let rel = (direct.service_level - s.metrics.service_level).abs() / direct.service_level;
            assert!(
                rel < 1e-11,
                "a={a}: stepped {:?} direct {direct:?}",
                s.metrics
            );
        }
    }

    #[test]
    fn shrinkage_rounds_up_and_exact_quotients_stay() {
        let t = Target {
            shrinkage: 0.3,
            ..sl(0.8)
        };
        assert_eq!(t.scheduled(7), 10);
        assert_eq!(t.scheduled(8), 12);
        assert_eq!(Target::default().scheduled(13), 13);
    }

    #[test]
    fn occupancy_cap_adds_agents() {
        let free = staff(100.0, 300.0, None, &sl(0.5)).unwrap();
        let capped = staff(
            100.0,
            300.0,
            None,
            &Target {
                max_occupancy: Some(0.85),
                ..sl(0.5)
            },
        )
        .unwrap();
        assert!(free.metrics.occupancy > 0.85);
        assert_eq!(capped.agents, 118); // ceil(100 / 0.85)
    }

    #[test]
    fn erlang_a_search_finds_the_boundary() {
        for &(a, p) in &[
            (3.0, 60.0),
            (48.0, 120.0),
            (400.0, 600.0),
            (50.0, 10.0),
            (5_000.0, 5.0),
        ] {
            for target in [
                sl(0.8),
                // The start one below Erlang C when its occupancy cap decides.
                Target {
                    max_occupancy: Some(0.85),
                    ..sl(0.8)
                },
                Target {
                    service_level: None,
                    max_abandon: Some(0.03),
                    ..Target::default()
                },
            ] {
                let s = staff(a, 240.0, Some(p), &target).unwrap();
                assert!(target.met(&s.metrics));
                let direct = erlang_a(s.agents, a, 240.0, p, 20.0).unwrap();
                let rel = (direct.p_wait - s.metrics.p_wait).abs() / direct.p_wait;
                assert!(rel < 1e-12, "a={a} p={p}: {direct:?} vs {:?}", s.metrics);
                if s.agents > 1 {
                    let below = erlang_a(s.agents - 1, a, 240.0, p, 20.0).unwrap();
                    assert!(!target.met(&below), "a={a} p={p} n={}", s.agents);
                }
            }
        }
    }

    /// The fast search (Erlang C guess, carried sums, walk and gallop), alone and split over
    /// threads, against the plain one: every count from 1 up, each evaluated afresh.
    #[test]
    fn fast_search_equals_the_plain_search_on_random_inputs() {
        let mut rng = crate::rng::Rng::new(11);
        let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let targets = [
            Target {
                max_occupancy: Some(0.85),
                shrinkage: 0.3,
                ..sl(0.8)
            },
            Target {
                service_level: None,
                max_asa: Some(15.0),
                ..Target::default()
            },
            Target {
                service_level: None,
                max_abandon: Some(0.03),
                ..Target::default()
            },
        ];
        let cases: Vec<(f64, f64, Option<f64>, usize)> = (0..9000)
            .map(|i| {
                let traffic = 0.05 * 4000f64.powf(unit()); // 0.05 .. 200 Erlangs
                let aht = 60.0 + 540.0 * unit();
                let patience = (i % 3 != 0).then(|| 20.0 + 580.0 * unit());
                let t = if patience.is_some() { i % 3 } else { i % 2 };
                (traffic, aht, patience, t)
            })
            .collect();
        let fast = |i: usize| {
            let (a, aht, p, t) = cases[i];
            staff(a, aht, p, &targets[t])
        };
        let one = map_items_on(1, cases.len(), fast).unwrap();
        assert_eq!(map_items_on(2, cases.len(), fast).unwrap(), one);
        for (&(a, aht, p, t), got) in cases.iter().zip(&one) {
            let target = &targets[t];
            let at = |n: u64| match p {
                None => erlang_c(n, a, aht, target.threshold),
                Some(p) => erlang_a(n, a, aht, p, target.threshold),
            };
            let first = p.map_or(a.floor() as u64 + 1, |_| 1);
            let plain = (first..)
                .find(|&n| at(n).is_ok_and(|m| target.met(&m)))
                .unwrap();
            assert_eq!(got.agents, plain, "a={a} aht={aht} p={p:?} target {t}");
            assert_eq!(got.scheduled, target.scheduled(plain));
            let direct = at(plain).unwrap();
            let rel = (direct.p_wait - got.metrics.p_wait).abs() / direct.p_wait.max(1e-300);
            assert!(rel < 1e-11, "a={a}: {direct:?} vs {:?}", got.metrics);
        }
    }

    #[test]
    fn bad_targets_are_named() {
        let err = |t: Target, p: Option<f64>| staff(10.0, 180.0, p, &t).unwrap_err().to_string();
        assert!(err(sl(1.0), None).contains("service level"));
        assert!(err(sl(0.0), None).contains("service level"));
        let t = Target {
            service_level: None,
            max_abandon: Some(0.05),
            ..Target::default()
        };
        assert!(err(t, None).contains("patience"));
        let t = Target {
            shrinkage: 1.0,
            ..sl(0.8)
        };
        assert!(err(t, None).contains("shrinkage"));
        let t = Target {
            service_level: None,
            ..Target::default()
        };
        assert!(err(t, None).contains("no staffing target"));
        assert!(staff(-1.0, 180.0, None, &sl(0.8)).is_err());
        let none = staff(0.0, 180.0, Some(60.0), &sl(0.8)).unwrap();
        assert_eq!((none.agents, none.scheduled), (0, 0));
        assert_eq!(none.metrics.service_level, 1.0);
        assert!(staff(0.0, 0.0, None, &sl(0.8)).is_err());
        assert!(staff(1e300, 180.0, None, &sl(0.8)).is_err());
        let t = Target {
            max_occupancy: Some(1e-300),
            ..sl(0.8)
        };
        assert!(err(t, None).contains("more than"));
    }
}
