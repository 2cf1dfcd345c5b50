"""A registrar (RFC 3261 section 10.3) for agent phones, with digest authentication.

Every REGISTER must carry valid credentials for an agent user; the first gets 401 with a
challenge. The authenticated username must be the user part of the To AOR (10.3 step 6),
otherwise 403. A wrong password is challenged again with a fresh nonce (22.1: the client may
have mistyped), and refused with 403 after `max_failures` wrong answers in a row for one
Call-ID, so a phone with a bad password stops instead of looping; an unknown username is
403 at once. Bindings are AOR -> contacts with an expiry clamped to [min, max] (423 with
Min-Expires below min, `Expires: 0` or `*` removes); each binding's expiry is a loop timer,
so nothing polls. `on_registered` / `on_unregistered` listeners see every binding added or
removed (with the reason); `AgentLogin` turns them into Engine.login / logout. A listener
refuses a new binding by raising `RegistrationRefused` (the phone gets its 4xx); any other
exception from a listener is logged and answered 500. Either way the binding is undone (the
listeners see it "refused") and the registrar keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from acdcore._core import SipMessage, SipParseError, Uri

from .digest import DigestServer, Verdict
from .transaction import ServerTransaction
from .transport import Addr

_MAX_TRACKED = 10000
log = logging.getLogger(__name__)


class RegistrationRefused(Exception):
    """Raised by an `on_registered` listener to refuse a new binding with `status` (4xx)."""

    def __init__(self, status: int, reason: str) -> None:
        if not 400 <= status < 500:
            raise ValueError(f"a refused registration needs a 4xx status, got {status}")
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass
class Binding:
    """One contact bound to an AOR."""

    aor: str
    contact: str  # the Contact URI as the phone sent it
    expires_at: float
    call_id: str
    cseq: int
    source: Addr  # where the REGISTER came from (where to send requests behind NAT)
    transport: str = "udp"  # what the REGISTER came over: requests to the phone go the same way
    handle: asyncio.TimerHandle | None = field(default=None, repr=False, compare=False)

    def target(self) -> Addr:
        """Where requests for this contact go: its URI's host and port."""
        uri = Uri.parse(self.contact)
        return (uri.host, uri.port or 5060)


Listener = Callable[[Binding, str], None]
"""Called with the binding and why: "added", "removed" (by the phone), "expired", or
"refused" (an `on_registered` listener raised, so the binding was undone)."""


def aor_of(uri: str) -> str:
    """The address-of-record key of a SIP URI: `sip:user@host`, no port or parameters."""
    parsed = Uri.parse(uri)
    user = f"{parsed.user}@" if parsed.user else ""
    return f"sip:{user}{parsed.host.lower()}"


@dataclass
class RegistrarStats:
    registered: int = 0
    refreshed: int = 0
    removed: int = 0
    expired: int = 0
    challenged: int = 0
    refused: int = 0


class Registrar:
    """Handles REGISTER for a `Uas` (`uas.handlers["REGISTER"] = registrar.on_register`)."""

    def __init__(
        self,
        users: Mapping[str, str],
        realm: str = "acdcore",
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        max_failures: int = 3,
        nonce_lifetime: float = 300.0,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError(
                "expiry bounds must satisfy 0 < min_expires <= default_expires <= max_expires, "
                f"got {min_expires}, {default_expires}, {max_expires}"
            )
        if max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, got {max_failures}")
        self.digest = DigestServer(realm, users, nonce_lifetime, algorithms)
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_failures = max_failures
        self.stats = RegistrarStats()
        self.on_registered: list[Listener] = []
        self.on_unregistered: list[Listener] = []
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._failures: dict[str, int] = {}  # Call-ID -> wrong answers in a row

    def lookup(self, aor: str) -> list[Binding]:
        """The live contacts of an AOR (`sip:agent1@host`, any port or parameters ignored)."""
        try:
            key = aor_of(aor)
        except SipParseError as e:
            raise ValueError(f"bad AOR {aor!r}: {e}") from None
        return list(self._bindings.get(key, {}).values())

    @property
    def aors(self) -> list[str]:
        return list(self._bindings)

    def bindings(self) -> list[Binding]:
        """Every live binding (what a host saves to restore after a restart)."""
        return [b for contacts in self._bindings.values() for b in contacts.values()]

    def restore(
        self, aor: str, contact: str, expires_in: float, call_id: str, cseq: int, source: Addr
    ) -> Binding:
        """Put back a binding saved before a restart, expiring `expires_in` seconds from now.
        The listeners are not told: the host restores what they did with it (the agent's
        login) along with it. A refresh from the phone then finds it and only refreshes."""
        if expires_in <= 0:
            raise ValueError(f"binding {contact!r} of {aor} has expired")
        key = aor_of(aor)
        loop = asyncio.get_running_loop()
        binding = Binding(key, contact, loop.time() + expires_in, call_id, cseq, source)
        contacts = self._bindings.setdefault(key, {})
        old = contacts.get(contact)
        if old is not None and old.handle is not None:
            old.handle.cancel()
        binding.handle = loop.call_at(binding.expires_at, self._expire, binding)
        contacts[contact] = binding
        return binding

    def close(self) -> None:
        """Cancels every expiry timer (bindings stay readable)."""
        for contacts in self._bindings.values():
            for binding in contacts.values():
                if binding.handle is not None:
                    binding.handle.cancel()

    def on_register(self, txn: ServerTransaction, request: SipMessage) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        try:
            aor = aor_of(request.to.uri.text)
        except SipParseError as e:
            txn.respond(request.reply(400, f"Bad To URI: {e}"[:120]))
            return
        username = self._authenticate(txn, request, now)
        if username is None:
            return
        if Uri.parse(aor).user != username:
            self._refuse(txn, request, f"{username} may not register {aor}")
            return
        try:
            self._update(txn, request, aor, now)
        except _Refusal as r:
            txn.respond(request.reply(r.status, r.reason, headers=r.headers))

    def authenticate(self, txn: ServerTransaction, request: SipMessage) -> str | None:
        """The agent user a request other than REGISTER (an agent phone's INVITE) comes
        from, by digest as for REGISTER but as a proxy would ask (407, Proxy-Authorization:
        RFC 3261 22.3); None once the request is answered (challenged or refused)."""
        return self._authenticate(txn, request, asyncio.get_running_loop().time(), proxy=True)

    def _authenticate(
        self, txn: ServerTransaction, request: SipMessage, now: float, proxy: bool = False
    ) -> str | None:
        """The authenticated username, or None once `txn` is answered: 401 (407 for
        `proxy`) with a fresh challenge, 403 for an unknown user or too many wrong answers
        for one Call-ID, 400 for credentials that do not parse."""
        header = "Proxy-Authorization" if proxy else "Authorization"
        # An INVITE's final responses carry a To tag (8.2.6.2); REGISTER's never had one.
        tag = secrets.token_hex(5) if proxy else None
        result = self.digest.check(request, now, header)
        verdict = result.verdict
        if verdict is Verdict.OK:
            self._failures.pop(request.call_id, None)
            return result.username
        if verdict is Verdict.MALFORMED:
            self.stats.refused += 1
            txn.respond(request.reply(400, f"Bad Authorization: {result.reason}"[:120], tag))
            return None
        if verdict is Verdict.UNKNOWN_USER:
            self._refuse(txn, request, "Forbidden", tag)
            return None
        if verdict is Verdict.WRONG:
            failures = self._failures.pop(request.call_id, 0) + 1
            self._failures[request.call_id] = failures
            if len(self._failures) > _MAX_TRACKED:
                # Bounded against a flood of Call-IDs: the oldest entry goes.
                del self._failures[next(iter(self._failures))]
            if failures >= self.max_failures:
                self._failures.pop(request.call_id, None)
                self._refuse(txn, request, "Forbidden (wrong credentials)", tag)
                return None
        self.stats.challenged += 1
        values = self.digest.challenge(now, stale=verdict is Verdict.STALE)
        status, name = (407, "Proxy-Authenticate") if proxy else (401, "WWW-Authenticate")
        txn.respond(request.reply(status, to_tag=tag, headers=[(name, v) for v in values]))
        return None

    def _refuse(
        self, txn: ServerTransaction, request: SipMessage, reason: str, tag: str | None = None
    ) -> None:
        self.stats.refused += 1
        txn.respond(request.reply(403, reason, tag))

    def _update(self, txn: ServerTransaction, request: SipMessage, aor: str, now: float) -> None:
        header_expires = request.expires
        cseq = request.cseq[0]
        current = self._bindings.get(aor, {})
        if request.contact_star:
            # 10.3 step 6: `*` only with Expires: 0 and alone.
            if header_expires != 0 or len(request.header_lines("Contact")) != 1:
                raise _Refusal(400, "Contact * needs Expires: 0 and no other Contact")
            for binding in list(current.values()):
                if binding.call_id != request.call_id or binding.cseq < cseq:
                    self._remove(binding, "removed")
            self._ok(txn, request, aor, now)
            return
        changes: list[tuple[str, int]] = []
        for contact in request.contacts():
            expires = contact.expires
            if expires is None:
                expires = header_expires if header_expires is not None else self.default_expires
            if 0 < expires < self.min_expires:
                raise _Refusal(423, None, [("Min-Expires", str(self.min_expires))])
            uri = contact.uri.text
            old = current.get(uri)
            if old is not None and old.call_id == request.call_id and old.cseq >= cseq:
                raise _Refusal(500, "Out of order REGISTER", [("Retry-After", "1")])
            changes.append((uri, min(expires, self.max_expires)))
        for uri, expires in changes:
            if expires == 0:
                old = current.get(uri)
                if old is not None:
                    self._remove(old, "removed")
            else:
                kind = "tcp" if txn.layer.reliable else "udp"
                self._bind(aor, uri, expires, request, txn.source, now, kind)
        self._ok(txn, request, aor, now)

    def _bind(
        self,
        aor: str,
        uri: str,
        expires: int,
        request: SipMessage,
        source: Addr,
        now: float,
        transport: str,
    ) -> None:
        contacts = self._bindings.setdefault(aor, {})
        old = contacts.get(uri)
        if old is not None and old.handle is not None:
            old.handle.cancel()
        binding = Binding(
            aor, uri, now + expires, request.call_id, request.cseq[0], source, transport
        )
        loop = asyncio.get_running_loop()
        binding.handle = loop.call_at(binding.expires_at, self._expire, binding)
        contacts[uri] = binding
        if old is None:
            self._announce(binding)
            self.stats.registered += 1
        else:
            self.stats.refreshed += 1

    def _announce(self, binding: Binding) -> None:
        """Tells the listeners of a new binding; undoes it when one of them refuses it."""
        try:
            for listener in self.on_registered:
                listener(binding, "added")
        except RegistrationRefused as e:
            self._remove(binding, "refused")
            raise _Refusal(e.status, e.reason[:120]) from None
        except Exception:
            log.exception("registration listener failed for %s", binding.contact)
            self._remove(binding, "refused")
            raise _Refusal(500, "Registration listener failed") from None

    def _expire(self, binding: Binding) -> None:
        if self._bindings.get(binding.aor, {}).get(binding.contact) is binding:
            self.stats.expired += 1
            self._remove(binding, "expired")

    def _remove(self, binding: Binding, reason: str) -> None:
        contacts = self._bindings.get(binding.aor)
        if contacts is None or contacts.pop(binding.contact, None) is None:
            return
        if binding.handle is not None:
            binding.handle.cancel()
        if not contacts:
            del self._bindings[binding.aor]
        if reason == "removed":
            self.stats.removed += 1
        elif reason == "refused":
            self.stats.refused += 1
        for listener in self.on_unregistered:
            listener(binding, reason)

    def _ok(self, txn: ServerTransaction, request: SipMessage, aor: str, now: float) -> None:
        headers = [
            ("Contact", f"<{b.contact}>;expires={max(0, round(b.expires_at - now))}")
            for b in self._bindings.get(aor, {}).values()
        ]
        txn.respond(request.reply(200, to_tag=secrets.token_hex(5), headers=headers))


class _Refusal(Exception):
    def __init__(
        self, status: int, reason: str | None, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or []


class AgentLogin:
    """Logs an agent in when its phone's first contact registers, out when the last one goes.

    `agents` maps a registrar username (the AOR's user part) to the engine agent id and its
    login arguments; `now` gives engine time (the caller's clock: the engine never reads one).
    Events the engine returns are passed to `on_events`. When the engine refuses the login
    (unknown queue, agent in a state that cannot log in) the REGISTER gets 403 naming the agent.
    """

    def __init__(
        self,
        registrar: Registrar,
        engine: _Engine,
        agents: Mapping[str, AgentProfile],
        now: Callable[[], float],
        on_events: Callable[[list[object]], None] | None = None,
    ) -> None:
        self.registrar = registrar
        self.engine = engine
        self.agents = dict(agents)
        self.now = now
        self.on_events = on_events
        self.logged_in: set[str] = set()
        registrar.on_registered.append(self._registered)
        registrar.on_unregistered.append(self._unregistered)

    def _profile(self, binding: Binding) -> tuple[str, AgentProfile] | None:
        user = Uri.parse(binding.aor).user or ""
        profile = self.agents.get(user)
        return None if profile is None else (user, profile)

    def _registered(self, binding: Binding, reason: str) -> None:
        found = self._profile(binding)
        if found is None or found[1].agent in self.logged_in:
            return
        profile = found[1]
        try:
            events = self.engine.login(
                self.now(), profile.agent, skills=dict(profile.skills), queues=list(profile.queues)
            )
        except Exception as e:
            # Bad profile or engine state: the phone is told, the registrar keeps serving.
            log.warning("agent %s (%s) cannot log in: %s", profile.agent, binding.aor, e)
            why = " ".join(str(e).split())  # one line: it becomes the reason phrase
            raise RegistrationRefused(403, f"Agent {profile.agent} cannot log in: {why}") from e
        self.logged_in.add(profile.agent)
        if self.on_events is not None:
            self.on_events(list(events))

    def _unregistered(self, binding: Binding, reason: str) -> None:
        found = self._profile(binding)
        if found is None or self.registrar.lookup(binding.aor):
            return
        agent = found[1].agent
        if agent not in self.logged_in:
            return
        self.logged_in.discard(agent)
        events = self.engine.logout(self.now(), agent)
        if self.on_events is not None:
            self.on_events(list(events))


@dataclass(frozen=True)
class AgentProfile:
    """How an agent logs in when its phone registers."""

    agent: str
    queues: Sequence[str] = ()
    skills: Mapping[str, int] = field(default_factory=dict)


class _Engine(Protocol):
    """What AgentLogin needs of `acdcore.Engine`."""

    def login(
        self,
        now: float,
        agent: str,
        *,
        skills: dict[str, int] | None = None,
        queues: Sequence[str] | dict[str, int] | None = None,
    ) -> Sequence[object]: ...

    def logout(self, now: float, agent: str) -> Sequence[object]: ...
