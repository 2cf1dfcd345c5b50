//! An outbound contact center on the real engine: a pacer decides each tick how many numbers
//! to dial; dials ring and are answered (after a time-to-answer draw) by a person or a
//! machine, or given up after the ring time; a person who answers is enqueued to the engine's
//! campaign queue, whose agents auto-accept, and is abandoned if no agent takes the call
//! within the grace period (the queue's max wait). Reproducible by seed.

mod run;

pub use run::OutboundSim;

use crate::error::{Error, Result};
use crate::pacing::Mode;
use crate::sim::Dist;

#[derive(Debug, Clone, PartialEq)]
pub struct OutboundConfig {
    pub agents: u32,
    /// Share of dials answered, by a person or a machine.
    pub answer_rate: f64,
    /// Share of answers that are machines (detected; never sent to an agent).
    pub machine_rate: f64,
    /// Talk time of a connected call.
    pub handle: Dist,
    pub wrapup: f64,
    /// Seconds from dial to answer of answered dials (cut at `ring`).
    pub answer_time: Dist,
    /// The time-to-answer shape the pacer is told (its scale follows the live mean); `None`:
    /// the true `answer_time`.
    pub pacer_answer_time: Option<Dist>,
    /// The pacer gets each answer's time and learns the shape live from the told one
    /// (docs/pacing.md); without it the told shape stays.
    pub learn_answer_shape: bool,
    /// Seconds an unanswered dial rings before it is given up (at least 15).
    pub ring: f64,
    /// Seconds a person who answered waits for an agent before the call is abandoned.
    pub grace: f64,
    pub mode: Mode,
    /// Most abandoned calls per live answer the predictive pacer aims under.
    pub target: f64,
    /// Seconds of dialing; calls in progress then run to their end.
    pub duration: f64,
    /// Seconds between pacing decisions.
    pub tick: f64,
    /// Seconds per point of the per-interval series.
    pub interval: f64,
}

impl OutboundConfig {
    /// The defaults around the figures that matter: lognormal answer time of mean 8 s, 25 s
    /// of ringing, a 2 s grace, a pacing tick per second, 15-minute intervals.
    pub fn new(agents: u32, answer_rate: f64, aht: f64, mode: Mode) -> Self {
        OutboundConfig {
            agents,
            answer_rate,
            machine_rate: 0.0,
            handle: Dist::exponential(aht),
            wrapup: 0.0,
            answer_time: Dist::Lognormal { mean: 8.0, sd: 4.0 },
            pacer_answer_time: None,
            learn_answer_shape: true,
            ring: 25.0,
            grace: 2.0,
            mode,
            target: 0.03,
            duration: 8.0 * 3600.0,
            tick: 1.0,
            interval: 900.0,
        }
    }

    pub fn check(&self) -> Result<()> {
        if self.agents == 0 || self.agents > 100_000 {
            return Err(Error::invalid(format!(
                "agents must be in 1..=100000, got {}",
                self.agents
            )));
        }
        for (name, v) in [
            ("answer rate", self.answer_rate),
            ("machine rate", self.machine_rate),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(Error::invalid(format!(
                    "{name} must be a share in 0..=1, got {v}"
                )));
            }
        }
        if self.answer_rate == 0.0 {
            return Err(Error::invalid("answer rate must be above 0"));
        }
        self.handle.check("handle")?;
        self.answer_time.check("answer time")?;
        if let Some(d) = &self.pacer_answer_time {
            d.check("pacer answer time")?;
            crate::pacing::Ringing::new(d, self.ring)?;
        }
        crate::time::check_seconds("wrapup", self.wrapup)?;
        if !(self.ring.is_finite() && (15.0..=600.0).contains(&self.ring)) {
            return Err(Error::invalid(format!(
                "ring must be 15..=600 seconds (rules ask for at least 15), got {}",
                self.ring
            )));
        }
        let positive = |name: &str, v: f64, max: f64| {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "{name} must be a number of seconds in (0, {max}], got {v}"
                )))
            }
        };
        positive("grace", self.grace, 600.0)?;
        positive("duration", self.duration, 366.0 * 86400.0)?;
        positive("tick", self.tick, 3600.0)?;
        positive("interval", self.interval, 86400.0)?;
        if self.duration / self.tick > 1e8 || self.duration / self.interval > 1e5 {
            return Err(Error::invalid(
                "duration spans too many ticks or intervals: use a longer tick or interval",
            ));
        }
        // The pacer refuses a bad target or ratio with its own message.
        let service = crate::pacing::Service::new(&self.handle, self.wrapup)?;
        crate::pacing::Config::new(self.mode, self.target, service)?;
        Ok(())
    }
}

/// One interval of the day (outcomes count in the interval they happen in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundInterval {
    pub dials: u64,
    /// Answered by a person.
    pub live: u64,
    pub machines: u64,
    /// Live answers that reached an agent.
    pub connects: u64,
    pub abandoned: u64,
    /// Agent-seconds talking or in wrap-up, and logged in.
    pub busy: f64,
    pub staffed: f64,
    pub idle: f64,
}

impl OutboundInterval {
    fn add(&mut self, o: &OutboundInterval) {
        self.dials += o.dials;
        self.live += o.live;
        self.machines += o.machines;
        self.connects += o.connects;
        self.abandoned += o.abandoned;
        self.busy += o.busy;
        self.staffed += o.staffed;
        self.idle += o.idle;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboundResult {
    pub mode: Mode,
    pub interval: f64,
    pub intervals: Vec<OutboundInterval>,
    pub totals: OutboundInterval,
}

impl OutboundResult {
    fn new(mode: Mode, interval: f64, intervals: Vec<OutboundInterval>) -> Self {
        let mut totals = OutboundInterval::default();
        for iv in &intervals {
            totals.add(iv);
        }
        OutboundResult {
            mode,
            interval,
            intervals,
            totals,
        }
    }

    /// Abandoned per live answer (NaN before any).
    pub fn abandon_rate(&self) -> f64 {
        self.totals.abandoned as f64 / self.totals.live as f64
    }

    /// Talk plus wrap-up over logged-in time, during the dialing day.
    pub fn occupancy(&self) -> f64 {
        self.totals.busy / self.totals.staffed
    }

    /// Mean seconds an agent waits between calls: available time per connect.
    pub fn agent_wait(&self) -> f64 {
        self.totals.idle / self.totals.connects as f64
    }
}

/// Runs the day to the end.
pub fn simulate_outbound(cfg: &OutboundConfig, seed: u64) -> Result<OutboundResult> {
    OutboundSim::new(cfg, seed)?.run()
}
