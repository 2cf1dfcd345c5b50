//! The campaign end to end: modes, the life cycle, every compliance refusal recorded on its
//! lead, retries, callbacks, the abandonment cap and the information message.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

use super::campaign::*;
use super::rules::Refusal;
use super::{AbandonProfile, DncList, Lead};
use crate::error::Error;

/// 2026-01-15 15:00 UTC: 10:00 in New York, 15:00 in London, 07:00 in Los Angeles.
fn t0() -> f64 {
    Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0)
        .unwrap()
        .timestamp() as f64
}

fn lead(number: u64, zone: Tz, priority: i64) -> Lead {
    Lead {
        number,
        zone,
        priority,
    }
}

fn campaign(mode: Mode, leads: &[Lead], dnc: &[u64]) -> Campaign {
    let cfg = Config {
        mode,
        ..Config::default()
    };
    let mut c =
        Campaign::new("c1", cfg, leads, Arc::new(DncList::new(dnc.to_vec())), t0()).unwrap();
    c.start(t0()).unwrap();
    c
}

fn ny(n: u64) -> Lead {
    lead(12125550000 + n, Tz::America__New_York, 0)
}

fn agents(ready: u32, staffed: u32) -> Agents {
    Agents { ready, staffed }
}

#[test]
fn progressive_dials_one_per_ready_agent_by_priority() {
    let leads = [ny(1), lead(12125550002, Tz::America__New_York, 5), ny(3)];
    let mut c = campaign(Mode::Progressive, &leads, &[]);
    let d = c.tick(t0(), agents(2, 3), None).unwrap();
    assert_eq!(d.iter().map(|d| d.lead).collect::<Vec<_>>(), vec![1, 0]);
    assert_eq!(d[0].number, 12125550002);
    assert!(d[0].ring_timeout >= 15.0);
    // Two in flight already cover the two ready agents.
    assert!(c.tick(t0() + 1.0, agents(2, 3), None).unwrap().is_empty());
    assert_eq!(c.lead(1).unwrap().state, LeadState::Dialing);
}

#[test]
fn no_agents_dials_nothing_in_every_agent_mode() {
    for mode in [
        Mode::Progressive,
        Mode::Power,
        Mode::Predictive,
        Mode::Preview,
        Mode::ClickToDial,
    ] {
        let mut c = campaign(mode, &[ny(1), ny(2)], &[]);
        assert!(
            c.tick(t0(), agents(0, 0), Some(5)).unwrap().is_empty(),
            "{mode:?}"
        );
    }
}

#[test]
fn power_and_predictive_and_broadcast_counts() {
    let leads: Vec<Lead> = (0..20).map(ny).collect();
    let mut c = campaign(Mode::Power, &leads, &[]);
    c.set_mode(Mode::Power, Some(2.5), None).unwrap();
    assert_eq!(c.tick(t0(), agents(2, 4), None).unwrap().len(), 5);
    c.set_mode(Mode::Predictive, None, None).unwrap();
    // The pacing model's number, even with nobody ready yet (agents busy).
    assert_eq!(c.tick(t0() + 1.0, agents(0, 4), Some(3)).unwrap().len(), 3);
    let mut b = campaign(Mode::VoiceBroadcast, &leads, &[]);
    assert_eq!(b.tick(t0(), agents(0, 0), None).unwrap().len(), 1);
    let a = b.dial_result(0, Outcome::Human, t0() + 5.0).unwrap();
    assert_eq!(a, vec![Action::PlayMessage { lead: 0 }]);
    assert_eq!(b.lead(0).unwrap().state, LeadState::Done);
    assert!(
        c.set_mode(Mode::Power, Some(0.5), None)
            .unwrap_err()
            .to_string()
            .contains("ratio")
    );
}

#[test]
fn broadcast_lines_capped_by_the_hosts_free_lines() {
    let leads: Vec<Lead> = (0..20).map(ny).collect();
    let mut b = campaign(Mode::Progressive, &leads, &[]);
    b.set_mode(Mode::VoiceBroadcast, None, Some(4)).unwrap();
    assert_eq!(b.config().lines, 4);
    let first = b.tick(t0(), agents(0, 0), None).unwrap();
    assert_eq!(first.len(), 4);
    // Two answered: done for the campaign, but their messages still hold two of the host's
    // lines; two ring. The host has no line free, so nothing more is dialed.
    for d in &first[..2] {
        b.dial_result(d.lead, Outcome::Human, t0() + 5.0).unwrap();
    }
    assert!(
        b.tick(t0() + 6.0, agents(0, 0), Some(0))
            .unwrap()
            .is_empty()
    );
    // Without the host's count the campaign fills the lines the ringing calls leave.
    assert_eq!(b.tick(t0() + 7.0, agents(0, 0), None).unwrap().len(), 2);
    // The host's count never raises it past `lines` less the calls ringing.
    assert!(
        b.tick(t0() + 8.0, agents(0, 0), Some(9))
            .unwrap()
            .is_empty()
    );
    let err = b.set_mode(Mode::VoiceBroadcast, None, Some(0)).unwrap_err();
    assert!(
        err.to_string().contains("lines must be at least 1"),
        "{err}"
    );
    assert_eq!(b.config().lines, 4);
}

#[test]
fn start_pause_stop() {
    let mut c = Campaign::new(
        "c",
        Config::default(),
        &[ny(1), ny(2)],
        Arc::default(),
        t0(),
    )
    .unwrap();
    assert!(c.tick(t0(), agents(1, 1), None).unwrap().is_empty()); // not started
    c.start(t0()).unwrap();
    c.pause(t0()).unwrap();
    assert!(c.tick(t0(), agents(1, 1), None).unwrap().is_empty());
    c.start(t0()).unwrap();
    assert_eq!(c.tick(t0(), agents(1, 1), None).unwrap().len(), 1);
    c.stop(t0()).unwrap();
    assert!(c.tick(t0(), agents(5, 5), None).unwrap().is_empty());
    assert!(matches!(c.start(t0()), Err(Error::State(_))));
    // A call in progress still reports.
    assert!(c.dial_result(0, Outcome::Busy, t0() + 3.0).is_ok());
}

#[test]
fn clock_going_back_is_an_error() {
    let mut c = campaign(Mode::Progressive, &[ny(1)], &[]);
    c.tick(t0() + 10.0, agents(1, 1), None).unwrap();
    let e = c.tick(t0(), agents(1, 1), None).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("time never goes back")),
        "{e}"
    );
}

#[test]
fn do_not_call_leads_are_refused_and_ended() {
    let mut c = campaign(Mode::Progressive, &[ny(1), ny(2)], &[12125550001]);
    let d = c.tick(t0(), agents(2, 2), None).unwrap();
    assert_eq!(d.iter().map(|d| d.lead).collect::<Vec<_>>(), vec![1]);
    let v = c.lead(0).unwrap();
    assert_eq!(
        (v.state, v.refusal, v.attempts),
        (LeadState::Done, Some(Refusal::DoNotCall), 0)
    );
    assert_eq!(c.stats().refused[0], 1);
}

#[test]
fn calling_hours_refuse_and_reschedule_to_local_opening() {
    // 07:00 in Los Angeles: refused, due again at 08:00 local (16:00 UTC).
    let la = lead(14155550100, Tz::America__Los_Angeles, 9);
    let mut c = campaign(Mode::Progressive, &[la, ny(1)], &[]);
    let d = c.tick(t0(), agents(2, 2), None).unwrap();
    assert_eq!(d.iter().map(|d| d.lead).collect::<Vec<_>>(), vec![1]);
    let v = c.lead(0).unwrap();
    assert_eq!(
        (v.state, v.refusal),
        (LeadState::RetryScheduled, Some(Refusal::CallingHours))
    );
    assert!(
        c.tick(t0() + 3599.0, agents(2, 2), None)
            .unwrap()
            .is_empty()
    );
    let d = c.tick(t0() + 3600.0, agents(2, 2), None).unwrap();
    assert_eq!(d[0].lead, 0);
    // Click-to-dial is checked too, and says why.
    let mut c = campaign(Mode::ClickToDial, &[la], &[]);
    let e = c.dial(0, t0()).unwrap_err();
    assert!(e.to_string().contains("calling-hours"), "{e}");
    assert_eq!(c.lead(0).unwrap().refusal, Some(Refusal::CallingHours));
}

#[test]
fn holidays_refuse_with_their_own_reason() {
    let mut cfg = Config::default();
    cfg.rules.add_holiday(
        Some(Tz::America__New_York),
        chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
    );
    let mut c = Campaign::new("h", cfg, &[ny(1)], Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    assert!(c.tick(t0(), agents(1, 1), None).unwrap().is_empty());
    assert_eq!(c.lead(0).unwrap().refusal, Some(Refusal::Holiday));
}

#[test]
fn retries_follow_the_outcome_delay_and_max_attempts() {
    let mut cfg = Config::default();
    cfg.rules.set_max_attempts(2).unwrap();
    cfg.retry[3] = Some(600.0); // busy
    let mut c = Campaign::new("r", cfg, &[ny(1)], Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    c.tick(t0(), agents(1, 1), None).unwrap();
    c.dial_result(0, Outcome::Busy, t0() + 5.0).unwrap();
    assert_eq!(c.lead(0).unwrap().state, LeadState::RetryScheduled);
    assert!(c.tick(t0() + 604.0, agents(1, 1), None).unwrap().is_empty());
    assert_eq!(c.tick(t0() + 605.0, agents(1, 1), None).unwrap().len(), 1);
    c.dial_result(0, Outcome::Busy, t0() + 610.0).unwrap();
    // The last attempt's outcome ends the lead at once: no retry it could never make.
    let v = c.lead(0).unwrap();
    assert_eq!(
        (v.state, v.refusal),
        (LeadState::Done, Some(Refusal::MaxAttempts))
    );
    assert_eq!(c.stats().leads_left, 0);
    assert!(
        c.tick(t0() + 2000.0, agents(1, 1), None)
            .unwrap()
            .is_empty()
    );
    let v = c.lead(0).unwrap();
    assert_eq!(
        (v.state, v.refusal, v.attempts),
        (LeadState::Done, Some(Refusal::MaxAttempts), 2)
    );
    assert_eq!(c.stats().leads_left, 0);
}

#[test]
fn min_gap_between_attempts() {
    let mut cfg = Config::default();
    cfg.rules.set_min_gap(3600.0).unwrap();
    cfg.retry[3] = Some(60.0);
    let mut c = Campaign::new("g", cfg, &[ny(1)], Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    c.tick(t0(), agents(1, 1), None).unwrap();
    c.dial_result(0, Outcome::Busy, t0() + 5.0).unwrap();
    assert!(c.tick(t0() + 65.0, agents(1, 1), None).unwrap().is_empty());
    assert_eq!(c.lead(0).unwrap().refusal, Some(Refusal::MinGap));
    assert_eq!(c.tick(t0() + 3600.0, agents(1, 1), None).unwrap().len(), 1);
}

#[test]
fn no_answer_needs_the_full_ring() {
    let mut c = campaign(Mode::Progressive, &[ny(1)], &[]);
    c.tick(t0(), agents(1, 1), None).unwrap();
    let e = c
        .dial_result(0, Outcome::NoAnswer, t0() + 10.0)
        .unwrap_err();
    assert!(e.to_string().contains("no-answer after 10"), "{e}");
    c.dial_result(0, Outcome::NoAnswer, t0() + 20.0).unwrap();
    assert_eq!(c.lead(0).unwrap().outcome, Some(Outcome::NoAnswer));
    let mut cfg = Config::default();
    assert!(cfg.rules.set_ring_timeout(10.0).is_err());
}

#[test]
fn answered_call_talk_and_callback_with_preferred_agent() {
    let mut c = campaign(Mode::Progressive, &[ny(1)], &[]);
    c.tick(t0(), agents(1, 1), None).unwrap();
    let a = c.dial_result(0, Outcome::Human, t0() + 8.0).unwrap();
    assert_eq!(
        a,
        vec![Action::Connect {
            lead: 0,
            preferred: None
        }]
    );
    c.connect(0, t0() + 9.0).unwrap();
    c.tick(t0() + 50.0, agents(0, 1), None).unwrap();
    c.hangup(0, t0() + 129.0).unwrap();
    let at = t0() + 86_400.0;
    c.disposition(
        0,
        Disposition::Callback {
            at,
            agent: Some("alice".into()),
        },
        t0() + 140.0,
    )
    .unwrap();
    assert_eq!(c.lead(0).unwrap().state, LeadState::Callback);
    assert!(c.tick(at - 1.0, agents(1, 1), None).unwrap().is_empty());
    let d = c.tick(at, agents(1, 1), None).unwrap();
    assert_eq!(d[0].preferred_agent.as_deref(), Some("alice"));
    let a = c.dial_result(0, Outcome::Human, at + 5.0).unwrap();
    assert_eq!(
        a,
        vec![Action::Connect {
            lead: 0,
            preferred: Some(("alice".into(), at + 300.0))
        }]
    );
    c.disposition(0, Disposition::Final, at + 60.0).unwrap();
    let st = c.stats();
    assert_eq!((st.dials, st.connects, st.leads_left), (2, 2, 0));
    assert_eq!(st.talk_time, 120.0);
    assert_eq!(st.answer_rate, Some(1.0));
    assert_eq!(st.occupancy, Some(120.0 / 86_400.0));
    assert!(c.disposition(0, Disposition::Final, at + 61.0).is_err());
}

#[test]
fn preview_reserves_then_dials() {
    let mut c = campaign(Mode::Preview, &[ny(1), ny(2)], &[]);
    assert!(c.tick(t0(), agents(1, 1), None).unwrap().is_empty());
    let l = c.preview(t0()).unwrap().unwrap();
    assert_eq!(c.lead(l).unwrap().state, LeadState::Previewing);
    let other = c.preview(t0()).unwrap().unwrap();
    assert_ne!(l, other);
    c.release(other, t0()).unwrap();
    assert_eq!(c.dial(l, t0() + 30.0).unwrap().lead, l);
    assert_eq!(c.preview(t0() + 31.0).unwrap(), Some(other));
    assert!(c.dial(l, t0() + 32.0).is_err()); // already dialing
}

#[test]
fn abandonment_plays_the_message_and_caps_overdialing() {
    let leads: Vec<Lead> = (0..200).map(ny).collect();
    let mut c = campaign(Mode::Power, &leads, &[]);
    c.set_mode(Mode::Power, Some(3.0), None).unwrap();
    let mut t = t0();
    let d = c.tick(t, agents(1, 1), None).unwrap();
    assert_eq!(d.len(), 3);
    t += 6.0;
    for dial in &d {
        c.dial_result(dial.lead, Outcome::Human, t).unwrap();
    }
    c.connect(d[0].lead, t + 0.5).unwrap();
    let a = c.abandon(d[1].lead, t + 1.0).unwrap();
    assert_eq!(
        a,
        Action::PlayInfoMessage {
            lead: d[1].lead,
            deadline: t + 2.0
        }
    );
    c.abandon(d[2].lead, t + 1.0).unwrap();
    let st = c.stats();
    assert_eq!(st.abandoned, 2);
    assert!((st.abandon_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!(st.capped);
    // Over the cap, power dials no more than the ready agents.
    c.hangup(d[0].lead, t + 30.0).unwrap();
    c.disposition(d[0].lead, Disposition::Final, t + 30.0)
        .unwrap();
    assert_eq!(c.tick(t + 31.0, agents(2, 2), None).unwrap().len(), 2);
    assert_eq!(c.lead(d[1].lead).unwrap().outcome, Some(Outcome::Abandoned));
    assert!(c.abandon(d[0].lead, t + 40.0).is_err()); // done, never answered twice
}

#[test]
fn outbound_share_leaves_agents_for_inbound() {
    let leads: Vec<Lead> = (0..10).map(ny).collect();
    let cfg = Config {
        outbound_share: 0.5,
        ..Config::default()
    };
    let mut c = Campaign::new("s", cfg, &leads, Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    assert_eq!(c.tick(t0(), agents(4, 4), None).unwrap().len(), 2);
    let bad = Config {
        outbound_share: 1.5,
        ..Config::default()
    };
    let e = Campaign::new("s", bad, &leads, Arc::default(), t0()).unwrap_err();
    assert!(e.to_string().contains("outbound_share"), "{e}");
}

#[test]
fn uk_profile_counts_machine_false_positives() {
    let leads: Vec<Lead> = (0..10)
        .map(|i| lead(442071838700 + i, Tz::Europe__London, 0))
        .collect();
    let cfg = Config {
        abandon: AbandonProfile::uk(0.5).unwrap(),
        ..Config::default()
    };
    let mut c = Campaign::new("uk", cfg, &leads, Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    let d = c.tick(t0(), agents(2, 2), None).unwrap();
    c.dial_result(d[0].lead, Outcome::Human, t0() + 5.0)
        .unwrap();
    c.dial_result(d[1].lead, Outcome::Machine, t0() + 5.0)
        .unwrap();
    // 0.5 estimated abandoned over 1.5 live calls.
    let r = c.stats().abandon_rate.unwrap();
    assert!((r - 1.0 / 3.0).abs() < 1e-12, "{r}");
    assert_eq!(c.stats().machine_rate, Some(0.5));
}

/// Drives a campaign for `steps` ticks 10 s apart from `from`: dials ring 20 s, then a
/// splitmix draw makes each a human (one in eight of those abandoned), a machine, busy or no
/// answer; talks end after 60 s, every third with a callback in 10 minutes for "alice".
/// Everything the campaign answers is logged, to compare two campaigns call by call.
#[derive(Clone, Default)]
struct Driver {
    rng: u64,
    ringing: Vec<(u32, f64)>,
    talking: Vec<(u32, f64)>,
    talks: u32,
    log: Vec<String>,
}

impl Driver {
    fn draw(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (self.rng ^ (self.rng >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 31)
    }

    fn run(&mut self, c: &mut Campaign, from: f64, steps: u32) {
        for s in 0..steps {
            let t = from + f64::from(s) * 10.0;
            let (due, ringing): (Vec<_>, Vec<_>) =
                self.ringing.iter().partition(|&&(_, at)| t - at >= 20.0);
            self.ringing = ringing;
            let mut answered = Vec::new();
            for (lead, _) in due {
                let r = self.draw() % 16;
                let outcome = match r {
                    0..=5 => Outcome::Human,
                    6..=7 => Outcome::Machine,
                    8..=9 => Outcome::Busy,
                    _ => Outcome::NoAnswer,
                };
                let a = c.dial_result(lead, outcome, t).unwrap();
                self.log
                    .push(format!("{t} result {lead} {outcome:?} {a:?}"));
                if outcome == Outcome::Human {
                    answered.push((lead, r == 0));
                }
            }
            let (ended, talking): (Vec<_>, Vec<_>) =
                self.talking.iter().partition(|&&(_, at)| t - at >= 60.0);
            self.talking = talking;
            for (lead, _) in ended {
                c.hangup(lead, t + 0.5).unwrap();
                self.talks += 1;
                let d = if self.talks.is_multiple_of(3) {
                    Disposition::Callback {
                        at: t + 600.0,
                        agent: Some("alice".into()),
                    }
                } else {
                    Disposition::Final
                };
                c.disposition(lead, d, t + 0.5).unwrap();
            }
            for (lead, abandoned) in answered {
                if abandoned {
                    let a = c.abandon(lead, t + 1.0).unwrap();
                    self.log.push(format!("abandon {a:?}"));
                } else {
                    c.connect(lead, t + 1.0).unwrap();
                    self.talking.push((lead, t));
                }
            }
            let busy = self.talking.len() as u32;
            let dials = c.tick(t + 2.0, agents(4u32.saturating_sub(busy), 4), None);
            let dials = dials.unwrap();
            self.ringing.extend(dials.iter().map(|d| (d.lead, t + 2.0)));
            self.log
                .push(format!("{t} dials {dials:?} {:?}", c.stats()));
        }
    }
}

#[test]
fn a_restored_campaign_goes_on_exactly_as_the_original() {
    let leads: Vec<Lead> = (0..400)
        .map(|i| lead(12_125_550_000 + i, Tz::America__New_York, (i % 5) as i64))
        .collect();
    let dnc: Vec<u64> = (0..400).step_by(7).map(|i| 12_125_550_000 + i).collect();
    let mut cfg = Config {
        mode: Mode::Power,
        ratio: 2.0,
        abandon: AbandonProfile::uk(0.1).unwrap(),
        ..Config::default()
    };
    cfg.retry[3] = Some(300.0); // busy: retried within the run
    let list = Arc::new(DncList::new(dnc));
    let mut c = Campaign::new("snap", cfg, &leads, list.clone(), t0()).unwrap();
    c.start(t0()).unwrap();
    let mut d = Driver::default();
    d.run(&mut c, t0(), 120);
    let bytes = c.snapshot();
    let mut restored = Campaign::restore(&bytes, list.clone()).unwrap();
    assert_eq!(restored.snapshot(), bytes);
    let mut d2 = d.clone();
    // From here on the two must answer every call alike: attempts, retries, callbacks, the
    // abandonment window and the DNC refusals all carried over.
    d.run(&mut c, t0() + 1200.0, 200);
    d2.run(&mut restored, t0() + 1200.0, 200);
    assert_eq!(d.log, d2.log);
    let st = c.stats();
    assert!(
        st.dials > 200 && st.abandoned > 0 && st.refused.iter().sum::<u64>() > 0,
        "{st:?}"
    );
    assert!(d.talks >= 30, "{}", d.talks);
    for i in 0..400 {
        assert_eq!(c.lead(i).unwrap(), restored.lead(i).unwrap());
    }
}

#[test]
fn bad_and_foreign_snapshots_are_refused_by_name() {
    let mut c = campaign(Mode::Progressive, &[ny(1), ny(2)], &[]);
    c.tick(t0(), agents(1, 1), None).unwrap();
    let bytes = c.snapshot();
    let err = |b: &[u8]| {
        Campaign::restore(b, Arc::default())
            .unwrap_err()
            .to_string()
    };
    assert!(err(b"junk").contains("not an acdcore campaign snapshot"));
    assert!(err(&[]).contains("not an acdcore campaign snapshot"));
    let mut damaged = bytes.clone();
    let n = damaged.len();
    damaged[n - 3] ^= 0x55;
    assert!(err(&damaged).contains("checksum"), "{}", err(&damaged));
    let engine = crate::engine::Engine::new(crate::engine::Options::default()).snapshot();
    assert!(
        err(&engine).contains("unsupported snapshot \"acdcore-snapshot\""),
        "{}",
        err(&engine)
    );
    let future = rmp_serde::to_vec(&(
        "acdcore-campaign",
        99u32,
        0u64,
        serde_bytes::Bytes::new(b"x"),
    ))
    .unwrap();
    assert!(err(&future).contains("version 99"), "{}", err(&future));
    for cut in [1, n / 2, n - 1] {
        assert!(
            Campaign::restore(&bytes[..cut], Arc::default()).is_err(),
            "{cut}"
        );
    }
}

#[test]
fn interrupted_closes_each_cut_off_call_as_its_host_would() {
    let mut cfg = Config::default();
    cfg.retry[4] = Some(1800.0); // failed
    cfg.rules.max_attempts = 2;
    let leads: Vec<Lead> = (1..=6).map(ny).collect();
    let mut c = Campaign::new("c1", cfg, &leads, Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    let t = t0();
    assert_eq!(c.tick(t, agents(4, 4), None).unwrap().len(), 4); // leads 0..4 ring
    c.dial_result(1, Outcome::Human, t + 5.0).unwrap(); // answered, no agent yet
    c.dial_result(2, Outcome::Human, t + 5.0).unwrap();
    c.dial_result(3, Outcome::Busy, t + 5.0).unwrap(); // settled: left alone
    c.connect(2, t + 6.0).unwrap(); // talking
    c.set_mode(Mode::Preview, None, None).unwrap();
    assert_eq!(c.preview(t + 7.0).unwrap(), Some(4));
    let bytes = c.snapshot();
    let mut r = Campaign::restore(&bytes, Arc::default()).unwrap();
    assert_eq!(r.changes(), 0);
    let later = t + 600.0;
    let cut = r.interrupted(later).unwrap();
    assert_eq!(
        cut,
        vec![
            (0, LeadState::Dialing),
            (1, LeadState::Answered),
            (2, LeadState::Answered),
            (4, LeadState::Previewing),
        ]
    );
    assert!(r.changes() > 0);
    assert!(r.interrupted(later).unwrap().is_empty()); // all closed: a second pass has none
    let l0 = r.lead(0).unwrap();
    assert_eq!((l0.state, l0.attempts), (LeadState::RetryScheduled, 1));
    assert_eq!(l0.outcome, Some(Outcome::Failed));
    assert_eq!(r.lead(1).unwrap().outcome, Some(Outcome::Abandoned));
    assert_eq!(r.lead(2).unwrap().state, LeadState::Done);
    assert_eq!(r.lead(3).unwrap().state, LeadState::RetryScheduled);
    let l4 = r.lead(4).unwrap();
    assert_eq!((l4.state, l4.attempts), (LeadState::New, 0));
    let st = r.stats();
    assert_eq!(
        (st.in_flight, st.failed, st.abandoned, st.connects),
        (0, 1, 1, 2)
    );
    assert!(st.abandon_rate.unwrap() > 0.0);
    assert!(st.talk_time > 500.0); // lead 2 talked from t+6 until the restart
    // The failed attempt is retried after its delay from the restart, not before.
    r.set_mode(Mode::Progressive, None, None).unwrap();
    let mut due: Vec<u32> = r
        .tick(later + 1.0, agents(6, 6), None)
        .unwrap()
        .iter()
        .map(|d| d.lead)
        .collect();
    due.sort_unstable();
    assert_eq!(due, vec![4, 5]);
    assert!(
        r.tick(later + 1799.0, agents(6, 6), None)
            .unwrap()
            .iter()
            .all(|d| d.lead != 0)
    );
    let due = r.tick(later + 1800.0, agents(6, 6), None).unwrap();
    assert!(due.iter().any(|d| d.lead == 0), "{due:?}");
}

#[test]
fn changes_count_what_a_snapshot_keeps_and_not_an_idle_tick() {
    let mut c = campaign(Mode::Progressive, &[ny(1), ny(2)], &[]);
    let before = c.changes();
    c.tick(t0() + 1.0, agents(0, 2), None).unwrap(); // nobody ready: nothing dialed
    assert_eq!(c.changes(), before);
    c.tick(t0() + 2.0, agents(1, 2), None).unwrap();
    let dialed = c.changes();
    assert!(dialed > before);
    c.dial_result(0, Outcome::Busy, t0() + 3.0).unwrap();
    assert!(c.changes() > dialed);
}

#[test]
fn new_rules_apply_from_now_on_and_keep_what_was_decided() {
    let mut cfg = Config::default();
    cfg.rules.set_max_attempts(1).unwrap();
    cfg.retry[3] = Some(600.0); // busy
    let mut c = Campaign::new("n", cfg, &[ny(1), ny(2)], Arc::default(), t0()).unwrap();
    c.start(t0()).unwrap();
    assert_eq!(c.tick(t0(), agents(2, 2), None).unwrap().len(), 2);
    // Lead 0's one attempt ends it; lead 1 still rings when the rules change.
    c.dial_result(0, Outcome::Busy, t0() + 5.0).unwrap();
    assert_eq!(c.lead(0).unwrap().state, LeadState::Done);
    let mut rules = c.config().rules.clone();
    rules.set_max_attempts(3).unwrap();
    rules.set_ring_timeout(30.0).unwrap();
    let mut retry = c.config().retry;
    retry[3] = Some(60.0);
    // A new ring timeout while a dial rings is refused, and changes nothing.
    let before = c.changes();
    let e = c.set_rules(rules.clone(), retry, 300.0, 1.0).unwrap_err();
    assert!(
        matches!(e, Error::State(_)) && e.to_string().contains("in flight"),
        "{e}"
    );
    assert_eq!((c.changes(), c.config().rules.max_attempts), (before, 1));
    // Bad values are named and change nothing either.
    let e = c
        .set_rules(c.config().rules.clone(), retry, 300.0, 1.5)
        .unwrap_err();
    assert!(e.to_string().contains("outbound_share"), "{e}");
    let e = c
        .set_rules(c.config().rules.clone(), [Some(-1.0); 6], 300.0, 1.0)
        .unwrap_err();
    assert!(e.to_string().contains("retry delay"), "{e}");
    assert_eq!(c.changes(), before);
    // With the same ring timeout the rules change while lead 1 rings: its busy now retries
    // by the new delay, past the old single attempt; lead 0 stays done.
    rules
        .set_ring_timeout(c.config().rules.ring_timeout)
        .unwrap();
    c.set_rules(rules, retry, 300.0, 1.0).unwrap();
    assert!(c.changes() > before);
    c.dial_result(1, Outcome::Busy, t0() + 6.0).unwrap();
    assert_eq!(c.lead(1).unwrap().state, LeadState::RetryScheduled);
    assert!(c.tick(t0() + 65.0, agents(2, 2), None).unwrap().is_empty());
    let d = c.tick(t0() + 66.0, agents(2, 2), None).unwrap();
    assert_eq!(d.iter().map(|d| d.lead).collect::<Vec<_>>(), [1]);
    assert_eq!(c.lead(0).unwrap().state, LeadState::Done);
    // No dial in flight: now the ring timeout may change too.
    c.dial_result(1, Outcome::Failed, t0() + 70.0).unwrap();
    let mut rules = c.config().rules.clone();
    rules.set_ring_timeout(30.0).unwrap();
    c.set_rules(rules, retry, 300.0, 1.0).unwrap();
    assert_eq!(c.config().rules.ring_timeout, 30.0);
}

#[test]
fn an_added_lead_is_dialed_only_by_an_agent_then_follows_the_rules() {
    let mut c = campaign(Mode::Progressive, &[ny(1)], &[12125550099]);
    let added = c.add_lead(ny(2)).unwrap();
    assert_eq!((added, c.len(), c.stats().leads_left), (1, 2, 2));
    // Not in line: a tick dials the listed lead only.
    let dials = c.tick(t0(), agents(5, 5), None).unwrap();
    assert_eq!(dials.iter().map(|d| d.lead).collect::<Vec<_>>(), vec![0]);
    let d = c.dial(added, t0() + 1.0).unwrap();
    assert_eq!(d.number, 12125550002);
    c.dial_result(added, Outcome::Busy, t0() + 2.0).unwrap();
    assert_eq!(c.lead(added).unwrap().state, LeadState::RetryScheduled);
    // Compliance applies to it as to any lead: a DNC number is refused and ended.
    let dnc = c.add_lead(ny(99)).unwrap();
    let e = c.dial(dnc, t0() + 3.0).unwrap_err();
    assert!(
        matches!(e, Error::State(ref m) if m.contains("do-not-call")),
        "{e:?}"
    );
    assert_eq!(c.lead(dnc).unwrap().refusal, Some(Refusal::DoNotCall));
    assert_eq!(c.lead(dnc).unwrap().state, LeadState::Done);
    // Refused for the hours before its first attempt (07:00 in Los Angeles), it is not put in
    // line: when the hours open the campaign still does not dial it; an agent may.
    let la = c
        .add_lead(lead(13105550003, Tz::America__Los_Angeles, 0))
        .unwrap();
    let e = c.dial(la, t0() + 4.0).unwrap_err();
    assert!(e.to_string().contains("calling-hours"), "{e}");
    let v = c.lead(la).unwrap();
    assert_eq!(
        (v.state, v.refusal),
        (LeadState::New, Some(Refusal::CallingHours))
    );
    for t in [3601.0, 3700.0, 7200.0] {
        let dials = c.tick(t0() + t, agents(5, 5), None).unwrap();
        assert!(dials.iter().all(|d| d.lead != la), "{t}: {dials:?}");
    }
    assert_eq!(c.dial(la, t0() + 7201.0).unwrap().lead, la);
    // It is kept by a snapshot.
    let restored = Campaign::restore(&c.snapshot(), Arc::new(DncList::new(vec![]))).unwrap();
    assert_eq!(restored.len(), 4);
    assert_eq!(restored.lead(added).unwrap().number, 12125550002);
}
