//! SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966), borrowed from the text they are
//! parsed from. Escapes (`%41`) are validated but kept as written: comparison and display then
//! work on exactly what the peer sent.

use std::fmt;

use super::error::{ParseError, Result, clip};
use super::params::Params;
use super::text::parse_digits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// A parsed URI. For `tel:` the number is in `user` and `host` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    pub scheme: Scheme,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    /// A host name, IPv4 address or bracketed IPv6 reference (`[::1]`).
    pub host: &'a str,
    pub port: Option<u16>,
    pub params: Params<'a>,
    pub headers: Vec<(&'a str, &'a str)>,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || b"%&=+$,;?/".contains(&b)
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || b"%&=+$,".contains(&b)
}

pub(crate) fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || b"%[]/:&+$".contains(&b)
}

fn is_header_char(b: u8) -> bool {
    is_unreserved(b) || b"%[]/?:+$".contains(&b)
}

fn is_tel_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+-.()*#".contains(&b)
}

/// Every `%` is followed by two hex digits.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn check(part: &str, what: &str, ok: fn(u8) -> bool) -> Result<()> {
    if part.bytes().all(ok) {
        Ok(())
    } else {
        Err(ParseError::uri(format!(
            "bad character in {what} {:?}",
            clip(part)
        )))
    }
}

/// Host and port (`example.com:5060`, `[::1]:5060`, `10.0.0.1`), as Via and URIs write them.
pub(crate) fn parse_hostport(s: &str) -> Result<(&str, Option<u16>)> {
    let (host, rest) = if s.starts_with('[') {
        let end = s
            .find(']')
            .ok_or_else(|| ParseError::uri(format!("unclosed IPv6 reference {:?}", clip(s))))?;
        let inner = &s[1..end];
        if inner.is_empty()
            || !inner.contains(':')
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(ParseError::uri(format!(
                "bad IPv6 reference {:?}",
                clip(&s[..=end])
            )));
        }
        (&s[..=end], &s[end + 1..])
    } else {
        match s.find(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        }
    };
    if host.is_empty() {
        return Err(ParseError::uri("empty host"));
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(ParseError::uri(format!("bad host {:?}", clip(host))));
    }
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => None,
        None => return Err(ParseError::uri(format!("junk after host {:?}", clip(rest)))),
        Some(p) => Some(
            parse_digits::<u16>(p, 5)
                .ok_or_else(|| ParseError::uri(format!("bad port {:?}", clip(p))))?,
        ),
    };
    Ok((host, port))
}

impl<'a> Uri<'a> {
    /// A `sip:` URI with just a user and host.
    pub fn sip(user: Option<&'a str>, host: &'a str, port: Option<u16>) -> Self {
        Uri {
            scheme: Scheme::Sip,
            user,
            password: None,
            host,
            port,
            params: Params::default(),
            headers: Vec::new(),
        }
    }

    pub fn parse(s: &'a str) -> Result<Self> {
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| ParseError::uri(format!("no scheme in {:?}", clip(s))))?;
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            return Err(ParseError::Scheme(clip(scheme)));
        };
        if !escapes_ok(rest) {
            return Err(ParseError::uri(format!("bad %-escape in {:?}", clip(s))));
        }
        if scheme == Scheme::Tel {
            let (number, params) = rest.split_once(';').unwrap_or((rest, ""));
            if number.is_empty() {
                return Err(ParseError::uri("empty tel number"));
            }
            check(number, "tel number", is_tel_char)?;
            return Ok(Uri {
                scheme,
                user: Some(number),
                password: None,
                host: "",
                port: None,
                params: Params::parse_uri(params).map_err(ParseError::uri)?,
                headers: Vec::new(),
            });
        }
        let (userinfo, rest) = match rest.find('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() {
                    return Err(ParseError::uri(format!("empty user in {:?}", clip(s))));
                }
                check(u, "user", is_user_char)?;
                if let Some(p) = p {
                    check(p, "password", is_password_char)?;
                }
                (Some(u), p)
            }
        };
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => (r, Some(h)),
            None => (rest, None),
        };
        let (hostport, params) = rest.split_once(';').unwrap_or((rest, ""));
        let (host, port) = parse_hostport(hostport)?;
        let params = Params::parse_uri(params).map_err(ParseError::uri)?;
        let mut hs = Vec::new();
        if let Some(h) = headers {
            for pair in h.split('&') {
                let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                if n.is_empty() {
                    return Err(ParseError::uri(format!(
                        "empty header name in {:?}",
                        clip(h)
                    )));
                }
                check(n, "URI header name", is_header_char)?;
                check(v, "URI header value", is_header_char)?;
                hs.push((n, v));
            }
        }
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers: hs,
        })
    }

    /// The `transport` parameter, if any.
    pub fn transport(&self) -> Option<&'a str> {
        self.params.value("transport")
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if self.scheme == Scheme::Tel {
            write!(f, "{}", self.user.unwrap_or(""))?;
            return write!(f, "{}", self.params);
        }
        if let Some(u) = self.user {
            f.write_str(u)?;
            if let Some(p) = self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_sip_uri() {
        let u = Uri::parse(
            "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent",
        )
        .unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.password, Some("secret"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert_eq!(u.params.get("lr"), Some(None));
        assert_eq!(u.headers, vec![("Subject", "hi"), ("Priority", "urgent")]);
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent"
        );
    }

    #[test]
    fn user_with_params_and_escapes() {
        let u = Uri::parse("sip:+1-555;phone-context=x%20y@gw.example.com;user=phone").unwrap();
        assert_eq!(u.user, Some("+1-555;phone-context=x%20y"));
        assert_eq!(u.host, "gw.example.com");
        assert_eq!(u.params.value("user"), Some("phone"));
    }

    #[test]
    fn tel_uri() {
        let u = Uri::parse("tel:+1-201-555-0123;ext=42").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user, Some("+1-201-555-0123"));
        assert_eq!(u.params.value("ext"), Some("42"));
        assert_eq!(u.to_string(), "tel:+1-201-555-0123;ext=42");
    }

    #[test]
    fn rejections_name_the_part() {
        let e = |s: &str| Uri::parse(s).unwrap_err().to_string();
        assert_eq!(e("http://x"), "unsupported URI scheme \"http\"");
        assert_eq!(e("sip:a@h:99999"), "bad URI: bad port \"99999\"");
        assert_eq!(e("sip:a@[::1"), "bad URI: unclosed IPv6 reference \"[::1\"");
        assert_eq!(e("sip:a%zz@h"), "bad URI: bad %-escape in \"sip:a%zz@h\"");
        assert_eq!(e("sip:@h"), "bad URI: empty user in \"sip:@h\"");
        assert_eq!(e("sip:a b@h"), "bad URI: bad character in user \"a b\"");
        assert_eq!(e("sip:"), "bad URI: empty host");
        assert_eq!(e("nocolon"), "bad URI: no scheme in \"nocolon\"");
    }
}
