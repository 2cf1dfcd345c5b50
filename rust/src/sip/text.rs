//! Lexical helpers shared by the header, URI and SDP parsers (RFC 3261 section 25.1).

/// RFC 3261 `token` characters.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Linear whitespace as it is left after unfolding: spaces and tabs.
pub(crate) fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Splits `s` at each `sep` outside quoted strings and angle brackets; parts are trimmed.
/// A backslash inside quotes escapes the next character.
pub(crate) fn split_outside(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut pos = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut quoted = false;
        let mut angle = false;
        while pos < bytes.len() {
            let b = bytes[pos];
            if quoted {
                if b == b'\\' {
                    pos += 1;
                } else if b == b'"' {
                    quoted = false;
                }
            } else if b == b'"' {
                quoted = true;
            } else if b == b'<' {
                angle = true;
            } else if b == b'>' {
                angle = false;
            } else if b == sep && !angle {
                let part = &s[start..pos];
                pos += 1;
                start = pos;
                return Some(trim_ws(part));
            }
            pos += 1;
        }
        done = true;
        Some(trim_ws(s.get(start..).unwrap_or("")))
    })
}

/// The index just past the closing quote of the quoted string opening at `s[0]`, or None.
pub(crate) fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A decimal number of at most `max_digits` digits and nothing else.
pub(crate) fn parse_digits<T: std::str::FromStr>(s: &str, max_digits: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Strips one pair of surrounding double quotes, if present (escapes are kept as written).
pub(crate) fn unquote(s: &str) -> &str {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_brackets() {
        let parts: Vec<&str> =
            split_outside(r#""a, \"b" <sip:x@y;p=1,2>;q=1 , c,"#, b',').collect();
        assert_eq!(parts, vec![r#""a, \"b" <sip:x@y;p=1,2>;q=1"#, "c", ""]);
    }

    #[test]
    fn quoted_end_handles_escapes_and_unterminated() {
        assert_eq!(quoted_end(r#""a\"b" x"#), Some(6));
        assert_eq!(quoted_end(r#""abc"#), None);
        assert_eq!(quoted_end(r#""ab\"#), None);
    }
}
