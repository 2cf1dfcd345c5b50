"""The registrar over UDP on 127.0.0.1 with an in-process phone: challenge, bindings,
expiry clamps and removal, refusals, the expiry timer, and agent login/logout events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import acdcore
import pytest
from acdcore.sip import SipMessage
from acdcore.sip.digest import authorization
from acdcore.sip.registrar import (
    AgentLogin,
    AgentProfile,
    Binding,
    Registrar,
    RegistrationRefused,
)
from acdcore.sip.transaction import ServerTransaction, new_branch
from acdcore.sip.transport import Addr
from acdcore.sip.uas import Uas, UasServer
from test_sip_transport import Peer, request, run, uas_and_peer

USERS = {"agent1": "secret", "agent2": "other"}


class Phone:
    """Sends REGISTERs from an in-process peer, answering challenges when told a password."""

    def __init__(self, peer: Peer, server: Addr, user: str = "agent1") -> None:
        self.peer, self.server, self.user = peer, server, user
        self.call_id = new_branch()
        self.cseq = 0

    def register(
        self,
        contact: str | None = None,
        expires: int | None = None,
        auth: str | None = None,
        aor_user: str | None = None,
    ) -> SipMessage:
        self.cseq += 1
        aor = f"sip:{aor_user or self.user}@127.0.0.1"
        headers = [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{self.peer.port};branch={new_branch()}"),
            ("From", f"<{aor}>;tag=ph1"),
            ("To", f"<{aor}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Max-Forwards", "70"),
        ]
        if contact is not None:
            headers.append(("Contact", contact))
        if expires is not None:
            headers.append(("Expires", str(expires)))
        if auth is not None:
            headers.append(("Authorization", auth))
        message = SipMessage.request("REGISTER", "sip:127.0.0.1", headers)
        self.peer.send(message, self.server)
        return message

    async def send(self, password: str | None = "secret", **kwargs: object) -> SipMessage:
        """One REGISTER; on 401 (and a password) the retry with credentials. The final answer."""
        self.register(**kwargs)  # type: ignore[arg-type]
        response = await self.peer.next()
        if response.status != 401 or password is None:
            return response
        challenge = response.auth("WWW-Authenticate")[0]
        value = authorization(challenge, "REGISTER", "sip:127.0.0.1", self.user, password)
        self.register(auth=value, **kwargs)  # type: ignore[arg-type]
        return await self.peer.next()


@contextlib.asynccontextmanager
async def registrar(**options: object) -> AsyncIterator[tuple[Registrar, UasServer, Phone]]:
    reg = Registrar(USERS, **options)  # type: ignore[arg-type]
    uas = Uas()
    uas.handlers["REGISTER"] = reg.on_register
    async with uas_and_peer(uas) as (server, peer):
        try:
            yield reg, server, Phone(peer, server.address)
        finally:
            reg.close()


def contact(port: int, expires: int | None = None) -> str:
    return f"<sip:agent1@127.0.0.1:{port}>" + ("" if expires is None else f";expires={expires}")


def test_register_challenge_then_binding_refresh_and_removal() -> None:
    async def main() -> None:
        async with registrar(min_expires=60, max_expires=600, default_expires=300) as (
            reg,
            _,
            phone,
        ):
            phone.register(contact=contact(5081))
            challenge = await phone.peer.next()
            assert challenge.status == 401
            algorithms = [c.param("algorithm") for c in challenge.auth("WWW-Authenticate")]
            assert algorithms == ["SHA-256", "MD5"]
            assert reg.lookup("sip:agent1@127.0.0.1") == []

            ok = await phone.send(contact=contact(5081), expires=3600)
            assert ok.status == 200
            # Clamped to max_expires and echoed in the 200's Contact.
            assert [c.expires for c in ok.contacts()] == [600]
            [binding] = reg.lookup("sip:agent1@127.0.0.1:5060;transport=udp")
            assert binding.contact == "sip:agent1@127.0.0.1:5081"
            assert binding.target() == ("127.0.0.1", 5081)

            # A second contact, then a refresh of the first with the default expiry.
            assert (await phone.send(contact=contact(5082, 120))).status == 200
            refreshed = await phone.send(contact=contact(5081))
            assert sorted(c.expires or 0 for c in refreshed.contacts()) == [120, 300]
            assert (reg.stats.registered, reg.stats.refreshed) == (2, 1)

            # A query (no Contact) lists the bindings and changes nothing.
            assert len((await phone.send()).contacts()) == 2
            # Expires: 0 removes one; * with Expires: 0 removes the rest.
            gone = await phone.send(contact=contact(5082), expires=0)
            assert [c.uri.port for c in gone.contacts()] == [5081]
            assert (await phone.send(contact="*", expires=0)).status == 200
            assert reg.lookup("sip:agent1@127.0.0.1") == []
            assert reg.stats.removed == 2

    run(main)


def test_refusals() -> None:
    async def main() -> None:
        async with registrar(min_expires=60, max_failures=3) as (reg, _, phone):
            too_brief = await phone.send(contact=contact(5081), expires=10)
            assert too_brief.status == 423
            assert too_brief.header("Min-Expires") == "60"
            star = await phone.send(contact="*", expires=60)
            assert star.status == 400 and "Contact *" in (star.reason or "")

            # Wrong password: challenged again twice, then 403 on the third wrong answer.
            statuses = [
                (await phone.send(password="wrong", contact=contact(5081))).status for _ in range(3)
            ]
            assert statuses == [401, 401, 403]
            # The right password still works afterwards (the count is per Call-ID, reset).
            assert (await phone.send(contact=contact(5081))).status == 200

            # agent1's credentials for agent2's AOR: 403 (10.3 step 6).
            assert (await phone.send(contact=contact(5081), aor_user="agent2")).status == 403
            stranger = Phone(phone.peer, phone.server, user="mallory")
            assert (await stranger.send(password="x", contact=contact(5090))).status == 403
            bad = await phone.send(password=None, auth='Digest realm="acdcore"', contact="<sip:x>")
            assert bad.status == 400 and "without" in (bad.reason or "")
            assert len(reg.lookup("sip:agent1@127.0.0.1")) == 1
            assert reg.lookup("sip:agent2@127.0.0.1") == []
            with pytest.raises(ValueError, match="bad AOR"):
                reg.lookup("not a uri")

    run(main)


def test_stale_nonce_is_challenged_with_stale_true() -> None:
    async def main() -> None:
        async with registrar(nonce_lifetime=0.2) as (_, _, phone):
            phone.register(contact=contact(5081))
            challenge = (await phone.peer.next()).auth("WWW-Authenticate")[0]
            await asyncio.sleep(0.3)
            value = authorization(challenge, "REGISTER", "sip:127.0.0.1", "agent1", "secret")
            phone.register(contact=contact(5081), auth=value)
            stale = await phone.peer.next()
            assert stale.status == 401
            assert stale.auth("WWW-Authenticate")[0].param("stale") == "true"
            # A replay of an accepted Authorization (same nonce and nc) is challenged again.
            ok = await phone.send(contact=contact(5081))
            assert ok.status == 200

    run(main)


def test_expired_binding_is_dropped_and_the_agent_logs_in_and_out() -> None:
    async def main() -> None:
        engine = acdcore.Engine(seed=1)
        engine.add_queue("support")
        clock = [0.0]
        events: list[tuple[str, str]] = []
        async with registrar(min_expires=1, default_expires=1) as (reg, _, phone):
            login = AgentLogin(
                reg,
                engine,
                {"agent1": AgentProfile("alice", queues=["support"], skills={"billing": 50})},
                now=lambda: clock[0],
            )
            reg.on_registered.append(lambda b, why: events.append(("up", why)))
            reg.on_unregistered.append(lambda b, why: events.append(("down", why)))
            assert (await phone.send(contact=contact(5081), expires=1)).status == 200
            assert login.logged_in == {"alice"}
            assert engine.agent("alice").state == "available"
            assert (await phone.send(contact=contact(5082), expires=1)).status == 200
            clock[0] = 5.0
            await asyncio.sleep(1.3)
            assert reg.lookup("sip:agent1@127.0.0.1") == []
            assert reg.stats.expired == 2
            assert events == [("up", "added")] * 2 + [("down", "expired")] * 2
            assert login.logged_in == set()
            assert engine.agent("alice").state == "logged-out"

    run(main)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="expiry bounds"):
        Registrar(USERS, min_expires=100, default_expires=50)
    with pytest.raises(ValueError, match="max_failures"):
        Registrar(USERS, max_failures=0)
    assert Binding("sip:a@h", "sip:a@h:5099", 0.0, "c", 1, ("127.0.0.1", 1)).target() == (
        "h",
        5099,
    )


def test_options_allow_names_register_when_the_registrar_serves_it() -> None:
    async def main() -> None:
        async with registrar() as (_, server, phone):
            options = request(phone.peer.port, "OPTIONS", server.address, "opt-1")
            phone.peer.send(options, server.address)
            ok = await phone.peer.next()
            assert ok.status == 200
            assert ok.values("Allow") == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"]

    run(main)


def test_a_login_the_engine_refuses_is_a_403_naming_the_agent_and_the_registrar_stays_up() -> None:
    async def main() -> None:
        engine = acdcore.Engine(seed=1)
        engine.add_queue("support")
        refused: list[str] = []
        async with registrar() as (reg, server, phone):
            login = AgentLogin(
                reg,
                engine,
                {
                    "agent1": AgentProfile("alice", queues=["no-such-queue"]),
                    "agent2": AgentProfile("bob", queues=["support"]),
                },
                now=lambda: 0.0,
            )
            reg.on_unregistered.append(lambda b, why: refused.append(why))
            no = await phone.send(contact=contact(5081))
            assert no.status == 403
            assert no.reason is not None and "alice" in no.reason and "log in" in no.reason
            assert reg.lookup("sip:agent1@127.0.0.1") == []
            assert login.logged_in == set() and refused == ["refused"]
            assert reg.stats.registered == 0 and reg.stats.refused == 1
            bob = Phone(phone.peer, server.address, user="agent2")
            ok = await bob.send(password="other", contact="<sip:agent2@127.0.0.1:5082>")
            assert ok.status == 200 and login.logged_in == {"bob"}
            assert [b.contact for b in reg.lookup("sip:agent2@127.0.0.1")] == [
                "sip:agent2@127.0.0.1:5082"
            ]

    run(main)


def test_a_failing_listener_is_a_500_and_a_listener_may_refuse_with_its_own_4xx() -> None:
    def broken(binding: Binding, why: str) -> None:
        raise RuntimeError("listener bug")

    def picky(binding: Binding, why: str) -> None:
        raise RegistrationRefused(404, f"no agent at {binding.aor}")

    async def main() -> None:
        async with registrar() as (reg, _, phone):
            reg.on_registered.append(broken)
            failed = await phone.send(contact=contact(5081))
            assert failed.status == 500 and reg.lookup("sip:agent1@127.0.0.1") == []
            reg.on_registered[:] = [picky]
            missing = await phone.send(contact=contact(5081))
            assert missing.status == 404
            assert missing.reason == "no agent at sip:agent1@127.0.0.1"
            reg.on_registered.clear()
            assert (await phone.send(contact=contact(5081))).status == 200
            assert len(reg.lookup("sip:agent1@127.0.0.1")) == 1

    run(main)
    with pytest.raises(ValueError, match="4xx"):
        RegistrationRefused(200, "fine")


def test_authenticate_challenges_an_invite_as_a_proxy_would() -> None:
    """`authenticate` (the server's click-to-dial INVITEs): 407 with Proxy-Authenticate and a
    To tag, the agent user once Proxy-Authorization answers it, 403 for a wrong password three
    times on one Call-ID and for an unknown user."""

    async def main() -> None:
        reg = Registrar(USERS, algorithms=["MD5"])
        uas = Uas()
        seen: list[str | None] = []

        def invite(txn: ServerTransaction, request: SipMessage) -> None:
            user = reg.authenticate(txn, request)
            seen.append(user)
            if user is not None:
                txn.respond(request.reply(480, f"ok {user}", to_tag="t1"))

        uas.handlers["INVITE"] = invite
        async with uas_and_peer(uas) as (server, peer):
            target = server.address
            uri = f"sip:service@{target[0]}:{target[1]}"

            async def send(user: str, password: str | None, cseq: int, call_id: str) -> SipMessage:
                message = request(peer.port, "INVITE", target, call_id, cseq=cseq)
                if password is not None:
                    value = authorization(challenge, "INVITE", uri, user, password)
                    message = message.with_header("Proxy-Authorization", value)
                peer.send(message, target)
                response = await peer.next()
                while response.status == 100:
                    response = await peer.next()
                return response

            first = await send("agent1", None, 1, "c1")
            assert first.status == 407 and first.to.tag
            assert first.auth("WWW-Authenticate") == []
            [challenge] = first.auth("Proxy-Authenticate")
            ok = await send("agent1", "secret", 2, "c1")
            assert (ok.status, ok.reason) == (480, "ok agent1")
            for cseq in (3, 4):  # a wrong password is challenged again...
                assert (await send("agent1", "wrong", cseq, "c2")).status == 407
            refused = await send("agent1", "wrong", 5, "c2")  # ...and refused the third time
            assert (refused.status, refused.reason) == (403, "Forbidden (wrong credentials)")
            assert refused.to.tag
            assert (await send("mallory", "x", 6, "c3")).status == 403
            assert seen == [None, "agent1", None, None, None, None]
        reg.close()

    run(main)
