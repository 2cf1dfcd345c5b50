"""RTP media for plain SIP calls: `RtpSession` (send paced at 20 ms, receive counters, DTMF,
play and record WAV), `bridge` between two legs, and `CallMedia` (the UAS's media hook).
Packets and codecs are handled in Rust (`acdcore._core`); see docs/sip.md, "RTP media"."""

from .bridge import Bridge, bridge
from .calls import CallMedia
from .session import RtpSession, RtpStats, bind_rtp_socket, open_rtp
from .wav import load_wav, read_stereo, write_wav

__all__ = [
    "Bridge",
    "CallMedia",
    "RtpSession",
    "RtpStats",
    "bind_rtp_socket",
    "bridge",
    "load_wav",
    "open_rtp",
    "read_stereo",
    "write_wav",
]
