"""`bridge(a, b)`: relays RTP both ways between two sessions (caller and agent legs). Audio is
transcoded when the legs negotiated different G.711 laws; telephone-event payloads are
renumbered to the other leg's payload type (or dropped when it has none)."""

from __future__ import annotations

from collections.abc import Callable

from acdcore._core import RtpPacket, alaw_to_ulaw, ulaw_to_alaw

from .session import RtpSession

_TRANSCODE: dict[tuple[str, str], Callable[[bytes], bytes]] = {
    ("PCMU", "PCMA"): ulaw_to_alaw,
    ("PCMA", "PCMU"): alaw_to_ulaw,
}


class Bridge:
    def __init__(self, a: RtpSession, b: RtpSession) -> None:
        if a is b:
            raise ValueError("cannot bridge a session to itself")
        self.a, self.b = a, b
        self.relayed = 0
        a.on_packet = self._relay_to(b)
        b.on_packet = self._relay_to(a)

    def _relay_to(self, dst: RtpSession) -> Callable[[RtpSession, RtpPacket], None]:
        def relay(src: RtpSession, p: RtpPacket) -> None:
            if p.payload_type == src.payload_type:
                convert = _TRANSCODE.get((src.codec, dst.codec))
                payload = p.payload if convert is None else convert(p.payload)
                dst.forward(payload, dst.payload_type, p.marker, p.timestamp, p.ssrc)
            elif p.payload_type == src.dtmf_payload_type and dst.dtmf_payload_type is not None:
                dst.forward(p.payload, dst.dtmf_payload_type, p.marker, p.timestamp, p.ssrc)
            else:
                return
            self.relayed += 1

        return relay

    def close(self) -> None:
        """Stops relaying; the sessions stay open."""
        self.a.on_packet = None
        self.b.on_packet = None


def bridge(a: RtpSession, b: RtpSession) -> Bridge:
    return Bridge(a, b)
