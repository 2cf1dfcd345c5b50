//! G.711 (ITU-T G.711, 1988): 8-bit logarithmic companding of 16-bit linear samples.
//! Mu-law (PCMU, North America and Japan) and A-law (PCMA, elsewhere). Decoding is a lookup
//! in a 256-entry table built at compile time from the segment formulas; encoding finds the
//! segment from the position of the sample's highest bit.

/// Mu-law bias: added before companding so segment boundaries fall on powers of two.
const BIAS: i32 = 0x84;
/// Largest magnitude mu-law encodes (the top of segment 7 before the bias).
const ULAW_CLIP: i32 = 32635;

const fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

const fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = (a & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    // A-law's sign bit set means positive (the opposite of mu-law).
    (if a & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

/// Both decode tables, by law: index 0 mu-law, 1 A-law (const fn cannot take fn pointers).
const fn tables() -> [[i16; 256]; 2] {
    let mut t = [[0i16; 256]; 2];
    let mut i = 0;
    while i < 256 {
        t[0][i] = ulaw_to_linear(i as u8);
        t[1][i] = alaw_to_linear(i as u8);
        i += 1;
    }
    t
}

static TABLES: [[i16; 256]; 2] = tables();
static ULAW: &[i16; 256] = &TABLES[0];
static ALAW: &[i16; 256] = &TABLES[1];

/// Index of the highest set bit (0 for 0 and 1).
fn top_bit(x: i32) -> i32 {
    31 - (x | 1).leading_zeros() as i32
}

/// One linear sample to mu-law.
pub fn ulaw_from_linear(sample: i16) -> u8 {
    let s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    let magnitude = s.abs().min(ULAW_CLIP) + BIAS;
    // magnitude is 0x84..=0x7FFF: its top bit is 7..=14, the segment 0..=7.
    let exponent = top_bit(magnitude) - 7;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// One linear sample to A-law.
pub fn alaw_from_linear(sample: i16) -> u8 {
    let s = i32::from(sample);
    // Negative samples are coded from their ones' complement, so -1 shares the smallest step.
    let (mask, magnitude) = if s >= 0 { (0xD5, s) } else { (0x55, -s - 1) };
    let code = if magnitude < 0x100 {
        magnitude >> 4
    } else {
        let exponent = top_bit(magnitude) - 7;
        (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0F)
    };
    code as u8 ^ mask
}

pub fn ulaw_encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| ulaw_from_linear(s)).collect()
}

pub fn alaw_encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| alaw_from_linear(s)).collect()
}

pub fn ulaw_decode(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| ULAW[usize::from(c)]).collect()
}

pub fn alaw_decode(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| ALAW[usize::from(c)]).collect()
}

/// PCMU payload to PCMA, for bridging legs that negotiated different laws.
pub fn ulaw_to_alaw(codes: &[u8]) -> Vec<u8> {
    codes
        .iter()
        .map(|&c| alaw_from_linear(ULAW[usize::from(c)]))
        .collect()
}

pub fn alaw_to_ulaw(codes: &[u8]) -> Vec<u8> {
    codes
        .iter()
        .map(|&c| ulaw_from_linear(ALAW[usize::from(c)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_code_points() {
        // Silence, both zeros, and the extremes of the G.711 mu-law table.
        assert_eq!(
            ulaw_decode(&[0xFF, 0x7F, 0x80, 0x00]),
            [0, 0, 32124, -32124]
        );
        assert_eq!(ulaw_decode(&[0xFE, 0x7E, 0xEF, 0xDF]), [8, -8, 132, 396]);
        assert_eq!(
            ulaw_encode(&[0, 8, -8, 32767, -32768, 32124]),
            [0xFF, 0xFE, 0x7E, 0x80, 0x00, 0x80]
        );
    }

    #[test]
    fn alaw_code_points() {
        assert_eq!(
            alaw_decode(&[0xD5, 0x55, 0xAA, 0x2A]),
            [8, -8, 32256, -32256]
        );
        assert_eq!(alaw_decode(&[0xD4, 0xC5, 0xF5]), [24, 264, 528]);
        assert_eq!(
            alaw_encode(&[0, -1, 15, 16, 32767, -32768]),
            [0xD5, 0x55, 0xD5, 0xD4, 0xAA, 0x2A]
        );
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            // 0x7F is mu-law's negative zero: it decodes to 0, which encodes as 0xFF.
            if c != 0x7F {
                assert_eq!(ulaw_from_linear(ULAW[usize::from(c)]), c, "mu-law {c:#04x}");
            }
            assert_eq!(alaw_from_linear(ALAW[usize::from(c)]), c, "A-law {c:#04x}");
        }
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step() {
        for s in i16::MIN..=i16::MAX {
            let x = i32::from(s);
            for (decoded, clip) in [
                (i32::from(ULAW[usize::from(ulaw_from_linear(s))]), 32124),
                (i32::from(ALAW[usize::from(alaw_from_linear(s))]), 32256),
            ] {
                let x = x.clamp(-clip, clip);
                // Steps double per segment: half a step is at most 1/32 of the magnitude + 16.
                let bound = x.abs() / 32 + 16;
                assert!((decoded - x).abs() <= bound, "{s} -> {decoded}");
            }
        }
    }

    #[test]
    fn decoding_is_monotonic_in_the_linear_value() {
        let mut u: Vec<i16> = ULAW.to_vec();
        let mut a: Vec<i16> = ALAW.to_vec();
        u.sort_unstable();
        u.dedup();
        a.sort_unstable();
        a.dedup();
        assert_eq!(u.len(), 255); // two zeros
        assert_eq!(a.len(), 256);
    }

    #[test]
    fn transcoding_keeps_the_sample_close() {
        for c in 0..=255u8 {
            let x = i32::from(ULAW[usize::from(c)]);
            let y = i32::from(ALAW[usize::from(ulaw_to_alaw(&[c])[0])]);
            assert!((x - y).abs() <= x.abs() / 16 + 16, "{c:#04x}: {x} vs {y}");
            let a = i32::from(ALAW[usize::from(c)]);
            let b = i32::from(ULAW[usize::from(alaw_to_ulaw(&[c])[0])]);
            assert!((a - b).abs() <= a.abs() / 16 + 16, "{c:#04x}: {a} vs {b}");
        }
    }
}
