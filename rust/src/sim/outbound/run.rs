//! The outbound event loop: dials, answers and call ends in one heap, the engine's own timers
//! (wrap-ups ending, the grace timeout) merged in by asking when the next is due, as in the
//! inbound simulator. The pacer sees what a live dialer would: agents ready and busy (with
//! their call ages), dials in flight, answered calls waiting, and outcomes since its last tick.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write;

use super::{OutboundConfig, OutboundInterval, OutboundResult};
use crate::error::{Error, Result};
use crate::model::{AgentState, Event, QueueConfig};
use crate::pacing::{self, Observed, Ringing, Service, Tick};
use crate::rng::Rng;
use crate::sim::dist::uniform;
use crate::time::Time;
use crate::{Engine, NewCall, Options};

const QUEUE: &str = "campaign";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Tick,
    Answer {
        machine: bool,
        after: Time,
        placed: Time,
    },
    NoAnswer {
        placed: Time,
    },
    Complete {
        slot: u32,
    },
    Boundary,
    Stop,
}

pub struct OutboundSim {
    cfg: OutboundConfig,
    pacer: pacing::Config,
    state: pacing::State,
    engine: Engine,
    rng: Rng,
    heap: BinaryHeap<Reverse<(Time, u64, Ev)>>,
    seq: u64,
    /// When each agent's current call connected.
    connected_at: Vec<f64>,
    /// Agent state times at the last read.
    seen: Vec<[f64; 6]>,
    free_slots: Vec<u32>,
    slots: u32,
    in_flight: u32,
    /// Dials in flight by the tick that placed them, oldest first: (tick time, dials).
    flights: VecDeque<(f64, u32)>,
    flight_ages: Vec<f64>,
    /// Outcomes since the last tick; their answer times in `answer_times`.
    observed: Observed<'static>,
    answer_times: Vec<f64>,
    intervals: Vec<OutboundInterval>,
    ages: Vec<f64>,
    id: String,
    events: Vec<Event>,
}

impl OutboundSim {
    pub fn new(cfg: &OutboundConfig, seed: u64) -> Result<Self> {
        cfg.check()?;
        let service = Service::new(&cfg.handle, cfg.wrapup)?;
        let pacer = pacing::Config::new(cfg.mode, cfg.target, service)?;
        let told = cfg.pacer_answer_time.as_ref().unwrap_or(&cfg.answer_time);
        let mut pacer = pacer.with_ringing(Ringing::new(told, cfg.ring)?);
        pacer.grace = cfg.grace;
        let state = pacing::State::new(&pacer);
        let mut engine = Engine::new(Options {
            seed,
            auto_accept: true,
        });
        engine.add_queue(
            QUEUE,
            QueueConfig {
                wrapup: cfg.wrapup,
                max_wait: Some(cfg.grace),
                ..QueueConfig::default()
            },
        )?;
        for a in 0..cfg.agents {
            engine.login(0.0, &a.to_string(), &[], &[(QUEUE, 1)], 1)?;
        }
        let n_intervals = (cfg.duration / cfg.interval).ceil().max(1.0) as usize;
        let mut sim = OutboundSim {
            cfg: cfg.clone(),
            pacer,
            state,
            engine,
            rng: Rng::new(seed ^ 0x0D1A_1E55_0A11_0000),
            heap: BinaryHeap::new(),
            seq: 0,
            connected_at: vec![0.0; cfg.agents as usize],
            seen: vec![[0.0; 6]; cfg.agents as usize],
            free_slots: Vec::new(),
            slots: 0,
            in_flight: 0,
            flights: VecDeque::new(),
            flight_ages: Vec::new(),
            observed: Observed::default(),
            answer_times: Vec::new(),
            intervals: vec![OutboundInterval::default(); n_intervals],
            ages: Vec::with_capacity(cfg.agents as usize),
            id: String::new(),
            events: Vec::new(),
        };
        sim.push(0.0, Ev::Tick);
        for k in 1..n_intervals {
            sim.push(k as f64 * cfg.interval, Ev::Boundary);
        }
        sim.push(cfg.duration, Ev::Stop);
        Ok(sim)
    }

    fn push(&mut self, at: f64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((Time(at), self.seq, ev)));
    }

    /// Outcomes after the dialing day count in its last interval.
    fn interval(&mut self, t: f64) -> &mut OutboundInterval {
        let last = self.intervals.len() - 1;
        let k = ((t / self.cfg.interval) as usize).min(last);
        &mut self.intervals[k]
    }

    pub fn run(mut self) -> Result<OutboundResult> {
        loop {
            let next_ev = self.heap.peek().map(|Reverse((t, _, _))| t.0);
            let next_timer = self.engine.next_timer_at();
            match (next_ev, next_timer) {
                (None, None) => break,
                (e, Some(w)) if e.is_none_or(|e| w < e) => self.engine.advance(w)?,
                _ => {
                    let Reverse((at, _, ev)) = self.heap.pop().expect("peeked");
                    self.apply(at.0, ev)?;
                }
            }
            self.absorb()?;
        }
        Ok(OutboundResult::new(
            self.cfg.mode,
            self.cfg.interval,
            self.intervals,
        ))
    }

    fn apply(&mut self, t: f64, ev: Ev) -> Result<()> {
        match ev {
            Ev::Tick => {
                self.engine.advance(t)?;
                self.absorb()?;
                self.dial(t)?;
                if t + self.cfg.tick < self.cfg.duration {
                    self.push(t + self.cfg.tick, Ev::Tick);
                }
            }
            Ev::Answer {
                machine,
                after,
                placed,
            } => {
                self.resolve(placed.0)?;
                self.observed.resolved += 1;
                self.observed.answered += 1;
                if self.cfg.learn_answer_shape {
                    self.answer_times.push(after.0);
                } else {
                    self.observed.tta_sum += after.0;
                }
                if machine {
                    self.observed.machines += 1;
                    self.interval(t).machines += 1;
                } else {
                    self.interval(t).live += 1;
                    let slot = self.free_slots.pop().unwrap_or_else(|| {
                        self.slots += 1;
                        self.slots - 1
                    });
                    self.id.clear();
                    write!(self.id, "{slot}").expect("a String takes any write");
                    let call = NewCall {
                        id: &self.id,
                        queue: QUEUE,
                        priority: 0,
                        skills: &[],
                        preferred: None,
                        max_wait_exempt: false,
                        parked: false,
                    };
                    self.engine.enqueue(t, &call)?;
                }
            }
            Ev::NoAnswer { placed } => {
                self.resolve(placed.0)?;
                self.observed.resolved += 1;
            }
            Ev::Complete { slot } => {
                self.id.clear();
                write!(self.id, "{slot}").expect("a String takes any write");
                self.engine.hangup(t, &self.id)?;
            }
            Ev::Boundary | Ev::Stop => {
                self.engine.advance(t)?;
                self.absorb()?;
                self.read_agents(t)?;
            }
        }
        Ok(())
    }

    /// A dial placed at `placed` stops ringing.
    fn resolve(&mut self, placed: f64) -> Result<()> {
        let k = self.flights.partition_point(|&(t, _)| t < placed);
        match self.flights.get_mut(k) {
            Some((t, n)) if *t == placed && *n > 0 => *n -= 1,
            _ => {
                return Err(Error::state(format!(
                    "a dial placed at {placed} ended but none was in flight"
                )));
            }
        }
        while self.flights.front().is_some_and(|&(_, n)| n == 0) {
            self.flights.pop_front();
        }
        self.in_flight -= 1;
        Ok(())
    }

    /// One pacing decision, and its dials with their outcomes drawn now.
    fn dial(&mut self, t: f64) -> Result<()> {
        let mut ready = 0u32;
        self.ages.clear();
        for (i, (_, state)) in self.engine.agent_states().enumerate() {
            match state {
                AgentState::Available => ready += 1,
                AgentState::Busy | AgentState::WrapUp | AgentState::Reserved => {
                    self.ages.push(t - self.connected_at[i]);
                }
                AgentState::LoggedOut | AgentState::Paused => {}
            }
        }
        self.flight_ages.clear();
        for &(placed, n) in &self.flights {
            let age = t - placed;
            self.flight_ages
                .extend(std::iter::repeat_n(age, n as usize));
        }
        let tick = Tick {
            now: t,
            ready,
            busy_ages: &self.ages,
            in_flight: self.in_flight,
            flight_ages: &self.flight_ages,
            waiting: self.engine.queue_counters(QUEUE)?.waiting as u32,
        };
        let obs = Observed {
            answer_times: &self.answer_times,
            ..std::mem::take(&mut self.observed)
        };
        let n = pacing::pace(&self.pacer, &mut self.state, &tick, &obs)?;
        self.answer_times.clear();
        self.interval(t).dials += u64::from(n);
        self.in_flight += n;
        if n > 0 {
            self.flights.push_back((t, n));
        }
        for _ in 0..n {
            if uniform(&mut self.rng) <= self.cfg.answer_rate {
                let after = self
                    .cfg
                    .answer_time
                    .sample(&mut self.rng)
                    .min(self.cfg.ring);
                let machine = uniform(&mut self.rng) <= self.cfg.machine_rate;
                let ev = Ev::Answer {
                    machine,
                    after: Time(after),
                    placed: Time(t),
                };
                self.push(t + after, ev);
            } else {
                let ev = Ev::NoAnswer { placed: Time(t) };
                self.push(t + self.cfg.ring, ev);
            }
        }
        Ok(())
    }

    /// Agent time since the last read goes to the interval ending at `t`.
    fn read_agents(&mut self, t: f64) -> Result<()> {
        let k = ((t / self.cfg.interval).ceil() as usize).saturating_sub(1);
        let k = k.min(self.intervals.len() - 1);
        for a in 0..self.cfg.agents {
            self.id.clear();
            write!(self.id, "{a}").expect("a String takes any write");
            let times = self.engine.agent_state_time(&self.id)?;
            let seen = std::mem::replace(&mut self.seen[a as usize], times);
            let d = |s: AgentState| times[s.index()] - seen[s.index()];
            let busy = d(AgentState::Busy) + d(AgentState::WrapUp) + d(AgentState::Reserved);
            let idle = d(AgentState::Available);
            let iv = &mut self.intervals[k];
            iv.busy += busy;
            iv.idle += idle;
            iv.staffed += busy + idle + d(AgentState::Paused);
        }
        Ok(())
    }

    fn absorb(&mut self) -> Result<()> {
        self.engine.drain_events_into(&mut self.events);
        let mut events = std::mem::take(&mut self.events);
        for ev in events.drain(..) {
            match ev {
                Event::Assign { t, call, agent, .. } => {
                    let a = number(&agent)?;
                    self.connected_at[a as usize] = t;
                    self.interval(t).connects += 1;
                    let talk = self.cfg.handle.sample(&mut self.rng);
                    self.push(
                        t + talk,
                        Ev::Complete {
                            slot: number(&call)?,
                        },
                    );
                }
                Event::Timeout { t, call, .. } => {
                    self.interval(t).abandoned += 1;
                    self.observed.abandoned += 1;
                    self.free_slots.push(number(&call)?);
                }
                Event::End { call, .. } => self.free_slots.push(number(&call)?),
                _ => {}
            }
        }
        self.events = events;
        Ok(())
    }
}

/// Agent and call ids are their numbers in decimal.
fn number(id: &str) -> Result<u32> {
    id.parse().map_err(|_| {
        Error::state(format!(
            "the engine reported an id {id:?} this run never made"
        ))
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
