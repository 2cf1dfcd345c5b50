"""Digest authentication: RFC test vectors, the client header, and the server's nonce rules."""

from __future__ import annotations

import pytest
from acdcore.sip import Challenge, SipMessage
from acdcore.sip.digest import (
    Credentials,
    DigestError,
    DigestServer,
    Verdict,
    authorization,
    digest_response,
)

# RFC 7616 section 3.9.1.
MUFASA = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "qop": "auth",
}


def header(value: str, name: str = "WWW-Authenticate") -> Challenge:
    response = SipMessage.response(401, headers=[*_base(), (name, value)])
    return response.auth(name)[0]


def _base() -> list[tuple[str, str]]:
    return [
        ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc"),
        ("From", "<sip:agent1@127.0.0.1>;tag=1"),
        ("To", "<sip:agent1@127.0.0.1>"),
        ("Call-ID", "c1"),
        ("CSeq", "1 REGISTER"),
    ]


def register(authorization_value: str | None = None) -> SipMessage:
    headers = _base()
    if authorization_value is not None:
        headers.append(("Authorization", authorization_value))
    return SipMessage.request("REGISTER", "sip:127.0.0.1", headers=headers)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    v = MUFASA
    got = digest_response(
        algorithm,
        v["username"],
        v["realm"],
        v["password"],
        v["method"],
        v["uri"],
        v["nonce"],
        v["nc"],
        v["cnonce"],
        v["qop"],
    )
    assert got == expected


def test_rfc2617_vector_and_client_header() -> None:
    # RFC 2617 section 3.5.
    challenge = header(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    creds = Credentials.from_challenge(header(value, "Authorization"))
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert (creds.algorithm, creds.qop, creds.nc, creds.cnonce) == (
        "MD5",
        "auth",
        "00000001",
        "0a4f113b",
    )
    assert creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('Digest realm="r", nonce="n", uri="u", response="x"', "without username"),
        ('Digest username="a", realm="r", uri="u", response="x"', "without nonce"),
        ('Digest username="a", realm="r", nonce="n", uri="u", response="x", algorithm=SHA-1',
         "unsupported digest algorithm 'SHA-1'"),
        ('Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth',
         "without nc and cnonce"),
        ('Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=1, '
         'cnonce="c"', "bad nc '1'"),
        ('Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth-int, '
         'nc=00000001, cnonce="c"', "unsupported qop 'auth-int'"),
        ('Basic realm="r"', "unsupported authorization scheme 'Basic'"),
    ],
)  # fmt: skip
def test_bad_credentials_name_the_parameter(value: str, message: str) -> None:
    with pytest.raises(DigestError, match=message):
        Credentials.from_challenge(header(value, "Authorization"))


def test_bad_challenges() -> None:
    with pytest.raises(DigestError, match="without nonce"):
        authorization(header('Digest realm="r"'), "REGISTER", "sip:x", "a", "b")
    with pytest.raises(DigestError, match="not auth"):
        authorization(header('Digest realm="r", nonce="n", qop="auth-int"'), "R", "u", "a", "b")


def answer(server: DigestServer, now: float, password: str = "secret", nc: int = 1) -> str:
    challenge = header(server.challenge(now)[0])
    return authorization(challenge, "REGISTER", "sip:127.0.0.1", "agent1", password, nc=nc)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_server_accepts_the_right_password_once_per_nc(algorithm: str) -> None:
    server = DigestServer("acd", {"agent1": "secret"}, lifetime=30, algorithms=[algorithm])
    value = answer(server, 0.0)
    assert f"algorithm={algorithm}" in value
    ok = server.check(register(value), 1.0)
    assert (ok.verdict, ok.username) == (Verdict.OK, "agent1")
    # The same nc again is a replay; a higher one with the same nonce is fine.
    assert server.check(register(value), 2.0).verdict is Verdict.REPLAY
    nonce = Credentials.from_challenge(header(value, "Authorization")).nonce
    challenge = header(f'Digest realm="acd", nonce="{nonce}", qop="auth", algorithm={algorithm}')
    second = authorization(challenge, "REGISTER", "sip:127.0.0.1", "agent1", "secret", nc=2)
    assert server.check(register(second), 3.0).verdict is Verdict.OK
    assert server.check(register(second), 3.0).verdict is Verdict.REPLAY


def test_server_verdicts() -> None:
    server = DigestServer("acd", {"agent1": "secret"}, lifetime=30)
    assert server.check(register(), 0.0).verdict is Verdict.MISSING
    assert server.check(register(answer(server, 0.0, "wrong")), 1.0).verdict is Verdict.WRONG
    # Expired nonce, right password: stale, so the phone retries without asking its user.
    late = answer(server, 0.0)
    assert server.check(register(late), 31.0).verdict is Verdict.STALE
    assert len(server) == 0  # expired nonces are forgotten
    stranger = authorization(
        header(server.challenge(40.0)[0]), "REGISTER", "sip:127.0.0.1", "bob", "x"
    )
    assert server.check(register(stranger), 41.0).verdict is Verdict.UNKNOWN_USER
    other_realm = authorization(
        header('Digest realm="elsewhere", nonce="n", qop="auth"'), "REGISTER", "u", "agent1", "s"
    )
    assert server.check(register(other_realm), 42.0).verdict is Verdict.MISSING
    # Credentials computed for another Request-URI do not authorize this request.
    moved = authorization(
        header(server.challenge(43.0)[0]), "REGISTER", "sip:other", "agent1", "secret"
    )
    assert server.check(register(moved), 43.0).verdict is Verdict.WRONG
    bad = server.check(register('Digest realm="acd", username="agent1"'), 44.0)
    assert bad.verdict is Verdict.MALFORMED and "without nonce" in bad.reason


def test_challenge_lists_sha256_first_and_marks_stale() -> None:
    server = DigestServer("acd", {})
    values = server.challenge(0.0, stale=True)
    assert [header(v).param("algorithm") for v in values] == ["SHA-256", "MD5"]
    assert all(header(v).param("stale") == "true" for v in values)
    assert header(values[0]).param("nonce") == header(values[1]).param("nonce")
    with pytest.raises(ValueError, match="nonce lifetime"):
        DigestServer("acd", {}, lifetime=0)
    with pytest.raises(ValueError, match="unsupported digest algorithm 'SHA-512'"):
        DigestServer("acd", {}, algorithms=["SHA-512"])
