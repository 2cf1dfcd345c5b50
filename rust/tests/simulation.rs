//! The simulator against queueing theory, and its own bookkeeping identities.

use acdcore::sim::{Scenario, mean_ci, simulate};

/// Erlang C by the stable Erlang B recurrence (independent of the crate's own planning code).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho + rho * b)
}

fn mmc(c: u32, rho: f64, calls: u64, reps: u32) -> Vec<acdcore::sim::RunResult> {
    let aht = 100.0;
    let rate = rho * f64::from(c) / aht;
    let mut scn = Scenario::mmc(c, rate, aht, calls, None, 20.0);
    scn.simulation.warmup = 20.0 * aht;
    simulate(&scn, 42, reps).unwrap()
}

#[test]
fn mmc_agrees_with_erlang_c() {
    let (c, rho, aht) = (10, 0.8, 100.0);
    let runs = mmc(c, rho, 40_000, 8);
    let a = rho * f64::from(c);
    let pw = erlang_c(c, a);
    let asa = pw * aht / (f64::from(c) - a);
    let sl = 1.0 - pw * (-(f64::from(c) - a) * 20.0 / aht).exp();
    let check = |name: &str, xs: Vec<f64>, want: f64| {
        let (m, h) = mean_ci(&xs);
        // A 95% interval, widened a little: 8 replications of 40,000 calls.
        assert!(
            (m - want).abs() <= 1.5 * h,
            "{name}: {m} +- {h}, Erlang C says {want}"
        );
    };
    check("p_wait", runs.iter().map(|r| r.totals.p_wait).collect(), pw);
    check("asa", runs.iter().map(|r| r.totals.asa).collect(), asa);
    check(
        "sl",
        runs.iter().map(|r| r.totals.service_level).collect(),
        sl,
    );
    check(
        "occupancy",
        runs.iter().map(|r| r.totals.occupancy).collect(),
        rho,
    );
}

#[test]
fn littles_law_holds_exactly_over_a_whole_run() {
    let scn = Scenario::mmc(5, 0.045, 100.0, 20_000, Some(60.0), 20.0);
    let run = &simulate(&scn, 7, 1).unwrap()[0];
    let t = &run.totals;
    let area = t.queue_mean * t.measured_seconds;
    let waits = t.wait_mean * (t.answered + t.abandoned) as f64;
    assert!(t.abandoned > 0 && t.answered > 0);
    assert!((area - waits).abs() <= 1e-6 * waits, "{area} vs {waits}");
    // Every arrival left the queue one way or another.
    assert_eq!(t.calls, t.answered + t.abandoned);
    assert_eq!(t.unserved, 0);
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let scn = Scenario::mmc(5, 0.04, 100.0, 5_000, Some(60.0), 20.0);
    let a = simulate(&scn, 1, 2).unwrap();
    let b = simulate(&scn, 1, 3).unwrap();
    assert_eq!(a[0].totals.asa, b[0].totals.asa);
    assert_eq!(a[1].totals.abandoned, b[1].totals.abandoned);
    assert_ne!(a[0].totals.asa, a[1].totals.asa);
}
