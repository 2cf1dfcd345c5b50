//! The do-not-call list: millions of numbers, looked up before every dial. The numbers sit in
//! an open-addressing hash table of bare u64 (linear probing, twice as many slots as numbers:
//! load 1/2, 16 bytes per number), so a lookup is one cache miss: the probe run after the home
//! slot is short and almost always in the same cache line. The slot count need not be a power
//! of two: the home slot is the high half of `hash * slots` (multiply-shift range reduction).
//! On Linux the table asks for transparent huge pages, which turns the TLB miss that came with
//! every lookup into a hit. Batch lookups prefetch the home slot a few numbers ahead, so the
//! misses of many numbers are in flight together.

/// Marks a free slot; the number 0 itself is kept in `has_zero` instead.
const EMPTY: u64 = 0;
/// Batch lookups prefetch the home slot of the number this many places ahead: about as many
/// misses as a core keeps in flight.
const AHEAD: usize = 12;

#[derive(Debug, Clone)]
pub struct DncList {
    slots: Vec<u64>,
    has_zero: bool,
    len: usize,
}

/// How to lay out the table: the benches compare the choices; `DncList::new` takes the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Ask the kernel for transparent huge pages (`madvise`, Linux only; a hint).
    pub huge_pages: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { huge_pages: true }
    }
}

impl Default for DncList {
    fn default() -> Self {
        DncList::new(Vec::new())
    }
}

impl DncList {
    /// Any order, duplicates allowed.
    pub fn new(numbers: Vec<u64>) -> Self {
        DncList::with_layout(numbers, Layout::default())
    }

    pub fn with_layout(numbers: Vec<u64>, layout: Layout) -> Self {
        let capacity = (2 * numbers.len()).max(16);
        let slots = vec![EMPTY; capacity];
        if layout.huge_pages {
            huge_pages::advise(&slots);
        }
        let mut d = DncList {
            slots,
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
        let mut i = self.home(number);
        loop {
            match self.slots[i] {
                EMPTY => {
                    self.slots[i] = number;
                    self.len += 1;
                    return;
                }
                x if x == number => return,
                _ => i = self.next(i),
            }
        }
    }

    /// Fibonacci hashing spreads every input bit into the high bits, so runs of consecutive
    /// numbers (a block of an exchange) land far apart; the multiply by the slot count then
    /// maps those high bits onto `0..slots`.
    fn home(&self, number: u64) -> usize {
        let mixed = (number ^ (number >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(mixed) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() { 0 } else { i + 1 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the table, for the memory figures.
    pub fn table_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    pub fn contains(&self, number: u64) -> bool {
        if number == EMPTY {
            return self.has_zero;
        }
        self.probe_from(self.home(number), number)
    }

    /// Walks the probe run from slot `i`: the table is never full, so it ends at a free slot.
    fn probe_from(&self, mut i: usize, number: u64) -> bool {
        loop {
            match self.slots[i] {
                x if x == number => return true,
                EMPTY => return false,
                _ => i = self.next(i),
            }
        }
    }

    /// Hints the cache to fetch `number`'s home slot; no effect on the answer.
    #[inline(always)]
    fn prefetch(&self, number: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let p = self.slots.as_ptr().wrapping_add(self.home(number));
            // SAFETY: SSE is part of the x86_64 baseline; a prefetch never faults or reads
            // into the program, and the pointer is inside the table anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = number;
    }

    /// Calls `f(i, listed)` for each number in order, prefetching `AHEAD` numbers ahead.
    #[inline(always)]
    fn each(&self, numbers: &[u64], mut f: impl FnMut(usize, bool)) {
        for &q in numbers.iter().take(AHEAD) {
            self.prefetch(q);
        }
        for (i, &q) in numbers.iter().enumerate() {
            if let Some(&ahead) = numbers.get(i + AHEAD) {
                self.prefetch(ahead);
            }
            f(i, self.contains(q));
        }
    }

    /// How many of `numbers` are listed, without writing an answer per number.
    pub fn count_many(&self, numbers: &[u64]) -> usize {
        let mut n = 0;
        self.each(numbers, |_, hit| n += usize::from(hit));
        n
    }

    /// Whether each number is listed, into `out` (the numpy path writes into its result).
    /// `out` must be as long as `numbers`.
    pub fn contains_into(&self, numbers: &[u64], out: &mut [bool]) {
        assert_eq!(numbers.len(), out.len(), "one answer per number");
        self.each(numbers, |i, hit| out[i] = hit);
    }

    pub fn contains_many(&self, numbers: &[u64]) -> Vec<bool> {
        let mut out = vec![false; numbers.len()];
        self.contains_into(numbers, &mut out);
        out
    }
}

#[cfg(target_os = "linux")]
mod huge_pages {
    const HUGE: usize = 2 << 20;

    /// Advises transparent huge pages for the whole 2 MiB pages inside `slots` before they
    /// are first touched (a fresh zeroed allocation of this size is still unmapped), so the
    /// kernel backs them with huge pages as they fault in. Smaller tables are left alone.
    pub(super) fn advise(slots: &[u64]) {
        let start = slots.as_ptr() as usize;
        let end = start + std::mem::size_of_val(slots);
        let first = start.next_multiple_of(HUGE);
        let last = end / HUGE * HUGE;
        if last > first {
            // SAFETY: the range lies inside the live allocation of `slots`; MADV_HUGEPAGE
            // only changes how the kernel backs those pages, never their contents. A
            // failure (no THP support) just leaves small pages.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod huge_pages {
    pub(super) fn advise(_slots: &[u64]) {}
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
        assert_eq!(d.count_many(&[10, 11, 0, 30, 30]), 4);
    }

    #[test]
    fn batches_longer_than_the_prefetch_distance_answer_every_number() {
        let listed: Vec<u64> = (0..5000u64).map(|i| 10_000_000_000 + i * 7).collect();
        let d = DncList::new(listed.clone());
        assert_eq!(d.table_bytes(), 2 * 5000 * 8);
        let queries: Vec<u64> = (0..20_000u64).map(|i| 10_000_000_000 + i * 3).collect();
        let want: Vec<bool> = queries.iter().map(|q| listed.contains(q)).collect();
        let mut out = vec![true; queries.len()];
        d.contains_into(&queries, &mut out);
        assert_eq!(out, want);
        assert_eq!(d.count_many(&queries), want.iter().filter(|w| **w).count());
        assert!(d.count_many(&queries) > 0);
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
            let small = DncList::with_layout(v.clone(), Layout { huge_pages: false });
            prop_assert_eq!(small.contains_many(&q), many.clone());
            prop_assert_eq!(d.count_many(&q), many.iter().filter(|m| **m).count());
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
