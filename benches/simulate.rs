//! Simulation speed of the Rust core alone (criterion; `cargo bench -p acdcore --bench simulate`):
//! the M/M/c of `benches/test_bench_simulate.py` (100 agents, 0.5 calls/s, exponential handle
//! times of mean 180 s, rho = 0.9, no abandonment), 1,000,000 calls per run, each run its own
//! replication. criterion's "thrpt" is simulated calls per second (wall time); the bench also
//! prints the median over every run it made in wall and in thread CPU time, which is steadier on
//! a shared machine.
//!
//! ACDCORE_BENCH_SIM_CALLS changes the calls per run; ACDCORE_BENCH_ONCE=N skips criterion and
//! runs N replications, printing each run's times and figures (for profilers);
//! ACDCORE_BENCH_SIM_SCENARIO=FILE.toml runs that scenario instead of the M/M/c (with
//! ACDCORE_BENCH_ONCE: escalation steps, skills and groups under a profiler).

#[path = "scenario.rs"]
mod scenario;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acdcore::sim::{Prepared, Scenario, Simulation, Totals, replication_seed};
use criterion::{Criterion, SamplingMode, Throughput};
use scenario::{median, thread_cpu_time};

fn calls() -> u64 {
    match std::env::var("ACDCORE_BENCH_SIM_CALLS") {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("ACDCORE_BENCH_SIM_CALLS={v:?} is not a number")),
        Err(_) => 1_000_000,
    }
}

/// One replication, timed: (wall, thread CPU, figures).
fn timed(prepared: &Arc<Prepared>, r: u32) -> (Duration, Option<Duration>, Totals) {
    let sim = Simulation::new(Arc::clone(prepared), replication_seed(1, r)).expect("new run");
    let cpu0 = thread_cpu_time();
    let start = Instant::now();
    let result = sim.run().expect("the run finishes");
    let wall = start.elapsed();
    let cpu = thread_cpu_time().zip(cpu0).map(|(b, a)| b - a);
    (wall, cpu, result.totals)
}

fn main() {
    let calls = calls();
    let scenario = match std::env::var("ACDCORE_BENCH_SIM_SCENARIO") {
        Ok(path) => acdcore::sim::scenario::load(path.as_ref())
            .unwrap_or_else(|e| panic!("ACDCORE_BENCH_SIM_SCENARIO={path:?}: {e}")),
        Err(_) => Scenario::mmc(100, 0.5, 180.0, calls, None, 20.0),
    };
    let prepared = Arc::new(scenario.prepare().expect("the scenario is valid"));
    let rate = |d: Duration| calls as f64 / d.as_secs_f64();

    if let Ok(n) = std::env::var("ACDCORE_BENCH_ONCE") {
        let n: u32 = n.parse().expect("ACDCORE_BENCH_ONCE=<runs>");
        for r in 0..n.max(1) {
            let (wall, cpu, t) = timed(&prepared, r);
            // Figures in full (shortest exact form): a faster build must print the same.
            println!(
                "run {r}: {} calls, {:.3} s wall ({:.0} calls/s), {:.3} s CPU ({:.0} calls/s); \
                 P(wait) {:?}, ASA {:?} s, SL {:?}, occupancy {:?}, mean queue {:?}",
                t.calls,
                wall.as_secs_f64(),
                t.calls as f64 / wall.as_secs_f64(),
                cpu.map_or(f64::NAN, |d| d.as_secs_f64()),
                cpu.map_or(f64::NAN, |d| t.calls as f64 / d.as_secs_f64()),
                t.p_wait,
                t.asa,
                t.service_level,
                t.occupancy,
                t.queue_mean
            );
        }
        return;
    }

    let runs: RefCell<Vec<(Duration, Option<Duration>)>> = RefCell::new(Vec::new());
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("simulate");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(calls));
    group.bench_function("mmc_c100_rho09", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = runs.borrow().len() as u32;
                let (wall, cpu, _) = timed(&prepared, r);
                total += wall;
                runs.borrow_mut().push((wall, cpu));
            }
            total
        })
    });
    group.finish();
    let runs = runs.into_inner();
    let wall = median(runs.iter().map(|r| rate(r.0)).collect());
    let cpu = median(runs.iter().filter_map(|r| r.1.map(rate)).collect());
    println!(
        "simulate/mmc_c100_rho09: median of {} runs: {wall:.0} calls/s wall, {cpu:.0} calls/s CPU",
        runs.len()
    );
    c.final_summary();
}
