//! A queue's index of available agents, in the order of their `AvailKey`s: the same order a
//! `BTreeSet<AvailKey>` gives, at less cost for the strategies whose key is the idle time.
//!
//! An agent enters the indexes of all its queues whenever it becomes free and leaves them
//! whenever it takes a call, so entering and leaving are the hot path. Under longest-idle (and
//! every strategy ordered by idle time) an agent becomes free at the engine's current time,
//! which never goes back: it enters at the end. So the index is a sorted `line` (a vector whose
//! front moves up as entries go), where an entry at the end is pushed in O(1), and leaving marks the entry dead in O(1) through the
//! position its membership remembers (`Membership::place`); dead entries at either end are
//! dropped at once, those inside when they outnumber the live ones (one pass, amortized O(1)).
//! An agent whose key sorts before the line's end (fewest-calls, least-talk-time, linear and
//! round-robin, or equal idle times with a lower login sequence) goes into a `side` B-tree
//! instead, O(log n) as before; walking the index merges the two, and a compaction moves the
//! side entries into the line.

use std::collections::{BTreeSet, btree_set};
use std::slice;

use serde::de::Deserializer;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::queue::AvailKey;
use crate::time::Time;

/// Where an agent's entry in one queue's index is: out of it, in the side set, or in the line
/// at a position counted from the line's first entry ever, wrapping at 2^31. Packed in 4 bytes
/// (the top bit marks out / side) so a `Membership` is 16 bytes and two fit inline in the
/// agent's record beside its id (see `Agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place(u32);

/// Line positions wrap within these bits; a line never holds 2^31 entries (it holds a few
/// times a queue's available agents plus `SLACK`: live ones, dead ones awaiting compaction and
/// a drained prefix awaiting the trim).
const POS: u32 = (1 << 31) - 1;

impl Place {
    /// Not in the index.
    pub const OUT: Place = Place(u32::MAX);
    /// In the side set.
    pub const SIDE: Place = Place(u32::MAX - 1);

    /// In the line at this position (wrapping).
    fn line(pos: u32) -> Place {
        Place(pos & POS)
    }

    /// The line position, for a line entry.
    fn in_line(self) -> Option<u32> {
        (self.0 <= POS).then_some(self.0)
    }
}

impl Default for Place {
    fn default() -> Self {
        Place::OUT
    }
}

/// A line entry: the key's fields inline with the dead mark (32 bytes, the key's own size).
#[derive(Debug, Clone, Copy)]
struct Entry {
    a: Time,
    b: Time,
    seq: u64,
    agent: u32,
    dead: bool,
}

impl Entry {
    fn key(&self) -> AvailKey {
        AvailKey {
            a: self.a,
            b: self.b,
            seq: self.seq,
            agent: self.agent,
        }
    }

    fn live(key: AvailKey) -> Entry {
        Entry {
            a: key.a,
            b: key.b,
            seq: key.seq,
            agent: key.agent,
            dead: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct AvailIndex {
    /// From `start` on: sorted by key, dead entries included; the first and the last are live.
    /// Entries before `start` have left (cut off now and then, `trim`).
    line: Vec<Entry>,
    start: usize,
    /// Position of `line[0]` (`Place::line`), wrapping: positions stay valid as the front goes.
    base: u32,
    /// Dead entries in the line.
    dead: u32,
    /// Live entries whose key sorted before the line's last one when they came.
    side: BTreeSet<AvailKey>,
}

/// Dead line entries tolerated beyond the live ones before a compaction (so a small index is
/// not rebuilt on every leave).
const SLACK: usize = 16;

impl AvailIndex {
    /// Live entries.
    pub fn len(&self) -> usize {
        self.live_line() + self.side.len()
    }

    fn live_line(&self) -> usize {
        self.line.len() - self.start - self.dead as usize
    }

    /// The line's entries (from `start`).
    fn entries(&self) -> &[Entry] {
        &self.line[self.start..]
    }

    /// Adds a key no live entry has; returns where it went, for `remove`.
    pub fn insert(&mut self, key: AvailKey) -> Place {
        if self.entries().last().is_none_or(|last| last.key() <= key) {
            let place = Place::line(self.base.wrapping_add(self.line.len() as u32));
            self.line.push(Entry::live(key));
            place
        } else {
            self.side.insert(key);
            Place::SIDE
        }
    }

    /// Removes the entry `insert` put at `place` (`key` is asked for only for a side entry).
    /// Returns true when the line should be compacted (`compact`): the caller owns the places
    /// to update.
    pub fn remove(&mut self, place: Place, key: impl FnOnce() -> AvailKey) -> bool {
        if place == Place::OUT {
            return false;
        }
        match place.in_line() {
            None => {
                self.side.remove(&key());
                false
            }
            Some(pos) => {
                let i = (pos.wrapping_sub(self.base) & POS) as usize;
                let entry = &mut self.line[i];
                debug_assert!(i >= self.start && !entry.dead);
                entry.dead = true;
                self.dead += 1;
                self.trim();
                self.dead as usize > self.live_line() + SLACK
            }
        }
    }

    /// Drops dead entries at both ends; the vector's front is cut off once it is half of it
    /// (a move of the rest, amortized O(1) per entry).
    fn trim(&mut self) {
        while self.line.get(self.start).is_some_and(|e| e.dead) {
            self.start += 1;
            self.dead -= 1;
        }
        while self.line.len() > self.start && self.line.last().is_some_and(|e| e.dead) {
            self.line.pop();
            self.dead -= 1;
        }
        if self.start == self.line.len()
            || (self.start >= SLACK && 2 * self.start >= self.line.len())
        {
            self.line.drain(..self.start);
            self.base = self.base.wrapping_add(self.start as u32) & POS;
            self.start = 0;
        }
    }

    /// Rebuilds the line from its live entries and the side set (a merge: both are sorted),
    /// then tells `moved` every entry's new place.
    pub fn compact(&mut self, mut moved: impl FnMut(u32, Place)) {
        let mut line = Vec::with_capacity(self.len());
        line.extend(self.iter().map(Entry::live));
        self.line = line;
        self.start = 0;
        self.base = 0;
        self.dead = 0;
        self.side.clear();
        for (i, e) in self.line.iter().enumerate() {
            moved(e.agent, Place::line(i as u32));
        }
    }

    /// Live keys in order.
    pub fn iter(&self) -> Merge<'_, btree_set::Iter<'_, AvailKey>> {
        Merge::new(self.entries().iter(), self.side.iter())
    }

    /// The first live key, in order, that `ok` accepts (the strategies that take the first
    /// eligible agent): a plain walk of the line while the side set is empty.
    pub fn first_where(&self, mut ok: impl FnMut(&AvailKey) -> bool) -> Option<AvailKey> {
        if self.side.is_empty() {
            return self
                .entries()
                .iter()
                .filter(|e| !e.dead)
                .map(Entry::key)
                .find(|k| ok(k));
        }
        self.iter().find(|k| ok(k))
    }

    /// Live keys from `from` on, in order.
    pub fn iter_from(&self, from: AvailKey) -> Merge<'_, btree_set::Range<'_, AvailKey>> {
        let line = self.entries();
        let i = line.partition_point(|e| e.key() < from);
        Merge::new(line[i..].iter(), self.side.range(from..))
    }

    /// Live keys before `to`, in order.
    pub fn iter_below(&self, to: AvailKey) -> Merge<'_, btree_set::Range<'_, AvailKey>> {
        let line = self.entries();
        let i = line.partition_point(|e| e.key() < to);
        Merge::new(line[..i].iter(), self.side.range(..to))
    }

    /// An index holding these keys (any order; duplicates once, as a B-tree set would),
    /// all in the line at positions 0.. in key order.
    fn from_keys(mut keys: Vec<AvailKey>) -> Self {
        keys.sort_unstable();
        keys.dedup();
        AvailIndex {
            line: keys.into_iter().map(Entry::live).collect(),
            ..AvailIndex::default()
        }
    }
}

/// The live line entries and the side keys of a range, merged in key order.
pub(crate) struct Merge<'a, S> {
    line: slice::Iter<'a, Entry>,
    side: S,
    next_line: Option<AvailKey>,
    next_side: Option<AvailKey>,
}

impl<'a, S: Iterator<Item = &'a AvailKey>> Merge<'a, S> {
    fn new(mut line: slice::Iter<'a, Entry>, mut side: S) -> Self {
        Merge {
            next_line: line.find(|e| !e.dead).map(Entry::key),
            next_side: side.next().copied(),
            line,
            side,
        }
    }
}

impl<'a, S: Iterator<Item = &'a AvailKey>> Iterator for Merge<'a, S> {
    type Item = AvailKey;

    fn next(&mut self) -> Option<AvailKey> {
        match (self.next_line, self.next_side) {
            (Some(l), Some(s)) if s < l => {
                self.next_side = self.side.next().copied();
                Some(s)
            }
            (Some(l), _) => {
                self.next_line = self.line.find(|e| !e.dead).map(Entry::key);
                Some(l)
            }
            (None, Some(s)) => {
                self.next_side = self.side.next().copied();
                Some(s)
            }
            (None, None) => None,
        }
    }
}

/// Serialized as the sorted sequence of live keys: what the `BTreeSet<AvailKey>` it replaced
/// wrote, so snapshots read and write as before.
impl Serialize for AvailIndex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for key in self.iter() {
            seq.serialize_element(&key)?;
        }
        seq.end()
    }
}

/// Read back into the line (sorted, duplicates dropped); the memberships' places are set by
/// `Engine::restore` (`Engine::place_avail_entries`).
impl<'de> Deserialize<'de> for AvailIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(AvailIndex::from_keys(Vec::deserialize(d)?))
    }
}

impl AvailIndex {
    /// Every live entry with its place (restore sets the memberships from these).
    pub fn places(&self) -> impl Iterator<Item = (AvailKey, Place)> + '_ {
        self.line
            .iter()
            .enumerate()
            .skip(self.start)
            .filter(|(_, e)| !e.dead)
            .map(|(i, e)| (e.key(), Place::line(self.base.wrapping_add(i as u32))))
            .chain(self.side.iter().map(|k| (*k, Place::SIDE)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use proptest::prelude::*;

    use super::{AvailIndex, Place};
    use crate::engine::queue::AvailKey;
    use crate::time::Time;

    /// One step: an agent enters with a key drawn near the end (mostly in order, with ties and
    /// some out of order), or a live agent leaves.
    #[derive(Debug, Clone)]
    enum Op {
        Enter { agent: u32, back: u8, b: u8 },
        Leave(prop::sample::Index),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..40, 0u8..4, 0u8..3).prop_map(|(agent, back, b)| Op::Enter { agent, back, b }),
            2 => any::<prop::sample::Index>().prop_map(Op::Leave),
        ]
    }

    fn check(ix: &AvailIndex, model: &BTreeSet<AvailKey>, probes: &[AvailKey]) {
        assert_eq!(
            ix.iter().collect::<Vec<_>>(),
            model.iter().copied().collect::<Vec<_>>()
        );
        assert_eq!(ix.len(), model.len());
        for m in 1..4 {
            let want = model.iter().find(|k| k.agent % m == 0).copied();
            assert_eq!(ix.first_where(|k| k.agent % m == 0), want);
        }
        for &p in probes {
            let from: Vec<_> = model.range(p..).copied().collect();
            let below: Vec<_> = model.range(..p).copied().collect();
            assert_eq!(ix.iter_from(p).collect::<Vec<_>>(), from);
            assert_eq!(ix.iter_below(p).collect::<Vec<_>>(), below);
        }
    }

    /// Positions wrap at 2^31 (the top bit of a packed `Place` tells out and side apart): an
    /// index whose first position is just below the wrap keeps finding and dropping entries
    /// across it, and its places never read as out or side.
    #[test]
    fn line_positions_wrap_at_two_to_the_31() {
        let mut ix = AvailIndex {
            base: super::POS - 2,
            ..AvailIndex::default()
        };
        let key = |i: u32| AvailKey {
            a: Time(f64::from(i)),
            b: Time(0.0),
            seq: u64::from(i),
            agent: i,
        };
        let places: Vec<Place> = (0..6).map(|i| ix.insert(key(i))).collect();
        assert!(places.iter().all(|p| p.in_line().is_some()), "{places:?}");
        assert_eq!(
            places[3],
            Place::line(0),
            "the fourth entry is past the wrap"
        );
        for i in [4, 1, 3] {
            assert!(!ix.remove(places[i], || unreachable!("a line entry")));
        }
        let left: Vec<u32> = ix.iter().map(|k| k.agent).collect();
        assert_eq!(left, vec![0, 2, 5]);
        let found: Vec<(u32, Place)> = ix.places().map(|(k, p)| (k.agent, p)).collect();
        assert_eq!(found, vec![(0, places[0]), (2, places[2]), (5, places[5])]);
    }

    proptest! {
        /// The index lists the same keys in the same order as a `BTreeSet` of the live keys,
        /// whole and from or below any key (round-robin), through inserts at the end, ties,
        /// out-of-order inserts, leaves from anywhere, compactions and a snapshot round trip;
        /// the first key a test accepts is the set's.
        #[test]
        fn same_order_as_a_btree_set(ops in prop::collection::vec(op(), 1..300)) {
            let mut ix = AvailIndex::default();
            let mut model = BTreeSet::new();
            let mut live: HashMap<u32, (AvailKey, Place)> = HashMap::new();
            let mut now = 0.0;
            let mut seq = 0u64;
            for op in ops {
                match op {
                    Op::Enter { agent, back, b } => {
                        if live.contains_key(&agent) {
                            continue;
                        }
                        // Time moves on by 0-2 s; `back` > 2 draws an older idle time.
                        now += f64::from(back % 3);
                        let a = if back == 3 { now - 5.0 } else { now };
                        seq += 1;
                        let key = AvailKey {
                            a: Time(a),
                            b: Time(f64::from(b)),
                            // Login sequences repeat per agent, as in the engine.
                            seq: u64::from(agent) * 7 % 41 + seq % 2,
                            agent,
                        };
                        let place = ix.insert(key);
                        model.insert(key);
                        live.insert(agent, (key, place));
                    }
                    Op::Leave(i) => {
                        if live.is_empty() {
                            continue;
                        }
                        let mut agents: Vec<u32> = live.keys().copied().collect();
                        agents.sort_unstable();
                        let agent = agents[i.index(agents.len())];
                        let (key, place) = live.remove(&agent).unwrap();
                        model.remove(&key);
                        if ix.remove(place, || key) {
                            ix.compact(|a, p| live.get_mut(&a).unwrap().1 = p);
                        }
                    }
                }
                let probes: Vec<AvailKey> = model.iter().copied().step_by(3).chain([AvailKey {
                    a: Time(now / 2.0),
                    b: Time(1.0),
                    seq: 3,
                    agent: 0,
                }]).collect();
                check(&ix, &model, &probes);
                for (key, place) in ix.places() {
                    prop_assert_eq!(live[&key.agent], (key, place));
                }
            }
            let bytes = rmp_serde::to_vec(&ix).unwrap();
            prop_assert_eq!(&bytes, &rmp_serde::to_vec(&model).unwrap());
            let back: AvailIndex = rmp_serde::from_slice(&bytes).unwrap();
            check(&back, &model, &[]);
        }
    }
}
