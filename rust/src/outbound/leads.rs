//! Lead lists: each row checked as it is loaded. A bad row is reported (row, column, value,
//! reason) and skipped, so it is never dialed and never disappears without a word.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::phone;
use super::zone::{ZoneMap, parse_zone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub number: u64,
    pub zone: Tz,
    /// Higher is dialed first among leads that are due.
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// As the caller numbers its rows (CSV lines, array indices).
    pub row: u64,
    pub column: &'static str,
    pub value: String,
    pub reason: String,
}

/// A number as the source gave it.
#[derive(Debug, Clone, Copy)]
pub enum Number<'a> {
    Text(&'a str),
    /// The digits after the `+` (numpy columns of uint64).
    Digits(u64),
}

#[derive(Debug, Clone, Default)]
pub struct LeadList {
    pub leads: Vec<Lead>,
    /// The source row of each lead.
    pub rows: Vec<u64>,
    pub bad: Vec<BadRow>,
    zones: ZoneMap,
    default_zone: Option<Tz>,
}

impl LeadList {
    /// `zones` derives a zone from the number when a row names none; `default_zone` is the
    /// last resort (None: such a row is bad).
    pub fn new(zones: ZoneMap, default_zone: Option<Tz>) -> Self {
        LeadList {
            zones,
            default_zone,
            ..Default::default()
        }
    }

    /// Checks one row; true when it became a lead. Every bad column of the row is reported.
    pub fn push(
        &mut self,
        row: u64,
        number: Number<'_>,
        zone: Option<&str>,
        priority: i64,
    ) -> bool {
        let parsed = match number {
            Number::Text(t) => phone::parse(t),
            Number::Digits(n) => phone::check(n),
        };
        let number = match parsed {
            Ok(n) => Some(n),
            Err(reason) => {
                let value = match number {
                    Number::Text(t) => crate::error::clip(t),
                    Number::Digits(n) => n.to_string(),
                };
                self.bad.push(BadRow {
                    row,
                    column: "phone",
                    value,
                    reason,
                });
                None
            }
        };
        let zone = match zone.map(str::trim).filter(|z| !z.is_empty()) {
            Some(name) => match parse_zone(name) {
                Ok(tz) => Some(tz),
                Err(reason) => {
                    self.bad.push(BadRow {
                        row,
                        column: "timezone",
                        value: crate::error::clip(name),
                        reason,
                    });
                    return false;
                }
            },
            None => {
                let derived = number
                    .and_then(|n| self.zones.lookup(n))
                    .or(self.default_zone);
                if derived.is_none() && number.is_some() {
                    self.bad.push(BadRow {
                        row,
                        column: "timezone",
                        value: String::new(),
                        reason: "no time zone given and no zone prefix matches the number".into(),
                    });
                }
                derived
            }
        };
        match (number, zone) {
            (Some(number), Some(zone)) => {
                self.leads.push(Lead {
                    number,
                    zone,
                    priority,
                });
                self.rows.push(row);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_per_column_and_skipped() {
        let zones = ZoneMap::new(&[("44", "Europe/London")]).unwrap();
        let mut l = LeadList::new(zones, None);
        assert!(l.push(2, Number::Text("+12125550100"), Some("America/New_York"), 1));
        assert!(l.push(3, Number::Text("+442071838750"), None, 0));
        assert!(!l.push(4, Number::Text("555-0100"), Some("Nowhere/City"), 0));
        assert!(!l.push(5, Number::Text("+33123456789"), None, 0));
        assert!(!l.push(6, Number::Digits(123), Some("UTC"), 0));
        assert_eq!(l.leads.len(), 2);
        assert_eq!(l.leads[1].zone, Tz::Europe__London);
        assert_eq!(l.rows, vec![2, 3]);
        let got: Vec<(u64, &str, &str)> = l
            .bad
            .iter()
            .map(|b| (b.row, b.column, b.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, "phone", "555-0100"),
                (4, "timezone", "Nowhere/City"),
                (5, "timezone", ""),
                (6, "phone", "123"),
            ]
        );
        assert!(l.bad[2].reason.contains("no zone prefix"));
    }

    #[test]
    fn default_zone_is_the_last_resort() {
        let mut l = LeadList::new(ZoneMap::default(), Some(Tz::UTC));
        assert!(l.push(0, Number::Digits(33123456789), None, 0));
        assert_eq!(l.leads[0].zone, Tz::UTC);
    }
}
