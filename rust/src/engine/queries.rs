//! Read-only views for wallboards, hosts and tests. Each is O(1) or O(log n) in the number of
//! waiting calls, except listings that return everything by design.

use serde::Serialize;

use super::Engine;
use super::call::CallState;
use crate::error::{Error, Result};
use crate::model::{AgentState, Id, Strategy};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStats {
    pub id: Id,
    pub strategy: Strategy,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub answered_within_sl: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub fallback: u64,
    pub waiting: u64,
    /// Connected calls that have ended (the base of `aht`).
    pub ended: u64,
    /// Answered within the threshold over calls that were answered or gave up
    /// (abandoned, timed out); None before any.
    pub service_level: Option<f64>,
    /// Average speed of answer over answered calls.
    pub asa: Option<f64>,
    /// Average talk time of ended calls plus the queue's wrap-up.
    pub aht: Option<f64>,
    /// Wait so far of the longest-waiting call.
    pub longest_wait: f64,
    /// Member agents by state, in `AgentState::ALL` order.
    pub agents: [u32; 6],
    /// What a call arriving now would wait (None without staff or without handle-time data).
    pub estimated_wait: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentInfo {
    pub id: Id,
    pub state: AgentState,
    pub pause_reason: Option<Id>,
    pub pending_pause: bool,
    pub pending_logout: bool,
    pub login_seq: u64,
    pub login_time: f64,
    pub idle_since: f64,
    pub calls: u64,
    /// (queue, calls taken from it since login), in membership order.
    pub queues: Vec<(Id, u64)>,
    pub talk_time: f64,
    /// Seconds in each state since login, up to the engine's clock (`AgentState::ALL` order).
    pub state_time: [f64; 6],
    pub active_calls: Vec<Id>,
    /// Calls ringing at the agent (live offers).
    pub offers: Vec<Id>,
    /// Resting after a declined or missed offer: no calls until the queue's `retry` is over.
    pub resting: bool,
    pub no_answers: u32,
    pub limit: u32,
    pub skills: Vec<(String, u8)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallInfo {
    pub id: Id,
    pub queue: Id,
    /// "waiting", "held" (for its preferred agent), "offered" or "connected".
    pub state: &'static str,
    pub priority: f64,
    pub arrival: f64,
    /// 1-based place in its queue while waiting.
    pub position: Option<usize>,
    pub agents: Vec<Id>,
    /// Exempt from its queue's max wait (`Engine::exempt_max_wait`).
    pub max_wait_exempt: bool,
}

impl Engine {
    pub fn queue_ids(&self) -> impl Iterator<Item = &Id> {
        self.queues.iter().map(|q| &q.id)
    }

    pub fn agent_ids(&self) -> impl Iterator<Item = &Id> {
        self.agents.iter().map(|a| &a.id)
    }

    /// Every agent with its state, in login-record order.
    pub fn agent_states(&self) -> impl Iterator<Item = (&Id, AgentState)> {
        self.agents.iter().map(|a| (&a.id, a.state()))
    }

    /// Calls in the engine: waiting, held for an agent, ringing or connected. (Named
    /// `waiting_calls` before, which it never counted alone; per queue, `queue_stats` has the
    /// waiting ones.)
    pub fn live_calls(&self) -> usize {
        self.call_ids.len()
    }

    pub fn queue_stats(&self, id: &str) -> Result<QueueStats> {
        let q = self.queue_index(id)?;
        let queue = &self.queues[q as usize];
        let c = &queue.counters;
        let settled = c.answered + c.abandoned + c.timed_out;
        let longest_wait = queue
            .by_arrival
            .first_key_value()
            .map_or(0.0, |(a, _)| self.now - a.0);
        let staffed = queue.staffed();
        let available = queue.by_state[AgentState::Available.index()];
        let estimated_wait = queue.aht.filter(|_| staffed > 0).map(|aht| {
            let ahead = (c.waiting + 1).saturating_sub(u64::from(available));
            ahead as f64 * aht / f64::from(staffed)
        });
        Ok(QueueStats {
            id: queue.id.clone(),
            strategy: queue.cfg.strategy,
            offered: c.offered,
            answered: c.answered,
            abandoned: c.abandoned,
            answered_within_sl: c.answered_within_sl,
            timed_out: c.timed_out,
            overflowed: c.overflowed,
            fallback: c.fallback,
            waiting: c.waiting,
            ended: c.ended,
            service_level: (settled > 0).then(|| c.answered_within_sl as f64 / settled as f64),
            asa: (c.answered > 0).then(|| c.wait_sum / c.answered as f64),
            aht: (c.ended > 0).then(|| c.talk_sum / c.ended as f64 + queue.cfg.wrapup),
            longest_wait,
            agents: queue.by_state,
            estimated_wait,
        })
    }

    pub fn queue_counters(&self, id: &str) -> Result<&super::QueueCounters> {
        Ok(&self.queues[self.queue_index(id)? as usize].counters)
    }

    pub fn agent_info(&self, id: &str) -> Result<AgentInfo> {
        let ag = &self.agents[self.agent_index(id)? as usize];
        Ok(AgentInfo {
            id: ag.id.clone(),
            state: ag.state(),
            pause_reason: ag.pause_reason.clone(),
            pending_pause: ag.pending_pause.is_some(),
            pending_logout: ag.pending_logout,
            login_seq: ag.login_seq,
            login_time: ag.login_time,
            idle_since: ag.idle_since,
            calls: ag.calls,
            queues: ag
                .queues
                .iter()
                .map(|m| (self.queues[m.queue as usize].id.clone(), m.calls))
                .collect(),
            talk_time: ag.talk_time,
            state_time: self.state_time_of(ag),
            active_calls: ag.active.iter().map(|&c| self.call(c).id.clone()).collect(),
            offers: ag.offers.iter().map(|&c| self.call(c).id.clone()).collect(),
            resting: ag.rest.is_some(),
            no_answers: ag.no_answers,
            limit: ag.limit,
            skills: ag
                .skills
                .levels()
                .iter()
                .map(|&(n, l)| (self.skills.name(n).to_owned(), l))
                .collect(),
        })
    }

    /// Seconds the agent has spent in each state since login, up to the engine's clock, in
    /// `AgentState::ALL` order (a simulation reads these at interval boundaries).
    pub fn agent_state_time(&self, id: &str) -> Result<[f64; 6]> {
        Ok(self.state_time_of(&self.agents[self.agent_index(id)? as usize]))
    }

    fn state_time_of(&self, ag: &super::agent::Agent) -> [f64; 6] {
        let mut times = ag.state_time;
        times[ag.state().index()] += (self.now - ag.state_since).max(0.0);
        times
    }

    pub fn call_info(&self, id: &str) -> Result<CallInfo> {
        let c = self.call_index(id)?;
        let call = self.call(c);
        let queue = &self.queues[call.home as usize];
        let waiting = matches!(call.state, CallState::Held | CallState::Waiting);
        let key = queue.wait_key(call.priority, call.arrival, call.seq, c);
        Ok(CallInfo {
            id: call.id.clone(),
            queue: queue.id.clone(),
            state: match call.state {
                CallState::Held => "held",
                CallState::Waiting => "waiting",
                CallState::Offered => "offered",
                CallState::Connected => "connected",
            },
            priority: call.priority,
            arrival: call.arrival,
            position: waiting.then(|| self.waits.rank(queue.ranked, &key) + 1),
            agents: call
                .agents
                .iter()
                .map(|&a| self.agents[a as usize].id.clone())
                .collect(),
            max_wait_exempt: call.max_wait_exempt(),
        })
    }

    /// 1-based place of a waiting call in its queue (O(log n)).
    pub fn position(&self, id: &str) -> Result<usize> {
        self.call_info(id)?.position.ok_or_else(|| {
            Error::state(format!("call {:?} is not waiting", crate::error::clip(id)))
        })
    }

    /// Refuses restored state whose internal references do not hold together, so a damaged
    /// snapshot is an error now rather than a panic later.
    pub(crate) fn check_consistent(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::invalid(format!("corrupt snapshot: {what}")));
        let (nq, na) = (self.queues.len(), self.agents.len());
        if self.queue_ids.len() != nq || self.queue_ids.values().any(|&q| q as usize >= nq) {
            return bad("queue ids");
        }
        if self.agent_ids.len() != na || self.agent_ids.values().any(|&a| a as usize >= na) {
            return bad("agent ids");
        }
        let live = |c: u32| self.calls.get(c as usize).is_some_and(Option::is_some);
        if self.free_calls.free.iter().any(|&c| live(c)) {
            return bad("call ids");
        }
        let roots = self
            .queues
            .iter()
            .flat_map(|q| std::iter::once(q.ranked).chain(q.classes.iter().map(|cl| cl.calls)));
        if !self.waits.check(roots) {
            return bad("waiting-call sets");
        }
        for q in &self.queues {
            let queue_ok = |x: u32| (x as usize) < nq;
            if q.overflow_to.is_some_and(|x| !queue_ok(x))
                || q.step_queues.iter().flatten().any(|&x| !queue_ok(x))
                || q.step_queues.len() != q.cfg.escalation.len()
                || q.avail.iter().any(|k| k.agent as usize >= na)
                || q.classes.iter().any(|cl| {
                    cl.req as usize >= self.reqs.len()
                        || self.waits.keys(cl.calls).iter().any(|k| !live(k.call))
                })
            {
                return bad("queue references");
            }
        }
        for a in &self.agents {
            if a.queues.iter().any(|m| m.queue as usize >= nq)
                || a.active.iter().chain(&a.offers).any(|&c| !live(c))
            {
                return bad("agent references");
            }
        }
        for call in self.calls.iter().flatten() {
            if call.home as usize >= nq
                || call.req as usize >= self.reqs.len()
                || call.served_by as usize >= nq
                || call.overflow().iter().any(|&q| q as usize >= nq)
                || call.agents.iter().any(|&a| a as usize >= na)
                || (call.state == CallState::Connected && call.agents.len() != 1)
                || (call.state == CallState::Held && call.hold().is_none())
            {
                return bad("call references");
            }
        }
        if self.held.values().flatten().any(|k| !live(k.call)) {
            return bad("held calls");
        }
        for (_, timer) in self.timers.iter() {
            let ok = match timer {
                super::Timer::WrapEnd(a) | super::Timer::RestEnd(a) => (a as usize) < na,
                super::Timer::Deadline(c) | super::Timer::OfferTimeout(c) => live(c),
            };
            if !ok {
                return bad("timers");
            }
        }
        Ok(())
    }
}
