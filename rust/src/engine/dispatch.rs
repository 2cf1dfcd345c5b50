//! Matching, in both directions: a call looking for an agent (on arrival, or back from an
//! offer) and an agent looking for a call (whenever it becomes free). Then offers, answers and
//! the end of a call.

use std::cmp::Reverse;

use super::agent::{Agent, Status};
use smallvec::smallvec;

use super::call::{Agents, CallState};
use super::queue::{AvailKey, Queue};
use super::{Engine, RawEvent, Timer};
use crate::model::{Strategy, Unoffer};
use crate::rng::Rng;
use crate::skills::{Requirements, SkillSet};
use crate::time::Time;

/// Who gets the call among the available agents of queue `q`, under its strategy.
/// Agents are visited in index order, so the first eligible one is the strategy's choice; only
/// skills-best and the random strategies must see every eligible agent of the queue (never
/// agents of other queues). Ring-all returns every eligible agent when offers really ring.
fn pick_in_queue(
    q: u32,
    queue: &Queue,
    agents: &[Agent],
    req: &SkillSet,
    exclude: &[u32],
    rng: &mut Rng,
    ring_everyone: bool,
) -> Agents {
    // A call without skills fits every agent: no skill test reads the candidate's record
    // (skills-best's score and weighted-random's weights still do).
    let any = req.is_empty();
    let ok = |k: &AvailKey| {
        !exclude.contains(&k.agent) && (any || agents[k.agent as usize].skills.satisfies(req))
    };
    let first = |it: &mut dyn Iterator<Item = AvailKey>| {
        for k in it {
            if ok(&k) {
                return Some(k.agent);
            }
        }
        None
    };
    let chosen = match queue.cfg.strategy {
        Strategy::LongestIdle
        | Strategy::Linear
        | Strategy::FewestCalls
        | Strategy::LeastTalkTime => queue.avail.first_where(ok).map(|k| k.agent),
        Strategy::RingAll if ring_everyone => {
            return queue.avail.iter().filter(ok).map(|k| k.agent).collect();
        }
        Strategy::RingAll => queue.avail.first_where(ok).map(|k| k.agent),
        Strategy::RoundRobin => {
            let from = AvailKey {
                a: Time(0.0),
                b: Time(0.0),
                seq: queue.rr_last.map_or(0, |s| s + 1),
                agent: 0,
            };
            first(&mut queue.avail.iter_from(from))
                .or_else(|| first(&mut queue.avail.iter_below(from)))
        }
        Strategy::SkillsBest => {
            let mut best: Option<(u32, u32)> = None;
            for k in queue.avail.iter().filter(ok) {
                let score = agents[k.agent as usize].skills.score(req);
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, k.agent));
                }
            }
            best.map(|(_, a)| a)
        }
        Strategy::Random => {
            let eligible: Vec<u32> = queue.avail.iter().filter(ok).map(|k| k.agent).collect();
            (!eligible.is_empty()).then(|| eligible[rng.below(eligible.len())])
        }
        Strategy::WeightedRandom => {
            let weight = |a: u32| {
                agents[a as usize]
                    .queues
                    .iter()
                    .find(|m| m.queue == q)
                    .map_or(0, |m| u64::from(m.weight))
            };
            let eligible: Vec<(u32, u64)> = queue
                .avail
                .iter()
                .filter(ok)
                .map(|k| (k.agent, weight(k.agent)))
                .collect();
            let total: u64 = eligible.iter().map(|e| e.1).sum();
            if total == 0 {
                eligible.first().map(|e| e.0)
            } else {
                let mut x = rng.below(total as usize) as u64;
                eligible
                    .into_iter()
                    .find(|&(_, w)| {
                        let hit = x < w;
                        x = x.saturating_sub(w);
                        hit
                    })
                    .map(|e| e.0)
            }
        }
    };
    // Built by hand: collecting an `Option` into a `SmallVec` goes through its generic
    // reserve-and-extend, on every call placed.
    match chosen {
        Some(a) => smallvec![a],
        None => Agents::new(),
    }
}

impl Engine {
    /// A call is (back) in line: hand it to an agent if one is eligible now.
    pub(crate) fn call_ready(&mut self, c: u32, exclude: &[u32]) {
        if let Some((agents, q)) = self.pick_agents(c, exclude, None) {
            self.hand_over(c, agents, q, true);
        }
    }

    /// The agent(s) a call (held or waiting) would go to now, and the queue serving it.
    /// `fresh`: the skills of a call just arriving, not yet in `reqs` (`place`); else the
    /// call's own `req`.
    pub(crate) fn pick_agents(
        &mut self,
        c: u32,
        exclude: &[u32],
        fresh: Option<&SkillSet>,
    ) -> Option<(Agents, u32)> {
        let call = self.calls[c as usize].as_ref().expect("live call slot");
        if call.parked() {
            return None; // kept in line for its customer, offered once released
        }
        match call.state {
            CallState::Held => self
                .agent_ids
                .get(call.held_for())
                .copied()
                .filter(|&a| !exclude.contains(&a) && self.agents[a as usize].can_take())
                .map(|a| (smallvec![a], call.home)),
            CallState::Waiting => {
                let ring = !self.auto_accept;
                call.queues().find_map(|q| {
                    let queue = &self.queues[q as usize];
                    let req = fresh.unwrap_or_else(|| self.reqs.get(call.req));
                    let agents =
                        pick_in_queue(q, queue, &self.agents, req, exclude, &mut self.rng, ring);
                    (!agents.is_empty()).then_some((agents, q))
                })
            }
            CallState::Offered | CallState::Connected => None,
        }
    }

    /// An agent may have room for a call: give it the best waiting call it is eligible for
    /// (calls held for it first, then by queue weight, aged priority, arrival, trace order),
    /// as many times as its limit allows.
    pub(crate) fn agent_ready(&mut self, a: u32) {
        while self.agents[a as usize].can_take() {
            let Some((c, q)) = self.best_call_for(a) else {
                return;
            };
            self.hand_over(c, smallvec![a], q, true);
        }
    }

    fn best_call_for(&self, a: u32) -> Option<(u32, u32)> {
        let agent = &self.agents[a as usize];
        // Sticky calls are rare: no hashing of the agent's id while none waits.
        if !self.held.is_empty()
            && let Some(k) = self.held.get(&agent.id).and_then(|held| held.first())
        {
            return Some((k.call, self.call(k.call).home));
        }
        type Rank = (Time, Time, Reverse<u64>);
        let mut best: Option<(Rank, u32, u32)> = None;
        for m in &agent.queues {
            let queue = &self.queues[m.queue as usize];
            for class in &queue.classes {
                if class.req != Requirements::NONE
                    && !agent.skills.satisfies(self.reqs.get(class.req))
                {
                    continue;
                }
                let Some(k) = self.waits.first(class.calls) else {
                    continue;
                };
                let rank = (
                    Time(queue.cfg.weight),
                    Time(queue.priority_at(&k, self.t)),
                    Reverse(k.seq),
                );
                if best.as_ref().is_none_or(|b| rank > b.0) {
                    best = Some((rank, k.call, m.queue));
                }
            }
        }
        best.map(|(_, c, q)| (c, q))
    }

    /// The call leaves the line for these agents: connected at once, or offered.
    /// `in_line`: the call sits in the waiting structures (false for a call answered on
    /// arrival, which never enters them).
    pub(crate) fn hand_over(&mut self, c: u32, agents: Agents, q: u32, in_line: bool) {
        if in_line {
            self.remove_waiting(c);
        }
        // An offered call's deadline waits: it is re-armed if the call comes back to line.
        self.cancel_call_timer(c);
        self.queues[q as usize].rr_last = Some(self.agents[agents[0] as usize].login_seq);
        if self.auto_accept {
            let a = agents[0];
            self.call_mut(c).agents = agents;
            self.connect(c, a, q);
            return;
        }
        let t = self.t;
        for &a in &agents {
            self.modify_agent(a, |ag| ag.offers.push(c));
        }
        let ring = self.queues[q as usize].cfg.ring_timeout;
        let timer = (ring > 0.0).then(|| self.add_timer(t + ring, Timer::OfferTimeout(c)));
        let call = self.call_mut(c);
        call.state = CallState::Offered;
        call.served_by = q;
        call.agents = agents;
        call.timer = timer;
        self.emit_offer(t, c, q);
    }

    /// The call is answered by `a`, serving from queue `q`.
    pub(crate) fn connect(&mut self, c: u32, a: u32, q: u32) {
        let t = self.t;
        self.cancel_call_timer(c);
        self.modify_agent(a, |ag| {
            // Auto-accept connects without an offer: nothing rings to take back.
            if !ag.offers.is_empty() {
                ag.offers.retain(|x| *x != c);
            }
            ag.active.push(c);
            ag.no_answers = 0;
            ag.calls += 1;
            if let Some(m) = ag.membership(q) {
                m.calls = m.calls.saturating_add(1); // u32: never wraps to "fewest" at 2^32
            }
        });
        let call = self.call_mut(c);
        call.state = CallState::Connected;
        // Reuses the list the call already has ([a] by now, or the ring-all list).
        if *call.agents != [a] {
            call.agents.retain(|x| *x == a);
        }
        call.served_by = q;
        call.since = t;
        let (home, wait) = (call.home, t - call.arrival);
        let queue = &mut self.queues[home as usize];
        let counters = &mut queue.counters;
        counters.waiting = counters.waiting.saturating_sub(1);
        counters.answered += 1;
        counters.wait_sum += wait;
        if wait <= queue.cfg.sl {
            counters.answered_within_sl += 1;
        }
        self.emit(RawEvent::Assign {
            t,
            call: c,
            agent: a,
            queue: q,
            wait,
        });
    }

    pub(crate) fn accept_offer(&mut self, c: u32, a: u32) {
        let t = self.t;
        self.cancel_call_timer(c);
        let others: Vec<u32> = self
            .call(c)
            .agents
            .iter()
            .copied()
            .filter(|&x| x != a)
            .collect();
        let q = self.call(c).served_by;
        for &o in &others {
            self.unoffer(c, o, Some(Unoffer::Taken), t);
        }
        self.connect(c, a, q);
        for o in others {
            self.agent_ready(o);
        }
    }

    /// Stops ringing `a` for call `c`; the agent's own pending pause applies if it is now idle.
    /// `why` is None when the host itself declined (it needs no telling).
    pub(crate) fn unoffer(&mut self, c: u32, a: u32, why: Option<Unoffer>, t: f64) {
        self.call_mut(c).agents.retain(|x| *x != a);
        self.modify_agent(a, |ag| {
            ag.offers.retain(|x| *x != c);
            if ag.offers.is_empty()
                && ag.active.is_empty()
                && ag.status == Status::Ready
                && let Some(reason) = ag.pending_pause.take()
            {
                ag.status = Status::Paused;
                ag.pause_reason = Some(reason);
            }
        });
        if let Some(why) = why {
            self.emit(RawEvent::Unoffer {
                t,
                call: c,
                agent: a,
                why,
            });
        }
    }

    /// Nobody is ringing for this call any more: back to its place in line.
    pub(crate) fn return_to_line(&mut self, c: u32, exclude: &[u32]) {
        self.cancel_call_timer(c);
        let t = self.t;
        let call = self.call_mut(c);
        // A sticky call whose hold has not run out goes back to waiting for its agent only.
        let held = call.hold().is_some_and(|h| t < h.until);
        call.state = if held {
            CallState::Held
        } else {
            CallState::Waiting
        };
        call.agents.clear();
        self.insert_waiting(c);
        self.schedule_deadline(c);
        self.call_ready(c, exclude);
    }

    pub(crate) fn on_offer_timeout(&mut self, c: u32) {
        let t = self.t;
        self.call_mut(c).timer = None;
        let rung = self.call(c).agents.clone();
        let q = self.call(c).served_by;
        let max = self.queues[q as usize].cfg.max_no_answers;
        let retry = self.queues[q as usize].cfg.retry;
        for &a in &rung {
            self.unoffer(c, a, Some(Unoffer::Timeout), t);
            let paused = self.modify_agent(a, |ag| {
                ag.no_answers += 1;
                // A pause the agent asked for itself stands, with its reason (it may have
                // applied already in `unoffer`): the no-answer rule never overwrites it.
                let pause = max > 0
                    && ag.no_answers >= max
                    && ag.status == Status::Ready
                    && ag.pending_pause.is_none();
                if pause && ag.active.is_empty() && ag.offers.is_empty() {
                    ag.status = Status::Paused;
                    ag.pause_reason = Some("no-answer".into());
                } else if pause {
                    // Still on or offered another call (limit > 1): paused when that is over.
                    ag.pending_pause = Some("no-answer".into());
                }
                pause
            });
            if paused {
                self.emit(RawEvent::AutoPause { t, agent: a });
            } else {
                self.rest_agent(a, retry);
            }
        }
        self.return_to_line(c, &rung);
        for a in rung {
            self.agent_ready(a);
        }
    }

    /// A connected call is over: the agent goes to wrap-up, logs out if that was pending, or
    /// is free at once.
    pub(crate) fn end_call(&mut self, c: u32) {
        let t = self.t;
        let call = self.call(c);
        let (a, q, home, talk) = (call.agents[0], call.served_by, call.home, t - call.since);
        let wrapup = self.queues[q as usize].cfg.wrapup;
        let queue = &mut self.queues[home as usize];
        queue.counters.ended += 1;
        queue.counters.talk_sum += talk;
        let handle = talk + wrapup;
        queue.aht = Some(queue.aht.map_or(handle, |m| m + 0.1 * (handle - m)));
        self.free_call(c);
        self.emit(RawEvent::End {
            t,
            call: c,
            agent: a,
            queue: q,
            talk,
        });
        let ag = &self.agents[a as usize];
        let logout = ag.pending_logout && ag.active.len() == 1;
        // Paused while holding this call (no path leads here now, but a pause is never
        // dropped): it stays paused, with its reason, and the wrap-up is moot.
        let paused = ag.status == Status::Paused;
        let ready = ag.status == Status::Ready;
        // The end of the call and the start of the wrap-up are one change of the agent, so
        // its state counts move once (busy -> wrap-up), not through a moment of "available".
        let wrap = (!logout && !paused && wrapup > 0.0)
            .then(|| self.add_timer(t + wrapup, Timer::WrapEnd(a)));
        let old = self.modify_agent_unindexed(a, |ag| {
            ag.active.retain(|x| *x != c);
            ag.talk_time += talk;
            wrap.and_then(|key| {
                ag.status = Status::WrapUp;
                ag.wrap_until.replace(key)
            })
        });
        if let Some(old) = old {
            self.timers.cancel(old);
        }
        if logout {
            self.do_logout(a);
        } else if wrap.is_none() && !paused && ready {
            self.become_available(a);
        }
        self.index_agent(a);
    }
}
