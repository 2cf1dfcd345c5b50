//! Do-not-call lookups (criterion; `cargo bench -p acdcore --bench dnc`): 5,000,000 listed
//! 11-digit numbers, batches of 1,000,000 queries of which about half are listed. `DncList`
//! (load 1/2) with and without transparent huge pages: one lookup at a time (`contains`), the
//! prefetching count-only batch (`count_many`), the batch into a caller's buffer
//! (`contains_into`, the numpy path) and into a new Vec (`contains_many`); beside the previous
//! table (power-of-two slots, load 0.30, small pages, 16 home slots read first), kept here as
//! the baseline. "thrpt" is lookups per second.
//!
//! ACDCORE_BENCH_DNC_SIZE changes the list size.

use std::hint::black_box;
use std::time::Duration;

use acdcore::outbound::{DncLayout, DncList};
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

/// The previous `DncList`: power-of-two slots at load at most 1/2 (0.30 for 5 M numbers,
/// 128 MB), home slot from the hash's top bits, small pages; the batch reads 16 home slots
/// before resolving any.
struct PrevHash {
    slots: Vec<u64>,
    shift: u32,
}

impl PrevHash {
    fn new(numbers: &[u64]) -> Self {
        let capacity = (2 * numbers.len()).next_power_of_two().max(16);
        let mut d = PrevHash {
            slots: vec![0; capacity],
            shift: 64 - capacity.trailing_zeros(),
        };
        let mask = capacity - 1;
        for &x in numbers.iter().filter(|&&x| x != 0) {
            let mut i = d.home(x);
            while d.slots[i] != 0 && d.slots[i] != x {
                i = (i + 1) & mask;
            }
            d.slots[i] = x;
        }
        d
    }

    fn home(&self, number: u64) -> usize {
        let mixed = (number ^ (number >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> self.shift) as usize
    }

    fn probe_from(&self, mut i: usize, number: u64) -> bool {
        let mask = self.slots.len() - 1;
        loop {
            match self.slots[i] {
                x if x == number => return true,
                0 => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn contains(&self, number: u64) -> bool {
        self.probe_from(self.home(number), number)
    }

    fn contains_many(&self, numbers: &[u64]) -> Vec<bool> {
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
                out.push(f == q || (f != 0 && self.probe_from(h, q)));
            }
        }
        out.extend(chunks.remainder().iter().map(|&x| self.contains(x)));
        out
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
    let small = DncList::with_layout(listed.clone(), DncLayout { huge_pages: false });
    let prev = PrevHash::new(&listed);
    let hits = dnc.count_many(&queries);
    assert_eq!(hits, count(&prev.contains_many(&queries)));
    assert_eq!(hits, small.count_many(&queries));
    println!(
        "dnc: {} numbers listed, {hits} of {QUERIES} queries listed; table {} MB (previous {} MB); {}",
        dnc.len(),
        dnc.table_bytes() >> 20,
        (prev.slots.len() * 8) >> 20,
        huge_page_note(),
    );

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("dnc");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(QUERIES as u64));
    let single = |d: &DncList| {
        queries
            .iter()
            .filter(|&&q| d.contains(black_box(q)))
            .count()
    };
    group.bench_function("contains_huge", |b| b.iter(|| single(&dnc)));
    group.bench_function("contains_small", |b| b.iter(|| single(&small)));
    group.bench_function("count_many_huge", |b| {
        b.iter(|| dnc.count_many(black_box(&queries)))
    });
    group.bench_function("count_many_small", |b| {
        b.iter(|| small.count_many(black_box(&queries)))
    });
    let mut out = vec![false; QUERIES];
    group.bench_function("contains_into_huge", |b| {
        b.iter(|| {
            dnc.contains_into(black_box(&queries), &mut out);
            out[QUERIES / 2]
        })
    });
    group.bench_function("contains_many_huge", |b| {
        b.iter(|| count(&dnc.contains_many(black_box(&queries))))
    });
    group.bench_function("prev_contains", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|&&q| prev.contains(black_box(q)))
                .count()
        })
    });
    group.bench_function("prev_contains_many", |b| {
        b.iter(|| count(&prev.contains_many(black_box(&queries))))
    });
    group.finish();
    c.final_summary();
}

/// This process's anonymous huge pages (Linux), to show the advice was taken.
fn huge_page_note() -> String {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("AnonHugePages"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "AnonHugePages unknown".into())
}
