//! E.164 numbers as `u64`: a `+`, 8 to 15 digits, a country code that does not start with 0.
//! The leading digit is never 0, so the integer alone gives back every digit, and a do-not-call
//! list of millions of numbers is a flat array of `u64`.

/// Shortest and longest accepted numbers, in digits after the `+`.
pub const MIN_DIGITS: usize = 8;
pub const MAX_DIGITS: usize = 15;

/// Parses `+CC...`. Spaces, hyphens, dots and parentheses between digits are allowed (people
/// write numbers that way) and dropped. The error is the reason, for row reports.
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let Some(rest) = t.strip_prefix('+') else {
        return Err("an E.164 number starts with '+'".into());
    };
    let mut n: u64 = 0;
    let mut digits = 0usize;
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                if digits == 0 && c == '0' {
                    return Err("a country code never starts with 0".into());
                }
                digits += 1;
                if digits > MAX_DIGITS {
                    return Err(format!("more than {MAX_DIGITS} digits"));
                }
                n = n * 10 + u64::from(c as u8 - b'0');
            }
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(format!("{c:?} is not a digit")),
        }
    }
    check(n).map_err(|e| {
        if digits == 0 {
            "no digits".to_owned()
        } else {
            e
        }
    })
}

/// Checks a number given as an integer (the digits after the `+`).
pub fn check(n: u64) -> Result<u64, String> {
    let digits = digit_count(n);
    if digits < MIN_DIGITS {
        return Err(format!("fewer than {MIN_DIGITS} digits"));
    }
    if digits > MAX_DIGITS {
        return Err(format!("more than {MAX_DIGITS} digits"));
    }
    Ok(n)
}

pub fn digit_count(n: u64) -> usize {
    if n == 0 { 1 } else { n.ilog10() as usize + 1 }
}

/// `+` and the digits, as a dialer wants it.
pub fn format(n: u64) -> String {
    format!("+{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_with_separators() {
        assert_eq!(parse("+1 (212) 555-0100"), Ok(12125550100));
        assert_eq!(parse("+442071838750"), Ok(442071838750));
        assert_eq!(format(442071838750), "+442071838750");
        assert_eq!(parse("+12345678"), Ok(12345678));
        assert_eq!(parse("+123456789012345"), Ok(123456789012345));
    }

    #[test]
    fn refuses_malformed_numbers_with_a_reason() {
        assert!(parse("12125550100").unwrap_err().contains("'+'"));
        assert!(parse("+0212555010").unwrap_err().contains("country code"));
        assert!(parse("+1234567").unwrap_err().contains("fewer than 8"));
        assert!(
            parse("+1234567890123456")
                .unwrap_err()
                .contains("more than 15")
        );
        assert!(parse("+1212555x100").unwrap_err().contains("'x'"));
        assert_eq!(parse("+").unwrap_err(), "no digits");
        assert!(check(1234567).is_err());
        assert!(check(1_000_000_000_000_000).is_err());
        assert_eq!(check(12345678), Ok(12345678));
    }
}
