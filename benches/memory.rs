//! Memory per agent and per waiting call (`cargo bench -p acdcore --bench memory`).
//!
//! A counting global allocator wraps the system one and keeps the bytes live (as requested by
//! the program: the allocator's own per-block overhead, typically 8-16 bytes, is not in it),
//! their peak and the number of live blocks, plus a histogram of live blocks by size. With the
//! scenario of `scenario.rs` (10,000 agents, 1,000 queues, 100 skills):
//!
//! 1. an engine with the queues defined; then every agent logged in: the difference over the
//!    number of agents is the bytes per agent (engine records, id maps, the per-queue indexes of
//!    available agents);
//! 2. every agent paused, so that no call can be answered; then 1,000,000 calls enqueued at
//!    increasing times (each to a queue drawn by staffing, 0-2 required skills, some with a
//!    priority): the difference over the number of calls is the bytes per waiting call,
//!    including the slack of growable tables at that size (`Vec` capacity, hash table buckets),
//!    which is memory the process really holds.
//!
//! Sizes come from ACDCORE_BENCH_{AGENTS,SKILLS,QUEUES,CALLS,SEED} like the routing bench.

#[path = "scenario.rs"]
mod scenario;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use acdcore::Engine;
use scenario::{Plan, Sizes, new_engine};

/// Exact sizes up to this many bytes get their own histogram slot; larger blocks share the last.
const HIST: usize = 4096;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static BLOCKS: AtomicI64 = AtomicI64::new(0);
static BY_SIZE: [AtomicI64; HIST + 1] = [const { AtomicI64::new(0) }; HIST + 1];
/// Live bytes in blocks of HIST bytes or more, by power of two (index: log2 of the size).
static BIG_BYTES: [AtomicI64; 64] = [const { AtomicI64::new(0) }; 64];
/// The largest block ever allocated (a table's single block, e.g. a `Vec` of every call).
static LARGEST: AtomicI64 = AtomicI64::new(0);

fn count(size: usize, blocks: i64) {
    BY_SIZE[size.min(HIST)].fetch_add(blocks, Relaxed);
    if size >= HIST {
        BIG_BYTES[size.ilog2() as usize].fetch_add(blocks * size as i64, Relaxed);
        if blocks > 0 {
            LARGEST.fetch_max(size as i64, Relaxed);
        }
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size as i64, Relaxed) + size as i64;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every method forwards to `System` with the same arguments and only updates counters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
            BLOCKS.fetch_add(1, Relaxed);
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
            BLOCKS.fetch_add(1, Relaxed);
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size() as i64, Relaxed);
            grew(new_size);
            count(layout.size(), -1);
            count(new_size, 1);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Counters at one moment (arrays, not vectors: taking a mark allocates nothing).
struct Mark {
    live: i64,
    blocks: i64,
    by_size: [i64; HIST + 1],
    big_bytes: [i64; 64],
}

fn mark() -> Mark {
    Mark {
        live: LIVE.load(Relaxed),
        blocks: BLOCKS.load(Relaxed),
        by_size: std::array::from_fn(|i| BY_SIZE[i].load(Relaxed)),
        big_bytes: std::array::from_fn(|i| BIG_BYTES[i].load(Relaxed)),
    }
}

/// Prints the growth from `a` to `b` per item, and the block sizes that account for most of it.
fn per_item(what: &str, a: &Mark, b: &Mark, n: usize) -> f64 {
    let n = n.max(1) as f64;
    let bytes = (b.live - a.live) as f64 / n;
    println!(
        "{what}: {bytes:.1} bytes each ({:.2} MB for {n}; {:.2} live blocks each)",
        (b.live - a.live) as f64 / 1e6,
        (b.blocks - a.blocks) as f64 / n,
    );
    // Small blocks by exact size, big ones (tables) by power of two: (label, blocks, bytes).
    let mut parts: Vec<(String, i64, i64)> = (0..HIST)
        .map(|s| (format!("{s} B"), b.by_size[s] - a.by_size[s], 0))
        .map(|(l, d, _)| {
            let size: i64 = l.trim_end_matches(" B").parse().unwrap_or(0);
            (l, d, d * size)
        })
        .collect();
    parts.extend((0..64).map(|k| {
        let blocks = if k == 12 {
            b.by_size[HIST] - a.by_size[HIST]
        } else {
            0
        };
        let label = format!("{}K-{}K B", (1u64 << k) / 1024, (2u64 << k) / 1024);
        (label, blocks, b.big_bytes[k] - a.big_bytes[k])
    }));
    parts.retain(|p| p.2 != 0);
    parts.sort_by_key(|p| std::cmp::Reverse(p.2));
    let shown: Vec<String> = parts
        .iter()
        .take(10)
        .map(|(label, blocks, bytes)| {
            if label.contains('K') {
                format!("[{label}]: {:.1} B", *bytes as f64 / n)
            } else {
                format!(
                    "[{label} x {:.3}]: {:.1} B",
                    *blocks as f64 / n,
                    *bytes as f64 / n
                )
            }
        })
        .collect();
    println!("  bytes per item by block size: {}", shown.join(", "));
    bytes
}

fn main() {
    let sizes = Sizes::from_env();
    let plan = Plan::generate(sizes);
    let n_agents = plan.agents.len();
    let n_calls = plan.calls.len();
    println!(
        "scenario: {} agents, {} skills, {} queues, {} calls",
        n_agents, sizes.skills, sizes.queues, n_calls
    );

    let m0 = mark();
    let mut e: Engine = new_engine();
    plan.add_queues(&mut e);
    let m1 = mark();
    per_item("engine with queues, per queue", &m0, &m1, sizes.queues);

    plan.login_all(&mut e, 0.0);
    let m2 = mark();
    let agent = per_item("agent logged in (available)", &m1, &m2, n_agents);

    for a in &plan.agents {
        e.pause(0.0, &a.id, "bench").expect("pause");
    }
    e.take_events();
    let m3 = mark();
    per_item("agent logged in (paused)", &m1, &m3, n_agents);

    for c in 0..n_calls as u32 {
        let spec = &plan.calls[c as usize];
        e.enqueue(spec.arrival, &plan.new_call(c)).expect("enqueue");
    }
    let events = e.take_events();
    assert!(events.is_empty(), "no call may be answered or leave");
    assert_eq!(e.live_calls(), n_calls);
    let m4 = mark();
    let call = per_item("waiting call", &m3, &m4, n_calls);

    // `Vec` capacities double from 4, so the slab of every call is next_power_of_two() long.
    let cap = n_calls.next_power_of_two();
    println!(
        "  largest block: {} bytes = {:.1} bytes x {cap} (the call slab, if its capacity is {cap})",
        LARGEST.load(Relaxed),
        LARGEST.load(Relaxed) as f64 / cap as f64
    );
    let peak = PEAK.load(Relaxed);
    drop(e);
    let m5 = mark();
    println!(
        "peak {:.1} MB live; after dropping the engine {} bytes remain above the start",
        peak as f64 / 1e6,
        m5.live - m0.live
    );
    println!(
        "targets: agent {agent:.0} B ({}: < 1024 B), waiting call {call:.0} B ({}: < 300 B)",
        if agent < 1024.0 { "met" } else { "NOT met" },
        if call < 300.0 { "met" } else { "NOT met" },
    );
}
