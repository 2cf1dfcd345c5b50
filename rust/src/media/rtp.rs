//! RTP fixed header, CSRC list, header extension and padding (RFC 3550 section 5.1). Parsing
//! checks every length against the buffer, so a truncated or hostile datagram is an error,
//! never a panic or an out-of-bounds read.

use crate::error::{Error, Result};

/// RTP version 2, the only one in use.
pub const VERSION: u8 = 2;
const FIXED: usize = 12;

/// A header extension (RFC 3550 5.3.1): a profile-defined id and whole 32-bit words of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub profile: u16,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc: Vec<u32>,
    pub extension: Option<Extension>,
}

/// A parsed packet: the header and where its payload lies in the buffer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub payload: &'a [u8],
    /// Padding octets stripped from the end (the P bit), 0 when none.
    pub padding: u8,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// Parses one datagram. Errors name what is wrong (`Error::Invalid`, a `ValueError`).
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < FIXED {
            return Err(Error::invalid(format!(
                "RTP packet of {} bytes is shorter than the 12-byte header",
                buf.len()
            )));
        }
        let version = buf[0] >> 6;
        if version != VERSION {
            return Err(Error::invalid(format!("RTP version {version}, expected 2")));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);
        let mut at = FIXED + 4 * csrc_count;
        if buf.len() < at {
            return Err(Error::invalid(format!(
                "RTP packet of {} bytes is too short for its {csrc_count} CSRCs",
                buf.len()
            )));
        }
        let csrc = (0..csrc_count).map(|i| be32(buf, FIXED + 4 * i)).collect();
        let extension = if has_extension {
            if buf.len() < at + 4 {
                return Err(Error::invalid("RTP header extension is truncated"));
            }
            let profile = be16(buf, at);
            let words = usize::from(be16(buf, at + 2));
            let end = at + 4 + 4 * words;
            if buf.len() < end {
                return Err(Error::invalid(format!(
                    "RTP header extension of {words} words overruns the packet"
                )));
            }
            let data = buf[at + 4..end].to_vec();
            at = end;
            Some(Extension { profile, data })
        } else {
            None
        };
        let mut end = buf.len();
        let mut padding = 0;
        if has_padding {
            padding = buf[buf.len() - 1];
            // The count includes itself, so 0 is malformed (RFC 3550 5.1, P).
            if padding == 0 || usize::from(padding) > end - at {
                return Err(Error::invalid(format!(
                    "RTP padding count {padding} does not fit the packet"
                )));
            }
            end -= usize::from(padding);
        }
        Ok(RtpPacket {
            header: RtpHeader {
                marker: buf[1] & 0x80 != 0,
                payload_type: buf[1] & 0x7F,
                sequence: be16(buf, 2),
                timestamp: be32(buf, 4),
                ssrc: be32(buf, 8),
                csrc,
                extension,
            },
            payload: &buf[at..end],
            padding,
        })
    }
}

impl RtpHeader {
    /// Header and payload as one datagram, without padding. Errors for what the wire format
    /// cannot carry: a payload type over 127, more than 15 CSRCs, an extension that is not
    /// whole words or longer than 65,535 words.
    pub fn build(&self, payload: &[u8]) -> Result<Vec<u8>> {
        if self.payload_type > 127 {
            return Err(Error::invalid(format!(
                "RTP payload type {} is out of range 0..=127",
                self.payload_type
            )));
        }
        if self.csrc.len() > 15 {
            return Err(Error::invalid(format!(
                "RTP carries at most 15 CSRCs, got {}",
                self.csrc.len()
            )));
        }
        let mut out = Vec::with_capacity(FIXED + 4 * self.csrc.len() + payload.len());
        let x = if self.extension.is_some() { 0x10 } else { 0 };
        // The CSRC count fits in 4 bits: checked above.
        out.push((VERSION << 6) | x | self.csrc.len() as u8);
        out.push(if self.marker { 0x80 } else { 0 } | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in &self.csrc {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            let words = ext.data.len() / 4;
            if ext.data.len() % 4 != 0 || words > usize::from(u16::MAX) {
                return Err(Error::invalid(format!(
                    "RTP header extension of {} bytes is not up to 65535 whole 32-bit words",
                    ext.data.len()
                )));
            }
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&(words as u16).to_be_bytes());
            out.extend_from_slice(&ext.data);
        }
        out.extend_from_slice(payload);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 0xBEEF,
            timestamp: 0x0102_0304,
            ssrc: 0xDEAD_BEEF,
            ..Default::default()
        }
    }

    #[test]
    fn builds_the_rfc_3550_layout() {
        let bytes = header().build(&[0xFF; 3]).unwrap();
        assert_eq!(
            bytes,
            [
                0x80, 0x80, 0xBE, 0xEF, 1, 2, 3, 4, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFF, 0xFF
            ]
        );
    }

    #[test]
    fn round_trips_csrc_and_extension() {
        let mut h = header();
        h.payload_type = 101;
        h.marker = false;
        h.csrc = vec![1, 2, 0xFFFF_FFFF];
        h.extension = Some(Extension {
            profile: 0xBEDE,
            data: vec![1, 2, 3, 4, 5, 6, 7, 8],
        });
        let bytes = h.build(b"payload").unwrap();
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.header, h);
        assert_eq!(p.payload, b"payload");
        assert_eq!(p.padding, 0);
    }

    #[test]
    fn strips_padding() {
        let mut bytes = header().build(b"ab").unwrap();
        bytes[0] |= 0x20;
        bytes.extend_from_slice(&[0, 0, 3]);
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!((p.payload, p.padding), (&b"ab"[..], 3));
    }

    #[test]
    fn refuses_bad_packets_naming_the_fault() {
        let good = header().build(b"x").unwrap();
        let err = |b: &[u8]| RtpPacket::parse(b).unwrap_err().to_string();
        assert!(err(&good[..11]).contains("shorter than the 12-byte header"));
        let mut v1 = good.clone();
        v1[0] = 0x40;
        assert!(err(&v1).contains("version 1"));
        let mut cc = good.clone();
        cc[0] |= 0x03;
        assert!(err(&cc).contains("3 CSRCs"));
        let mut ext = good.clone();
        ext[0] |= 0x10;
        assert!(err(&ext).contains("extension is truncated"));
        let mut long_ext = header().build(&[0, 0, 0, 9]).unwrap();
        long_ext[0] |= 0x10;
        assert!(err(&long_ext).contains("9 words overruns"));
        let mut pad0 = good.clone();
        pad0[0] |= 0x20;
        pad0.push(0);
        assert!(err(&pad0).contains("padding count 0"));
        let mut pad_big = good;
        pad_big[0] |= 0x20;
        pad_big.push(200);
        assert!(err(&pad_big).contains("padding count 200"));
    }

    #[test]
    fn refuses_what_the_header_cannot_carry() {
        let mut h = header();
        h.payload_type = 128;
        assert!(h.build(b"").is_err());
        h.payload_type = 0;
        h.csrc = vec![0; 16];
        assert!(h.build(b"").is_err());
        h.csrc.clear();
        h.extension = Some(Extension {
            profile: 1,
            data: vec![0; 3],
        });
        assert!(h.build(b"").is_err());
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = RtpPacket::parse(&bytes);
        }

        #[test]
        fn parsing_inverts_building(pt in 0u8..128, seq: u16, ts: u32, ssrc: u32, marker: bool,
                                    csrc in proptest::collection::vec(any::<u32>(), 0..16),
                                    payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let h = RtpHeader { marker, payload_type: pt, sequence: seq, timestamp: ts, ssrc, csrc, extension: None };
            let bytes = h.build(&payload).unwrap();
            let p = RtpPacket::parse(&bytes).unwrap();
            prop_assert_eq!(p.header, h);
            prop_assert_eq!(p.payload, &payload[..]);
        }
    }
}
