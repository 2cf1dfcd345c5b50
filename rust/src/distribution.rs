//! Percentage-based distribution: a set share of calls to each target (department, queue, site).
//! Smooth weighted round-robin (each pick adds every weight to its target's credit, takes the
//! target with most credit and charges it the total) spreads picks evenly, so weights 5:1:1 give
//! a a b a c a a, not a a a a a b c, and any prefix of picks stays within one of the exact share.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Distributor {
    targets: Vec<String>,
    weights: Vec<i64>,
    credit: Vec<i64>,
    total: i64,
}

impl Distributor {
    pub fn new(targets: Vec<(String, u32)>) -> Result<Self> {
        if targets.is_empty() {
            return Err(Error::invalid("a distribution needs at least one target"));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &targets {
            crate::skills::check_name("target name", name)?;
            if !seen.insert(name.as_str()) {
                return Err(Error::invalid(format!("target {name:?} listed twice")));
            }
        }
        let total: i64 = targets.iter().map(|(_, w)| i64::from(*w)).sum();
        if total == 0 {
            return Err(Error::invalid(
                "a distribution needs a target with weight > 0",
            ));
        }
        let n = targets.len();
        let (targets, weights) = targets.into_iter().map(|(t, w)| (t, i64::from(w))).unzip();
        Ok(Distributor {
            targets,
            weights,
            credit: vec![0; n],
            total,
        })
    }

    /// The next target. Ties go to the target listed first.
    pub fn next_target(&mut self) -> &str {
        let mut best = 0;
        for i in 0..self.weights.len() {
            self.credit[i] += self.weights[i];
            if self.credit[i] > self.credit[best] {
                best = i;
            }
        }
        self.credit[best] -= self.total;
        &self.targets[best]
    }

    pub fn targets(&self) -> impl Iterator<Item = (&str, u32)> {
        self.targets
            .iter()
            .map(String::as_str)
            .zip(self.weights.iter().map(|&w| w as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_over_a_cycle_and_smooth() {
        let mut d =
            Distributor::new(vec![("a".into(), 5), ("b".into(), 1), ("c".into(), 1)]).unwrap();
        let picks: Vec<String> = (0..7).map(|_| d.next_target().to_owned()).collect();
        assert_eq!(picks, ["a", "a", "b", "a", "c", "a", "a"]);
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(Distributor::new(vec![]).is_err());
        assert!(Distributor::new(vec![("a".into(), 0)]).is_err());
        assert!(Distributor::new(vec![("a".into(), 1), ("a".into(), 2)]).is_err());
    }
}
