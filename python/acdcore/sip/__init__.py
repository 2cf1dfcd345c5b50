"""SIP messages, URIs and SDP, parsed and built in Rust (`acdcore._core`).

`SipMessage.parse(datagram)` validates framing and the headers every message carries and
raises `SipParseError` (a `ValueError`) whose text names the bad line or header and whose
`status` is the response it deserves (400, 416, 505, 513). `SipMessage.parse_stream(buffer)`
frames TCP streams. `sdp_answer(offer, ...)` picks a common codec or raises
`NotAcceptableError` (488). The asyncio side lives beside this: `transport` (UDP and TCP),
`transaction` (RFC 3261 timers and matching) and `uas` (a minimal UAS); see docs/sip.md.
"""

from acdcore._core import (
    Challenge,
    NameAddr,
    NotAcceptableError,
    Sdp,
    SdpAnswer,
    SdpMedia,
    SipMessage,
    SipParseError,
    Uri,
    Via,
    sdp_answer,
    sdp_offer,
)

__all__ = [
    "Challenge",
    "NameAddr",
    "NotAcceptableError",
    "Sdp",
    "SdpAnswer",
    "SdpMedia",
    "SipMessage",
    "SipParseError",
    "Uri",
    "Via",
    "sdp_answer",
    "sdp_offer",
]
