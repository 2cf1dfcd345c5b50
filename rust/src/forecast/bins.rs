//! Call records or per-interval counts into a dense run of intervals covering whole local
//! days: the first and last day are padded with empty intervals, so day-of-week arithmetic
//! and the forecast both start at a midnight.

use super::Grid;
use crate::error::{Error, Result};
use crate::time::check_seconds;

/// Most intervals a history or forecast may span (8 years of minutes, 239 years of
/// half-hours): one stray timestamp must not turn into a huge allocation.
pub const MAX_BINS: usize = 1 << 22;

/// A dense history: interval `first + i` holds `calls[i]`; `handled[i]` of those calls have a
/// known handle time, `handle_sum[i]` seconds in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    pub first: i64,
    pub calls: Vec<f64>,
    pub handled: Vec<f64>,
    pub handle_sum: Vec<f64>,
}

/// Adds item `i` (`calls[i]` calls at UTC time `times[i]`, `handled[i]` of them with handle
/// times summing to `handle_sum[i]` seconds) to the interval holding its time. A call record
/// is (t, 1, 1 or 0, its handle time or 0); a count row is (start, n, n, n x mean handle time).
pub fn bin(
    grid: Grid,
    times: &[f64],
    calls: &[f64],
    handled: &[f64],
    handle_sum: &[f64],
) -> Result<Binned> {
    let n = times.len();
    for (name, len) in [
        ("calls", calls.len()),
        ("handled", handled.len()),
        ("handle_sum", handle_sum.len()),
    ] {
        if len != n {
            return Err(Error::invalid(format!(
                "{name} has {len} items, times has {n}"
            )));
        }
    }
    if n == 0 {
        return Err(Error::invalid("history is empty: no calls or intervals"));
    }
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for i in 0..n {
        check_seconds(&format!("times[{i}]"), times[i])?;
        for (name, v) in [
            ("calls", calls[i]),
            ("handled", handled[i]),
            ("handle_sum", handle_sum[i]),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(format!(
                    "{name}[{i}] must be a finite number >= 0, got {v}"
                )));
            }
        }
        if handled[i] > calls[i] {
            return Err(Error::invalid(format!(
                "handled[{i}] = {} is more than calls[{i}] = {}",
                handled[i], calls[i]
            )));
        }
        let k = grid.bin_of(times[i]);
        lo = lo.min(k);
        hi = hi.max(k);
    }
    let per_day = grid.per_day() as i64;
    let first = lo.div_euclid(per_day) * per_day;
    let end = (hi.div_euclid(per_day) + 1) * per_day;
    let len = (end - first) as usize;
    if len > MAX_BINS {
        return Err(Error::invalid(format!(
            "history spans {} days of {} s intervals, more than the limit of {MAX_BINS} intervals",
            len as i64 / per_day,
            grid.interval()
        )));
    }
    let mut out = Binned {
        first,
        calls: vec![0.0; len],
        handled: vec![0.0; len],
        handle_sum: vec![0.0; len],
    };
    for i in 0..n {
        let j = (grid.bin_of(times[i]) - first) as usize;
        out.calls[j] += calls[i];
        out.handled[j] += handled[i];
        out.handle_sum[j] += handle_sum[i];
    }
    Ok(out)
}
