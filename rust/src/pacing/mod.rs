//! Outbound pacing: how many numbers each campaign dials this tick.
//!
//! - **progressive**: one dial per ready agent not already covered by a dial in flight, so a
//!   live answer always has an agent unless one is taken elsewhere meanwhile.
//! - **power**: `ratio` lines per ready agent, less the dials in flight.
//! - **predictive**: dials ahead of agents becoming free, as many as keep the expected share
//!   of live answers that find no agent under a risk level ([`risk`]), with the answer rate,
//!   machine share and time to answer estimated live from outcomes ([`State`]). A controller
//!   moves the risk level so the measured abandon rate settles below the target, and as the
//!   measured rate nears the target the dials blend into progressive ones.
//!
//! A pure function of its inputs and a small state per campaign; time is an input (`now`).
//! [`Pacer`] paces many campaigns per call from struct-of-arrays input. The model and its
//! references are in docs/pacing.md.

mod freeing;
mod normal;
mod ringing;
mod risk;
mod shape;

pub use freeing::Service;
pub use ringing::Ringing;
pub use shape::AnswerShape;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Progressive,
    Power { ratio: f64 },
    Predictive,
}

impl Mode {
    pub fn parse(name: &str, ratio: f64) -> Result<Self> {
        match name {
            "progressive" => Ok(Mode::Progressive),
            "power" => {
                if ratio.is_finite() && (1.0..=100.0).contains(&ratio) {
                    Ok(Mode::Power { ratio })
                } else {
                    Err(Error::invalid(format!(
                        "ratio must be a number of lines per agent in 1..=100, got {ratio}"
                    )))
                }
            }
            "predictive" => Ok(Mode::Predictive),
            other => Err(Error::invalid(format!(
                "unknown mode {:?} (progressive, power or predictive)",
                crate::error::clip(other)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Progressive => "progressive",
            Mode::Power { .. } => "power",
            Mode::Predictive => "predictive",
        }
    }
}

/// What the pacer believes about the dials' outcomes before any is observed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimates {
    /// Share of resolved dials answered (by a person or a machine).
    pub answer: f64,
    /// Share of answers that were machines.
    pub machine: f64,
    /// Mean seconds from dial to answer, of answered dials.
    pub tta: f64,
}

impl Default for Estimates {
    /// Cautious: a high answer rate makes the first dials few; outcomes correct it within a
    /// few hundred dials.
    fn default() -> Self {
        Estimates {
            answer: 0.5,
            machine: 0.0,
            tta: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub mode: Mode,
    /// Most abandoned calls per live answer (0.03 = 3%).
    pub target: f64,
    pub service: Service,
    /// Seconds an answered caller waits for an agent before the call counts as abandoned.
    pub grace: f64,
    /// Time constant (seconds) over which observed abandons and live answers fade from the
    /// measured rate.
    pub window: f64,
    pub prior: Estimates,
    /// The time-to-answer shape and ring timeout, to weigh dials in flight by their ages;
    /// without it every dial in flight counts as just placed.
    pub ringing: Option<Ringing>,
}

impl Config {
    pub fn new(mode: Mode, target: f64, service: Service) -> Result<Self> {
        if !(target.is_finite() && target > 0.0 && target <= 1.0) {
            return Err(Error::invalid(format!(
                "abandon target must be a share in (0, 1], got {target}"
            )));
        }
        Ok(Config {
            mode,
            target,
            service,
            grace: 2.0,
            window: 86_400.0,
            prior: Estimates::default(),
            ringing: None,
        })
    }

    pub fn with_ringing(mut self, ringing: Ringing) -> Self {
        self.ringing = Some(ringing);
        self
    }

    pub fn with_prior(mut self, prior: Estimates) -> Result<Self> {
        for (name, v) in [("answer", prior.answer), ("machine", prior.machine)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(Error::invalid(format!(
                    "prior {name} rate must be in 0..=1, got {v}"
                )));
            }
        }
        crate::time::check_seconds("prior time to answer", prior.tta)?;
        self.prior = prior;
        Ok(self)
    }

    pub fn with_window(mut self, window: f64) -> Result<Self> {
        if !(window.is_finite() && window > 0.0) {
            return Err(Error::invalid(format!(
                "window must be a positive number of seconds, got {window}"
            )));
        }
        self.window = window;
        Ok(self)
    }
}

/// A campaign at one tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub now: f64,
    /// Agents available for this campaign now.
    pub ready: u32,
    /// Seconds since each busy agent's call connected (talking or wrapping up).
    pub busy_ages: &'a [f64],
    /// Dials placed and not yet answered or given up.
    pub in_flight: u32,
    /// Seconds since some of those dials were placed (at most `in_flight` of them); the rest
    /// count as just placed.
    pub flight_ages: &'a [f64],
    /// Live answers waiting for an agent.
    pub waiting: u32,
}

/// Outcomes since the campaign's last tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed<'a> {
    /// Dials that ended ringing (answered, no answer, busy, failed).
    pub resolved: u32,
    /// Of those, answered by a person or a machine.
    pub answered: u32,
    /// Of the answered, machines.
    pub machines: u32,
    /// Sum of the answered dials' seconds from dial to answer (0 when `answer_times` are
    /// given instead).
    pub tta_sum: f64,
    /// Seconds from dial to answer of some or all of the answered dials (at most
    /// `answered`): the pacer learns the shape of the time to answer from them, and its mean
    /// in place of `tta_sum`.
    pub answer_times: &'a [f64],
    /// Live answers that found no agent in time.
    pub abandoned: u32,
}

/// Per observed dial, how much one outcome moves the smoothed estimates.
const SMOOTHING: f64 = 0.01;
/// The controller steers the measured abandon rate to this share of the target...
const SETPOINT: f64 = 0.7;
/// ... and the dials blend from predictive (at this share) to progressive (at FALLBACK_FULL).
const FALLBACK_FROM: f64 = 0.8;
const FALLBACK_FULL: f64 = 0.95;
/// Live answers at the setpoint assumed before the first is observed, so one early abandon
/// does not read as a 100% rate.
const PRIOR_LIVE: f64 = 30.0;
/// Seconds for the controller to change the risk level by a factor e at a 100% error.
const CONTROL_TIME: f64 = 600.0;
const RISK_RANGE: (f64, f64) = (0.05, 3.0);
/// Seconds of control error one tick integrates at most (ticks come every second or so).
const MAX_CONTROL_STEP: f64 = 10.0;
const PACER_MAGIC: &str = "acdcore-pacer";
const PACER_VERSION: u32 = 1;

/// What the pacer has learned about one campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    est: Estimates,
    live: f64,
    abandoned: f64,
    /// Multiplier on the target: the risk level the model is held to.
    risk: f64,
    last: Option<f64>,
    /// The time-to-answer shape learned from answer times (with a ring timeout configured),
    /// from the first answer time on; before it the given shape stands.
    shape: Option<AnswerShape>,
    /// Dials in flight plus new ones at the last predictive tick: where the next tick's
    /// search starts (a speed hint only; any value gives the same answer).
    lines: u32,
}

impl State {
    pub fn new(cfg: &Config) -> Self {
        State {
            est: cfg.prior,
            live: 0.0,
            abandoned: 0.0,
            risk: SETPOINT,
            last: None,
            shape: None,
            lines: 0,
        }
    }

    /// The learned time-to-answer shape, once answer times have been reported.
    pub fn answer_shape(&self) -> Option<&AnswerShape> {
        self.shape.as_ref()
    }

    pub fn estimates(&self) -> Estimates {
        self.est
    }

    /// A state from saved bytes must be one the pacer could have reached: estimates and
    /// counts in range, a shape for this campaign's ring. A shape learned for another ring
    /// timeout (the campaign's changed) is dropped: its bins mean nothing there.
    fn checked(mut self, cfg: &Config) -> Result<Self> {
        let e = self.est;
        let rate = |x: f64| (0.0..=1.0).contains(&x);
        let sane = rate(e.answer)
            && rate(e.machine)
            && e.tta.is_finite()
            && e.tta > 0.0
            && self.live.is_finite()
            && self.live >= 0.0
            && self.abandoned.is_finite()
            && self.abandoned >= 0.0
            && (RISK_RANGE.0..=RISK_RANGE.1).contains(&self.risk)
            && self.last.is_none_or(f64::is_finite);
        if !sane {
            return Err(Error::invalid(format!(
                "saved pacer state out of range: {self:?}"
            )));
        }
        if let Some(shape) = &self.shape {
            shape.check()?;
            if cfg
                .ringing
                .as_ref()
                .is_none_or(|r| (shape.ring() - r.ring()).abs() > 1e-9 * r.ring())
            {
                self.shape = None;
            }
        }
        Ok(self)
    }

    /// Abandons per live answer over the window, with the prior's pseudo-answers.
    pub fn measured_abandon(&self, target: f64) -> f64 {
        (self.abandoned + PRIOR_LIVE * SETPOINT * target) / (self.live + PRIOR_LIVE)
    }

    pub fn risk(&self) -> f64 {
        self.risk
    }

    fn learn(&mut self, cfg: &Config, obs: &Observed<'_>, now: f64, scratch: &mut Vec<f64>) {
        let blend = |est: &mut f64, n: u32, mean: f64| {
            if n > 0 {
                let w = 1.0 - (1.0 - SMOOTHING).powi(n as i32);
                *est += w * (mean - *est);
            }
        };
        let (resolved, answered) = (f64::from(obs.resolved), f64::from(obs.answered));
        blend(&mut self.est.answer, obs.resolved, answered / resolved);
        blend(
            &mut self.est.machine,
            obs.answered,
            f64::from(obs.machines) / answered,
        );
        match obs.answer_times {
            [] => blend(&mut self.est.tta, obs.answered, obs.tta_sum / answered),
            times => {
                if let Some(ringing) = &cfg.ringing {
                    let tta = self.est.tta;
                    self.shape
                        .get_or_insert_with(|| {
                            AnswerShape::new(ringing.ring(), |a| ringing.prior_survival(a, tta))
                        })
                        .learn(times, SMOOTHING, scratch);
                }
                let n = times.len();
                blend(
                    &mut self.est.tta,
                    n as u32,
                    times.iter().sum::<f64>() / n as f64,
                );
            }
        }
        let dt = self.last.map_or(0.0, |t| now - t);
        let fade = (-dt / cfg.window).exp();
        self.live = self.live * fade + f64::from(obs.answered - obs.machines);
        self.abandoned = self.abandoned * fade + f64::from(obs.abandoned);
        // Integral control on the log of the risk level, over the time the pacer was ticking:
        // a longer gap (a paused campaign, a restart from a snapshot) counts as
        // `MAX_CONTROL_STEP`, or one tick after hours of silence would swing the risk to a
        // bound and the first dials after it with it.
        let error = (SETPOINT * cfg.target - self.measured_abandon(cfg.target)) / cfg.target;
        let step = dt.min(MAX_CONTROL_STEP);
        self.risk =
            (self.risk * (error * step / CONTROL_TIME).exp()).clamp(RISK_RANGE.0, RISK_RANGE.1);
        self.last = Some(now);
    }
}

fn check_ages(what: &str, ages: &[f64]) -> Result<()> {
    // A campaign's ages are checked every tick: first one branch-free pass over their bits in
    // four lanes (a non-negative finite number's bits are below +inf's; -0 is allowed too;
    // negatives and NaNs are above), the search for the bad one only when there is one.
    const INF: u64 = 0x7ff0_0000_0000_0000;
    const NEG_ZERO: u64 = 0x8000_0000_0000_0000;
    let bad = |a: f64| {
        let b = a.to_bits();
        u64::from(b >= INF && b != NEG_ZERO)
    };
    let mut lanes = [0u64; 4];
    let chunks = ages.chunks_exact(4);
    let rest = chunks.remainder().iter().fold(0, |m, &a| m | bad(a));
    for c in chunks {
        for (lane, &a) in lanes.iter_mut().zip(c) {
            *lane |= bad(a);
        }
    }
    if lanes.iter().fold(rest, |m, &l| m | l) == 0 {
        return Ok(());
    }
    match ages.iter().find(|a| !(a.is_finite() && **a >= 0.0)) {
        Some(a) => Err(Error::invalid(format!(
            "{what} must be a non-negative number of seconds, got {a}"
        ))),
        None => Ok(()),
    }
}

fn check(state: &State, tick: &Tick<'_>, obs: &Observed<'_>) -> Result<()> {
    if !tick.now.is_finite() {
        return Err(Error::invalid(format!(
            "now must be finite, got {}",
            tick.now
        )));
    }
    if let Some(last) = state.last
        && tick.now < last
    {
        return Err(Error::invalid(format!(
            "the clock went backwards: now={} after {last}",
            tick.now
        )));
    }
    check_ages("busy age", tick.busy_ages)?;
    if tick.flight_ages.len() > tick.in_flight as usize {
        return Err(Error::invalid(format!(
            "{} flight ages for {} dials in flight",
            tick.flight_ages.len(),
            tick.in_flight
        )));
    }
    check_ages("flight age", tick.flight_ages)?;
    if obs.answered > obs.resolved {
        return Err(Error::invalid(format!(
            "answered {} > resolved {}",
            obs.answered, obs.resolved
        )));
    }
    if obs.machines > obs.answered {
        return Err(Error::invalid(format!(
            "machines {} > answered {}",
            obs.machines, obs.answered
        )));
    }
    if !(obs.tta_sum.is_finite() && obs.tta_sum >= 0.0) {
        return Err(Error::invalid(format!(
            "tta_sum must be a non-negative number of seconds, got {}",
            obs.tta_sum
        )));
    }
    if !obs.answer_times.is_empty() {
        if obs.answer_times.len() > obs.answered as usize {
            return Err(Error::invalid(format!(
                "{} answer times for {} answered dials",
                obs.answer_times.len(),
                obs.answered
            )));
        }
        shape::check_times(obs.answer_times)?;
        if obs.tta_sum != 0.0 {
            return Err(Error::invalid(
                "give tta_sum or answer times, not both (the mean comes from the times)",
            ));
        }
    }
    Ok(())
}

/// Dials to place now for one campaign; learns from `obs` first. Bad input changes nothing.
pub fn pace(cfg: &Config, state: &mut State, tick: &Tick<'_>, obs: &Observed<'_>) -> Result<u32> {
    check(state, tick, obs)?;
    let mut buf = Vec::new();
    Ok(pace_checked(cfg, state, tick, obs, &mut buf))
}

fn pace_checked(
    cfg: &Config,
    state: &mut State,
    tick: &Tick<'_>,
    obs: &Observed<'_>,
    buf: &mut Vec<f64>,
) -> u32 {
    state.learn(cfg, obs, tick.now, buf);
    let busy = tick.busy_ages.len() as u64;
    if u64::from(tick.ready) + busy == 0 {
        return 0;
    }
    let claimed = tick.in_flight.saturating_add(tick.waiting);
    let progressive = tick.ready.saturating_sub(claimed);
    match cfg.mode {
        Mode::Progressive => progressive,
        Mode::Power { ratio } => {
            let lines = (ratio * f64::from(tick.ready)).ceil() as u32;
            lines.saturating_sub(claimed)
        }
        Mode::Predictive => {
            let predictive = predictive_dials(cfg, state, tick, buf);
            state.lines = predictive.saturating_add(tick.in_flight);
            let measured = state.measured_abandon(cfg.target) / cfg.target;
            let w = ((measured - FALLBACK_FROM) / (FALLBACK_FULL - FALLBACK_FROM)).clamp(0.0, 1.0);
            let blended = (1.0 - w) * f64::from(predictive) + w * f64::from(progressive);
            blended.round() as u32
        }
    }
}

fn predictive_dials(cfg: &Config, state: &State, tick: &Tick<'_>, buf: &mut Vec<f64>) -> u32 {
    let est = state.est;
    let p = (est.answer * (1.0 - est.machine)).max(1e-3);
    let h = est.tta + cfg.grace;
    let lambda = cfg.service.expected_free(tick.busy_ages, h);
    let d0 = i64::from(tick.ready) - i64::from(tick.waiting);
    let free = risk::FreeAgents::new(d0, lambda, std::mem::take(buf));
    let agents = f64::from(tick.ready) + tick.busy_ages.len() as f64;
    let cap = (4.0 * agents / p + 10.0).min(1e6) as u32;
    let n = risk::admissible_dials(
        &free,
        f64::from(tick.waiting),
        flight_weight(cfg, state, tick, p),
        tick.in_flight,
        p,
        cfg.target * state.risk,
        cap,
        state.lines.saturating_sub(tick.in_flight),
    );
    *buf = free.into_buf();
    n
}

/// The dials in flight as a number of fresh dials: each aged one weighs its chance of a live
/// answer still to come over a fresh dial's, from the learned shape once there is one.
fn flight_weight(cfg: &Config, state: &State, tick: &Tick<'_>, p: f64) -> f64 {
    let Some(ringing) = &cfg.ringing else {
        return f64::from(tick.in_flight);
    };
    let est = &state.est;
    let fresh = tick.in_flight as usize - tick.flight_ages.len();
    let aged: f64 = match &state.shape {
        Some(shape) => tick
            .flight_ages
            .iter()
            .map(|&a| ringing::live_later(shape.survival(a), est.answer, est.machine))
            .sum(),
        None => {
            // The given shape at the live mean time to answer: one scale for every dial.
            let scale = ringing.scale(est.tta);
            tick.flight_ages
                .iter()
                .map(|&a| ringing.p_live_later_scaled(a, scale, est.answer, est.machine))
                .sum()
        }
    };
    fresh as f64 + aged / p
}

/// Many campaigns' ticks as columns: campaign `i` has `ready[i]`, `in_flight[i]`, ..., the
/// busy ages `ages[offsets[i]..offsets[i + 1]]` and the ages of its dials in flight
/// `flight_ages[flight_offsets[i]..flight_offsets[i + 1]]` (no `flight_offsets` at all: no
/// dial's age is known, all count as just placed), and the times to answer of its answered
/// dials `answer_times[answer_offsets[i]..answer_offsets[i + 1]]` (no `answer_offsets`: only
/// `tta_sum`).
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub now: f64,
    pub ready: &'a [u32],
    pub in_flight: &'a [u32],
    pub waiting: &'a [u32],
    pub ages: &'a [f64],
    pub offsets: &'a [u64],
    pub resolved: &'a [u32],
    pub answered: &'a [u32],
    pub machines: &'a [u32],
    pub tta_sum: &'a [f64],
    pub abandoned: &'a [u32],
    pub flight_ages: &'a [f64],
    pub flight_offsets: &'a [u64],
    pub answer_times: &'a [f64],
    pub answer_offsets: &'a [u64],
}

/// `offsets` cut `values` into `n` runs: n + 1 of them rising from 0 to `values`.
fn check_offsets(name: &str, offsets: &[u64], values: &str, len: usize, n: usize) -> Result<()> {
    if offsets.len() != n + 1
        || offsets.first() != Some(&0)
        || offsets.last() != Some(&(len as u64))
        || offsets.windows(2).any(|w| w[0] > w[1])
    {
        return Err(Error::invalid(format!(
            "{name} must rise from 0 to the {len} {values} in {} values",
            n + 1
        )));
    }
    Ok(())
}

/// Campaigns paced together, each with its own configuration and state.
#[derive(Debug, Clone)]
pub struct Pacer {
    configs: Vec<Config>,
    states: Vec<State>,
    buf: Vec<f64>,
}

impl Pacer {
    pub fn new(configs: Vec<Config>) -> Self {
        let states = configs.iter().map(State::new).collect();
        Pacer {
            configs,
            states,
            buf: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.configs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.configs.is_empty()
    }

    pub fn state(&self, campaign: usize) -> Option<&State> {
        self.states.get(campaign)
    }

    /// What every campaign has learned (estimates, measured abandons, the controller's risk
    /// level, the learned answer shape, the clock), tagged and versioned, for a host that
    /// restarts and would rather not learn it all again. The configurations are the host's.
    pub fn snapshot(&self) -> Vec<u8> {
        let body = rmp_serde::to_vec(&self.states).expect("pacer states always serialize");
        let sum = crate::engine::fnv1a(&body);
        rmp_serde::to_vec(&(
            PACER_MAGIC,
            PACER_VERSION,
            sum,
            serde_bytes::Bytes::new(&body),
        ))
        .expect("snapshot envelope always serializes")
    }

    /// Takes back what `snapshot` saved, for the same number of campaigns; damaged or foreign
    /// bytes, or a state out of range, are an error and change nothing.
    pub fn restore_states(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::invalid(format!("not an acdcore pacer snapshot: {e}"))
        };
        let (magic, version, sum, body): (String, u32, u64, serde_bytes::ByteBuf) =
            rmp_serde::from_slice(bytes).map_err(|e| bad(&e))?;
        if magic != PACER_MAGIC || version != PACER_VERSION {
            return Err(Error::invalid(format!(
                "unsupported pacer snapshot {magic:?} version {version} (expected {PACER_MAGIC:?} {PACER_VERSION})"
            )));
        }
        if crate::engine::fnv1a(&body) != sum {
            return Err(Error::invalid(
                "pacer snapshot is damaged: checksum mismatch",
            ));
        }
        let states: Vec<State> = rmp_serde::from_slice(&body).map_err(|e| bad(&e))?;
        if states.len() != self.states.len() {
            return Err(Error::invalid(format!(
                "the pacer snapshot has {} campaigns, this pacer {}",
                states.len(),
                self.states.len()
            )));
        }
        let states = states
            .into_iter()
            .zip(&self.configs)
            .map(|(s, cfg)| s.checked(cfg))
            .collect::<Result<Vec<_>>>()?;
        self.states = states;
        Ok(())
    }

    pub fn config(&self, campaign: usize) -> Option<&Config> {
        self.configs.get(campaign)
    }

    /// Dials per campaign into `out`. Every campaign is checked before any learns, so bad
    /// input (named by campaign) changes nothing.
    pub fn tick(&mut self, b: &Batch<'_>, out: &mut [u32]) -> Result<()> {
        let n = self.configs.len();
        let columns = [
            ("ready", b.ready.len()),
            ("in_flight", b.in_flight.len()),
            ("waiting", b.waiting.len()),
            ("resolved", b.resolved.len()),
            ("answered", b.answered.len()),
            ("machines", b.machines.len()),
            ("tta_sum", b.tta_sum.len()),
            ("abandoned", b.abandoned.len()),
            ("out", out.len()),
        ];
        if let Some((name, len)) = columns.iter().find(|(_, len)| *len != n) {
            return Err(Error::invalid(format!(
                "{name} has {len} values for {n} campaigns"
            )));
        }
        check_offsets("offsets", b.offsets, "ages", b.ages.len(), n)?;
        if !(b.flight_offsets.is_empty() && b.flight_ages.is_empty()) {
            check_offsets(
                "flight_offsets",
                b.flight_offsets,
                "flight ages",
                b.flight_ages.len(),
                n,
            )?;
        }
        if !(b.answer_offsets.is_empty() && b.answer_times.is_empty()) {
            check_offsets(
                "answer_offsets",
                b.answer_offsets,
                "answer times",
                b.answer_times.len(),
                n,
            )?;
        }
        for i in 0..n {
            let (tick, obs) = b.campaign(i);
            check(&self.states[i], &tick, &obs)
                .map_err(|e| Error::invalid(format!("campaign {i}: {e}")))?;
        }
        for (i, slot) in out.iter_mut().enumerate() {
            let (tick, obs) = b.campaign(i);
            *slot = pace_checked(
                &self.configs[i],
                &mut self.states[i],
                &tick,
                &obs,
                &mut self.buf,
            );
        }
        Ok(())
    }
}

impl<'a> Batch<'a> {
    fn campaign(&self, i: usize) -> (Tick<'a>, Observed<'a>) {
        let ages = &self.ages[self.offsets[i] as usize..self.offsets[i + 1] as usize];
        let flight_ages = match self.flight_offsets {
            [] => &[][..],
            o => &self.flight_ages[o[i] as usize..o[i + 1] as usize],
        };
        let answer_times = match self.answer_offsets {
            [] => &[][..],
            o => &self.answer_times[o[i] as usize..o[i + 1] as usize],
        };
        let tick = Tick {
            now: self.now,
            ready: self.ready[i],
            busy_ages: ages,
            in_flight: self.in_flight[i],
            flight_ages,
            waiting: self.waiting[i],
        };
        let obs = Observed {
            resolved: self.resolved[i],
            answered: self.answered[i],
            machines: self.machines[i],
            tta_sum: self.tta_sum[i],
            answer_times,
            abandoned: self.abandoned[i],
        };
        (tick, obs)
    }
}

#[cfg(test)]
mod tests;
