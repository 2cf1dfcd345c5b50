//! Properties of the SIP parser: whatever the builder and the serializers write parses back
//! to the same value (messages, URIs, typed headers, SDP), and no input, random or a mangled
//! corpus message, makes the parsers panic or accept a message whose typed views then fail.
//! PROPTEST_CASES=N runs more cases.

use std::borrow::Cow;

use acdcore::sip::sdp::{Attribute, Connection, Media, Origin, Sdp};
use acdcore::sip::{CSeq, Limits, Message, NameAddr, Params, Scheme, Uri, Via};
use proptest::prelude::*;

/// Owned parts of a URI; `Uri` borrows, so each test builds it from these.
#[derive(Debug, Clone)]
struct UriParts {
    scheme: Scheme,
    user: Option<String>,
    password: Option<String>,
    host: String,
    port: Option<u16>,
    params: Vec<(String, Option<String>)>,
    headers: Vec<(String, String)>,
}

impl UriParts {
    fn uri(&self) -> Uri<'_> {
        Uri {
            scheme: self.scheme,
            user: self.user.as_deref(),
            password: self.password.as_deref(),
            host: &self.host,
            port: self.port,
            params: params(&self.params),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
        }
    }
}

fn params(p: &[(String, Option<String>)]) -> Params<'_> {
    Params(p.iter().map(|(n, v)| (n.as_str(), v.as_deref())).collect())
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c)| format!("10.{a}.{b}.{c}")),
        any::<u16>().prop_map(|n| format!("[2001:db8::{n:x}]")),
    ]
}

fn param_list() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec(
        ("[a-z][a-z0-9-]{0,8}", prop::option::of("[a-zA-Z0-9.]{1,8}")),
        0..4,
    )
}

fn uri_parts() -> impl Strategy<Value = UriParts> {
    let sip = (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        prop::option::of((
            "[a-z0-9+.!~*-]{1,8}(%[0-9A-F]{2})?",
            prop::option::of("[a-z0-9&=+$,]{0,8}"),
        )),
        host(),
        prop::option::of(any::<u16>()),
        param_list(),
        prop::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,7}", "([a-z0-9:/?]|%2C){0,8}"),
            0..3,
        ),
    )
        .prop_map(|(scheme, userinfo, host, port, params, headers)| {
            let (user, password) = match userinfo {
                Some((u, p)) => (Some(u), p),
                None => (None, None),
            };
            UriParts {
                scheme,
                user,
                password,
                host,
                port,
                params,
                headers,
            }
        });
    let tel = ("\\+?[0-9][0-9.()-]{0,12}", param_list()).prop_map(|(number, params)| UriParts {
        scheme: Scheme::Tel,
        user: Some(number),
        password: None,
        host: String::new(),
        port: None,
        params,
        headers: Vec::new(),
    });
    prop_oneof![4 => sip, 1 => tel]
}

type ParamList = Vec<(String, Option<String>)>;
/// Display name, URI, header parameters.
type AddrParts = (Option<String>, UriParts, ParamList);

/// A SIP URI as a name-addr holds it (headers in a URI only appear inside `<...>`).
fn addr_parts() -> impl Strategy<Value = AddrParts> {
    (
        prop::option::of("[A-Za-z0-9 ,;:<>@.-]{0,16}"),
        uri_parts(),
        param_list(),
    )
}

#[derive(Debug, Clone)]
struct ViaParts {
    transport: String,
    host: String,
    port: Option<u16>,
    branch: String,
    rport: Option<Option<u16>>,
    received: Option<String>,
}

fn via_parts() -> impl Strategy<Value = ViaParts> {
    (
        prop_oneof![Just("UDP"), Just("TCP"), Just("TLS"), Just("WS")],
        host(),
        prop::option::of(any::<u16>()),
        "[a-zA-Z0-9.!%*_+`'~-]{1,20}",
        prop::option::of(prop::option::of(any::<u16>())),
        prop::option::of(host()),
    )
        .prop_map(|(t, host, port, b, rport, received)| ViaParts {
            transport: t.into(),
            host,
            port,
            branch: format!("z9hG4bK{b}"),
            rport,
            received,
        })
}

impl ViaParts {
    fn write(&self) -> String {
        let rport = self.rport.map(|r| r.map(|p| p.to_string()));
        let mut p: Vec<(&str, Option<&str>)> = vec![("branch", Some(&self.branch))];
        if let Some(r) = &rport {
            p.push(("rport", r.as_deref()));
        }
        if let Some(r) = &self.received {
            p.push(("received", Some(r)));
        }
        Via {
            protocol: "SIP",
            version: "2.0",
            transport: &self.transport,
            host: &self.host,
            port: self.port,
            params: Params(p),
        }
        .to_string()
    }
}

#[derive(Debug, Clone)]
struct MessageParts {
    request: Option<(String, UriParts)>,
    status: (u16, String),
    vias: Vec<ViaParts>,
    from: AddrParts,
    to: AddrParts,
    call_id: String,
    cseq: u32,
    max_forwards: Option<u8>,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
}

fn message_parts() -> impl Strategy<Value = MessageParts> {
    (
        prop::option::of(("[A-Z]{3,10}", uri_parts())),
        (100u16..700, "[A-Za-z ]{0,20}"),
        prop::collection::vec(via_parts(), 1..4),
        addr_parts(),
        addr_parts(),
        "[a-zA-Z0-9.!%*_+`'~@-]{1,30}",
        0u32..(1 << 31),
        prop::option::of(any::<u8>()),
        prop::collection::vec(("X-[A-Za-z0-9-]{1,12}", "[!-~]([ -~]{0,30}[!-~])?"), 0..6),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(
            |(request, status, vias, from, to, call_id, cseq, max_forwards, extra, body)| {
                MessageParts {
                    request,
                    status,
                    vias,
                    from,
                    to,
                    call_id,
                    cseq,
                    max_forwards,
                    extra,
                    body,
                }
            },
        )
}

fn name_addr((display, uri, p): &AddrParts) -> String {
    NameAddr {
        display: display.as_deref(),
        uri: uri.uri(),
        params: params(p),
    }
    .to_string()
}

impl MessageParts {
    fn build(&self) -> Message<'static> {
        let mut m = match &self.request {
            Some((method, uri)) => Message::request(method.clone(), uri.uri().to_string()).unwrap(),
            None => {
                Message::response(self.status.0, Some(Cow::Owned(self.status.1.clone()))).unwrap()
            }
        };
        let method = self.request.as_ref().map_or("INVITE", |(m, _)| m.as_str());
        for v in &self.vias {
            m.push_header("Via", v.write()).unwrap();
        }
        m.push_header("From", name_addr(&self.from)).unwrap();
        m.push_header("To", name_addr(&self.to)).unwrap();
        m.push_header("Call-ID", self.call_id.clone()).unwrap();
        m.push_header(
            "CSeq",
            CSeq {
                number: self.cseq,
                method,
            }
            .to_string(),
        )
        .unwrap();
        if let Some(n) = self.max_forwards {
            m.push_header("Max-Forwards", n.to_string()).unwrap();
        }
        for (n, v) in &self.extra {
            m.push_header(n.clone(), v.clone()).unwrap();
        }
        m.set_body(Some("application/octet-stream"), self.body.clone())
            .unwrap();
        m
    }
}

fn sdp() -> impl Strategy<Value = Sdp> {
    let media = (
        prop_oneof![Just("audio"), Just("video")],
        any::<u16>(),
        prop::collection::vec(0u8..128, 1..5),
        prop::option::of(host()),
        prop::collection::vec(
            (
                "[a-z][a-z-]{0,10}",
                prop::option::of("[a-zA-Z0-9 /.-]{0,12}"),
            ),
            0..4,
        ),
    )
        .prop_map(|(kind, port, pts, conn, attrs)| Media {
            kind: kind.into(),
            port,
            port_count: None,
            proto: "RTP/AVP".into(),
            formats: pts.iter().map(u8::to_string).collect(),
            connection: conn.map(|c| Connection::internet(&c)),
            attributes: attrs
                .into_iter()
                .filter(|(n, _)| n != "rtpmap" && n != "ptime")
                .map(|(n, v)| Attribute::new(&n, v))
                .collect(),
            extra: Vec::new(),
        });
    (
        any::<u32>(),
        host(),
        prop::collection::vec(media, 0..3),
        "[a-zA-Z0-9 -]{1,12}",
    )
        .prop_map(|(id, addr, media, name)| {
            let c = Connection::internet(&addr);
            Sdp {
                origin: Origin {
                    username: "-".into(),
                    session_id: id.to_string(),
                    session_version: "1".into(),
                    nettype: c.nettype.clone(),
                    addrtype: c.addrtype.clone(),
                    address: c.address.clone(),
                },
                session_name: name,
                connection: Some(c),
                times: vec![(0, 0)],
                attributes: vec![Attribute::new("sendrecv", None)],
                extra: Vec::new(),
                media,
            }
        })
}

fn corpus_messages() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip_corpus");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    v
}

/// Everything a server would read from a message; none of it may panic.
fn exercise(data: &[u8]) {
    let limits = Limits::default();
    let _ = Message::parse_stream(data, &limits);
    let small = Limits {
        max_message: 300,
        max_headers: 8,
        max_line: 64,
    };
    let _ = Message::parse_with(data, &small);
    let _ = Sdp::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Uri::parse(s);
        let _ = Via::parse(s);
        let _ = NameAddr::parse(s, "To");
        let _ = CSeq::parse(s);
    }
    if let Ok(m) = Message::parse(data) {
        // Parse validated these: they must hold.
        m.from().unwrap();
        m.to().unwrap();
        m.cseq().unwrap();
        m.call_id().unwrap();
        assert!(!m.vias().unwrap().is_empty());
        let _ = m.request_uri();
        let _ = m.contacts();
        let _ = m.routes();
        let _ = m.record_routes();
        let _ = m.expires();
        let _ = m.auth("Authorization");
        let _ = m.auth("WWW-Authenticate");
        let _ = Sdp::parse(&m.body);
        let _ = m.reply(200, None, Some("t1"));
        let _ = m.cancel();
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).expect("a parsed message serializes to one that parses");
        assert_eq!(again, m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn uri_round_trips(parts in uri_parts()) {
        let uri = parts.uri();
        let text = uri.to_string();
        prop_assert_eq!(Uri::parse(&text).unwrap(), uri);
    }

    #[test]
    fn via_round_trips(parts in via_parts()) {
        let text = parts.write();
        let via = Via::parse(&text).unwrap();
        prop_assert_eq!(via.branch(), Some(parts.branch.as_str()));
        prop_assert_eq!(via.rport(), parts.rport);
        prop_assert_eq!(via.received(), parts.received.as_deref());
        prop_assert_eq!((via.host, via.port), (parts.host.as_str(), parts.port));
        prop_assert_eq!(via.to_string(), text);
    }

    #[test]
    fn message_round_trips(parts in message_parts()) {
        let m = parts.build();
        let bytes = m.to_bytes();
        let parsed = Message::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &m);
        prop_assert_eq!(parsed.cseq().unwrap().number, parts.cseq);
        prop_assert_eq!(parsed.vias().unwrap().len(), parts.vias.len());
        prop_assert_eq!(parsed.from().unwrap().uri, parts.from.1.uri());
        prop_assert_eq!(parsed.to().unwrap().display, parts.to.0.as_deref());
        prop_assert_eq!(&parsed.body[..], &parts.body[..]);
        // The same bytes arrive on a stream in two pieces: one message, every byte used.
        let cut = bytes.len() / 2;
        prop_assert_eq!(Message::parse_stream(&bytes[..cut], &Limits::default()).unwrap(), acdcore::sip::Framed::Incomplete);
        match Message::parse_stream(&bytes, &Limits::default()).unwrap() {
            acdcore::sip::Framed::Complete { message, consumed } => {
                prop_assert_eq!(consumed, bytes.len());
                prop_assert_eq!(message, m);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn reply_keeps_the_transaction(parts in message_parts(), tag in "[a-z0-9]{1,10}", status in 100u16..700) {
        // Responses are made requests (rejecting them would exhaust proptest's reject limit).
        let mut parts = parts;
        if parts.request.is_none() {
            parts.request = Some(("OPTIONS".into(), parts.to.1.clone()));
        }
        let req = parts.build();
        let r = req.reply(status, None, Some(&tag)).unwrap();
        let parsed = Message::parse(&r.to_bytes()).unwrap().into_owned();
        prop_assert_eq!(parsed.status(), Some(status));
        prop_assert_eq!(parsed.values("Via").collect::<Vec<_>>(), req.values("Via").collect::<Vec<_>>());
        prop_assert_eq!(parsed.cseq().unwrap(), req.cseq().unwrap());
        prop_assert_eq!(parsed.call_id().unwrap(), req.call_id().unwrap());
        prop_assert_eq!(parsed.from().unwrap(), req.from().unwrap());
        let req_tag = req.to().unwrap().tag();
        let want = match req_tag {
            Some(t) => Some(t),
            None if status > 100 => Some(tag.as_str()),
            None => None,
        };
        prop_assert_eq!(parsed.to().unwrap().tag(), want);
        prop_assert_eq!(parsed.to().unwrap().uri, req.to().unwrap().uri);
    }

    #[test]
    fn sdp_round_trips(s in sdp()) {
        let bytes = s.to_bytes();
        prop_assert_eq!(Sdp::parse(&bytes).unwrap(), s);
    }

    #[test]
    fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&data);
    }

    #[test]
    fn sip_shaped_garbage_never_panics(data in "(INVITE|SIP/2.0|[A-Za-z]{1,5})[ -~\\r\\n\\t]{0,300}") {
        exercise(data.as_bytes());
    }

    #[test]
    fn mangled_corpus_never_panics(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let corpus = corpus_messages();
        let mut data = corpus[pick.index(corpus.len())].clone();
        for (at, byte, op) in edits {
            if data.is_empty() {
                break;
            }
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => { data.remove(i); }
                2 => data.insert(i, byte),
                _ => data.truncate(i),
            }
        }
        exercise(&data);
    }
}
