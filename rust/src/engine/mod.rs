//! The routing engine. Events in, decisions out: every operation takes `now`, first runs the
//! timers due by then (wrap-ups ending, offers timing out, escalation steps, hold expiries) in
//! time order, applies itself, and leaves the resulting events in a buffer the host drains.
//! Nothing polls and nothing reads a clock, so live traffic, replay and simulation are the
//! same code and equally deterministic.

mod agent;
mod avail;
mod call;
mod call_index;
mod dispatch;
mod events;
mod queries;
mod queue;
mod timers;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::num::NonZeroU64;

use crate::error::{Error, Result, clip};
use crate::model::{Action, Event, Id, OnLimit, QueueConfig, Unoffer};
use crate::ranked::Treaps;
use crate::rng::Rng;
use crate::skills::{Requirements, SkillNames, check_name};
use crate::time::{Time, check_seconds};
use agent::{Agent, Membership, Status};
use call::{Agents, Call, CallState, Hold, Rare};
use queue::{Queue, WaitKey};

pub use events::{EventNames, RawEvent, RawEvents};
pub use queries::{AgentInfo, CallInfo, QueueStats};
pub use queue::QueueCounters;

/// When a timer fires, and the order it was set in (ties fire in that order). Non-zero so an
/// `Option<TimerKey>` costs no more than the key.
pub(crate) type TimerKey = (Time, NonZeroU64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Timer {
    WrapEnd(u32),
    RestEnd(u32),
    Deadline(u32),
    OfferTimeout(u32),
}

/// A live call as `enqueue_keyed` returns it: its slot and its arrival number, which no other
/// call ever gets, so a key outliving its call (or a slot reused) is refused, never confused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallKey {
    slot: u32,
    seq: u64,
}

impl CallKey {
    /// The call's slot: the `call` its raw events carry (`drain_raw_events_into`).
    pub fn slot(self) -> u32 {
        self.slot
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Seed of the generator behind the random strategies.
    pub seed: u64,
    /// Connect calls at once instead of offering them (replay and simulation).
    pub auto_accept: bool,
}

/// A call entering a queue.
#[derive(Debug, Clone, Default)]
pub struct NewCall<'a> {
    pub id: &'a str,
    pub queue: &'a str,
    /// Higher is served first.
    pub priority: i64,
    /// Required skills with minimum levels 1..=100.
    pub skills: &'a [(&'a str, i64)],
    /// Wait up to `.1` seconds for this agent only, then for anyone (sticky / VIP routing).
    pub preferred: Option<(&'a str, f64)>,
    /// The queue's `max_wait` never times the call out (a held callback); see
    /// `exempt_max_wait`.
    pub max_wait_exempt: bool,
    /// Enters parked (`park`): in line, never offered until `unpark`. A call that must not
    /// ring an agent the moment it enters (a callback retry dialling its customer first).
    pub parked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engine {
    now: f64,
    /// Time of what is being processed now (a timer's own time while it fires).
    t: f64,
    auto_accept: bool,
    rng: Rng,
    skills: SkillNames,
    reqs: Requirements,
    queues: Vec<Queue>,
    queue_ids: FxHashMap<Id, u32>,
    /// The queue the last call entered: a host sending call after call to one queue (the
    /// simulator) pays a string compare instead of a hash lookup. Queues are never removed,
    /// so an entry never goes stale. Only the number: the queue's own id is compared, so a
    /// change of queue costs no reference count written and dropped.
    #[serde(skip)]
    last_queue: Option<u32>,
    agents: Vec<Agent>,
    agent_ids: FxHashMap<Id, u32>,
    calls: Vec<Option<Call>>,
    /// Free slots, and slots of calls ended since the last drain (`events.rs`).
    free_calls: events::FreeSlots,
    /// By slot: the id of a call ended since the last drain, for its events.
    #[serde(skip)]
    freed_ids: Vec<Option<Id>>,
    /// Nodes of every queue's and class's set of waiting calls.
    waits: Treaps<WaitKey>,
    /// Rebuilt from `calls` on restore.
    #[serde(skip)]
    call_ids: call_index::CallIndex,
    /// Calls waiting for one named agent (which may not even be logged in yet).
    held: FxHashMap<Id, BTreeSet<WaitKey>>,
    timers: timers::Timers,
    timer_seq: u64,
    call_seq: u64,
    login_seq: u64,
    /// Pending events, by numbers (`events.rs`).
    #[serde(skip)]
    raw: RawEvents,
    /// Public events a host gave back (`unread_events`): they come first in the next drain.
    #[serde(skip)]
    unread: Vec<Event>,
    /// Whether the queues' wrap-up indexes (`Queue::wrapping`) are kept: from the first
    /// `agent_free_in` on. Hosts that never ask (simulation, replay) do not pay for them:
    /// measured, keeping them costs a routing day +12% instructions. Not in the snapshot: a
    /// restored engine builds them again when first asked.
    #[serde(skip)]
    track_wraps: bool,
}

const SNAPSHOT_MAGIC: &str = "acdcore-snapshot";
const SNAPSHOT_VERSION: u32 = 4;

impl Engine {
    pub fn new(options: Options) -> Self {
        Engine {
            now: 0.0,
            t: 0.0,
            auto_accept: options.auto_accept,
            rng: Rng::new(options.seed),
            skills: SkillNames::default(),
            reqs: Requirements::default(),
            queues: Vec::new(),
            queue_ids: FxHashMap::default(),
            last_queue: None,
            agents: Vec::new(),
            agent_ids: FxHashMap::default(),
            calls: Vec::new(),
            free_calls: events::FreeSlots::default(),
            freed_ids: Vec::new(),
            waits: Treaps::default(),
            call_ids: call_index::CallIndex::default(),
            held: FxHashMap::default(),
            timers: timers::Timers::default(),
            timer_seq: 0,
            call_seq: 0,
            login_seq: 0,
            raw: RawEvents::default(),
            unread: Vec::new(),
            track_wraps: false,
        }
    }

    /// The engine's clock: the latest `now` it was given.
    pub fn now(&self) -> f64 {
        self.now
    }

    pub fn auto_accept(&self) -> bool {
        self.auto_accept
    }

    /// Takes the events produced since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.publish_into(&mut out);
        out
    }

    /// Appends the pending events to `out` (reuses the caller's buffer in hot loops); hosts
    /// that need no ids read `drain_raw_events_into` instead.
    pub fn drain_events_into(&mut self, out: &mut Vec<Event>) {
        self.publish_into(out);
    }

    /// Puts events the host has not consumed back in front of the pending ones (a batch that
    /// stopped at a bad item keeps the events of the items it did apply).
    pub fn unread_events(&mut self, mut events: Vec<Event>) {
        events.append(&mut self.unread);
        self.unread = events;
    }

    /// When the engine's next timer fires (a wrap-up ending, an offer timing out...), if any:
    /// a discrete-event host advances to it so what the timer causes happens at its own time.
    pub fn next_timer_at(&self) -> Option<f64> {
        self.timers.next_at()
    }

    pub(crate) fn add_timer(&mut self, at: f64, timer: Timer) -> TimerKey {
        self.timer_seq += 1;
        let key = (
            Time(at),
            NonZeroU64::new(self.timer_seq).expect("counts up from 1"),
        );
        self.timers.insert(key, timer);
        key
    }

    /// Moves the clock to `now`, running every timer due by then, in order of time and then of
    /// the order the timers were set (so wrap-ups ending together finish in the order they
    /// started).
    pub fn advance(&mut self, now: f64) -> Result<()> {
        let now = check_seconds("now", now)?;
        if now < self.now {
            return Err(Error::invalid(format!(
                "now={now} is before the engine's clock {}: time never goes back",
                self.now
            )));
        }
        self.run_timers(Time(now));
        self.now = now;
        self.t = now;
        Ok(())
    }

    /// Runs every pending timer, however far ahead (the end of a replay or simulation: wrap-ups
    /// still running finish, and may take waiting calls). The clock ends at the last one.
    pub fn finish(&mut self) {
        self.run_timers(Time(f64::MAX));
        self.now = self.now.max(self.t);
        self.t = self.now;
    }

    /// Runs what the operation itself made due at `now` (an escalation step at 0 s, a max
    /// wait of 0), so its events come back with the operation, not with the next one.
    fn settle(&mut self) {
        self.run_timers(Time(self.now));
        self.t = self.now;
    }

    fn run_timers(&mut self, until: Time) {
        while let Some(((at, _), timer)) = self.timers.pop_due(until) {
            self.t = at.0;
            match timer {
                Timer::WrapEnd(a) => {
                    self.unindex_wrap(a);
                    self.agents[a as usize].wrap_until = None;
                    self.become_available(a);
                }
                Timer::RestEnd(a) => {
                    self.modify_agent(a, |ag| ag.rest = None);
                    self.agent_ready(a);
                }
                Timer::Deadline(c) => self.on_deadline(c),
                Timer::OfferTimeout(c) => self.on_offer_timeout(c),
            }
        }
    }

    fn queue_index(&self, id: &str) -> Result<u32> {
        self.queue_ids
            .get(id)
            .copied()
            .ok_or_else(|| Error::unknown("queue", id))
    }

    fn agent_index(&self, id: &str) -> Result<u32> {
        self.agent_ids
            .get(id)
            .copied()
            .ok_or_else(|| Error::unknown("agent", id))
    }

    fn call_index(&self, id: &str) -> Result<u32> {
        self.call_ids
            .get(id, &self.calls)
            .ok_or_else(|| Error::unknown("call", id))
    }

    /// The call's slot once the timers due by `now` have run: they may have ended it (its max
    /// wait, a fallback), and then it is unknown. An unknown id moves no clock.
    fn call_at(&mut self, now: f64, id: &str) -> Result<u32> {
        self.call_index(id)?;
        self.advance(now)?;
        self.call_index(id)
    }

    fn logged_in(&self, id: &str) -> Result<u32> {
        let a = self.agent_index(id)?;
        if self.agents[a as usize].status == Status::LoggedOut {
            return Err(Error::state(format!(
                "agent {:?} is not logged in",
                clip(id)
            )));
        }
        Ok(a)
    }

    /// Defines a queue. Queues named by `on_limit` and escalation steps must exist already.
    pub fn add_queue(&mut self, id: &str, cfg: QueueConfig) -> Result<()> {
        check_name("queue id", id)?;
        if self.queue_ids.contains_key(id) {
            return Err(Error::invalid(format!(
                "queue {:?} is already defined",
                clip(id)
            )));
        }
        check_seconds("wrapup", cfg.wrapup)?;
        check_seconds("weight", cfg.weight)?;
        check_seconds("sl", cfg.sl)?;
        check_seconds("ring_timeout", cfg.ring_timeout)?;
        check_seconds("retry", cfg.retry)?;
        check_seconds("aging", cfg.aging)?;
        if let Some(w) = cfg.max_wait {
            check_seconds("max_wait", w)?;
        }
        let overflow_to = match &cfg.on_limit {
            OnLimit::End => None,
            OnLimit::Overflow(q) => Some(self.queue_index(q)?),
        };
        let mut step_queues = Vec::with_capacity(cfg.escalation.len());
        let mut last = 0.0;
        for (i, step) in cfg.escalation.iter().enumerate() {
            let after = check_seconds(&format!("escalation step {i} after"), step.after)?;
            if after < last {
                return Err(Error::invalid(format!(
                    "escalation step {i}: after={after} comes before the previous step ({last})"
                )));
            }
            last = after;
            step_queues.push(match &step.action {
                Action::AddQueues(qs) => qs
                    .iter()
                    .map(|q| self.queue_index(q))
                    .collect::<Result<Vec<_>>>()?,
                Action::Fallback(target) => {
                    check_name("fallback target", target)?;
                    Vec::new()
                }
                _ => Vec::new(),
            });
        }
        let id: Id = id.into();
        self.queue_ids.insert(id.clone(), self.queues.len() as u32);
        self.queues
            .push(Queue::new(id, cfg, overflow_to, step_queues));
        Ok(())
    }

    /// Logs an agent in, available at `now`. `queues` pairs each queue with the agent's
    /// weight in it (for weighted-random; 1 elsewhere). Logging in again while a logout is
    /// pending cancels the logout: the new skills and queues apply, and the login sequence
    /// and counters are kept.
    pub fn login(
        &mut self,
        now: f64,
        id: &str,
        skills: &[(&str, i64)],
        queues: &[(&str, u32)],
        limit: u32,
    ) -> Result<()> {
        check_name("agent id", id)?;
        if limit == 0 {
            return Err(Error::invalid(
                "limit of concurrent interactions must be >= 1",
            ));
        }
        let mut members = agent::Memberships::with_capacity(queues.len());
        for &(q, weight) in queues {
            let queue = self.queue_index(q)?;
            if members.iter().any(|m| m.queue == queue) {
                return Err(Error::invalid(format!("queue {:?} listed twice", clip(q))));
            }
            members.push(Membership {
                queue,
                weight,
                calls: 0,
                place: avail::Place::OUT,
            });
        }
        let existing = self.agent_ids.get(id).copied();
        if let Some(a) = existing {
            let ag = &self.agents[a as usize];
            if ag.status != Status::LoggedOut && !ag.pending_logout {
                return Err(Error::state(format!(
                    "agent {:?} is already logged in",
                    clip(id)
                )));
            }
            let held = ag.active.len() + ag.offers.len();
            if ag.pending_logout && (limit as usize) < held {
                return Err(Error::state(format!(
                    "agent {:?} holds {held} calls: limit {limit} is too low",
                    clip(id)
                )));
            }
        }
        let skills = self.skills.set("agent skills", skills.iter().copied())?;
        self.advance(now)?;
        let seq = self.login_seq + 1;
        match existing {
            Some(a) if self.agents[a as usize].pending_logout => {
                self.replace_agent(a, |ag| {
                    for m in &mut members {
                        if let Some(old) = ag.queues.iter().find(|o| o.queue == m.queue) {
                            m.calls = old.calls;
                        }
                    }
                    ag.pending_logout = false;
                    ag.skills = skills;
                    ag.queues = members;
                    ag.limit = limit;
                });
                self.agent_ready(a);
                self.settle();
                return Ok(());
            }
            Some(a) => {
                self.replace_agent(a, |ag| {
                    *ag = fresh_agent(ag.id.clone(), seq, now, skills, members, limit);
                });
            }
            None => {
                let id: Id = id.into();
                let a = self.agents.len() as u32;
                self.agents.push(fresh_agent(
                    id.clone(),
                    seq,
                    now,
                    skills,
                    agent::Memberships::new(),
                    limit,
                ));
                self.agent_ids.insert(id, a);
                self.replace_agent(a, |ag| ag.queues = members);
            }
        }
        self.login_seq = seq;
        let a = self.agent_ids[id];
        self.become_available(a);
        self.settle();
        Ok(())
    }

    /// At once when the agent holds no call (a wrap-up in progress is dropped, offers ringing
    /// are withdrawn); otherwise when its last call ends, with no wrap-up.
    pub fn logout(&mut self, now: f64, id: &str) -> Result<()> {
        self.logged_in(id)?;
        self.advance(now)?;
        let a = self.logged_in(id)?;
        // Offers ringing are withdrawn at once, whether or not a call holds the agent.
        let offers = self.agents[a as usize].offers.clone();
        for &c in &offers {
            self.unoffer(c, a, Some(Unoffer::Withdrawn), now);
        }
        if self.agents[a as usize].active.is_empty() {
            self.do_logout(a);
        } else {
            self.modify_agent(a, |ag| ag.pending_logout = true);
        }
        for c in offers {
            if self.call(c).agents.is_empty() {
                self.return_to_line(c, &[a]);
            }
        }
        self.settle();
        Ok(())
    }

    /// Pauses an available agent at once; during a call, an offer or a wrap-up the pause is
    /// pending and applies when the agent would become available. A paused agent stays paused.
    pub fn pause(&mut self, now: f64, id: &str, reason: &str) -> Result<()> {
        self.logged_in(id)?;
        if reason.len() > crate::skills::MAX_NAME_BYTES {
            return Err(Error::invalid(format!(
                "pause reason too long ({} bytes)",
                reason.len()
            )));
        }
        self.advance(now)?;
        let a = self.logged_in(id)?;
        let reason: Id = reason.into();
        self.modify_agent(a, |ag| match ag.status {
            Status::Ready if ag.active.is_empty() && ag.offers.is_empty() => {
                ag.status = Status::Paused;
                ag.pause_reason = Some(reason);
            }
            Status::Ready | Status::WrapUp => ag.pending_pause = Some(reason),
            Status::Paused | Status::LoggedOut => {}
        });
        self.settle();
        Ok(())
    }

    /// Makes a paused agent available at `now`, or cancels a pending pause; otherwise nothing.
    pub fn unpause(&mut self, now: f64, id: &str) -> Result<()> {
        self.logged_in(id)?;
        self.advance(now)?;
        let a = self.logged_in(id)?;
        match self.agents[a as usize].status {
            Status::Paused => self.become_available(a),
            _ => {
                self.modify_agent(a, |ag| ag.pending_pause = None);
                self.agent_ready(a);
            }
        }
        self.settle();
        Ok(())
    }

    /// A call arrives: it goes to an eligible agent picked by its queue's strategy, or waits.
    pub fn enqueue(&mut self, now: f64, call: &NewCall<'_>) -> Result<()> {
        self.enqueue_as(now, call, None).map(drop)
    }

    /// As `enqueue`, for hosts that drive calls by the million (the simulator): `id` is the
    /// call's id as a string the host shares (it must equal `call.id`), so the engine keeps a
    /// pointer instead of a copy, and the returned key hangs the call up (`hangup_key`) without
    /// looking its id up.
    pub fn enqueue_keyed(&mut self, now: f64, id: &Id, call: &NewCall<'_>) -> Result<CallKey> {
        if **id != *call.id {
            return Err(Error::invalid(format!(
                "shared id {:?} is not the call's id {:?}",
                clip(id),
                clip(call.id)
            )));
        }
        self.enqueue_as(now, call, Some(id))
    }

    fn enqueue_as(&mut self, now: f64, call: &NewCall<'_>, shared: Option<&Id>) -> Result<CallKey> {
        check_name("call id", call.id)?;
        let id_hash = call_index::hash(call.id);
        if self
            .call_ids
            .get_hashed(id_hash, call.id, &self.calls)
            .is_some()
        {
            return Err(Error::invalid(format!(
                "call {:?} is already in the engine",
                clip(call.id)
            )));
        }
        let q = match self.last_queue {
            Some(q) if *self.queues[q as usize].id == *call.queue => q,
            _ => {
                let q = self.queue_index(call.queue)?;
                self.last_queue = Some(q);
                q
            }
        };
        if call.priority.unsigned_abs() > 1_000_000_000 {
            return Err(Error::invalid(format!(
                "priority must be within +-1e9, got {}",
                call.priority
            )));
        }
        // Most calls require no skill: no set to build and nothing to look up.
        let skills = if call.skills.is_empty() {
            None
        } else {
            Some(
                self.skills
                    .set("call skills", call.skills.iter().copied())?,
            )
        };
        let preferred = match call.preferred {
            Some((agent, wait)) => {
                check_name("preferred agent", agent)?;
                Some((Id::from(agent), check_seconds("preferred wait", wait)?))
            }
            None => None,
        };
        self.advance(now)?;
        self.call_seq += 1;
        let id: Id = shared.map_or_else(|| call.id.into(), Id::clone);
        let (state, rare) = match preferred {
            Some((agent, wait)) if wait > 0.0 => (
                CallState::Held,
                Some(Box::new(Rare {
                    overflow: Box::default(),
                    hold: Some(Hold {
                        agent,
                        until: now + wait,
                    }),
                    max_wait_exempt: call.max_wait_exempt,
                    parked: call.parked,
                })),
            ),
            _ if call.max_wait_exempt || call.parked => (
                CallState::Waiting,
                Some(Box::new(Rare {
                    max_wait_exempt: call.max_wait_exempt,
                    parked: call.parked,
                    ..Rare::default()
                })),
            ),
            _ => (CallState::Waiting, None),
        };
        let record = Call {
            id: id.clone(),
            home: q,
            priority: call.priority as f64,
            // Interned only if the call waits or rings (`place`).
            req: Requirements::NONE,
            arrival: now,
            since: now,
            seq: self.call_seq,
            state,
            id_hash,
            rare,
            agents: Agents::new(),
            served_by: q,
            step: 0,
            timer: None,
        };
        let c = match self.free_calls.free.pop() {
            Some(c) => {
                self.calls[c as usize] = Some(record);
                c
            }
            None => {
                self.calls.push(Some(record));
                (self.calls.len() - 1) as u32
            }
        };
        self.call_ids.insert_hashed(id_hash, c, &self.calls);
        let key = CallKey {
            slot: c,
            seq: self.call_seq,
        };
        self.place(c, q, skills);
        self.settle();
        Ok(key)
    }

    /// From `now` on, the call's queue `max_wait` no longer applies to it: its pending max-wait
    /// deadline is dropped and it is never timed out or overflowed for waiting too long, in
    /// this queue or any it moves to. For a held callback, whose caller hung up and keeps a
    /// place in line; the host ends it when the callback is no longer owed. Escalation steps
    /// and a sticky hold still apply: they are the queue's routing policy, not a wait limit.
    /// A ringing call is exempt when it goes back to the line; a connected one is refused.
    pub fn exempt_max_wait(&mut self, now: f64, id: &str) -> Result<()> {
        let c = self.call_at(now, id)?;
        let call = self.call_mut(c);
        if call.state == CallState::Connected {
            return Err(Error::state(format!(
                "call {:?} is connected: no max wait applies to it",
                clip(id)
            )));
        }
        let was = call.max_wait_exempt();
        call.set_max_wait_exempt();
        if !was && call.is_waiting() {
            self.schedule_deadline(c);
        }
        self.settle();
        Ok(())
    }

    /// Keeps a waiting call in line without offering it to any agent until `unpark`: its place
    /// (`position`), escalation steps and max wait go on as before; agents freeing up pass it
    /// by for the calls behind it. For a held callback whose customer is dialled first: no
    /// agent waits for a phone that may not be answered. Parking a parked call does nothing;
    /// a ringing or connected call is refused.
    pub fn park(&mut self, now: f64, id: &str) -> Result<()> {
        let c = self.call_at(now, id)?;
        if !self.call(c).is_waiting() {
            return Err(Error::state(format!(
                "call {:?} is not waiting: only a call in line can be parked",
                clip(id)
            )));
        }
        self.set_parked(c, true);
        self.settle();
        Ok(())
    }

    /// Releases a parked call: from its same place in line it is offered to an eligible agent
    /// now if there is one, else to the next one free (before the calls behind it). Releasing
    /// a call that is not parked does nothing.
    pub fn unpark(&mut self, now: f64, id: &str) -> Result<()> {
        let c = self.call_at(now, id)?;
        if self.call(c).parked() {
            self.set_parked(c, false);
            self.call_ready(c, &[]);
        }
        self.settle();
        Ok(())
    }

    /// The caller hung up: a waiting (or ringing) call is abandoned, a connected one ends.
    pub fn hangup(&mut self, now: f64, id: &str) -> Result<()> {
        let c = self.call_index(id)?;
        self.advance(now)?;
        // Timers may have ended the call (a timeout, a fallback); slots are reused only by
        // `enqueue`, so a live slot here is still this call.
        if self.calls[c as usize].is_none() {
            return Err(Error::unknown("call", id));
        }
        self.hang_up(c, now);
        Ok(())
    }

    /// The host takes a waiting (or ringing) call back with nobody on the line: a previewed
    /// lead no agent took, a callback it cannot place. It leaves as an abandon would (its
    /// offers withdrawn, its agents ready again) but is no abandon and no longer counts as
    /// offered, so the queue's abandonment and service level speak only of callers; the
    /// host learns it by a `withdraw` event. A connected call is a `StateError`: hang it up.
    pub fn withdraw(&mut self, now: f64, id: &str) -> Result<()> {
        let c = self.call_index(id)?;
        self.advance(now)?;
        if self.calls[c as usize].is_none() {
            return Err(Error::unknown("call", id)); // a timer ended it
        }
        if self.call(c).state == CallState::Connected {
            return Err(Error::state(format!(
                "call {:?} is connected: hang it up instead of withdrawing it",
                clip(id)
            )));
        }
        self.leave_line(c, now, true);
        self.settle();
        Ok(())
    }

    /// `hangup` of the call `enqueue_keyed` returned this key for.
    pub fn hangup_key(&mut self, now: f64, key: CallKey) -> Result<()> {
        let live = |e: &Self| {
            e.calls
                .get(key.slot as usize)
                .and_then(Option::as_ref)
                .is_some_and(|call| call.seq == key.seq)
        };
        let unknown = || Error::unknown("call", &format!("#{}:{}", key.slot, key.seq));
        if !live(self) {
            return Err(unknown());
        }
        self.advance(now)?;
        if !live(self) {
            return Err(unknown());
        }
        self.hang_up(key.slot, now);
        Ok(())
    }

    fn hang_up(&mut self, c: u32, now: f64) {
        match self.call(c).state {
            CallState::Connected => self.end_call(c),
            CallState::Held | CallState::Waiting | CallState::Offered => {
                self.leave_line(c, now, false)
            }
        }
        self.settle();
    }

    /// A call not yet connected leaves: abandoned by its caller, or withdrawn by the host.
    fn leave_line(&mut self, c: u32, now: f64, withdrawn: bool) {
        let rung = self.call(c).agents.clone();
        for &a in &rung {
            self.unoffer(c, a, Some(Unoffer::Withdrawn), now);
        }
        if self.call(c).state != CallState::Offered {
            self.remove_waiting(c);
        }
        let call = self.call(c);
        let (queue, wait) = (call.home, now - call.arrival);
        self.free_call(c);
        let (t, call) = (now, c);
        self.emit(if withdrawn {
            RawEvent::Withdraw {
                t,
                call,
                queue,
                wait,
            }
        } else {
            RawEvent::Abandon {
                t,
                call,
                queue,
                wait,
            }
        });
        let counters = &mut self.queues[queue as usize].counters;
        counters.waiting = counters.waiting.saturating_sub(1);
        if withdrawn {
            counters.offered = counters.offered.saturating_sub(1);
        } else {
            counters.abandoned += 1;
        }
        for a in rung {
            self.agent_ready(a);
        }
    }

    fn offered_pair(&self, call: &str, agent: &str) -> Result<(u32, u32)> {
        let c = self.call_index(call)?;
        let a = self.agent_index(agent)?;
        let rec = self.call(c);
        if rec.state != CallState::Offered || !rec.agents.contains(&a) {
            return Err(Error::state(format!(
                "call {:?} is not being offered to agent {:?}",
                clip(call),
                clip(agent)
            )));
        }
        Ok((c, a))
    }

    /// The agent answers an offer (the first answer wins a ring-all).
    pub fn accept(&mut self, now: f64, call: &str, agent: &str) -> Result<()> {
        self.offered_pair(call, agent)?;
        self.advance(now)?;
        let (c, a) = self.offered_pair(call, agent)?;
        self.accept_offer(c, a);
        self.settle();
        Ok(())
    }

    /// The agent declines an offer. The call keeps its place in line and is offered to
    /// another eligible agent if there is one now; the agent rests for the queue's `retry`.
    pub fn reject(&mut self, now: f64, call: &str, agent: &str) -> Result<()> {
        self.offered_pair(call, agent)?;
        self.advance(now)?;
        let (c, a) = self.offered_pair(call, agent)?;
        self.unoffer(c, a, None, now);
        let retry = self.queues[self.call(c).served_by as usize].cfg.retry;
        self.rest_agent(a, retry);
        if self.call(c).agents.is_empty() {
            self.return_to_line(c, &[a]);
        }
        self.agent_ready(a);
        self.settle();
        Ok(())
    }

    /// The whole state (queues, agents, waiting calls in their places, timers, counters, the
    /// random generator) as msgpack bytes, tagged, versioned and checksummed.
    pub fn snapshot(&self) -> Vec<u8> {
        let body = rmp_serde::to_vec(self).expect("engine state always serializes");
        let sum = fnv1a(&body);
        let body = serde_bytes::Bytes::new(&body);
        rmp_serde::to_vec(&(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, sum, body))
            .expect("snapshot envelope always serializes")
    }

    /// Rebuilds an engine from `snapshot()` bytes; its future decisions are the same.
    /// Damaged bytes (a failed checksum, a broken reference) are an error, never a panic later.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let bad =
            |e: &dyn std::fmt::Display| Error::invalid(format!("not an acdcore snapshot: {e}"));
        let (magic, version, sum, body): (String, u32, u64, serde_bytes::ByteBuf) =
            rmp_serde::from_slice(bytes).map_err(|e| bad(&e))?;
        if magic != SNAPSHOT_MAGIC || version != SNAPSHOT_VERSION {
            return Err(Error::invalid(format!(
                "unsupported snapshot {magic:?} version {version} (expected {SNAPSHOT_MAGIC:?} {SNAPSHOT_VERSION})"
            )));
        }
        if fnv1a(&body) != sum {
            return Err(Error::invalid("snapshot is damaged: checksum mismatch"));
        }
        let mut engine: Engine = rmp_serde::from_slice(&body).map_err(|e| bad(&e))?;
        engine.call_ids = call_index::CallIndex::rebuild(&mut engine.calls);
        engine.check_consistent()?;
        engine.place_avail()?;
        Ok(engine)
    }
}

/// FNV-1a, 64-bit: detects accidental damage to a snapshot (not tampering).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn fresh_agent(
    id: Id,
    login_seq: u64,
    now: f64,
    skills: crate::skills::SkillSet,
    queues: agent::Memberships,
    limit: u32,
) -> Agent {
    Agent {
        id,
        login_seq,
        status: Status::LoggedOut,
        pause_reason: None,
        pending_pause: None,
        pending_logout: false,
        skills,
        queues,
        limit,
        active: agent::Calls::new(),
        offers: agent::Calls::new(),
        idle_since: now,
        login_time: now,
        talk_time: 0.0,
        calls: 0,
        no_answers: 0,
        state_time: [0.0; 6],
        state_since: now,
        wrap_until: None,
        rest: None,
        indexed: false,
    }
}
