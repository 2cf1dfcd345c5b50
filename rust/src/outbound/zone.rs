//! A lead's time zone: an IANA name from the tz database (chrono-tz), or derived from the
//! number by the longest matching prefix of a mapping the user gives (`"1212"` ->
//! `America/New_York`, `"44"` -> `Europe/London`). The core ships no numbering plan of its own:
//! area codes move between zones and only the user knows which ones their list holds.

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use super::phone;
use crate::error::{Error, Result};

pub fn parse_zone(name: &str) -> std::result::Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown IANA time zone {:?}", crate::error::clip(name)))
}

#[derive(Debug, Clone, Default)]
pub struct ZoneMap {
    /// (digit count of the prefix, prefix value) -> zone.
    by_prefix: FxHashMap<(u8, u64), Tz>,
    lengths: Vec<u8>,
}

impl ZoneMap {
    /// `prefixes`: (digits of a country or area code, IANA zone).
    pub fn new(prefixes: &[(&str, &str)]) -> Result<Self> {
        let mut map = ZoneMap::default();
        for &(prefix, zone) in prefixes {
            let p = prefix.trim().trim_start_matches('+');
            if p.is_empty()
                || p.len() > phone::MAX_DIGITS
                || !p.bytes().all(|b| b.is_ascii_digit())
                || p.starts_with('0')
            {
                return Err(Error::invalid(format!(
                    "zone prefix {:?} must be 1..=15 digits not starting with 0",
                    crate::error::clip(prefix)
                )));
            }
            let tz = parse_zone(zone).map_err(|e| Error::invalid(format!("prefix {p}: {e}")))?;
            let value: u64 = p.parse().map_err(|_| Error::invalid("zone prefix"))?;
            let len = p.len() as u8;
            map.by_prefix.insert((len, value), tz);
            if !map.lengths.contains(&len) {
                map.lengths.push(len);
            }
        }
        map.lengths.sort_unstable_by(|a, b| b.cmp(a));
        Ok(map)
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }

    /// The zone of the longest prefix of `number` in the map.
    pub fn lookup(&self, number: u64) -> Option<Tz> {
        let digits = phone::digit_count(number);
        self.lengths.iter().find_map(|&len| {
            let len = usize::from(len);
            if len > digits {
                return None;
            }
            let prefix = number / 10u64.pow((digits - len) as u32);
            self.by_prefix.get(&(len as u8, prefix)).copied()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let m = ZoneMap::new(&[
            ("1", "America/New_York"),
            ("1415", "America/Los_Angeles"),
            ("+44", "Europe/London"),
        ])
        .unwrap();
        assert_eq!(m.lookup(14155550100), Some(Tz::America__Los_Angeles));
        assert_eq!(m.lookup(12125550100), Some(Tz::America__New_York));
        assert_eq!(m.lookup(442071838750), Some(Tz::Europe__London));
        assert_eq!(m.lookup(33123456789), None);
    }

    #[test]
    fn bad_prefixes_and_zones_are_named() {
        let e = ZoneMap::new(&[("1x", "UTC")]).unwrap_err().to_string();
        assert!(e.contains("\"1x\""), "{e}");
        let e = ZoneMap::new(&[("1", "Mars/Olympus")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("Mars/Olympus"), "{e}");
        assert!(parse_zone("Europe/Paris").is_ok());
    }
}
