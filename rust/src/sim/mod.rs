//! A contact-center simulator on the real engine: a discrete-event loop generates callers,
//! patience, handle times and agent schedules, and the routing engine of this crate (in
//! auto-accept mode) decides every assignment. What is planned is what is run.
//!
//! Reproducible by seed: replication r runs with the r-th draw of a SplitMix64 seeded with
//! the scenario seed, so adding replications never changes the earlier ones.

mod agenda;
pub mod dist;
pub mod outbound;
mod run;
pub mod scenario;
pub mod stats;

use std::sync::Arc;

pub use dist::Dist;
pub use run::Simulation;
pub use scenario::{Prepared, Scenario};
pub use stats::{Interval, RunResult, Totals, mean_ci};

use crate::error::Result;
use crate::rng::Rng;

/// The seed of replication `r` of a scenario seeded `seed`.
pub fn replication_seed(seed: u64, r: u32) -> u64 {
    let mut rng = Rng::new(seed);
    let mut s = rng.next_u64();
    for _ in 0..r {
        s = rng.next_u64();
    }
    s
}

/// Runs every replication to the end.
pub fn simulate(scn: &Scenario, seed: u64, replications: u32) -> Result<Vec<RunResult>> {
    let prepared = Arc::new(scn.prepare()?);
    (0..replications.max(1))
        .map(|r| Simulation::new(Arc::clone(&prepared), replication_seed(seed, r))?.run())
        .collect()
}
