//! Datagram and stream parsing of whole messages, then everything a server reads from one that
//! parses: typed headers, the reply it would build, and re-serialization (which must parse to
//! the same message).
#![no_main]

use acdcore::sip::sdp::Sdp;
use acdcore::sip::{Framed, Limits, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(Framed::Complete { consumed, .. }) = Message::parse_stream(data, &limits) {
        assert!(consumed <= data.len());
    }
    let Ok(m) = Message::parse(data) else {
        return;
    };
    m.from().expect("validated From");
    m.to().expect("validated To");
    m.cseq().expect("validated CSeq");
    m.top_via().expect("validated Via");
    let _ = m.request_uri();
    let _ = m.contacts();
    let _ = m.routes();
    let _ = m.record_routes();
    let _ = m.expires();
    let _ = m.auth("Authorization");
    let _ = m.auth("Proxy-Authenticate");
    let _ = m.values("Allow").count();
    let _ = Sdp::parse(&m.body);
    if let Ok(r) = m.reply(180, None, Some("fuzz")) {
        let bytes = r.to_bytes();
        Message::parse(&bytes).expect("a reply to a parsed request parses");
    }
    let _ = m.cancel();
    let bytes = m.to_bytes();
    let again = Message::parse(&bytes).expect("a parsed message re-serializes to one that parses");
    assert_eq!(again, m);
});
