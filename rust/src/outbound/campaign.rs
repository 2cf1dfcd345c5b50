//! A campaign: its leads' life cycle, the dialing mode and the compliance checks every dial
//! passes. The host drives it with `now` (Unix seconds, never decreasing): `tick` says which
//! numbers to dial, `dial_result` reports how each attempt went, `connect` / `hangup` /
//! `disposition` follow a live call through an agent. How many dials a predictive campaign
//! places is the pacing model's answer, passed to `tick`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::abandon::{AbandonProfile, AbandonWindow, rate};
use super::dnc::DncList;
use super::leads::Lead;
use super::rules::{Attempts, Refusal, Rules};
use super::schedule::Schedule;
use crate::error::{Error, Result};
use crate::model::Id;
use crate::time::check_seconds;

mod snapshot;

/// A live call must hear the information message within this long of being answered.
pub const INFO_MESSAGE_DEADLINE: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The agent dials a lead from the screen (`dial`).
    ClickToDial,
    /// The agent takes the next lead (`preview`), reads it, then dials it.
    Preview,
    /// One dial per ready agent.
    Progressive,
    /// `ratio` dials per ready agent.
    Power,
    /// As many dials as the pacing model asks for.
    Predictive,
    /// No agents: `lines` calls at once, each answered call hears a recorded message.
    VoiceBroadcast,
}

impl Mode {
    pub const ALL: [Mode; 6] = [
        Mode::ClickToDial,
        Mode::Preview,
        Mode::Progressive,
        Mode::Power,
        Mode::Predictive,
        Mode::VoiceBroadcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ClickToDial => "click-to-dial",
            Mode::Preview => "preview",
            Mode::Progressive => "progressive",
            Mode::Power => "power",
            Mode::Predictive => "predictive",
            Mode::VoiceBroadcast => "voice-broadcast",
        }
    }

    pub fn parse(s: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
                Error::invalid(format!(
                    "unknown dialing mode {:?} (expected one of {})",
                    crate::error::clip(s),
                    names.join(", ")
                ))
            })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Human,
    Machine,
    NoAnswer,
    Busy,
    Failed,
    /// Answered by a person no agent was free for (reported through `abandon`).
    Abandoned,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Human,
        Outcome::Machine,
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Failed,
        Outcome::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Human => "human",
            Outcome::Machine => "machine",
            Outcome::NoAnswer => "no-answer",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Result<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown call outcome {:?} (expected human, machine, no-answer, busy, failed \
                     or abandoned)",
                    crate::error::clip(s)
                ))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeadState {
    New,
    Previewing,
    Dialing,
    /// A person answered; with an agent or waiting for the agent's disposition.
    Answered,
    RetryScheduled,
    Callback,
    Done,
}

impl LeadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::New => "new",
            LeadState::Previewing => "previewing",
            LeadState::Dialing => "dialing",
            LeadState::Answered => "answered",
            LeadState::RetryScheduled => "retry-scheduled",
            LeadState::Callback => "callback",
            LeadState::Done => "done",
        }
    }
}

/// The agent's verdict after a live call.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    Final,
    /// Call back at this time, offered first to this agent (for the campaign's window).
    Callback {
        at: f64,
        agent: Option<Id>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub mode: Mode,
    /// Lines per ready agent in power mode.
    pub ratio: f64,
    /// Simultaneous calls in voice-broadcast mode.
    pub lines: u32,
    pub rules: Rules,
    pub abandon: AbandonProfile,
    /// Delay before the next attempt after each outcome except `Human`, in `Outcome::ALL`
    /// order; None ends the lead.
    pub retry: [Option<f64>; 6],
    /// A callback waits this long for its preferred agent before any agent may take it.
    pub callback_window: f64,
    /// Highest share of the logged-in agents outbound calls may occupy (blending).
    pub outbound_share: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Progressive,
            ratio: 1.0,
            lines: 1,
            rules: Rules::default(),
            abandon: AbandonProfile::US,
            retry: [
                None,
                Some(4.0 * 3600.0),
                Some(3600.0),
                Some(600.0),
                Some(1800.0),
                Some(86_400.0),
            ],
            callback_window: 300.0,
            outbound_share: 1.0,
        }
    }
}

impl Config {
    pub fn check(&self) -> Result<()> {
        check_ratio(self.mode, self.ratio)?;
        rate("outbound_share", self.outbound_share)?;
        check_seconds("callback_window", self.callback_window)?;
        self.abandon.checked()?;
        for (o, d) in Outcome::ALL.iter().zip(self.retry) {
            if let Some(d) = d {
                check_seconds(&format!("retry delay after {}", o.as_str()), d)?;
            }
        }
        check_lines(self.mode, self.lines)
    }
}

fn check_lines(mode: Mode, lines: u32) -> Result<()> {
    if mode == Mode::VoiceBroadcast && lines == 0 {
        return Err(Error::invalid(
            "lines must be at least 1 for voice broadcast, got 0",
        ));
    }
    Ok(())
}

fn check_ratio(mode: Mode, ratio: f64) -> Result<()> {
    if !(1.0..=100.0).contains(&ratio) {
        return Err(Error::invalid(format!(
            "ratio must be 1..=100 lines per ready agent, got {ratio}{}",
            if mode == Mode::Power {
                ""
            } else {
                " (used in power mode)"
            }
        )));
    }
    Ok(())
}

/// Agents as the routing engine sees them at a tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agents {
    /// Ready for an outbound call now.
    pub ready: u32,
    /// Logged in (ready, busy, wrapping up...), the base of occupancy and of the outbound share.
    pub staffed: u32,
}

/// A number to dial now.
#[derive(Debug, Clone, PartialEq)]
pub struct Dial {
    pub lead: u32,
    pub number: u64,
    /// Ring this long before giving up (never under 15 s).
    pub ring_timeout: f64,
    pub preferred_agent: Option<Id>,
}

/// What the host must do after a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Hand the answered call to an agent, offered first to `preferred` until `until`.
    Connect {
        lead: u32,
        preferred: Option<(Id, f64)>,
    },
    /// Voice broadcast: play the campaign's recording.
    PlayMessage { lead: u32 },
    /// Abandoned: play the information message now, at the latest by `deadline`.
    PlayInfoMessage { lead: u32, deadline: f64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    lead: Lead,
    state: LeadState,
    generation: u32,
    attempts: u32,
    last_attempt: Option<f64>,
    dialed_at: f64,
    answered_at: f64,
    /// Start of the talk with an agent, while it lasts.
    talking_since: Option<f64>,
    outcome: Option<Outcome>,
    refusal: Option<Refusal>,
    preferred: Option<(Id, f64)>,
    /// Added by `add_lead` (an agent's click-to-dial of a number not in the list): the
    /// campaign never dials it by itself before its first attempt. Last, with a default, so
    /// the snapshots of before it read.
    #[serde(default)]
    added: bool,
}

impl Slot {
    fn new(lead: Lead) -> Self {
        Slot {
            lead,
            state: LeadState::New,
            generation: 0,
            attempts: 0,
            last_attempt: None,
            dialed_at: 0.0,
            answered_at: 0.0,
            talking_since: None,
            outcome: None,
            refusal: None,
            preferred: None,
            added: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub dials: u64,
    pub connects: u64,
    pub machines: u64,
    pub no_answers: u64,
    pub busy: u64,
    pub failed: u64,
    pub abandoned: u64,
    pub talk_time: f64,
    /// Logged-in agent seconds between ticks (the base of occupancy).
    pub agent_time: f64,
    pub in_flight: u32,
    pub leads_left: u64,
    /// Refused dials by reason, in `Refusal::ALL` order.
    pub refused: [u64; 5],
    pub answer_rate: Option<f64>,
    pub machine_rate: Option<f64>,
    /// Over the compliance window.
    pub abandon_rate: Option<f64>,
    pub occupancy: Option<f64>,
    /// The abandon rate is at the cap: power and predictive dial no more than ready agents.
    pub capped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Run {
    Created,
    Running,
    Paused,
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    id: Id,
    cfg: Config,
    now: f64,
    run: Run,
    slots: Vec<Slot>,
    schedule: Schedule,
    /// Not in a snapshot: the list is the caller's (millions of numbers, updated apart).
    #[serde(skip)]
    dnc: Arc<DncList>,
    window: AbandonWindow,
    stats: Stats,
    /// Live calls with agents now (against the outbound share).
    with_agents: u32,
    last_tick: Option<(f64, u32)>,
    /// Bumped by every change a snapshot must keep (not by the clock or agent time moving
    /// on at a tick), so a host saves the campaign only when this moved. Not in a snapshot.
    #[serde(skip)]
    changes: u64,
}

impl Campaign {
    pub fn new(id: &str, cfg: Config, leads: &[Lead], dnc: Arc<DncList>, now: f64) -> Result<Self> {
        cfg.check()?;
        let now = check_seconds("now", now)?;
        let mut schedule = Schedule::default();
        let slots = leads
            .iter()
            .enumerate()
            .map(|(i, &lead)| {
                schedule.push(i as u32, 0, now);
                Slot::new(lead)
            })
            .collect::<Vec<_>>();
        let stats = Stats {
            leads_left: slots.len() as u64,
            ..Stats::default()
        };
        Ok(Campaign {
            id: id.into(),
            window: AbandonWindow::new(cfg.abandon),
            cfg,
            now,
            run: Run::Created,
            slots,
            schedule,
            dnc,
            stats,
            with_agents: 0,
            last_tick: None,
            changes: 0,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn mode(&self) -> Mode {
        self.cfg.mode
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn run_state(&self) -> &'static str {
        match self.run {
            Run::Created => "created",
            Run::Running => "running",
            Run::Paused => "paused",
            Run::Stopped => "stopped",
        }
    }

    /// How many changes a snapshot would keep so far: equal counts, same saved state (the
    /// clock and the agent time ticks add up are not counted). Starts at 0 after `restore`.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    fn touch(&mut self) {
        self.changes = self.changes.wrapping_add(1);
    }

    fn clock(&mut self, now: f64) -> Result<()> {
        let now = check_seconds("now", now)?;
        if now < self.now {
            return Err(Error::invalid(format!(
                "now={now} is before the campaign's clock {}: time never goes back",
                self.now
            )));
        }
        self.now = now;
        Ok(())
    }

    pub fn start(&mut self, now: f64) -> Result<()> {
        self.clock(now)?;
        if self.run == Run::Stopped {
            return Err(Error::state(format!("campaign {:?} is stopped", self.id)));
        }
        self.run = Run::Running;
        self.touch();
        Ok(())
    }

    pub fn pause(&mut self, now: f64) -> Result<()> {
        self.clock(now)?;
        if self.run != Run::Running {
            return Err(Error::state(format!(
                "campaign {:?} is {}, not running",
                self.id,
                self.run_state()
            )));
        }
        self.run = Run::Paused;
        self.touch();
        Ok(())
    }

    /// For good: calls in progress still report their results, no new dial goes out.
    pub fn stop(&mut self, now: f64) -> Result<()> {
        self.clock(now)?;
        self.run = Run::Stopped;
        self.touch();
        Ok(())
    }

    /// Changes the mode (and the power ratio, the broadcast lines) while the campaign runs.
    pub fn set_mode(&mut self, mode: Mode, ratio: Option<f64>, lines: Option<u32>) -> Result<()> {
        let ratio = ratio.unwrap_or(self.cfg.ratio);
        let lines = lines.unwrap_or(self.cfg.lines);
        check_ratio(mode, ratio)?;
        check_lines(mode, lines)?;
        self.cfg.mode = mode;
        self.cfg.ratio = ratio;
        self.cfg.lines = lines;
        self.touch();
        Ok(())
    }

    /// New rules from now on, for a host whose settings changed (a restart with an edited
    /// config): calling hours, holidays, minimum gap, max attempts and ring timeout, the retry
    /// delays, the callback window and the outbound share. Every dial from now on is checked
    /// against them and every outcome from now on retried by them; what was decided stays
    /// (a retry keeps its time, a finished lead stays finished, where a higher max attempts
    /// would have let it go on). The abandonment profile is not among them: the window's
    /// history is kept in that profile's buckets. A new ring timeout while dials are in
    /// flight is a StateError (their no-answers are judged by the timeout they rang with).
    pub fn set_rules(
        &mut self,
        rules: Rules,
        retry: [Option<f64>; 6],
        callback_window: f64,
        outbound_share: f64,
    ) -> Result<()> {
        if rules.ring_timeout != self.cfg.rules.ring_timeout && self.stats.in_flight > 0 {
            return Err(Error::state(format!(
                "{} dials are in flight with ring_timeout {} s: change it when none is",
                self.stats.in_flight, self.cfg.rules.ring_timeout
            )));
        }
        let cfg = Config {
            rules,
            retry,
            callback_window,
            outbound_share,
            ..self.cfg.clone()
        };
        cfg.check()?;
        self.cfg = cfg;
        self.touch();
        Ok(())
    }

    fn slot(&self, lead: u32) -> Result<&Slot> {
        self.slots
            .get(lead as usize)
            .ok_or_else(|| Error::unknown("lead", &lead.to_string()))
    }

    fn slot_mut(&mut self, lead: u32) -> Result<&mut Slot> {
        self.slots
            .get_mut(lead as usize)
            .ok_or_else(|| Error::unknown("lead", &lead.to_string()))
    }

    fn expect(&self, lead: u32, states: &[LeadState], doing: &str) -> Result<()> {
        let s = self.slot(lead)?.state;
        if !states.contains(&s) {
            return Err(Error::state(format!(
                "lead {lead} is {}: cannot {doing}",
                s.as_str()
            )));
        }
        Ok(())
    }

    /// Puts a lead back in the timing queue at `at`.
    fn schedule(&mut self, lead: u32, at: f64, state: LeadState) {
        self.touch();
        let s = &mut self.slots[lead as usize];
        s.state = state;
        s.generation = s.generation.wrapping_add(1);
        let g = s.generation;
        self.schedule.push(lead, g, at);
    }

    fn finish(&mut self, lead: u32) {
        self.touch();
        let s = &mut self.slots[lead as usize];
        if s.state != LeadState::Done {
            s.state = LeadState::Done;
            s.generation = s.generation.wrapping_add(1);
            self.stats.leads_left -= 1;
        }
    }

    /// The compliance checks for one lead; a refusal is recorded on the lead, which is
    /// rescheduled for when the rule allows it or ended.
    fn admit(&mut self, lead: u32) -> std::result::Result<(), Refusal> {
        let now = self.now;
        let s = &self.slots[lead as usize];
        let verdict = if self.dnc.contains(s.lead.number) {
            Err((Refusal::DoNotCall, None))
        } else {
            let attempts = Attempts {
                zone: s.lead.zone,
                made: s.attempts,
                last: s.last_attempt,
            };
            self.cfg.rules.check(attempts, now)
        };
        let Err((why, retry_at)) = verdict else {
            return Ok(());
        };
        let i = Refusal::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.stats.refused[i] += 1;
        self.slots[lead as usize].refusal = Some(why);
        match retry_at {
            // An added lead refused before its first attempt waits for an agent to dial it
            // again: the campaign never dials a number an agent typed by itself.
            Some(_)
                if self.slots[lead as usize].added && self.slots[lead as usize].attempts == 0 =>
            {
                self.touch()
            }
            Some(at) => {
                let state = self.slots[lead as usize].state;
                let state = if state == LeadState::Previewing || state == LeadState::New {
                    LeadState::RetryScheduled
                } else {
                    state
                };
                self.schedule(lead, at, state)
            }
            None => self.finish(lead),
        }
        Err(why)
    }

    fn place(&mut self, lead: u32) -> Dial {
        self.touch();
        let now = self.now;
        let ring_timeout = self.cfg.rules.ring_timeout;
        let s = &mut self.slots[lead as usize];
        s.state = LeadState::Dialing;
        s.generation = s.generation.wrapping_add(1);
        s.attempts += 1;
        s.last_attempt = Some(now);
        s.dialed_at = now;
        let preferred_agent = s
            .preferred
            .as_ref()
            .filter(|p| p.1 > now)
            .map(|p| p.0.clone());
        let number = s.lead.number;
        self.stats.dials += 1;
        self.stats.in_flight += 1;
        Dial {
            lead,
            number,
            ring_timeout,
            preferred_agent,
        }
    }

    /// The next due lead that passes compliance (refused ones are recorded and moved on).
    fn next_admitted(&mut self) -> Option<u32> {
        let now = self.now;
        loop {
            let slots = &self.slots;
            let (lead, generation) = self
                .schedule
                .pop_due(now, |l| slots[l as usize].lead.priority)?;
            let s = &self.slots[lead as usize];
            if s.generation != generation || s.state == LeadState::Done {
                continue;
            }
            if self.admit(lead).is_ok() {
                return Some(lead);
            }
        }
    }

    /// How many dials this tick may place.
    fn wanted(&mut self, agents: Agents, dials_wanted: Option<u32>) -> u32 {
        let share_cap = (self.cfg.outbound_share * f64::from(agents.staffed)).floor() as u32;
        let ready = agents.ready.min(share_cap.saturating_sub(self.with_agents));
        let in_flight = self.stats.in_flight;
        let progressive = ready.saturating_sub(in_flight);
        self.stats.capped = self.window.capped(self.now);
        let want = match self.cfg.mode {
            Mode::ClickToDial | Mode::Preview => 0,
            Mode::Progressive => progressive,
            Mode::Power => {
                ((self.cfg.ratio * f64::from(ready)).floor() as u32).saturating_sub(in_flight)
            }
            Mode::Predictive if share_cap <= self.with_agents => 0,
            Mode::Predictive => dials_wanted.unwrap_or(progressive),
            // Only ringing calls are in flight here: an answered one is done for the campaign
            // while its message still plays, so the host, which holds those lines, may cap it.
            Mode::VoiceBroadcast => {
                let free = self.cfg.lines.saturating_sub(in_flight);
                return dials_wanted.map_or(free, |w| w.min(free));
            }
        };
        if self.stats.capped {
            want.min(progressive)
        } else {
            want
        }
    }

    /// The dials to place now. `dials_wanted` is the pacing model's answer in predictive mode
    /// (None: one per ready agent) and in voice broadcast the host's free lines, a cap on
    /// `lines` less the ringing calls; other modes ignore it. Nothing is dialed unless the
    /// campaign runs, and no agent-handled mode dials without agents.
    pub fn tick(
        &mut self,
        now: f64,
        agents: Agents,
        dials_wanted: Option<u32>,
    ) -> Result<Vec<Dial>> {
        self.clock(now)?;
        if agents.ready > agents.staffed {
            return Err(Error::invalid(format!(
                "ready agents ({}) cannot exceed staffed agents ({})",
                agents.ready, agents.staffed
            )));
        }
        if let Some((t, staffed)) = self.last_tick {
            self.stats.agent_time += f64::from(staffed) * (now - t);
        }
        self.last_tick = Some((now, agents.staffed));
        if self.run != Run::Running {
            return Ok(Vec::new());
        }
        let want = self.wanted(agents, dials_wanted);
        let mut dials = Vec::new();
        while dials.len() < want as usize {
            let Some(lead) = self.next_admitted() else {
                break;
            };
            dials.push(self.place(lead));
        }
        Ok(dials)
    }

    /// Preview mode: the next lead for an agent to look at, reserved until `dial` or `release`.
    pub fn preview(&mut self, now: f64) -> Result<Option<u32>> {
        self.clock(now)?;
        if self.run != Run::Running {
            return Ok(None);
        }
        let lead = self.next_admitted();
        if let Some(l) = lead {
            self.touch();
            let s = &mut self.slots[l as usize];
            s.state = LeadState::Previewing;
            s.generation = s.generation.wrapping_add(1);
        }
        Ok(lead)
    }

    /// Returns a previewed lead to the queue, due now.
    pub fn release(&mut self, lead: u32, now: f64) -> Result<()> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Previewing], "be released")?;
        let state = if self.slot(lead)?.attempts == 0 {
            LeadState::New
        } else {
            LeadState::RetryScheduled
        };
        self.schedule(lead, now, state);
        Ok(())
    }

    /// An agent dials this lead (click-to-dial, or a previewed one). Compliance applies: a
    /// refusal is a `State` error naming the rule, also recorded on the lead.
    pub fn dial(&mut self, lead: u32, now: f64) -> Result<Dial> {
        self.clock(now)?;
        self.expect(
            lead,
            &[
                LeadState::New,
                LeadState::Previewing,
                LeadState::RetryScheduled,
                LeadState::Callback,
            ],
            "be dialed",
        )?;
        if self.run != Run::Running {
            return Err(Error::state(format!(
                "campaign {:?} is {}",
                self.id,
                self.run_state()
            )));
        }
        if let Err(why) = self.admit(lead) {
            return Err(Error::state(format!(
                "lead {lead} refused: {}",
                why.as_str()
            )));
        }
        Ok(self.place(lead))
    }

    /// A lead added to the running campaign (an agent dialing a number not in the list): it
    /// is `new` but not in line, so only `dial` places its first attempt; from then on it is a
    /// lead like any other (its outcome retried per `retry`, the rules applied). Its index.
    pub fn add_lead(&mut self, lead: Lead) -> Result<u32> {
        let i = u32::try_from(self.slots.len())
            .map_err(|_| Error::invalid("a campaign holds at most 2^32 leads"))?;
        self.slots.push(Slot {
            added: true,
            ..Slot::new(lead)
        });
        self.stats.leads_left += 1;
        self.touch();
        Ok(i)
    }

    /// A lead whose attempts are used up ends now, not at a retry it could never make: its
    /// state and `leads_left` say so at once, as the refusal the retry would have met.
    fn retry_or_finish(&mut self, lead: u32, outcome: Outcome) {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        if self.slots[lead as usize].attempts >= self.cfg.rules.max_attempts {
            let why = Refusal::MaxAttempts;
            let r = Refusal::ALL.iter().position(|r| *r == why).unwrap_or(0);
            self.stats.refused[r] += 1;
            self.slots[lead as usize].refusal = Some(why);
            self.finish(lead);
            return;
        }
        match self.cfg.retry[i] {
            Some(delay) => {
                let at = self.now + delay;
                self.schedule(lead, at, LeadState::RetryScheduled)
            }
            None => self.finish(lead),
        }
    }

    /// How a dial ended. A person answering gives the host a `Connect` (or a `PlayMessage` in
    /// voice broadcast); other outcomes schedule a retry per outcome or end the lead.
    pub fn dial_result(&mut self, lead: u32, outcome: Outcome, now: f64) -> Result<Vec<Action>> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Dialing], "take a dial result")?;
        let ring = now - self.slot(lead)?.dialed_at;
        if outcome == Outcome::NoAnswer && ring < self.cfg.rules.ring_timeout {
            return Err(Error::invalid(format!(
                "lead {lead}: no-answer after {ring} s of ringing; the campaign rings {} s",
                self.cfg.rules.ring_timeout
            )));
        }
        if outcome == Outcome::Abandoned {
            return Err(Error::invalid(
                "report an answered call no agent took with abandon(), not as a dial result",
            ));
        }
        self.stats.in_flight -= 1;
        self.touch();
        self.slot_mut(lead)?.outcome = Some(outcome);
        let mut actions = Vec::new();
        match outcome {
            Outcome::Human => {
                self.stats.connects += 1;
                let s = &mut self.slots[lead as usize];
                s.state = LeadState::Answered;
                s.answered_at = now;
                if self.cfg.mode == Mode::VoiceBroadcast {
                    actions.push(Action::PlayMessage { lead });
                    self.finish(lead);
                } else {
                    self.window.live_answer(now);
                    let preferred = s.preferred.clone().filter(|p| p.1 > now);
                    actions.push(Action::Connect { lead, preferred });
                }
            }
            Outcome::Machine => {
                self.stats.machines += 1;
                self.window.machine(now);
                self.retry_or_finish(lead, outcome);
            }
            Outcome::NoAnswer | Outcome::Busy | Outcome::Failed | Outcome::Abandoned => {
                match outcome {
                    Outcome::NoAnswer => self.stats.no_answers += 1,
                    Outcome::Busy => self.stats.busy += 1,
                    _ => self.stats.failed += 1,
                }
                self.retry_or_finish(lead, outcome);
            }
        }
        Ok(actions)
    }

    /// No agent took an answered call: it counts against the cap, the person hears the
    /// information message (within 2 s of answer) and the lead is retried as an abandon.
    pub fn abandon(&mut self, lead: u32, now: f64) -> Result<Action> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Answered], "be abandoned")?;
        if self.slot(lead)?.talking_since.is_some() {
            return Err(Error::state(format!(
                "lead {lead} is with an agent: cannot be abandoned"
            )));
        }
        self.stats.abandoned += 1;
        self.window.abandon(now);
        let answered = self.slot(lead)?.answered_at;
        self.slot_mut(lead)?.outcome = Some(Outcome::Abandoned);
        self.retry_or_finish(lead, Outcome::Abandoned);
        Ok(Action::PlayInfoMessage {
            lead,
            deadline: answered + INFO_MESSAGE_DEADLINE,
        })
    }

    /// An agent took the answered call.
    pub fn connect(&mut self, lead: u32, now: f64) -> Result<()> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Answered], "be connected")?;
        let s = self.slot_mut(lead)?;
        if s.talking_since.is_some() {
            return Err(Error::state(format!(
                "lead {lead} is already with an agent"
            )));
        }
        s.talking_since = Some(now);
        self.with_agents += 1;
        self.touch();
        Ok(())
    }

    /// The live call ended (the agent's disposition may follow).
    pub fn hangup(&mut self, lead: u32, now: f64) -> Result<()> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Answered], "hang up")?;
        let Some(since) = self.slot_mut(lead)?.talking_since.take() else {
            return Err(Error::state(format!("lead {lead} is not with an agent")));
        };
        self.stats.talk_time += now - since;
        self.with_agents -= 1;
        self.touch();
        Ok(())
    }

    /// The agent's verdict on an answered lead: done, or call back at a set time (a call still
    /// in progress is hung up first).
    pub fn disposition(&mut self, lead: u32, d: Disposition, now: f64) -> Result<()> {
        self.clock(now)?;
        self.expect(lead, &[LeadState::Answered], "take a disposition")?;
        if let Disposition::Callback { at, .. } = &d {
            let at = check_seconds("callback time", *at)?;
            if at < now {
                return Err(Error::invalid(format!(
                    "callback time {at} is before now={now}"
                )));
            }
        }
        if self.slot(lead)?.talking_since.is_some() {
            self.hangup(lead, now)?;
        }
        match d {
            Disposition::Final => self.finish(lead),
            Disposition::Callback { at, agent } => {
                let window = self.cfg.callback_window;
                let s = &mut self.slots[lead as usize];
                s.preferred = agent.map(|a| (a, at + window));
                // An appointment is kept even when the attempts are used up.
                s.attempts = s
                    .attempts
                    .min(self.cfg.rules.max_attempts.saturating_sub(1));
                self.schedule(lead, at, LeadState::Callback);
            }
        }
        Ok(())
    }

    /// After a restart from a snapshot: closes each lead whose call died with the process,
    /// as its host would have once the call ended, and returns them with the state each was
    /// in. A dial ringing is a failed attempt (counted, retried per the failed delay); an
    /// answered call no agent had yet is an abandon (against the cap: the person heard
    /// nobody); a talk with an agent ends with a final disposition, as every talk in the
    /// dialer does; a previewed lead goes back in line. One pass over the leads, once.
    pub fn interrupted(&mut self, now: f64) -> Result<Vec<(u32, LeadState)>> {
        self.clock(now)?;
        let cut: Vec<(u32, LeadState)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(
                    s.state,
                    LeadState::Dialing | LeadState::Previewing | LeadState::Answered
                )
            })
            .map(|(i, s)| (i as u32, s.state))
            .collect();
        for &(lead, state) in &cut {
            match state {
                LeadState::Dialing => {
                    self.dial_result(lead, Outcome::Failed, now)?;
                }
                LeadState::Previewing => self.release(lead, now)?,
                _ if self.slots[lead as usize].talking_since.is_some() => {
                    self.disposition(lead, Disposition::Final, now)?
                }
                _ => {
                    self.abandon(lead, now)?;
                }
            }
        }
        Ok(cut)
    }

    pub fn lead(&self, lead: u32) -> Result<LeadView> {
        let s = self.slot(lead)?;
        Ok(LeadView {
            number: s.lead.number,
            zone: s.lead.zone.name(),
            priority: s.lead.priority,
            state: s.state,
            attempts: s.attempts,
            last_attempt: s.last_attempt,
            outcome: s.outcome,
            refusal: s.refusal,
            preferred_agent: s.preferred.clone(),
        })
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn stats(&mut self) -> Stats {
        let mut st = self.stats;
        let per_dial = |n: u64| (st.dials > 0).then(|| n as f64 / st.dials as f64);
        st.answer_rate = per_dial(st.connects);
        st.machine_rate = per_dial(st.machines);
        st.abandon_rate = self.window.rate(self.now);
        st.capped = self.window.capped(self.now);
        st.occupancy = (st.agent_time > 0.0).then(|| st.talk_time / st.agent_time);
        st
    }
}

/// One lead as the campaign sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadView {
    pub number: u64,
    pub zone: &'static str,
    pub priority: i64,
    pub state: LeadState,
    pub attempts: u32,
    pub last_attempt: Option<f64>,
    pub outcome: Option<Outcome>,
    /// The last rule that refused a dial of this lead.
    pub refusal: Option<Refusal>,
    pub preferred_agent: Option<(Id, f64)>,
}
