//! URIs and the typed header values built on them: whatever parses serializes to text that
//! parses to the same value.
#![no_main]

use acdcore::sip::{CSeq, Contact, NameAddr, Uri, Via};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(s) {
        let text = u.to_string();
        assert_eq!(Uri::parse(&text).expect("URI display parses"), u);
    }
    if let Ok(a) = NameAddr::parse(s, "To") {
        let text = a.to_string();
        assert_eq!(NameAddr::parse(&text, "To").expect("name-addr display parses"), a);
    }
    if let Ok(v) = Via::parse(s) {
        let text = v.to_string();
        assert_eq!(Via::parse(&text).expect("Via display parses"), v);
    }
    let _ = Contact::parse(s);
    let _ = CSeq::parse(s);
});
