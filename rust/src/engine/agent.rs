//! Agents at run time, and the one doorway through which their routing-relevant fields change
//! (`modify_agent`), which keeps the per-queue availability indexes and state counts exact.

use serde::{Deserialize, Serialize};

use super::Engine;
use super::avail::Place;
use super::queue::AvailKey;
use crate::model::{AgentState, Id, Strategy};
use crate::skills::SkillSet;
use crate::time::Time;

/// Call slots an agent holds; serialized as a sequence, like the `Vec` it replaced.
pub(crate) type Calls = smallvec::SmallVec<[u32; 4]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Status {
    LoggedOut,
    /// Logged in, not paused, not in wrap-up (may still hold calls up to its limit).
    Ready,
    Paused,
    WrapUp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Membership {
    pub queue: u32,
    /// Share for weighted-random.
    pub weight: u32,
    /// Calls taken from this queue since login (fewest-calls). 32 bits, so a membership is
    /// 16 bytes: one a second would take 136 years to wrap it.
    pub calls: u32,
    /// Where the agent sits in the queue's availability index (set again on restore).
    #[serde(skip)]
    pub place: Place,
}

/// An agent's queues: inline up to two (over half the agents of the routing day; 16 bytes
/// each), so the
/// memberships an agent's every change walks are in its own record, not one more heap block to
/// miss when a call ends minutes after it began. Serialized as a sequence, like the `Vec` it
/// replaced.
pub(crate) type Memberships = smallvec::SmallVec<[Membership; 2]>;

/// Field order is the layout (`repr(C)`), grouped by when routing reads the fields, and the
/// record starts on a cache line (`align(64)`): a call ending reads lines 0-3 (state, calls,
/// queues, timers, key fields, state clock), a candidate in a scan line 4 (skills), a host
/// naming the agent in an event line 1 (id), and only queries the rest. Unordered, the 360-byte record spread the fields of one change over
/// all six lines; the routing day misses an agent's record at nearly every hangup (10,000
/// agents, minutes between their calls), so each line it needs is a miss. Snapshots write a
/// struct's fields in declaration order (msgpack arrays), so they go through `AgentWire`, which
/// keeps the order of before: the snapshot format is unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "AgentWire", into = "AgentWire")]
#[repr(C, align(64))]
pub(crate) struct Agent {
    // Line 0: what `can_take`, `state` and every change read.
    pub status: Status,
    pub pending_logout: bool,
    /// Whether the agent currently sits in its queues' `avail` indexes.
    pub indexed: bool,
    /// Concurrent interactions allowed (1 for voice).
    pub limit: u32,
    pub no_answers: u32,
    /// Calls connected, and calls ringing: inline (the size of a `Vec`), so for the usual
    /// voice agent (limit 1) neither is a heap block of its own to allocate and to miss.
    pub active: Calls,
    pub offers: Calls,
    // Line 1: its queues, the start of its availability key, and the id a host reads for
    // every event naming the agent.
    pub queues: Memberships,
    pub idle_since: f64,
    pub id: Id,
    // Line 2: timers, pending pause, the rest of the key.
    pub wrap_until: Option<super::TimerKey>,
    /// Resting after a declined or missed offer (no calls until the timer fires).
    pub rest: Option<super::TimerKey>,
    pub pending_pause: Option<Id>,
    pub talk_time: f64,
    pub login_seq: u64,
    // Line 3: the state clock.
    /// When the agent entered the state it shows now.
    pub state_since: f64,
    /// Seconds spent in each shown state since login (`AgentState::ALL` order), up to
    /// `state_since`: occupancy and adherence come from these without the host timing anything.
    pub state_time: [f64; 6],
    pub calls: u64,
    // Line 4: the eligibility test (64 bytes, `SkillSet`).
    pub skills: SkillSet,
    // Line 5: what only the host's queries read.
    pub pause_reason: Option<Id>,
    pub login_time: f64,
}

/// An agent as snapshots hold it: the fields in the order `Agent` had before its layout
/// was arranged for routing.
#[derive(Serialize, Deserialize)]
struct AgentWire {
    id: Id,
    login_seq: u64,
    status: Status,
    pause_reason: Option<Id>,
    pending_pause: Option<Id>,
    pending_logout: bool,
    skills: SkillSet,
    queues: Memberships,
    limit: u32,
    active: Calls,
    offers: Calls,
    idle_since: f64,
    login_time: f64,
    talk_time: f64,
    calls: u64,
    no_answers: u32,
    state_time: [f64; 6],
    state_since: f64,
    wrap_until: Option<super::TimerKey>,
    rest: Option<super::TimerKey>,
    indexed: bool,
}

impl From<AgentWire> for Agent {
    fn from(w: AgentWire) -> Agent {
        Agent {
            status: w.status,
            pending_logout: w.pending_logout,
            indexed: w.indexed,
            limit: w.limit,
            no_answers: w.no_answers,
            active: w.active,
            offers: w.offers,
            queues: w.queues,
            idle_since: w.idle_since,
            wrap_until: w.wrap_until,
            rest: w.rest,
            pending_pause: w.pending_pause,
            talk_time: w.talk_time,
            login_seq: w.login_seq,
            state_since: w.state_since,
            state_time: w.state_time,
            calls: w.calls,
            skills: w.skills,
            id: w.id,
            pause_reason: w.pause_reason,
            login_time: w.login_time,
        }
    }
}

impl From<Agent> for AgentWire {
    fn from(a: Agent) -> AgentWire {
        AgentWire {
            id: a.id,
            login_seq: a.login_seq,
            status: a.status,
            pause_reason: a.pause_reason,
            pending_pause: a.pending_pause,
            pending_logout: a.pending_logout,
            skills: a.skills,
            queues: a.queues,
            limit: a.limit,
            active: a.active,
            offers: a.offers,
            idle_since: a.idle_since,
            login_time: a.login_time,
            talk_time: a.talk_time,
            calls: a.calls,
            no_answers: a.no_answers,
            state_time: a.state_time,
            state_since: a.state_since,
            wrap_until: a.wrap_until,
            rest: a.rest,
            indexed: a.indexed,
        }
    }
}

impl Agent {
    pub fn can_take(&self) -> bool {
        self.status == Status::Ready
            && self.rest.is_none()
            && self.pending_pause.is_none()
            && !self.pending_logout
            && self.active.len() + self.offers.len() < self.limit as usize
    }

    pub fn state(&self) -> AgentState {
        match self.status {
            Status::LoggedOut => AgentState::LoggedOut,
            Status::Paused => AgentState::Paused,
            Status::WrapUp => AgentState::WrapUp,
            Status::Ready if !self.active.is_empty() => AgentState::Busy,
            Status::Ready if !self.offers.is_empty() => AgentState::Reserved,
            Status::Ready => AgentState::Available,
        }
    }

    /// When the wrap-up in progress ends, if the agent will be free then (no pause or logout
    /// waiting for it): its key in its queues' `wrapping`.
    pub fn wrap_end(&self) -> Option<Time> {
        let free_after =
            self.status == Status::WrapUp && self.pending_pause.is_none() && !self.pending_logout;
        self.wrap_until.filter(|_| free_after).map(|(at, _)| at)
    }

    pub fn membership(&mut self, queue: u32) -> Option<&mut Membership> {
        self.queues.iter_mut().find(|m| m.queue == queue)
    }
}

/// An agent's key in a queue's availability index under that queue's strategy, from the
/// agent's idle-since time, talk time, login sequence and calls from the queue.
pub(crate) fn avail_key(
    ag: (f64, f64, u64),
    agent: u32,
    m: &Membership,
    strategy: Strategy,
) -> AvailKey {
    let (idle_since, talk_time, login_seq) = ag;
    let idle = Time(idle_since);
    let (a, b) = match strategy {
        Strategy::Linear | Strategy::RoundRobin => (Time(0.0), Time(0.0)),
        Strategy::FewestCalls => (Time(m.calls as f64), idle),
        Strategy::LeastTalkTime => (Time(talk_time), idle),
        Strategy::LongestIdle
        | Strategy::SkillsBest
        | Strategy::Random
        | Strategy::WeightedRandom
        | Strategy::RingAll => (idle, Time(0.0)),
    };
    AvailKey {
        a,
        b,
        seq: login_seq,
        agent,
    }
}

impl Agent {
    /// The fields `avail_key` reads.
    pub fn key_fields(&self) -> (f64, f64, u64) {
        (self.idle_since, self.talk_time, self.login_seq)
    }
}

impl Engine {
    /// Every change to an agent goes through here: it leaves the availability indexes, changes,
    /// and comes back, and the per-queue state counts follow its shown state, so no index ever
    /// holds a stale key and no count drifts.
    pub(crate) fn modify_agent<R>(&mut self, a: u32, f: impl FnOnce(&mut Agent) -> R) -> R {
        self.change_agent(a, true, false, f)
    }

    /// As `modify_agent`, but the agent stays out of the availability indexes until
    /// `index_agent`: an agent about to take a waiting call is never inserted just to be
    /// removed again.
    pub(crate) fn modify_agent_unindexed<R>(
        &mut self,
        a: u32,
        f: impl FnOnce(&mut Agent) -> R,
    ) -> R {
        self.change_agent(a, false, false, f)
    }

    /// As `modify_agent`, for changes to the agent's queues (a login): the counts leave the old
    /// queues and enter the new ones.
    pub(crate) fn replace_agent<R>(&mut self, a: u32, f: impl FnOnce(&mut Agent) -> R) -> R {
        self.change_agent(a, true, true, f)
    }

    fn change_agent<R>(
        &mut self,
        a: u32,
        index: bool,
        new_queues: bool,
        f: impl FnOnce(&mut Agent) -> R,
    ) -> R {
        let before = self.agents[a as usize].state();
        self.unindex_agent(a);
        // Out of the wrap-up index while it changes, as out of `avail` (once a host asked
        // for it: see `track_wrapups`; an agent not in wrap-up pays one compare then).
        self.unindex_wrap(a);
        if new_queues {
            self.count_agent(a, before, -1);
        }
        let r = f(&mut self.agents[a as usize]);
        self.index_wrap(a);
        let after = self.agents[a as usize].state();
        if before != after {
            self.clock_state(a, before);
        }
        if new_queues {
            self.count_agent(a, after, 1);
        } else if before != after {
            self.recount_agent(a, before, after);
        }
        if index {
            self.index_agent(a);
        }
        r
    }

    /// The agent leaves `before` now: its time in it is added up.
    fn clock_state(&mut self, a: u32, before: AgentState) {
        let ag = &mut self.agents[a as usize];
        ag.state_time[before.index()] += self.t - ag.state_since;
        ag.state_since = self.t;
    }

    fn count_agent(&mut self, a: u32, state: AgentState, delta: i32) {
        for m in &self.agents[a as usize].queues {
            self.queues[m.queue as usize].count_state(state, delta);
        }
    }

    /// One walk of the agent's queues: a member leaves one state's count for another's.
    fn recount_agent(&mut self, a: u32, before: AgentState, after: AgentState) {
        for m in &self.agents[a as usize].queues {
            let q = &mut self.queues[m.queue as usize];
            q.count_state(before, -1);
            q.count_state(after, 1);
        }
    }

    /// Takes the agent out of its queues' availability indexes: O(1) per queue for a line
    /// entry (marked dead), O(log n) for a side one.
    fn unindex_agent(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        if !agent.indexed {
            return;
        }
        agent.indexed = false;
        let fields = agent.key_fields();
        let mut compact: smallvec::SmallVec<[u32; 2]> = smallvec::SmallVec::new();
        for m in &mut agent.queues {
            let q = &mut self.queues[m.queue as usize];
            let place = std::mem::take(&mut m.place);
            if q.avail
                .remove(place, || avail_key(fields, a, m, q.strategy))
            {
                compact.push(m.queue);
            }
        }
        for q in compact {
            self.compact_avail(q);
        }
    }

    /// Rebuilds a queue's index without its dead entries, and tells every member its place.
    fn compact_avail(&mut self, q: u32) {
        let Engine { queues, agents, .. } = self;
        queues[q as usize].avail.compact(|agent, place| {
            if let Some(m) = agents[agent as usize].membership(q) {
                m.place = place;
            }
        });
    }

    /// After a restore, each entry of each queue's availability index tells its member where
    /// it sits. An entry for an agent that is not indexed or not a member, under another key
    /// than the agent's, or twice, or an indexed agent missing from one of its queues, is a
    /// damaged snapshot.
    pub(crate) fn place_avail(&mut self) -> crate::error::Result<()> {
        let bad =
            || crate::error::Error::invalid("corrupt snapshot: availability indexes".to_owned());
        let Engine { queues, agents, .. } = self;
        for (q, queue) in queues.iter().enumerate() {
            for (key, place) in queue.avail.places() {
                let ag = agents
                    .get_mut(key.agent as usize)
                    .filter(|ag| ag.indexed)
                    .ok_or_else(bad)?;
                let fields = ag.key_fields();
                let m = ag.membership(q as u32).ok_or_else(bad)?;
                if m.place != Place::OUT || avail_key(fields, key.agent, m, queue.strategy) != key {
                    return Err(bad());
                }
                m.place = place;
            }
        }
        if agents
            .iter()
            .any(|ag| ag.indexed && ag.queues.iter().any(|m| m.place == Place::OUT))
        {
            return Err(bad());
        }
        Ok(())
    }

    /// Takes the agent's wrap-up out of its queues' `wrapping` (before its end or its
    /// queues change). Nothing until a host asks `agent_free_in` (`track_wrapups`).
    #[inline]
    pub(crate) fn unindex_wrap(&mut self, a: u32) {
        if self.track_wraps {
            self.unindex_wrap_now(a);
        }
    }

    #[inline(never)]
    fn unindex_wrap_now(&mut self, a: u32) {
        let agent = &self.agents[a as usize];
        if let Some(at) = agent.wrap_end() {
            for m in &agent.queues {
                self.queues[m.queue as usize].wrapping.remove(&(at, a));
            }
        }
    }

    /// Puts an agent whose wrap-up will free it into its queues' `wrapping`.
    #[inline]
    pub(crate) fn index_wrap(&mut self, a: u32) {
        if self.track_wraps {
            self.index_wrap_now(a);
        }
    }

    #[inline(never)]
    fn index_wrap_now(&mut self, a: u32) {
        let agent = &self.agents[a as usize];
        if let Some(at) = agent.wrap_end() {
            for m in &agent.queues {
                self.queues[m.queue as usize].wrapping.insert((at, a));
            }
        }
    }

    /// Puts an agent that can take a call into its queues' availability indexes.
    pub(crate) fn index_agent(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        if agent.indexed || !agent.can_take() {
            return;
        }
        let fields = agent.key_fields();
        for m in &mut agent.queues {
            let q = &mut self.queues[m.queue as usize];
            m.place = q.avail.insert(avail_key(fields, a, m, q.strategy));
        }
        agent.indexed = true;
    }

    /// The agent has nothing holding it back any more (login, unpause, wrap-up over, call over
    /// with no wrap-up): it becomes available, or paused if a pause was asked for meanwhile,
    /// and takes waiting calls.
    pub(crate) fn become_available(&mut self, a: u32) {
        let t = self.t;
        self.modify_agent_unindexed(a, |ag| {
            // A pause waits until the agent holds no call at all (limit > 1), not even one
            // ringing: a paused agent that then answered would hold a call while paused, and
            // the end of that call would put it into wrap-up, losing the pause.
            if ag.active.is_empty()
                && ag.offers.is_empty()
                && let Some(reason) = ag.pending_pause.take()
            {
                ag.status = Status::Paused;
                ag.pause_reason = Some(reason);
            } else {
                ag.status = Status::Ready;
                ag.pause_reason = None;
                if ag.active.is_empty() {
                    ag.idle_since = t;
                }
            }
        });
        self.agent_ready(a);
        self.index_agent(a);
    }

    /// Keeps the agent from new calls for `secs` after a declined or missed offer.
    pub(crate) fn rest_agent(&mut self, a: u32, secs: f64) {
        if secs <= 0.0 || self.agents[a as usize].status != Status::Ready {
            return;
        }
        let key = self.add_timer(self.t + secs, super::Timer::RestEnd(a));
        if let Some(old) = self.modify_agent(a, |ag| ag.rest.replace(key)) {
            self.timers.cancel(old);
        }
    }

    pub(crate) fn do_logout(&mut self, a: u32) {
        self.unindex_wrap(a); // before its wrap-up key is taken below
        let agent = &mut self.agents[a as usize];
        for key in [agent.wrap_until.take(), agent.rest.take()]
            .into_iter()
            .flatten()
        {
            self.timers.cancel(key);
        }
        self.modify_agent(a, |ag| {
            ag.status = Status::LoggedOut;
            ag.pending_logout = false;
            ag.pending_pause = None;
            ag.pause_reason = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::Agent;
    use crate::engine::call::tests::engine;
    use crate::model::{AgentState, QueueConfig};
    use crate::{Engine, NewCall};

    /// Each queue's state counts are its members' shown states, recounted from the agents.
    fn assert_counts_exact(e: &Engine) {
        for (q, queue) in e.queues.iter().enumerate() {
            let mut want = [0u32; 6];
            for ag in &e.agents {
                if ag.queues.iter().any(|m| m.queue == q as u32) {
                    want[ag.state().index()] += 1;
                }
            }
            assert_eq!(queue.by_state, want, "queue {}", queue.id);
        }
    }

    /// A freed agent that takes a waiting call at once (after a wrap-up, or at the end of a
    /// call with none) is counted busy in each of its queues, never left available, and its
    /// clock adds no time available at that instant; once free it is counted available in both.
    #[test]
    fn a_freed_agent_taking_a_waiting_call_keeps_counts_and_clock_exact() {
        let mut e = engine(QueueConfig {
            wrapup: 5.0,
            ..QueueConfig::default()
        });
        let busy = AgentState::Busy.index();
        let avail = AgentState::Available.index();
        let wrap = AgentState::WrapUp.index();
        let call = |id, queue| NewCall {
            id,
            queue,
            ..NewCall::default()
        };
        e.login(0.0, "a", &[], &[("q", 1), ("r", 1)], 1).unwrap();
        e.enqueue(1.0, &call("c1", "q")).unwrap();
        e.enqueue(2.0, &call("c2", "q")).unwrap();
        e.hangup(10.0, "c1").unwrap();
        assert_counts_exact(&e);
        assert_eq!(e.queues[1].by_state[wrap], 1);
        // The wrap-up ends at 15 and c2 is taken at once.
        e.advance(15.0).unwrap();
        assert_counts_exact(&e);
        for q in 0..2 {
            assert_eq!(e.queues[q].by_state[busy], 1);
            assert_eq!(e.queues[q].by_state[avail], 0);
        }
        let a = &e.agents[0];
        assert_eq!(a.state_since, 15.0);
        assert_eq!(a.state_time[wrap], 5.0);
        assert_eq!(a.state_time[busy], 9.0);
        assert_eq!(a.state_time[avail], 1.0);
        // A call of "r" (no wrap-up) waits; c2 ends at 20, wrap-up to 25, then c3.
        e.enqueue(16.0, &call("c3", "r")).unwrap();
        e.enqueue(17.0, &call("c4", "r")).unwrap();
        e.hangup(20.0, "c2").unwrap();
        e.advance(25.0).unwrap();
        assert_counts_exact(&e);
        // c3 ends at 30 with no wrap-up: busy -> busy with c4, the clock restarted at 30.
        e.hangup(30.0, "c3").unwrap();
        assert_counts_exact(&e);
        let a = &e.agents[0];
        assert_eq!(a.state(), AgentState::Busy);
        assert_eq!(a.state_since, 30.0);
        assert_eq!(a.state_time[busy], 9.0 + 5.0 + 5.0);
        assert_eq!(a.state_time[wrap], 10.0);
        assert_eq!(a.state_time[avail], 1.0);
        assert_eq!(e.queues[0].by_state[busy], 1);
        // Free at last: available in both queues.
        e.hangup(31.0, "c4").unwrap();
        assert_counts_exact(&e);
        assert_eq!(e.queues[0].by_state[avail], 1);
        assert_eq!(e.queues[1].by_state[avail], 1);
    }

    /// The groups of the layout stay within their cache lines: a field added or grown that
    /// pushes one over fails here rather than quietly costing a miss per hangup.
    #[test]
    fn routing_fields_sit_in_their_cache_lines() {
        let line = |off: usize| off / 64;
        assert_eq!(align_of::<Agent>(), 64);
        assert_eq!(size_of::<Agent>(), 6 * 64);
        let last = |off: usize, size: usize| line(off + size - 1);
        assert_eq!(last(offset_of!(Agent, offers), 24), 0);
        assert_eq!(line(offset_of!(Agent, queues)), 1);
        assert_eq!(last(offset_of!(Agent, id), 16), 1);
        assert_eq!(line(offset_of!(Agent, wrap_until)), 2);
        assert_eq!(last(offset_of!(Agent, login_seq), 8), 2);
        assert_eq!(line(offset_of!(Agent, state_since)), 3);
        assert_eq!(last(offset_of!(Agent, calls), 8), 3);
        assert_eq!(offset_of!(Agent, skills), 4 * 64);
        assert_eq!(size_of::<crate::skills::SkillSet>(), 64);
    }
}
