//! Plain SIP audio media: RTP packets (RFC 3550), G.711 (ITU-T G.711 mu-law and A-law),
//! telephone-event DTMF payloads (RFC 4733), a Goertzel tone meter and answering-machine
//! detection from the first seconds of an answered call's audio. Pure functions over
//! bytes and samples; sockets and clocks stay with the caller. `pump` paces many outgoing
//! streams on one frame clock.

pub mod amd;
pub mod g711;
pub mod goertzel;
pub mod pump;
pub mod rtp;
pub mod telephone_event;

pub use g711::{alaw_decode, alaw_encode, alaw_to_ulaw, ulaw_decode, ulaw_encode, ulaw_to_alaw};
pub use goertzel::tone_amplitude;
pub use rtp::{RtpHeader, RtpPacket};
pub use telephone_event::TelephoneEvent;
