//! The simulator's pending events, earliest first: a 4-ary min-heap keyed by (time, sequence).
//!
//! Why not `BinaryHeap<Reverse<(Time, u64, Ev)>>`: every push and pop compared a float with
//! `total_cmp`, then the sequence, through the derived tuple order, along a binary tree about
//! log2(n) deep. Here the time and the sequence are packed into one `u128` (the time's
//! `total_cmp` order as an unsigned integer, then the sequence), so a comparison is one integer
//! compare, and four children per node halve the depth: a pop compares the (adjacent, one or two
//! cache lines) children of log4(n) nodes. The sequence makes every key unique, so the order of
//! events is exactly the one the binary heap gave (ties in time go in scheduling order).

/// One pending event of payload `E`.
#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    key: u128,
    ev: E,
}

#[derive(Debug)]
pub struct Agenda<E> {
    heap: Vec<Entry<E>>,
}

/// `f64::total_cmp`'s order as an unsigned integer: flip all bits of negatives, the sign bit of
/// the rest.
fn time_bits(t: f64) -> u64 {
    let b = t.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The order key of an event at `t` scheduled `seq`-th.
fn key(t: f64, seq: u64) -> u128 {
    (u128::from(time_bits(t)) << 64) | u128::from(seq)
}

/// The time of an order key (`time_bits` undone).
pub fn key_time(key: u128) -> f64 {
    let b = (key >> 64) as u64;
    f64::from_bits(if b >> 63 == 1 { b & !(1 << 63) } else { !b })
}

impl<E: Copy> Agenda<E> {
    pub fn new() -> Self {
        Agenda { heap: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The earliest time, if any.
    #[cfg(test)]
    pub fn peek_time(&self) -> Option<f64> {
        self.peek_key().map(key_time)
    }

    /// The earliest entry's order key (time, then sequence, as one integer): two agendas fed
    /// from one sequence counter interleave exactly as one agenda holding both would.
    pub fn peek_key(&self) -> Option<u128> {
        self.heap.first().map(|e| e.key)
    }

    /// Adds `ev` at `t`; among equal times, lower `seq` comes out first.
    pub fn push(&mut self, t: f64, seq: u64, ev: E) {
        let new = Entry {
            key: key(t, seq),
            ev,
        };
        let mut i = self.heap.len();
        self.heap.push(new);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.heap[parent].key <= new.key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = new;
    }

    /// Removes and returns the earliest event with its time.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(f64, E)> {
        let t = self.peek_time()?;
        self.pop_event().map(|ev| (t, ev))
    }

    /// Removes and returns the earliest event (its time is `peek_time`'s, which the caller has
    /// read already: no second decoding of the key).
    pub fn pop_event(&mut self) -> Option<E> {
        let top = self.heap.first()?.ev;
        let last = self.heap.pop().expect("not empty");
        let n = self.heap.len();
        if n > 0 {
            // The hole at the root goes down to a leaf along the smallest children, then the
            // last entry rises from there to its place (Floyd). The last entry is one of the
            // latest, so it seldom rises: this skips comparing it at every level on the way
            // down, and leaves the entries exactly where sifting it down would have.
            let mut i = 0;
            loop {
                let first = 4 * i + 1;
                // Inner nodes but the last have all four children: one bounds check for the
                // four, and the smallest found as a pair of pairs (three compares, the first
                // two independent) rather than by a loop with a check per child.
                let min = if let Some(kids) = self
                    .heap
                    .get(first..first + 4)
                    .and_then(|k| <&[Entry<E>; 4]>::try_from(k).ok())
                {
                    let a = usize::from(kids[1].key < kids[0].key);
                    let b = 2 + usize::from(kids[3].key < kids[2].key);
                    first + if kids[b].key < kids[a].key { b } else { a }
                } else if first < n {
                    let mut min = first;
                    for c in first + 1..n {
                        if self.heap[c].key < self.heap[min].key {
                            min = c;
                        }
                    }
                    min
                } else {
                    break;
                };
                self.heap[i] = self.heap[min];
                i = min;
            }
            while i > 0 {
                let parent = (i - 1) / 4;
                if self.heap[parent].key <= last.key {
                    break;
                }
                self.heap[i] = self.heap[parent];
                i = parent;
            }
            self.heap[i] = last;
        }
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn times_keep_their_order_as_integers() {
        let ts = [
            -1e12,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            0.5,
            1.0,
            7.25,
            1e12,
            f64::INFINITY,
        ];
        for w in ts.windows(2) {
            assert!(time_bits(w[0]) < time_bits(w[1]), "{w:?}");
        }
        let mut a = Agenda::new();
        for (s, &t) in ts.iter().enumerate() {
            a.push(t, s as u64, ());
        }
        for &t in &ts {
            assert_eq!(a.pop().map(|(t, _)| t.to_bits()), Some(t.to_bits()));
        }
        assert!(a.pop().is_none());
    }

    /// Random interleavings of pushes and pops, with many equal times, come out exactly as the
    /// standard binary heap of (time, seq) gives them.
    #[test]
    fn same_order_as_the_binary_heap() {
        let mut rng = Rng::new(5);
        let mut agenda = Agenda::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0.0;
        for _ in 0..200_000 {
            if rng.below(100) < 52 || reference.is_empty() {
                // Coarse times so that ties are common.
                let t = now + rng.below(50) as f64 * 0.5;
                seq += 1;
                agenda.push(t, seq, seq);
                reference.push(Reverse((crate::time::Time(t), seq)));
            } else {
                let Reverse((t, s)) = reference.pop().unwrap();
                assert_eq!(agenda.peek_time(), Some(t.0));
                assert_eq!(agenda.pop(), Some((t.0, s)));
                now = t.0;
            }
            assert_eq!(agenda.is_empty(), reference.is_empty());
        }
    }
}
