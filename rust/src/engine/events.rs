//! Events as the engine records them: slot numbers and times, no ids. Every public `Event`
//! carries two or three `Arc<str>` ids, and cloning one (and dropping it later) writes the id's
//! reference count, a random cache line per call, agent and queue; a host that only counts
//! (the simulator) reads the numbers instead, and the ids are looked up only for hosts that
//! drain public events.
//!
//! A call's slot stays its own until the events that name it are drained: a slot freed by an
//! ending call goes back to the free list only at the next drain (public or raw), and the freed
//! call's id waits beside it (`Engine::freed_ids`), so converting an event never meets another
//! call in its slot. A host that never drains holds one freed slot per ended call, as it already
//! holds one event.

use serde::de::Deserializer;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::model::{Action, Event, Id, Unoffer};

/// One event by numbers. `call` is the call's slot (`CallKey::slot` of `enqueue_keyed`), valid
/// for the events of one drain; `agent` and `queue` are the engine's agent and queue numbers
/// (`Engine::agent_id_at`, `Engine::queue_id_at`), which never change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawEvent {
    /// The agents rung are `RawEvents::agents(first, count)`.
    Offer {
        t: f64,
        call: u32,
        queue: u32,
        first: u32,
        count: u32,
    },
    Unoffer {
        t: f64,
        call: u32,
        agent: u32,
        why: Unoffer,
    },
    Assign {
        t: f64,
        call: u32,
        agent: u32,
        queue: u32,
        wait: f64,
    },
    Abandon {
        t: f64,
        call: u32,
        queue: u32,
        wait: f64,
    },
    Withdraw {
        t: f64,
        call: u32,
        queue: u32,
        wait: f64,
    },
    End {
        t: f64,
        call: u32,
        agent: u32,
        queue: u32,
        talk: f64,
    },
    Timeout {
        t: f64,
        call: u32,
        queue: u32,
        wait: f64,
    },
    Overflow {
        t: f64,
        call: u32,
        from: u32,
        to: Option<u32>,
        wait: f64,
    },
    Escalate {
        t: f64,
        call: u32,
        queue: u32,
        step: u32,
    },
    /// The target is the `Action::Fallback` of the queue's escalation step `step`.
    Fallback {
        t: f64,
        call: u32,
        queue: u32,
        step: u32,
        wait: f64,
    },
    /// The reason is always "no-answer".
    AutoPause { t: f64, agent: u32 },
}

impl RawEvent {
    /// The kind as the public event's `Event::code` (its index in `Event::KINDS`).
    pub fn code(&self) -> u8 {
        match self {
            RawEvent::Offer { .. } => 0,
            RawEvent::Unoffer { .. } => 1,
            RawEvent::Assign { .. } => 2,
            RawEvent::Abandon { .. } => 3,
            RawEvent::End { .. } => 4,
            RawEvent::Timeout { .. } => 5,
            RawEvent::Overflow { .. } => 6,
            RawEvent::Escalate { .. } => 7,
            RawEvent::Fallback { .. } => 8,
            RawEvent::AutoPause { .. } => 9,
            RawEvent::Withdraw { .. } => 10,
        }
    }

    pub fn t(&self) -> f64 {
        match *self {
            RawEvent::Offer { t, .. }
            | RawEvent::Unoffer { t, .. }
            | RawEvent::Assign { t, .. }
            | RawEvent::Abandon { t, .. }
            | RawEvent::End { t, .. }
            | RawEvent::Timeout { t, .. }
            | RawEvent::Overflow { t, .. }
            | RawEvent::Escalate { t, .. }
            | RawEvent::Fallback { t, .. }
            | RawEvent::AutoPause { t, .. }
            | RawEvent::Withdraw { t, .. } => t,
        }
    }
}

/// A batch of raw events and the agent lists of its offers.
#[derive(Debug, Clone, Default)]
pub struct RawEvents {
    pub events: Vec<RawEvent>,
    offered: Vec<u32>,
}

impl RawEvents {
    /// The agents an `Offer` of this batch rang.
    pub fn agents(&self, first: u32, count: u32) -> &[u32] {
        &self.offered[first as usize..(first + count) as usize]
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.offered.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn append(&mut self, other: &mut RawEvents) {
        if self.is_empty() {
            // Trade buffers: nothing is copied and both keep their capacity.
            self.offered.clear();
            std::mem::swap(self, other);
            return;
        }
        let base = self.offered.len() as u32;
        self.events.extend(other.events.drain(..).map(|mut ev| {
            if let RawEvent::Offer { first, .. } = &mut ev {
                *first += base;
            }
            ev
        }));
        self.offered.append(&mut other.offered);
    }
}

/// The ids behind the numbers of the pending raw events (`Engine::with_raw_events`).
pub struct EventNames<'a> {
    engine: &'a Engine,
}

impl EventNames<'_> {
    /// The id of the call in slot `c`: live, or ended since the last drain.
    pub fn call(&self, c: u32) -> &str {
        let e = self.engine;
        match &e.calls[c as usize] {
            Some(call) => &call.id,
            None => e.freed_ids[c as usize]
                .as_deref()
                .expect("an event's call is live or freed since the last drain"),
        }
    }

    pub fn agent(&self, a: u32) -> &str {
        &self.engine.agents[a as usize].id
    }

    pub fn queue(&self, q: u32) -> &str {
        &self.engine.queues[q as usize].id
    }
}

/// Free call slots, serialized as one list with the slots still waiting for a drain
/// (`retired`), so a snapshot reads as it did before slots were held back.
#[derive(Debug, Clone, Default)]
pub(crate) struct FreeSlots {
    pub free: Vec<u32>,
    pub retired: Vec<u32>,
}

impl Serialize for FreeSlots {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.free.len() + self.retired.len()))?;
        for c in self.free.iter().chain(&self.retired) {
            seq.serialize_element(c)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for FreeSlots {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FreeSlots {
            free: Vec::deserialize(d)?,
            retired: Vec::new(),
        })
    }
}

impl Engine {
    pub(crate) fn emit(&mut self, ev: RawEvent) {
        self.raw.events.push(ev);
    }

    /// Records an offer to the call's current agents.
    pub(crate) fn emit_offer(&mut self, t: f64, c: u32, q: u32) {
        let first = self.raw.offered.len() as u32;
        let call = self.calls[c as usize].as_ref().expect("live call slot");
        self.raw.offered.extend_from_slice(&call.agents);
        self.raw.events.push(RawEvent::Offer {
            t,
            call: c,
            queue: q,
            first,
            count: call.agents.len() as u32,
        });
    }

    /// Moves the pending raw events into `out` (appended; an empty `out` trades buffers), and
    /// lets the slots of calls that ended be reused. Events put back with `unread_events`
    /// stay for the public drains.
    pub fn drain_raw_events_into(&mut self, out: &mut RawEvents) {
        out.append(&mut self.raw);
        self.release_retired();
    }

    /// Lends the pending raw events to `f` with their ids borrowed (`EventNames`), then drops
    /// them as `drain_raw_events_into` does: for hosts that write ids out (the replay) without
    /// an `Arc` clone per event. Events put back with `unread_events` stay for the public drains.
    pub fn with_raw_events<R>(&mut self, f: impl FnOnce(&RawEvents, &EventNames<'_>) -> R) -> R {
        let names = EventNames { engine: self };
        let r = f(&self.raw, &names);
        self.raw.clear();
        self.release_retired();
        r
    }

    /// The id of agent number `a` (as raw events name it).
    pub fn agent_id_at(&self, a: u32) -> Option<&Id> {
        self.agents.get(a as usize).map(|ag| &ag.id)
    }

    /// The id of queue number `q` (as raw events name it).
    pub fn queue_id_at(&self, q: u32) -> Option<&Id> {
        self.queues.get(q as usize).map(|queue| &queue.id)
    }

    fn release_retired(&mut self) {
        for c in self.free_calls.retired.drain(..) {
            self.freed_ids[c as usize] = None;
            self.free_calls.free.push(c);
        }
    }

    /// The pending events as public events after `out`'s own, with their ids; then as
    /// `drain_raw_events_into`.
    pub(crate) fn publish_into(&mut self, out: &mut Vec<Event>) {
        if !self.unread.is_empty() {
            if out.is_empty() {
                std::mem::swap(out, &mut self.unread);
            } else {
                out.append(&mut self.unread);
            }
        }
        let mut raw = std::mem::take(&mut self.raw);
        out.reserve(raw.events.len());
        for &ev in &raw.events {
            let public = self.publish(&raw, ev);
            out.push(public);
        }
        raw.clear();
        self.raw = raw;
        self.release_retired();
    }

    fn agent_name(&self, a: u32) -> Id {
        self.agents[a as usize].id.clone()
    }

    fn queue_name(&self, q: u32) -> Id {
        self.queues[q as usize].id.clone()
    }

    /// A live call's id, or a freed one's (which it still names until the drain).
    fn call_name(&self, c: u32) -> Id {
        match &self.calls[c as usize] {
            Some(call) => call.id.clone(),
            None => self.freed_ids[c as usize]
                .clone()
                .expect("an event's call is live or freed since the last drain"),
        }
    }

    /// The id of a call this event ended: the call's last event of the batch, so the id moves
    /// out of the side table instead of being cloned.
    fn ended_name(&mut self, c: u32) -> Id {
        self.freed_ids[c as usize]
            .take()
            .expect("an ended call's id waits for the drain")
    }

    fn publish(&mut self, raw: &RawEvents, ev: RawEvent) -> Event {
        match ev {
            RawEvent::Offer {
                t,
                call,
                queue,
                first,
                count,
            } => Event::Offer {
                t,
                call: self.call_name(call),
                queue: self.queue_name(queue),
                agents: raw
                    .agents(first, count)
                    .iter()
                    .map(|&a| self.agent_name(a))
                    .collect(),
            },
            RawEvent::Unoffer {
                t,
                call,
                agent,
                why,
            } => Event::Unoffer {
                t,
                call: self.call_name(call),
                agent: self.agent_name(agent),
                why,
            },
            RawEvent::Assign {
                t,
                call,
                agent,
                queue,
                wait,
            } => Event::Assign {
                t,
                call: self.call_name(call),
                agent: self.agent_name(agent),
                queue: self.queue_name(queue),
                wait,
            },
            RawEvent::Abandon {
                t,
                call,
                queue,
                wait,
            } => Event::Abandon {
                t,
                call: self.ended_name(call),
                queue: self.queue_name(queue),
                wait,
            },
            RawEvent::Withdraw {
                t,
                call,
                queue,
                wait,
            } => Event::Withdraw {
                t,
                call: self.ended_name(call),
                queue: self.queue_name(queue),
                wait,
            },
            RawEvent::End {
                t,
                call,
                agent,
                queue,
                talk,
            } => Event::End {
                t,
                call: self.ended_name(call),
                agent: self.agent_name(agent),
                queue: self.queue_name(queue),
                talk,
            },
            RawEvent::Timeout {
                t,
                call,
                queue,
                wait,
            } => Event::Timeout {
                t,
                call: self.ended_name(call),
                queue: self.queue_name(queue),
                wait,
            },
            RawEvent::Overflow {
                t,
                call,
                from,
                to,
                wait,
            } => Event::Overflow {
                t,
                // Refused (no next queue): the call ended with this event.
                call: if to.is_some() {
                    self.call_name(call)
                } else {
                    self.ended_name(call)
                },
                from: self.queue_name(from),
                to: to.map(|q| self.queue_name(q)),
                wait,
            },
            RawEvent::Escalate {
                t,
                call,
                queue,
                step,
            } => Event::Escalate {
                t,
                call: self.call_name(call),
                queue: self.queue_name(queue),
                step,
            },
            RawEvent::Fallback {
                t,
                call,
                queue,
                step,
                wait,
            } => {
                let target = match &self.queues[queue as usize].cfg.escalation[step as usize].action
                {
                    Action::Fallback(target) => Id::from(target.as_str()),
                    other => unreachable!("fallback event from step {other:?}"),
                };
                Event::Fallback {
                    t,
                    call: self.ended_name(call),
                    queue: self.queue_name(queue),
                    target,
                    wait,
                }
            }
            RawEvent::AutoPause { t, agent } => Event::AutoPause {
                t,
                agent: self.agent_name(agent),
                reason: "no-answer".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RawEvent;
    use crate::model::{Action, EscalationStep, Event, QueueConfig};
    use crate::{Engine, NewCall, Options, RawEvents};

    fn call(id: &str) -> NewCall<'_> {
        NewCall {
            id,
            queue: "q",
            ..NewCall::default()
        }
    }

    fn summary(events: &[Event]) -> Vec<(&'static str, String)> {
        events
            .iter()
            .map(|ev| {
                let call = match ev {
                    Event::Escalate { call, .. }
                    | Event::Timeout { call, .. }
                    | Event::Assign { call, .. }
                    | Event::End { call, .. } => call.to_string(),
                    other => panic!("unexpected {other:?}"),
                };
                (ev.kind(), call)
            })
            .collect()
    }

    /// A call that times out frees its slot; the next enqueue of the same batch must not take
    /// that slot while the timed-out call's events are still undrained.
    #[test]
    fn a_slot_freed_in_a_batch_is_not_reused_before_the_drain() {
        let mut e = Engine::new(Options {
            seed: 0,
            auto_accept: true,
        });
        e.add_queue(
            "q",
            QueueConfig {
                max_wait: Some(10.0),
                escalation: vec![EscalationStep {
                    after: 5.0,
                    action: Action::RaisePriority(1),
                }],
                ..QueueConfig::default()
            },
        )
        .unwrap();
        e.enqueue(0.0, &call("x")).unwrap();
        e.login(20.0, "a", &[], &[("q", 1)], 1).unwrap();
        e.enqueue(20.0, &call("y")).unwrap();
        e.hangup(30.0, "y").unwrap();
        let events = e.take_events();
        assert_eq!(
            summary(&events),
            [
                ("escalate", "x".to_owned()),
                ("timeout", "x".to_owned()),
                ("assign", "y".to_owned()),
                ("end", "y".to_owned()),
            ]
        );
        // After the drain both slots are free again: the next two calls reuse them.
        e.enqueue(31.0, &call("z")).unwrap();
        assert_eq!(summary(&e.take_events()), [("assign", "z".to_owned())]);
    }

    /// The raw events are the public ones by numbers: the same kinds, times and figures, and
    /// their numbers name the same agents and queues.
    #[test]
    fn raw_events_match_the_public_ones() {
        let run = |raw: bool| {
            let mut e = Engine::new(Options {
                seed: 3,
                auto_accept: false,
            });
            e.add_queue("q", QueueConfig::default()).unwrap();
            e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
            e.login(0.0, "b", &[], &[("q", 1)], 1).unwrap();
            e.enqueue(1.0, &call("c1")).unwrap();
            e.accept(2.0, "c1", "a").unwrap();
            e.enqueue(3.0, &call("c2")).unwrap();
            // b misses c2 three times in a row (15 s ring timeout, 5 s rest): auto-paused.
            e.advance(100.0).unwrap();
            e.hangup(101.0, "c1").unwrap();
            e.hangup(102.0, "c2").unwrap();
            let mut public = Vec::new();
            let mut raws = RawEvents::default();
            if raw {
                e.drain_raw_events_into(&mut raws);
            } else {
                e.drain_events_into(&mut public);
            }
            (e, public, raws)
        };
        let (_, public, _) = run(false);
        let (e, _, raw) = run(true);
        assert_eq!(public.len(), raw.events.len());
        assert!(public.iter().any(|ev| ev.kind() == "auto-pause"));
        let agent = |a: u32| e.agent_id_at(a).unwrap().to_string();
        let queue = |q: u32| e.queue_id_at(q).unwrap().to_string();
        for (p, r) in public.iter().zip(&raw.events) {
            assert_eq!((p.code(), p.t()), (r.code(), r.t()));
            match (p, *r) {
                (
                    Event::Offer {
                        queue: q, agents, ..
                    },
                    RawEvent::Offer {
                        queue: rq,
                        first,
                        count,
                        ..
                    },
                ) => {
                    assert_eq!(**q, queue(rq));
                    let rung: Vec<String> =
                        raw.agents(first, count).iter().map(|&a| agent(a)).collect();
                    assert_eq!(
                        agents.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                        rung
                    );
                }
                (
                    Event::Unoffer { agent: a, why, .. },
                    RawEvent::Unoffer {
                        agent: ra, why: rw, ..
                    },
                ) => assert_eq!((&**a, *why), (agent(ra).as_str(), rw)),
                (
                    Event::Assign { agent: a, wait, .. },
                    RawEvent::Assign {
                        agent: ra,
                        wait: rw,
                        ..
                    },
                ) => assert_eq!((&**a, *wait), (agent(ra).as_str(), rw)),
                (Event::End { talk, .. }, RawEvent::End { talk: rt, .. }) => {
                    assert_eq!(*talk, rt)
                }
                (Event::Abandon { wait, .. }, RawEvent::Abandon { wait: rw, .. }) => {
                    assert_eq!(*wait, rw)
                }
                (Event::AutoPause { agent: a, .. }, RawEvent::AutoPause { agent: ra, .. }) => {
                    assert_eq!(**a, agent(ra))
                }
                (p, r) => panic!("{p:?} came as {r:?}"),
            }
        }
    }

    /// Slots held back for the drain are saved as free: a snapshot reads the same before and
    /// after the drain, and the restored engine reuses them.
    #[test]
    fn a_snapshot_counts_held_back_slots_as_free() {
        let mut e = Engine::new(Options {
            seed: 0,
            auto_accept: true,
        });
        e.add_queue("q", QueueConfig::default()).unwrap();
        e.login(0.0, "a", &[], &[("q", 1)], 1).unwrap();
        e.enqueue(1.0, &call("c1")).unwrap();
        e.hangup(2.0, "c1").unwrap();
        let before = e.snapshot();
        e.take_events();
        assert_eq!(before, e.snapshot());
        let mut r = Engine::restore(&before).unwrap();
        r.enqueue(3.0, &call("c2")).unwrap();
        assert_eq!(
            r.calls.len(),
            1,
            "the restored engine reuses the freed slot"
        );
    }
}
