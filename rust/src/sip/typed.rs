//! Typed views of the headers the stack acts on, parsed on demand from a header value and
//! borrowing from it. Each `Display` writes the value back in its canonical form.

use std::fmt;

use super::error::{ParseError, Result, clip};
use super::params::Params;
use super::text::{is_token, parse_digits, quoted_end, split_outside, trim_ws, unquote};
use super::uri::{Uri, parse_hostport};

/// One Via value: `SIP/2.0/UDP host:port;branch=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    pub protocol: &'a str,
    pub version: &'a str,
    pub transport: &'a str,
    pub host: &'a str,
    pub port: Option<u16>,
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    pub fn parse(s: &'a str) -> Result<Self> {
        let bad = |r: String| ParseError::header("Via", r);
        let mut parts = s.splitn(3, '/');
        let protocol = trim_ws(parts.next().unwrap_or(""));
        let version = trim_ws(parts.next().unwrap_or(""));
        let rest = trim_ws(parts.next().unwrap_or(""));
        let split = rest.find([' ', '\t']).unwrap_or(rest.len());
        let (transport, rest) = rest.split_at(split);
        if !is_token(protocol) || !is_token(version) || !is_token(transport) {
            return Err(bad(format!("bad sent-protocol in {:?}", clip(s))));
        }
        let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
        let (host, port) = parse_hostport(trim_ws(sent_by)).map_err(|e| bad(e.to_string()))?;
        let params = Params::parse_header(params).map_err(bad)?;
        if let Some(Some(p)) = params.get("rport")
            && parse_digits::<u16>(p, 5).is_none()
        {
            return Err(bad(format!("bad rport {:?}", clip(p))));
        }
        if let Some(t) = params.get("ttl")
            && t.and_then(|t| parse_digits::<u8>(t, 3)).is_none()
        {
            return Err(bad("ttl is not 0..255".into()));
        }
        if params.get("branch") == Some(None) {
            return Err(bad("branch without a value".into()));
        }
        Ok(Via {
            protocol,
            version,
            transport,
            host,
            port,
            params,
        })
    }

    pub fn branch(&self) -> Option<&'a str> {
        self.params.value("branch")
    }

    pub fn received(&self) -> Option<&'a str> {
        self.params.value("received")
    }

    /// `Some(None)` for a bare `;rport` (the client asks for it), `Some(Some(port))` once filled.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| parse_digits(p, 5)))
    }

    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| parse_digits(t, 3))
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol, self.version, self.transport, self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// From, To, Route, Record-Route, Contact: `"Display" <uri>;params` or a bare `uri;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Without its quotes; backslash escapes are kept as written.
    pub display: Option<&'a str>,
    pub uri: Uri<'a>,
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    pub fn new(display: Option<&'a str>, uri: Uri<'a>) -> Self {
        NameAddr {
            display,
            uri,
            params: Params::default(),
        }
    }

    pub fn parse(s: &'a str, header: &str) -> Result<Self> {
        let bad = |r: String| ParseError::header(header, r);
        let s = trim_ws(s);
        let (display, rest) = if s.starts_with('"') {
            let end =
                quoted_end(s).ok_or_else(|| bad("unterminated quoted display name".into()))?;
            (Some(&s[1..end - 1]), trim_ws(&s[end..]))
        } else if let Some(i) = s.find('<') {
            let d = trim_ws(&s[..i]);
            if d.contains(['"', '>', ';', ',']) {
                return Err(bad(format!("bad display name {:?}", clip(d))));
            }
            (if d.is_empty() { None } else { Some(d) }, &s[i..])
        } else {
            (None, s)
        };
        let (uri, params) = if let Some(inner) = rest.strip_prefix('<') {
            let end = inner
                .find('>')
                .ok_or_else(|| bad(format!("no '>' closing {:?}", clip(rest))))?;
            let after = trim_ws(&inner[end + 1..]);
            let params = if after.is_empty() {
                ""
            } else {
                after
                    .strip_prefix(';')
                    .ok_or_else(|| bad(format!("junk after '>': {:?}", clip(after))))?
            };
            (&inner[..end], params)
        } else if display.is_some() {
            return Err(bad("display name without <uri>".into()));
        } else {
            rest.split_once(';').unwrap_or((rest, ""))
        };
        let uri = Uri::parse(trim_ws(uri)).map_err(|e| bad(e.to_string()))?;
        let params = Params::parse_header(params).map_err(bad)?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One Contact value: `*` (remove all bindings, REGISTER) or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact<'a> {
    Star,
    Addr(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    pub fn parse(s: &'a str) -> Result<Self> {
        if trim_ws(s) == "*" {
            return Ok(Contact::Star);
        }
        let addr = NameAddr::parse(s, "Contact")?;
        if let Some(e) = addr.params.get("expires")
            && e.and_then(|e| parse_digits::<u32>(e, 10)).is_none()
        {
            return Err(ParseError::header("Contact", "expires is not a number"));
        }
        Ok(Contact::Addr(addr))
    }

    /// The `expires` parameter (seconds).
    pub fn expires(&self) -> Option<u32> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => a.params.value("expires").and_then(|e| parse_digits(e, 10)),
        }
    }
}

impl fmt::Display for Contact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Star => f.write_str("*"),
            Contact::Addr(a) => a.fmt(f),
        }
    }
}

/// `CSeq: 4711 INVITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub number: u32,
    pub method: &'a str,
}

impl<'a> CSeq<'a> {
    pub fn parse(s: &'a str) -> Result<Self> {
        let mut parts = s.split([' ', '\t']).filter(|p| !p.is_empty());
        let (Some(n), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ParseError::header(
                "CSeq",
                format!("expected \"NUMBER METHOD\", got {:?}", clip(s)),
            ));
        };
        // RFC 3261 section 8.1.1.5: less than 2**31.
        let number = parse_digits::<u32>(n, 10)
            .filter(|n| *n < 1 << 31)
            .ok_or_else(|| ParseError::header("CSeq", format!("bad number {:?}", clip(n))))?;
        if !is_token(method) {
            return Err(ParseError::header(
                "CSeq",
                format!("bad method {:?}", clip(method)),
            ));
        }
        Ok(CSeq { number, method })
    }
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.method)
    }
}

/// WWW-Authenticate / Proxy-Authenticate challenges and Authorization / Proxy-Authorization
/// credentials: a scheme and `name=value` parameters. Values are kept as written (quoted ones
/// with their quotes) so serializing gives back the same text; [`Challenge::param`] unquotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub scheme: &'a str,
    pub params: Vec<(&'a str, &'a str)>,
}

impl<'a> Challenge<'a> {
    pub fn parse(s: &'a str, header: &str) -> Result<Self> {
        let bad = |r: String| ParseError::header(header, r);
        let s = trim_ws(s);
        let split = s.find([' ', '\t']).unwrap_or(s.len());
        let (scheme, rest) = s.split_at(split);
        if !is_token(scheme) {
            return Err(bad(format!("bad scheme {:?}", clip(scheme))));
        }
        let mut params = Vec::new();
        for part in split_outside(rest, b',') {
            if part.is_empty() {
                continue;
            }
            let (n, v) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("parameter {:?} has no value", clip(part))))?;
            let (n, v) = (trim_ws(n), trim_ws(v));
            let value_ok = if v.starts_with('"') {
                quoted_end(v) == Some(v.len())
            } else {
                is_token(v)
            };
            if !is_token(n) || !value_ok {
                return Err(bad(format!("bad parameter {:?}", clip(part))));
            }
            params.push((n, v));
        }
        Ok(Challenge { scheme, params })
    }

    /// A parameter's value without quotes (names compare case-insensitively).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }
}

impl fmt::Display for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme)?;
        for (i, (n, v)) in self.params.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { " " } else { ", " })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_params() {
        let v = Via::parse("SIP / 2.0 / UDP [::1]:5060 ;branch=z9hG4bK77;rport;received=10.0.0.1;ttl=16;maddr=224.0.1.75").unwrap();
        assert_eq!((v.transport, v.host, v.port), ("UDP", "[::1]", Some(5060)));
        assert_eq!(v.branch(), Some("z9hG4bK77"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("10.0.0.1"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.0.1.75"));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [::1]:5060;branch=z9hG4bK77;rport;received=10.0.0.1;ttl=16;maddr=224.0.1.75"
        );
        assert!(Via::parse("SIP/2.0/UDP h;ttl=300").is_err());
        assert!(Via::parse("SIP/2.0/UDP h;rport=x").is_err());
        assert!(Via::parse("SIP/2.0 h").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(
            r#""Bob \"B\" Smith" <sip:bob@b.example;transport=tcp>;tag=a1"#,
            "To",
        )
        .unwrap();
        assert_eq!(a.display, Some(r#"Bob \"B\" Smith"#));
        assert_eq!(a.uri.transport(), Some("tcp"));
        assert_eq!(a.tag(), Some("a1"));
        let b = NameAddr::parse("sip:carol@c.example;tag=9", "From").unwrap();
        assert_eq!(
            (b.display, b.uri.host, b.tag()),
            (None, "c.example", Some("9"))
        );
        assert!(b.uri.params.is_empty());
        let c = NameAddr::parse("Carol Ann <sip:c@c.example>", "From").unwrap();
        assert_eq!(c.display, Some("Carol Ann"));
        assert!(NameAddr::parse("<sip:c@c.example", "To").is_err());
        assert!(NameAddr::parse("\"x <sip:c@c.example>", "To").is_err());
    }

    #[test]
    fn contact_and_cseq_and_challenge() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Star);
        assert_eq!(
            Contact::parse("<sip:a@h>;expires=60").unwrap().expires(),
            Some(60)
        );
        assert!(Contact::parse("<sip:a@h>;expires=soon").is_err());
        assert_eq!(
            CSeq::parse("4711  INVITE").unwrap(),
            CSeq {
                number: 4711,
                method: "INVITE"
            }
        );
        assert!(CSeq::parse("2147483648 INVITE").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
        let c = Challenge::parse(
            r#"Digest realm="acd", qop="auth,auth-int", nonce="n1", algorithm=SHA-256"#,
            "WWW-Authenticate",
        )
        .unwrap();
        assert_eq!(c.scheme, "Digest");
        assert_eq!(c.param("QOP"), Some("auth,auth-int"));
        assert_eq!(c.param("algorithm"), Some("SHA-256"));
        assert_eq!(
            c.to_string(),
            r#"Digest realm="acd", qop="auth,auth-int", nonce="n1", algorithm=SHA-256"#
        );
        assert!(Challenge::parse("Digest realm", "Authorization").is_err());
    }
}
