//! Pacing 10,000 campaigns in one tick (criterion; `cargo bench -p acdcore --bench pacing`).
//! Each campaign is a predictive one of 20 agents: 0-4 ready, the rest busy with call ages
//! spread over 0-600 s, a few dials in flight and a tick's outcomes to learn from. The clock
//! moves one second per tick, so every tick also runs the estimators and the controller.
//! Three variants in one run: `predictive_10k_campaigns` (no ring timeout: dials in flight
//! count in full, as before), `given_shape_10k` (25 s ring, the dials in flight's ages
//! weighed with the given lognormal shape, `tta_sum`) and `learned_shape_10k` (the same with
//! each answer's time reported, so the shape is learned and used).
//! Prints the median tick in wall and thread CPU time besides criterion's own figures.

#[path = "scenario.rs"]
mod scenario;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use acdcore::pacing::{Batch, Config, Mode, Pacer, Ringing, Service};
use acdcore::rng::Rng;
use acdcore::sim::Dist;
use criterion::{Criterion, Throughput};
use scenario::{median, thread_cpu_time};

const CAMPAIGNS: usize = 10_000;
const AGENTS: u32 = 20;

struct Columns {
    ready: Vec<u32>,
    in_flight: Vec<u32>,
    waiting: Vec<u32>,
    ages: Vec<f64>,
    offsets: Vec<u64>,
    resolved: Vec<u32>,
    answered: Vec<u32>,
    machines: Vec<u32>,
    tta_sum: Vec<f64>,
    abandoned: Vec<u32>,
    flight_ages: Vec<f64>,
    flight_offsets: Vec<u64>,
    answer_times: Vec<f64>,
    answer_offsets: Vec<u64>,
}

fn columns() -> Columns {
    let mut rng = Rng::new(42);
    // The flight ages and answer times from their own generator, so the other columns are
    // those of the earlier runs.
    let mut extra = Rng::new(43);
    let mut c = Columns {
        ready: Vec::new(),
        in_flight: Vec::new(),
        waiting: vec![0; CAMPAIGNS],
        ages: Vec::new(),
        offsets: vec![0],
        resolved: Vec::new(),
        answered: Vec::new(),
        machines: vec![0; CAMPAIGNS],
        tta_sum: Vec::new(),
        abandoned: vec![0; CAMPAIGNS],
        flight_ages: Vec::new(),
        flight_offsets: vec![0],
        answer_times: Vec::new(),
        answer_offsets: vec![0],
    };
    for _ in 0..CAMPAIGNS {
        let ready = rng.below(5) as u32;
        c.ready.push(ready);
        let in_flight = rng.below(30) as u32;
        c.in_flight.push(in_flight);
        for _ in 0..in_flight {
            c.flight_ages.push(extra.below(25) as f64);
        }
        c.flight_offsets.push(c.flight_ages.len() as u64);
        // One answer per tick, at 2-15 s.
        c.answer_times.push(2.0 + extra.below(14) as f64);
        c.answer_offsets.push(c.answer_times.len() as u64);
        for _ in ready..AGENTS {
            c.ages.push(rng.below(600) as f64);
        }
        c.offsets.push(c.ages.len() as u64);
        c.resolved.push(2);
        c.answered.push(1);
        c.tta_sum.push(8.0);
    }
    c
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Plain,
    Given,
    Learned,
}

/// One tick of the variant over all campaigns per call, the clock a second on each time.
fn ticker<'a>(variant: Variant, c: &'a Columns) -> impl FnMut(&mut [u32]) + 'a {
    let service = Service::new(&Dist::exponential(180.0), 10.0).expect("valid service");
    let mut config = Config::new(Mode::Predictive, 0.03, service).expect("valid config");
    if !matches!(variant, Variant::Plain) {
        let shape = Dist::Lognormal { mean: 1.0, sd: 0.5 };
        config = config.with_ringing(Ringing::new(&shape, 25.0).expect("valid ringing"));
    }
    let mut pacer = Pacer::new(vec![config; CAMPAIGNS]);
    let zeros = vec![0.0; CAMPAIGNS];
    let mut now = 0.0;
    move |out: &mut [u32]| {
        now += 1.0;
        let mut batch = Batch {
            now,
            ready: &c.ready,
            in_flight: &c.in_flight,
            waiting: &c.waiting,
            ages: &c.ages,
            offsets: &c.offsets,
            resolved: &c.resolved,
            answered: &c.answered,
            machines: &c.machines,
            tta_sum: &c.tta_sum,
            abandoned: &c.abandoned,
            flight_ages: &[],
            flight_offsets: &[],
            answer_times: &[],
            answer_offsets: &[],
        };
        if !matches!(variant, Variant::Plain) {
            batch.flight_ages = &c.flight_ages;
            batch.flight_offsets = &c.flight_offsets;
        }
        if matches!(variant, Variant::Learned) {
            batch.tta_sum = &zeros;
            batch.answer_times = &c.answer_times;
            batch.answer_offsets = &c.answer_offsets;
        }
        pacer.tick(&batch, out).expect("valid batch");
    }
}

/// Median (wall ms, thread CPU ms) of the variant's ticks, from criterion's own iterations.
fn bench(crit: &mut Criterion, name: &str, variant: Variant, c: &Columns) -> (f64, f64, usize) {
    let mut tick = ticker(variant, c);
    let mut out = vec![0u32; CAMPAIGNS];
    let runs: RefCell<Vec<(f64, Option<f64>)>> = RefCell::new(Vec::new());
    let mut group = crit.benchmark_group("pacing");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(CAMPAIGNS as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cpu0 = thread_cpu_time();
                let start = Instant::now();
                tick(&mut out);
                let wall = start.elapsed();
                let cpu = thread_cpu_time()
                    .zip(cpu0)
                    .map(|(b, a)| (b - a).as_secs_f64());
                total += wall;
                runs.borrow_mut().push((wall.as_secs_f64(), cpu));
            }
            total
        })
    });
    group.finish();
    let runs = runs.into_inner();
    let wall = median(runs.iter().map(|r| r.0 * 1e3).collect());
    let cpu = median(runs.iter().filter_map(|r| r.1.map(|s| s * 1e3)).collect());
    let dialing = out.iter().filter(|&&n| n > 0).count();
    println!(
        "pacing/{name}: median of {} ticks: {wall:.2} ms wall, {cpu:.2} ms CPU \
         ({dialing} campaigns dialing in the last)",
        runs.len()
    );
    (wall, cpu, runs.len())
}

fn main() {
    let c = columns();
    if let Ok(n) = std::env::var("ACDCORE_BENCH_ONCE") {
        // For profilers: N ticks of each variant without criterion, and a checksum of the
        // dials so that a faster build can be shown to decide the same.
        let n: usize = n.parse().expect("ACDCORE_BENCH_ONCE=<ticks>");
        for variant in [Variant::Plain, Variant::Given, Variant::Learned] {
            let mut tick = ticker(variant, &c);
            let mut out = vec![0u32; CAMPAIGNS];
            let mut sum = 0u64;
            for _ in 0..n {
                tick(&mut out);
                sum += out.iter().map(|&d| u64::from(d)).sum::<u64>();
            }
            println!("{variant:?}: {n} ticks, {sum} dials in all");
        }
        return;
    }
    let mut crit = Criterion::default().configure_from_args();
    let plain = bench(&mut crit, "predictive_10k_campaigns", Variant::Plain, &c);
    let given = bench(&mut crit, "given_shape_10k", Variant::Given, &c);
    let learned = bench(&mut crit, "learned_shape_10k", Variant::Learned, &c);
    println!(
        "pacing: thread CPU learned / given {:.3}, given / plain {:.3}",
        learned.1 / given.1,
        given.1 / plain.1
    );
    crit.final_summary();
}
