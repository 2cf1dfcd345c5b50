//! Property tests over random operation sequences (issue 2, "Tests").
//!
//! A random scenario defines queues (every strategy, wrap-ups, max waiting, max wait with and
//! without overflow, escalation steps of every kind, aging) and then runs a random sequence of
//! operations on agents (login with skills and limits 1..2, logout, pause, unpause) and calls
//! (arrivals with skills, priorities and preferred agents, hangups, and in live mode accepts,
//! rejects and offer timeouts), with a clock that never goes back. At the end every remaining
//! call is hung up and `finish()` runs.
//!
//! A model rebuilt from the event log alone checks, after every event and every operation:
//! - every call ends exactly once (answered then ended, abandoned, timed out, refused by a
//!   full queue with no overflow, or handed to a fallback), and nothing happens to it after;
//! - no agent ever holds more connected calls (or, live, calls plus offers) than its limit;
//! - an offer or assignment only goes to an agent eligible for the call at that moment:
//!   logged in, not paused, not in wrap-up, no logout pending, a member of the serving queue
//!   that the call waits in, with the call's skills as lowered by the escalation steps applied
//!   so far (a call's preferred agent excepted);
//! - queue statistics equal the counts recomputed from the event log;
//! - after `snapshot()` and `restore()` at a random point, the same remaining operations give
//!   the same results and events on the original and on the restored engine;
//! - without preferred agents, an agent able to take a call and a waiting call it is eligible
//!   for never coexist after an operation (live, an agent resting after a declined or missed
//!   offer is not able to take one);
//! - (offers accepted at once) nothing is left due at an operation's `now` once it returns.
//!
//! Engine bugs found this way are pinned by the `regression_*` tests at the end; the checks that
//! caught them stay in the model, tagged with the bug. PROPTEST_CASES=N runs more cases.

use std::collections::{BTreeMap, BTreeSet};

use acdcore::{
    Action, AgentState, Engine, Error, EscalationStep, Event, NewCall, OnLimit, Options,
    QueueConfig, Strategy as Kind,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};

const SKILLS: [&str; 3] = ["en", "fr", "billing"];
const AGENTS: usize = 5;
const EPS: f64 = 1e-9;

// ---- scenario specs -------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum StepSpec {
    Lower(u8),
    Clear,
    Add(Index),
    Raise(i64),
    Fallback,
}

#[derive(Debug, Clone)]
struct QueueSpec {
    strategy: Kind,
    wrapup: f64,
    weight: f64,
    sl: f64,
    max_waiting: Option<u32>,
    max_wait: Option<f64>,
    overflow: Option<Index>,
    ring_timeout: f64,
    /// Rest after a declined or missed offer.
    retry: f64,
    max_no_answers: u32,
    aging: f64,
    steps: Vec<(f64, StepSpec)>,
}

#[derive(Debug, Clone)]
enum OpSpec {
    Login {
        agent: usize,
        skills: Vec<(usize, u8)>,
        queues: Vec<(Index, u32)>,
        limit: u32,
    },
    Logout(usize),
    Pause(usize),
    Unpause(usize),
    Call {
        queue: Index,
        priority: i64,
        skills: Vec<(usize, u8)>,
        preferred: Option<(usize, f64)>,
    },
    Hangup(Index),
    HangupDead(Index),
    Withdraw(Index),
    Accept(Index),
    Reject(Index),
    Advance,
}

#[derive(Debug, Clone)]
struct StepOp {
    dt: f64,
    /// Advance the clock explicitly before the operation (else the operation does it).
    pre_advance: bool,
    op: OpSpec,
}

#[derive(Debug, Clone)]
struct Scenario {
    auto_accept: bool,
    seed: u64,
    preferred: bool,
    queues: Vec<QueueSpec>,
    steps: Vec<StepOp>,
    /// Where to snapshot and restore (an index into `steps`, clamped).
    split: Index,
}

fn step_spec() -> impl Strategy<Value = StepSpec> {
    prop_oneof![
        (1u8..=60).prop_map(StepSpec::Lower),
        Just(StepSpec::Clear),
        any::<Index>().prop_map(StepSpec::Add),
        (1i64..=5).prop_map(StepSpec::Raise),
        Just(StepSpec::Fallback),
    ]
}

fn queue_spec() -> impl Strategy<Value = QueueSpec> {
    (
        (
            select(Kind::ALL.to_vec()),
            prop_oneof![2 => Just(0.0), 1 => (1u32..=10).prop_map(f64::from)],
            select(vec![0.0, 1.0, 2.0]),
            select(vec![0.0, 5.0, 20.0]),
            proptest::option::weighted(0.3, 0u32..=3),
            proptest::option::weighted(0.4, select(vec![0.0, 10.0, 30.0, 60.0])),
            proptest::option::weighted(0.5, any::<Index>()),
        ),
        (
            (
                select(vec![0.0, 5.0, 15.0]),
                select(vec![0.0, 0.0, 3.0, 10.0]),
            ),
            0u32..=3,
            select(vec![0.0, 0.1, 1.0]),
            proptest::collection::vec(
                (select(vec![0.0f64, 5.0, 10.0, 25.0, 40.0]), step_spec()),
                0..=3,
            ),
        ),
    )
        .prop_map(
            |(
                (strategy, wrapup, weight, sl, max_waiting, max_wait, overflow),
                ((ring_timeout, retry), max_no_answers, aging, mut steps),
            )| {
                steps.sort_by(|a, b| a.0.total_cmp(&b.0));
                QueueSpec {
                    strategy,
                    wrapup,
                    weight,
                    sl,
                    max_waiting,
                    max_wait,
                    overflow,
                    ring_timeout,
                    retry,
                    max_no_answers,
                    aging,
                    steps,
                }
            },
        )
}

fn skill_list(levels: Vec<u8>, max: usize) -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((0..SKILLS.len(), select(levels)), 0..=max)
}

fn op_spec() -> impl Strategy<Value = OpSpec> {
    prop_oneof![
        3 => (
            0..AGENTS,
            skill_list(vec![10, 30, 50, 80, 100], 3),
            proptest::collection::vec((any::<Index>(), 0u32..=3), 0..=3),
            1u32..=2,
        )
            .prop_map(|(agent, skills, queues, limit)| OpSpec::Login {
                agent,
                skills,
                queues,
                limit
            }),
        1 => (0..AGENTS).prop_map(OpSpec::Logout),
        1 => (0..AGENTS).prop_map(OpSpec::Pause),
        1 => (0..AGENTS).prop_map(OpSpec::Unpause),
        6 => (
            any::<Index>(),
            -2i64..=3,
            skill_list(vec![1, 20, 40, 60, 90], 2),
            proptest::option::weighted(0.3, (0..AGENTS, select(vec![0.0, 5.0, 30.0]))),
        )
            .prop_map(|(queue, priority, skills, preferred)| OpSpec::Call {
                queue,
                priority,
                skills,
                preferred
            }),
        4 => any::<Index>().prop_map(OpSpec::Hangup),
        1 => any::<Index>().prop_map(OpSpec::HangupDead),
        1 => any::<Index>().prop_map(OpSpec::Withdraw),
        3 => any::<Index>().prop_map(OpSpec::Accept),
        2 => any::<Index>().prop_map(OpSpec::Reject),
        1 => Just(OpSpec::Advance),
    ]
}

fn step_op() -> impl Strategy<Value = StepOp> {
    (
        prop_oneof![
            3 => Just(0.0),
            6 => (1u32..20).prop_map(|k| f64::from(k) * 0.5),
            2 => (10u32..120).prop_map(f64::from),
        ],
        any::<bool>(),
        op_spec(),
    )
        .prop_map(|(dt, pre_advance, op)| StepOp {
            dt,
            pre_advance,
            op,
        })
}

fn scenario(auto: Option<bool>) -> impl Strategy<Value = Scenario> {
    let auto = match auto {
        Some(a) => Just(a).boxed(),
        None => any::<bool>().boxed(),
    };
    (
        auto,
        any::<u64>(),
        any::<bool>(),
        proptest::collection::vec(queue_spec(), 1..=4),
        proptest::collection::vec(step_op(), 0..90),
        any::<Index>(),
    )
        .prop_map(
            |(auto_accept, seed, preferred, queues, steps, split)| Scenario {
                auto_accept,
                seed,
                preferred,
                queues,
                steps,
                split,
            },
        )
}

// ---- building the engine --------------------------------------------------------------------

fn qid(q: usize) -> String {
    format!("q{q}")
}
fn aid(a: usize) -> String {
    format!("a{a}")
}
fn cid(c: usize) -> String {
    format!("c{c}")
}

/// A queue's configuration as the engine gets it. Queues may only name earlier queues, so
/// overflow and add-queues targets are picked among those (queue 0 has none).
// Settings the engine may gain later take their defaults (hence the struct update).
#[allow(clippy::needless_update)]
fn queue_config(i: usize, spec: &QueueSpec) -> QueueConfig {
    let earlier = |ix: &Index| (i > 0).then(|| ix.index(i));
    QueueConfig {
        strategy: spec.strategy,
        wrapup: spec.wrapup,
        weight: spec.weight,
        sl: spec.sl,
        max_waiting: spec.max_waiting,
        max_wait: spec.max_wait,
        on_limit: match spec.overflow.as_ref().and_then(earlier) {
            Some(q) => OnLimit::Overflow(qid(q)),
            None => OnLimit::End,
        },
        ring_timeout: spec.ring_timeout,
        retry: spec.retry,
        max_no_answers: spec.max_no_answers,
        aging: spec.aging,
        escalation: spec
            .steps
            .iter()
            .map(|(after, s)| EscalationStep {
                after: *after,
                action: match s {
                    StepSpec::Lower(by) => Action::LowerSkills(*by),
                    StepSpec::Clear => Action::ClearSkills,
                    StepSpec::Add(ix) => {
                        Action::AddQueues(earlier(ix).map(qid).into_iter().collect())
                    }
                    StepSpec::Raise(by) => Action::RaisePriority(*by),
                    StepSpec::Fallback => Action::Fallback("voicemail".into()),
                },
            })
            .collect(),
        ..QueueConfig::default()
    }
}

/// An operation resolved against the current state: what both engines are given.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Login {
        agent: usize,
        skills: BTreeMap<usize, u8>,
        queues: Vec<(usize, u32)>,
        limit: u32,
    },
    Logout(usize),
    Pause(usize),
    Unpause(usize),
    Call {
        call: usize,
        queue: usize,
        priority: i64,
        skills: BTreeMap<usize, u8>,
        preferred: Option<(usize, f64)>,
    },
    Hangup(usize),
    Withdraw(usize),
    Accept(usize, usize),
    Reject(usize, usize),
    Advance,
}

fn apply(e: &mut Engine, now: f64, op: &Op) -> Result<(), Error> {
    match op {
        Op::Login {
            agent,
            skills,
            queues,
            limit,
        } => {
            let skills: Vec<(&str, i64)> = skills
                .iter()
                .map(|(&s, &l)| (SKILLS[s], i64::from(l)))
                .collect();
            let names: Vec<String> = queues.iter().map(|&(q, _)| qid(q)).collect();
            let queues: Vec<(&str, u32)> = names
                .iter()
                .zip(queues)
                .map(|(n, &(_, w))| (n.as_str(), w))
                .collect();
            e.login(now, &aid(*agent), &skills, &queues, *limit)
        }
        Op::Logout(a) => e.logout(now, &aid(*a)),
        Op::Pause(a) => e.pause(now, &aid(*a), "break"),
        Op::Unpause(a) => e.unpause(now, &aid(*a)),
        Op::Call {
            call,
            queue,
            priority,
            skills,
            preferred,
        } => {
            let skills: Vec<(&str, i64)> = skills
                .iter()
                .map(|(&s, &l)| (SKILLS[s], i64::from(l)))
                .collect();
            let id = cid(*call);
            let queue = qid(*queue);
            let pref = preferred.map(|(a, w)| (aid(a), w));
            e.enqueue(
                now,
                &NewCall {
                    id: &id,
                    queue: &queue,
                    priority: *priority,
                    skills: &skills,
                    preferred: pref.as_ref().map(|(a, w)| (a.as_str(), *w)),
                    max_wait_exempt: false,
                    parked: false,
                },
            )
        }
        Op::Hangup(c) => e.hangup(now, &cid(*c)),
        Op::Withdraw(c) => e.withdraw(now, &cid(*c)),
        Op::Accept(c, a) => e.accept(now, &cid(*c), &aid(*a)),
        Op::Reject(c, a) => e.reject(now, &cid(*c), &aid(*a)),
        Op::Advance => e.advance(now),
    }
}

// ---- the model ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct CallM {
    home: usize,
    arrival: f64,
    /// When the call entered its current home queue (escalation and max wait count from it).
    entered: f64,
    /// Queues the call waits in: its home first, then those added by escalation.
    queues: Vec<usize>,
    skills: BTreeMap<usize, u8>,
    preferred: Option<usize>,
    next_step: u32,
    agent: Option<usize>,
    offers: BTreeSet<usize>,
    /// The queue of its current (or last) offer.
    offer_queue: usize,
    ended: bool,
}

#[derive(Debug, Clone, Default)]
struct AgentM {
    ever: bool,
    logged_in: bool,
    pending_logout: bool,
    paused: bool,
    skills: BTreeMap<usize, u8>,
    queues: Vec<usize>,
    limit: u32,
    connected: BTreeSet<usize>,
    wrap_until: f64,
    /// Resting after a declined or missed offer until then, at most (the engine rests only
    /// agents that are otherwise ready, so this may overstate the rest, never understate it).
    rest_until: f64,
    /// A login cancelled a pending logout with a limit below the calls and offers the agent
    /// held then (known engine bug [relogin-lowers-limit]).
    over: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    offered: u64,
    answered: u64,
    abandoned: u64,
    answered_within_sl: u64,
    timed_out: u64,
    overflowed: u64,
    fallback: u64,
    /// Sum of the waits of answered calls (not compared exactly: see `sync`).
    wait_sum: f64,
}

struct Model {
    auto: bool,
    cfg: Vec<QueueConfig>,
    calls: Vec<CallM>,
    agents: Vec<AgentM>,
    counts: Vec<Counts>,
    last_t: f64,
    /// Events seen, by kind (for the coverage check).
    tally: BTreeMap<&'static str, u64>,
    /// (agent, call) pairs declined or missed in the current operation: the agent is not
    /// offered that call again at once.
    excluded_now: BTreeSet<(usize, usize)>,
    /// Every such pair so far.
    excluded_ever: BTreeSet<(usize, usize)>,
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)*) => {
        let ok: bool = $cond;
        if !ok {
            return Err(format!($($fmt)*));
        }
    };
}

/// A check tagged with the engine bug it once caught (see the regression tests at the end).
macro_rules! known {
    ($cond:expr, $bug:literal, $($fmt:tt)*) => {
        let ok: bool = $cond;
        if !ok {
            return Err(format!("[{}] {}", $bug, format!($($fmt)*)));
        }
    };
}

/// A state the engine must never reach, tagged with the bug that once reached it.
macro_rules! soft {
    ($bug:literal, $($fmt:tt)*) => {
        return Err(format!("[{}] {}", $bug, format!($($fmt)*)));
    };
}

fn parse_idx(id: &str, prefix: char) -> usize {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected id {id:?}"))
}

impl Model {
    fn new(auto: bool, cfg: Vec<QueueConfig>) -> Self {
        let n = cfg.len();
        Model {
            auto,
            cfg,
            calls: Vec::new(),
            agents: vec![AgentM::default(); AGENTS],
            counts: vec![Counts::default(); n],
            last_t: 0.0,
            tally: BTreeMap::new(),
            excluded_now: BTreeSet::new(),
            excluded_ever: BTreeSet::new(),
        }
    }

    fn queue_of(&self, id: &str) -> usize {
        parse_idx(id, 'q')
    }

    fn live_calls(&self) -> Vec<usize> {
        (0..self.calls.len())
            .filter(|&c| !self.calls[c].ended)
            .collect()
    }

    fn offers(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (c, call) in self.calls.iter().enumerate() {
            for &a in &call.offers {
                out.push((c, a));
            }
        }
        out
    }

    fn offers_of(&self, a: usize) -> usize {
        self.calls.iter().filter(|c| c.offers.contains(&a)).count()
    }

    fn satisfies(agent: &BTreeMap<usize, u8>, req: &BTreeMap<usize, u8>) -> bool {
        req.iter()
            .all(|(s, min)| agent.get(s).is_some_and(|l| l >= min))
    }

    /// May this agent be offered or given this call, served from queue `q`, at time `t`?
    fn eligible(&self, c: usize, a: usize, q: usize, t: f64) -> Result<(), String> {
        let call = &self.calls[c];
        let ag = &self.agents[a];
        check!(ag.logged_in, "a{a} got c{c} while logged out");
        check!(!ag.pending_logout, "a{a} got c{c} with a logout pending");
        check!(!ag.paused, "a{a} got c{c} while paused");
        check!(
            t + EPS >= ag.wrap_until,
            "a{a} got c{c} at {t} during its wrap-up (until {})",
            ag.wrap_until
        );
        if call.preferred == Some(a) {
            return Ok(());
        }
        check!(
            call.queues.contains(&q),
            "c{c} served from q{q} but waits in {:?}",
            call.queues
        );
        check!(
            ag.queues.contains(&q),
            "a{a} got c{c} from q{q} but serves {:?}",
            ag.queues
        );
        check!(
            Self::satisfies(&ag.skills, &call.skills),
            "a{a} (skills {:?}) got c{c} needing {:?}",
            ag.skills,
            call.skills
        );
        Ok(())
    }

    fn live(&self, c: usize) -> Result<&CallM, String> {
        let call = &self.calls[c];
        check!(!call.ended, "event for c{c} after it ended");
        Ok(call)
    }

    fn end_call(&mut self, c: usize) {
        self.calls[c].ended = true;
    }

    fn on_event(&mut self, ev: &Event, now: f64) -> Result<(), String> {
        let t = ev.t();
        check!(
            t + EPS >= self.last_t,
            "event time {t} before an earlier event's {}",
            self.last_t
        );
        check!(t <= now + EPS, "event at {t} after the clock {now}");
        self.last_t = t;
        *self.tally.entry(ev.kind()).or_default() += 1;
        match ev {
            Event::Offer {
                call,
                queue,
                agents,
                ..
            } => {
                let c = parse_idx(call, 'c');
                let q = self.queue_of(queue);
                check!(!self.auto, "an offer with offers accepted at once");
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "offer of connected c{c}");
                check!(cm.offers.is_empty(), "c{c} offered while still ringing");
                check!(!agents.is_empty(), "offer of c{c} to nobody");
                let ring_all = self.cfg[q].strategy == Kind::RingAll;
                check!(
                    agents.len() == 1 || ring_all,
                    "c{c} offered to {} agents from q{q}",
                    agents.len()
                );
                for a in agents {
                    let a = parse_idx(a, 'a');
                    self.eligible(c, a, q, t)?;
                    let ag = &self.agents[a];
                    let used = ag.connected.len() + self.offers_of(a);
                    check!(
                        used < ag.limit as usize,
                        "a{a} offered c{c} holding {used} of its limit {}",
                        ag.limit
                    );
                }
                let set: BTreeSet<usize> = agents.iter().map(|a| parse_idx(a, 'a')).collect();
                check!(set.len() == agents.len(), "c{c} offered twice to one agent");
                self.calls[c].offers = set;
                self.calls[c].offer_queue = q;
            }
            Event::Unoffer {
                call, agent, why, ..
            } => {
                let c = parse_idx(call, 'c');
                let a = parse_idx(agent, 'a');
                self.live(c)?;
                check!(
                    self.calls[c].offers.remove(&a),
                    "unoffer of c{c} at a{a}, not ringing there"
                );
                if matches!(why, acdcore::Unoffer::Timeout) {
                    self.excluded_now.insert((a, c));
                    self.excluded_ever.insert((a, c));
                    self.rest(a, c, t);
                }
            }
            Event::Assign {
                call,
                agent,
                queue,
                wait,
                ..
            } => {
                let c = parse_idx(call, 'c');
                let a = parse_idx(agent, 'a');
                let q = self.queue_of(queue);
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "c{c} assigned twice");
                check!(
                    (wait - (t - cm.arrival)).abs() <= EPS,
                    "c{c} wait {wait} != {t} - {}",
                    cm.arrival
                );
                if self.auto {
                    self.eligible(c, a, q, t)?;
                } else {
                    check!(
                        cm.offers.len() == 1 && cm.offers.contains(&a),
                        "c{c} assigned to a{a} but ringing at {:?}",
                        cm.offers
                    );
                    self.calls[c].offers.clear();
                    check!(self.agents[a].logged_in, "logged-out a{a} answered c{c}");
                }
                let ag = &mut self.agents[a];
                if ag.over && ag.connected.len() >= ag.limit as usize {
                    soft!(
                        "relogin-lowers-limit",
                        "a{a} holds {} calls, limit {} (lowered by a login), and gets c{c}",
                        ag.connected.len(),
                        ag.limit
                    );
                } else {
                    check!(
                        ag.connected.len() < ag.limit as usize,
                        "a{a} holds {} calls, limit {}, and gets c{c}",
                        ag.connected.len(),
                        ag.limit
                    );
                }
                ag.connected.insert(c);
                let home = self.calls[c].home;
                self.calls[c].agent = Some(a);
                self.calls[c].queues = vec![q];
                self.counts[home].answered += 1;
                self.counts[home].wait_sum += *wait;
                if *wait <= self.cfg[home].sl {
                    self.counts[home].answered_within_sl += 1;
                }
            }
            Event::End {
                call, agent, talk, ..
            } => {
                let c = parse_idx(call, 'c');
                let a = parse_idx(agent, 'a');
                let cm = self.live(c)?;
                check!(
                    cm.agent == Some(a),
                    "end of c{c} at a{a}, connected to {:?}",
                    cm.agent
                );
                check!(*talk >= 0.0, "negative talk {talk}");
                let served = cm.queues[0];
                self.end_call(c);
                let wrapup = self.cfg[served].wrapup;
                let ag = &mut self.agents[a];
                ag.connected.remove(&c);
                if ag.pending_logout && ag.connected.is_empty() {
                    ag.logged_in = false;
                    ag.pending_logout = false;
                    ag.paused = false;
                    ag.wrap_until = 0.0;
                } else if wrapup > 0.0 {
                    ag.wrap_until = t + wrapup;
                }
            }
            Event::Abandon {
                call, queue, wait, ..
            }
            | Event::Withdraw {
                call, queue, wait, ..
            }
            | Event::Timeout {
                call, queue, wait, ..
            } => {
                let c = parse_idx(call, 'c');
                let q = self.queue_of(queue);
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "{} of connected c{c}", ev.kind());
                check!(
                    cm.home == q,
                    "{} of c{c} names q{q}, home q{}",
                    ev.kind(),
                    cm.home
                );
                check!(
                    cm.offers.is_empty(),
                    "c{c} left still ringing at {:?}",
                    cm.offers
                );
                check!(
                    (wait - (t - cm.arrival)).abs() <= EPS,
                    "c{c} wait {wait} != {t} - {}",
                    cm.arrival
                );
                let entered = cm.entered;
                self.end_call(c);
                if matches!(ev, Event::Abandon { .. }) {
                    self.counts[q].abandoned += 1;
                } else if matches!(ev, Event::Withdraw { .. }) {
                    self.counts[q].offered -= 1; // the host took it back: no caller's
                } else {
                    let due = self.cfg[q].max_wait.map(|w| entered + w);
                    check!(
                        due.is_some_and(|d| t + EPS >= d),
                        "timeout of c{c} in q{q} at {t}, due {due:?}"
                    );
                    self.counts[q].timed_out += 1;
                }
            }
            Event::Overflow { call, from, to, .. } => {
                let c = parse_idx(call, 'c');
                let q = self.queue_of(from);
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "overflow of connected c{c}");
                check!(
                    cm.home == q,
                    "overflow of c{c} from q{q}, home q{}",
                    cm.home
                );
                check!(cm.offers.is_empty(), "c{c} overflowed still ringing");
                let want = match &self.cfg[q].on_limit {
                    OnLimit::End => None,
                    OnLimit::Overflow(n) => Some(n.clone()),
                };
                let got = to.as_ref().map(|s| s.to_string());
                check!(
                    got.is_none() || got == want,
                    "c{c} overflowed from q{q} to {got:?}, configured {want:?}"
                );
                self.counts[q].overflowed += 1;
                match to {
                    Some(n) => {
                        let n = self.queue_of(n);
                        self.counts[n].offered += 1;
                        let cm = &mut self.calls[c];
                        cm.home = n;
                        cm.entered = t;
                        cm.queues = vec![n];
                        cm.next_step = 0;
                    }
                    None => self.end_call(c),
                }
            }
            Event::Escalate {
                call, queue, step, ..
            } => {
                let c = parse_idx(call, 'c');
                let q = self.queue_of(queue);
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "escalation of connected c{c}");
                check!(
                    cm.home == q,
                    "escalation of c{c} in q{q}, home q{}",
                    cm.home
                );
                check!(
                    *step == cm.next_step,
                    "c{c} escalated step {step}, expected {}",
                    cm.next_step
                );
                let st = &self.cfg[q].escalation[*step as usize];
                check!(
                    t + EPS >= cm.entered + st.after,
                    "step {step} of c{c} at {t}, before entry {} + {}",
                    cm.entered,
                    st.after
                );
                let action = st.action.clone();
                let cm = &mut self.calls[c];
                cm.next_step += 1;
                match action {
                    Action::LowerSkills(by) => {
                        for l in cm.skills.values_mut() {
                            *l = l.saturating_sub(by).max(1);
                        }
                    }
                    Action::ClearSkills => cm.skills.clear(),
                    Action::AddQueues(qs) => {
                        for n in qs {
                            let n = parse_idx(&n, 'q');
                            if !cm.queues.contains(&n) {
                                cm.queues.push(n);
                            }
                        }
                    }
                    Action::RaisePriority(_) | Action::Fallback(_) => {}
                }
            }
            Event::Fallback {
                call, queue, wait, ..
            } => {
                let c = parse_idx(call, 'c');
                let q = self.queue_of(queue);
                let cm = self.live(c)?;
                check!(cm.agent.is_none(), "fallback of connected c{c}");
                check!(
                    cm.home == q,
                    "fallback of c{c} from q{q}, home q{}",
                    cm.home
                );
                check!(cm.offers.is_empty(), "c{c} fell back still ringing");
                let last = cm
                    .next_step
                    .checked_sub(1)
                    .map(|s| &self.cfg[q].escalation[s as usize]);
                check!(
                    last.is_some_and(|s| matches!(s.action, Action::Fallback(_))),
                    "fallback of c{c} not right after a fallback step"
                );
                check!(
                    (wait - (t - cm.arrival)).abs() <= EPS,
                    "c{c} wait {wait} != {t} - {}",
                    cm.arrival
                );
                self.end_call(c);
                self.counts[q].fallback += 1;
            }
            Event::AutoPause { agent, .. } => {
                let a = parse_idx(agent, 'a');
                check!(!self.auto, "auto-pause with offers accepted at once");
                check!(self.agents[a].logged_in, "auto-pause of logged-out a{a}");
                // Holding or offered another call (limit > 1), the pause waits for it; the
                // next sync reads which it was.
                let ringing = self.calls.iter().any(|cm| cm.offers.contains(&a));
                self.agents[a].paused = self.agents[a].connected.is_empty() && !ringing;
            }
        }
        Ok(())
    }

    /// What the model learns from an operation that succeeded, before its events.
    fn before_events(&mut self, op: &Op, now: f64) {
        match op {
            Op::Login {
                agent,
                skills,
                queues,
                limit,
            } => {
                let held = self
                    .calls
                    .iter()
                    .filter(|c| c.offers.contains(agent))
                    .count();
                let ag = &mut self.agents[*agent];
                ag.over = ag.pending_logout && ag.connected.len() + held > *limit as usize;
                if !ag.pending_logout {
                    ag.wrap_until = 0.0;
                    ag.rest_until = 0.0;
                    ag.paused = false;
                }
                ag.ever = true;
                ag.logged_in = true;
                ag.pending_logout = false;
                ag.skills = skills.clone();
                ag.queues = queues.iter().map(|&(q, _)| q).collect();
                ag.limit = *limit;
            }
            Op::Unpause(a) => self.agents[*a].paused = false,
            Op::Call {
                queue,
                skills,
                preferred,
                ..
            } => {
                self.calls.push(CallM {
                    home: *queue,
                    arrival: now,
                    entered: now,
                    queues: vec![*queue],
                    skills: skills.clone(),
                    preferred: preferred.filter(|&(_, w)| w > 0.0).map(|(a, _)| a),
                    next_step: 0,
                    agent: None,
                    offers: BTreeSet::new(),
                    offer_queue: *queue,
                    ended: false,
                });
                self.counts[*queue].offered += 1;
            }
            Op::Reject(c, a) => {
                self.calls[*c].offers.remove(a);
                self.excluded_now.insert((*a, *c));
                self.excluded_ever.insert((*a, *c));
                self.rest(*a, *c, now);
            }
            _ => {}
        }
    }

    /// Checks the engine's own view against the model after an operation, and takes over the
    /// few things the log does not say (a logout or pause that waits for the current call).
    fn sync(&mut self, e: &Engine, op: &Op, check_coexist: bool) -> Result<(), String> {
        for a in 0..AGENTS {
            let ringing = self.offers_of(a);
            let ag = &mut self.agents[a];
            if !ag.ever {
                check!(
                    e.agent_info(&aid(a)).is_err(),
                    "a{a} known before any login"
                );
                continue;
            }
            let info = e.agent_info(&aid(a)).map_err(|err| err.to_string())?;
            let logged_in = info.state != AgentState::LoggedOut;
            if *op != Op::Logout(a) {
                check!(
                    logged_in == ag.logged_in,
                    "a{a} is {:?}, model says logged in = {}",
                    info.state,
                    ag.logged_in
                );
            }
            ag.logged_in = logged_in;
            ag.pending_logout = info.pending_logout;
            if ag.paused && logged_in && info.state == AgentState::WrapUp {
                soft!(
                    "pause-lost-in-wrap-up",
                    "a{a} was paused holding a call; that call ended and it is in wrap-up"
                );
            } else if ag.paused && logged_in {
                check!(
                    info.state == AgentState::Paused,
                    "a{a} should be paused, is {:?}",
                    info.state
                );
            }
            ag.paused = info.state == AgentState::Paused;
            if !logged_in {
                ag.wrap_until = 0.0;
                ag.rest_until = 0.0;
                known!(
                    ringing == 0,
                    "logout-leaves-offers-ringing",
                    "a{a} is logged out with {ringing} offers still ringing"
                );
            }
            let active: BTreeSet<usize> = info
                .active_calls
                .iter()
                .map(|c| parse_idx(c, 'c'))
                .collect();
            check!(
                active == ag.connected,
                "a{a} holds {active:?}, the log says {:?}",
                ag.connected
            );
            if ag.over && info.active_calls.len() > info.limit as usize {
                soft!(
                    "relogin-lowers-limit",
                    "a{a} holds {} calls over its limit {}",
                    info.active_calls.len(),
                    info.limit
                );
            } else {
                check!(
                    info.active_calls.len() <= info.limit as usize,
                    "a{a} holds {} calls over its limit {}",
                    info.active_calls.len(),
                    info.limit
                );
            }
        }
        for (q, want) in self.counts.iter().enumerate() {
            let s = e.queue_stats(&qid(q)).map_err(|err| err.to_string())?;
            let got = Counts {
                offered: s.offered,
                answered: s.answered,
                abandoned: s.abandoned,
                answered_within_sl: s.answered_within_sl,
                timed_out: s.timed_out,
                overflowed: s.overflowed,
                fallback: s.fallback,
                wait_sum: want.wait_sum,
            };
            check!(got == *want, "q{q} stats {got:?}, the log says {want:?}");
            let asa = (want.answered > 0).then(|| want.wait_sum / want.answered as f64);
            check!(
                match (s.asa, asa) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * (1.0 + y.abs()),
                    (x, y) => x == y,
                },
                "q{q} average speed of answer {:?}, the log says {asa:?}",
                s.asa
            );
            let settled = want.answered + want.abandoned + want.timed_out;
            let sl = (settled > 0).then(|| want.answered_within_sl as f64 / settled as f64);
            check!(
                s.service_level == sl,
                "q{q} service level {:?}, the log says {sl:?}",
                s.service_level
            );
            let waiting = self
                .calls
                .iter()
                .filter(|c| !c.ended && c.agent.is_none() && c.home == q)
                .count() as u64;
            check!(
                s.waiting == waiting,
                "q{q} says {} waiting, the log says {waiting}",
                s.waiting
            );
            let mut by_state = [0u32; 6];
            for (a, ag) in self.agents.iter().enumerate() {
                if ag.ever && ag.queues.contains(&q) {
                    let st = e.agent_info(&aid(a)).map_err(|err| err.to_string())?.state;
                    by_state[st.index()] += 1;
                }
            }
            check!(
                s.agents == by_state,
                "q{q} agents by state {:?}, members show {by_state:?}",
                s.agents
            );
        }
        for (c, cm) in self.calls.iter().enumerate() {
            let info = e.call_info(&cid(c));
            if cm.ended {
                check!(
                    matches!(info, Err(Error::Unknown { .. })),
                    "ended c{c} still known: {info:?}"
                );
                continue;
            }
            let info = info.map_err(|err| format!("live c{c}: {err}"))?;
            check!(
                info.queue.as_ref() == qid(cm.home),
                "c{c} in {}, home q{}",
                info.queue,
                cm.home
            );
            let want: &[&str] = if cm.agent.is_some() {
                &["connected"]
            } else if !cm.offers.is_empty() {
                &["offered"]
            } else if cm.preferred.is_some() {
                &["waiting", "held"]
            } else {
                &["waiting"]
            };
            check!(
                want.contains(&info.state),
                "c{c} is {}, the log says {want:?}",
                info.state
            );
            if matches!(info.state, "waiting" | "held") {
                check!(info.position.is_some(), "waiting c{c} has no position");
            }
        }
        if check_coexist {
            self.no_idle_agent_with_eligible_call(e)?;
        }
        Ok(())
    }

    /// The agent declined or missed call `c` at `t`: it rests for the retry of the queue that
    /// offered it.
    fn rest(&mut self, a: usize, c: usize, t: f64) {
        let retry = self.cfg[self.calls[c].offer_queue].retry;
        let ag = &mut self.agents[a];
        ag.rest_until = ag.rest_until.max(t + retry);
    }

    fn no_idle_agent_with_eligible_call(&self, e: &Engine) -> Result<(), String> {
        for (a, ag) in self.agents.iter().enumerate() {
            if !ag.ever || ag.rest_until > e.now() {
                continue;
            }
            let info = e.agent_info(&aid(a)).map_err(|err| err.to_string())?;
            let free = matches!(
                info.state,
                AgentState::Available | AgentState::Busy | AgentState::Reserved
            ) && !info.pending_pause
                && !info.pending_logout
                && info.active_calls.len() + self.offers_of(a) < info.limit as usize;
            if !free {
                continue;
            }
            for (c, cm) in self.calls.iter().enumerate() {
                if cm.ended || cm.agent.is_some() {
                    continue;
                }
                let state = e.call_info(&cid(c)).map_err(|err| err.to_string())?.state;
                if state != "waiting" {
                    continue;
                }
                let served = cm.queues.iter().find(|q| ag.queues.contains(q));
                if let Some(q) = served
                    && Self::satisfies(&ag.skills, &cm.skills)
                {
                    if self.excluded_now.contains(&(a, c)) {
                        continue;
                    }
                    if self.excluded_ever.contains(&(a, c)) {
                        soft!(
                            "missed-call-never-reoffered",
                            "a{a} declined or missed c{c} earlier; both now wait ({:?}, q{q})",
                            info.state
                        );
                    }
                    return Err(format!(
                        "a{a} ({:?}, {} of {} calls, skills {:?}) could take waiting c{c} \
                         (q{q}, needs {:?}) but both wait",
                        info.state,
                        info.active_calls.len(),
                        info.limit,
                        ag.skills,
                        cm.skills
                    ));
                }
            }
        }
        Ok(())
    }
}

// ---- running a scenario ---------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Checks {
    snapshot: bool,
    coexist: bool,
    /// After each operation, `advance(now)` again must have nothing left to do.
    nothing_due: bool,
}

fn resolve(spec: &OpSpec, m: &Model, nq: usize, next_call: usize) -> Op {
    let live = m.live_calls();
    match spec {
        OpSpec::Login {
            agent,
            skills,
            queues,
            limit,
        } => {
            let mut qs: Vec<(usize, u32)> = Vec::new();
            for (ix, w) in queues {
                let q = ix.index(nq);
                if !qs.iter().any(|&(x, _)| x == q) {
                    qs.push((q, *w));
                }
            }
            Op::Login {
                agent: *agent,
                skills: skills.iter().copied().collect(),
                queues: qs,
                limit: *limit,
            }
        }
        OpSpec::Logout(a) => Op::Logout(*a),
        OpSpec::Pause(a) => Op::Pause(*a),
        OpSpec::Unpause(a) => Op::Unpause(*a),
        OpSpec::Call {
            queue,
            priority,
            skills,
            preferred,
        } => Op::Call {
            call: next_call,
            queue: queue.index(nq),
            priority: *priority,
            skills: skills.iter().copied().collect(),
            preferred: *preferred,
        },
        OpSpec::Hangup(ix) if !live.is_empty() => Op::Hangup(live[ix.index(live.len())]),
        OpSpec::Withdraw(ix) if !live.is_empty() => Op::Withdraw(live[ix.index(live.len())]),
        OpSpec::HangupDead(ix) => {
            let dead: Vec<usize> = (0..m.calls.len()).filter(|&c| m.calls[c].ended).collect();
            if dead.is_empty() {
                Op::Advance
            } else {
                Op::Hangup(dead[ix.index(dead.len())])
            }
        }
        OpSpec::Accept(ix) | OpSpec::Reject(ix) => {
            let offers = m.offers();
            if offers.is_empty() {
                return Op::Advance;
            }
            let (c, a) = offers[ix.index(offers.len())];
            if matches!(spec, OpSpec::Accept(_)) {
                Op::Accept(c, a)
            } else {
                Op::Reject(c, a)
            }
        }
        _ => Op::Advance,
    }
}

struct Run {
    engine: Engine,
    twin: Option<Engine>,
    model: Model,
    checks: Checks,
    coexist: bool,
    now: f64,
    ops: usize,
}

impl Run {
    /// Applies one resolved operation to the engine (and its restored twin), checks both agree,
    /// feeds the events to the model and checks the invariants.
    fn step(&mut self, op: &Op, pre_advance: bool) -> Result<Result<(), Error>, String> {
        self.ops += 1;
        let now = self.now;
        self.model.excluded_now.clear();
        // The events of the timers due by `now` come first, then those of the operation itself;
        // the model must see the first part before it learns what the operation did.
        let timer_events = {
            let mut probe = self.engine.clone();
            let _ = probe.advance(now);
            probe.take_events()
        };
        let run = |e: &mut Engine| {
            let mut evs = Vec::new();
            if pre_advance {
                let r = e.advance(now);
                evs.extend(e.take_events());
                if let Err(err) = r {
                    return (Err(err), evs);
                }
            }
            let r = apply(e, now, op);
            let own = e.take_events();
            (r, evs.into_iter().chain(own).collect::<Vec<_>>())
        };
        let (result, events) = run(&mut self.engine);
        if let Some(twin) = self.twin.as_mut() {
            let (r2, evs2) = run(twin);
            check!(
                r2 == result && evs2 == events,
                "after restore, op {op:?} at {now} gives {r2:?} {evs2:#?}, original {result:?} {events:#?}"
            );
        }
        // An operation refused before it moved the clock has no events at all.
        let k = if events.is_empty() {
            0
        } else {
            timer_events.len()
        };
        check!(
            events.len() >= k && events[..k] == timer_events[..k],
            "op #{} {op:?} at {now}: its events do not start with the timers due: {events:#?} \
             vs {timer_events:#?}",
            self.ops
        );
        if result.is_err() {
            check!(
                events.len() == k,
                "op #{} {op:?} at {now} failed ({result:?}) yet did something: {:#?}",
                self.ops,
                &events[k..]
            );
        }
        if let (Op::Hangup(c), Err(_)) = (op, &result)
            && self.model.calls[*c].ended
        {
            check!(
                matches!(result, Err(Error::Unknown { .. })),
                "hangup of ended c{c}: {result:?}"
            );
        }
        for (i, ev) in events.iter().enumerate() {
            if i == k && result.is_ok() {
                self.model.before_events(op, now);
            }
            self.model.on_event(ev, now).map_err(|m| {
                format!("op #{} {op:?} at {now}: {m}\nevents: {events:#?}", self.ops)
            })?;
        }
        if events.len() <= k && result.is_ok() {
            self.model.before_events(op, now);
        }
        if let Op::Withdraw(c) = op {
            // After the op's events (timers run first and may connect or end the call): a
            // connected call is refused and stays; any other is gone, by this or a timer.
            let cm = &self.model.calls[*c];
            let connected = !cm.ended && cm.agent.is_some();
            check!(
                matches!(result, Err(Error::State(_))) == connected,
                "withdraw of c{c} (connected: {connected}): {result:?}"
            );
            check!(
                connected || cm.ended,
                "c{c} still live after withdraw: {result:?}"
            );
        }
        self.model
            .sync(&self.engine, op, self.coexist)
            .map_err(|m| {
                format!(
                    "after op #{} {op:?} at {now}: {m}\nevents: {events:#?}",
                    self.ops
                )
            })?;
        // (An operation refused before it moved the clock leaves timers due by `now` to the
        // next one, rightly.)
        if self.checks.nothing_due && self.engine.now() == now {
            let mut probe = self.engine.clone();
            probe.advance(now).map_err(|e| e.to_string())?;
            let late = probe.take_events();
            known!(
                late.is_empty(),
                "timer-due-now-deferred",
                "after op #{} {op:?} at {now}, events were still due: {late:#?}",
                self.ops
            );
        }
        Ok(result)
    }
}

fn run_scenario(sc: &Scenario, checks: Checks) -> Result<BTreeMap<&'static str, u64>, String> {
    let cfg: Vec<QueueConfig> = sc
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| queue_config(i, q))
        .collect();
    let mut engine = Engine::new(Options {
        seed: sc.seed,
        auto_accept: sc.auto_accept,
    });
    for (i, c) in cfg.iter().enumerate() {
        engine
            .add_queue(&qid(i), c.clone())
            .map_err(|e| format!("add_queue q{i}: {e}"))?;
    }
    let coexist = checks.coexist && !sc.preferred;
    let mut run = Run {
        engine,
        twin: None,
        model: Model::new(sc.auto_accept, cfg.clone()),
        checks,
        coexist,
        now: 0.0,
        ops: 0,
    };
    let split = sc.split.index(sc.steps.len() + 1);
    let nq = cfg.len();
    for (i, st) in sc.steps.iter().enumerate() {
        if checks.snapshot && i == split {
            let bytes = run.engine.snapshot();
            run.twin = Some(Engine::restore(&bytes).map_err(|e| format!("restore: {e}"))?);
        }
        run.now += st.dt;
        let mut spec = st.op.clone();
        if !sc.preferred
            && let OpSpec::Call { preferred, .. } = &mut spec
        {
            *preferred = None;
        }
        let op = resolve(&spec, &run.model, nq, run.model.calls.len());
        let _ = run.step(&op, st.pre_advance)?;
    }
    if checks.snapshot && split == sc.steps.len() {
        let bytes = run.engine.snapshot();
        run.twin = Some(Engine::restore(&bytes).map_err(|e| format!("restore: {e}"))?);
    }
    // The end: hang up every call still in the engine (answering may hand an agent the next
    // waiting call, so go round until none is left), then run the remaining timers.
    run.coexist = false;
    let mut rounds = 0;
    while let Some(&c) = run.model.live_calls().first() {
        rounds += 1;
        check!(rounds < 10_000, "hanging up never ends");
        run.now += 1.0;
        // Timers due by now run first and may end the call (a timeout, say).
        let _ = run.step(&Op::Advance, false)?;
        if run.model.calls[c].ended {
            continue;
        }
        let r = run.step(&Op::Hangup(c), false)?;
        check!(r.is_ok(), "final hangup of c{c}: {r:?}");
    }
    run.engine.finish();
    let evs = run.engine.take_events();
    if let Some(twin) = run.twin.as_mut() {
        twin.finish();
        let evs2 = twin.take_events();
        check!(evs2 == evs, "finish() after restore: {evs2:?} vs {evs:?}");
        for q in 0..nq {
            let (a, b) = (
                run.engine.queue_stats(&qid(q)).unwrap(),
                twin.queue_stats(&qid(q)).unwrap(),
            );
            check!(a == b, "q{q} stats differ after restore: {a:?} vs {b:?}");
        }
    }
    let end = f64::MAX;
    for ev in &evs {
        run.model
            .on_event(ev, end)
            .map_err(|m| format!("finish(): {m}"))?;
    }
    run.model.sync(&run.engine, &Op::Advance, false)?;
    for (c, cm) in run.model.calls.iter().enumerate() {
        check!(cm.ended, "c{c} never ended");
    }
    for q in 0..nq {
        let s = run.engine.queue_stats(&qid(q)).unwrap();
        check!(
            s.waiting == 0,
            "q{q} still has {} waiting at the end",
            s.waiting
        );
        let c = &run.model.counts[q];
        check!(
            c.answered_within_sl <= c.answered,
            "q{q} answered within SL over answered"
        );
    }
    let mut tally = std::mem::take(&mut run.model.tally);
    if split < sc.steps.len() && checks.snapshot {
        *tally.entry("restored mid-run").or_default() += 1;
    }
    Ok(tally)
}

fn config(cases: u32) -> ProptestConfig {
    // PROPTEST_CASES=N runs longer (or shorter) than the default.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        max_global_rejects: 100_000,
        // Nothing written into the source tree; a failure prints its minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const ALL: Checks = Checks {
    snapshot: true,
    coexist: true,
    nothing_due: true,
};

/// Turns a scenario's outcome into the property's.
fn verdict<T>(r: Result<T, String>) -> Result<(), TestCaseError> {
    r.map(|_| ()).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(config(400))]

    /// Offers accepted at once (replay, simulation): every invariant, the snapshot twin, and no
    /// idle eligible agent next to a waiting call.
    #[test]
    fn auto_accept_invariants(sc in scenario(Some(true))) {
        verdict(run_scenario(&sc, ALL))?;
    }

    /// Live offers: accept, reject, ring timeouts, auto-pauses.
    #[test]
    fn live_offer_invariants(sc in scenario(Some(false))) {
        verdict(run_scenario(&sc, ALL))?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// Timers due at an operation's `now` run in that operation: calling `advance(now)` again
    /// right after has nothing left to report. Escalation steps after 0 s, a max wait of 0 s
    /// and (live) calls coming back to line overdue hit the known bug [timer-due-now-deferred]
    /// nearly always, so this runs with offers accepted at once and the zeros moved off zero;
    /// the regression tests below pin the bug itself.
    #[test]
    fn nothing_is_left_due_after_an_operation(mut sc in scenario(Some(true))) {
        for q in &mut sc.queues {
            for step in &mut q.steps {
                if step.0 == 0.0 {
                    step.0 = 2.5;
                }
            }
            if q.max_wait == Some(0.0) {
                q.max_wait = Some(2.5);
            }
        }
        let checks = Checks { snapshot: false, coexist: false, nothing_due: true };
        verdict(run_scenario(&sc, checks))?;
    }
}

/// Restoring a snapshot of a restored engine works too, and bytes that are not a snapshot are
/// refused with an error, never a panic.
#[test]
fn snapshot_round_trips_and_rejects_garbage() {
    let mut e = Engine::new(Options {
        seed: 7,
        auto_accept: false,
    });
    e.add_queue("q", QueueConfig::default()).unwrap();
    e.login(0.0, "a", &[("en", 50)], &[("q", 1)], 1).unwrap();
    e.enqueue(
        1.0,
        &NewCall {
            id: "c",
            queue: "q",
            ..NewCall::default()
        },
    )
    .unwrap();
    let bytes = e.snapshot();
    let r = Engine::restore(&bytes).unwrap();
    let again = Engine::restore(&r.snapshot()).unwrap();
    assert_eq!(again.call_info("c").unwrap().state, "offered");
    assert!(matches!(Engine::restore(b""), Err(Error::Invalid(_))));
    assert!(matches!(
        Engine::restore(&bytes[..bytes.len() / 2]),
        Err(Error::Invalid(_))
    ));
}

/// The generator reaches every kind of event, with offers accepted at once and live, and
/// restores mid-run: the properties above are not vacuous.
#[test]
fn scenarios_cover_every_event_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, u64> = BTreeMap::new();
    for auto in [true, false] {
        let strategy = scenario(Some(auto));
        for _ in 0..150 {
            let sc = strategy.new_tree(&mut runner).unwrap().current();
            match run_scenario(&sc, ALL) {
                Ok(tally) => {
                    for (k, n) in tally {
                        *seen.entry(k).or_default() += n;
                    }
                }
                Err(msg) => panic!("{msg}\n{sc:#?}"),
            }
        }
    }
    for kind in [
        "offer",
        "unoffer",
        "assign",
        "abandon",
        "end",
        "timeout",
        "overflow",
        "escalate",
        "fallback",
        "auto-pause",
        "withdraw",
        "restored mid-run",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {seen:?}"
        );
    }
}

// ---- regressions: engine bugs these properties found, now fixed -----------------------------

fn engine(auto_accept: bool, queue: QueueConfig) -> Engine {
    let mut e = Engine::new(Options {
        seed: 0,
        auto_accept,
    });
    e.add_queue("q", queue).unwrap();
    e
}

fn call<'a>(id: &'a str, skills: &'a [(&'a str, i64)]) -> NewCall<'a> {
    NewCall {
        id,
        queue: "q",
        skills,
        ..NewCall::default()
    }
}

/// [pause-lost-in-wrap-up] An agent with a limit of 2 asks for a pause while on a call; it
/// becomes paused when its first call's wrap-up ends, still holding the second call. When that
/// call ends the agent goes into wrap-up (`end_call` overwrites `Paused` with `WrapUp`) and is
/// available again afterwards: the pause is lost and the agent gets new calls.
#[test]
fn regression_pause_lost_when_the_last_call_ends_into_wrap_up() {
    let mut e = engine(
        true,
        QueueConfig {
            wrapup: 5.0,
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 2).unwrap();
    e.enqueue(0.0, &call("c1", &[])).unwrap();
    e.enqueue(0.0, &call("c2", &[])).unwrap();
    e.pause(1.0, "a", "lunch").unwrap();
    e.hangup(2.0, "c1").unwrap();
    e.advance(7.0).unwrap();
    // Still holding c2: the pause waits for the agent's last call.
    let info = e.agent_info("a").unwrap();
    assert_eq!((info.state, info.pending_pause), (AgentState::Busy, true));
    e.hangup(8.0, "c2").unwrap();
    e.advance(20.0).unwrap();
    let state = e.agent_info("a").unwrap().state;
    assert_eq!(
        state,
        AgentState::Paused,
        "pause-lost-in-wrap-up: the paused agent is {state:?} after its last call"
    );
}

/// [pause-lost-in-wrap-up], live: an agent with a limit of 2 on a call and ringing for a second
/// asks for a pause. Its first call ends; when that wrap-up is over `become_available` saw no
/// *connected* call and paused the agent with the offer still ringing. The agent then answered,
/// held a call while paused, and when it ended fell into wrap-up and then available: the pause
/// (and its reason) was lost. Now the pause waits for the offer too.
#[test]
fn regression_pause_survives_an_offer_ringing_through_wrap_up() {
    let mut e = engine(
        false,
        QueueConfig {
            wrapup: 1.0,
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 2).unwrap();
    e.enqueue(0.0, &call("c1", &[])).unwrap();
    e.accept(0.0, "c1", "a").unwrap();
    e.enqueue(1.0, &call("c2", &[])).unwrap();
    e.pause(2.0, "a", "lunch").unwrap();
    e.hangup(3.0, "c1").unwrap();
    e.advance(5.0).unwrap();
    // Wrap-up over, c2 still ringing: not paused yet, and the pause is still asked for.
    let info = e.agent_info("a").unwrap();
    assert_eq!(
        (info.state, info.pending_pause),
        (AgentState::Reserved, true)
    );
    e.accept(6.0, "c2", "a").unwrap();
    e.hangup(7.0, "c2").unwrap();
    e.enqueue(8.0, &call("c3", &[])).unwrap();
    e.advance(20.0).unwrap();
    let info = e.agent_info("a").unwrap();
    assert_eq!(
        (info.state, info.pause_reason.as_deref()),
        (AgentState::Paused, Some("lunch")),
        "the pause asked for on a call holds after the last call and its wrap-up"
    );
    assert!(
        e.take_events()
            .iter()
            .all(|ev| !matches!(ev, Event::Offer { call, .. } if &**call == "c3")),
        "a paused agent is offered no call"
    );
}

/// [timer-due-now-deferred] An escalation step with `after = 0` is due the moment the call
/// arrives, but the timer it sets at `now` only runs at the next operation: `enqueue` returns
/// no assignment although the lowered requirement fits the available agent.
#[test]
fn regression_escalation_due_at_arrival_waits_for_the_next_operation() {
    let mut e = engine(
        true,
        QueueConfig {
            escalation: vec![EscalationStep {
                after: 0.0,
                action: Action::ClearSkills,
            }],
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
    e.enqueue(1.0, &call("c", &[("fr", 50)])).unwrap();
    let kinds: Vec<&str> = e.take_events().iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        ["escalate", "assign"],
        "timer-due-now-deferred: enqueue at 1.0 left its escalation for later"
    );
}

/// [timer-due-now-deferred] A call whose max wait passes while it rings comes back to line when
/// the agent rejects it, already overdue; its timeout is set for `now` but only runs at the
/// next operation, so `reject` does not report it.
#[test]
fn regression_deadline_passed_while_ringing_waits_for_the_next_operation() {
    let mut e = engine(
        false,
        QueueConfig {
            max_wait: Some(10.0),
            ring_timeout: 0.0,
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
    e.enqueue(0.0, &call("c", &[])).unwrap();
    let mut events = e.take_events();
    // Whether the call times out as it comes back to line (at 20) or while it rings (at 10),
    // `reject` at 20 must have reported it.
    let rejected = e.reject(20.0, "c", "a");
    events.extend(e.take_events());
    let timeouts = events.iter().filter(|ev| ev.kind() == "timeout").count();
    assert_eq!(
        timeouts, 1,
        "timer-due-now-deferred: reject at 20.0 ({rejected:?}) of a call 10 s past its max \
         wait; events so far: {events:?}"
    );
}

/// [relogin-lowers-limit] A login that cancels a pending logout takes the new limit even when
/// it is below what the agent holds: here the agent (limit 2) has one call and one offer
/// ringing, logs out (pending), logs in again with limit 1, and can still accept the offer,
/// holding two calls with a limit of one.
#[test]
fn regression_relogin_with_a_lower_limit_lets_an_agent_exceed_it() {
    let mut e = engine(false, QueueConfig::default());
    e.login(0.0, "a", &[], &[("q", 1)], 2).unwrap();
    e.enqueue(0.0, &call("c1", &[])).unwrap();
    e.enqueue(0.0, &call("c2", &[])).unwrap();
    e.accept(1.0, "c1", "a").unwrap();
    e.logout(2.0, "a").unwrap();
    // Refusing this login would be a fix too: the assertion is about what the agent holds.
    let relogin = e.login(3.0, "a", &[], &[("q", 1)], 1);
    let accepted = e.accept(4.0, "c2", "a");
    let info = e.agent_info("a").unwrap();
    assert!(
        info.active_calls.len() <= info.limit as usize,
        "relogin-lowers-limit: login gave {relogin:?}, accept {accepted:?}; the agent holds \
         {:?} with limit {}",
        info.active_calls,
        info.limit
    );
}

/// [logout-leaves-offers-ringing] A pending logout completes when the agent's last call ends,
/// but offers still ringing at the agent are not withdrawn (an immediate logout withdraws
/// them). The logged-out agent can then accept the call; when it ends, the agent goes into
/// wrap-up and becomes available again without ever logging in.
#[test]
fn regression_completed_logout_leaves_offers_ringing() {
    let mut e = engine(
        false,
        QueueConfig {
            wrapup: 5.0,
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 2).unwrap();
    e.enqueue(0.0, &call("c1", &[])).unwrap();
    e.accept(1.0, "c1", "a").unwrap();
    e.enqueue(2.0, &call("c2", &[])).unwrap();
    e.logout(3.0, "a").unwrap();
    e.hangup(4.0, "c1").unwrap();
    assert_eq!(e.agent_info("a").unwrap().state, AgentState::LoggedOut);
    let info = e.call_info("c2").unwrap();
    assert!(
        info.agents.is_empty(),
        "logout-leaves-offers-ringing: c2 is {} at {:?} after a logged out",
        info.state,
        info.agents
    );
}

/// [missed-call-never-reoffered] (reported, now fixed by the queue's `retry` rest) After a reject
/// or a ring timeout the call keeps its place in line; with one eligible agent it must be
/// offered to that agent again (after its rest), not be passed over by a later call.
#[test]
fn a_missed_call_is_offered_again_to_the_only_agent() {
    let mut e = engine(
        false,
        QueueConfig {
            ring_timeout: 10.0,
            max_no_answers: 0,
            ..QueueConfig::default()
        },
    );
    e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
    e.enqueue(1.0, &call("c1", &[])).unwrap();
    e.advance(11.0).unwrap();
    assert_eq!(e.take_events().last().unwrap().kind(), "unoffer");
    e.enqueue(100.0, &call("c2", &[])).unwrap();
    let c2_offered = e
        .take_events()
        .iter()
        .any(|ev| matches!(ev, Event::Offer { call, .. } if &**call == "c2"));
    let c1 = e.call_info("c1").unwrap();
    assert!(
        !(c2_offered && c1.state == "waiting"),
        "missed-call-never-reoffered: c2 was offered to a while c1 (position {:?}) has waited \
         since 11.0 next to available a",
        c1.position
    );
}
