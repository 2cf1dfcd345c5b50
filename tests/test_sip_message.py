"""SIP message, URI and SDP parsing and building through Python (acdcore.sip).

The corpus in rust/tests/sip_corpus (SIPp captures, torture-style cases, malformed messages)
parsed from Python; typed views; building requests and replies that SIPp-shaped peers expect;
parse errors as SipParseError (a ValueError) naming the fault with the status to answer;
stream framing; SDP offer/answer with the 488 case; and garbage that must only ever raise
SipParseError.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from acdcore.sip import (
    NotAcceptableError,
    Sdp,
    SipMessage,
    SipParseError,
    Uri,
    sdp_answer,
    sdp_offer,
)

CORPUS = Path(__file__).resolve().parent.parent / "rust" / "tests" / "sip_corpus"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_sipp_invite_typed_views() -> None:
    m = SipMessage.parse(load("sipp_uac_invite.sip"))
    assert m.is_request and m.method == "INVITE"
    assert m.request_uri == "sip:service@127.0.0.1:5070"
    uri = m.uri()
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("sip", "service", "127.0.0.1", 5070)
    (via,) = m.vias()
    assert (via.transport, via.host, via.port) == ("UDP", "127.0.0.1", 5071)
    assert via.branch is not None and via.branch.startswith("z9hG4bK")
    assert m.from_.display == "sipp" and m.from_.tag is not None
    assert m.to.tag is None and m.to.uri.user == "service"
    assert m.cseq == (1, "INVITE")
    assert m.max_forwards == 70
    assert m.content_type == "application/sdp"
    assert m.content_length == len(m.body) == 129
    assert m.header("subject") == "Performance Test"
    sdp = Sdp.parse(m.body)
    (audio,) = sdp.media
    assert audio.payload_types == [0]
    assert audio.rtpmap(0) == ("PCMU", 8000)
    assert audio.address == "127.0.0.1" and audio.direction == "sendrecv"


def test_reply_matches_what_sipp_uas_sent() -> None:
    invite = SipMessage.parse(load("sipp_uac_invite.sip"))
    theirs = SipMessage.parse(load("sipp_uas_200_invite.sip"))
    tag = theirs.to.tag
    assert tag is not None
    ours = invite.reply(200, to_tag=tag, headers=[("Contact", "<sip:127.0.0.1:5070>")])
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        assert ours.header(name) == theirs.header(name), name
    again = SipMessage.parse(ours.to_bytes())
    assert again.status == 200 and again.reason == "OK"
    assert again.to.tag == tag
    trying = invite.reply(100, to_tag="ignored")
    assert trying.to.tag is None, "100 Trying carries no To tag"


def test_compact_folded_and_multi_value_headers() -> None:
    m = SipMessage.parse(load("compact_folded_invite.sip"))
    vias = m.vias()
    assert [v.transport for v in vias] == ["UDP", "TCP", "UDP"]
    assert vias[0].received == "192.0.2.101"
    assert (
        str(vias[0])
        == vias[0].text
        == ("SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bKnashds8;received=192.0.2.101")
    )
    assert m.from_.text == '"Alice \\"Al\\" Liddell" <sip:alice@example.com>;tag=1928301774'
    assert m.headers[0][0] == "Via"
    assert m.call_id == "a84b4c76e66710@pc33.example.com"
    assert m.values("k") == ["100rel", "timer", "replaces"]
    assert m.header("Subject") == "Billing question about"
    assert m.from_.display == 'Alice \\"Al\\" Liddell'
    (contact,) = m.contacts()
    assert contact.expires == 3600 and contact.uri.params == [("transport", "udp")]


def test_register_contacts_and_digest() -> None:
    star = SipMessage.parse(load("register_star.sip"))
    assert star.contact_star and star.contacts() == [] and star.expires == 0
    reg = SipMessage.parse(load("register_digest.sip"))
    assert not reg.contact_star
    assert [c.expires for c in reg.contacts()] == [60, 120, None]
    (cred,) = reg.auth("Authorization")
    assert cred.scheme == "Digest"
    assert cred.param("username") == "agent7"
    assert cred.param("response") == "6629fae49393a05397450978507c4ef1"
    assert reg.values("Allow") == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO"]
    resp = SipMessage.parse(load("response_401.sip"))
    challenges = resp.auth("www-authenticate")
    assert [c.param("algorithm") for c in challenges] == ["SHA-256", "MD5"]
    assert challenges[0].param("qop") == "auth,auth-int"
    with pytest.raises(ValueError, match='"Via" is not an auth header'):
        resp.auth("Via")


def test_routes_ipv6_tel() -> None:
    m = SipMessage.parse(load("proxy_routes_info.sip"))
    assert [r.uri.host for r in m.routes()] == [
        "edge.example.com",
        "core.example.com",
        "[2001:db8::1]",
    ]
    assert len(m.record_routes()) == 3
    assert m.vias()[0].ttl == 16
    o = SipMessage.parse(load("escaped_uris_options.sip"))
    via = o.vias()[0]
    assert via.has_rport and via.rport is None
    assert o.from_.uri.scheme == "tel" and o.from_.uri.user == "+1-201-555-0123"
    assert o.uri().headers == [("Subject", "status%20check"), ("Priority", "urgent")]


@pytest.mark.parametrize(
    ("name", "message", "status"),
    [
        ("bad_content_length_too_big.sip", "Content-Length is 500 but 5 body bytes arrived", 400),
        ("bad_missing_call_id.sip", "bad Call-ID header: missing", 400),
        ("bad_version.sip", 'unsupported SIP version "SIP/7.0"', 505),
        ("bad_via_port.sip", 'bad Via header: bad URI: bad port "70000"', 400),
        ("bad_not_utf8.sip", "line 4: not UTF-8 at byte 11", 400),
    ],
)
def test_parse_errors_name_the_fault(name: str, message: str, status: int) -> None:
    with pytest.raises(SipParseError) as info:
        SipMessage.parse(load(name))
    assert str(info.value) == message
    assert info.value.status == status
    assert isinstance(info.value, ValueError)


def test_every_bad_corpus_message_is_refused_and_good_ones_round_trip() -> None:
    files = sorted(CORPUS.glob("*.sip"))
    assert len(files) >= 30
    for path in files:
        data = path.read_bytes()
        if path.name.startswith("bad_") and path.name not in ("bad_scheme.sip", "bad_sdp_body.sip"):
            with pytest.raises(SipParseError):
                SipMessage.parse(data)
        else:
            m = SipMessage.parse(data)
            again = SipMessage.parse(m.to_bytes())
            assert again.to_bytes() == m.to_bytes(), path.name
    scheme = SipMessage.parse(load("bad_scheme.sip"))
    with pytest.raises(SipParseError, match='unsupported URI scheme "http"') as info:
        scheme.uri()
    assert info.value.status == 416


def test_message_size_limit() -> None:
    data = load("sipp_uac_invite.sip")
    with pytest.raises(SipParseError, match="exceeds the limit of 200") as info:
        SipMessage.parse(data, max_message=200)
    assert info.value.status == 513


def test_stream_framing() -> None:
    a, b = load("sipp_uac_invite.sip"), load("sipp_uac_bye.sip")
    buf = b"\r\n\r\n" + a + b
    assert SipMessage.parse_stream(b"\r\n\r\n") == (None, 4)
    assert SipMessage.parse_stream(a[:-1]) == (None, 0)
    first, used = SipMessage.parse_stream(buf)
    assert first is not None and first.method == "INVITE" and used == 4 + len(a)
    second, used2 = SipMessage.parse_stream(buf[used:])
    assert second is not None and second.method == "BYE" and used2 == len(b)
    with pytest.raises(SipParseError, match="required on stream transports"):
        SipMessage.parse_stream(load("no_content_length.sip"))


def test_build_request_cancel_ack() -> None:
    invite = SipMessage.request(
        "INVITE",
        "sip:agent7@127.0.0.1:5080",
        headers=[
            ("v", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport"),
            ("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0"),
            ("f", "<sip:acd@127.0.0.1>;tag=a1"),
            ("t", "<sip:agent7@127.0.0.1:5080>"),
            ("i", "call-1@acd"),
            ("CSeq", "7 INVITE"),
            ("Max-Forwards", "70"),
        ],
        body=sdp_offer("127.0.0.1", 40000),
        content_type="application/sdp",
    )
    wire = invite.to_bytes()
    assert wire.startswith(b"INVITE sip:agent7@127.0.0.1:5080 SIP/2.0\r\nVia: ")
    assert b"\r\nContent-Length: %d\r\n\r\n" % len(invite.body) in wire
    parsed = SipMessage.parse(wire)
    assert parsed.call_id == "call-1@acd" and len(parsed.vias()) == 2
    cancel = parsed.cancel()
    assert cancel.method == "CANCEL" and cancel.cseq == (7, "CANCEL")
    assert [v.branch for v in cancel.vias()] == ["z9hG4bK1"]
    busy = parsed.reply(486, to_tag="b9")
    ack = parsed.ack_for(busy)
    assert ack.cseq == (7, "ACK") and ack.to.tag == "b9"
    assert ack.request_uri == parsed.request_uri
    with pytest.raises(SipParseError, match="line break"):
        invite.with_header("X-Evil", "a\r\nVia: injected")
    with pytest.raises(SipParseError, match="is written from the body"):
        invite.with_header("Content-Length", "0")
    with pytest.raises(SipParseError, match="bad method"):
        SipMessage.request("IN VITE", "sip:a@b")
    with pytest.raises(SipParseError, match=r"status 99 is not 100\.\.699"):
        SipMessage.response(99)
    assert SipMessage.response(488).reason == "Not Acceptable Here"
    assert invite.without_header("Max-Forwards").max_forwards is None


def test_uri_parse() -> None:
    u = Uri.parse("sips:alice:pw@[2001:db8::1]:5061;transport=tcp;lr?Subject=x")
    assert (u.scheme, u.user, u.password, u.host, u.port) == (
        "sips",
        "alice",
        "pw",
        "[2001:db8::1]",
        5061,
    )
    assert u.params == [("transport", "tcp"), ("lr", None)]
    assert str(u) == u.text == "sips:alice:pw@[2001:db8::1]:5061;transport=tcp;lr?Subject=x"
    with pytest.raises(SipParseError, match='bad port "65536"'):
        Uri.parse("sip:a@h:65536")


def test_offer_answer_and_488() -> None:
    offer = sdp_offer("127.0.0.1", 6000, codecs=["PCMA", "PCMU"], dtmf=True, session_id=5)
    parsed = Sdp.parse(offer)
    assert parsed.media[0].payload_types == [8, 0, 101]
    assert parsed.media[0].fmtp(101) == "0-16"
    ans = sdp_answer(offer, "127.0.0.2", 7000, codecs=["PCMU", "PCMA"])
    assert (ans.payload_type, ans.codec, ans.clock_rate) == (8, "PCMA", 8000)
    assert ans.dtmf_payload_type == 101
    assert (ans.remote_address, ans.remote_port) == ("127.0.0.1", 6000)
    assert ans.direction == "sendrecv" and ans.ptime == 20
    answer = Sdp.parse(ans.sdp)
    assert answer.address == "127.0.0.2" and answer.media[0].payload_types == [8, 101]
    hold = offer.replace(b"a=sendrecv", b"a=sendonly")
    assert sdp_answer(hold, "127.0.0.2", 7000).direction == "recvonly"
    sipp = SipMessage.parse(load("sipp_uac_invite.sip"))
    with pytest.raises(NotAcceptableError, match="no common codec: offered PCMU; supported PCMA"):
        sdp_answer(sipp.body, "127.0.0.2", 7000, codecs=["PCMA"])
    with pytest.raises(NotAcceptableError, match="no static payload type"):
        sdp_offer("127.0.0.1", 6000, codecs=["opus"])
    with pytest.raises(SipParseError, match="SDP line 6: bad RTP payload type"):
        sdp_answer(SipMessage.parse(load("bad_sdp_body.sip")).body, "127.0.0.2", 7000)


def test_garbage_only_raises_parse_errors() -> None:
    rng = random.Random(5)
    seeds = [p.read_bytes() for p in sorted(CORPUS.glob("*.sip"))]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data))
            op = rng.randrange(3)
            if op == 0:
                data[i] = rng.randrange(256)
            elif op == 1:
                del data[i]
            else:
                data.insert(i, rng.choice(b'\r\n:;,<>" \t@%'))
        try:
            m = SipMessage.parse(bytes(data))
        except SipParseError:
            continue
        m.vias()
        assert SipMessage.parse(m.to_bytes()).to_bytes() == m.to_bytes()
    for _ in range(500):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        for parse in (SipMessage.parse, Sdp.parse):
            with pytest.raises(SipParseError):
                parse(blob)
