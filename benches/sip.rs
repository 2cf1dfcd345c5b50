//! SIP parsing throughput (criterion; `cargo bench -p acdcore --bench sip`).
//!
//! The message is the INVITE SIPp's built-in UAC sends (captured on loopback, in
//! rust/tests/sip_corpus), 506 bytes with a PCMU SDP body. criterion's "thrpt" line is
//! messages/s.
//! 1. `parse`: framing, the header section and the validation every message gets (From, To,
//!    Call-ID, CSeq, Via parsed).
//! 2. `parse+read`: parse, then what a UAS reads to act: the top Via's branch, the Request-URI,
//!    From/To tags, Contact, and the SDP body.
//! 3. `reply`: parse, build the 200 OK with a To tag and serialize it.
//! 4. `parse/compact-folded`: the corpus INVITE with compact names, folding and three Vias.

use std::hint::black_box;

use acdcore::sip::Message;
use acdcore::sip::sdp::Sdp;
use criterion::{Criterion, Throughput};

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip_corpus")
        .join(name);
    std::fs::read(path).expect("corpus message")
}

fn bench(c: &mut Criterion) {
    let invite = corpus("sipp_uac_invite.sip");
    let folded = corpus("compact_folded_invite.sip");
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| {
        b.iter(|| Message::parse(black_box(&invite)).unwrap())
    });
    group.bench_function("parse+read", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&invite)).unwrap();
            let via = m.top_via().unwrap();
            let uri = m.request_uri().unwrap();
            let from = m.from().unwrap();
            let to = m.to().unwrap();
            let contacts = m.contacts().unwrap();
            let sdp = Sdp::parse(&m.body).unwrap();
            black_box((
                via.branch().map(str::len),
                uri.host.len(),
                from.tag().map(str::len),
                to.tag().is_none(),
                contacts.len(),
                sdp.media.len(),
            ))
        })
    });
    group.bench_function("reply", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&invite)).unwrap();
            m.reply(200, None, Some("as7f3e")).unwrap().to_bytes()
        })
    });
    group.bench_function("parse/compact-folded", |b| {
        b.iter(|| Message::parse(black_box(&folded)).unwrap())
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
