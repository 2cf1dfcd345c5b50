use super::*;
use crate::rng::Rng;

/// 2026-11-30, a Monday, 00:00 UTC.
const MONDAY: f64 = 1_795_996_800.0;

fn half_hours() -> Grid {
    Grid::new(1800, 0).unwrap()
}

/// Calls per half-hour: open 08:00-18:00, busier on Mondays, closed on Sundays, growing by
/// `growth` calls per interval per day, plus uniform noise of +-`noise`.
fn history(days: usize, growth: f64, noise: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut y = Vec::new();
    for d in 0..days {
        let weekday = d % 7;
        for slot in 0..48 {
            let open = (16..36).contains(&slot) && weekday != 6;
            let base = if open {
                20.0 + 10.0 * (slot as f64 / 6.0).sin().abs() + if weekday == 0 { 8.0 } else { 0.0 }
            } else {
                0.0
            };
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let v = if open {
                base + growth * d as f64 + noise * (2.0 * u - 1.0)
            } else {
                0.0
            };
            y.push(v.max(0.0));
        }
    }
    y
}

#[test]
fn grid_rejects_bad_intervals_and_offsets() {
    assert!(Grid::new(1800, 3600).is_ok());
    for bad in [0, 59, 7 * 60, 86_401] {
        let e = Grid::new(bad, 0).unwrap_err().to_string();
        assert!(e.contains(&bad.to_string()), "{e}");
    }
    assert!(
        Grid::new(1800, 19 * 3600)
            .unwrap_err()
            .to_string()
            .contains("68400")
    );
}

#[test]
fn week_slots_start_monday_midnight_local_time() {
    let g = half_hours();
    assert_eq!(g.week_slot(g.bin_of(MONDAY)), 0);
    assert_eq!(g.week_slot(g.bin_of(MONDAY - 1.0)), 7 * 48 - 1);
    assert_eq!(
        g.week_slot(g.bin_of(MONDAY + 86_400.0 + 9.0 * 3600.0)),
        48 + 18
    );
    // One hour east of UTC, local Monday 00:00 is Sunday 23:00 UTC.
    let east = Grid::new(1800, 3600).unwrap();
    assert_eq!(east.week_slot(east.bin_of(MONDAY - 3600.0)), 0);
    assert_eq!(east.start_of(east.bin_of(MONDAY - 3600.0)), MONDAY - 3600.0);
    assert_eq!(east.day_slot(east.bin_of(MONDAY + 600.0)), 2);
}

#[test]
fn binning_sums_into_intervals_and_pads_whole_days() {
    let g = half_hours();
    let t = [
        MONDAY + 9.0 * 3600.0 + 5.0,
        MONDAY + 9.0 * 3600.0 + 1799.0,
        MONDAY + 86_400.0 + 60.0,
    ];
    let b = bin(
        g,
        &t,
        &[1.0, 1.0, 3.0],
        &[1.0, 0.0, 3.0],
        &[100.0, 0.0, 600.0],
    )
    .unwrap();
    assert_eq!(b.first, g.bin_of(MONDAY));
    assert_eq!(b.calls.len(), 96);
    assert_eq!(b.calls[18], 2.0);
    assert_eq!(b.calls[48], 3.0);
    assert_eq!(b.calls.iter().sum::<f64>(), 5.0);
    let aht = aht_by_slot_of_day(g, b.first, &b.handled, &b.handle_sum);
    assert_eq!(aht[18], Some(100.0));
    assert_eq!(aht[0], Some(200.0));
    assert_eq!(aht[1], None);
    assert_eq!(mean_aht(&b.handled, &b.handle_sum), Some(700.0 / 4.0));
    assert_eq!(mean_aht(&[0.0], &[0.0]), None);
}

#[test]
fn binning_names_bad_items() {
    let g = half_hours();
    let e = bin(g, &[MONDAY, -5.0], &[1.0; 2], &[0.0; 2], &[0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("times[1]"), "{e}");
    let e = bin(g, &[MONDAY, MONDAY], &[1.0, -1.0], &[0.0; 2], &[0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("calls[1]"), "{e}");
    let e = bin(g, &[MONDAY], &[1.0], &[2.0], &[0.0]).unwrap_err();
    assert!(e.to_string().contains("handled[0]"), "{e}");
    let e = bin(g, &[MONDAY], &[1.0, 2.0], &[0.0], &[0.0]).unwrap_err();
    assert!(e.to_string().contains("calls has 2"), "{e}");
    assert!(
        bin(g, &[], &[], &[], &[])
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    // A stray timestamp centuries away is refused, not allocated.
    let e = bin(g, &[0.0, 9e11], &[1.0; 2], &[0.0; 2], &[0.0; 2]).unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

#[test]
fn spreading_keeps_the_total_and_follows_the_weights() {
    let g = Grid::new(3600, 0).unwrap();
    let mut w = vec![0.0; 7 * 24];
    w[9] = 1.0; // Monday 09:00
    w[24 + 9] = 3.0; // Tuesday 09:00
    let p = Profile::new(g, w).unwrap();
    let first = g.bin_of(MONDAY);
    let out = p.spread(g, 1500.0, first, 14 * 24).unwrap();
    assert!((out.iter().sum::<f64>() - 1500.0).abs() < 1e-9);
    assert!((out[9] - 187.5).abs() < 1e-9);
    assert!((out[24 + 9] - 562.5).abs() < 1e-9);
    assert!((out[7 * 24 + 9] - 187.5).abs() < 1e-9);
    // A period the profile gives no weight to (a Wednesday) cannot take a volume.
    let e = p.spread(g, 10.0, first + 48, 24).unwrap_err();
    assert!(e.to_string().contains("no weight"), "{e}");
    assert!(p.spread(g, f64::NAN, first, 24).is_err());
    assert!(
        Profile::new(g, vec![1.0; 5])
            .unwrap_err()
            .to_string()
            .contains("168")
    );
    assert!(Profile::new(g, vec![0.0; 168]).is_err());
}

#[test]
fn learned_profile_is_the_mean_week() {
    let g = half_hours();
    let y = history(28, 0.0, 0.0, 1);
    let p = Profile::learn(g, g.bin_of(MONDAY), &y).unwrap();
    let week: f64 = y[..336].iter().sum();
    for (i, w) in p.weights().iter().enumerate() {
        assert!((w - y[i] / week).abs() < 1e-12);
    }
}

#[test]
fn daily_trend_ignores_the_weekly_shape() {
    let g = half_hours();
    // 0.1 calls per open interval per day: 2 calls a day more on the 6 open days of 7.
    let y = history(35, 0.1, 0.0, 1);
    let slope = daily_trend(g, g.bin_of(MONDAY), &y);
    assert!((slope - 12.0 / 7.0).abs() < 1e-9, "{slope}");
    assert_eq!(daily_trend(g, g.bin_of(MONDAY), &y[..48 * 7]), 0.0);
}

#[test]
fn errors_on_known_numbers() {
    let e = Errors::of(&[10.0, 0.0, 20.0], &[12.0, 1.0, 17.0]);
    assert_eq!(e.n, 3);
    assert!((e.mape.unwrap() - 100.0 * (0.2 + 0.15) / 2.0).abs() < 1e-12);
    assert!((e.wape.unwrap() - 100.0 * 6.0 / 30.0).abs() < 1e-12);
    assert!((e.rmse - (14.0f64 / 3.0).sqrt()).abs() < 1e-12);
    let quiet = Errors::of(&[0.0], &[1.0]);
    assert_eq!((quiet.mape, quiet.wape, quiet.rmse), (None, None, 1.0));
    assert_eq!(seasonal_naive(&[1.0, 2.0, 3.0], 2, 3), vec![2.0, 3.0, 2.0]);
}

#[test]
fn noise_free_seasonal_trend_is_forecast_almost_exactly() {
    let y = history(35, 0.0, 0.0, 1);
    let (train, test) = y.split_at(28 * 48);
    let p = fit_params(train, 336);
    let f = smooth(train, 336, p).forecast(test.len());
    let err = Errors::of(test, &f);
    assert!(err.wape.unwrap() < 0.5, "{err:?} {p:?}");
}

#[test]
fn fit_beats_seasonal_naive_on_noisy_growing_history() {
    let g = half_hours();
    let y = history(70, 0.05, 8.0, 7);
    let f = fit(g, g.bin_of(MONDAY), &y, 7 * 48, 14).unwrap();
    let (h, n) = (f.holdout.unwrap(), f.naive.unwrap());
    assert!(h.wape.unwrap() < n.wape.unwrap(), "{h:?} vs {n:?}");
    assert!(h.rmse < n.rmse);
    assert_eq!(h.n, 14 * 48);
    assert_eq!(f.forecast.len(), 7 * 48);
    assert!(f.forecast.iter().all(|v| *v >= 0.0));
    assert!(
        (f.trend_per_day - 6.0 * 20.0 * 0.05 / 7.0).abs() < 0.4,
        "{}",
        f.trend_per_day
    );
    // Deterministic: the same history gives the same fit.
    assert_eq!(f, fit(g, g.bin_of(MONDAY), &y, 7 * 48, 14).unwrap());
}

#[test]
fn fit_refuses_short_or_ragged_histories() {
    let g = half_hours();
    let y = history(20, 0.0, 1.0, 1);
    let e = fit(g, g.bin_of(MONDAY), &y, 48, 14)
        .unwrap_err()
        .to_string();
    assert!(e.contains("20 days") && e.contains("14 held out"), "{e}");
    assert!(fit(g, g.bin_of(MONDAY), &y, 48, 0).is_ok());
    assert!(
        fit(g, g.bin_of(MONDAY) + 1, &y, 48, 0)
            .unwrap_err()
            .to_string()
            .contains("whole")
    );
    assert!(fit(g, g.bin_of(MONDAY), &y[..y.len() - 1], 48, 0).is_err());
    let mut bad = y.clone();
    bad[3] = f64::NAN;
    assert!(
        fit(g, g.bin_of(MONDAY), &bad, 48, 0)
            .unwrap_err()
            .to_string()
            .contains("calls[3]")
    );
}
