//! Compliance, checked before every dial: calling hours in the lead's local time, holidays,
//! the do-not-call list, the gap between attempts and the number of attempts. A refusal says
//! why and, when waiting helps, when the lead may be dialed again, so a refused lead goes back
//! to the timing queue at that time instead of being looked at on every tick.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Why a dial was not placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    DoNotCall,
    MaxAttempts,
    CallingHours,
    Holiday,
    MinGap,
}

impl Refusal {
    pub const ALL: [Refusal; 5] = [
        Refusal::DoNotCall,
        Refusal::MaxAttempts,
        Refusal::CallingHours,
        Refusal::Holiday,
        Refusal::MinGap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::DoNotCall => "do-not-call",
            Refusal::MaxAttempts => "max-attempts",
            Refusal::CallingHours => "calling-hours",
            Refusal::Holiday => "holiday",
            Refusal::MinGap => "min-gap",
        }
    }
}

/// Ringing shorter than this before giving up is refused (US telemarketing rule: 15 s or four
/// rings).
pub const MIN_RING_TIMEOUT: f64 = 15.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rules {
    /// Local calling hours, seconds after midnight: `[start, end)`.
    pub hours: (u32, u32),
    /// Local dates when the lead's zone does not call; a `None` zone means every zone.
    holidays: FxHashSet<(Option<Tz>, NaiveDate)>,
    pub min_gap: f64,
    pub max_attempts: u32,
    pub ring_timeout: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            hours: (8 * 3600, 21 * 3600),
            holidays: FxHashSet::default(),
            min_gap: 0.0,
            max_attempts: 3,
            ring_timeout: 20.0,
        }
    }
}

/// What the checks need to know about a lead.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    pub zone: Tz,
    pub made: u32,
    pub last: Option<f64>,
}

impl Rules {
    pub fn set_hours(&mut self, start: u32, end: u32) -> Result<()> {
        if start >= end || end > 86_400 {
            return Err(Error::invalid(format!(
                "calling hours must satisfy 0 <= start < end <= 86400 seconds after midnight, got \
                 start={start}, end={end}"
            )));
        }
        self.hours = (start, end);
        Ok(())
    }

    pub fn set_ring_timeout(&mut self, seconds: f64) -> Result<()> {
        if !(MIN_RING_TIMEOUT..=3600.0).contains(&seconds) {
            return Err(Error::invalid(format!(
                "ring_timeout must be {MIN_RING_TIMEOUT}..=3600 seconds (a call rings at least \
                 {MIN_RING_TIMEOUT} s before no-answer), got {seconds}"
            )));
        }
        self.ring_timeout = seconds;
        Ok(())
    }

    pub fn set_min_gap(&mut self, seconds: f64) -> Result<()> {
        self.min_gap = crate::time::check_seconds("min_gap", seconds)?;
        Ok(())
    }

    pub fn set_max_attempts(&mut self, n: u32) -> Result<()> {
        if n == 0 {
            return Err(Error::invalid("max_attempts must be at least 1, got 0"));
        }
        self.max_attempts = n;
        Ok(())
    }

    pub fn add_holiday(&mut self, zone: Option<Tz>, date: NaiveDate) {
        self.holidays.insert((zone, date));
    }

    fn is_holiday(&self, zone: Tz, date: NaiveDate) -> bool {
        self.holidays.contains(&(None, date)) || self.holidays.contains(&(Some(zone), date))
    }

    /// Ok when the lead may be dialed at `now` (Unix seconds); otherwise the reason, with the
    /// time it may be tried again (None: never).
    pub fn check(
        &self,
        lead: Attempts,
        now: f64,
    ) -> std::result::Result<(), (Refusal, Option<f64>)> {
        if lead.made >= self.max_attempts {
            return Err((Refusal::MaxAttempts, None));
        }
        if let Some(last) = lead.last
            && now < last + self.min_gap
        {
            return Err((Refusal::MinGap, Some(last + self.min_gap)));
        }
        let open = self.next_open(lead.zone, now);
        match open {
            Some((at, _)) if at <= now => Ok(()),
            Some((at, holiday)) => {
                let why = if holiday {
                    Refusal::Holiday
                } else {
                    Refusal::CallingHours
                };
                Err((why, Some(at)))
            }
            None => Err((Refusal::Holiday, None)),
        }
    }

    /// The first instant at or after `now` inside calling hours on a non-holiday, in `zone`, and
    /// whether a holiday was skipped on the way (today's hours not over yet, or a later day).
    /// None when no day in the next 400 is open.
    pub fn next_open(&self, zone: Tz, now: f64) -> Option<(f64, bool)> {
        let secs = now.floor() as i64;
        let utc = DateTime::from_timestamp(secs, 0)?;
        let local = utc.with_timezone(&zone);
        let today = local.date_naive();
        let mut holiday = false;
        for d in 0..400 {
            let date = today + Duration::days(d);
            if self.is_holiday(zone, date) {
                holiday = true;
                continue;
            }
            let start = local_instant(zone, date, self.hours.0)?;
            let end = local_instant(zone, date, self.hours.1)?;
            if now < end {
                return Some((start.max(now), holiday && start > now));
            }
        }
        None
    }
}

/// Unix seconds of a local wall-clock time; a time skipped by a DST change moves forward to the
/// first one that exists.
fn local_instant(zone: Tz, date: NaiveDate, seconds: u32) -> Option<f64> {
    let day = NaiveDateTime::new(date, NaiveTime::MIN);
    let mut t = day + Duration::seconds(i64::from(seconds));
    for _ in 0..8 {
        if let Some(dt) = zone.from_local_datetime(&t).earliest() {
            return Some(dt.timestamp() as f64);
        }
        t += Duration::minutes(30);
    }
    None
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid(format!(
            "holiday {:?} is not a YYYY-MM-DD date",
            crate::error::clip(text)
        ))
    })
}

/// The weekday and date of a Unix time in a zone (for messages and tests).
pub fn local_date(zone: Tz, now: f64) -> Option<(NaiveDate, u32)> {
    let dt = DateTime::from_timestamp(now.floor() as i64, 0)?.with_timezone(&zone);
    Some((dt.date_naive(), dt.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> f64 {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp() as f64
    }

    fn fresh(zone: Tz) -> Attempts {
        Attempts {
            zone,
            made: 0,
            last: None,
        }
    }

    #[test]
    fn calling_hours_are_local_to_the_lead() {
        let r = Rules::default();
        // 13:30 UTC in January: 08:30 in New York, 05:30 in Los Angeles.
        let now = at(2026, 1, 15, 13, 30);
        assert!(r.check(fresh(Tz::America__New_York), now).is_ok());
        let (why, next) = r.check(fresh(Tz::America__Los_Angeles), now).unwrap_err();
        assert_eq!(why, Refusal::CallingHours);
        assert_eq!(next, Some(at(2026, 1, 15, 16, 0)));
        // 21:00 local is closed (end exclusive): the next opening is 08:00 the next day.
        let nine_pm_ny = at(2026, 1, 16, 2, 0);
        let (_, next) = r
            .check(fresh(Tz::America__New_York), nine_pm_ny)
            .unwrap_err();
        assert_eq!(next, Some(at(2026, 1, 16, 13, 0)));
    }

    #[test]
    fn daylight_saving_moves_the_window_in_utc() {
        let r = Rules::default();
        // London is UTC+0 in winter, UTC+1 in summer: 07:30 UTC is 07:30 then 08:30 local.
        assert!(
            r.check(fresh(Tz::Europe__London), at(2026, 1, 10, 7, 30))
                .is_err()
        );
        assert!(
            r.check(fresh(Tz::Europe__London), at(2026, 7, 10, 7, 30))
                .is_ok()
        );
        // US spring forward (2026-03-08): the next morning's 08:00 EDT is 12:00 UTC, not 13:00.
        let (_, next) = r
            .check(fresh(Tz::America__New_York), at(2026, 3, 8, 2, 0))
            .unwrap_err();
        assert_eq!(next, Some(at(2026, 3, 8, 12, 0)));
    }

    #[test]
    fn a_time_skipped_by_dst_moves_forward() {
        let mut r = Rules::default();
        // 02:30 does not exist in New York on 2026-03-08.
        r.set_hours(2 * 3600 + 1800, 5 * 3600).unwrap();
        let open = r
            .next_open(Tz::America__New_York, at(2026, 3, 8, 5, 0))
            .unwrap();
        assert_eq!(open.0, at(2026, 3, 8, 7, 0)); // 03:00 EDT
    }

    #[test]
    fn holidays_per_zone_and_everywhere() {
        let mut r = Rules::default();
        r.add_holiday(Some(Tz::Europe__London), parse_date("2026-12-25").unwrap());
        r.add_holiday(None, parse_date("2026-01-01").unwrap());
        let noon = at(2026, 12, 25, 12, 0);
        let (why, next) = r.check(fresh(Tz::Europe__London), noon).unwrap_err();
        assert_eq!(
            (why, next),
            (Refusal::Holiday, Some(at(2026, 12, 26, 8, 0)))
        );
        assert!(r.check(fresh(Tz::Europe__Paris), noon).is_ok());
        let (why, _) = r
            .check(fresh(Tz::Europe__Paris), at(2026, 1, 1, 12, 0))
            .unwrap_err();
        assert_eq!(why, Refusal::Holiday);
        assert!(
            parse_date("25/12/2026")
                .unwrap_err()
                .to_string()
                .contains("25/12/2026")
        );
    }

    #[test]
    fn attempts_and_gaps() {
        let mut r = Rules::default();
        r.set_min_gap(3600.0).unwrap();
        let now = at(2026, 1, 15, 15, 0);
        let lead = Attempts {
            zone: Tz::UTC,
            made: 1,
            last: Some(now - 60.0),
        };
        assert_eq!(
            r.check(lead, now),
            Err((Refusal::MinGap, Some(now + 3540.0)))
        );
        let lead = Attempts {
            zone: Tz::UTC,
            made: 3,
            last: Some(now - 7200.0),
        };
        assert_eq!(r.check(lead, now), Err((Refusal::MaxAttempts, None)));
        assert!(
            r.set_ring_timeout(14.9)
                .unwrap_err()
                .to_string()
                .contains("ring_timeout")
        );
        assert!(r.set_hours(9 * 3600, 8 * 3600).is_err());
        assert!(r.set_max_attempts(0).is_err());
        assert_eq!(local_date(Tz::UTC, now).unwrap().1, 3); // a Thursday
    }
}
