//! Do-not-call lookups (criterion; `cargo bench -p acdcore --bench dnc`): 5,000,000 listed
//! 11-digit numbers, batches of 1,000,000 queries of which about half are listed: `DncList`'s
//! hash table one lookup at a time (`contains`) and in batches (`contains_many`, what numpy
//! callers get), beside the Eytzinger tree it replaced (kept here as the baseline, single and
//! 32-lane lockstep batch) and `slice::binary_search` on the same sorted numbers; "thrpt" is
//! lookups per second.
//!
//! ACDCORE_BENCH_DNC_SIZE changes the list size.

use std::hint::black_box;
use std::time::Duration;

use acdcore::outbound::DncList;
use criterion::{Criterion, Throughput};

const QUERIES: usize = 1_000_000;

/// splitmix64: enough randomness for spread-out numbers, no dependency.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn number(state: &mut u64) -> u64 {
    10_000_000_000 + next(state) % 9_000_000_000
}

/// The previous `DncList`: sorted numbers in Eytzinger (breadth-first) order, index 0 padding,
/// node k's children at 2k and 2k+1. About 23 dependent loads per lookup on 5 M numbers.
struct Eytzinger {
    tree: Vec<u64>,
}

impl Eytzinger {
    fn new(sorted: &[u64]) -> Self {
        let mut tree = vec![0u64; sorted.len() + 1];
        let mut next = 0usize;
        fill(sorted, &mut tree, &mut next, 1);
        Eytzinger { tree }
    }

    fn contains(&self, number: u64) -> bool {
        let n = self.tree.len() - 1;
        let mut k = 1usize;
        while k <= n {
            k = 2 * k + usize::from(self.tree[k] < number);
        }
        // The last left turn's node is the smallest element >= number.
        k >>= k.trailing_ones() + 1;
        k != 0 && self.tree[k] == number
    }

    /// 32 searches in lockstep, one level at a time, so their misses overlap.
    fn contains_many(&self, numbers: &[u64]) -> Vec<bool> {
        const LANES: usize = 32;
        let n = self.tree.len() - 1;
        let levels = n.ilog2() + 1;
        let mut out = Vec::with_capacity(numbers.len());
        let mut chunks = numbers.chunks_exact(LANES);
        for chunk in &mut chunks {
            let mut k = [1usize; LANES];
            for _ in 0..levels {
                for (kj, &q) in k.iter_mut().zip(chunk) {
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

fn count(hits: &[bool]) -> usize {
    hits.iter().filter(|h| **h).count()
}

fn main() {
    let size: usize = std::env::var("ACDCORE_BENCH_DNC_SIZE")
        .ok()
        .map(|v| {
            v.replace('_', "")
                .parse()
                .expect("ACDCORE_BENCH_DNC_SIZE is a number")
        })
        .unwrap_or(5_000_000);
    let mut s = 1u64;
    let listed: Vec<u64> = (0..size).map(|_| number(&mut s)).collect();
    let queries: Vec<u64> = (0..QUERIES)
        .map(|i| {
            if i % 2 == 0 {
                listed[(next(&mut s) as usize) % size]
            } else {
                number(&mut s)
            }
        })
        .collect();
    let dnc = DncList::new(listed.clone());
    let mut sorted = listed;
    sorted.sort_unstable();
    sorted.dedup();
    let tree = Eytzinger::new(&sorted);
    let hits = count(&dnc.contains_many(&queries));
    assert_eq!(hits, count(&tree.contains_many(&queries)));
    println!(
        "dnc: {} numbers listed, {hits} of {QUERIES} queries listed",
        dnc.len()
    );

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("dnc");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("hash_contains", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|&&q| dnc.contains(black_box(q)))
                .count()
        })
    });
    group.bench_function("hash_contains_many", |b| {
        b.iter(|| count(&dnc.contains_many(black_box(&queries))))
    });
    group.bench_function("eytzinger_contains", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|&&q| tree.contains(black_box(q)))
                .count()
        })
    });
    group.bench_function("eytzinger_contains_many", |b| {
        b.iter(|| count(&tree.contains_many(black_box(&queries))))
    });
    group.bench_function("binary_search", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|&&q| sorted.binary_search(&black_box(q)).is_ok())
                .count()
        })
    });
    group.finish();
    c.final_summary();
}
