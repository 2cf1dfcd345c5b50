//! An order-statistics set: a treap whose nodes count their subtree, so "how many waiting calls
//! are ahead of this one" (a caller's queue position) costs O(log n) instead of a walk.
//! Node priorities come from a counter hashed by SplitMix64, so shapes are reproducible.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node<K> {
    key: K,
    prio: u32,
    size: u32,
    left: u32,
    right: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankedSet<K> {
    nodes: Vec<Node<K>>,
    free: Vec<u32>,
    root: u32,
    counter: u64,
}

impl<K> Default for RankedSet<K> {
    fn default() -> Self {
        RankedSet {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            counter: 0,
        }
    }
}

impl<K: Ord + Copy> RankedSet<K> {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    fn size(&self, n: u32) -> u32 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].size
        }
    }

    fn fix(&mut self, n: u32) {
        let (l, r) = {
            let node = &self.nodes[n as usize];
            (node.left, node.right)
        };
        self.nodes[n as usize].size = 1 + self.size(l) + self.size(r);
    }

    /// Splits `n` into (keys < key, keys >= key).
    fn split(&mut self, n: u32, key: &K) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        if self.nodes[n as usize].key < *key {
            let (a, b) = self.split(self.nodes[n as usize].right, key);
            self.nodes[n as usize].right = a;
            self.fix(n);
            (n, b)
        } else {
            let (a, b) = self.split(self.nodes[n as usize].left, key);
            self.nodes[n as usize].left = b;
            self.fix(n);
            (a, n)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.fix(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.fix(b);
            b
        }
    }

    /// Inserts `key`; returns false (and changes nothing) when it is already present.
    pub fn insert(&mut self, key: K) -> bool {
        if self.contains(&key) {
            return false;
        }
        self.counter += 1;
        let prio = (crate::rng::Rng::new(self.counter).next_u64() >> 32) as u32;
        let node = Node {
            key,
            prio,
            size: 1,
            left: NIL,
            right: NIL,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let (a, b) = self.split(self.root, &key);
        let left = self.merge(a, id);
        self.root = self.merge(left, b);
        true
    }

    pub fn remove(&mut self, key: &K) -> bool {
        let (a, rest) = self.split(self.root, key);
        // `rest` starts with `key` if present: peel off its minimum.
        let (found, b) = self.pop_min_if(rest, key);
        self.root = self.merge(a, b);
        if let Some(id) = found {
            self.free.push(id);
            true
        } else {
            false
        }
    }

    fn pop_min_if(&mut self, n: u32, key: &K) -> (Option<u32>, u32) {
        if n == NIL {
            return (None, NIL);
        }
        let left = self.nodes[n as usize].left;
        if left == NIL {
            if self.nodes[n as usize].key == *key {
                return (Some(n), self.nodes[n as usize].right);
            }
            return (None, n);
        }
        let (found, l) = self.pop_min_if(left, key);
        self.nodes[n as usize].left = l;
        self.fix(n);
        (found, n)
    }

    pub fn contains(&self, key: &K) -> bool {
        let mut n = self.root;
        while n != NIL {
            let node = &self.nodes[n as usize];
            match key.cmp(&node.key) {
                Ordering::Less => n = node.left,
                Ordering::Greater => n = node.right,
                Ordering::Equal => return true,
            }
        }
        false
    }

    /// Number of keys strictly less than `key`.
    pub fn rank(&self, key: &K) -> usize {
        let mut n = self.root;
        let mut below = 0usize;
        while n != NIL {
            let node = &self.nodes[n as usize];
            if node.key < *key {
                below += self.size(node.left) as usize + 1;
                n = node.right;
            } else {
                n = node.left;
            }
        }
        below
    }

    #[cfg(test)]
    pub fn first(&self) -> Option<K> {
        let mut n = self.root;
        let mut best = None;
        while n != NIL {
            best = Some(self.nodes[n as usize].key);
            n = self.nodes[n as usize].left;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #[test]
        fn behaves_like_btreeset(ops in proptest::collection::vec((any::<bool>(), 0u16..200), 0..400)) {
            let mut ours = RankedSet::default();
            let mut model = BTreeSet::new();
            for (insert, k) in ops {
                if insert {
                    prop_assert_eq!(ours.insert(k), model.insert(k));
                } else {
                    prop_assert_eq!(ours.remove(&k), model.remove(&k));
                }
                prop_assert_eq!(ours.len(), model.len());
                prop_assert_eq!(ours.first(), model.first().copied());
                prop_assert_eq!(ours.rank(&k), model.range(..k).count());
            }
        }
    }
}
