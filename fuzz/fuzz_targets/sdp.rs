//! SDP parsing, serialization back to the same description, and answering it as an offer.
#![no_main]

use acdcore::sip::sdp::{self, Local, Sdp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = Sdp::parse(data) else {
        return;
    };
    let bytes = s.to_bytes();
    assert_eq!(Sdp::parse(&bytes).expect("SDP display parses"), s);
    let local = Local {
        address: "127.0.0.1".into(),
        port: 4000,
        session_id: 1,
        session_version: 1,
        codecs: vec!["PCMU".into(), "PCMA".into()],
        dtmf: true,
    };
    if let Ok(n) = sdp::answer(&s, &local) {
        let answer = n.answer.to_bytes();
        Sdp::parse(&answer).expect("an answer parses");
    }
});
