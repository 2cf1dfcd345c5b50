//! Many independent items (a day of intervals) computed on a few threads. Every item is its
//! own pure computation, so splitting the index range into contiguous chunks gives exactly the
//! same answers as one loop; the error reported is the one of the lowest failing index, as the
//! plain loop would stop at it.

use crate::error::Error;

/// Below this many items per thread, starting a thread costs more than it saves (a thread
/// start is ~20-50 us; an Erlang A staffing item ~1-7 us).
const MIN_PER_THREAD: usize = 8192;

/// Threads used at most: staffing a year of intervals is memory-light and CPU-bound, and the
/// machines this runs on share their cores.
const MAX_THREADS: usize = 8;

/// How many threads `map_items` uses for `n` items.
pub fn threads_for(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (n / MIN_PER_THREAD).clamp(1, cores.min(MAX_THREADS))
}

/// `f(0), f(1), ..., f(n-1)` in order, or the first failure with its index.
pub fn map_items<T: Send>(
    n: usize,
    f: impl Fn(usize) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, (usize, Error)> {
    map_items_on(threads_for(n), n, f)
}

/// As [`map_items`] on exactly `threads` threads (the calling one included).
pub fn map_items_on<T: Send>(
    threads: usize,
    n: usize,
    f: impl Fn(usize) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, (usize, Error)> {
    let chunk = |range: std::ops::Range<usize>| {
        range
            .map(|i| f(i).map_err(|e| (i, e)))
            .collect::<Result<Vec<T>, _>>()
    };
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return chunk(0..n);
    }
    let size = n.div_ceil(threads);
    let parts: Vec<Result<Vec<T>, (usize, Error)>> = std::thread::scope(|scope| {
        let chunk = &chunk;
        // The calling thread takes the first chunk itself.
        let others: Vec<_> = (1..threads)
            .map(|k| scope.spawn(move || chunk(k * size..((k + 1) * size).min(n))))
            .collect();
        let mut parts = vec![chunk(0..size.min(n))];
        // A worker's panic would be a bug in the math: surface it where it happened.
        parts.extend(others.into_iter().map(|h| match h.join() {
            Ok(part) => part,
            Err(panic) => std::panic::resume_unwind(panic),
        }));
        parts
    });
    let mut out = Vec::with_capacity(n);
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_give_the_plain_loop_order_and_first_error() {
        let f = |i: usize| {
            if i % 1000 == 999 && i > 5000 {
                Err(Error::invalid(format!("bad {i}")))
            } else {
                Ok(i * 3)
            }
        };
        for threads in [1, 2, 3, 7] {
            let ok = map_items_on(threads, 5000, f).unwrap();
            assert_eq!(ok, (0..5000).map(|i| i * 3).collect::<Vec<_>>());
            let (i, e) = map_items_on(threads, 20_000, f).unwrap_err();
            assert_eq!(i, 5999, "threads={threads}");
            assert!(e.to_string().contains("bad 5999"), "{e}");
            assert!(map_items_on(threads, 0, f).unwrap().is_empty());
            assert_eq!(map_items_on(threads, 1, f).unwrap(), vec![0]);
        }
        assert_eq!(threads_for(10), 1);
    }
}
