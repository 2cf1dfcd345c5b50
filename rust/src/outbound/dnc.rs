//! The do-not-call list: millions of numbers, looked up before every dial. The numbers sit in
//! an open-addressing hash table of bare u64 (linear probing, power-of-two capacity, load at
//! most 1/2), so a lookup is one cache miss: the probe run after the home slot is short and
//! almost always in the same cache line. A batch lookup answers a numpy column in one call and
//! issues the misses of many numbers together.

/// Marks a free slot; the number 0 itself is kept in `has_zero` instead.
const EMPTY: u64 = 0;

#[derive(Debug, Clone)]
pub struct DncList {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    shift: u32,
    has_zero: bool,
    len: usize,
}

impl Default for DncList {
    fn default() -> Self {
        DncList::new(Vec::new())
    }
}

impl DncList {
    /// Any order, duplicates allowed.
    pub fn new(numbers: Vec<u64>) -> Self {
        // At least twice as many slots as numbers (16 to 32 bytes per number): probe runs stay
        // a slot or two long.
        let capacity = (2 * numbers.len()).next_power_of_two().max(16);
        let mut d = DncList {
            slots: vec![EMPTY; capacity],
            shift: 64 - capacity.trailing_zeros(),
            has_zero: false,
            len: 0,
        };
        for x in numbers {
            d.insert(x);
        }
        d
    }

    fn insert(&mut self, number: u64) {
        if number == EMPTY {
            self.len += usize::from(!self.has_zero);
            self.has_zero = true;
            return;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(number);
        loop {
            match self.slots[i] {
                EMPTY => {
                    self.slots[i] = number;
                    self.len += 1;
                    return;
                }
                x if x == number => return,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Fibonacci hashing: the multiply spreads every input bit into the top bits, so runs of
    /// consecutive numbers (a block of an exchange) land far apart.
    fn home(&self, number: u64) -> usize {
        let mixed = (number ^ (number >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> self.shift) as usize
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, number: u64) -> bool {
        if number == EMPTY {
            return self.has_zero;
        }
        self.probe_from(self.home(number), number)
    }

    /// Walks the probe run from slot `i`: the table is never full, so it ends at a free slot.
    fn probe_from(&self, mut i: usize, number: u64) -> bool {
        let mask = self.slots.len() - 1;
        loop {
            match self.slots[i] {
                x if x == number => return true,
                EMPTY => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Reads the home slots of `LANES` numbers before resolving any of them: the loads are
    /// independent, so their cache misses overlap instead of each waiting behind the last
    /// one's mispredicted branch. The few numbers whose home slot holds another number then
    /// finish their probe run, which is mostly already in cache.
    pub fn contains_many(&self, numbers: &[u64]) -> Vec<bool> {
        const LANES: usize = 16;
        let mut out = Vec::with_capacity(numbers.len());
        let mut chunks = numbers.chunks_exact(LANES);
        for chunk in &mut chunks {
            let mut home = [0usize; LANES];
            let mut first = [0u64; LANES];
            for ((h, f), &q) in home.iter_mut().zip(&mut first).zip(chunk) {
                *h = self.home(q);
                *f = self.slots[*h];
            }
            for ((&h, &f), &q) in home.iter().zip(&first).zip(chunk) {
                out.push(if q == EMPTY {
                    self.has_zero
                } else if f == q {
                    true
                } else if f == EMPTY {
                    false
                } else {
                    self.probe_from(h, q)
                });
            }
        }
        out.extend(chunks.remainder().iter().map(|&x| self.contains(x)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_exactly_the_listed_numbers() {
        let d = DncList::new(vec![30, 10, 20, 10, u64::MAX, 0]);
        assert_eq!(d.len(), 5);
        for x in [0, 10, 20, 30, u64::MAX] {
            assert!(d.contains(x), "{x}");
        }
        for x in [1, 9, 11, 25, 31, u64::MAX - 1] {
            assert!(!d.contains(x), "{x}");
        }
        let empty = DncList::new(vec![]);
        assert!(empty.is_empty());
        assert!(!empty.contains(0) && !empty.contains(7));
        assert_eq!(d.contains_many(&[10, 11]), vec![true, false]);
    }

    #[test]
    fn long_probe_runs_wrap_around_the_table() {
        // Numbers sharing one home slot form a run that crosses the end of the table; the
        // batch path must follow it like the single lookup.
        let probe = DncList::new(vec![]);
        let last = probe.slots.len() - 1;
        let colliding: Vec<u64> = (1..u64::MAX)
            .filter(|&x| probe.home(x) == last)
            .take(7)
            .collect();
        let d = DncList::new(colliding.clone());
        assert_eq!(d.slots.len(), 16);
        let mut queries = colliding.clone();
        queries.extend((1..200).filter(|x| !colliding.contains(x)));
        let many = d.contains_many(&queries);
        for (q, m) in queries.iter().zip(many) {
            assert_eq!(m, colliding.contains(q), "{q}");
            assert_eq!(d.contains(*q), colliding.contains(q), "{q}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_binary_search(mut v in proptest::collection::vec(0u64..2000, 0..300), q in proptest::collection::vec(0u64..2000, 0..120)) {
            let d = DncList::new(v.clone());
            v.sort_unstable();
            v.dedup();
            prop_assert_eq!(d.len(), v.len());
            let many = d.contains_many(&q);
            for (x, m) in q.into_iter().zip(many) {
                prop_assert_eq!(d.contains(x), v.binary_search(&x).is_ok());
                prop_assert_eq!(m, v.binary_search(&x).is_ok());
            }
        }

        #[test]
        fn agrees_on_spread_out_numbers(v in proptest::collection::vec(any::<u64>(), 0..400), q in proptest::collection::vec(any::<u64>(), 0..100)) {
            let d = DncList::new(v.clone());
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let queries: Vec<u64> = q.iter().chain(v.iter().step_by(3)).copied().collect();
            let many = d.contains_many(&queries);
            for (x, m) in queries.into_iter().zip(many) {
                prop_assert_eq!(m, sorted.binary_search(&x).is_ok());
            }
        }
    }
}
