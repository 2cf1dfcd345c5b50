//! The engine's pending timers: a binary min-heap with lazy cancellation.
//!
//! Why a heap: timers are set and cancelled far more often than they fire (nearly every
//! waiting call's deadline is cancelled when an agent takes it), and the host asks for the next
//! one after every operation. A heap gives O(log n) insert and pop, O(1) `next_at`, and
//! cancellation costs a hash-set insert instead of a tree removal: a cancelled entry stays in
//! the heap, marked by its sequence number, and is dropped when it reaches the top. The top is
//! always kept live (cancelling it pops it and any cancelled entries under it), so `next_at` is
//! exact. When cancelled entries outnumber live ones the heap is rebuilt without them, so memory
//! stays within twice the live timers and every entry is touched O(1) times amortized.
//!
//! Firing order is the key's order: time, then the order the timers were set, exactly as the
//! B-tree this replaces. Snapshots keep the B-tree's form (a map of the live timers), so the
//! snapshot format is unchanged.

use rustc_hash::FxHashSet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::num::NonZeroU64;

use super::{Timer, TimerKey};
use crate::time::Time;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: TimerKey,
    timer: Timer,
}

// Ordered by key only: keys are unique (the sequence number), so this is a total order.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Sequence numbers of entries still in `heap` that no longer count.
    cancelled: FxHashSet<NonZeroU64>,
}

impl Timers {
    pub fn insert(&mut self, key: TimerKey, timer: Timer) {
        self.heap.push(Reverse(Entry { key, timer }));
    }

    /// Cancels a pending timer. The caller only cancels keys it holds, which are pending: a
    /// timer that fired is forgotten by its owner before it runs.
    pub fn cancel(&mut self, key: TimerKey) {
        self.cancelled.insert(key.1);
        self.drop_cancelled_top();
        if self.cancelled.len() > 32 && self.cancelled.len() * 2 > self.heap.len() {
            let cancelled = std::mem::take(&mut self.cancelled);
            let mut entries = std::mem::take(&mut self.heap).into_vec();
            entries.retain(|e| !cancelled.contains(&e.0.key.1));
            self.heap = BinaryHeap::from(entries);
        }
    }

    /// When the earliest pending timer fires.
    pub fn next_at(&self) -> Option<f64> {
        self.heap.peek().map(|e| e.0.key.0.0)
    }

    /// Takes the earliest pending timer if it is due at or before `until`.
    pub fn pop_due(&mut self, until: Time) -> Option<(TimerKey, Timer)> {
        let top = self.heap.peek()?;
        if top.0.key.0 > until {
            return None;
        }
        let Reverse(e) = self.heap.pop().expect("peeked");
        self.drop_cancelled_top();
        Some((e.key, e.timer))
    }

    /// Pending timers, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (TimerKey, Timer)> + '_ {
        self.heap
            .iter()
            .filter(|e| !self.cancelled.contains(&e.0.key.1))
            .map(|e| (e.0.key, e.0.timer))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled.len().min(self.heap.len())
    }

    fn drop_cancelled_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            if !self.cancelled.remove(&top.0.key.1) {
                break;
            }
            self.heap.pop();
        }
    }
}

impl Serialize for Timers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let live: BTreeMap<TimerKey, Timer> = self.iter().collect();
        live.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Timers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let live = BTreeMap::<TimerKey, Timer>::deserialize(d)?;
        Ok(Timers {
            heap: live
                .into_iter()
                .map(|(key, timer)| Reverse(Entry { key, timer }))
                .collect(),
            cancelled: FxHashSet::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: f64, seq: u64) -> TimerKey {
        (Time(t), NonZeroU64::new(seq).unwrap())
    }

    fn drain(ts: &mut Timers) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some((k, _)) = ts.pop_due(Time(f64::MAX)) {
            out.push(k.1.get());
        }
        out
    }

    /// Time first, then the order set; a cancelled timer never fires and never shows as next.
    #[test]
    fn fires_in_key_order_and_skips_cancelled() {
        let mut ts = Timers::default();
        for (i, t) in [5.0, 1.0, 3.0, 1.0, 9.0].into_iter().enumerate() {
            ts.insert(key(t, i as u64 + 1), Timer::WrapEnd(i as u32));
        }
        ts.cancel(key(1.0, 2));
        assert_eq!(ts.next_at(), Some(1.0));
        ts.cancel(key(1.0, 4));
        assert_eq!(ts.next_at(), Some(3.0));
        assert_eq!(ts.len(), 3);
        assert_eq!(ts.pop_due(Time(2.0)), None);
        assert_eq!(drain(&mut ts), vec![3, 1, 5]);
        assert_eq!(ts.next_at(), None);
    }

    /// Many cancellations rebuild the heap: memory follows the live timers, order is kept.
    #[test]
    fn cancelled_entries_do_not_pile_up() {
        let mut ts = Timers::default();
        for i in 1..=10_000u64 {
            ts.insert(key((i % 97) as f64, i), Timer::RestEnd(0));
        }
        for i in (1..=10_000u64).filter(|i| i % 10 != 0) {
            ts.cancel(key((i % 97) as f64, i));
        }
        assert_eq!(ts.len(), 1_000);
        assert!(ts.heap.len() <= 2 * 1_000 + 33, "{} entries", ts.heap.len());
        let mut want: Vec<(u64, u64)> = (1..=10_000u64)
            .filter(|i| i % 10 == 0)
            .map(|i| (i % 97, i))
            .collect();
        want.sort();
        let want: Vec<u64> = want.into_iter().map(|w| w.1).collect();
        assert_eq!(drain(&mut ts), want);
    }

    /// The snapshot form is the live timers as a sorted map, as before the heap.
    #[test]
    fn serializes_as_the_map_of_live_timers() {
        let mut ts = Timers::default();
        ts.insert(key(2.0, 1), Timer::Deadline(7));
        ts.insert(key(1.0, 2), Timer::OfferTimeout(3));
        ts.insert(key(4.0, 3), Timer::WrapEnd(1));
        ts.cancel(key(4.0, 3));
        let bytes = rmp_serde::to_vec(&ts).unwrap();
        let map: BTreeMap<TimerKey, Timer> = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(
            map.into_iter().collect::<Vec<_>>(),
            vec![
                (key(1.0, 2), Timer::OfferTimeout(3)),
                (key(2.0, 1), Timer::Deadline(7))
            ]
        );
        let mut back: Timers = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(drain(&mut back), vec![2, 1]);
    }
}
