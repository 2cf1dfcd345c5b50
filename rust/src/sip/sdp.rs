//! SDP session descriptions (RFC 8866) and the offer/answer choice (RFC 3264) for plain SIP
//! audio: G.711 (PCMU, PCMA) and telephone-event. Descriptions are small and built as often as
//! parsed, so they own their text.

use std::fmt::{self, Write as _};

use super::error::{ParseError, Result, clip};
use super::text::parse_digits;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub nettype: String,
    pub addrtype: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub nettype: String,
    pub addrtype: String,
    pub address: String,
}

impl Connection {
    /// `IN IP4 addr` or `IN IP6 addr`, by the address's form.
    pub fn internet(address: &str) -> Self {
        Connection {
            nettype: "IN".into(),
            addrtype: if address.contains(':') { "IP6" } else { "IP4" }.into(),
            address: address.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn new(name: &str, value: Option<String>) -> Self {
        Attribute {
            name: name.into(),
            value,
        }
    }
}

/// A line the parser keeps but does not interpret (i, u, e, p, b, r, z, k and unknown types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: char,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: String,
    pub port: u16,
    pub port_count: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute>,
    pub extra: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    /// `t=` lines: start and stop times (0 0 for a permanent session).
    pub times: Vec<(u64, u64)>,
    pub attributes: Vec<Attribute>,
    pub extra: Vec<Line>,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }

    /// The direction an answer takes to this offered one (RFC 3264 section 6.1).
    pub fn answer(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

impl RtpMap {
    fn parse(s: &str) -> Option<Self> {
        let (pt, rest) = s.split_once(' ')?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parse_digits(parts.next()?, 10)?;
        let channels = match parts.next() {
            Some(c) => Some(parse_digits(c, 3)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(RtpMap {
            payload_type: parse_digits::<u8>(pt, 3).filter(|p| *p <= 127)?,
            encoding: encoding.into(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// Static payload types (RFC 3551) the stack may meet without an rtpmap.
const STATIC: &[(u8, &str, u32)] = &[
    (0, "PCMU", 8000),
    (3, "GSM", 8000),
    (8, "PCMA", 8000),
    (9, "G722", 8000),
    (18, "G729", 8000),
];

/// The static payload type of a codec name, for offers.
pub fn static_payload_type(name: &str) -> Option<u8> {
    STATIC
        .iter()
        .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
        .map(|(pt, _, _)| *pt)
}

fn attr<'a>(attrs: &'a [Attribute], name: &str) -> impl Iterator<Item = &'a str> {
    attrs
        .iter()
        .filter(move |a| a.name == name)
        .filter_map(|a| a.value.as_deref())
}

fn direction_of(attrs: &[Attribute]) -> Option<Direction> {
    attrs
        .iter()
        .filter(|a| a.value.is_none())
        .find_map(|a| Direction::parse(&a.name))
}

fn is_rtp(proto: &str) -> bool {
    proto.starts_with("RTP/")
}

impl Media {
    /// The payload types of an RTP stream, in the offered order.
    pub fn payload_types(&self) -> Vec<u8> {
        self.formats
            .iter()
            .filter_map(|f| parse_digits::<u8>(f, 3))
            .collect()
    }

    /// The mapping of a payload type: its rtpmap, or the static assignment.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        attr(&self.attributes, "rtpmap")
            .filter_map(RtpMap::parse)
            .find(|m| m.payload_type == pt)
            .or_else(|| {
                STATIC
                    .iter()
                    .find(|(p, _, _)| *p == pt)
                    .map(|(p, n, c)| RtpMap {
                        payload_type: *p,
                        encoding: (*n).into(),
                        clock_rate: *c,
                        channels: None,
                    })
            })
    }

    /// The format parameters of a payload type (`a=fmtp:101 0-15` gives "0-15").
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        attr(&self.attributes, "fmtp").find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            (parse_digits::<u8>(p, 3) == Some(pt)).then_some(rest.trim())
        })
    }

    pub fn ptime(&self) -> Option<u32> {
        attr(&self.attributes, "ptime").find_map(|v| parse_digits(v, 6))
    }

    /// This stream's direction, falling back to the session's, then sendrecv.
    pub fn direction(&self, session: &Sdp) -> Direction {
        direction_of(&self.attributes)
            .or_else(|| direction_of(&session.attributes))
            .unwrap_or(Direction::SendRecv)
    }
}

fn sdp_err(line: usize, reason: impl Into<String>) -> ParseError {
    ParseError::Sdp {
        line,
        reason: reason.into(),
    }
}

fn fields<const N: usize>(value: &str, line: usize, what: &str) -> Result<[String; N]> {
    let parts: Vec<&str> = value.split(' ').filter(|p| !p.is_empty()).collect();
    let arr: [&str; N] = parts
        .try_into()
        .map_err(|_| sdp_err(line, format!("{what} needs {N} fields: {:?}", clip(value))))?;
    Ok(arr.map(String::from))
}

fn parse_connection(value: &str, line: usize) -> Result<Connection> {
    let [nettype, addrtype, address] = fields::<3>(value, line, "c=")?;
    Ok(Connection {
        nettype,
        addrtype,
        address,
    })
}

fn parse_attribute(value: &str, line: usize) -> Result<Attribute> {
    let (name, v) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (value, None),
    };
    if name.is_empty() || !name.bytes().all(super::text::is_token_byte) {
        return Err(sdp_err(
            line,
            format!("bad attribute name {:?}", clip(name)),
        ));
    }
    match (name, v.as_deref()) {
        ("rtpmap", Some(v)) if RtpMap::parse(v).is_none() => {
            return Err(sdp_err(line, format!("bad rtpmap {:?}", clip(v))));
        }
        ("ptime", Some(v)) if parse_digits::<u32>(v, 6).is_none() => {
            return Err(sdp_err(line, format!("bad ptime {:?}", clip(v))));
        }
        _ => {}
    }
    Ok(Attribute {
        name: name.into(),
        value: v,
    })
}

fn parse_media(value: &str, line: usize) -> Result<Media> {
    let mut parts = value.split(' ').filter(|p| !p.is_empty());
    let (Some(kind), Some(port), Some(proto)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(sdp_err(
            line,
            format!("m= needs media, port, proto: {:?}", clip(value)),
        ));
    };
    let (port, count) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port, None),
    };
    let bad_port = || sdp_err(line, format!("bad port in {:?}", clip(value)));
    let port = parse_digits::<u16>(port, 5).ok_or_else(bad_port)?;
    let port_count = match count {
        Some(c) => Some(parse_digits::<u16>(c, 5).ok_or_else(bad_port)?),
        None => None,
    };
    let formats: Vec<String> = parts.map(String::from).collect();
    if formats.is_empty() {
        return Err(sdp_err(line, "m= line without formats"));
    }
    if is_rtp(proto)
        && let Some(f) = formats
            .iter()
            .find(|f| parse_digits::<u8>(f, 3).is_none_or(|p| p > 127))
    {
        return Err(sdp_err(line, format!("bad RTP payload type {:?}", clip(f))));
    }
    Ok(Media {
        kind: kind.into(),
        port,
        port_count,
        proto: proto.into(),
        formats,
        connection: None,
        attributes: Vec::new(),
        extra: Vec::new(),
    })
}

impl Sdp {
    pub fn parse(body: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(body)
            .map_err(|e| sdp_err(0, format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        let line_texts = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        if let Some(n) = line_texts.clone().position(|l| l.contains(['\r', '\0'])) {
            return Err(sdp_err(n + 1, "CR or NUL inside a line"));
        }
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.is_empty())
            .peekable();
        let mut next_typed = |want: char| -> Result<(usize, &str)> {
            match lines.next() {
                Some((n, l)) if l.len() >= 2 && l.starts_with(want) && l.as_bytes()[1] == b'=' => {
                    Ok((n, &l[2..]))
                }
                Some((n, l)) => Err(sdp_err(n, format!("expected {want}=, got {:?}", clip(l)))),
                None => Err(sdp_err(0, format!("missing {want}= line"))),
            }
        };
        let (n, v) = next_typed('v')?;
        if v != "0" {
            return Err(sdp_err(n, format!("unsupported version {:?}", clip(v))));
        }
        let (n, o) = next_typed('o')?;
        let [user, id, version, net, addrtype, addr] = fields::<6>(o, n, "o=")?;
        let origin = Origin {
            username: user,
            session_id: id,
            session_version: version,
            nettype: net,
            addrtype,
            address: addr,
        };
        let (_, s) = next_typed('s')?;
        let mut sdp = Sdp {
            origin,
            session_name: s.into(),
            connection: None,
            times: Vec::new(),
            attributes: Vec::new(),
            extra: Vec::new(),
            media: Vec::new(),
        };
        for (n, l) in lines {
            let b = l.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(sdp_err(n, format!("not a type=value line: {:?}", clip(l))));
            }
            let (kind, value) = (char::from(b[0]), &l[2..]);
            let media = sdp.media.last_mut();
            // RFC 8866 section 5 lets a parser reject types it does not know; kept lines must
            // be in a section that has them, so serializing can put them back in order.
            let allowed = if media.is_some() {
                "icbkam"
            } else {
                "iuepcbtrzkam"
            };
            if !allowed.contains(kind) {
                return Err(sdp_err(n, format!("unknown or misplaced {kind}= line")));
            }
            match (kind, media) {
                ('m', _) => sdp.media.push(parse_media(value, n)?),
                ('c', Some(m)) => m.connection = Some(parse_connection(value, n)?),
                ('c', None) => sdp.connection = Some(parse_connection(value, n)?),
                ('a', Some(m)) => m.attributes.push(parse_attribute(value, n)?),
                ('a', None) => sdp.attributes.push(parse_attribute(value, n)?),
                ('t', None) => {
                    let [start, stop] = fields::<2>(value, n, "t=")?;
                    let num = |s: &str| {
                        parse_digits::<u64>(s, 20)
                            .ok_or_else(|| sdp_err(n, format!("bad time {:?}", clip(s))))
                    };
                    sdp.times.push((num(&start)?, num(&stop)?));
                }
                ('v' | 'o' | 's' | 't', _) => {
                    return Err(sdp_err(n, format!("unexpected {kind}= line")));
                }
                (_, Some(m)) => m.extra.push(Line {
                    kind,
                    value: value.into(),
                }),
                (_, None) => sdp.extra.push(Line {
                    kind,
                    value: value.into(),
                }),
            }
        }
        // Kept lines in the order serialization writes them (RFC 8866 order, stable within).
        sdp.extra.sort_by_key(|l| session_rank(l.kind));
        for m in &mut sdp.media {
            m.extra.sort_by_key(|l| u8::from(l.kind != 'i'));
        }
        Ok(sdp)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The first audio stream that is not disabled (port 0).
    pub fn audio(&self) -> Option<&Media> {
        self.media.iter().find(|m| m.kind == "audio" && m.port != 0)
    }

    /// The connection address of a stream: its own c= line, else the session's.
    pub fn address_of<'s>(&'s self, media: &'s Media) -> Option<&'s str> {
        media
            .connection
            .as_ref()
            .or(self.connection.as_ref())
            .map(|c| c.address.as_str())
    }
}

/// Where a kept session-level line goes: before c=, between c= and t=, after t=.
fn session_rank(kind: char) -> u8 {
    match kind {
        'i' | 'u' | 'e' | 'p' => 0,
        'b' => 1,
        _ => 2,
    }
}

/// Lines kept as written go out in RFC 8866 order around the ones we model: `which` picks
/// the kinds that belong at this point.
fn write_extra(out: &mut String, extra: &[Line], which: impl Fn(char) -> bool) {
    for l in extra.iter().filter(|l| which(l.kind)) {
        let _ = write!(out, "{}={}\r\n", l.kind, l.value);
    }
}

fn write_attrs(out: &mut String, attrs: &[Attribute]) {
    for a in attrs {
        let _ = match &a.value {
            Some(v) => write!(out, "a={}:{v}\r\n", a.name),
            None => write!(out, "a={}\r\n", a.name),
        };
    }
}

fn write_conn(out: &mut String, c: &Connection) {
    let _ = write!(out, "c={} {} {}\r\n", c.nettype, c.addrtype, c.address);
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(256);
        let o = &self.origin;
        let _ = write!(
            out,
            "v=0\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.nettype,
            o.addrtype,
            o.address,
            self.session_name
        );
        write_extra(&mut out, &self.extra, |k| session_rank(k) == 0);
        if let Some(c) = &self.connection {
            write_conn(&mut out, c);
        }
        write_extra(&mut out, &self.extra, |k| session_rank(k) == 1);
        for (start, stop) in &self.times {
            let _ = write!(out, "t={start} {stop}\r\n");
        }
        write_extra(&mut out, &self.extra, |k| session_rank(k) == 2);
        write_attrs(&mut out, &self.attributes);
        for m in &self.media {
            let _ = write!(out, "m={} {}", m.kind, m.port);
            if let Some(c) = m.port_count {
                let _ = write!(out, "/{c}");
            }
            let _ = write!(out, " {}", m.proto);
            for fmt in &m.formats {
                let _ = write!(out, " {fmt}");
            }
            out.push_str("\r\n");
            write_extra(&mut out, &m.extra, |k| k == 'i');
            if let Some(c) = &m.connection {
                write_conn(&mut out, c);
            }
            write_extra(&mut out, &m.extra, |k| k != 'i');
            write_attrs(&mut out, &m.attributes);
        }
        f.write_str(&out)
    }
}

/// What this side offers or accepts, and where it receives media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub address: String,
    pub port: u16,
    pub session_id: u64,
    pub session_version: u64,
    /// Codec names in preference order, each with a static payload type (PCMU, PCMA...).
    pub codecs: Vec<String>,
    /// Offer or accept telephone-event (RFC 4733 DTMF).
    pub dtmf: bool,
}

/// No acceptable media: answered with 488 Not Acceptable Here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAcceptable(pub String);

impl fmt::Display for NotAcceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAcceptable {}

/// The outcome of answering an offer: the answer, and what media will flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub answer: Sdp,
    pub payload_type: u8,
    pub codec: String,
    pub clock_rate: u32,
    pub dtmf_payload_type: Option<u8>,
    pub remote_address: String,
    pub remote_port: u16,
    /// The answer's direction (ours).
    pub direction: Direction,
    pub ptime: Option<u32>,
}

const DTMF: &str = "telephone-event";

fn session(local: &Local) -> Sdp {
    let conn = Connection::internet(&local.address);
    Sdp {
        origin: Origin {
            username: "-".into(),
            session_id: local.session_id.to_string(),
            session_version: local.session_version.to_string(),
            nettype: conn.nettype.clone(),
            addrtype: conn.addrtype.clone(),
            address: conn.address.clone(),
        },
        session_name: "-".into(),
        connection: Some(conn),
        times: vec![(0, 0)],
        attributes: Vec::new(),
        extra: Vec::new(),
        media: Vec::new(),
    }
}

fn audio_media(port: u16, maps: &[RtpMap], dtmf_fmtp: Option<(u8, &str)>) -> Media {
    let mut attributes: Vec<Attribute> = maps
        .iter()
        .map(|m| Attribute::new("rtpmap", Some(m.to_string())))
        .collect();
    if let Some((pt, f)) = dtmf_fmtp {
        attributes.push(Attribute::new("fmtp", Some(format!("{pt} {f}"))));
    }
    Media {
        kind: "audio".into(),
        port,
        port_count: None,
        proto: "RTP/AVP".into(),
        formats: maps.iter().map(|m| m.payload_type.to_string()).collect(),
        connection: None,
        attributes,
        extra: Vec::new(),
    }
}

/// An audio offer of `local.codecs` (static payload types) and telephone-event as 101.
pub fn offer(local: &Local) -> std::result::Result<Sdp, NotAcceptable> {
    let mut maps = Vec::new();
    for name in &local.codecs {
        let pt = static_payload_type(name)
            .ok_or_else(|| NotAcceptable(format!("codec {name:?} has no static payload type")))?;
        maps.push(RtpMap {
            payload_type: pt,
            encoding: name.to_ascii_uppercase(),
            clock_rate: 8000,
            channels: None,
        });
    }
    if maps.is_empty() {
        return Err(NotAcceptable("no codecs to offer".into()));
    }
    let dtmf = local.dtmf.then_some((101, "0-16"));
    if dtmf.is_some() {
        maps.push(RtpMap {
            payload_type: 101,
            encoding: DTMF.into(),
            clock_rate: 8000,
            channels: None,
        });
    }
    let mut sdp = session(local);
    let mut media = audio_media(local.port, &maps, dtmf);
    media
        .attributes
        .push(Attribute::new("ptime", Some("20".into())));
    media.attributes.push(Attribute::new("sendrecv", None));
    sdp.media.push(media);
    Ok(sdp)
}

/// Answers an offer (RFC 3264 section 6): the first offered codec we support, in the
/// offerer's order; telephone-event at the same clock rate when both sides want it; every
/// other stream refused with port 0. Nothing in common is [`NotAcceptable`] (488).
pub fn answer(offer: &Sdp, local: &Local) -> std::result::Result<Negotiated, NotAcceptable> {
    let index = offer
        .media
        .iter()
        .position(|m| m.kind == "audio" && m.port != 0 && is_rtp(&m.proto))
        .ok_or_else(|| NotAcceptable("no audio stream offered".into()))?;
    let m = &offer.media[index];
    let offered: Vec<RtpMap> = m
        .payload_types()
        .into_iter()
        .filter_map(|pt| m.rtpmap(pt))
        .collect();
    let chosen = offered
        .iter()
        .find(|map| {
            !map.encoding.eq_ignore_ascii_case(DTMF)
                && local
                    .codecs
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&map.encoding))
        })
        .ok_or_else(|| {
            let names: Vec<&str> = offered.iter().map(|m| m.encoding.as_str()).collect();
            NotAcceptable(format!(
                "no common codec: offered {}; supported {}",
                names.join(" "),
                local.codecs.join(" ")
            ))
        })?;
    let remote_address = offer
        .address_of(m)
        .ok_or_else(|| NotAcceptable("no connection address for the audio stream".into()))?
        .to_owned();
    let dtmf = offered
        .iter()
        .find(|map| {
            local.dtmf
                && map.encoding.eq_ignore_ascii_case(DTMF)
                && map.clock_rate == chosen.clock_rate
        })
        .cloned();
    let direction = m.direction(offer).answer();
    let ptime = m.ptime();
    let mut maps = vec![chosen.clone()];
    let dtmf_fmtp = dtmf
        .as_ref()
        .map(|d| (d.payload_type, m.fmtp(d.payload_type).unwrap_or("0-15")));
    if let Some(d) = &dtmf {
        maps.push(d.clone());
    }
    let mut answer = session(local);
    for (i, om) in offer.media.iter().enumerate() {
        if i == index {
            let mut media = audio_media(local.port, &maps, dtmf_fmtp);
            if let Some(p) = ptime {
                media
                    .attributes
                    .push(Attribute::new("ptime", Some(p.to_string())));
            }
            media
                .attributes
                .push(Attribute::new(direction.as_str(), None));
            answer.media.push(media);
        } else {
            answer.media.push(Media {
                kind: om.kind.clone(),
                port: 0,
                port_count: None,
                proto: om.proto.clone(),
                formats: om.formats.iter().take(1).cloned().collect(),
                connection: None,
                attributes: Vec::new(),
                extra: Vec::new(),
            });
        }
    }
    Ok(Negotiated {
        answer,
        payload_type: chosen.payload_type,
        codec: chosen.encoding.clone(),
        clock_rate: chosen.clock_rate,
        dtmf_payload_type: dtmf.map(|d| d.payload_type),
        remote_address,
        remote_port: m.port,
        direction,
        ptime,
    })
}
