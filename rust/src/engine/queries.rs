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
    /// In line but not offered until released (`Engine::park`).
    pub parked: bool,
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
                .map(|m| (self.queues[m.queue as usize].id.clone(), u64::from(m.calls)))
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
                .map(|&(n, l)| (self.skills.name(u32::from(n)).to_owned(), l))
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
            parked: call.parked(),
        })
    }

    /// 1-based place of a waiting call in its queue (O(log n)).
    pub fn position(&self, id: &str) -> Result<usize> {
        self.call_info(id)?.position.ok_or_else(|| {
            Error::state(format!("call {:?} is not waiting", crate::error::clip(id)))
        })
    }

    /// From now on the queues' wrap-up indexes are kept (built now from every agent, once):
    /// what `agent_free_in` reads.
    pub fn track_wrapups(&mut self) {
        if self.track_wraps {
            return;
        }
        self.track_wraps = true;
        for a in 0..self.agents.len() as u32 {
            self.index_wrap(a);
        }
    }

    /// Seconds until an agent eligible for the waiting call `id` is expected free, from what
    /// the engine knows for sure: 0 when one is available now (a parked call's agent waits
    /// for it), else until the earliest end of a wrap-up among eligible agents of its queues
    /// that will be free after it (no pause or logout pending); None when neither (agents
    /// all talking, paused or none). For a sticky call still held, only its agent counts.
    /// Talk times are not known: the host adds the queue's `estimated_wait` for those.
    ///
    /// Cost: the call's own queues only, never all agents. In each, available agents in index
    /// order and wrap-ups in end order, stopping at the first whose skills fit, as an offer's
    /// pick does: one look for a call without skills.
    ///
    /// The first call starts keeping the wrap-up indexes (`track_wrapups`), once O(agents).
    pub fn agent_free_in(&mut self, id: &str) -> Result<Option<f64>> {
        let c = self.call_index(id)?;
        if !self.call(c).is_waiting() {
            return Err(Error::state(format!(
                "call {:?} is not waiting",
                crate::error::clip(id)
            )));
        }
        self.track_wrapups(); // after the checks: a refused query changes nothing
        let call = self.call(c);
        let soonest = |a: u32| {
            let ag = &self.agents[a as usize];
            if ag.can_take() {
                Some(0.0)
            } else {
                ag.wrap_end().map(|at| (at.0 - self.now).max(0.0))
            }
        };
        if call.state == CallState::Held {
            return Ok(self
                .agent_ids
                .get(call.held_for())
                .and_then(|&a| soonest(a)));
        }
        let req = self.reqs.get(call.req);
        let fits = |a: u32| self.agents[a as usize].skills.satisfies(req);
        let mut best: Option<f64> = None;
        for q in call.queues() {
            let queue = &self.queues[q as usize];
            if queue.avail.iter().any(|k| fits(k.agent)) {
                return Ok(Some(0.0));
            }
            if let Some(&(at, _)) = queue.wrapping.iter().find(|&&(_, a)| fits(a)) {
                let secs = (at.0 - self.now).max(0.0);
                best = Some(best.map_or(secs, |b: f64| b.min(secs)));
            }
        }
        Ok(best)
    }

    /// Refuses restored state whose internal references do not hold together, so a damaged
    /// snapshot is an error now rather than a panic later.
    pub(crate) fn check_consistent(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::invalid(format!("corrupt snapshot: {what}")));
        let (nq, na) = (self.queues.len(), self.agents.len());
        if !self.skills.consistent() {
            return bad("skill names");
        }
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

#[cfg(test)]
mod tests {
    use crate::engine::call::tests::engine;
    use crate::error::Error;
    use crate::model::{Action, EscalationStep, Event, QueueConfig};
    use crate::{Engine, NewCall};

    fn call<'a>(id: &'a str, skills: &'a [(&'a str, i64)]) -> NewCall<'a> {
        NewCall {
            id,
            queue: "q",
            skills,
            ..NewCall::default()
        }
    }

    fn assigned(e: &mut Engine) -> Vec<(String, String, f64)> {
        e.take_events()
            .iter()
            .filter_map(|ev| match ev {
                Event::Assign { t, call, agent, .. } => {
                    Some((call.to_string(), agent.to_string(), *t))
                }
                _ => None,
            })
            .collect()
    }

    /// A parked call keeps its place (position 1) while the call behind it is served; its
    /// escalation steps run without offering it; released, it goes to the agent at once.
    /// Parked survives a snapshot.
    #[test]
    fn a_parked_call_keeps_its_place_is_passed_by_and_goes_once_released() {
        let mut e = engine(QueueConfig {
            escalation: vec![
                EscalationStep {
                    after: 4.0,
                    action: Action::RaisePriority(5),
                },
                EscalationStep {
                    after: 6.0,
                    action: Action::AddQueues(vec!["r".into()]),
                },
            ],
            ..QueueConfig::default()
        });
        e.enqueue(0.0, &call("cb", &[])).unwrap();
        e.park(1.0, "cb").unwrap();
        e.park(1.5, "cb").unwrap(); // again: nothing changes
        e.enqueue(2.0, &call("live", &[])).unwrap();
        assert_eq!(
            (e.position("cb").unwrap(), e.position("live").unwrap()),
            (1, 2)
        );
        e.login(3.0, "a", &[], &[("q", 1)], 1).unwrap();
        assert_eq!(assigned(&mut e), [("live".into(), "a".into(), 3.0)]);
        e.login(3.0, "b", &[], &[("r", 1)], 1).unwrap();
        e.hangup(5.0, "live").unwrap(); // a is free again: passes the parked call by
        e.advance(8.0).unwrap(); // both steps ran: b in "r" is not offered it either
        assert!(assigned(&mut e).is_empty());
        let info = e.call_info("cb").unwrap();
        assert_eq!(
            (info.state, info.parked, info.position),
            ("waiting", true, Some(1))
        );
        let mut e = Engine::restore(&e.snapshot()).unwrap();
        assert!(e.call_info("cb").unwrap().parked);
        e.advance(9.0).unwrap();
        assert!(assigned(&mut e).is_empty());
        e.unpark(10.0, "cb").unwrap();
        let got = assigned(&mut e);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0.as_str(), got[0].2), ("cb", 10.0));
        assert!(!e.call_info("cb").unwrap().parked);
        e.unpark(11.0, "cb").unwrap(); // not parked: nothing to do
    }

    /// `NewCall::parked` enters parked: a free agent is not given it until it is released.
    #[test]
    fn a_call_entering_parked_waits_with_an_agent_free() {
        let mut e = engine(QueueConfig::default());
        e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
        let entry = NewCall {
            parked: true,
            ..call("cb", &[])
        };
        e.enqueue(1.0, &entry).unwrap();
        assert!(assigned(&mut e).is_empty());
        assert_eq!(e.queue_stats("q").unwrap().waiting, 1);
        assert_eq!(e.agent_free_in("cb").unwrap(), Some(0.0));
        e.unpark(2.0, "cb").unwrap();
        assert_eq!(assigned(&mut e), [("cb".into(), "a".into(), 2.0)]);
        let err = e.park(3.0, "cb").unwrap_err();
        assert!(matches!(err, Error::State(_)), "{err}");
        let err = e.agent_free_in("cb").unwrap_err();
        assert!(matches!(err, Error::State(_)), "{err}");
        let err = e.park(3.0, "nope").unwrap_err();
        assert!(matches!(err, Error::Unknown { .. }), "{err}");
    }

    /// The earliest wrap-up end among agents that fit the call and will be free after it:
    /// skills checked, a pending pause or a logout takes the agent out, the end of a wrap-up
    /// too, and a restore rebuilds the index.
    #[test]
    fn agent_free_in_reads_available_agents_then_wrap_ups_that_fit() {
        let mut e = engine(QueueConfig {
            wrapup: 10.0,
            ..QueueConfig::default()
        });
        e.login(0.0, "en", &[("en", 50)], &[("q", 1)], 1).unwrap();
        e.login(0.0, "fr", &[("fr", 50)], &[("q", 1)], 1).unwrap();
        e.enqueue(1.0, &call("c1", &[("en", 10)])).unwrap();
        e.enqueue(1.0, &call("c2", &[("fr", 10)])).unwrap();
        for (id, skills) in [("any", &[][..]), ("french", &[("fr", 10)][..])] {
            e.enqueue(
                2.0,
                &NewCall {
                    parked: true,
                    ..call(id, skills)
                },
            )
            .unwrap();
        }
        assert_eq!(e.agent_free_in("any").unwrap(), None, "both talking");
        e.hangup(20.0, "c1").unwrap(); // en wraps up until 30
        e.hangup(22.0, "c2").unwrap(); // fr until 32
        e.advance(25.0).unwrap();
        assert_eq!(e.agent_free_in("any").unwrap(), Some(5.0));
        assert_eq!(
            e.agent_free_in("french").unwrap(),
            Some(7.0),
            "en does not fit"
        );
        let mut restored = Engine::restore(&e.snapshot()).unwrap();
        assert_eq!(restored.agent_free_in("french").unwrap(), Some(7.0));
        restored.pause(26.0, "fr", "lunch").unwrap();
        assert_eq!(
            restored.agent_free_in("french").unwrap(),
            None,
            "pause pending"
        );
        restored.unpause(27.0, "fr").unwrap();
        assert_eq!(restored.agent_free_in("french").unwrap(), Some(5.0));
        e.pause(26.0, "en", "lunch").unwrap();
        assert_eq!(
            e.agent_free_in("any").unwrap(),
            Some(6.0),
            "en will be paused"
        );
        e.logout(27.0, "fr").unwrap();
        assert_eq!(e.agent_free_in("any").unwrap(), None);
        e.unpause(28.0, "en").unwrap();
        e.advance(31.0).unwrap(); // en's wrap-up is over: available, the parked calls wait
        assert_eq!(e.agent_free_in("any").unwrap(), Some(0.0));
        assert_eq!(e.agent_free_in("french").unwrap(), None);
        assert!(
            assigned(&mut e)
                .iter()
                .all(|a| a.0 != "any" && a.0 != "french")
        );
    }

    /// What `agent_free_in` answers, the slow way: every agent looked at.
    fn free_in_by_scan(e: &Engine, id: &str) -> Option<f64> {
        let call = e.call(e.call_index(id).unwrap());
        let req = e.reqs.get(call.req);
        let queues: Vec<u32> = call.queues().collect();
        let mut best: Option<f64> = None;
        for ag in &e.agents {
            let member = ag.queues.iter().any(|m| queues.contains(&m.queue));
            if !member || !ag.skills.satisfies(req) {
                continue;
            }
            let secs = if ag.can_take() {
                Some(0.0)
            } else {
                ag.wrap_end().map(|at| (at.0 - e.now).max(0.0))
            };
            if let Some(x) = secs {
                best = Some(best.map_or(x, |b: f64| b.min(x)));
            }
        }
        best
    }

    proptest::proptest! {
        /// After any sequence of logins, logouts, pauses, calls and hang-ups, each queue's
        /// wrap-up index holds exactly the member agents in a wrap-up that will free them
        /// (kept from the first `agent_free_in`, built on the first one after a restore), and
        /// `agent_free_in` agrees with a scan of all agents.
        #[test]
        fn the_wrap_up_index_is_exact(ops in proptest::collection::vec((0u8..6, 0usize..4, 0u8..4), 1..120)) {
            let mut e = Engine::new(crate::Options { seed: 1, auto_accept: true });
            e.add_queue("r", QueueConfig { wrapup: 7.0, ..QueueConfig::default() }).unwrap();
            e.add_queue("q", QueueConfig { wrapup: 3.0, ..QueueConfig::default() }).unwrap();
            let names = ["a0", "a1", "a2", "a3"];
            let (mut now, mut calls) = (0.0, 0u32);
            let probe = NewCall { parked: true, ..call("probe", &[("en", 10)]) };
            e.enqueue(0.0, &probe).unwrap();
            for (op, i, x) in ops {
                now += f64::from(x);
                let agent = names[i];
                let _ = match op {
                    0 => {
                        let queues: &[(&str, u32)] = match x % 3 { 0 => &[("q", 1)], 1 => &[("r", 1)], _ => &[("q", 1), ("r", 1)] };
                        let skills: &[(&str, i64)] = if x % 2 == 0 { &[("en", 50)] } else { &[] };
                        e.login(now, agent, skills, queues, 1)
                    }
                    1 => e.logout(now, agent),
                    2 => e.pause(now, agent, "break"),
                    3 => e.unpause(now, agent),
                    4 => {
                        calls += 1;
                        let id = format!("c{calls}");
                        let queue = if x % 2 == 0 { "q" } else { "r" };
                        e.enqueue(now, &NewCall { id: &id, queue, ..NewCall::default() })
                    }
                    _ => {
                        let id = format!("c{}", 1 + (i as u32 + u32::from(x)) % calls.max(1));
                        e.hangup(now, &id)
                    }
                };
                let mut restored = Engine::restore(&e.snapshot()).unwrap();
                for engine in [&mut e, &mut restored] {
                    let free_in = engine.agent_free_in("probe").unwrap(); // keeps the indexes from here
                    proptest::prop_assert_eq!(free_in, free_in_by_scan(engine, "probe"));
                    for (q, queue) in engine.queues.iter().enumerate() {
                        let want: std::collections::BTreeSet<_> = engine
                            .agents
                            .iter()
                            .enumerate()
                            .filter(|(_, ag)| ag.queues.iter().any(|m| m.queue as usize == q))
                            .filter_map(|(a, ag)| ag.wrap_end().map(|at| (at, a as u32)))
                            .collect();
                        proptest::prop_assert_eq!(&queue.wrapping, &want);
                    }
                }
            }
        }
    }
}
