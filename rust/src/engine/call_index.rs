//! Live calls by id. The id string lives once, in the call; the table holds only slot numbers
//! (a bucket is 4 bytes and a control byte, not a second pointer to the key), which matters at a
//! million waiting calls.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use super::call::Call;

#[derive(Debug, Clone, Default)]
pub(crate) struct CallIndex {
    table: HashTable<u32>,
}

pub(crate) fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

fn id_of(calls: &[Option<Call>], c: u32) -> &str {
    calls[c as usize].as_ref().map_or("", |call| &call.id)
}

impl CallIndex {
    /// Rebuilt from the slab (after a restore: the index itself is not serialized).
    pub fn rebuild(calls: &[Option<Call>]) -> Self {
        let mut index = CallIndex::default();
        for (c, call) in calls.iter().enumerate() {
            if let Some(call) = call {
                index.insert(&call.id, c as u32, calls);
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
    pub fn get_hashed(&self, h: u64, id: &str, calls: &[Option<Call>]) -> Option<u32> {
        self.table.find(h, |&c| id_of(calls, c) == id).copied()
    }

    /// `c` must already hold the call with this id.
    pub fn insert(&mut self, id: &str, c: u32, calls: &[Option<Call>]) {
        self.insert_hashed(hash(id), c, calls);
    }

    /// `insert` with the id's `hash` already known.
    pub fn insert_hashed(&mut self, h: u64, c: u32, calls: &[Option<Call>]) {
        self.table.insert_unique(h, c, |&x| hash(id_of(calls, x)));
    }

    /// Forgets slot `c`, whose id hashes to `h`: slots are unique, so no string is compared.
    pub fn remove_slot(&mut self, h: u64, c: u32) {
        if let Ok(entry) = self.table.find_entry(h, |&x| x == c) {
            entry.remove();
        }
    }
}
