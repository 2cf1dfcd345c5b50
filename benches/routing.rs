//! Routing throughput of the Rust engine (criterion; `cargo bench -p acdcore --bench routing`).
//!
//! 1. `scenario/day`: the generated day of `scenario.rs` (10,000 agents, 100 skills, 1,000
//!    queues, 1,000,000 calls, ~2,000,000 ops). The op list is made once, before anything is
//!    timed, by driving an engine through the day; each timed run then applies every op (call
//!    arrivals and hangups) to a fresh engine with auto-accept (queues defined and agents logged
//!    in beforehand, untimed) and drains the events after each op the way a host would, then
//!    runs `finish()`. A routing event is one op applied; decisions are the assign events.
//!    One run takes seconds, so the group uses criterion's flat sampling with 10 samples of one
//!    run each (`iter_custom`, so the engine's setup and teardown stay out of the timing).
//!    criterion's "thrpt" line is ops/s; the bench also prints the median of every run it made
//!    as ops/s and assigns/s.
//! 2. `single/*`: one enqueue plus one hangup against a loaded engine (the day applied halfway):
//!    a call that waits behind 1,000 others and abandons, and a call that an idle agent takes
//!    at once and ends.
//!
//! Sizes come from ACDCORE_BENCH_{AGENTS,SKILLS,QUEUES,CALLS,SEED} (see scenario.rs). With
//! ACDCORE_BENCH_ONCE=N the bench skips criterion and runs the day N times, printing each run
//! (for profilers: `valgrind --tool=callgrind --toggle-collect='*run_day*' ...`).

#[path = "scenario.rs"]
mod scenario;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use acdcore::{Engine, Event, NewCall, QueueConfig};
use criterion::{Criterion, SamplingMode, Throughput};
use scenario::{DayStats, Op, Plan, Sizes, median, new_engine, thread_cpu_time};

/// The timed part: every op, events read after each (raw, with the ids a host needs borrowed:
/// `Engine::with_raw_events`, no public `Event` built), then the end of the day.
#[inline(never)]
fn run_day(plan: &Plan, ops: &[Op], e: &mut Engine) -> DayStats {
    let mut stats = DayStats::default();
    for &op in ops {
        if let Err(err) = plan.apply(e, op) {
            panic!("{op:?}: {err}");
        }
        e.with_raw_events(|raw, names| stats.add_raw(raw, names));
    }
    e.finish();
    e.with_raw_events(|raw, names| stats.add_raw(raw, names));
    stats.ops = ops.len();
    stats
}

/// A digest of every event of the day with its ids (untimed): two builds that print the same
/// digest made the same decisions in the same order.
fn day_digest(plan: &Plan, ops: &[Op]) -> u64 {
    let mut e = fresh(plan);
    let mut h = Digest::default();
    let absorb = |e: &mut Engine, h: &mut Digest| {
        // Debug prints every field, ids and exact times (shortest round-trip form).
        for ev in e.take_events() {
            h.text(&format!("{ev:?}"));
        }
    };
    for &op in ops {
        plan.apply(&mut e, op).expect("valid op");
        absorb(&mut e, &mut h);
    }
    e.finish();
    absorb(&mut e, &mut h);
    h.0
}

/// FNV-1a over the event fields, 64-bit.
struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn text(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

fn fresh(plan: &Plan) -> Engine {
    let mut e = new_engine();
    plan.setup(&mut e);
    e
}

/// One timed run: wall time, CPU time (when the OS tells) and what happened.
struct Run {
    wall: Duration,
    cpu: Option<Duration>,
    stats: DayStats,
}

/// One timed run on a fresh engine; checks it made the driving run's decisions.
fn timed_run(plan: &Plan, ops: &[Op], expect: &DayStats) -> Run {
    let mut e = fresh(plan);
    let cpu0 = thread_cpu_time();
    let start = Instant::now();
    let stats = run_day(plan, ops, &mut e);
    let wall = start.elapsed();
    let cpu = thread_cpu_time().zip(cpu0).map(|(b, a)| b - a);
    assert_eq!(
        (stats.assigns, stats.abandons, stats.ends),
        (expect.assigns, expect.abandons, expect.ends),
        "a replay of the op list must reproduce the driving run"
    );
    drop(black_box(e));
    Run { wall, cpu, stats }
}

fn report(runs: &[Run]) {
    let Some(first) = runs.first() else {
        return;
    };
    let day = first.stats;
    let line = |what: &str, secs: Vec<f64>| {
        let all: Vec<String> = secs.iter().map(|s| format!("{s:.3}")).collect();
        let m = median(secs);
        println!(
            "day, {what}: median of {} runs {m:.3} s -> {:.0} routing events (ops)/s, \
             {:.0} decisions (assigns)/s [runs: {} s]",
            all.len(),
            day.ops as f64 / m,
            day.assigns as f64 / m,
            all.join(" ")
        );
    };
    println!(
        "day: {} ops ({} calls, {} hangups), {} assigns",
        day.ops,
        day.ops as u64 - (day.ends + day.abandons),
        day.ends + day.abandons,
        day.assigns
    );
    line("wall", runs.iter().map(|r| r.wall.as_secs_f64()).collect());
    if runs.iter().all(|r| r.cpu.is_some()) {
        let cpu = runs.iter().filter_map(|r| r.cpu).map(|d| d.as_secs_f64());
        line("CPU", cpu.collect());
    }
}

fn describe(plan: &Plan, day: &DayStats, took: Duration) {
    let s = plan.sizes;
    let calls = s.calls.max(1) as f64;
    println!(
        "scenario: {} agents, {} skills, {} queues, {} calls over {:.1} h ({:.1} calls/s); \
         {} ops; answered {:.1}%, abandoned {:.1}%, mean wait {:.1} s, occupancy {:.1}% \
         (generated in {:.1} s)",
        s.agents,
        s.skills,
        s.queues,
        s.calls,
        day.day_seconds / 3600.0,
        plan.rate,
        day.ops,
        100.0 * day.assigns as f64 / calls,
        100.0 * day.abandons as f64 / calls,
        day.wait_seconds / day.assigns.max(1) as f64,
        100.0 * day.occupancy(s.agents),
        took.as_secs_f64()
    );
}

fn bench_day(c: &mut Criterion, plan: &Plan, ops: &[Op], day: &DayStats) {
    let runs: RefCell<Vec<Run>> = RefCell::new(Vec::new());
    let mut group = c.benchmark_group("scenario");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(ops.len() as u64));
    group.bench_function("day", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let run = timed_run(plan, ops, day);
                total += run.wall;
                runs.borrow_mut().push(run);
            }
            total
        })
    });
    group.finish();
    report(&runs.borrow());
}

/// Builds the loaded engine of the single-call benches: the day applied up to its middle, plus
/// queue "micro-wait" whose only agent is busy and 1,000 calls wait, and queue "micro-free"
/// whose only agent is idle (both without wrap-up).
fn loaded(plan: &Plan, ops: &[Op]) -> Engine {
    let mut e = fresh(plan);
    for &op in &ops[..ops.len() / 2] {
        plan.apply(&mut e, op).expect("valid op");
        e.take_events();
    }
    let now = e.now();
    let cfg = QueueConfig {
        wrapup: 0.0,
        ..QueueConfig::default()
    };
    for q in ["micro-wait", "micro-free"] {
        e.add_queue(q, cfg.clone()).expect("new queue");
    }
    let skills = [(plan.skill_names[0], 50)];
    let skills_req = [(plan.skill_names[0], 10)];
    e.login(now, "micro-busy-agent", &skills, &[("micro-wait", 1)], 1)
        .expect("login");
    e.login(now, "micro-idle-agent", &skills, &[("micro-free", 1)], 1)
        .expect("login");
    for i in 0..=1000 {
        let id = format!("micro-held-{i}");
        let call = NewCall {
            id: &id,
            queue: "micro-wait",
            skills: &skills_req,
            ..NewCall::default()
        };
        e.enqueue(now, &call).expect("enqueue");
    }
    e.take_events();
    e
}

fn bench_single(c: &mut Criterion, plan: &Plan, ops: &[Op]) {
    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(2));
    for (name, queue, kinds) in [
        ("enqueue+hangup, call waits", "micro-wait", ["abandon", ""]),
        (
            "enqueue+hangup, call answered",
            "micro-free",
            ["assign", "end"],
        ),
    ] {
        let mut e = loaded(plan, ops);
        let now = e.now();
        let call = NewCall {
            id: "micro-call",
            queue,
            priority: 0,
            skills: &[(plan.skill_names[0], 10)],
            preferred: None,
            max_wait_exempt: false,
            parked: false,
        };
        // The engine is back in the same state after each pair, so every iteration is alike.
        e.enqueue(now, &call).expect("enqueue");
        e.hangup(now, call.id).expect("hangup");
        let got: Vec<&str> = e.take_events().iter().map(Event::kind).collect();
        let want: Vec<&str> = kinds.into_iter().filter(|k| !k.is_empty()).collect();
        assert_eq!(got, want, "{name}");
        let mut stats = DayStats::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                e.enqueue(now, black_box(&call)).expect("enqueue");
                e.hangup(now, black_box(call.id)).expect("hangup");
                e.with_raw_events(|raw, names| stats.add_raw(raw, names));
            })
        });
    }
    group.finish();
}

fn main() {
    let sizes = Sizes::from_env();
    let start = Instant::now();
    let plan = Plan::generate(sizes);
    let (ops, day) = plan.drive();
    describe(&plan, &day, start.elapsed());

    if let Ok(n) = std::env::var("ACDCORE_BENCH_ONCE") {
        let n: usize = n.parse().expect("ACDCORE_BENCH_ONCE=<runs>");
        let runs: Vec<_> = (0..n.max(1))
            .map(|_| {
                let run = timed_run(&plan, &ops, &day);
                let cpu = run.cpu.map_or(f64::NAN, |d| d.as_secs_f64());
                println!("run: {:.3} s wall, {cpu:.3} s CPU", run.wall.as_secs_f64());
                run
            })
            .collect();
        report(&runs);
        println!("events digest: {:016x}", day_digest(&plan, &ops));
        return;
    }

    let mut c = Criterion::default().configure_from_args();
    bench_day(&mut c, &plan, &ops, &day);
    bench_single(&mut c, &plan, &ops);
    c.final_summary();
}
