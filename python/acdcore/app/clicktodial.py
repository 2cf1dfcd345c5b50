"""Click-to-dial: an agent's registered phone (its "screen") dials a lead's number through us.

The phone sends INVITE `sip:<number>@<server>`: the number E.164 (`+12125550100`), or digits
with the campaign's `click_to_dial_prefix` in front. Before anything else the phone proves it
is an agent's, by digest as its REGISTER did (407 with a challenge, then its credentials in
Proxy-Authorization; `Registrar.authenticate`): an unauthenticated INVITE never makes the
center dial out (toll fraud), and learns nothing about the lead list. Then, in order, each
refusal a final response whose reason phrase names it:

- the agent is not logged in: 403 `agent <id> is not logged in`;
- not a phone number: 404;
- the agent not available in the engine (on a call, ringing, wrap-up, paused): 486
  `agent <id> is <state>`;
- not one of the campaign's leads (with `click_to_dial = "leads"`): 404; the lead in a call
  (dialing, answered, previewed): 486;
- a compliance rule (the campaign's `dial`: DNC, calling hours, attempts, gap): 403 with the
  rule, e.g. `do-not-call` (recorded on the lead, as every refusal); a lead done, or the
  campaign not running: 403 `lead done` / `campaign <state>`.

An allowed dial takes the agent out of routing at once: the lead's engine call (id
`{campaign}:{lead}:click-{attempt}`) joins the campaign's queue held for that agent and is
accepted for it in the same step (the agent was available, so the engine offers it there;
nothing else can ring the agent meanwhile). The agent's INVITE gets 183 with our SDP and hears
music on hold while the lead rings (our INVITE to `dial_uri`, cancelled at `ring_timeout`,
at least 15 s), then 200 when the lead answers, and the two are bridged as in preview mode
(`Dialer._dial_for_agent`). A lead that does not answer ends the agent's INVITE with 486
`busy`, 480 `no-answer` or 502 `failed`; the agent's CANCEL gives the dial up. BYE from
either side ends both; the engine call's end puts the agent in wrap-up. Records: the engine
call's CDR (the agent's time, `lead_outcome` "click-to-dial"), plus, for a lead that did not
answer, the dial's CDR with its outcome, as for a preview.

A number that is not in the lead list is refused (404), unless `click_to_dial = "any"`: it is
then added to the campaign as a lead (`Campaign.add_lead`, in `default_zone`) and goes through
the same checks, so DNC and calling hours still apply, and its attempts, gap and retries are
kept as for any lead (and saved: a restart on the same list brings it back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acdcore._core import (
    NotAcceptableError,
    SipMessage,
    SipParseError,
    StateError,
    parse_e164,
    sdp_answer,
)
from acdcore.app.legs import CODECS, AgentLeg, configure
from acdcore.media.session import RtpSession, bind_rtp_socket
from acdcore.sip.dialog import Leg, new_tag
from acdcore.sip.transaction import ServerTransaction
from acdcore.sip.uac import OutgoingCall

if TYPE_CHECKING:
    from acdcore.app.dialer import Dialer

log = logging.getLogger(__name__)
#: The lead outcome of a dial nobody answered -> the agent's final response.
FAILURES = {"busy": (486, "busy"), "no-answer": (480, "no-answer"), "failed": (502, "failed")}
_BUSY_LEAD = ("dialing", "answered", "previewing")


@dataclass
class AgentInvite(OutgoingCall):
    """The agent's own INVITE, held like a leg we placed: answered (`answer`), it sits in the
    UAC core's dialog table, so the agent's BYE and INFO take the paths of our legs' and our
    `bye` reaches the phone (and a restart's saved dialogs include it). Before the answer,
    `bye` is the final failure response `failure()` gives instead (the lead did not answer)."""

    txn: ServerTransaction | None = None
    answer_sdp: bytes = b""
    failure: Callable[[], tuple[int, str]] = lambda: (503, "not connected")

    def answer(self, contact: tuple[str, str]) -> None:
        """200 with our SDP (the 183's) to the agent's INVITE: the lead answered."""
        if self.txn is None or self.state != "calling":
            return
        request = self.txn.request
        self.txn.respond(
            request.reply(
                200, to_tag=self.leg.local_tag, headers=[contact], body=self.answer_sdp,
                content_type="application/sdp",
            )
        )  # fmt: skip
        self.leg.state = self.state = "confirmed"
        self.uac.calls[self.leg.key] = self
        if not self.answered.done():
            self.answered.set_result(request)

    def refuse(self, status: int, reason: str) -> None:
        """A final failure response to the pending INVITE; the leg ends."""
        if self.txn is not None and self.state == "calling":
            self.txn.respond(self.txn.request.reply(status, reason, to_tag=self.leg.local_tag))
            self._fail(status, reason)

    async def bye(self) -> None:
        if self.state == "calling":
            self.refuse(*self.failure())
        else:
            await super().bye()


@dataclass
class ClickStats:
    dials: int = 0  # allowed: the lead was rung
    refused: dict[int, int] = field(default_factory=dict)  # by the status the agent got


class ClickToDial:
    """The SIP front of click-to-dial for a `Dialer` (see the module doc)."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer
        self.prefix = dialer.config.click_to_dial_prefix
        self.stats = ClickStats()
        self._agents = {a.user: a.id for a in dialer.center.config.agents}
        # Number -> its leads, built once: a dial looks its number up, never walks the list.
        self._leads: dict[str, list[int]] = {}
        for i, number in enumerate(dialer.leads.numbers):
            self._leads.setdefault(number, []).append(i)
        self._pending: dict[ServerTransaction, AgentInvite] = {}  # INVITEs while leads ring

    def takes(self, request: SipMessage) -> bool:
        """Whether an INVITE is an agent's dial: to a number, from one of our agents' accounts
        (ours to authenticate, never a caller's flow). Anyone else's INVITE to a number (a
        carrier's inbound call to the center's E.164 number) is a caller's and goes to the flow;
        a forged From gains nothing: the dial is digest-challenged for that account."""
        user = _user(request)
        if not (user.startswith("+") or (self.prefix is not None and user.isdigit())):
            return False
        return (request.from_.uri.user or "") in self._agents

    def number(self, user: str) -> str | None:
        """The E.164 number a dialed user part means, None when it is not one."""
        if self.prefix is not None and user.isdigit():
            user = self.prefix + user
        good, _, _ = parse_e164([user])
        return f"+{int(good[0])}" if len(good) else None

    def on_invite(self, txn: ServerTransaction, request: SipMessage) -> None:
        user = self.dialer.center.registrar.authenticate(txn, request)
        if user is None:
            return  # challenged (407) or refused: nothing dialed
        tag = new_tag()

        def refuse(status: int, reason: str) -> None:
            self.stats.refused[status] = self.stats.refused.get(status, 0) + 1
            log.info("click-to-dial by %s to %s refused: %d %s", user, _user(request), status,
                     reason)  # fmt: skip
            txn.respond(request.reply(status, reason[:120], to_tag=tag))

        d = self.dialer
        center = d.center
        agent = self._agents.get(user, user)
        found = self._lead(agent, _user(request))
        if isinstance(found, tuple):
            refuse(*found)
            return
        lead = found
        txn.respond(request.reply(100))
        try:
            rtp = RtpSession(bind_rtp_socket(center.address[0], center.config.rtp_ports))
        except OSError as e:
            refuse(503, f"No RTP port: {e}")
            return
        try:
            answer = sdp_answer(request.body, center.address[0], rtp.local_address[1], CODECS)
        except (NotAcceptableError, SipParseError) as e:
            rtp.close()
            refuse(488, str(e))
            return
        try:
            dial = d.campaign.dial(lead, d.now())
        except StateError:
            rtp.close()
            why = d.campaign.lead(lead)["refusal"] if d.campaign.state == "running" else None
            refuse(403, why or f"campaign {d.campaign.state}")
            return
        configure(rtp, answer.codec, answer.payload_type, answer.dtmf_payload_type)
        rtp.remote = (answer.remote_address, answer.remote_port)
        leg = Leg.from_request(request, tag, txn.source, center.address)
        leg.transport = "TCP" if txn.layer.reliable else "UDP"
        invite = AgentInvite(center.uac_for(leg.transport), leg, b"", None, txn=txn,
                             answer_sdp=answer.sdp)  # fmt: skip
        call_id = f"{d.config.id}:{lead}:click-{d.campaign.lead(lead)['attempts']}"
        agent_leg = AgentLeg(call_id, agent, invite, rtp)
        if not d.take_agent(dial, call_id, agent_leg):
            invite.refuse(*FAILURES["failed"])
            rtp.close()
            return
        self.stats.dials += 1
        contact = center.contact(leg.transport)
        txn.respond(request.reply(183, to_tag=tag, headers=[contact], body=answer.sdp,
                                  content_type="application/sdp"))  # fmt: skip
        self._pending[txn] = invite
        invite.ended.add_done_callback(lambda _: self._pending.pop(txn, None))

        def answered() -> None:
            rtp.stop_playing()  # the music while the lead rang
            self._pending.pop(txn, None)
            invite.answer(contact)

        def failure() -> tuple[int, str]:  # the lead's outcome, recorded by now
            info = d.campaign.lead(dial.lead)
            if info["state"] == "dialing":  # cut off (a shutdown) while it rang
                return (503, "not connected")
            return FAILURES.get(info["outcome"] or "", FAILURES["failed"])

        invite.failure = failure
        d.clicked(dial, agent_leg, answered)

    def _lead(self, agent: str, dialed: str) -> int | tuple[int, str]:
        """The lead an agent's dial of `dialed` (the INVITE's user part) is for, or the
        refusal (status, reason) the checks before the campaign's own give."""
        d = self.dialer
        if agent not in d.center.login.logged_in:
            return (403, f"agent {agent} is not logged in")
        number = self.number(dialed)
        if number is None:
            return (404, f"{dialed} is not a phone number")
        state = d.center.engine.agent(agent).state
        if state != "available":
            return (486, f"agent {agent} is {state}")
        leads = self._leads.get(number)
        if leads is None and d.config.click_to_dial == "any":
            try:
                leads = self._leads[number] = [d.campaign.add_lead(number)]  # default_zone
            except ValueError as e:
                return (404, str(e))
            log.info("campaign %s: %s added as lead %d (click-to-dial by %s)",
                     d.config.id, number, leads[0], agent)  # fmt: skip
        if leads is None:
            return (404, f"{number} is not a lead of campaign {d.config.id}")
        refusal: tuple[int, str] | None = None
        for lead in leads:  # duplicates in the list: the first one neither done nor in a call
            info = d.campaign.lead(lead)
            if info["state"] == "done":  # ended by a rule (DNC, attempts) or its disposition
                ended = info["refusal"] in ("do-not-call", "max-attempts")
                refusal = refusal or (403, info["refusal"] if ended else "lead done")
            elif info["state"] not in _BUSY_LEAD:
                return lead
            else:
                refusal = (486, "lead in a call")
        return refusal or (486, "lead in a call")

    def cancelled(self, invite: ServerTransaction) -> None:
        """The agent's CANCEL while its lead rings: 487, and the dial is given up."""
        call = self._pending.pop(invite, None)
        if call is not None:
            call.refuse(487, "Request Terminated")


def _user(request: SipMessage) -> str:
    try:
        return request.uri().user or ""
    except SipParseError:
        return ""
