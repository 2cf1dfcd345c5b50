//! Message framing and the header section (RFC 3261 sections 7 and 18.3): the start line,
//! header lines with obsolete folding, Content-Length, the body; datagrams and streams.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::error::{ParseError, Result, clip};
use super::headers::canonical_name;
use super::text::{is_token, parse_digits, split_outside, trim_ws};
use super::typed::{CSeq, Challenge, Contact, NameAddr, Via};
use super::uri::Uri;

/// Bounds on what the parser accepts. The defaults fit UDP (a datagram is at most 64 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Headers plus body, in bytes.
    pub max_message: usize,
    /// Header lines, counting continuation lines.
    pub max_headers: usize,
    /// Bytes in one line (start line or header line) before its line ending.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 65_535,
            max_headers: 256,
            max_line: 8_192,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// The Request-URI is kept as text: a proxy forwards URIs it cannot parse (and answers
    /// 416 to schemes it does not support, see [`Message::request_uri`]).
    Request {
        method: Cow<'a, str>,
        uri: Cow<'a, str>,
    },
    Response {
        status: u16,
        reason: Cow<'a, str>,
    },
}

/// One header line (after unfolding). Known names are stored in canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// A SIP request or response. Content-Length is framing, not content: it is checked on parse,
/// not stored among the headers, and written from the body's length on serialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub start: StartLine<'a>,
    pub headers: Vec<Header<'a>>,
    pub body: Cow<'a, [u8]>,
}

/// The outcome of reading a stream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole message, and how many bytes of the buffer it used.
    Complete {
        message: Message<'a>,
        consumed: usize,
    },
    /// Only CRLF keepalives (RFC 5626) so far; drop `consumed` bytes.
    Keepalive { consumed: usize },
    /// The buffer ends inside a message: read more.
    Incomplete,
}

/// Where the header section ends: its lines (line endings stripped) and the body's offset.
struct Head<'a> {
    lines: Vec<&'a str>,
    body_start: usize,
}

/// Leading CRLFs are skipped (RFC 3261 section 7.5); returns their length.
fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count()
}

/// Finds the empty line ending the header section; `None` when the buffer ends first.
fn split_head<'a>(buf: &'a [u8], start: usize, limits: &Limits) -> Result<Option<Head<'a>>> {
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut pos = start;
    loop {
        let rest = buf.get(pos..).unwrap_or(&[]);
        let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
            if rest.len() > limits.max_line {
                return Err(ParseError::LineTooLong {
                    line: lines.len() + 1,
                    limit: limits.max_line,
                });
            }
            return Ok(None);
        };
        let mut line = &rest[..nl];
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        pos += nl + 1;
        if line.len() > limits.max_line {
            return Err(ParseError::LineTooLong {
                line: lines.len() + 1,
                limit: limits.max_line,
            });
        }
        if line.is_empty() {
            break;
        }
        if line.iter().any(|b| *b == b'\r' || *b == 0) {
            return Err(ParseError::Line {
                line: lines.len() + 1,
                reason: "CR or NUL inside a line".into(),
            });
        }
        lines.push(line);
        if lines.len() > limits.max_headers + 1 {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
    }
    let mut text = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let s = std::str::from_utf8(line).map_err(|e| ParseError::Line {
            line: i + 1,
            reason: format!("not UTF-8 at byte {}", e.valid_up_to()),
        })?;
        text.push(s);
    }
    Ok(Some(Head {
        lines: text,
        body_start: pos,
    }))
}

fn parse_start(line: &str) -> Result<StartLine<'_>> {
    let has_sip_prefix = |s: &str| s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    let check_version = |v: &str| {
        if v.eq_ignore_ascii_case("SIP/2.0") {
            Ok(())
        } else if has_sip_prefix(v) {
            Err(ParseError::Version(clip(v)))
        } else {
            Err(ParseError::StartLine(format!("bad version {:?}", clip(v))))
        }
    };
    if has_sip_prefix(line) {
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        check_version(version)?;
        let code = parts.next().unwrap_or("");
        let status = parse_digits::<u16>(code, 3)
            .filter(|c| (100..=699).contains(c))
            .ok_or_else(|| ParseError::StartLine(format!("bad status code {:?}", clip(code))))?;
        let reason = parts.next().unwrap_or("");
        if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(ParseError::StartLine(
                "control character in reason phrase".into(),
            ));
        }
        return Ok(StartLine::Response {
            status,
            reason: Cow::Borrowed(reason),
        });
    }
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(ParseError::StartLine(format!(
            "expected \"METHOD URI SIP/2.0\", got {} space-separated parts",
            parts.len()
        )));
    };
    if !is_token(method) {
        return Err(ParseError::StartLine(format!(
            "bad method {:?}",
            clip(method)
        )));
    }
    if uri.is_empty() || uri.bytes().any(|b| b.is_ascii_control()) {
        return Err(ParseError::StartLine(format!(
            "bad Request-URI {:?}",
            clip(uri)
        )));
    }
    check_version(version)?;
    Ok(StartLine::Request {
        method: Cow::Borrowed(method),
        uri: Cow::Borrowed(uri),
    })
}

/// Header lines into headers, unfolding continuation lines; Content-Length values apart.
fn parse_headers<'a>(lines: &[&'a str]) -> Result<(Vec<Header<'a>>, Option<usize>)> {
    let mut headers: Vec<Header<'a>> = Vec::with_capacity(lines.len());
    let mut length: Option<usize> = None;
    let mut length_index: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let line_no = i + 2;
        if line.starts_with([' ', '\t']) {
            let Some(last) = headers.last_mut() else {
                return Err(ParseError::Line {
                    line: line_no,
                    reason: "continuation line before any header".into(),
                });
            };
            let more = trim_ws(line);
            if !more.is_empty() {
                let value = last.value.to_mut();
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::Line {
                line: line_no,
                reason: format!("no colon in header line {:?}", clip(line)),
            });
        };
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(ParseError::Line {
                line: line_no,
                reason: format!("bad header name {:?}", clip(name)),
            });
        }
        let name = canonical_name(name).map_or(Cow::Borrowed(name), Cow::Borrowed);
        if name == "Content-Length" {
            length_index = Some(headers.len());
        }
        headers.push(Header {
            name,
            value: Cow::Borrowed(trim_ws(value)),
        });
    }
    // Content-Length values are read after unfolding, then removed from the list.
    if length_index.is_some() {
        for h in headers.iter().filter(|h| h.name == "Content-Length") {
            let n = parse_digits::<usize>(&h.value, 10).ok_or_else(|| {
                ParseError::header(
                    "Content-Length",
                    format!("{:?} is not a number", clip(&h.value)),
                )
            })?;
            if length.is_some_and(|l| l != n) {
                return Err(ParseError::header("Content-Length", "conflicting values"));
            }
            length = Some(n);
        }
        headers.retain(|h| h.name != "Content-Length");
    }
    Ok((headers, length))
}

impl<'a> Message<'a> {
    /// Parses one datagram with the default limits.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        Self::parse_with(buf, &Limits::default())
    }

    /// Parses one datagram: the body is what follows the headers, cut to Content-Length when
    /// that is present (RFC 3261 section 18.3), an error when it promises more than arrived.
    pub fn parse_with(buf: &'a [u8], limits: &Limits) -> Result<Self> {
        if buf.len() > limits.max_message {
            return Err(ParseError::TooLarge {
                size: buf.len(),
                limit: limits.max_message,
            });
        }
        let start = leading_crlf(buf);
        let head = split_head(buf, start, limits)?.ok_or_else(|| {
            ParseError::Body("message ends before the empty line after the headers".into())
        })?;
        let avail = buf.get(head.body_start..).unwrap_or(&[]);
        let (mut msg, length) = Self::from_head(&head)?;
        let body = match length {
            Some(n) if n > avail.len() => {
                return Err(ParseError::Body(format!(
                    "Content-Length is {n} but {} body bytes arrived",
                    avail.len()
                )));
            }
            Some(n) => &avail[..n],
            None => avail,
        };
        msg.body = Cow::Borrowed(body);
        msg.validate()?;
        Ok(msg)
    }

    /// Reads the first message from a stream buffer (TCP, TLS): Content-Length is required
    /// there. Returns `Incomplete` until the whole message is in the buffer.
    pub fn parse_stream(buf: &'a [u8], limits: &Limits) -> Result<Framed<'a>> {
        let start = leading_crlf(buf);
        if start == buf.len() {
            return Ok(if start == 0 {
                Framed::Incomplete
            } else {
                Framed::Keepalive { consumed: start }
            });
        }
        let Some(head) = split_head(buf, start, limits)? else {
            if buf.len() > limits.max_message {
                return Err(ParseError::TooLarge {
                    size: buf.len(),
                    limit: limits.max_message,
                });
            }
            return Ok(Framed::Incomplete);
        };
        let (mut msg, length) = Self::from_head(&head)?;
        let length = length.ok_or_else(|| {
            ParseError::header("Content-Length", "missing (required on stream transports)")
        })?;
        let end = head.body_start.saturating_add(length);
        if end - start > limits.max_message {
            return Err(ParseError::TooLarge {
                size: end - start,
                limit: limits.max_message,
            });
        }
        let Some(body) = buf.get(head.body_start..end) else {
            return Ok(Framed::Incomplete);
        };
        msg.body = Cow::Borrowed(body);
        msg.validate()?;
        Ok(Framed::Complete {
            message: msg,
            consumed: end,
        })
    }

    fn from_head(head: &Head<'a>) -> Result<(Self, Option<usize>)> {
        let first = head
            .lines
            .first()
            .ok_or_else(|| ParseError::StartLine("empty message".into()))?;
        let start = parse_start(first)?;
        let (headers, length) = parse_headers(head.lines.get(1..).unwrap_or(&[]))?;
        Ok((
            Message {
                start,
                headers,
                body: Cow::Borrowed(&[]),
            },
            length,
        ))
    }

    /// The headers every request and response carries (RFC 3261 section 8.1.1) are present
    /// once each and parse; a request's CSeq method is its method.
    pub fn validate(&self) -> Result<()> {
        for name in ["From", "To", "Call-ID", "CSeq"] {
            let n = self.headers_named(name).count();
            if n == 0 {
                return Err(ParseError::header(name, "missing"));
            }
            if n > 1 {
                return Err(ParseError::header(name, format!("appears {n} times")));
            }
        }
        self.from()?;
        self.to()?;
        if self.call_id()?.is_empty() {
            return Err(ParseError::header("Call-ID", "empty"));
        }
        let cseq = self.cseq()?;
        if let Some(method) = self.method()
            && cseq.method != method
        {
            return Err(ParseError::header(
                "CSeq",
                format!(
                    "method {:?} is not the request's {:?}",
                    clip(cseq.method),
                    clip(method)
                ),
            ));
        }
        if self.vias()?.is_empty() {
            return Err(ParseError::header("Via", "missing"));
        }
        self.max_forwards()?;
        Ok(())
    }

    /// Copies every borrowed part, detaching the message from its buffer.
    pub fn into_owned(self) -> Message<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        Message {
            start: match self.start {
                StartLine::Request { method, uri } => StartLine::Request {
                    method: own(method),
                    uri: own(uri),
                },
                StartLine::Response { status, reason } => StartLine::Response {
                    status,
                    reason: own(reason),
                },
            },
            headers: self
                .headers
                .into_iter()
                .map(|h| Header {
                    name: own(h.name),
                    value: own(h.value),
                })
                .collect(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method; None for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code; None for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    /// The Request-URI; an error for a response or an unparsable URI (416 for a scheme
    /// other than sip, sips, tel).
    pub fn request_uri(&self) -> Result<Uri<'_>> {
        match &self.start {
            StartLine::Request { uri, .. } => Uri::parse(uri),
            StartLine::Response { .. } => Err(ParseError::StartLine(
                "a response has no Request-URI".into(),
            )),
        }
    }

    /// Values of every header with this name (any spelling, compact forms included), in order.
    pub fn headers_named<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> {
        let want = canonical_name(name).unwrap_or(name);
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(want))
            .map(|h| h.value.as_ref())
    }

    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// Comma-separated values across every header with this name (`Allow: A, B` and
    /// `Allow: C` give A, B, C): Allow, Supported, Require, Via, Contact... Not for headers
    /// whose values hold commas (auth, dates).
    pub fn values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> {
        self.headers_named(name)
            .flat_map(|v| split_outside(v, b','))
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str> {
        self.header(name)
            .ok_or_else(|| ParseError::header(name, "missing"))
    }

    pub fn call_id(&self) -> Result<&str> {
        self.required("Call-ID")
    }

    pub fn cseq(&self) -> Result<CSeq<'_>> {
        CSeq::parse(self.required("CSeq")?)
    }

    pub fn from(&self) -> Result<NameAddr<'_>> {
        NameAddr::parse(self.required("From")?, "From")
    }

    pub fn to(&self) -> Result<NameAddr<'_>> {
        NameAddr::parse(self.required("To")?, "To")
    }

    /// Every Via, topmost first.
    pub fn vias(&self) -> Result<Vec<Via<'_>>> {
        self.values("Via").map(Via::parse).collect()
    }

    pub fn top_via(&self) -> Result<Via<'_>> {
        match self.values("Via").next() {
            Some(v) => Via::parse(v),
            None => Err(ParseError::header("Via", "missing")),
        }
    }

    pub fn max_forwards(&self) -> Result<Option<u8>> {
        self.number("Max-Forwards", 3)
    }

    pub fn expires(&self) -> Result<Option<u32>> {
        self.number("Expires", 10)
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str, digits: usize) -> Result<Option<T>> {
        self.header(name)
            .map(|v| {
                parse_digits(v, digits).ok_or_else(|| {
                    ParseError::header(name, format!("{:?} is not a number in range", clip(v)))
                })
            })
            .transpose()
    }

    pub fn contacts(&self) -> Result<Vec<Contact<'_>>> {
        self.values("Contact").map(Contact::parse).collect()
    }

    pub fn routes(&self) -> Result<Vec<NameAddr<'_>>> {
        self.name_addrs("Route")
    }

    pub fn record_routes(&self) -> Result<Vec<NameAddr<'_>>> {
        self.name_addrs("Record-Route")
    }

    fn name_addrs(&self, name: &'static str) -> Result<Vec<NameAddr<'_>>> {
        self.values(name)
            .map(|v| NameAddr::parse(v, name))
            .collect()
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// Challenges or credentials of one of the four auth headers, one per header line.
    pub fn auth(&self, name: &'static str) -> Result<Vec<Challenge<'_>>> {
        self.headers_named(name)
            .map(|v| Challenge::parse(v, name))
            .collect()
    }

    /// The wire form; Content-Length is written last, from the body.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut head = String::with_capacity(256 + self.headers.len() * 48);
        match &self.start {
            StartLine::Request { method, uri } => {
                let _ = write!(head, "{method} {uri} SIP/2.0\r\n");
            }
            StartLine::Response { status, reason } => {
                let _ = write!(head, "SIP/2.0 {status} {reason}\r\n");
            }
        }
        for h in &self.headers {
            let _ = write!(head, "{}: {}\r\n", h.name, h.value);
        }
        let _ = write!(head, "Content-Length: {}\r\n\r\n", self.body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}
