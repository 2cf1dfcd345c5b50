//! Calls at run time: entering a queue, waiting (and escalating) in it, and leaving it.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::{Engine, RawEvent, Timer};
use crate::model::{Action, Id};
use crate::skills::{Requirements, SkillSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CallState {
    /// Waiting only for its preferred agent, until `hold.until`.
    Held,
    Waiting,
    Offered,
    Connected,
}

/// Agents of one call: inline up to four (the size of a `Vec`), so connecting a call allocates
/// nothing; only a ring-all to more agents spills to the heap.
pub(crate) type Agents = SmallVec<[u32; 4]>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Call {
    pub id: Id,
    /// The queue whose statistics the call counts in.
    pub home: u32,
    pub priority: f64,
    /// Required skills, as an id into the engine's shared `Requirements`; `NONE` for a call
    /// answered on arrival, which never interned them (nothing reads a connected call's).
    pub req: u32,
    pub arrival: f64,
    /// Until connected, when the call entered `home` (max wait and escalation count from
    /// here); once connected, when it was answered (talk time counts from here). A connected
    /// call never waits again, so one field serves both.
    pub since: f64,
    pub seq: u64,
    pub state: CallState,
    /// `call_index::hash(&id)`, so leaving the index needs no second hash of the id. Not in
    /// the snapshot (set again on restore, `CallIndex::rebuild`).
    #[serde(skip)]
    pub id_hash: u32,
    /// Overflow queues, sticky hold and the max-wait exemption, which most calls never have:
    /// one pointer when absent.
    pub rare: Option<Box<Rare>>,
    /// Agents ringing (Offered) or the one agent (Connected).
    pub agents: Agents,
    pub served_by: u32,
    /// Next escalation step of `home` to apply.
    pub step: u32,
    /// The one timer a call can have: its next deadline while waiting, or its ring timeout
    /// while offered.
    pub timer: Option<super::TimerKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Hold {
    pub agent: Id,
    pub until: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Rare {
    /// Queues the call also waits in (escalation overflow), besides `home`.
    pub overflow: Box<[u32]>,
    /// The agent a sticky / VIP call waits for, and until when.
    pub hold: Option<Hold>,
    /// The queue's `max_wait` does not apply: a held callback (the caller hung up and keeps
    /// a place in line) must not be timed out or overflowed like a live caller. Last field,
    /// defaulted, so snapshots written before it existed still load.
    #[serde(default)]
    pub max_wait_exempt: bool,
    /// Kept in line but never offered (`Engine::park`): a callback whose customer is being
    /// dialled before any agent is. It keeps its place (`ranked`) and its timers; only the
    /// dispatch sets (`classes`, `held`) leave it out. Defaulted, for older snapshots.
    #[serde(default)]
    pub parked: bool,
}

impl Rare {
    fn is_empty(&self) -> bool {
        self.overflow.is_empty() && self.hold.is_none() && !self.max_wait_exempt && !self.parked
    }
}

impl Call {
    pub fn is_waiting(&self) -> bool {
        matches!(self.state, CallState::Held | CallState::Waiting)
    }

    /// Queues the call also waits in (escalation overflow), besides `home`.
    pub fn overflow(&self) -> &[u32] {
        self.rare.as_ref().map_or(&[], |r| &r.overflow)
    }

    pub fn hold(&self) -> Option<&Hold> {
        self.rare.as_ref().and_then(|r| r.hold.as_ref())
    }

    pub fn max_wait_exempt(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.max_wait_exempt)
    }

    /// The queue's max wait no longer applies to this call (one box, allocated once).
    pub fn set_max_wait_exempt(&mut self) {
        self.rare.get_or_insert_default().max_wait_exempt = true;
    }

    pub fn parked(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.parked)
    }

    /// Only through `Engine::modify_waiting`: the dispatch sets hold the call or not by it.
    fn set_parked(&mut self, parked: bool) {
        if parked == self.parked() {
            return;
        }
        let rare = self.rare.get_or_insert_default();
        rare.parked = parked;
        if rare.is_empty() {
            self.rare = None;
        }
    }

    /// Replaces the overflow queues; the box goes when nothing rare is left in it.
    pub fn set_overflow(&mut self, overflow: Box<[u32]>) {
        // The common case, every call entering a queue: nothing to set, nothing to allocate.
        if overflow.is_empty() && self.rare.is_none() {
            return;
        }
        let rare = self.rare.get_or_insert_default();
        rare.overflow = overflow;
        if rare.is_empty() {
            self.rare = None;
        }
    }

    /// Every queue whose structures hold the call while it waits: `home` first.
    pub fn queues(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.home).chain(self.overflow().iter().copied())
    }

    pub fn held_for(&self) -> &Id {
        &self.hold().expect("held call has a preferred agent").agent
    }
}

/// What an escalation step does, without the names an `Action` carries (the queues of
/// `AddQueues` are resolved in `Queue::step_queues`, a fallback's target is read when its
/// event is published): applying a step copies nothing.
#[derive(Debug, Clone, Copy)]
enum Step {
    LowerSkills(u8),
    ClearSkills,
    AddQueues,
    RaisePriority(i64),
    Fallback,
}

impl Step {
    fn of(action: &Action) -> Step {
        match *action {
            Action::LowerSkills(by) => Step::LowerSkills(by),
            Action::ClearSkills => Step::ClearSkills,
            Action::AddQueues(_) => Step::AddQueues,
            Action::RaisePriority(by) => Step::RaisePriority(by),
            Action::Fallback(_) => Step::Fallback,
        }
    }
}

impl Engine {
    pub(crate) fn call(&self, c: u32) -> &Call {
        self.calls[c as usize].as_ref().expect("live call slot")
    }

    pub(crate) fn call_mut(&mut self, c: u32) -> &mut Call {
        self.calls[c as usize].as_mut().expect("live call slot")
    }

    /// Puts the call into the waiting structures of every queue it waits in.
    pub(crate) fn insert_waiting(&mut self, c: u32) {
        let call = self.calls[c as usize].as_ref().expect("live call slot");
        for (i, q) in call.queues().enumerate() {
            let queue = &mut self.queues[q as usize];
            let key = queue.wait_key(call.priority, call.arrival, call.seq, c);
            self.waits.insert(&mut queue.ranked, key);
            queue.arrival_insert(call.arrival);
            if call.parked() {
                continue; // in line for its position, out of what agents pick from
            }
            match call.state {
                CallState::Waiting => queue.class_insert(&mut self.waits, call.req, key),
                CallState::Held if i == 0 => {
                    self.held
                        .entry(call.held_for().clone())
                        .or_default()
                        .insert(key);
                }
                _ => {}
            }
        }
    }

    pub(crate) fn remove_waiting(&mut self, c: u32) {
        let call = self.calls[c as usize].as_ref().expect("live call slot");
        for (i, q) in call.queues().enumerate() {
            let queue = &mut self.queues[q as usize];
            let key = queue.wait_key(call.priority, call.arrival, call.seq, c);
            self.waits.remove(&mut queue.ranked, &key);
            queue.arrival_remove(call.arrival);
            if call.parked() {
                continue;
            }
            match call.state {
                CallState::Waiting => queue.class_remove(&mut self.waits, call.req, &key),
                CallState::Held if i == 0 => {
                    let pref = call.held_for();
                    if let Some(set) = self.held.get_mut(pref) {
                        set.remove(&key);
                        if set.is_empty() {
                            self.held.remove(pref);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Parks or releases a waiting call (`Engine::park`, `Engine::unpark`).
    pub(crate) fn set_parked(&mut self, c: u32, parked: bool) {
        self.modify_waiting(c, |call| call.set_parked(parked));
    }

    /// Changes a waiting call's routing fields, keeping every structure consistent.
    fn modify_waiting(&mut self, c: u32, f: impl FnOnce(&mut Call)) {
        self.remove_waiting(c);
        f(self.call_mut(c));
        self.insert_waiting(c);
    }

    /// The call enters queue `q` (it is new, or moving on from a full or timed-out queue) and
    /// goes to an agent at once if one is eligible. A full queue sends it on along `on_limit`;
    /// a chain of full queues that comes back on itself ends the call rather than looping.
    /// Returns false when the call has left.
    ///
    /// `fresh`: a new call's required skills, not yet shared (its `req` is still none). Most
    /// calls are answered on arrival and never need their requirement again (nothing reads a
    /// connected call's skills), so the set is interned (`Requirements::acquire`, released when
    /// the call ends) only when the call waits or rings: measured, interning and releasing it
    /// for every call was 6.5% of a routing day's instructions.
    pub(crate) fn place(&mut self, c: u32, mut q: u32, fresh: Option<SkillSet>) -> bool {
        let t = self.t;
        let mut hops = 0;
        loop {
            let queue = &mut self.queues[q as usize];
            queue.counters.offered += 1;
            let full = queue
                .cfg
                .max_waiting
                .is_some_and(|m| queue.counters.waiting >= u64::from(m));
            if !full {
                queue.counters.waiting += 1;
                break;
            }
            queue.counters.overflowed += 1;
            let next = queue.overflow_to.filter(|_| hops < self.queues.len());
            hops += 1;
            let wait = t - self.call(c).arrival;
            self.emit(RawEvent::Overflow {
                t,
                call: c,
                from: q,
                to: next,
                wait,
            });
            match next {
                Some(n) => q = n,
                None => {
                    self.free_call(c);
                    return false;
                }
            }
        }
        let call = self.call_mut(c);
        call.home = q;
        call.set_overflow(Box::default());
        call.since = t;
        call.step = 0;
        // Most calls meet a free agent on arrival: they skip the waiting structures entirely.
        let pick = self.pick_agents(c, &[], fresh.as_ref());
        if let Some(set) = fresh
            && !(self.auto_accept && pick.is_some())
        {
            // Waits, or rings and may come back to line: its classes need the shared id.
            let req = self.reqs.acquire(set);
            self.call_mut(c).req = req;
        }
        match pick {
            Some((agents, q)) => self.hand_over(c, agents, q, false),
            None => {
                self.insert_waiting(c);
                self.schedule_deadline(c);
            }
        }
        true
    }

    /// The next moment something is due for this call: hold expiry, an escalation step, or
    /// max wait (unless the call is exempt). One timer per call, re-armed after each firing.
    pub(crate) fn schedule_deadline(&mut self, c: u32) {
        self.cancel_call_timer(c);
        let call = self.call(c);
        let cfg = &self.queues[call.home as usize].cfg;
        let mut due = f64::INFINITY;
        if call.state == CallState::Held {
            due = due.min(call.hold().map_or(due, |h| h.until));
        }
        if let Some(step) = cfg.escalation.get(call.step as usize) {
            due = due.min(call.since + step.after);
        }
        if let Some(w) = cfg.max_wait
            && !call.max_wait_exempt()
        {
            due = due.min(call.since + w);
        }
        if due.is_finite() {
            let key = self.add_timer(due.max(self.t), Timer::Deadline(c));
            self.call_mut(c).timer = Some(key);
        }
    }

    pub(crate) fn on_deadline(&mut self, c: u32) {
        let t = self.t;
        self.call_mut(c).timer = None;
        let call = self.call(c);
        let mut changed = false;
        if call.state == CallState::Held && call.hold().is_some_and(|h| t >= h.until) {
            self.modify_waiting(c, |call| call.state = CallState::Waiting);
            changed = true;
        }
        loop {
            let call = self.call(c);
            let home = call.home;
            let Some(step) = self.queues[home as usize]
                .cfg
                .escalation
                .get(call.step as usize)
            else {
                break;
            };
            if call.since + step.after > t {
                break;
            }
            let (idx, action) = (call.step as usize, Step::of(&step.action));
            self.call_mut(c).step += 1;
            self.emit(RawEvent::Escalate {
                t,
                call: c,
                queue: home,
                step: idx as u32,
            });
            if !self.escalate(c, idx, action) {
                return;
            }
            changed = true;
        }
        let call = self.call(c);
        let home = call.home;
        if let Some(w) = self.queues[home as usize].cfg.max_wait
            && t >= call.since + w
            && !call.max_wait_exempt()
        {
            self.leave_queue(c);
            self.call_mut(c).state = CallState::Waiting;
            match self.queues[home as usize].overflow_to {
                Some(next) => {
                    self.queues[home as usize].counters.overflowed += 1;
                    let wait = t - self.call(c).arrival;
                    self.emit(RawEvent::Overflow {
                        t,
                        call: c,
                        from: home,
                        to: Some(next),
                        wait,
                    });
                    if !self.place(c, next, None) || !self.call(c).is_waiting() {
                        return;
                    }
                    changed = true;
                }
                None => {
                    self.queues[home as usize].counters.timed_out += 1;
                    let wait = t - self.call(c).arrival;
                    self.free_call(c);
                    self.emit(RawEvent::Timeout {
                        t,
                        call: c,
                        queue: home,
                        wait,
                    });
                    return;
                }
            }
        }
        self.schedule_deadline(c);
        if changed {
            self.call_ready(c, &[]);
        }
    }

    /// Applies one escalation step; false when the call has left.
    fn escalate(&mut self, c: u32, step: usize, action: Step) -> bool {
        match action {
            Step::LowerSkills(by) => {
                let old = self.call(c).req;
                let new = self.reqs.acquire(self.reqs.get(old).lowered(by));
                self.modify_waiting(c, |call| call.req = new);
                self.reqs.release(old);
            }
            Step::ClearSkills => {
                let old = self.call(c).req;
                self.modify_waiting(c, |call| call.req = Requirements::NONE);
                self.reqs.release(old);
            }
            Step::RaisePriority(by) => {
                self.modify_waiting(c, |call| call.priority += by as f64);
            }
            Step::AddQueues => {
                // The new list is built before the change, from the step's resolved queues
                // in place (no copy of them).
                let call = self.call(c);
                let mut all = call.overflow().to_vec();
                for &q in &self.queues[call.home as usize].step_queues[step] {
                    if q != call.home && !all.contains(&q) {
                        all.push(q);
                    }
                }
                self.modify_waiting(c, |call| call.set_overflow(all.into()));
            }
            Step::Fallback => {
                let t = self.t;
                let home = self.call(c).home;
                self.leave_queue(c);
                self.queues[home as usize].counters.fallback += 1;
                let wait = t - self.call(c).arrival;
                self.free_call(c);
                self.emit(RawEvent::Fallback {
                    t,
                    call: c,
                    queue: home,
                    step: step as u32,
                    wait,
                });
                return false;
            }
        }
        true
    }

    /// Takes a waiting (or held) call out of its queues without ending it; the home queue no
    /// longer counts it as waiting.
    pub(crate) fn leave_queue(&mut self, c: u32) {
        self.remove_waiting(c);
        let home = self.call(c).home;
        let counters = &mut self.queues[home as usize].counters;
        counters.waiting = counters.waiting.saturating_sub(1);
    }

    pub(crate) fn cancel_call_timer(&mut self, c: u32) {
        if let Some(key) = self.call_mut(c).timer.take() {
            self.timers.cancel(key);
        }
    }

    /// The call leaves the engine. Its id moves to the side table and its slot waits for the
    /// next drain (`events.rs`): the events naming it are resolved before the slot is reused.
    pub(crate) fn free_call(&mut self, c: u32) {
        let call = self.calls[c as usize].take().expect("live call slot");
        self.call_ids.remove_slot(call.id_hash, c);
        self.reqs.release(call.req);
        if let Some(key) = call.timer {
            self.timers.cancel(key);
        }
        if self.freed_ids.len() <= c as usize {
            self.freed_ids.resize(self.calls.len(), None);
        }
        self.freed_ids[c as usize] = Some(call.id);
        self.free_calls.retired.push(c);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Call, Hold, Rare};
    use crate::error::Error;
    use crate::model::{Action, EscalationStep, Event, OnLimit, QueueConfig};
    use crate::skills::Requirements;
    use crate::{Engine, NewCall, Options};

    /// Queues "r" (defaults) and "q" (`cfg`), auto-accepting.
    pub(crate) fn engine(cfg: QueueConfig) -> Engine {
        let mut e = Engine::new(Options {
            seed: 0,
            auto_accept: true,
        });
        e.add_queue("r", QueueConfig::default()).unwrap();
        e.add_queue("q", cfg).unwrap();
        e
    }

    fn call<'a>(id: &'a str, preferred: Option<(&'a str, f64)>) -> NewCall<'a> {
        NewCall {
            id,
            queue: "q",
            preferred,
            ..NewCall::default()
        }
    }

    /// The waiting-call budget (< 300 B) depends on this: the rare fields cost one pointer.
    #[test]
    fn a_call_record_stays_small() {
        assert!(size_of::<Call>() <= 120, "{} bytes", size_of::<Call>());
        assert_eq!(size_of::<Option<Call>>(), size_of::<Call>());
    }

    /// A call answered on arrival never interns its skills (nothing reads a connected call's
    /// requirement); one that waits does, and keeps them through a snapshot until it
    /// ends (`free_call` releases them). The restored engine takes the connected call's hangup as before.
    #[test]
    fn only_a_call_that_waits_interns_its_skills() {
        let mut e = engine(QueueConfig::default());
        e.login(0.0, "a", &[("en", 50)], &[("q", 1)], 1).unwrap();
        let en = NewCall {
            skills: &[("en", 40)],
            ..call("c1", None)
        };
        e.enqueue(1.0, &en).unwrap();
        let req_of = |e: &Engine, id: &str| e.call(e.call_index(id).unwrap()).req;
        assert_eq!(req_of(&e, "c1"), Requirements::NONE);
        e.enqueue(
            2.0,
            &NewCall {
                id: "c2",
                ..en.clone()
            },
        )
        .unwrap();
        let req = req_of(&e, "c2");
        assert_ne!(req, Requirements::NONE);
        assert_eq!(e.reqs.get(req).levels().len(), 1);
        let mut e = Engine::restore(&e.snapshot()).unwrap();
        e.hangup(3.0, "c1").unwrap();
        let assigned: Vec<String> = e
            .take_events()
            .iter()
            .filter_map(|ev| match ev {
                Event::Assign { call, .. } => Some(call.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(assigned, ["c2"], "a takes the waiting call when c1 ends");
        // The restored index dropped c1 by its kept hash, as the live one would.
        assert_eq!(e.live_calls(), 1);
        e.enqueue(4.0, &en).unwrap();
        assert_eq!(e.live_calls(), 2);
    }

    /// Live mode: a call offered on arrival interns its skills, so when its offer is declined
    /// it goes back to line still needing them: the agent without the skill never gets it,
    /// the one with it is offered it again after resting.
    #[test]
    fn a_declined_call_keeps_its_skills() {
        let mut e = Engine::new(Options {
            seed: 0,
            auto_accept: false,
        });
        e.add_queue("q", QueueConfig::default()).unwrap();
        e.login(0.0, "en", &[("en", 50)], &[("q", 1)], 1).unwrap();
        let en = NewCall {
            skills: &[("en", 40)],
            ..call("c1", None)
        };
        e.enqueue(1.0, &en).unwrap();
        e.login(1.5, "fr", &[("fr", 50)], &[("q", 1)], 1).unwrap();
        e.reject(2.0, "c1", "en").unwrap();
        let retry = QueueConfig::default().retry;
        e.advance(2.0 + retry).unwrap();
        let offers: Vec<(f64, Vec<String>)> = e
            .take_events()
            .iter()
            .filter_map(|ev| match ev {
                Event::Offer { t, agents, .. } => {
                    Some((*t, agents.iter().map(|a| a.to_string()).collect()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            offers,
            [
                (1.0, vec!["en".to_owned()]),
                (2.0 + retry, vec!["en".to_owned()])
            ]
        );
    }

    /// `since` is the entry time while waiting and the answer time once connected: talk counts
    /// from the answer, and the max wait no longer applies to a connected call.
    #[test]
    fn talk_counts_from_the_answer_and_max_wait_stops_at_it() {
        let mut e = engine(QueueConfig {
            max_wait: Some(100.0),
            escalation: vec![EscalationStep {
                after: 5.0,
                action: Action::RaisePriority(1),
            }],
            ..QueueConfig::default()
        });
        e.enqueue(0.0, &call("c1", None)).unwrap();
        e.login(10.0, "a1", &[], &[("q", 1)], 1).unwrap();
        e.hangup(150.0, "c1").unwrap();
        let seen: Vec<(&str, f64, f64)> = e
            .take_events()
            .iter()
            .map(|ev| match *ev {
                Event::Escalate { t, .. } => ("escalate", t, 0.0),
                Event::Assign { t, wait, .. } => ("assign", t, wait),
                Event::End { t, talk, .. } => ("end", t, talk),
                _ => ("other", 0.0, 0.0),
            })
            .collect();
        let want = [
            ("escalate", 5.0, 0.0),
            ("assign", 10.0, 10.0),
            ("end", 150.0, 140.0),
        ];
        assert_eq!(seen, want);
    }

    /// A sticky call that also overflows keeps both rare fields: it waits in `r` too but only
    /// for its agent until the hold runs out.
    #[test]
    fn a_held_call_keeps_its_hold_when_it_overflows() {
        let mut e = engine(QueueConfig {
            escalation: vec![EscalationStep {
                after: 2.0,
                action: Action::AddQueues(vec!["r".into()]),
            }],
            ..QueueConfig::default()
        });
        e.enqueue(0.0, &call("c1", Some(("vip", 10.0)))).unwrap();
        e.login(4.0, "b", &[], &[("r", 1)], 1).unwrap();
        let snap = e.snapshot();
        for mut e in [e, Engine::restore(&snap).unwrap()] {
            e.advance(9.0).unwrap();
            assert!(
                !e.take_events()
                    .iter()
                    .any(|ev| matches!(ev, Event::Assign { .. }))
            );
            e.advance(10.0).unwrap();
            let events = e.take_events();
            let assign = events.iter().find(|ev| matches!(ev, Event::Assign { .. }));
            let Some(Event::Assign {
                t, agent, queue, ..
            }) = assign
            else {
                panic!("hold ran out, b takes the call: {events:?}");
            };
            assert_eq!((*t, &**agent, &**queue), (10.0, "b", "r"));
        }
    }

    /// `live_calls` counts every call still in the engine, connected ones too.
    #[test]
    fn live_calls_counts_waiting_and_connected_calls() {
        let mut e = engine(QueueConfig::default());
        e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
        e.enqueue(1.0, &call("c1", None)).unwrap();
        e.enqueue(1.0, &call("c2", None)).unwrap();
        assert_eq!(e.live_calls(), 2);
        assert_eq!(e.queue_stats("q").unwrap().waiting, 1);
        e.hangup(2.0, "c1").unwrap();
        e.hangup(3.0, "c2").unwrap();
        assert_eq!(e.live_calls(), 0);
    }

    /// Longest wait comes from a count per arrival time: calls arriving together leave one by
    /// one without losing the earliest time too soon.
    #[test]
    fn longest_wait_counts_calls_that_arrived_together() {
        let mut e = engine(QueueConfig::default());
        for (t, id) in [(5.0, "c1"), (5.0, "c2"), (7.0, "c3")] {
            e.enqueue(t, &call(id, None)).unwrap();
        }
        let longest = |e: &Engine| e.queue_stats("q").unwrap().longest_wait;
        e.hangup(8.0, "c1").unwrap();
        e.advance(10.0).unwrap();
        assert_eq!(longest(&e), 5.0);
        e.hangup(10.0, "c2").unwrap();
        assert_eq!(longest(&e), 3.0);
        e.hangup(10.0, "c3").unwrap();
        assert_eq!(longest(&e), 0.0);
    }

    fn kinds(e: &mut Engine) -> Vec<(&'static str, String, f64)> {
        e.take_events()
            .iter()
            .filter_map(|ev| match ev {
                Event::Timeout { t, call, .. } => Some(("timeout", call.to_string(), *t)),
                Event::Overflow { t, call, .. } => Some(("overflow", call.to_string(), *t)),
                Event::Escalate { t, call, .. } => Some(("escalate", call.to_string(), *t)),
                Event::Assign { t, call, .. } => Some(("assign", call.to_string(), *t)),
                _ => None,
            })
            .collect()
    }

    fn limited(on_limit: OnLimit) -> QueueConfig {
        QueueConfig {
            max_wait: Some(30.0),
            on_limit,
            escalation: vec![EscalationStep {
                after: 40.0,
                action: Action::RaisePriority(1),
            }],
            ..QueueConfig::default()
        }
    }

    /// At max wait the live caller times out; the exempt one (set at entry or later) stays
    /// in line, still escalates, and is the one an agent logging in later takes.
    #[test]
    fn an_exempt_call_outlives_max_wait_and_still_escalates() {
        let mut e = engine(limited(OnLimit::End));
        e.enqueue(0.0, &call("live", None)).unwrap();
        let entry = NewCall {
            max_wait_exempt: true,
            ..call("cb1", None)
        };
        e.enqueue(1.0, &entry).unwrap();
        e.enqueue(2.0, &call("cb2", None)).unwrap();
        e.exempt_max_wait(10.0, "cb2").unwrap();
        assert!(e.call_info("cb1").unwrap().max_wait_exempt);
        assert!(!e.call_info("live").unwrap().max_wait_exempt);
        e.advance(100.0).unwrap();
        let want = [
            ("timeout", "live".to_owned(), 30.0),
            ("escalate", "cb1".to_owned(), 41.0),
            ("escalate", "cb2".to_owned(), 42.0),
        ];
        assert_eq!(kinds(&mut e), want);
        assert_eq!(e.queue_stats("q").unwrap().waiting, 2);
        assert_eq!(e.next_timer_at(), None, "nothing left to time out");
        e.login(500.0, "a", &[], &[("q", 1)], 1).unwrap();
        assert_eq!(kinds(&mut e), [("assign", "cb1".to_owned(), 500.0)]);
    }

    /// An exempt call is not overflowed at max wait either; the flag survives a snapshot,
    /// and a snapshot written before the flag existed (a shorter `Rare`) loads as not exempt.
    #[test]
    fn the_exemption_survives_a_snapshot_and_old_snapshots_load() {
        let mut e = engine(limited(OnLimit::Overflow("r".into())));
        e.enqueue(0.0, &call("live", None)).unwrap();
        e.enqueue(0.0, &call("cb", Some(("vip", 5.0)))).unwrap();
        e.exempt_max_wait(1.0, "cb").unwrap();
        let mut e = Engine::restore(&e.snapshot()).unwrap();
        assert!(e.call_info("cb").unwrap().max_wait_exempt);
        e.advance(60.0).unwrap();
        let events = kinds(&mut e);
        assert_eq!(events[0], ("overflow", "live".to_owned(), 30.0));
        assert!(events.iter().all(|ev| ev.1 == "live" || ev.0 == "escalate"));
        assert_eq!(e.call_info("cb").unwrap().queue.as_ref(), "q");

        let old = rmp_serde::to_vec(&(Vec::<u32>::new(), None::<Hold>)).unwrap();
        let rare: Rare = rmp_serde::from_slice(&old).unwrap();
        assert!(!rare.max_wait_exempt && rare.is_empty());
    }

    #[test]
    fn exempting_a_connected_or_unknown_call_is_refused() {
        let mut e = engine(limited(OnLimit::End));
        e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
        e.enqueue(1.0, &call("c1", None)).unwrap();
        let err = e.exempt_max_wait(2.0, "c1").unwrap_err();
        assert!(matches!(err, Error::State(_)), "{err}");
        let err = e.exempt_max_wait(2.0, "nope").unwrap_err();
        assert!(matches!(err, Error::Unknown { .. }), "{err}");
    }
}
