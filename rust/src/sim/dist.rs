//! Handle-time and patience distributions, drawn from the engine's seeded SplitMix64 so a
//! simulation is reproducible by seed.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rng::Rng;

/// A distribution of seconds, as a scenario file spells it:
/// `{ dist = "exponential", mean = 180 }`, `{ dist = "lognormal", mean = 240, sd = 120 }`,
/// `{ dist = "empirical", values = [..] }`, `{ dist = "constant", value = 30 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    Exponential {
        mean: f64,
    },
    /// Parameterised by the mean and standard deviation of the seconds themselves (what a
    /// contact center measures), not of their logarithm.
    Lognormal {
        mean: f64,
        sd: f64,
    },
    /// Each draw is one of the observed values, uniformly.
    Empirical {
        values: Vec<f64>,
    },
    Constant {
        value: f64,
    },
}

impl Dist {
    pub fn exponential(mean: f64) -> Self {
        Dist::Exponential { mean }
    }

    /// Refuses parameters that cannot describe seconds, naming `what` (e.g. "handle").
    pub fn check(&self, what: &str) -> Result<()> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "{what}: {name} must be a positive number of seconds, got {v}"
                )))
            }
        };
        match self {
            Dist::Exponential { mean } => positive("mean", *mean),
            Dist::Lognormal { mean, sd } => {
                positive("mean", *mean)?;
                positive("sd", *sd)
            }
            Dist::Empirical { values } => {
                if values.is_empty() {
                    return Err(Error::invalid(format!(
                        "{what}: empirical values are empty"
                    )));
                }
                match values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                    Some(v) => Err(Error::invalid(format!(
                        "{what}: empirical value {v} is not a non-negative number of seconds"
                    ))),
                    None => Ok(()),
                }
            }
            Dist::Constant { value } => {
                if value.is_finite() && *value >= 0.0 {
                    Ok(())
                } else {
                    Err(Error::invalid(format!(
                        "{what}: constant value must be >= 0 seconds, got {value}"
                    )))
                }
            }
        }
    }

    /// A distribution from a short spec, as a command line gives one: `exponential:MEAN`,
    /// `lognormal:MEAN:SD`, `constant:VALUE` or `empirical:V1,V2,...` (seconds; checked).
    pub fn from_spec(spec: &str, what: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(format!(
                "{what}: {:?} is not exponential:MEAN, lognormal:MEAN:SD, constant:VALUE or \
                 empirical:V1,V2,...",
                crate::error::clip(spec)
            ))
        };
        let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
        let (name, rest) = spec.split_once(':').ok_or_else(bad)?;
        let args: Vec<&str> = rest.split(':').collect();
        let d = match (name.trim(), args.as_slice()) {
            ("exponential", [m]) => Dist::Exponential { mean: num(m)? },
            ("lognormal", [m, sd]) => Dist::Lognormal {
                mean: num(m)?,
                sd: num(sd)?,
            },
            ("constant", [v]) => Dist::Constant { value: num(v)? },
            ("empirical", [vs]) => Dist::Empirical {
                values: vs.split(',').map(num).collect::<Result<_>>()?,
            },
            _ => return Err(bad()),
        };
        d.check(what)?;
        Ok(d)
    }

    pub fn mean(&self) -> f64 {
        match self {
            Dist::Exponential { mean } | Dist::Lognormal { mean, .. } => *mean,
            Dist::Empirical { values } => values.iter().sum::<f64>() / values.len() as f64,
            Dist::Constant { value } => *value,
        }
    }

    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match self {
            Dist::Exponential { mean } => mean * exp1(rng),
            Dist::Lognormal { mean, sd } => {
                let (mu, sigma) = lognormal_mu_sigma(*mean, *sd);
                (mu + sigma * normal(rng)).exp()
            }
            Dist::Empirical { values } => values[rng.below(values.len())],
            Dist::Constant { value } => *value,
        }
    }
}

/// The (mu, sigma) of the underlying normal for a lognormal with this mean and sd of the seconds:
/// for X = exp(N(mu, s^2)), E X = exp(mu + s^2/2) and Var X = (E X)^2 (exp(s^2) - 1).
pub fn lognormal_mu_sigma(mean: f64, sd: f64) -> (f64, f64) {
    let s2 = (1.0 + (sd / mean).powi(2)).ln();
    (mean.ln() - s2 / 2.0, s2.sqrt())
}

/// Uniform in (0, 1]: 53 random bits, never 0 so logarithms stay finite.
pub fn uniform(rng: &mut Rng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exponential with mean 1, by inversion.
pub fn exp1(rng: &mut Rng) -> f64 {
    -uniform(rng).ln()
}

/// Standard normal by Box-Muller (one of the pair; simulations draw few of these).
fn normal(rng: &mut Rng) -> f64 {
    let (u, v) = (uniform(rng), uniform(rng));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(d: &Dist, n: usize) -> (f64, f64) {
        let mut rng = Rng::new(7);
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn draws_have_the_stated_mean_and_spread() {
        let (m, sd) = moments(&Dist::exponential(180.0), 400_000);
        assert!((m / 180.0 - 1.0).abs() < 0.01, "{m}");
        assert!((sd / 180.0 - 1.0).abs() < 0.01, "{sd}");
        let (m, sd) = moments(
            &Dist::Lognormal {
                mean: 240.0,
                sd: 120.0,
            },
            400_000,
        );
        assert!((m / 240.0 - 1.0).abs() < 0.01, "{m}");
        assert!((sd / 120.0 - 1.0).abs() < 0.02, "{sd}");
        let (m, _) = moments(
            &Dist::Empirical {
                values: vec![10.0, 20.0, 60.0],
            },
            300_000,
        );
        assert!((m / 30.0 - 1.0).abs() < 0.01, "{m}");
    }

    #[test]
    fn specs_parse_and_bad_ones_are_named() {
        assert_eq!(
            Dist::from_spec("lognormal:8:4", "t").unwrap(),
            Dist::Lognormal { mean: 8.0, sd: 4.0 }
        );
        assert_eq!(
            Dist::from_spec("empirical:12,13.5,15", "t").unwrap(),
            Dist::Empirical {
                values: vec![12.0, 13.5, 15.0]
            }
        );
        assert_eq!(
            Dist::from_spec("exponential:8", "t").unwrap(),
            Dist::exponential(8.0)
        );
        for bad in [
            "lognormal:8",
            "normal:3:1",
            "empirical:1,x",
            "8",
            "exponential:-2",
        ] {
            let e = Dist::from_spec(bad, "answer time").unwrap_err();
            assert!(e.to_string().starts_with("answer time:"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = Dist::exponential(-1.0).check("handle").unwrap_err();
        assert!(e.to_string().contains("handle: mean"), "{e}");
        let e = Dist::Empirical { values: vec![] }
            .check("patience")
            .unwrap_err();
        assert!(e.to_string().contains("patience: empirical"), "{e}");
        let e = Dist::Lognormal {
            mean: 1.0,
            sd: f64::NAN,
        }
        .check("handle")
        .unwrap_err();
        assert!(e.to_string().contains("sd"), "{e}");
    }
}
