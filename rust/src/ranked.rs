//! Ordered sets as treaps whose nodes count their subtree, so "how many waiting calls are ahead
//! of this one" (a caller's queue position) costs O(log n) instead of a walk.
//!
//! Every set of an engine keeps its nodes in one shared arena (`Treaps`): a set is only its
//! root (`Root`, 4 bytes). A million waiting calls spread over thousands of queues and skill
//! classes then cost one node each per set, without a `Vec`'s doubling slack per set or a
//! B-tree's mostly empty node per small class. Node priorities come from a counter hashed by
//! SplitMix64, so shapes are reproducible.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node<K> {
    key: K,
    prio: u32,
    size: u32,
    /// In a free node: the next free node.
    left: u32,
    right: u32,
}

/// One set: the index of its root node in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root(u32);

impl Default for Root {
    fn default() -> Self {
        Root(NIL)
    }
}

impl Root {
    pub fn is_empty(self) -> bool {
        self.0 == NIL
    }
}

/// The node arena shared by many sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Treaps<K> {
    nodes: Vec<Node<K>>,
    /// Head of the list of free nodes, linked through `left`.
    free: u32,
    counter: u64,
}

impl<K> Default for Treaps<K> {
    fn default() -> Self {
        Treaps {
            nodes: Vec::new(),
            free: NIL,
            counter: 0,
        }
    }
}

impl<K: Ord + Copy> Treaps<K> {
    fn size(&self, n: u32) -> u32 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].size
        }
    }

    pub fn len(&self, root: Root) -> usize {
        self.size(root.0) as usize
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

    /// Inserts `key` into the set at `root`; returns false (and changes nothing) when it is
    /// already present.
    pub fn insert(&mut self, root: &mut Root, key: K) -> bool {
        // The node's priority is drawn from the next count; the count moves only when the key
        // goes in, so a refused duplicate leaves every later shape as it was.
        let prio = (crate::rng::Rng::new(self.counter + 1).next_u64() >> 32) as u32;
        match self.insert_at(root.0, key, prio) {
            Some(r) => {
                self.counter += 1;
                root.0 = r;
                true
            }
            None => false,
        }
    }

    fn alloc(&mut self, key: K, prio: u32) -> u32 {
        let node = Node {
            key,
            prio,
            size: 1,
            left: NIL,
            right: NIL,
        };
        if self.free == NIL {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        } else {
            let id = self.free;
            self.free = self.nodes[id as usize].left;
            self.nodes[id as usize] = node;
            id
        }
    }

    /// Puts `key` into the subtree at `n`: down the search path while the nodes there
    /// outrank it, then a new node takes the place of the first that does not, over that
    /// subtree split by its key. Only the subtree below that place is split, where splitting
    /// the whole set and merging it back walked the full path three times. A duplicate is met
    /// on the way down (an equal key on the path) or in the subtree the node would take over
    /// (searched there only, not again from the root): `None`, and nothing has changed. The
    /// set's order and every answer are the same (only a tie of node priorities could shape
    /// the tree otherwise).
    fn insert_at(&mut self, n: u32, key: K, prio: u32) -> Option<u32> {
        if n == NIL {
            return Some(self.alloc(key, prio));
        }
        let node = &self.nodes[n as usize];
        if prio > node.prio {
            if self.contains(Root(n), &key) {
                return None;
            }
            let id = self.alloc(key, prio);
            let (l, r) = self.split(n, &key);
            let new = &mut self.nodes[id as usize];
            new.left = l;
            new.right = r;
            self.fix(id);
            return Some(id);
        }
        match key.cmp(&node.key) {
            Ordering::Less => {
                let l = self.insert_at(node.left, key, prio)?;
                self.nodes[n as usize].left = l;
            }
            Ordering::Greater => {
                let r = self.insert_at(node.right, key, prio)?;
                self.nodes[n as usize].right = r;
            }
            Ordering::Equal => return None,
        }
        self.nodes[n as usize].size += 1;
        Some(n)
    }

    pub fn remove(&mut self, root: &mut Root, key: &K) -> bool {
        let (found, r) = self.remove_at(root.0, key);
        root.0 = r;
        if let Some(id) = found {
            self.nodes[id as usize].left = self.free;
            self.free = id;
            true
        } else {
            false
        }
    }

    /// Takes `key` out of the subtree at `n` by searching for it and merging its node's two
    /// children in its place; returns the node removed and the subtree's new root.
    fn remove_at(&mut self, n: u32, key: &K) -> (Option<u32>, u32) {
        if n == NIL {
            return (None, NIL);
        }
        let node = &self.nodes[n as usize];
        let (left, right) = (node.left, node.right);
        match key.cmp(&node.key) {
            Ordering::Less => {
                let (found, l) = self.remove_at(left, key);
                if found.is_some() {
                    let node = &mut self.nodes[n as usize];
                    node.left = l;
                    node.size -= 1;
                }
                (found, n)
            }
            Ordering::Greater => {
                let (found, r) = self.remove_at(right, key);
                if found.is_some() {
                    let node = &mut self.nodes[n as usize];
                    node.right = r;
                    node.size -= 1;
                }
                (found, n)
            }
            Ordering::Equal => (Some(n), self.merge(left, right)),
        }
    }

    pub fn contains(&self, root: Root, key: &K) -> bool {
        let mut n = root.0;
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
    pub fn rank(&self, root: Root, key: &K) -> usize {
        let mut n = root.0;
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

    pub fn first(&self, root: Root) -> Option<K> {
        let mut n = root.0;
        let mut best = None;
        while n != NIL {
            best = Some(self.nodes[n as usize].key);
            n = self.nodes[n as usize].left;
        }
        best
    }

    /// Keys of the set in order (for consistency checks, not hot paths).
    pub fn keys(&self, root: Root) -> Vec<K> {
        let mut out = Vec::with_capacity(self.len(root));
        let mut stack = Vec::new();
        let mut n = root.0;
        while n != NIL || !stack.is_empty() {
            while n != NIL {
                stack.push(n);
                n = self.nodes[n as usize].left;
            }
            let top = stack.pop().expect("loop condition");
            out.push(self.nodes[top as usize].key);
            n = self.nodes[top as usize].right;
        }
        out
    }

    /// Whether the sets at `roots` are well-formed trees over this arena (restored state may
    /// be damaged): every link in range, no node in two places, keys in order, sizes right,
    /// and the free list disjoint from them. Without this a bad link would panic or loop later.
    pub fn check(&self, roots: impl IntoIterator<Item = Root>) -> bool {
        let n = self.nodes.len();
        let mut seen = vec![false; n];
        let visit = |x: u32, seen: &mut [bool]| -> bool {
            let ok = (x as usize) < n && !seen[x as usize];
            if ok {
                seen[x as usize] = true;
            }
            ok
        };
        let mut f = self.free;
        while f != NIL {
            if !visit(f, &mut seen) {
                return false;
            }
            f = self.nodes[f as usize].left;
        }
        for root in roots {
            // (node, lower bound, upper bound) with bounds as node indices (NIL: none).
            let mut stack = Vec::new();
            if root.0 != NIL {
                stack.push((root.0, NIL, NIL));
            }
            while let Some((x, lo, hi)) = stack.pop() {
                if !visit(x, &mut seen) {
                    return false;
                }
                let node = &self.nodes[x as usize];
                let key = &node.key;
                if (lo != NIL && self.nodes[lo as usize].key >= *key)
                    || (hi != NIL && self.nodes[hi as usize].key <= *key)
                {
                    return false;
                }
                for child in [node.left, node.right] {
                    if child != NIL && child as usize >= n {
                        return false;
                    }
                }
                if node.size as u64
                    != 1 + u64::from(self.size(node.left)) + u64::from(self.size(node.right))
                {
                    return false;
                }
                if node.left != NIL {
                    stack.push((node.left, lo, x));
                }
                if node.right != NIL {
                    stack.push((node.right, x, hi));
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Two sets sharing one arena each behave like their own BTreeSet.
        #[test]
        fn behaves_like_btreeset(ops in proptest::collection::vec((any::<bool>(), any::<bool>(), 0u16..200), 0..400)) {
            let mut arena = Treaps::default();
            let mut roots = [Root::default(); 2];
            let mut models = [BTreeSet::new(), BTreeSet::new()];
            for (insert, second, k) in ops {
                let i = usize::from(second);
                if insert {
                    prop_assert_eq!(arena.insert(&mut roots[i], k), models[i].insert(k));
                } else {
                    prop_assert_eq!(arena.remove(&mut roots[i], &k), models[i].remove(&k));
                }
                for i in 0..2 {
                    prop_assert_eq!(arena.len(roots[i]), models[i].len());
                    prop_assert_eq!(roots[i].is_empty(), models[i].is_empty());
                    prop_assert_eq!(arena.first(roots[i]), models[i].first().copied());
                    prop_assert_eq!(arena.rank(roots[i], &k), models[i].range(..k).count());
                    prop_assert_eq!(arena.keys(roots[i]), models[i].iter().copied().collect::<Vec<_>>());
                }
                prop_assert!(arena.check(roots));
            }
        }
    }

    #[test]
    fn check_refuses_damaged_links() {
        let mut arena = Treaps::default();
        let mut root = Root::default();
        for k in [5u32, 1, 9, 3] {
            arena.insert(&mut root, k);
        }
        arena.remove(&mut root, &9);
        assert!(arena.check([root]));
        let mut bad = arena.clone();
        bad.nodes[root.0 as usize].left = root.0;
        assert!(!bad.check([root]), "a cycle");
        let mut bad = arena.clone();
        bad.nodes[root.0 as usize].right = 77;
        assert!(!bad.check([root]), "a link out of range");
        let mut bad = arena.clone();
        bad.nodes[root.0 as usize].size += 1;
        assert!(!bad.check([root]), "a wrong size");
        assert!(!arena.check([root, root]), "a node in two sets");
        let mut bad = arena.clone();
        let mut min = root.0;
        while bad.nodes[min as usize].left != NIL {
            min = bad.nodes[min as usize].left;
        }
        bad.nodes[min as usize].key = 100;
        assert!(!bad.check([root]), "keys out of order");
    }
}
