//! RFC 4733 telephone-event payloads: DTMF digits sent as named events rather than tones.

use crate::error::{Error, Result};

/// Event codes 0-15 (RFC 4733 3.2): 0-9, *, #, A-D.
pub const DIGITS: &[u8; 16] = b"0123456789*#ABCD";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    /// The E bit: the last packets of an event (sent three times).
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in timestamp units (samples at the codec rate).
    pub duration: u16,
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Result<Self> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(Error::invalid(format!(
                "telephone-event payload of {} bytes is shorter than 4",
                payload.len()
            )));
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn build(&self) -> Result<[u8; 4]> {
        if self.volume > 63 {
            return Err(Error::invalid(format!(
                "telephone-event volume {} is out of range 0..=63",
                self.volume
            )));
        }
        let [d0, d1] = self.duration.to_be_bytes();
        Ok([
            self.event,
            if self.end { 0x80 } else { 0 } | self.volume,
            d0,
            d1,
        ])
    }

    /// The DTMF character for events 0-15, None for other events (tones, flash...).
    pub fn digit(&self) -> Option<char> {
        DIGITS.get(usize::from(self.event)).map(|&b| char::from(b))
    }
}

/// The event code of a DTMF character (case-insensitive letters).
pub fn event_for_digit(digit: char) -> Result<u8> {
    let up = digit.to_ascii_uppercase();
    DIGITS
        .iter()
        .position(|&b| char::from(b) == up)
        .map(|i| i as u8)
        .ok_or_else(|| Error::invalid(format!("{digit:?} is not a DTMF digit (0-9 * # A-D)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_layout() {
        // Event 11 (#), end bit, reserved bit set (ignored), volume 10, duration 800.
        let e = TelephoneEvent::parse(&[11, 0x80 | 0x40 | 10, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.digit(), Some('#'));
        assert_eq!(e.build().unwrap(), [11, 0x8A, 0x03, 0x20]);
    }

    #[test]
    fn errors_for_short_payloads_and_bad_values() {
        assert!(
            TelephoneEvent::parse(&[1, 2, 3])
                .unwrap_err()
                .to_string()
                .contains("3 bytes")
        );
        let loud = TelephoneEvent {
            event: 1,
            end: false,
            volume: 64,
            duration: 0,
        };
        assert!(loud.build().is_err());
        assert!(event_for_digit('x').is_err());
    }

    #[test]
    fn digits_map_both_ways() {
        for (i, &b) in DIGITS.iter().enumerate() {
            let c = char::from(b);
            assert_eq!(event_for_digit(c).unwrap() as usize, i);
            let e = TelephoneEvent {
                event: i as u8,
                end: false,
                volume: 0,
                duration: 0,
            };
            assert_eq!(e.digit(), Some(c));
        }
        assert_eq!(event_for_digit('a').unwrap(), 12);
        let flash = TelephoneEvent {
            event: 16,
            end: false,
            volume: 0,
            duration: 0,
        };
        assert_eq!(flash.digit(), None);
    }
}
