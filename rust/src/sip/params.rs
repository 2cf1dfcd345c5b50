//! `;name=value` parameter lists (header params, URI params), in their written order.

use std::fmt;

use super::text::{is_token, quoted_end, split_outside, trim_ws};

/// Parameters as written; names compare case-insensitively, values are kept verbatim (a quoted
/// value keeps its quotes, so serializing gives back what was parsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(pub Vec<(&'a str, Option<&'a str>)>);

impl<'a> Params<'a> {
    /// The value of `name`: `Some(None)` when present without a value (`;rport`, `;lr`).
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of `name` when it has one, without surrounding quotes.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).flatten().map(super::text::unquote)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn push(&mut self, name: &'a str, value: Option<&'a str>) {
        self.0.push((name, value));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `a=1;b;c="x;y"` (header parameters: token names, token or quoted values).
    pub(crate) fn parse_header(s: &'a str) -> Result<Self, String> {
        Self::parse_with(s, |v| {
            if v.starts_with('"') {
                quoted_end(v) == Some(v.len())
            } else {
                // Tokens, plus the host and IPv6 characters received= and maddr= carry.
                !v.is_empty()
                    && v.bytes()
                        .all(|b| super::text::is_token_byte(b) || b"[]:".contains(&b))
            }
        })
    }

    /// Parses URI parameters: `paramchar`s, escapes kept as written.
    pub(crate) fn parse_uri(s: &'a str) -> Result<Self, String> {
        Self::parse_with(s, |v| v.bytes().all(super::uri::is_param_char))
    }

    fn parse_with(s: &'a str, value_ok: impl Fn(&str) -> bool) -> Result<Self, String> {
        let mut out = Vec::new();
        if trim_ws(s).is_empty() {
            return Ok(Params(out));
        }
        for part in split_outside(s, b';') {
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (trim_ws(n), Some(trim_ws(v))),
                None => (part, None),
            };
            if !is_token(name) {
                return Err(format!("bad parameter name {:?}", super::error::clip(name)));
            }
            if let Some(v) = value
                && !value_ok(v)
            {
                return Err(format!(
                    "bad value {:?} for parameter {name}",
                    super::error::clip(v)
                ));
            }
            out.push((name, value));
        }
        Ok(Params(out))
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}
