//! The discrete-event loop. Patience, call completions, retrials and agent schedules sit in
//! one agenda (a 4-ary heap, `agenda.rs`), each stream's next arrival in a second one (at most
//! one entry per stream); the engine's own timers (wrap-ups ending, max waits, escalation steps) are
//! merged in by asking the engine when its next one is due, so every routing decision is made
//! by the real engine at the moment it happens. Nothing here decides who gets a call.

use std::sync::Arc;

use super::agenda::{Agenda, key_time};
use super::dist::{exp1, uniform};
use super::scenario::Prepared;
use super::stats::{Interval, Measured, RunResult, WAIT_BINS};
use crate::engine::{RawEvent, RawEvents};
use crate::error::{Error, Result};
use crate::model::{AgentState, Id};
use crate::rng::Rng;
use crate::{CallKey, Engine, NewCall, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Arrive {
        stream: u32,
    },
    /// `item`: the trace call retried (NO_ITEM for a Poisson stream's caller).
    Retry {
        stream: u32,
        attempt: u32,
        item: u32,
    },
    Patience {
        slot: u32,
        generation: u32,
    },
    Complete {
        slot: u32,
    },
    Login {
        agent: u32,
    },
    Logout {
        agent: u32,
    },
    Pause {
        agent: u32,
    },
    Unpause {
        agent: u32,
    },
    Boundary,
    Warmup,
}

const NO_ITEM: u32 = u32::MAX;

/// Where the wait histogram's last bin starts, in seconds.
const LAST_BIN_F: f64 = (WAIT_BINS - 1) as f64;

/// Most reporting intervals one run may span (30-minute intervals: 57 years).
const MAX_INTERVALS: f64 = 1e6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Free,
    Waiting,
    Connected,
}

#[derive(Debug, Clone, Copy)]
struct CallRec {
    generation: u32,
    phase: Phase,
    stream: u32,
    /// Index into the stream's trace arrivals, or NO_ITEM.
    item: u32,
    attempt: u32,
    arrival: f64,
    interval: u32,
    counted: bool,
    callback: bool,
    /// The engine's handle while the call is in it (hangups skip the id lookup).
    key: Option<CallKey>,
}

struct AgentRec {
    id: String,
    group: u32,
    /// State times last read from the engine (they restart at each login).
    seen: [f64; 6],
    on_shift: bool,
}

/// The interval `interval_of` gives every time in `[lo, hi)`, and its nominal end: most events
/// fall in the interval of the one before, so two compares replace a division and the length
/// check of `ensure_interval` (see `Simulation::interval_at`).
#[derive(Debug, Clone, Copy)]
struct Current {
    k: u32,
    lo: f64,
    hi: f64,
    /// `(k + 1) * interval`, as `integrate_queue` splits the queue's area there.
    end: f64,
}

/// One replication: build it, then `run_until` in steps (a host can show progress between
/// steps) or `run` to the end, and read `result`.
pub struct Simulation {
    scn: Arc<Prepared>,
    engine: Engine,
    rng: Rng,
    heap: Agenda<Ev>,
    /// The next arrival of each stream that has one (its index), apart from `heap`: an arrival
    /// is followed by the same stream's next, so keeping them here spares the big heap a push
    /// and a pop per call (a heap of one entry for one stream). Keys come from the same `seq`,
    /// so events leave the two in exactly the order one heap gave them.
    next_arrivals: Agenda<u32>,
    seq: u64,
    calls: Vec<CallRec>,
    /// Engine call id of each slot (its decimal number), made once and shared with the engine.
    ids: Vec<Id>,
    /// By engine call slot (`CallKey::slot`): the simulator's slot of the call in it.
    by_engine: Vec<u32>,
    free: Vec<u32>,
    agents: Vec<AgentRec>,
    queue_ids: Vec<String>,
    arrivals: u64,
    /// Arrivals and retrials pending (`next_arrivals`, `heap`), and calls in the engine: when both are zero (and no
    /// wrap-up runs) the run is over, whatever stale patience or schedule events remain.
    arrivals_due: u64,
    in_system: u64,
    /// Per trace-driven stream: the next trace call.
    cursor: Vec<u32>,
    intervals: Vec<Interval>,
    /// The interval of the latest `interval_at`, held in `intervals`.
    cur: Current,
    /// Per Poisson stream: from this time on `interval_of` is at or past its last rate, which
    /// then holds for good (`schedule_arrival`'s fast path; -inf for one rate, +inf for a trace).
    steady_from: Vec<f64>,
    /// Outcomes by the queue the call arrived at, after warm-up.
    queues: Vec<(String, Interval)>,
    histogram: Vec<u64>,
    measured: Measured,
    waiting: u64,
    /// Time up to which `waiting` has been integrated.
    area_t: f64,
    now: f64,
    events: RawEvents,
    done: bool,
}

impl Simulation {
    pub fn new(scn: Arc<Prepared>, seed: u64) -> Result<Self> {
        let mut engine = Engine::new(Options {
            seed,
            auto_accept: true,
        });
        for (id, cfg) in &scn.queues {
            engine.add_queue(id, cfg.clone())?;
        }
        let mut sim = Simulation {
            scn: Arc::clone(&scn),
            engine,
            // Distinct from the engine's stream, so strategy draws and arrivals never correlate.
            rng: Rng::new(seed ^ 0x5EED_0FA1_1CA1_1000),
            heap: Agenda::new(),
            next_arrivals: Agenda::new(),
            seq: 0,
            calls: Vec::new(),
            ids: Vec::new(),
            by_engine: Vec::new(),
            free: Vec::new(),
            agents: Vec::new(),
            queue_ids: scn.queues.iter().map(|(id, _)| id.clone()).collect(),
            arrivals: 0,
            arrivals_due: 0,
            in_system: 0,
            cursor: vec![0; scn.streams.len()],
            intervals: Vec::new(),
            // Empty: the first `interval_at` fills it.
            cur: Current {
                k: 0,
                lo: f64::INFINITY,
                hi: f64::NEG_INFINITY,
                end: 0.0,
            },
            steady_from: Vec::new(),
            queues: scn
                .queues
                .iter()
                .map(|(id, _)| (id.clone(), Interval::new(0)))
                .collect(),
            histogram: vec![0; WAIT_BINS],
            measured: Measured::default(),
            waiting: 0,
            area_t: 0.0,
            now: 0.0,
            events: RawEvents::default(),
            done: false,
        };
        for (g, group) in scn.groups.iter().enumerate() {
            let n = group.agents.len();
            for (i, id) in group.agents.iter().enumerate() {
                let agent = sim.agents.len() as u32;
                sim.agents.push(AgentRec {
                    id: id.clone(),
                    group: g as u32,
                    seen: [0.0; 6],
                    on_shift: false,
                });
                for &(start, end) in &group.shifts {
                    sim.push(start, Ev::Login { agent });
                    if let Some(end) = end {
                        sim.push(end, Ev::Logout { agent });
                    }
                }
                for &(start, duration, spread) in &group.breaks {
                    let at = start + spread * i as f64 / n as f64;
                    sim.push(at, Ev::Pause { agent });
                    sim.push(at + duration, Ev::Unpause { agent });
                }
            }
        }
        sim.steady_from = scn
            .streams
            .iter()
            .map(|st| match st.arrivals {
                Some(_) => f64::INFINITY,
                None => {
                    sim.first_time_of(u32::try_from(st.rates.len().max(1) - 1).unwrap_or(u32::MAX))
                }
            })
            .collect();
        for s in 0..scn.streams.len() as u32 {
            sim.schedule_arrival(s, 0.0);
        }
        if scn.warmup > 0.0 {
            sim.push(scn.warmup, Ev::Warmup);
        }
        sim.push(scn.interval, Ev::Boundary);
        sim.ensure_interval(0);
        Ok(sim)
    }

    #[inline]
    fn push(&mut self, at: f64, ev: Ev) {
        if matches!(ev, Ev::Arrive { .. } | Ev::Retry { .. }) {
            self.arrivals_due += 1;
        }
        self.seq += 1;
        match ev {
            Ev::Arrive { stream } => self.next_arrivals.push(at, self.seq, stream),
            _ => self.heap.push(at, self.seq, ev),
        }
    }

    fn interval_of(&self, t: f64) -> u32 {
        (t / self.scn.interval) as u32
    }

    fn ensure_interval(&mut self, k: u32) {
        while self.intervals.len() <= k as usize {
            self.intervals.push(Interval::new(self.scn.groups.len()));
        }
    }

    /// `interval_of(t)`, with that interval in `intervals`: the cached one when `t` falls in it.
    #[inline]
    fn interval_at(&mut self, t: f64) -> u32 {
        if self.cur.lo <= t && t < self.cur.hi {
            self.cur.k
        } else {
            self.enter_interval(t)
        }
    }

    #[cold]
    fn enter_interval(&mut self, t: f64) -> u32 {
        let k = self.interval_of(t);
        self.ensure_interval(k);
        self.cur = Current {
            k,
            lo: self.first_time_of(k),
            hi: k
                .checked_add(1)
                .map_or(f64::INFINITY, |n| self.first_time_of(n)),
            end: (f64::from(k) + 1.0) * self.scn.interval,
        };
        k
    }

    /// The least time `interval_of` puts in interval `k` or later: `k * interval`, moved by the
    /// ulp or two the product and the division may round across (`interval_of` never
    /// decreases with `t`, so the times of interval `k` are exactly
    /// `first_time_of(k)..first_time_of(k + 1)`).
    fn first_time_of(&self, k: u32) -> f64 {
        if k == 0 {
            return f64::NEG_INFINITY;
        }
        let mut x = f64::from(k) * self.scn.interval;
        while self.interval_of(x) < k {
            x = x.next_up();
        }
        while self.interval_of(x.next_down()) >= k {
            x = x.next_down();
        }
        x
    }

    /// The next Poisson arrival of a stream after `from`: exact for rates that change at
    /// interval boundaries, because the exponential forgets how long it has run.
    fn schedule_arrival(&mut self, stream: u32, from: f64) {
        if let Some(calls) = &self.scn.streams[stream as usize].arrivals {
            let next = calls
                .get(self.cursor[stream as usize] as usize)
                .map(|c| c.t);
            if let Some(t) = next.filter(|t| self.scn.horizon.is_none_or(|h| *t < h)) {
                self.push(t, Ev::Arrive { stream });
            }
            return;
        }
        let rates = &self.scn.streams[stream as usize].rates;
        // Past the last rate change (always, for one rate): the loop below would find the last
        // rate at its first turn and take its draw, so take it here without the interval.
        let last = rates.last().copied().unwrap_or(0.0);
        if from >= self.steady_from[stream as usize] && last > 0.0 {
            if self.scn.horizon.is_some_and(|h| from >= h) {
                return;
            }
            let next = from + exp1(&mut self.rng) / last;
            if self.scn.horizon.is_none_or(|h| next < h) {
                self.push(next, Ev::Arrive { stream });
            }
            return;
        }
        let mut t = from;
        loop {
            let k = (t / self.scn.interval) as usize;
            let end = (k + 1) as f64 * self.scn.interval;
            if self.scn.horizon.is_some_and(|h| t >= h) {
                return;
            }
            let rate = rates[k.min(rates.len() - 1)];
            if k >= rates.len() - 1 && rate == 0.0 {
                return;
            }
            if rate > 0.0 {
                let next = t + exp1(&mut self.rng) / rate;
                if next < end || k >= rates.len() - 1 {
                    if self.scn.horizon.is_some_and(|h| next >= h) {
                        return;
                    }
                    self.push(next, Ev::Arrive { stream });
                    return;
                }
            }
            t = end;
        }
    }

    /// Runs every event up to and including `until`; false once the run is over.
    pub fn run_until(&mut self, until: f64) -> Result<bool> {
        while !self.done {
            // The earlier of the two agendas' tops (keys are unique: no tie).
            let (next_key, from_arrivals) =
                match (self.heap.peek_key(), self.next_arrivals.peek_key()) {
                    (Some(h), Some(a)) => (Some(h.min(a)), a < h),
                    (h, None) => (h, false),
                    (None, a) => (a, true),
                };
            let next_ev = next_key.map(key_time);
            let next_timer = self.engine.next_timer_at();
            // Figures are kept per interval: a run that would span millions of them (a tiny
            // interval, or calls so rare they take years to arrive) is refused, not ground through.
            let next = next_ev
                .into_iter()
                .chain(next_timer)
                .fold(f64::INFINITY, f64::min);
            if next.is_finite() && next <= until && next / self.scn.interval > MAX_INTERVALS {
                return Err(Error::invalid(format!(
                    "the run reaches t={next:.0} s, more than {MAX_INTERVALS} intervals of {} s: \
                     use a longer interval or fewer calls",
                    self.scn.interval
                )));
            }
            let drained = self.arrivals_due == 0 && self.in_system == 0;
            match (next_ev, next_timer) {
                (None, None) => self.finish(),
                (_, None) if drained => self.finish(),
                // An engine timer comes first: let the engine run it at its own time. At a tie
                // the host's event goes first, and the engine runs the timer inside it
                // before the event itself (as in replay).
                (e, Some(w)) if e.is_none_or(|e| w < e) => {
                    if w > until {
                        return Ok(true);
                    }
                    self.engine.advance(w)?;
                    self.now = w;
                    self.absorb();
                }
                _ => {
                    if next_ev.is_some_and(|e| e > until) {
                        return Ok(true);
                    }
                    let at = next_ev.expect("peeked");
                    let ev = if from_arrivals {
                        let stream = self.next_arrivals.pop_event().expect("peeked");
                        Ev::Arrive { stream }
                    } else {
                        self.heap.pop_event().expect("peeked")
                    };
                    if matches!(ev, Ev::Arrive { .. } | Ev::Retry { .. }) {
                        self.arrivals_due -= 1;
                    }
                    self.now = at;
                    self.apply(at, ev)?;
                    self.absorb();
                }
            }
        }
        Ok(false)
    }

    pub fn run(mut self) -> Result<RunResult> {
        self.run_until(f64::INFINITY)?;
        Ok(self.result())
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The time of the next thing to happen (for progress displays).
    pub fn now(&self) -> f64 {
        self.now
    }

    fn new_call(&mut self, t: f64, stream: u32, attempt: u32, item: u32) -> Result<()> {
        // Fields of the stream are read where needed rather than through a clone of the
        // scenario's `Arc`: an atomic increment and decrement per call otherwise.
        let k = self.interval_at(t);
        let counted = t >= self.scn.warmup;
        let st = &self.scn.streams[stream as usize];
        let queue = st.queue as usize;
        let self_service = st.self_service > 0.0 && uniform(&mut self.rng) <= st.self_service;
        let one = |iv: &mut Interval| {
            iv.arrivals += 1;
            iv.retrials += u64::from(attempt > 0);
            iv.self_service += u64::from(self_service);
        };
        one(&mut self.intervals[k as usize]);
        if counted {
            // The totals' counts are the queues' sums (`RunResult::new`).
            one(&mut self.queues[queue].1);
        }
        if self_service {
            return Ok(());
        }
        let callback = match &self.scn.streams[stream as usize].callback {
            Some(cb) => {
                let ewt = self
                    .engine
                    .queue_stats(&self.queue_ids[queue])?
                    .estimated_wait
                    .unwrap_or(0.0);
                ewt >= cb.offer_after && uniform(&mut self.rng) <= cb.accept
            }
            None => false,
        };
        let record = CallRec {
            generation: 0,
            phase: Phase::Waiting,
            stream,
            item,
            attempt,
            arrival: t,
            interval: k,
            counted,
            callback,
            key: None,
        };
        // A reused slot gets a new generation, so the last occupant's patience event is stale.
        let slot = match self.free.pop() {
            Some(s) => {
                let generation = self.calls[s as usize].generation.wrapping_add(1);
                self.calls[s as usize] = CallRec {
                    generation,
                    ..record
                };
                s
            }
            None => {
                let s = self.calls.len() as u32;
                self.calls.push(record);
                self.ids.push(s.to_string().into());
                s
            }
        };
        if !callback && let Some(p) = &self.scn.streams[stream as usize].patience {
            let generation = self.calls[slot as usize].generation;
            let at = t + p.sample(&mut self.rng);
            self.push(at, Ev::Patience { slot, generation });
        }
        self.queue_change(t, 1);
        self.in_system += 1;
        let st = &self.scn.streams[stream as usize];
        let traced = st.arrivals.as_ref().and_then(|a| a.get(item as usize));
        let (priority, skills) = match traced {
            Some(c) => (c.priority, &c.skills),
            None => (st.priority, &st.skills),
        };
        let skills: Vec<(&str, i64)> = skills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let id = &self.ids[slot as usize];
        let key = self.engine.enqueue_keyed(
            t,
            id,
            &NewCall {
                id,
                queue: &self.queue_ids[queue],
                priority,
                skills: &skills,
                preferred: None,
                max_wait_exempt: false,
                parked: false,
            },
        )?;
        self.calls[slot as usize].key = Some(key);
        let e = key.slot() as usize;
        if self.by_engine.len() <= e {
            self.by_engine.resize(e + 1, u32::MAX);
        }
        self.by_engine[e] = slot;
        Ok(())
    }

    fn hangup(&mut self, t: f64, slot: u32) -> Result<()> {
        let key = self.calls[slot as usize].key.ok_or_else(|| {
            Error::invalid(format!(
                "simulated call {slot} was never given to the engine"
            ))
        })?;
        self.engine.hangup_key(t, key)
    }

    fn apply(&mut self, t: f64, ev: Ev) -> Result<()> {
        match ev {
            Ev::Arrive { stream } => {
                if self.scn.calls.is_some_and(|n| self.arrivals >= n) {
                    return Ok(());
                }
                self.arrivals += 1;
                let item = if self.scn.streams[stream as usize].arrivals.is_some() {
                    let c = &mut self.cursor[stream as usize];
                    *c += 1;
                    *c - 1
                } else {
                    NO_ITEM
                };
                self.new_call(t, stream, 0, item)?;
                if self.scn.calls.is_none_or(|n| self.arrivals < n) {
                    self.schedule_arrival(stream, t);
                }
            }
            Ev::Retry {
                stream,
                attempt,
                item,
            } => self.new_call(t, stream, attempt, item)?,
            Ev::Patience { slot, generation } => {
                // Timers due now (a wrap-up ending) may connect this very call first.
                self.engine.advance(t)?;
                self.absorb();
                let rec = self.calls[slot as usize];
                if rec.generation == generation && rec.phase == Phase::Waiting {
                    self.hangup(t, slot)?;
                }
            }
            Ev::Complete { slot } => self.hangup(t, slot)?,
            Ev::Login { agent } => {
                self.read_agent(agent);
                let g = &self.scn.groups[self.agents[agent as usize].group as usize];
                let skills: Vec<(&str, i64)> =
                    g.skills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                let queues: Vec<(&str, u32)> =
                    g.queues.iter().map(|(q, w)| (q.as_str(), *w)).collect();
                let rec = &mut self.agents[agent as usize];
                self.engine.login(t, &rec.id, &skills, &queues, 1)?;
                rec.seen = [0.0; 6];
                rec.on_shift = true;
            }
            Ev::Logout { agent } => {
                let rec = &mut self.agents[agent as usize];
                rec.on_shift = false;
                self.engine.logout(t, &rec.id)?;
            }
            Ev::Pause { agent } => {
                let rec = &self.agents[agent as usize];
                if rec.on_shift {
                    self.engine.pause(t, &rec.id, "break")?;
                }
            }
            Ev::Unpause { agent } => {
                let rec = &self.agents[agent as usize];
                if rec.on_shift {
                    self.engine.unpause(t, &rec.id)?;
                }
            }
            Ev::Boundary => {
                self.engine.advance(t)?;
                self.absorb();
                self.flush(t);
                // Boundaries go on only while something else can still happen.
                if !self.heap.is_empty()
                    || !self.next_arrivals.is_empty()
                    || self.engine.next_timer_at().is_some()
                {
                    self.push(t + self.scn.interval, Ev::Boundary);
                }
            }
            Ev::Warmup => {
                self.engine.advance(t)?;
                self.absorb();
                self.flush(t);
            }
        }
        Ok(())
    }

    /// Integrates the queue length up to `t`, split by interval, then changes it.
    #[inline]
    fn queue_change(&mut self, t: f64, delta: i64) {
        self.integrate_queue(t);
        self.waiting = self.waiting.saturating_add_signed(delta);
        let k = self.interval_at(t);
        let iv = &mut self.intervals[k as usize];
        iv.queue_max = iv.queue_max.max(self.waiting);
    }

    fn integrate_queue(&mut self, t: f64) {
        if self.waiting > 0 {
            let mut from = self.area_t;
            while from < t {
                let k = self.interval_at(from);
                // The nominal end `(k + 1) * interval`, unless it rounds to at or below
                // `from` (widths such as 333.3 or 0.7): then where the interval really
                // ends, or this would add nothing and never move on.
                let end = if self.cur.end > from {
                    self.cur.end
                } else {
                    self.cur.hi
                }
                .min(t);
                let area = self.waiting as f64 * (end - from);
                self.intervals[k as usize].queue_area += area;
                if from >= self.scn.warmup {
                    self.measured.queue_area += area;
                }
                from = end;
            }
        }
        self.area_t = t;
    }

    /// Agent time since the last read goes to the interval just ending (reads happen at every
    /// boundary, at the warm-up and before each login, so no stretch spans two intervals).
    fn read_agent(&mut self, agent: u32) {
        // The interval that ends at or after now: a read at a boundary closes the one before.
        let k = ((self.now / self.scn.interval).ceil() as u32).saturating_sub(1);
        self.ensure_interval(k);
        let rec = &mut self.agents[agent as usize];
        let Ok(times) = self.engine.agent_state_time(&rec.id) else {
            return; // never logged in yet
        };
        let d = |s: AgentState| times[s.index()] - rec.seen[s.index()];
        let busy = d(AgentState::Busy) + d(AgentState::WrapUp) + d(AgentState::Reserved);
        let staffed = busy + d(AgentState::Available);
        rec.seen = times;
        let g = rec.group as usize;
        let iv = &mut self.intervals[k as usize];
        iv.busy[g] += busy;
        iv.staffed[g] += staffed;
        if self.now > self.scn.warmup {
            self.measured.busy += busy;
            self.measured.staffed += staffed;
        }
    }

    fn flush(&mut self, t: f64) {
        self.integrate_queue(t);
        for a in 0..self.agents.len() as u32 {
            self.read_agent(a);
        }
    }

    /// Applies what the engine reported to the calls' records and the statistics. The events
    /// come by numbers: a call's engine slot leads to its record without reading its id.
    fn absorb(&mut self) {
        self.engine.drain_raw_events_into(&mut self.events);
        // By index, not through a `mem::take` of the batch and its return (two vectors moved
        // and a drop check per call): each event is copied out before it is applied.
        let mut i = 0;
        while let Some(&ev) = self.events.events.get(i) {
            i += 1;
            match ev {
                RawEvent::Assign { t, call, .. } => {
                    let slot = self.by_engine[call as usize];
                    let rec = &mut self.calls[slot as usize];
                    rec.phase = Phase::Connected;
                    let rec = *rec;
                    let handle = self.scn.streams[rec.stream as usize]
                        .handle
                        .sample(&mut self.rng);
                    self.push(t + handle, Ev::Complete { slot });
                    self.left_queue(t, &rec, Outcome::Answered);
                }
                RawEvent::Abandon { t, call, .. } => {
                    let slot = self.by_engine[call as usize];
                    let rec = self.calls[slot as usize];
                    self.left_queue(t, &rec, Outcome::Abandoned);
                    self.release(slot);
                    let st = &self.scn.streams[rec.stream as usize];
                    if let Some(r) = &st.retrial
                        && rec.attempt < r.max
                        && uniform(&mut self.rng) <= r.probability
                    {
                        let at = t + r.delay.sample(&mut self.rng);
                        self.push(
                            at,
                            Ev::Retry {
                                stream: rec.stream,
                                attempt: rec.attempt + 1,
                                item: rec.item,
                            },
                        );
                    }
                }
                RawEvent::End { call, .. } => self.release(self.by_engine[call as usize]),
                RawEvent::Withdraw { t, call, .. } => {
                    // Not a caller's outcome (the simulator withdraws nothing today): out of
                    // the line, in no interval's counts.
                    self.queue_change(t, -1);
                    self.release(self.by_engine[call as usize]);
                }
                RawEvent::Timeout { t, call, .. } => self.gone(t, call, Outcome::TimedOut),
                RawEvent::Fallback { t, call, .. } => self.gone(t, call, Outcome::Fallback),
                RawEvent::Overflow {
                    t, call, to: None, ..
                } => self.gone(t, call, Outcome::Blocked),
                RawEvent::Overflow { .. }
                | RawEvent::Escalate { .. }
                | RawEvent::Offer { .. }
                | RawEvent::Unoffer { .. }
                | RawEvent::AutoPause { .. } => {}
            }
        }
        self.events.clear();
    }

    /// The engine ended a waiting call (timed out, refused, handed to a fallback).
    fn gone(&mut self, t: f64, call: u32, outcome: Outcome) {
        let slot = self.by_engine[call as usize];
        let rec = self.calls[slot as usize];
        self.left_queue(t, &rec, outcome);
        self.release(slot);
    }

    fn release(&mut self, slot: u32) {
        self.in_system -= 1;
        self.calls[slot as usize].phase = Phase::Free;
        self.free.push(slot);
    }

    fn left_queue(&mut self, t: f64, rec: &CallRec, outcome: Outcome) {
        self.queue_change(t, -1);
        let wait = t - rec.arrival;
        let queue = self.scn.streams[rec.stream as usize].queue as usize;
        let sl = self.scn.queues[queue].1.sl;
        let one = |iv: &mut Interval| {
            iv.wait += wait;
            if rec.callback && outcome == Outcome::Answered {
                // Kept their place in line off the phone: not part of the service level.
                iv.callbacks += 1;
                return;
            }
            if wait > 0.0 {
                iv.waited += 1;
            }
            match outcome {
                Outcome::Answered => {
                    iv.answered += 1;
                    iv.answer_wait += wait;
                    if wait <= sl {
                        iv.answered_within += 1;
                    }
                }
                Outcome::Abandoned => iv.abandoned += 1,
                Outcome::TimedOut => iv.timed_out += 1,
                Outcome::Blocked => iv.blocked += 1,
                Outcome::Fallback => iv.fallback += 1,
            }
        };
        one(&mut self.intervals[rec.interval as usize]);
        if rec.counted {
            // The totals' counts are the queues' sums (`RunResult::new`): only seconds here.
            self.measured.wait += wait;
            one(&mut self.queues[queue].1);
            if outcome == Outcome::Answered && !rec.callback {
                self.measured.answer_wait += wait;
                // The last bin by a compare rather than through the saturating cast's checks
                // and a `min` (a NaN wait, were there one, still goes to bin 0 as before).
                let bin = if wait >= LAST_BIN_F {
                    WAIT_BINS - 1
                } else {
                    wait as usize
                };
                self.histogram[bin] += 1;
            }
        }
    }

    /// Nothing is left to happen: calls still waiting (no agent could ever take them) stay
    /// counted as unserved.
    fn finish(&mut self) {
        let t = self.now;
        self.flush(t);
        self.measured.unserved = self.waiting;
        self.measured.seconds = (t - self.scn.warmup).max(0.0);
        self.done = true;
    }

    /// The figures so far (complete once `is_done`).
    pub fn result(&self) -> RunResult {
        RunResult::new(
            self.scn.interval,
            self.intervals.clone(),
            self.queues.clone(),
            self.scn.groups.iter().map(|g| g.name.clone()).collect(),
            self.histogram.clone(),
            &self.measured,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Answered,
    Abandoned,
    TimedOut,
    Blocked,
    Fallback,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Scenario;

    /// The cached interval is the one the division gives, at every float within a few ulps of
    /// each boundary and at random times visited back and forth, for widths where
    /// `k * width` itself lands on either side of the step.
    #[test]
    fn cached_interval_agrees_with_the_division() {
        let mut rounded_across = 0;
        for width in [1800.0, 1000.1, 0.7, 0.1, 7.3] {
            let mut p = Scenario::mmc(2, 0.1, 10.0, 10, None, 20.0)
                .prepare()
                .expect("valid");
            p.interval = width;
            let mut sim = Simulation::new(Arc::new(p), 1).expect("new run");
            let check = |sim: &mut Simulation, t: f64| {
                let k = sim.interval_at(t);
                assert_eq!(k, sim.interval_of(t), "width {width}, t {t:e}");
                assert!(sim.intervals.len() > k as usize, "width {width}, t {t:e}");
            };
            for k in 0..400u32 {
                let edge = f64::from(k) * width;
                rounded_across += u32::from(sim.interval_of(edge) != k);
                let mut t = edge;
                for _ in 0..4 {
                    t = t.next_down();
                }
                for _ in 0..8 {
                    check(&mut sim, t);
                    t = t.next_up();
                }
            }
            let mut rng = Rng::new(3);
            for _ in 0..10_000 {
                let t = uniform(&mut rng) * 400.0 * width;
                check(&mut sim, t);
            }
            check(&mut sim, -1.0);
            check(&mut sim, f64::NAN);
        }
        // The product alone is not the boundary: the test covers the correction.
        assert!(rounded_across > 0);
    }

    /// Widths whose product `k * width` rounds below the step of the division (333.3 at k = 7,
    /// 0.7 at k = 3) once left the queue-length integration adding nothing forever. A run with
    /// people waiting across such a boundary finishes, and its area matches Little's law's
    /// other side: the waits summed.
    #[test]
    fn a_boundary_below_the_division_step_does_not_stall_the_run() {
        for width in [333.3, 0.7, 0.1, 60.7] {
            let mut p = Scenario::mmc(10, 0.1, 95.0, 2000, None, 20.0)
                .prepare()
                .expect("valid");
            p.interval = width;
            // On a thread with a deadline: a stall fails the test instead of hanging it.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(Simulation::new(Arc::new(p), 1).and_then(Simulation::run));
            });
            let r = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("width {width}: the run did not finish in 60 s"))
                .expect("finishes");
            let t = &r.totals;
            assert_eq!(t.calls, 2000, "width {width}");
            let area: f64 = r.intervals.iter().map(|iv| iv.queue_area).sum();
            let waits: f64 = r.intervals.iter().map(|iv| iv.wait).sum();
            assert!(waits > 0.0, "width {width}: somebody waited");
            assert!(
                (area - waits).abs() <= 1e-6 * waits,
                "width {width}: queue area {area} vs waits {waits}"
            );
        }
    }
}
