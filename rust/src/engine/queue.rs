//! A queue at run time: its configuration, the index of its available agents, its waiting calls
//! and its counters.
//!
//! Waiting calls are kept three ways, each for one question:
//! - `classes`: one ordered set per distinct skill requirement, by the dispatch key. An agent
//!   freeing up looks only at the head of each class it qualifies for, so a French speaker never
//!   walks past a hundred Spanish calls.
//! - `ranked`: every waiting call in one ordered set that counts, for a caller's position.
//!
//! Both kinds of set are treaps whose nodes live in the engine's one arena (`Engine::waits`):
//! a queue or class holds only its root.
//! - `by_arrival`: for the longest current wait, a count per arrival time (the earliest is all
//!   that is ever asked for).
//!
//! Priority aging keeps a static key: a call's effective priority at `now` is
//! `p + aging * (now - arrival)`, so ordering by `p - aging * arrival` is the same at every `now`
//! and no call ever needs re-sorting as time passes.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::avail::AvailIndex;
use crate::model::{AgentState, Id, QueueConfig, Strategy};
use crate::ranked::{Root, Treaps};
use crate::time::Time;

/// Order of waiting calls within a queue: highest aged priority, then earliest arrival. Calls
/// are numbered (`seq`) as they arrive and time never goes back, so `seq` orders arrivals and
/// breaks their ties at once: the key needs no arrival time of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct WaitKey {
    pub prio: Reverse<Time>,
    pub seq: u64,
    pub call: u32,
}

/// Order of available agents in a queue; what `a` and `b` hold depends on the strategy
/// (see `agent::avail_key`). The login sequence ends every order, so there are no ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct AvailKey {
    pub a: Time,
    pub b: Time,
    pub seq: u64,
    pub agent: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Class {
    /// Id in the engine's `Requirements`.
    pub req: u32,
    /// Root of the class's calls in `Engine::waits`.
    pub calls: Root,
}

/// Running totals since the engine started (or was restored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueCounters {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub answered_within_sl: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub fallback: u64,
    /// Calls that entered and have not yet been answered or left.
    pub waiting: u64,
    pub ended: u64,
    pub wait_sum: f64,
    pub talk_sum: f64,
}

/// Field order is the layout (`repr(C)`), and the record starts on a cache line
/// (`align(64)`): every change of an agent touches each of its queues' availability index and
/// state counts, and here those are lines 0 and 1 (with a copy of the strategy the index key
/// needs), where the unordered 496-byte record spread them over three of its eight lines.
/// Snapshots go through `QueueWire`, the fields in their order of before, so the snapshot format
/// is unchanged.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "QueueWire<'static>")]
#[repr(C, align(64))]
pub(crate) struct Queue {
    // Line 0.
    /// Available members in the strategy's order (`avail.rs`).
    pub avail: AvailIndex,
    // Line 1.
    /// Member agents by shown state, kept on every transition so wallboards read it in O(1).
    pub by_state: [u32; 6],
    /// `cfg.strategy` (the configuration never changes after `add_queue`), beside the index
    /// whose keys it orders.
    pub strategy: Strategy,
    /// Root of all its waiting calls in `Engine::waits`.
    pub ranked: Root,
    pub classes: Vec<Class>,
    /// `cfg.on_limit` resolved to a queue index.
    pub overflow_to: Option<u32>,
    // The rest: read per call rather than per agent change.
    pub cfg: QueueConfig,
    pub class_of: FxHashMap<u32, u32>,
    /// Waiting calls by arrival time, counted: only the earliest is ever asked for.
    pub by_arrival: BTreeMap<Time, u32>,
    /// Login sequence of the agent this queue last gave a call to (round-robin).
    pub rr_last: Option<u64>,
    pub counters: QueueCounters,
    /// Smoothed handle time (talk + wrap-up) of recent calls, for wait estimates.
    pub aht: Option<f64>,
    pub id: Id,
    /// Queue indices of each escalation step's `AddQueues`, resolved.
    pub step_queues: Vec<Vec<u32>>,
    /// Member agents in wrap-up that will be free when it ends (no pause or logout pending),
    /// by its end: the earliest is what "an agent is about to be free" asks
    /// (`Engine::agent_free_in`). Kept by `Engine::change_agent` once a host asks
    /// (`Engine::track_wrapups`); not in the snapshot (built again when first asked).
    pub wrapping: BTreeSet<(Time, u32)>,
}

/// A queue as snapshots hold it: the fields in the order `Queue` had before its layout was
/// arranged for routing (`strategy` is `cfg.strategy`, `wrapping` is built again). The big
/// fields are `Cow`s: a snapshot borrows them (no copy of a million waiting calls' indexes),
/// a restore owns them.
#[derive(Serialize, Deserialize)]
struct QueueWire<'a> {
    id: Id,
    cfg: Cow<'a, QueueConfig>,
    overflow_to: Option<u32>,
    step_queues: Cow<'a, [Vec<u32>]>,
    avail: Cow<'a, AvailIndex>,
    classes: Cow<'a, [Class]>,
    class_of: Cow<'a, FxHashMap<u32, u32>>,
    ranked: Root,
    by_arrival: Cow<'a, BTreeMap<Time, u32>>,
    rr_last: Option<u64>,
    counters: QueueCounters,
    by_state: [u32; 6],
    aht: Option<f64>,
}

impl From<QueueWire<'static>> for Queue {
    fn from(w: QueueWire<'static>) -> Queue {
        let cfg = w.cfg.into_owned();
        Queue {
            avail: w.avail.into_owned(),
            by_state: w.by_state,
            strategy: cfg.strategy,
            ranked: w.ranked,
            classes: w.classes.into_owned(),
            overflow_to: w.overflow_to,
            cfg,
            class_of: w.class_of.into_owned(),
            by_arrival: w.by_arrival.into_owned(),
            rr_last: w.rr_last,
            counters: w.counters,
            aht: w.aht,
            id: w.id,
            step_queues: w.step_queues.into_owned(),
            wrapping: BTreeSet::new(),
        }
    }
}

impl Serialize for Queue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        QueueWire {
            id: self.id.clone(),
            cfg: Cow::Borrowed(&self.cfg),
            overflow_to: self.overflow_to,
            step_queues: Cow::Borrowed(&self.step_queues[..]),
            avail: Cow::Borrowed(&self.avail),
            classes: Cow::Borrowed(&self.classes[..]),
            class_of: Cow::Borrowed(&self.class_of),
            ranked: self.ranked,
            by_arrival: Cow::Borrowed(&self.by_arrival),
            rr_last: self.rr_last,
            counters: self.counters.clone(),
            by_state: self.by_state,
            aht: self.aht,
        }
        .serialize(s)
    }
}

impl Queue {
    pub fn new(
        id: Id,
        cfg: QueueConfig,
        overflow_to: Option<u32>,
        step_queues: Vec<Vec<u32>>,
    ) -> Self {
        Queue {
            strategy: cfg.strategy,
            id,
            cfg,
            overflow_to,
            step_queues,
            avail: AvailIndex::default(),
            classes: Vec::new(),
            class_of: FxHashMap::default(),
            ranked: Root::default(),
            by_arrival: BTreeMap::new(),
            rr_last: None,
            counters: QueueCounters::default(),
            by_state: [0; 6],
            aht: None,
            wrapping: BTreeSet::new(),
        }
    }

    pub fn wait_key(&self, priority: f64, arrival: f64, seq: u64, call: u32) -> WaitKey {
        WaitKey {
            prio: Reverse(Time(priority - self.cfg.aging * arrival)),
            seq,
            call,
        }
    }

    /// Effective priority of a waiting call at `t`, comparable across queues.
    pub fn priority_at(&self, key: &WaitKey, t: f64) -> f64 {
        key.prio.0.0 + self.cfg.aging * t
    }

    pub fn class_insert(&mut self, waits: &mut Treaps<WaitKey>, req: u32, key: WaitKey) {
        let idx = match self.class_of.get(&req) {
            Some(&i) => i as usize,
            None => {
                self.classes.push(Class {
                    req,
                    calls: Root::default(),
                });
                self.class_of.insert(req, (self.classes.len() - 1) as u32);
                self.classes.len() - 1
            }
        };
        waits.insert(&mut self.classes[idx].calls, key);
    }

    pub fn class_remove(&mut self, waits: &mut Treaps<WaitKey>, req: u32, key: &WaitKey) {
        let Some(&i) = self.class_of.get(&req) else {
            return;
        };
        let i = i as usize;
        waits.remove(&mut self.classes[i].calls, key);
        if self.classes[i].calls.is_empty() {
            self.class_of.remove(&req);
            self.classes.swap_remove(i);
            if i < self.classes.len() {
                self.class_of.insert(self.classes[i].req, i as u32);
            }
        }
    }

    pub fn arrival_remove(&mut self, arrival: f64) {
        match self.by_arrival.get_mut(&Time(arrival)) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.by_arrival.remove(&Time(arrival));
            }
            None => {}
        }
    }

    pub fn arrival_insert(&mut self, arrival: f64) {
        let n = self.by_arrival.entry(Time(arrival)).or_default();
        *n = n.saturating_add(1);
    }

    pub fn count_state(&mut self, state: AgentState, delta: i32) {
        let slot = &mut self.by_state[state.index()];
        *slot = slot.saturating_add_signed(delta);
    }

    /// Members logged in and not paused.
    pub fn staffed(&self) -> u32 {
        self.by_state.iter().sum::<u32>()
            - self.by_state[AgentState::LoggedOut.index()]
            - self.by_state[AgentState::Paused.index()]
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::Queue;

    /// What an agent's change touches in each of its queues stays in lines 0 and 1.
    #[test]
    fn agent_change_fields_sit_in_two_cache_lines() {
        assert_eq!(align_of::<Queue>(), 64);
        assert_eq!(offset_of!(Queue, avail), 0);
        assert!(size_of::<super::AvailIndex>() <= 64);
        for off in [
            offset_of!(Queue, by_state),
            offset_of!(Queue, strategy),
            offset_of!(Queue, ranked),
            offset_of!(Queue, classes) + 23,
        ] {
            assert_eq!(off / 64, 1, "offset {off}");
        }
    }
}
