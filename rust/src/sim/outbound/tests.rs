use super::super::{OutboundConfig, simulate_outbound};
use crate::pacing::Mode;

fn day(agents: u32, answer_rate: f64, mode: Mode, seed: u64) -> super::super::OutboundResult {
    let mut cfg = OutboundConfig::new(agents, answer_rate, 180.0, mode);
    cfg.wrapup = 10.0;
    simulate_outbound(&cfg, seed).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_day() {
    let mut cfg = OutboundConfig::new(10, 0.2, 180.0, Mode::Predictive);
    cfg.duration = 3600.0;
    assert_eq!(
        simulate_outbound(&cfg, 3).unwrap(),
        simulate_outbound(&cfg, 3).unwrap()
    );
    assert_ne!(
        simulate_outbound(&cfg, 3).unwrap(),
        simulate_outbound(&cfg, 4).unwrap()
    );
}

#[test]
fn progressive_never_abandons_when_agents_serve_only_this_campaign() {
    for seed in 1..=3 {
        let r = day(20, 0.2, Mode::Progressive, seed);
        assert_eq!(r.totals.abandoned, 0, "seed {seed}");
        assert_eq!(r.totals.connects, r.totals.live);
        assert!(r.totals.dials > 1000);
    }
}

#[test]
fn outcomes_add_up() {
    let mut cfg = OutboundConfig::new(15, 0.3, 120.0, Mode::Power { ratio: 3.0 });
    cfg.machine_rate = 0.25;
    cfg.duration = 7200.0;
    let r = simulate_outbound(&cfg, 9).unwrap();
    let t = &r.totals;
    assert_eq!(t.live, t.connects + t.abandoned);
    let answered = (t.live + t.machines) as f64;
    assert!((answered / t.dials as f64 - 0.3).abs() < 0.03, "{t:?}");
    assert!((t.machines as f64 / answered - 0.25).abs() < 0.04, "{t:?}");
    assert_eq!(r.intervals.len(), 8);
    // Every agent-second of the two hours is logged in.
    assert!((t.staffed - 15.0 * 7200.0).abs() < 1e-6, "{}", t.staffed);
    assert!(r.occupancy() > 0.0 && r.occupancy() <= 1.0);
}

#[test]
fn bad_configs_are_named() {
    let base = OutboundConfig::new(10, 0.2, 180.0, Mode::Predictive);
    type Change = Box<dyn Fn(&mut OutboundConfig)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|c| c.agents = 0), "agents"),
        (Box::new(|c| c.answer_rate = 1.5), "answer rate"),
        (Box::new(|c| c.answer_rate = 0.0), "answer rate"),
        (Box::new(|c| c.machine_rate = -0.1), "machine rate"),
        (Box::new(|c| c.ring = 10.0), "ring"),
        (Box::new(|c| c.target = 0.0), "abandon target"),
        (Box::new(|c| c.wrapup = -1.0), "wrapup"),
        (Box::new(|c| c.duration = f64::NAN), "duration"),
        (
            Box::new(|c| c.handle = crate::sim::Dist::exponential(-3.0)),
            "handle",
        ),
    ];
    for (change, name) in cases {
        let mut cfg = base.clone();
        change(&mut cfg);
        let e = simulate_outbound(&cfg, 1).unwrap_err();
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
}
