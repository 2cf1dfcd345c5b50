"""re-INVITE hold/resume and INFO DTMF in calls the UAS answered itself (in-process peer)."""

from __future__ import annotations

import pytest
from acdcore.sip import Sdp, SipMessage, sdp_offer
from acdcore.sip.info_dtmf import info_digit, info_handler
from acdcore.sip.uas import Uas
from test_sip_transport import Peer, request, run, uas_and_peer


def offer(direction: str, version: int) -> bytes:
    sdp = sdp_offer("127.0.0.1", 40100, session_version=version)
    return sdp.replace(b"a=sendrecv", f"a={direction}".encode())


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendonly", "recvonly"), ("inactive", "inactive"), ("recvonly", "sendonly")],
)
def test_hold_then_resume_mirrors_the_direction(offered: str, answered: str) -> None:
    async def main() -> None:
        uas = Uas()
        digits: list[str] = []
        uas.handlers["INFO"] = info_handler(uas.dialogs, lambda key, d: digits.append(d))
        async with uas_and_peer(uas) as (server, peer):
            target = server.address
            peer.send(
                request(peer.port, "INVITE", target, "h-1", body=offer("sendrecv", 1)), target
            )
            ok = await final(peer)
            tag = ok.to.tag
            peer.send(request(peer.port, "ACK", target, "h-1", to_tag=tag), target)
            versions = [int(Sdp.parse(ok.body).to_bytes().split()[3])]  # o=- ID VERSION
            for cseq, (direction, want) in enumerate(
                [(offered, answered), ("sendrecv", "sendrecv")], start=2
            ):
                body = offer(direction, cseq)
                reinvite = request(
                    peer.port, "INVITE", target, "h-1", cseq=cseq, to_tag=tag, body=body
                )
                peer.send(reinvite, target)
                answer = await final(peer)
                assert answer.status == 200
                assert Sdp.parse(answer.body).media[0].direction == want
                versions.append(int(Sdp.parse(answer.body).to_bytes().split()[3]))
                peer.send(request(peer.port, "ACK", target, "h-1", cseq=cseq, to_tag=tag), target)
                [dialog] = uas.dialogs.values()
                assert dialog.direction == want
            assert versions == [0, 1, 2]  # RFC 3264 8: each changed answer a new version
            # An old CSeq is refused; an offer with no common codec leaves the session as is.
            stale = request(peer.port, "INVITE", target, "h-1", cseq=2, to_tag=tag, body=body)
            peer.send(stale, target)
            assert (await final(peer)).status == 500
            g729 = body.replace(b"RTP/AVP 0 8 101", b"RTP/AVP 18")
            peer.send(
                request(peer.port, "INVITE", target, "h-1", cseq=9, to_tag=tag, body=g729), target
            )
            assert (await final(peer)).status == 488
            assert uas.dialogs[dialog.key].direction == "sendrecv"
            # INFO digits in order; an unknown dialog is 481.
            for cseq, digit in enumerate("19#", start=10):
                info = request(peer.port, "INFO", target, "h-1", cseq=cseq, to_tag=tag)
                info = SipMessage.request(
                    "INFO", info.request_uri or "", info.headers, digit.encode(), "application/dtmf"
                )
                peer.send(info, target)
                assert (await final(peer)).status == 200
            assert digits == ["1", "9", "#"]
            lost = request(peer.port, "INFO", target, "h-1", cseq=20, to_tag="nosuch")
            peer.send(lost, target)
            assert (await final(peer)).status == 481

    run(main)


async def final(peer: Peer) -> SipMessage:
    while True:
        message = await peer.next()
        if (message.status or 0) >= 200:
            return message


def test_info_digit_formats() -> None:
    def info(body: bytes, kind: str | None) -> SipMessage:
        headers = [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx"),
            ("From", "<sip:a@h>;tag=1"),
            ("To", "<sip:b@h>;tag=2"),
            ("Call-ID", "c"),
            ("CSeq", "2 INFO"),
        ]
        return SipMessage.request("INFO", "sip:b@h", headers, body, kind)

    assert info_digit(info(b"Signal= 7 \r\nDuration=250\r\n", "application/dtmf-relay")) == "7"
    assert info_digit(info(b"d\r\n", "application/dtmf")) == "D"
    with pytest.raises(ValueError, match="bad DTMF digit 'X'"):
        info_digit(info(b"X", "application/dtmf"))
    with pytest.raises(ValueError, match="without a Signal line"):
        info_digit(info(b"Duration=1", "application/dtmf-relay"))
    with pytest.raises(ValueError, match="type 'none'"):
        info_digit(info(b"", None))
