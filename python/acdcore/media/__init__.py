"""RTP media for plain SIP calls: `RtpSession` (send paced at 20 ms, receive counters, DTMF,
play and record WAV), `bridge` between two legs, `CallMedia` (the UAS's media hook) and
`AnsweringMachineDetector` (human or machine from the first seconds after an answer).
Packets and codecs are handled in Rust (`acdcore._core`); see docs/sip.md, "RTP media"."""

from acdcore._core import AmdDecision, AnsweringMachineDetector

from .bridge import Bridge, bridge
from .calls import CallMedia
from .session import RtpSession, RtpStats, bind_rtp_socket, open_rtp
from .wav import load_wav, read_stereo, write_wav

__all__ = [
    "AmdDecision",
    "AnsweringMachineDetector",
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
