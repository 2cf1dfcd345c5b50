//! Do-not-call lookups (criterion; `cargo bench -p acdcore --bench dnc`): 5,000,000 listed
//! 11-digit numbers, batches of 1,000,000 queries of which about half are listed: one lookup at
//! a time (`contains`), the lockstep batch (`contains_many`, what numpy callers get), and
//! `slice::binary_search` on the same sorted numbers; "thrpt" is lookups per second.
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
    let hits = dnc.contains_many(&queries).iter().filter(|h| **h).count();
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
    group.bench_function("eytzinger_contains", |b| {
        b.iter(|| {
            queries
                .iter()
                .filter(|&&q| dnc.contains(black_box(q)))
                .count()
        })
    });
    group.bench_function("eytzinger_contains_many", |b| {
        b.iter(|| {
            dnc.contains_many(black_box(&queries))
                .iter()
                .filter(|h| **h)
                .count()
        })
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
