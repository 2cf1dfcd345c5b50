//! Live calls by id. The id string lives once, in the call; the table holds only slot numbers
//! (a bucket is 4 bytes and a control byte, not a second pointer to the key), which matters at a
//! million waiting calls.
//!
//! Each call keeps its id's hash (`Call::id_hash`, 4 bytes in what was padding): a call
//! leaving, and the table growing, find its bucket without reading and hashing the id again.
//! The hash is 32 bits spread to the 64 the table uses, so the stored half is all of it.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use super::call::Call;

#[derive(Debug, Clone, Default)]
pub(crate) struct CallIndex {
    table: HashTable<u32>,
}

/// The id's hash as a call keeps it.
pub(crate) fn hash(id: &str) -> u32 {
    let h = FxBuildHasher.hash_one(id);
    (h ^ (h >> 32)) as u32
}

/// The table's 64-bit hash of a kept one: the multiply carries every bit into the top seven
/// the table's control bytes are made of; the low bits (its bucket) stay a one-to-one function of the hash's low bits.
fn spread(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn id_of(calls: &[Option<Call>], c: u32) -> &str {
    calls[c as usize].as_ref().map_or("", |call| &call.id)
}

fn hash_of(calls: &[Option<Call>], c: u32) -> u64 {
    spread(calls[c as usize].as_ref().map_or(0, |call| call.id_hash))
}

impl CallIndex {
    /// Rebuilt from the slab (after a restore: neither the index nor the calls' hashes are
    /// serialized).
    pub fn rebuild(calls: &mut [Option<Call>]) -> Self {
        for call in calls.iter_mut().flatten() {
            call.id_hash = hash(&call.id);
        }
        let mut index = CallIndex::default();
        for (c, call) in calls.iter().enumerate() {
            if let Some(call) = call {
                index.insert_hashed(call.id_hash, c as u32, calls);
            }
        }
        index
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn get(&self, id: &str, calls: &[Option<Call>]) -> Option<u32> {
        self.get_hashed(hash(id), id, calls)
    }

    /// `get` with the id's `hash` already known (an enqueue checks, then inserts).
    pub fn get_hashed(&self, h: u32, id: &str, calls: &[Option<Call>]) -> Option<u32> {
        self.table
            .find(spread(h), |&c| id_of(calls, c) == id)
            .copied()
    }

    /// Adds slot `c`, which must already hold its call with `id_hash` = `h`. Growing the
    /// table reads the kept hashes, not the ids.
    pub fn insert_hashed(&mut self, h: u32, c: u32, calls: &[Option<Call>]) {
        self.table
            .insert_unique(spread(h), c, |&x| hash_of(calls, x));
    }

    /// Forgets slot `c`, whose id hashes to `h`: slots are unique, so no string is compared.
    pub fn remove_slot(&mut self, h: u32, c: u32) {
        let found = self.table.find_entry(spread(h), |&x| x == c);
        debug_assert!(
            found.is_ok(),
            "slot {c} not in the id index under its kept hash"
        );
        if let Ok(entry) = found {
            entry.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hash;
    use crate::model::QueueConfig;
    use crate::{Engine, NewCall, Options};
    use rustc_hash::FxHashMap;

    /// Ids whose kept 32-bit hashes are equal: each is found, refused twice, ended and added
    /// again on its own, while the table grows and after a snapshot.
    #[test]
    fn ids_sharing_a_kept_hash_stay_apart() {
        let mut seen: FxHashMap<u32, String> = FxHashMap::default();
        let mut pairs = Vec::new();
        for i in 0u64.. {
            let id = format!("call-{i}");
            match seen.get(&hash(&id)) {
                Some(other) => pairs.push((other.clone(), id)),
                None => drop(seen.insert(hash(&id), id)),
            }
            if pairs.len() == 3 {
                break;
            }
        }
        let call = |id: &str, f: &mut dyn FnMut(&NewCall<'_>)| {
            f(&NewCall {
                id,
                queue: "q",
                ..NewCall::default()
            })
        };
        let mut e = Engine::new(Options {
            seed: 0,
            auto_accept: true,
        });
        e.add_queue("q", QueueConfig::default()).unwrap();
        for (a, b) in &pairs {
            call(a, &mut |c| e.enqueue(1.0, c).map(drop).unwrap());
            call(b, &mut |c| e.enqueue(1.0, c).map(drop).unwrap());
            call(b, &mut |c| assert!(e.enqueue(1.0, c).is_err(), "{b} twice"));
        }
        for i in 0..5_000 {
            let id = format!("fill-{i}");
            call(&id, &mut |c| e.enqueue(2.0, c).map(drop).unwrap());
        }
        let mut e = Engine::restore(&e.snapshot()).unwrap();
        for (a, b) in &pairs {
            e.hangup(3.0, a).unwrap();
            assert!(e.call_info(a).is_err(), "{a} ended");
            assert_eq!(&*e.call_info(b).unwrap().id, b.as_str());
            call(a, &mut |c| e.enqueue(3.0, c).map(drop).unwrap());
            e.hangup(3.0, b).unwrap();
            assert!(e.call_info(b).is_err(), "{b} ended");
            assert_eq!(&*e.call_info(a).unwrap().id, a.as_str());
        }
        for i in 0..5_000 {
            e.hangup(4.0, &format!("fill-{i}")).unwrap();
        }
        assert_eq!(e.live_calls(), pairs.len());
    }
}
