"""HTTP Digest authentication for SIP (RFC 3261 section 22, RFC 7616, RFC 8760).

MD5 and SHA-256, `qop=auth` only. The server side (`DigestServer`) issues random nonces that
expire after `lifetime` seconds and remembers the highest nonce count (`nc`) seen with each,
so a replayed or reordered Authorization is refused; an expired nonce with a correct response
is answered with `stale=true` (the client retries without asking its user again). Header
parameters are parsed in Rust (`SipMessage.auth`); errors here name the missing or bad
parameter. Time is an argument (`now`), never read from a clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from acdcore._core import Challenge, SipMessage

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}
ALGORITHMS = tuple(_HASHES)


class DigestError(ValueError):
    """Credentials or a challenge that cannot be used; the text names the parameter."""


def _algorithm(name: str | None) -> str:
    # RFC 7616 3.3: no algorithm parameter means MD5.
    algorithm = (name or "MD5").upper()
    if algorithm not in _HASHES:
        raise DigestError(f"unsupported digest algorithm {name!r}: expected MD5 or SHA-256")
    return algorithm


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def digest_response(
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The `response` value of RFC 7616 3.4.1 (qop=auth) or RFC 2069 (no qop)."""
    algorithm = _algorithm(algorithm)
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop is None:
        return _h(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass(frozen=True)
class Credentials:
    """The parameters of one Authorization / Proxy-Authorization header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str | None
    nc: str | None
    cnonce: str | None
    opaque: str | None

    @staticmethod
    def from_challenge(header: Challenge) -> Credentials:
        if header.scheme.lower() != "digest":
            raise DigestError(f"unsupported authorization scheme {header.scheme!r}")

        def need(name: str) -> str:
            value = header.param(name)
            if value is None:
                raise DigestError(f"digest credentials without {name}")
            return value

        qop = header.param("qop")
        nc, cnonce = header.param("nc"), header.param("cnonce")
        if qop is not None:
            if qop.lower() != "auth":
                raise DigestError(f"unsupported qop {qop!r}: expected auth")
            if nc is None or cnonce is None:
                raise DigestError("digest credentials with qop but without nc and cnonce")
            if len(nc) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc):
                raise DigestError(f"bad nc {nc!r}: expected 8 hex digits")
        return Credentials(
            username=need("username"),
            realm=need("realm"),
            nonce=need("nonce"),
            uri=need("uri"),
            response=need("response"),
            algorithm=_algorithm(header.param("algorithm")),
            qop=None if qop is None else "auth",
            nc=nc,
            cnonce=cnonce,
            opaque=header.param("opaque"),
        )


def authorization(
    challenge: Challenge,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The Authorization value answering a WWW-Authenticate / Proxy-Authenticate challenge."""
    if challenge.scheme.lower() != "digest":
        raise DigestError(f"unsupported challenge scheme {challenge.scheme!r}")
    realm, nonce = challenge.param("realm"), challenge.param("nonce")
    if realm is None or nonce is None:
        raise DigestError("digest challenge without " + ("realm" if realm is None else "nonce"))
    algorithm = _algorithm(challenge.param("algorithm"))
    offered = [q.strip().lower() for q in (challenge.param("qop") or "").split(",") if q.strip()]
    if offered and "auth" not in offered:
        raise DigestError(f"challenge offers qop {challenge.param('qop')!r}, not auth")
    qop = "auth" if offered else None
    nc_text = f"{nc:08x}"
    cnonce = cnonce or secrets.token_hex(8)
    response = digest_response(
        algorithm, username, realm, password, method, uri, nonce, nc_text, cnonce, qop
    )
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={algorithm}",
    ]
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    opaque = challenge.param("opaque")
    if opaque is not None:
        parts.append(f'opaque="{opaque}"')
    return "Digest " + ", ".join(parts)


class Verdict(Enum):
    """What `DigestServer.check` concluded about a request."""

    OK = "ok"
    MISSING = "missing"  # no credentials for our realm: challenge
    STALE = "stale"  # right password, expired or unknown nonce: challenge with stale=true
    REPLAY = "replay"  # nc not above the last one seen for the nonce: challenge again
    WRONG = "wrong"  # wrong password (or uri / realm mismatch)
    UNKNOWN_USER = "unknown-user"
    MALFORMED = "malformed"  # credentials that do not parse: 400


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    username: str | None = None
    reason: str = ""


@dataclass
class _Nonce:
    expires: float
    nc: int = 0


class DigestServer:
    """Challenges and checks requests for one realm against a username -> password map."""

    def __init__(
        self,
        realm: str,
        users: Mapping[str, str],
        lifetime: float = 300.0,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
    ) -> None:
        if not realm or '"' in realm:
            raise ValueError(f"bad digest realm {realm!r}")
        if not lifetime > 0:
            raise ValueError(f"nonce lifetime must be positive, got {lifetime!r}")
        if not algorithms:
            raise ValueError("at least one digest algorithm is needed")
        self.realm = realm
        self.users = dict(users)
        self.lifetime = lifetime
        self.algorithms = [_algorithm(a) for a in algorithms]
        self._opaque = secrets.token_hex(8)
        self._nonces: dict[str, _Nonce] = {}
        # Issue order is expiry order (one lifetime), so expired nonces leave from the left.
        self._order: deque[str] = deque()

    def challenge(self, now: float, stale: bool = False) -> list[str]:
        """WWW-Authenticate values, one per algorithm, strongest first (RFC 8760 section 2.4)."""
        self._expire(now)
        nonce = secrets.token_urlsafe(18)
        self._nonces[nonce] = _Nonce(now + self.lifetime)
        self._order.append(nonce)
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", opaque="{self._opaque}", '
            f'algorithm={a}, qop="auth"{extra}'
            for a in self.algorithms
        ]

    def check(self, request: SipMessage, now: float, header: str = "Authorization") -> CheckResult:
        """Verifies the request's credentials for our realm; a success counts its nc."""
        self._expire(now)
        try:
            offered = request.auth(header)
        except ValueError as e:
            return CheckResult(Verdict.MALFORMED, reason=str(e))
        mine = [c for c in offered if c.param("realm") == self.realm]
        if not mine:
            return CheckResult(Verdict.MISSING)
        try:
            creds = Credentials.from_challenge(mine[0])
        except DigestError as e:
            return CheckResult(Verdict.MALFORMED, reason=str(e))
        if creds.algorithm not in self.algorithms:
            return CheckResult(Verdict.MALFORMED, reason=f"algorithm {creds.algorithm} not offered")
        if creds.qop is None:
            return CheckResult(Verdict.MALFORMED, reason="qop=auth was offered but not used")
        password = self.users.get(creds.username)
        if password is None:
            return CheckResult(Verdict.UNKNOWN_USER, creds.username, "unknown user")
        if creds.uri != (request.request_uri or ""):
            return CheckResult(Verdict.WRONG, creds.username, "uri does not match the request")
        expected = digest_response(
            creds.algorithm,
            creds.username,
            self.realm,
            password,
            request.method or "",
            creds.uri,
            creds.nonce,
            creds.nc,
            creds.cnonce,
            creds.qop,
        )
        if not hmac.compare_digest(expected, creds.response.lower()):
            return CheckResult(Verdict.WRONG, creds.username, "wrong password")
        state = self._nonces.get(creds.nonce)
        if state is None:
            return CheckResult(Verdict.STALE, creds.username, "nonce expired or not ours")
        nc = int(creds.nc or "0", 16)
        if nc <= state.nc:
            return CheckResult(Verdict.REPLAY, creds.username, f"nc {creds.nc} already used")
        state.nc = nc
        return CheckResult(Verdict.OK, creds.username)

    def _expire(self, now: float) -> None:
        while self._order:
            nonce = self._order[0]
            state = self._nonces.get(nonce)
            if state is not None and state.expires > now:
                break
            self._order.popleft()
            self._nonces.pop(nonce, None)

    def __len__(self) -> int:
        """Live nonces."""
        return len(self._nonces)
