//! The generated contact-center scenario shared by the Rust benches (`routing.rs`, `memory.rs`;
//! each includes this file with `#[path]`).
//!
//! Shape (defaults, see `Sizes`): 10,000 agents, 100 skills, 1,000 queues, 1,000,000 calls.
//! - Each queue has one or two "queue skills", a strategy (mostly longest-idle, with
//!   skills-best, round-robin, fewest-calls, least-talk-time and linear mixed in), a wrap-up of
//!   0 or 5-20 s and, for one queue in ten, a weight of 1-3.
//! - Each agent serves 1-5 queues and has 2-8 skills: the skills of its queues first (levels
//!   30-100), then random ones (levels 1-100) up to its target count.
//! - Each call goes to a queue drawn in proportion to the queue's staffing (so no queue is
//!   starved by chance), needs 0-2 of its queue's skills at minimum levels 1-40 (most agents of
//!   the queue qualify), and one in twelve has a priority of 1-5.
//! - Arrivals are Poisson, at the rate that offers 90% of the agents' time as work
//!   (talk + wrap-up); talk times are lognormal (median 180 s, mean ~230 s), callers' patience
//!   is 1 s + exponential (mean 120 s).
//!
//! Whether a caller abandons depends on when the ACD answers, so the op list is made by driving
//! an engine (`Plan::drive`): each answered call gets its hangup at answer time + talk time, each
//! call still waiting when its patience runs out is hung up then (an abandon). Replaying the op
//! list on a fresh engine reproduces the same day exactly, because the engine is deterministic.
//!
//! The PRNG is SplitMix64, written here: no rand crate, same numbers on every machine.

#![allow(dead_code)] // each bench uses its own part of this file

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use acdcore::{
    Engine, Event, EventNames, NewCall, Options, QueueConfig, RawEvent, RawEvents, Strategy,
};

/// Scenario sizes. The benches read them from the environment so a quick run or a profile under
/// valgrind can use a smaller day: ACDCORE_BENCH_{AGENTS,SKILLS,QUEUES,CALLS,SEED}.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub agents: usize,
    pub skills: usize,
    pub queues: usize,
    pub calls: usize,
    pub seed: u64,
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        agents: 10_000,
        skills: 100,
        queues: 1_000,
        calls: 1_000_000,
        seed: 1,
    };

    pub fn from_env() -> Sizes {
        fn get(name: &str, default: usize) -> usize {
            match std::env::var(format!("ACDCORE_BENCH_{name}")) {
                Ok(v) => v
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("ACDCORE_BENCH_{name}={v:?} is not a number")),
                Err(_) => default,
            }
        }
        let full = Sizes::FULL;
        Sizes {
            agents: get("AGENTS", full.agents).max(1),
            skills: get("SKILLS", full.skills).max(2),
            queues: get("QUEUES", full.queues).max(1),
            calls: get("CALLS", full.calls),
            seed: get("SEED", full.seed as usize) as u64,
        }
    }
}

/// The engine's own SplitMix64, with the draws a workload needs on top.
pub struct Rng(acdcore::rng::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(acdcore::rng::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n)
    }

    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponential with this mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Standard normal (Box-Muller; one of the pair is dropped, simplicity over speed).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit(); // (0, 1]
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Index drawn with these relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

pub const TALK_MEDIAN: f64 = 180.0;
pub const TALK_SIGMA: f64 = 0.7;
pub const TALK_MIN: f64 = 5.0;
pub const PATIENCE_MEAN: f64 = 120.0;
/// Share of staffed agent time offered as work (talk + wrap-up); abandons bring the measured
/// occupancy a little below it.
pub const OFFERED_LOAD: f64 = 0.90;
/// Weights of serving 1, 2, 3, 4 or 5 queues.
const QUEUES_PER_AGENT: [u32; 5] = [25, 30, 22, 14, 9];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub struct QueueSpec {
    pub id: &'static str,
    pub cfg: QueueConfig,
    pub skills: Vec<usize>,
}

pub struct AgentSpec {
    pub id: String,
    pub skills: Vec<(&'static str, i64)>,
    pub queues: Vec<(&'static str, u32)>,
}

#[derive(Debug, Clone, Copy)]
pub struct CallSpec {
    pub queue: u32,
    pub priority: i64,
    /// Range of the call's required skills in `Plan::reqs`.
    pub req_start: u32,
    pub req_len: u8,
    pub arrival: f64,
    pub talk: f64,
    pub patience: f64,
}

/// One input to the engine, in time order.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Call { t: f64, call: u32 },
    Hangup { t: f64, call: u32 },
}

impl Op {
    pub fn t(&self) -> f64 {
        match *self {
            Op::Call { t, .. } | Op::Hangup { t, .. } => t,
        }
    }
}

/// Everything about the day that does not depend on routing decisions.
pub struct Plan {
    pub sizes: Sizes,
    pub skill_names: Vec<&'static str>,
    pub queues: Vec<QueueSpec>,
    pub agents: Vec<AgentSpec>,
    pub calls: Vec<CallSpec>,
    /// Required skills of every call, back to back.
    pub reqs: Vec<(&'static str, i64)>,
    /// Call ids back to back ("c0000000" ...), each `id_width` bytes.
    ids: String,
    id_width: usize,
    /// Calls per second.
    pub rate: f64,
}

/// What the driving run saw, to check a replay against and to describe the day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayStats {
    pub ops: usize,
    pub assigns: u64,
    pub abandons: u64,
    pub ends: u64,
    /// Talk plus wrap-up seconds of answered calls, up to the last arrival.
    pub busy_seconds: f64,
    pub wait_seconds: f64,
    pub day_seconds: f64,
    /// Time of the last arrival: the span over which occupancy is measured.
    pub arrivals_end: f64,
}

impl DayStats {
    /// Share of the agents' time spent talking or in wrap-up while calls arrive.
    pub fn occupancy(&self, agents: usize) -> f64 {
        self.busy_seconds / (agents as f64 * self.arrivals_end.max(1e-9))
    }

    pub fn add_event(&mut self, ev: &Event) {
        match ev {
            Event::Assign { wait, .. } => {
                self.assigns += 1;
                self.wait_seconds += wait;
            }
            Event::Abandon { .. } => self.abandons += 1,
            Event::End { .. } => self.ends += 1,
            _ => {}
        }
    }

    /// As `add_event` for every raw event of a drain, as a Rust host reads them: an assign's
    /// call and agent ids are looked up (borrowed), as a host that tells its switch which agent
    /// takes which call would.
    pub fn add_raw(&mut self, raw: &RawEvents, names: &EventNames<'_>) {
        for ev in &raw.events {
            match *ev {
                RawEvent::Assign {
                    wait, call, agent, ..
                } => {
                    self.assigns += 1;
                    self.wait_seconds += wait;
                    std::hint::black_box((names.call(call), names.agent(agent)));
                }
                RawEvent::Abandon { .. } => self.abandons += 1,
                RawEvent::End { .. } => self.ends += 1,
                _ => {}
            }
        }
    }
}

/// CPU time this thread has run so far (Linux: /proc/thread-self/schedstat, nanoseconds). On a
/// shared machine it is steadier than wall-clock time, which also counts time spent waiting for
/// a core.
/// The median (NaN for none), of run times or rates.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn thread_cpu_time() -> Option<std::time::Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

pub fn new_engine() -> Engine {
    Engine::new(Options {
        seed: 0,
        auto_accept: true,
    })
}

impl Plan {
    pub fn generate(sizes: Sizes) -> Plan {
        let mut rng = Rng::new(sizes.seed);
        let skill_names: Vec<&'static str> = (0..sizes.skills)
            .map(|i| leak(format!("skill{i:02}")))
            .collect();
        let qw = (sizes.queues.max(2) - 1).to_string().len();
        let queues: Vec<QueueSpec> = (0..sizes.queues)
            .map(|j| {
                let r = rng.unit();
                let strategy = match r {
                    _ if r < 0.12 => Strategy::SkillsBest,
                    _ if r < 0.20 => Strategy::RoundRobin,
                    _ if r < 0.28 => Strategy::FewestCalls,
                    _ if r < 0.34 => Strategy::LeastTalkTime,
                    _ if r < 0.40 => Strategy::Linear,
                    _ => Strategy::LongestIdle,
                };
                let wrapup = if rng.chance(0.25) {
                    0.0
                } else {
                    rng.range(5, 20) as f64
                };
                let weight = if rng.chance(0.1) {
                    rng.range(1, 3) as f64
                } else {
                    0.0
                };
                let first = rng.below(sizes.skills);
                let mut skills = vec![first];
                if rng.chance(0.5) {
                    let second = rng.below(sizes.skills);
                    if second != first {
                        skills.push(second);
                    }
                }
                QueueSpec {
                    id: leak(format!("q{j:0qw$}")),
                    cfg: QueueConfig {
                        strategy,
                        wrapup,
                        weight,
                        sl: 20.0,
                        ..QueueConfig::default()
                    },
                    skills,
                }
            })
            .collect();

        // Agents, and every (agent, queue) membership: calls pick a queue through one.
        let aw = (sizes.agents.max(2) - 1).to_string().len();
        let mut memberships: Vec<u32> = Vec::new();
        let agents: Vec<AgentSpec> = (0..sizes.agents)
            .map(|i| {
                let want = (rng.weighted(&QUEUES_PER_AGENT) + 1).min(sizes.queues);
                // The first agents take one queue each, so every queue has staff.
                let mut mine: Vec<usize> = if i < sizes.queues { vec![i] } else { vec![] };
                while mine.len() < want {
                    let q = rng.below(sizes.queues);
                    if !mine.contains(&q) {
                        mine.push(q);
                    }
                }
                memberships.extend(mine.iter().map(|&q| q as u32));
                let target = (rng.range(2, 8) as usize).min(sizes.skills);
                let mut skills: Vec<(usize, i64)> = Vec::new();
                for &q in &mine {
                    for &s in &queues[q].skills {
                        if skills.len() < 8 && !skills.iter().any(|&(x, _)| x == s) {
                            skills.push((s, rng.range(30, 100)));
                        }
                    }
                }
                while skills.len() < target {
                    let s = rng.below(sizes.skills);
                    if !skills.iter().any(|&(x, _)| x == s) {
                        skills.push((s, rng.range(1, 100)));
                    }
                }
                AgentSpec {
                    id: format!("a{i:0aw$}"),
                    skills: skills.iter().map(|&(s, l)| (skill_names[s], l)).collect(),
                    queues: mine.iter().map(|&q| (queues[q].id, 1)).collect(),
                }
            })
            .collect();

        // The arrival rate that offers OFFERED_LOAD of the agents' time as work.
        let mean_talk = TALK_MEDIAN * (TALK_SIGMA * TALK_SIGMA / 2.0).exp();
        let mean_wrap = memberships
            .iter()
            .map(|&q| queues[q as usize].cfg.wrapup)
            .sum::<f64>()
            / memberships.len().max(1) as f64;
        let rate = OFFERED_LOAD * sizes.agents as f64 / (mean_talk + mean_wrap);

        let iw = (sizes.calls.max(2) - 1).to_string().len().max(7);
        let mut ids = String::with_capacity(sizes.calls * (iw + 1));
        let mut reqs = Vec::new();
        let mut t = 0.0;
        let calls: Vec<CallSpec> = (0..sizes.calls)
            .map(|c| {
                use std::fmt::Write;
                write!(ids, "c{c:0iw$}").expect("writing to a String");
                t += rng.exp(1.0 / rate);
                let queue = memberships[rng.below(memberships.len())];
                let qskills = &queues[queue as usize].skills;
                let priority = if rng.chance(0.08) { rng.range(1, 5) } else { 0 };
                let r = rng.unit();
                let k = if r < 0.35 {
                    0
                } else if r < 0.80 {
                    1
                } else {
                    2
                };
                let req_start = reqs.len() as u32;
                for &s in qskills.iter().take(k) {
                    reqs.push((skill_names[s], rng.range(1, 40)));
                }
                CallSpec {
                    queue,
                    priority,
                    req_start,
                    req_len: (reqs.len() - req_start as usize) as u8,
                    arrival: t,
                    talk: rng.lognormal(TALK_MEDIAN, TALK_SIGMA).max(TALK_MIN),
                    patience: 1.0 + rng.exp(PATIENCE_MEAN),
                }
            })
            .collect();

        Plan {
            sizes,
            skill_names,
            queues,
            agents,
            calls,
            reqs,
            ids,
            id_width: iw + 1,
            rate,
        }
    }

    #[inline]
    pub fn call_id(&self, c: u32) -> &str {
        let start = c as usize * self.id_width;
        &self.ids[start..start + self.id_width]
    }

    fn call_index(&self, id: &str) -> u32 {
        id[1..].parse().expect("a call id of this plan")
    }

    #[inline]
    pub fn new_call(&self, c: u32) -> NewCall<'_> {
        let spec = &self.calls[c as usize];
        let start = spec.req_start as usize;
        NewCall {
            id: self.call_id(c),
            queue: self.queues[spec.queue as usize].id,
            priority: spec.priority,
            skills: &self.reqs[start..start + spec.req_len as usize],
            preferred: None,
            max_wait_exempt: false,
            parked: false,
        }
    }

    /// Defines the queues and logs every agent in at t=0.
    pub fn setup(&self, e: &mut Engine) {
        self.add_queues(e);
        self.login_all(e, 0.0);
    }

    pub fn add_queues(&self, e: &mut Engine) {
        for q in &self.queues {
            e.add_queue(q.id, q.cfg.clone()).expect("valid queue");
        }
    }

    pub fn login_all(&self, e: &mut Engine, t: f64) {
        for a in &self.agents {
            e.login(t, &a.id, &a.skills, &a.queues, 1)
                .expect("valid login");
        }
    }

    #[inline]
    pub fn apply(&self, e: &mut Engine, op: Op) -> acdcore::Result<()> {
        match op {
            Op::Call { t, call } => e.enqueue(t, &self.new_call(call)),
            Op::Hangup { t, call } => e.hangup(t, self.call_id(call)),
        }
    }

    /// Drives an engine through the day and records every op (the benches then time the op
    /// list on fresh engines). Hangups come from a heap of (time, order, call, is_end).
    pub fn drive(&self) -> (Vec<Op>, DayStats) {
        let mut e = new_engine();
        self.setup(&mut e);
        let n = self.calls.len();
        let wrapup: HashMap<&str, f64> = self.queues.iter().map(|q| (q.id, q.cfg.wrapup)).collect();
        let mut d = Driver {
            plan: self,
            e,
            heap: BinaryHeap::new(),
            order: 0,
            assigned: vec![false; n],
            done: vec![false; n],
            ops: Vec::with_capacity(2 * n),
            events: Vec::new(),
            stats: DayStats {
                arrivals_end: self.calls.last().map_or(0.0, |c| c.arrival),
                ..DayStats::default()
            },
            wrapup,
        };
        for c in 0..n as u32 {
            let spec = self.calls[c as usize];
            d.hangups_until(spec.arrival);
            d.apply(Op::Call {
                t: spec.arrival,
                call: c,
            });
            d.schedule(spec.arrival + spec.patience, c, false);
        }
        d.hangups_until(f64::INFINITY);
        d.e.finish();
        d.take_events(f64::INFINITY);
        d.stats.ops = d.ops.len();
        d.stats.day_seconds = d.e.now();
        (d.ops, d.stats)
    }
}

struct Driver<'p> {
    plan: &'p Plan,
    e: Engine,
    heap: BinaryHeap<Reverse<(u64, u64, u32, bool)>>,
    order: u64,
    assigned: Vec<bool>,
    done: Vec<bool>,
    ops: Vec<Op>,
    events: Vec<Event>,
    stats: DayStats,
    wrapup: HashMap<&'p str, f64>,
}

impl Driver<'_> {
    fn schedule(&mut self, t: f64, call: u32, end: bool) {
        // Non-negative f64s order like their bit patterns.
        self.order += 1;
        self.heap
            .push(Reverse((t.to_bits(), self.order, call, end)));
    }

    fn hangups_until(&mut self, until: f64) {
        while let Some(&Reverse((bits, _, call, end))) = self.heap.peek() {
            let t = f64::from_bits(bits);
            if t > until {
                break;
            }
            self.heap.pop();
            let c = call as usize;
            // An end for a call already over, or an abandon for a call already answered.
            if self.done[c] || (!end && self.assigned[c]) {
                continue;
            }
            self.apply(Op::Hangup { t, call });
        }
    }

    fn apply(&mut self, op: Op) {
        self.plan
            .apply(&mut self.e, op)
            .unwrap_or_else(|err| panic!("driving the day: {op:?}: {err}"));
        self.ops.push(op);
        self.take_events(op.t());
    }

    fn take_events(&mut self, now: f64) {
        self.e.drain_events_into(&mut self.events);
        let events = std::mem::take(&mut self.events);
        for ev in &events {
            self.stats.add_event(ev);
            match ev {
                Event::Assign { t, call, queue, .. } => {
                    let c = self.plan.call_index(call);
                    let talk = self.plan.calls[c as usize].talk;
                    self.assigned[c as usize] = true;
                    let busy_until =
                        (t + talk + self.wrapup[&**queue]).min(self.stats.arrivals_end);
                    self.stats.busy_seconds += (busy_until - t).max(0.0);
                    // Hangups go in the future of every op applied so far.
                    let end = (t + talk).max(if now.is_finite() { now } else { *t });
                    self.schedule(end, c, true);
                }
                Event::End { call, .. } | Event::Abandon { call, .. } => {
                    self.done[self.plan.call_index(call) as usize] = true;
                }
                _ => {}
            }
        }
        self.events = events;
        self.events.clear();
    }
}
