use super::*;
use crate::sim::Dist;

fn config(mode: Mode) -> Config {
    let service = Service::new(&Dist::exponential(180.0), 10.0).unwrap();
    Config::new(mode, 0.03, service)
        .unwrap()
        .with_prior(Estimates {
            answer: 0.2,
            machine: 0.0,
            tta: 8.0,
        })
        .unwrap()
}

fn tick(now: f64, ready: u32, ages: &[f64], in_flight: u32) -> Tick<'_> {
    Tick {
        now,
        ready,
        busy_ages: ages,
        in_flight,
        flight_ages: &[],
        waiting: 0,
    }
}

fn dials(cfg: &Config, t: &Tick<'_>) -> u32 {
    pace(cfg, &mut State::new(cfg), t, &Observed::default()).unwrap()
}

#[test]
fn no_agents_no_dials_in_every_mode() {
    for mode in [
        Mode::Progressive,
        Mode::Power { ratio: 3.0 },
        Mode::Predictive,
    ] {
        assert_eq!(dials(&config(mode), &tick(0.0, 0, &[], 0)), 0, "{mode:?}");
    }
}

#[test]
fn progressive_and_power_count_dials_in_flight() {
    let t = tick(0.0, 5, &[30.0], 2);
    assert_eq!(dials(&config(Mode::Progressive), &t), 3);
    assert_eq!(dials(&config(Mode::Power { ratio: 2.5 }), &t), 11);
    let t = tick(0.0, 2, &[], 9);
    assert_eq!(dials(&config(Mode::Progressive), &t), 0);
    assert_eq!(dials(&config(Mode::Power { ratio: 2.0 }), &t), 0);
}

#[test]
fn predictive_is_monotone_in_ready_agents_and_dials_ahead() {
    let cfg = config(Mode::Predictive);
    let ages = [200.0; 40];
    let counts: Vec<u32> = (0..20)
        .map(|r| dials(&cfg, &tick(0.0, r, &ages, 0)))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    // With 10 ready at a 20% live answer rate it dials well past one per agent.
    assert!(counts[10] > 20, "{counts:?}");
    // Agents busy now free up within the answer time: more dials than for the ready alone.
    assert!(
        counts[10] > dials(&cfg, &tick(0.0, 10, &[], 0)),
        "{counts:?}"
    );
    // Dials in flight take their share.
    let fewer = dials(&cfg, &tick(0.0, 10, &ages, 30));
    assert!(
        fewer < counts[10] && fewer + 30 >= counts[10] - 2,
        "{fewer} {counts:?}"
    );
}

#[test]
fn a_longer_answer_time_dials_more_ahead_of_busy_agents() {
    let mut slow = config(Mode::Predictive);
    slow.prior.tta = 20.0;
    let ages = [200.0; 40];
    let t = tick(0.0, 0, &ages, 0);
    assert!(dials(&slow, &t) > dials(&config(Mode::Predictive), &t));
}

/// One tick a second for `seconds`, `ready` agents and the given busy ages, learning `obs(s)`.
fn feed(
    cfg: &Config,
    st: &mut State,
    seconds: u32,
    ready: u32,
    ages: &[f64],
    obs: impl Fn(u32) -> Observed<'static>,
) {
    for s in 0..seconds {
        pace(cfg, st, &tick(f64::from(s), ready, ages, 0), &obs(s)).unwrap();
    }
}

fn outcomes(
    resolved: u32,
    answered: u32,
    machines: u32,
    tta: f64,
    abandoned: u32,
) -> Observed<'static> {
    Observed {
        resolved,
        answered,
        machines,
        tta_sum: tta * f64::from(answered),
        abandoned,
        ..Observed::default()
    }
}

/// Feeds `live` live answers of which `abandoned` abandoned, one tick per second.
fn run_with_abandons(cfg: &Config, live: u32, abandoned: u32) -> (State, u32) {
    let mut st = State::new(cfg);
    let ages = [200.0; 40];
    feed(cfg, &mut st, 600, 10, &ages, |_| outcomes(5, 1, 0, 8.0, 0));
    let obs = outcomes(live * 5, live, 0, 8.0, abandoned);
    let n = pace(cfg, &mut st, &tick(600.0, 10, &ages, 0), &obs).unwrap();
    (st, n)
}

#[test]
fn falls_back_to_progressive_as_measured_abandonment_nears_the_cap() {
    let cfg = config(Mode::Predictive);
    let (calm, calm_dials) = run_with_abandons(&cfg, 1000, 0);
    // 1,600 live answers in all: 42 abandons are about 87% of the cap, 55 over it.
    let (near, near_dials) = run_with_abandons(&cfg, 1000, 42);
    let (over, over_dials) = run_with_abandons(&cfg, 1000, 55);
    assert!(over.measured_abandon(0.03) > 0.95 * 0.03);
    assert!(calm.measured_abandon(0.03) < 0.01);
    assert!(
        near.measured_abandon(0.03) > 0.8 * 0.03,
        "{}",
        near.measured_abandon(0.03)
    );
    assert!(
        calm_dials > near_dials && near_dials > over_dials,
        "{calm_dials} {near_dials} {over_dials}"
    );
    // At and past the cap: exactly progressive (10 ready, nothing in flight).
    assert_eq!(over_dials, 10);
}

#[test]
fn the_controller_lowers_the_risk_level_while_abandons_run_high() {
    let cfg = config(Mode::Predictive);
    let mut st = State::new(&cfg);
    let start = st.risk();
    feed(&cfg, &mut st, 300, 3, &[], |s| {
        outcomes(10, 2, 0, 8.0, u32::from(s % 10 == 0))
    });
    assert!(st.risk() < start, "{} {start}", st.risk());
    let mut calm = State::new(&cfg);
    feed(&cfg, &mut calm, 300, 3, &[], |_| outcomes(10, 2, 0, 8.0, 0));
    assert!(calm.risk() > start);
}

#[test]
fn estimates_follow_observed_outcomes() {
    let cfg = config(Mode::Predictive);
    let mut st = State::new(&cfg);
    // 10% answered, a third of them machines, 12 s to answer.
    feed(&cfg, &mut st, 200, 1, &[], |_| outcomes(30, 3, 1, 12.0, 0));
    let e = st.estimates();
    assert!((e.answer - 0.1).abs() < 0.005, "{e:?}");
    assert!((e.machine - 1.0 / 3.0).abs() < 0.01, "{e:?}");
    assert!((e.tta - 12.0).abs() < 0.1, "{e:?}");
}

#[test]
fn every_bad_age_is_found_in_any_lane_and_minus_zero_is_an_age() {
    let cfg = config(Mode::Predictive);
    for len in [1, 3, 4, 5, 8, 13] {
        for at in 0..len {
            for bad in [
                -1.0,
                -f64::MIN_POSITIVE,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ] {
                let mut ages = vec![30.0; len];
                ages[at] = bad;
                let mut st = State::new(&cfg);
                let e = pace(&cfg, &mut st, &tick(1.0, 1, &ages, 0), &Observed::default());
                let e = e.expect_err("a bad age must be refused");
                assert!(e.to_string().contains("busy age"), "{len} {at} {bad}: {e}");
            }
            let mut ages = vec![f64::MAX; len];
            ages[at] = -0.0;
            let mut st = State::new(&cfg);
            pace(&cfg, &mut st, &tick(1.0, 1, &ages, 0), &Observed::default()).unwrap();
        }
    }
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let cfg = config(Mode::Predictive);
    let mut st = State::new(&cfg);
    pace(&cfg, &mut st, &tick(10.0, 1, &[], 0), &Observed::default()).unwrap();
    let before = st.clone();
    let e = pace(&cfg, &mut st, &tick(9.0, 1, &[], 0), &Observed::default()).unwrap_err();
    assert!(e.to_string().contains("clock went backwards"), "{e}");
    let e = pace(
        &cfg,
        &mut st,
        &tick(11.0, 1, &[-1.0], 0),
        &Observed::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("busy age"), "{e}");
    let obs = Observed {
        resolved: 1,
        answered: 2,
        ..Observed::default()
    };
    let e = pace(&cfg, &mut st, &tick(11.0, 1, &[], 0), &obs).unwrap_err();
    assert!(e.to_string().contains("answered 2 > resolved 1"), "{e}");
    assert_eq!(st, before);
    let service = Service::new(&Dist::exponential(180.0), 0.0).unwrap();
    for bad in [0.0, -0.1, 1.5, f64::NAN] {
        let e = Config::new(Mode::Predictive, bad, service.clone()).unwrap_err();
        assert!(e.to_string().contains("abandon target"), "{e}");
    }
    for bad in [0.5, f64::INFINITY, 101.0] {
        let e = Mode::parse("power", bad).unwrap_err();
        assert!(e.to_string().contains("ratio"), "{e}");
    }
    assert!(
        Mode::parse("preview", 1.0)
            .unwrap_err()
            .to_string()
            .contains("preview")
    );
    assert!(Service::new(&Dist::exponential(180.0), -1.0).is_err());
}

#[test]
fn the_batch_paces_each_campaign_as_alone() {
    let configs = vec![
        config(Mode::Predictive),
        config(Mode::Progressive),
        config(Mode::Power { ratio: 2.0 }),
    ];
    let mut pacer = Pacer::new(configs.clone());
    let ages = [100.0, 250.0, 3.0, 40.0];
    let batch = Batch {
        now: 5.0,
        ready: &[4, 2, 3],
        in_flight: &[1, 0, 2],
        waiting: &[0, 0, 0],
        ages: &ages,
        offsets: &[0, 2, 2, 4],
        resolved: &[10, 0, 4],
        answered: &[2, 0, 1],
        machines: &[1, 0, 0],
        tta_sum: &[15.0, 0.0, 7.0],
        abandoned: &[0, 0, 0],
        flight_ages: &[],
        flight_offsets: &[],
        answer_times: &[],
        answer_offsets: &[],
    };
    let mut out = [0u32; 3];
    pacer.tick(&batch, &mut out).unwrap();
    for i in 0..3 {
        let (t, obs) = batch.campaign(i);
        let mut st = State::new(&configs[i]);
        assert_eq!(
            pace(&configs[i], &mut st, &t, &obs).unwrap(),
            out[i],
            "campaign {i}"
        );
        assert_eq!(pacer.state(i), Some(&st));
    }
    let before: Vec<State> = (0..3).map(|i| pacer.state(i).unwrap().clone()).collect();
    let bad = Batch {
        machines: &[1, 0, 2],
        ..batch
    };
    let e = pacer
        .tick(&Batch { now: 6.0, ..bad }, &mut out)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("campaign 2: machines 2 > answered 1"),
        "{e}"
    );
    let e = pacer
        .tick(
            &Batch {
                offsets: &[0, 2, 1, 4],
                ..batch
            },
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("offsets"), "{e}");
    let e = pacer
        .tick(
            &Batch {
                ready: &[1],
                ..batch
            },
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("ready has 1 values for 3"), "{e}");
    let after: Vec<State> = (0..3).map(|i| pacer.state(i).unwrap().clone()).collect();
    assert_eq!(before, after);
}

#[test]
fn dials_that_have_rung_long_leave_room_for_more() {
    let ringing = Ringing::new(&Dist::Lognormal { mean: 8.0, sd: 4.0 }, 25.0).unwrap();
    let cfg = config(Mode::Predictive).with_ringing(ringing);
    let busy = vec![100.0; 40];
    let at = |flight_ages: &[f64]| {
        let t = Tick {
            flight_ages,
            ..tick(0.0, 10, &busy, 30)
        };
        dials(&cfg, &t)
    };
    let unknown = at(&[]);
    let fresh = at(&[0.0; 30]);
    let old = at(&[20.0; 30]);
    assert_eq!(unknown, fresh);
    // 30 dials at 20 s of ringing are almost all no-answers: about 30 more fit.
    assert!(old >= fresh + 25, "{old} vs {fresh}");
    // Without the ringing model ages change nothing.
    let plain = config(Mode::Predictive);
    let t = Tick {
        flight_ages: &[20.0; 30],
        ..tick(0.0, 10, &busy, 30)
    };
    assert_eq!(dials(&plain, &t), fresh);
}

#[test]
fn bad_flight_ages_are_refused() {
    let cfg = config(Mode::Predictive);
    for (ages, want) in [
        (&[1.0, 2.0, 3.0][..], "3 flight ages for 2 dials in flight"),
        (&[f64::NAN][..], "flight age"),
        (&[-1.0][..], "flight age"),
    ] {
        let t = Tick {
            flight_ages: ages,
            ..tick(0.0, 1, &[], 2)
        };
        let e = pace(&cfg, &mut State::new(&cfg), &t, &Observed::default()).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
}

/// A predictive campaign with 25 s of ringing and the lognormal (cv 0.5) shape the Python
/// `Pacer` assumes, fed `ticks` seconds of answers whose times come from `time(k)`: 10 dials
/// resolved a tick, 2 answered, each answer's time reported.
fn learned(ticks: u32, time: impl Fn(u32) -> f64) -> (Config, State) {
    let shape = Dist::Lognormal { mean: 1.0, sd: 0.5 };
    let cfg = config(Mode::Predictive).with_ringing(Ringing::new(&shape, 25.0).unwrap());
    let mut st = State::new(&cfg);
    let busy = [100.0; 20];
    for s in 0..ticks {
        let times = [time(2 * s), time(2 * s + 1)];
        let obs = Observed {
            resolved: 10,
            answered: 2,
            answer_times: &times,
            ..Observed::default()
        };
        pace(&cfg, &mut st, &tick(f64::from(s), 5, &busy, 0), &obs).unwrap();
    }
    (cfg, st)
}

/// A spread over 0..1 from a counter (golden-ratio steps): a known distribution fed in
/// without a random generator.
fn spread(k: u32) -> f64 {
    (f64::from(k) * 0.618_033_988_749_895).fract()
}

#[test]
fn the_learned_shape_converges_to_the_answer_times_fed_in() {
    // Uniform on 12..15 s.
    let (_, st) = learned(1500, |k| 12.0 + 3.0 * spread(k));
    let shape = st.answer_shape().expect("answer times were reported");
    assert_eq!(shape.learned(), 3000);
    for (a, want) in [
        (6.0, 1.0),
        (12.0, 1.0),
        (13.5, 0.5),
        (15.0, 0.0),
        (24.0, 0.0),
    ] {
        let s = shape.survival(a);
        assert!((s - want).abs() < 0.03, "S({a}) = {s}, want {want}");
    }
    // The mean follows the same times.
    assert!(
        (st.estimates().tta - 13.5).abs() < 0.1,
        "{:?}",
        st.estimates()
    );
    // Without reported times the given shape stands.
    let cfg = config(Mode::Predictive);
    let mut plain = State::new(&cfg);
    feed(&cfg, &mut plain, 100, 1, &[], |_| {
        outcomes(10, 2, 0, 13.5, 0)
    });
    assert!(plain.answer_shape().is_none());
}

#[test]
fn late_answers_weigh_old_dials_more_than_early_ones() {
    let (cfg, late) = learned(1500, |k| 12.0 + 3.0 * spread(k));
    let (_, early) = learned(1500, |k| 2.0 + spread(k));
    // No busy agents: the longer window of the late campaign frees nobody more.
    let busy: [f64; 0] = [];
    // 20 dials that have rung 8 s: after early answers (2-3 s) they are no-answers; after
    // late ones (12-15 s) still the dials most likely to be answered.
    let ages = [8.0; 20];
    let weight = |st: &State| {
        let t = Tick {
            flight_ages: &ages,
            ..tick(2000.0, 5, &busy, 20)
        };
        let p = st.est.answer * (1.0 - st.est.machine);
        (flight_weight(&cfg, st, &t, p), t)
    };
    let (w_late, t) = weight(&late);
    let (w_early, _) = weight(&early);
    assert!(w_early < 0.5, "{w_early}");
    // With every answer at 12-15 s, a dial at 8 s has lost nothing yet: as likely live as a
    // fresh one, one fresh dial each.
    assert!(w_late > 19.0, "{w_late}");
    // The dial counts go the other way: the early campaign has room for more.
    let mut late_st = late.clone();
    let mut early_st = early.clone();
    let n_late = pace(&cfg, &mut late_st, &t, &Observed::default()).unwrap();
    let n_early = pace(&cfg, &mut early_st, &t, &Observed::default()).unwrap();
    assert!(n_early >= n_late + 15, "early {n_early}, late {n_late}");
}

#[test]
fn bad_answer_times_are_refused_and_change_nothing() {
    let (cfg, mut st) = learned(10, |_| 5.0);
    let before = st.clone();
    let cases: [(&[f64], f64, &str); 5] = [
        (&[-1.0], 0.0, "answer time must be a non-negative"),
        (&[f64::NAN], 0.0, "answer time"),
        (&[f64::INFINITY], 0.0, "answer time"),
        (&[1.0, 2.0, 3.0], 0.0, "3 answer times for 2 answered"),
        (&[1.0], 4.0, "tta_sum or answer times, not both"),
    ];
    for (times, tta_sum, want) in cases {
        let obs = Observed {
            resolved: 5,
            answered: 2,
            tta_sum,
            answer_times: times,
            ..Observed::default()
        };
        let e = pace(&cfg, &mut st, &tick(20.0, 1, &[], 0), &obs).unwrap_err();
        assert!(e.to_string().contains(want), "{want}: {e}");
    }
    assert_eq!(st, before);
}

#[test]
fn the_batch_takes_answer_times_per_campaign() {
    let shape = Dist::Lognormal { mean: 1.0, sd: 0.5 };
    let cfg = config(Mode::Predictive).with_ringing(Ringing::new(&shape, 25.0).unwrap());
    let mut pacer = Pacer::new(vec![cfg.clone(), cfg.clone()]);
    let times = [3.0, 4.0, 13.0];
    let batch = Batch {
        now: 1.0,
        ready: &[3, 3],
        in_flight: &[0, 0],
        waiting: &[0, 0],
        ages: &[],
        offsets: &[0, 0, 0],
        resolved: &[10, 10],
        answered: &[2, 2],
        machines: &[0, 0],
        tta_sum: &[0.0, 0.0],
        abandoned: &[0, 0],
        flight_ages: &[],
        flight_offsets: &[],
        answer_times: &times,
        answer_offsets: &[0, 2, 3],
    };
    let mut out = [0u32; 2];
    pacer.tick(&batch, &mut out).unwrap();
    for (i, want) in [(0, &times[..2]), (1, &times[2..])] {
        let mut st = State::new(&cfg);
        let obs = Observed {
            resolved: 10,
            answered: 2,
            answer_times: want,
            ..Observed::default()
        };
        pace(&cfg, &mut st, &tick(1.0, 3, &[], 0), &obs).unwrap();
        assert_eq!(pacer.state(i), Some(&st), "campaign {i}");
    }
    let e = pacer
        .tick(
            &Batch {
                now: 2.0,
                answer_offsets: &[0, 3],
                ..batch
            },
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("answer_offsets"), "{e}");
    let e = pacer
        .tick(
            &Batch {
                now: 2.0,
                answer_times: &[1.0, -2.0, 3.0],
                ..batch
            },
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().starts_with("campaign 0: answer time"), "{e}");
}

#[test]
fn a_small_idle_team_is_dialed_for() {
    // Issue 4: 2 ready, nobody busy, the cautious prior (half the dials answer) dialed 0.
    let service = Service::new(&Dist::exponential(180.0), 0.0).unwrap();
    let cfg = Config::new(Mode::Predictive, 0.03, service).unwrap();
    for ready in 1..6 {
        let n = dials(&cfg, &tick(0.0, ready, &[], 0));
        assert!(n >= ready, "{ready} ready: {n}");
    }
    assert!(dials(&cfg, &tick(0.0, 3, &[], 2)) >= 1);
    assert_eq!(dials(&cfg, &tick(0.0, 0, &[], 0)), 0);
}

#[test]
fn a_snapshot_gives_back_what_the_pacer_learned() {
    let (cfg, st) = learned(400, |k| 12.0 + 3.0 * spread(k));
    let mut saved = Pacer::new(vec![cfg.clone(), config(Mode::Progressive)]);
    saved.states[0] = st.clone();
    let bytes = saved.snapshot();
    let mut back = Pacer::new(vec![cfg.clone(), config(Mode::Progressive)]);
    back.restore_states(&bytes).unwrap();
    assert_eq!(back.states, saved.states);
    assert!(back.state(0).unwrap().answer_shape().is_some());
    // Going on, both decide alike.
    let busy = [100.0; 20];
    let (mut a, mut b) = (st.clone(), back.states[0].clone());
    let t = tick(401.0, 3, &busy, 4);
    let (da, db) = (
        pace(&cfg, &mut a, &t, &Observed::default()).unwrap(),
        pace(&cfg, &mut b, &t, &Observed::default()).unwrap(),
    );
    assert_eq!((da, a), (db, b));

    // Damaged, foreign or mismatched bytes are refused and change nothing.
    let fresh = Pacer::new(vec![cfg.clone(), config(Mode::Progressive)]);
    let mut p = fresh.clone();
    let mut damaged = bytes.clone();
    let mid = damaged.len() - 10;
    damaged[mid] ^= 0x40;
    for (bad, want) in [
        (&damaged[..], "damaged"),
        (&bytes[..bytes.len() / 2], "not an acdcore pacer snapshot"),
        (&b"hello"[..], "not an acdcore pacer snapshot"),
    ] {
        let e = p.restore_states(bad).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        assert_eq!(p.states, fresh.states);
    }
    let mut one = Pacer::new(vec![cfg.clone()]);
    let e = one.restore_states(&bytes).unwrap_err();
    assert!(e.to_string().contains("2 campaigns, this pacer 1"), "{e}");

    // A state out of range (as a forged or corrupted snapshot could hold) is refused.
    let mut forged = saved.clone();
    forged.states[1].risk = 1e9;
    let e = p.restore_states(&forged.snapshot()).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");

    // The campaign rings longer now: the estimates come back, the shape for 25 s does not.
    let shape = Dist::Lognormal { mean: 1.0, sd: 0.5 };
    let longer = config(Mode::Predictive).with_ringing(Ringing::new(&shape, 40.0).unwrap());
    let mut p = Pacer::new(vec![longer, config(Mode::Progressive)]);
    p.restore_states(&bytes).unwrap();
    let got = p.state(0).unwrap();
    assert!(got.answer_shape().is_none());
    assert_eq!((got.estimates(), got.risk()), (st.estimates(), st.risk()));
}

#[test]
fn a_long_gap_between_ticks_does_not_swing_the_risk_to_a_bound() {
    let cfg = config(Mode::Predictive);
    let busy = [100.0; 20];
    // Live answers and no abandon: the measured rate is under the setpoint, the risk rises.
    let obs = Observed {
        resolved: 10,
        answered: 3,
        ..Observed::default()
    };
    let none = Observed::default();
    let mut st = State::new(&cfg);
    for s in 0..30 {
        pace(&cfg, &mut st, &tick(f64::from(s), 2, &busy, 0), &obs).unwrap();
    }
    let (mut gap, mut ten) = (st.clone(), st.clone());
    // An hour with no tick (a paused campaign, a restart) moves the risk as 10 s would.
    pace(&cfg, &mut gap, &tick(29.0 + 3600.0, 2, &busy, 0), &none).unwrap();
    pace(&cfg, &mut ten, &tick(29.0 + 10.0, 2, &busy, 0), &none).unwrap();
    assert!(
        gap.risk() > st.risk() && gap.risk() < RISK_RANGE.1,
        "{}",
        gap.risk()
    );
    assert!(ten.risk() >= gap.risk(), "{} {}", ten.risk(), gap.risk());
}
