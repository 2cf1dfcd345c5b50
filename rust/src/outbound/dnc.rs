//! The do-not-call list: millions of numbers, looked up before every dial. The sorted numbers
//! are laid out in Eytzinger (breadth-first) order, so a search walks the array front to back
//! with a branch-free step and the first levels stay in cache; a batch lookup answers a numpy
//! column of numbers in one call.

#[derive(Debug, Clone)]
pub struct DncList {
    /// Index 0 is padding; the tree's root is at 1 and node k has children 2k and 2k+1.
    tree: Vec<u64>,
}

impl Default for DncList {
    fn default() -> Self {
        DncList::new(Vec::new())
    }
}

impl DncList {
    /// Any order, duplicates allowed.
    pub fn new(mut numbers: Vec<u64>) -> Self {
        numbers.sort_unstable();
        numbers.dedup();
        let mut tree = vec![0u64; numbers.len() + 1];
        let mut next = 0usize;
        fill(&numbers, &mut tree, &mut next, 1);
        DncList { tree }
    }

    pub fn len(&self) -> usize {
        self.tree.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, number: u64) -> bool {
        let n = self.len();
        let mut k = 1usize;
        while k <= n {
            // Go right when the node is smaller: the comparison becomes an add, not a jump.
            k = 2 * k + usize::from(self.tree[k] < number);
        }
        // Undo the right turns taken after the last left turn: that left turn's node is the
        // smallest element >= number (k becomes 0 when there is none).
        k >>= k.trailing_ones() + 1;
        k != 0 && self.tree[k] == number
    }

    /// Searches `LANES` numbers in lockstep, one tree level at a time: their loads are
    /// independent, so the cache misses of a big list overlap instead of queueing one behind
    /// the other (one lookup alone waits for about 20 dependent loads).
    pub fn contains_many(&self, numbers: &[u64]) -> Vec<bool> {
        const LANES: usize = 32;
        let n = self.len();
        if n == 0 {
            return vec![false; numbers.len()];
        }
        let levels = n.ilog2() + 1;
        let mut out = Vec::with_capacity(numbers.len());
        let mut chunks = numbers.chunks_exact(LANES);
        for chunk in &mut chunks {
            let mut k = [1usize; LANES];
            for _ in 0..levels {
                for (kj, &q) in k.iter_mut().zip(chunk) {
                    // A lane past the leaves (the last level is partly filled) stays put, as
                    // the single search stops there.
                    let node = self.tree[(*kj).min(n)];
                    let next = 2 * *kj + usize::from(node < q);
                    *kj = if *kj <= n { next } else { *kj };
                }
            }
            for (kj, &q) in k.iter().zip(chunk) {
                let found = *kj >> (kj.trailing_ones() + 1);
                out.push(found != 0 && self.tree[found] == q);
            }
        }
        out.extend(chunks.remainder().iter().map(|&x| self.contains(x)));
        out
    }
}

/// In-order walk of the implicit tree, taking the sorted numbers one by one.
fn fill(sorted: &[u64], tree: &mut [u64], next: &mut usize, k: usize) {
    if k < tree.len() {
        fill(sorted, tree, next, 2 * k);
        tree[k] = sorted[*next];
        *next += 1;
        fill(sorted, tree, next, 2 * k + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_exactly_the_listed_numbers() {
        let d = DncList::new(vec![30, 10, 20, 10, u64::MAX]);
        assert_eq!(d.len(), 4);
        for x in [10, 20, 30, u64::MAX] {
            assert!(d.contains(x), "{x}");
        }
        for x in [0, 9, 11, 25, 31, u64::MAX - 1] {
            assert!(!d.contains(x), "{x}");
        }
        assert!(!DncList::new(vec![]).contains(0));
        assert_eq!(d.contains_many(&[10, 11]), vec![true, false]);
    }

    proptest! {
        #[test]
        fn agrees_with_a_binary_search(mut v in proptest::collection::vec(0u64..2000, 0..300), q in proptest::collection::vec(0u64..2000, 0..120)) {
            let d = DncList::new(v.clone());
            v.sort_unstable();
            let many = d.contains_many(&q);
            for (x, m) in q.into_iter().zip(many) {
                prop_assert_eq!(d.contains(x), v.binary_search(&x).is_ok());
                prop_assert_eq!(m, v.binary_search(&x).is_ok());
            }
        }
    }
}
