//! SIP messages (RFC 3261), URIs and SDP (RFC 8866): parse, inspect, build, serialize.
//!
//! The parser is the server's first contact with untrusted bytes, so it lives here in Rust,
//! fuzzed: it never panics, bounds what it reads ([`Limits`]), and every rejection is a
//! [`ParseError`] naming the bad line or header, short enough to be a 400 reason phrase.
//!
//! Parsing borrows from the input buffer (header values and the body are `Cow` slices; only
//! folded header values are copied), so a datagram is parsed without copying it. Typed header
//! views ([`Via`], [`NameAddr`], [`CSeq`], [`Challenge`]) are parsed on demand, also borrowing.
//! [`Message::into_owned`] detaches a message from its buffer.

mod build;
mod error;
mod headers;
mod message;
mod params;
pub mod sdp;
mod text;
mod typed;
mod uri;

pub use build::reason_phrase;
pub use error::ParseError;
pub use headers::canonical_name;
pub use message::{Framed, Header, Limits, Message, StartLine};
pub use params::Params;
pub use typed::{CSeq, Challenge, Contact, NameAddr, Via};
pub use uri::{Scheme, Uri};
