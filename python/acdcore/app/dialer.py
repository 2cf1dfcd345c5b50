"""`Dialer`: the `[campaign]` of the config placed as real outbound SIP calls.

Every `tick` seconds the campaign (`acdcore.outbound.Campaign`, paced by `PacedCampaign` in
predictive mode) says which leads to dial, with every compliance rule already applied (a
refused lead is never dialed; its reason is on the lead). Each dial is a UAC INVITE with our
own SDP (anchored media, like the callers' legs), cancelled at the ring timeout. SIP outcomes
map to lead outcomes:

- 2xx: someone answered. Without `[campaign.amd]` every answer counts as a live person
  ("human"), the cautious reading for the abandonment cap. With it, the first seconds of the
  lead's audio go through `AnsweringMachineDetector` before any agent is involved: a machine
  is hung up and reported as "machine" (retried per its delay; the UK profile counts its
  estimated false positives against the cap), a person or a "not sure" (or no audio within
  the detector's `total` and a second) goes on as "human", at the moment of the verdict, so
  the 2 s for the information message run from the end of the person's greeting.
- 486 / 600: busy.
- 487 after our CANCEL at the ring timeout, or 408 / 480 once the lead rang that long: no
  answer. Earlier (the far end gave up first) or with no provisional at all: failed.
- any other final status: failed.

An answered lead joins the campaign's engine queue (blended with inbound calls on the same
agents); the engine's offer rings the agent's phone through `OutboundLegs`, and once it
answers the two legs are bridged by the same `SipChannel` code the inbound calls use. When no
agent takes the call within `connect_wait` of the answer (no agent free, or the offered one
slow), the call is abandoned: the information message plays at once (it must start within
2 s of the answer) and we hang up. Each dial writes a CDR (`attributes.direction` =
"outbound", the lead, the lead outcome; the agent when one talked).

Preview mode offers the lead to an agent first (our INVITE to the phone comes from the lead's
URI); the agent's answer dials the lead. Predictive mode never dials fewer than progressive.
A preview no agent takes is withdrawn from the queue (CDR "withdrawn", not an abandon).
Click-to-dial (app/clicktodial.py) is the agent's phone dialing a lead's number: once its
checks pass, `take_agent` takes the agent out of routing and the lead is rung and bridged the
way a previewed one is (`_dial_for_agent`).

Voice broadcast involves no agent and no queue: up to `lines` calls at once (ringing or
hearing the message), each answer hears `message` over its RTP, then our BYE; its CDR has
outcome "broadcast" with the message and how much of it the lead heard. With
`[campaign.amd]` a machine is hung up as in the other modes (no message left on it).

Lead calls are found by engine call id or lead number in dicts: nothing scans the calls.

The campaign's state (attempts, outcomes, the retry and callback schedule, the rolling
abandonment window, its statistics) is saved in the records database as its own blob, in the
commit that also checkpoints the engine, whenever it changed since the last save (`save`).
Started again on that database, the dialer restores it with the config's leads and closes
the dials the restart cut off (`Campaign.interrupted`): a lead that reached its attempts is
not dialed again, a retry keeps its due time, and the abandons before the restart stay in the
window. A saved campaign that does not fit (other leads, another campaign, damaged) is
refused, naming it and the database; `--fresh` starts the campaign anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from acdcore._core import (
    AmdDecision,
    AnsweringMachineDetector,
    Engine,
    Event,
    NotAcceptableError,
    RtpPacket,
    SipMessage,
    SipParseError,
    StateError,
    Uri,
    sdp_offer,
)
from acdcore.app.campaign_config import TEMPLATE_FIELDS, CampaignConfig, template_fields
from acdcore.app.channel import SipChannel
from acdcore.app.clicktodial import ClickToDial
from acdcore.app.legs import CODECS, AgentLeg, start_media, uri_transport
from acdcore.flows.channel import CallerHungUp
from acdcore.media.session import RtpSession, bind_rtp_socket
from acdcore.outbound import Campaign, Dial, DncList, LeadList, PacedCampaign
from acdcore.records.model import CallRecord
from acdcore.records.store import StoreError
from acdcore.sip.dialog import Leg
from acdcore.sip.info_dtmf import answer_info
from acdcore.sip.transaction import ServerTransaction
from acdcore.sip.transport import Addr
from acdcore.sip.uac import CallFailed, OutgoingCall

if TYPE_CHECKING:
    from acdcore.app.server import ContactCenter

log = logging.getLogger(__name__)
AMD_VERDICTS = ("human", "machine", "not-sure")
BLOB = "campaign"  # the campaign's saved state in the records' host blobs
PACER_BLOB = "campaign-pacer"  # what its predictive pacer learned, saved beside it
#: The recorder's host-state key of the voice-broadcast messages playing at the last commit:
#: their leads are done in the campaign at the answer, so only this tells a restart of them.
BROADCASTS = "campaign-broadcasts"
#: Config fields the campaign core holds itself: a restored campaign keeps the saved ones.
KEPT = ("profile", "calling_hours", "min_gap", "max_attempts", "ring_timeout", "retry",
        "outbound_share")  # fmt: skip


@dataclass(frozen=True)
class InfoMessage:
    """One abandoned call's information message: when the lead answered and when the message
    started (Unix seconds), against the campaign's deadline."""

    call: str
    lead: int
    answered: float
    started: float
    deadline: float


@dataclass(frozen=True)
class Broadcast:
    """One voice-broadcast message: the lead, seconds of it the lead heard, and whether it
    played to the end (else the lead hung up first)."""

    call: str
    lead: int
    heard: float
    complete: bool


@dataclass
class DialerStats:
    placed: int = 0
    answered: int = 0
    connected: int = 0  # bridged to an agent
    abandoned: int = 0
    by_status: dict[int, int] = field(default_factory=dict)  # final SIP status of each dial
    info_messages: list[InfoMessage] = field(default_factory=list)
    broadcasts: list[Broadcast] = field(default_factory=list)
    # Answering-machine verdicts by kind ("human", "machine", "not-sure").
    amd: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AMD_VERDICTS, 0))


class LeadChannel(SipChannel):
    """A `SipChannel` over a call we placed: hanging up is our BYE on the UAC dialog."""

    def __init__(
        self, center: ContactCenter, call_id: str, caller_id: str, called: str, rtp: RtpSession,
        out: OutgoingCall | None,
    ) -> None:  # fmt: skip
        super().__init__(center, call_id, caller_id, called, rtp)
        self.out = out  # None while a previewing agent decides

    async def hangup(self) -> None:
        if self.out is not None:
            await self.out.bye()
        self.hung_up("hung up by us")


def read_dnc(path: str | os.PathLike[str]) -> DncList:
    """One number per line; blank lines and `#` comments skipped; bad numbers logged."""
    with open(path, encoding="utf-8") as f:
        numbers = [s for s in (line.split("#", 1)[0].strip() for line in f) if s]
    dnc = DncList(numbers)
    for bad in dnc.bad_rows:
        log.warning("%s: entry %d %r skipped: %s", path, bad.row + 1, bad.value, bad.reason)
    return dnc


class Dialer:
    """Runs one campaign for a `ContactCenter` (see the module doc)."""

    def __init__(
        self,
        center: ContactCenter,
        config: CampaignConfig,
        saved: bytes | None = None,
        saved_settings: dict[str, Any] | None = None,
    ) -> None:
        """A new campaign, or with `saved` (the blob a previous run saved) that campaign
        going on, its cut-off dials closed (`interrupted`); a saved campaign that does not
        fit the config is a StoreError naming it and the database. `saved_settings` are the
        previous run's `settings()`, to warn of changed ones the campaign keeps."""
        self.center = center
        self.config = config
        self.leads = LeadList.from_csv(config.leads, default_zone=config.default_zone)
        for bad in self.leads.bad_rows:
            log.warning(
                "%s:%d: lead %s %r skipped: %s",
                config.leads, bad.row, bad.column, bad.value, bad.reason,
            )  # fmt: skip
        self._check_targets()
        self.listed = len(self.leads)  # the list's leads; click-to-dial may add more
        dnc = None if config.dnc is None else read_dnc(config.dnc)
        self.interrupted: list[tuple[int, str]] = []  # (lead, state) the restart cut off
        self.kept: list[str] = []  # changed settings the restored campaign ignores
        self._kept_values: dict[str, Any] = {}  # their saved values, saved again as they hold
        self.resumed = saved is not None
        self.pacer_restored = False  # the predictive pacer's learning taken back from the store
        self._saved: int | None = None  # `campaign.changes` at the last save
        if saved is not None:
            self.campaign = self._restore(saved, dnc, (saved_settings or {}).get("listed"))
            self._settle(saved_settings or {})
        else:
            self.campaign = self._new(dnc)
        self.paced = None
        if config.mode == "predictive":
            self.paced = PacedCampaign(
                self.campaign,
                target=config.target,
                aht=config.aht,
                wrapup=config.wrapup,
                ring=config.ring_timeout,
            )
            if self.resumed:
                self._restore_pacer(self.paced)
        self.stats = DialerStats()
        self._live: dict[int, OutgoingCall] = {}  # lead -> its call in progress
        # lead -> the broadcast message playing to it (what its CDR needs, for a restart)
        self._broadcasting: dict[int, dict[str, Any]] = {}
        if self.resumed:
            self._record_cut_broadcasts()
        self._talking: dict[int, float] = {}  # lead -> engine time it reached an agent
        self._tasks: set[asyncio.Task[None]] = set()
        self._previews = 0  # preview leads not yet offered to an agent
        # Agents' phones dialing leads' numbers (app/clicktodial.py), when the config allows.
        self.clicks = ClickToDial(self) if config.click_to_dial else None

    def _new(self, dnc: DncList | None) -> Campaign:
        config = self.config
        return Campaign(
            self.leads,
            now=self.now(),
            id=config.id,
            dnc=dnc,
            mode=config.mode,
            ratio=config.ratio,
            lines=config.lines,
            profile=config.profile,
            amd_false_positive_rate=0.0 if config.profile == "uk" else None,
            **self._rules(),
        )

    def _rules(self) -> dict[str, Any]:
        """The config's rules as `Campaign` and `Campaign.set_rules` take them."""
        c = self.config
        return {
            "calling_hours": c.calling_hours, "min_gap": c.min_gap,
            "max_attempts": c.max_attempts, "ring_timeout": c.ring_timeout,
            "retry": c.retry or None, "outbound_share": c.outbound_share,
        }  # fmt: skip

    def _restore(self, saved: bytes, dnc: DncList | None, listed: object) -> Campaign:
        """The saved campaign with the config's leads and DNC list, its cut-off dials closed
        at the restart's time (so a retry gap counts from no earlier than the kill); the
        config's rules apply to it after (`_settle`). Leads click-to-dial added come back
        when the list is the one they were added to (`listed`, saved in `settings`)."""
        config = self.config
        try:
            added = listed == len(self.leads)
            campaign = Campaign.restore(saved, self.leads, dnc=dnc, added_leads=added)
            if campaign.id != config.id:
                raise ValueError(f"it is campaign {campaign.id!r}")
            self.interrupted = campaign.interrupted(self.now())
        except ValueError as e:
            raise StoreError(
                f"campaign {config.id!r} saved in {self.center.store.path} cannot be resumed "
                f"with the leads of {config.leads}: {e} (--fresh starts the campaign anew)"
            ) from None
        for lead, state in self.interrupted:
            if state == "dialing":
                self._record_cut_off(campaign, lead)
        if self.interrupted:
            log.warning(
                "campaign %s: %d calls cut off by the restart closed (%s)",
                config.id, len(self.interrupted),
                ", ".join(f"lead {lead} {state}" for lead, state in self.interrupted[:10]),
            )  # fmt: skip
        return campaign

    def settings(self) -> dict[str, Any]:
        """The config's `KEPT` fields as JSON, saved with each checkpoint, so the next run
        can tell which of them changed, and how many leads the list had (`listed`)."""
        values = {k: getattr(self.config, k) for k in KEPT}
        values["calling_hours"] = list(values["calling_hours"])
        values.update(self._kept_values)  # what the campaign still holds, not the config
        values["listed"] = self.listed
        return values

    def _settle(self, saved: dict[str, Any]) -> None:
        """The config's mode (ratio, lines) and rules apply to the restored campaign from now
        on (`Campaign.set_rules`: what was decided stays), each changed one logged. Only a
        changed compliance `profile` is kept as saved: the abandonment window's history is
        in its buckets; it takes effect with --fresh."""
        config = self.config
        c = self.campaign
        if (c.mode, c.ratio, c.lines) != (config.mode, config.ratio, config.lines):
            c.set_mode(config.mode, config.ratio, config.lines)
        now = self.settings()
        changed = [k for k in KEPT if k in saved and saved[k] != now[k]]
        if any(k != "profile" for k in changed):
            try:
                c.set_rules(**self._rules())
            except StateError as e:  # dials still ringing (none after a restart's close)
                log.warning("campaign %s: the saved rules stay: %s", config.id, e)
            else:
                for k in changed:
                    if k != "profile":
                        log.info("campaign %s: resumed with the config's %s %r (was %r)",
                                 config.id, k, now[k], saved[k])  # fmt: skip
                changed = [k for k in changed if k == "profile"]
        self.kept.extend(f"{k} {saved[k]!r} (the config says {now[k]!r})" for k in changed)
        self._kept_values = {k: saved[k] for k in changed}
        for k in self.kept:
            log.warning(
                "campaign %s: resumed with its saved %s; --fresh applies it, starting anew",
                config.id, k,
            )  # fmt: skip

    def _record_cut_off(self, campaign: Campaign, lead: int) -> None:
        """The CDR of a dial that was ringing at the kill (every dial has one): outcome
        "lost", as the restart's other cut-off calls; it counted as a failed attempt. It
        ends at the dial itself, the last instant it was known (answered leads were in the
        engine, and the restart already recorded those)."""
        info = campaign.lead(lead)
        dialed = float(info["last_attempt"])
        attributes = self._attributes(lead, "failed")
        self._lost_record(lead, info["attempts"], info["number"], dialed, dialed, attributes,
                          "dialing")  # fmt: skip

    def _lost_record(
        self, lead: int, attempt: int, number: str, dialed: float, end: float,
        attributes: dict[str, Any], state: str, answer: float | None = None,
    ) -> None:  # fmt: skip
        """The CDR of a dial a restart found cut off (outcome "lost", `lost.state`), made
        before we serve: our caller id from the config, as there is no address yet."""
        attributes["lost"] = {"why": "restart", "state": state}
        caller = _user(self.config.caller_id or "sip:acd@0.0.0.0")
        self._dial_record(lead, attempt, number, dialed, end, "lost", attributes,
                          caller=caller, answer=answer)  # fmt: skip

    def _restore_pacer(self, paced: PacedCampaign) -> None:
        """What the pacer had learned (answer and machine rates, time to answer and its
        shape, measured abandons, risk level), so a restart does not pace from the cautious
        prior again. A missing or unfit blob (another mode before, damage) only costs the
        learning: a warning, and the pacer starts afresh."""
        self.pacer_restored = False
        saved = self.center.store.blob(PACER_BLOB)
        if saved is None:
            return
        try:
            paced.pacer.restore(saved)
            self.pacer_restored = True
        except ValueError as e:
            log.warning("campaign %s: the pacer learns again: %s", self.config.id, e)

    def _record_cut_broadcasts(self) -> None:
        """The CDRs of the broadcast messages the kill cut off: outcome "lost" (`lost.state`
        "broadcast"), answered as saved, ended at the last commit that saw them playing.
        The restart's BYE ends their dialogs as any other dead one."""
        recorder = self.center.recorder
        saved = recorder.host.pop(BROADCASTS, None)
        if not isinstance(saved, dict):
            return
        at = saved.get("at", 0.0)
        for b in saved.get("playing", []):
            try:
                lead, attempt, number = int(b["lead"]), int(b["attempt"]), str(b["number"])
                dialed, answered = float(b["dialed"]), float(b["answered"])
                end = max(answered, float(at))
            except (KeyError, TypeError, ValueError):
                log.warning("campaign %s: a saved broadcast %r not recorded", self.config.id, b)
                continue
            attributes = {**self._attributes(lead, "human", 200), "message": b.get("message")}
            self._lost_record(lead, attempt, number, dialed, end, attributes, "broadcast",
                              answered)  # fmt: skip
            log.warning("campaign %s: lead %d's broadcast cut off by the restart recorded lost",
                        self.config.id, lead)  # fmt: skip

    def save(self) -> None:
        """The campaign into the next commit when it changed since the last save: one blob
        of the whole state (about 85 bytes a lead: 4 ms for 10,000), beside the checkpoint,
        and the pacer's learning (a few hundred bytes) with it: it learns from the outcomes
        that change the campaign."""
        if self._broadcasting:
            playing = list(self._broadcasting.values())
            self.center.recorder.host[BROADCASTS] = {"at": self.now(), "playing": playing}
        else:
            self.center.recorder.host.pop(BROADCASTS, None)
        changes = self.campaign.changes
        if changes != self._saved:
            self.center.recorder.save_blob(BLOB, self.campaign.snapshot())
            if self.paced is not None:
                self.center.recorder.save_blob(PACER_BLOB, self.paced.pacer.snapshot())
            self._saved = changes

    def _check_targets(self) -> None:
        """Once at start: a template field some lead has no value for is a ValueError naming
        the file, line and field (the leads are walked once here, never per dial)."""
        names = template_fields(self.config.dial_uri)
        rows = self.leads.rows.tolist()
        for i, fields in enumerate(self.leads.fields):
            missing = [n for n in names if n not in TEMPLATE_FIELDS and fields.get(n) in (None, "")]
            if missing:
                raise ValueError(
                    f"{self.config.leads}:{rows[i]}: campaign.dial_uri needs {missing[0]!r}, "
                    f"which this lead has no value for (fields: "
                    f"{', '.join(TEMPLATE_FIELDS)} and the CSV's columns)"
                )

    def target(self, lead: int) -> tuple[str, str]:
        """The lead's number and the URI we dial it at (`dial_uri` filled in)."""
        number = self.campaign.lead(lead)["number"]
        values: dict[str, Any] = dict(self.leads.fields[lead])
        values.update(number=number, digits=number[1:], lead=lead)
        return number, self.config.dial_uri.format(**values)

    def now(self) -> float:
        """Unix seconds on the engine's clock (the records' epoch plus engine time)."""
        return self.center.recorder.epoch + self.center.sb.now()

    @property
    def from_uri(self) -> str:
        host, port = self.center.address
        return self.config.caller_id or f"sip:acd@{host}:{port}"

    # Ticking.

    async def run(self) -> None:
        """Starts the campaign and ticks it until cancelled."""
        self.campaign.start(self.now())
        while True:
            try:
                self.tick()
            except (ValueError, StateError) as e:  # a campaign refusal must not stop the loop
                log.warning("campaign %s: tick refused: %s", self.config.id, e)
            except Exception:  # nor anything else: logged, and the next tick tries again
                log.exception("campaign %s: tick failed", self.config.id)
            await asyncio.sleep(self.config.tick)

    @property
    def queue(self) -> str:
        """The campaign's engine queue (every mode but voice broadcast has one)."""
        assert self.config.queue is not None, "voice broadcast has no queue"
        return self.config.queue

    def agents(self) -> tuple[int, int]:
        """(ready, staffed) agents of the campaign's queue, from the engine's counters."""
        if self.config.queue is None:
            return 0, 0  # voice broadcast: nobody
        by_state = self.center.engine.queue_stats(self.queue).agents
        ready = by_state.get("available", 0)
        staffed = ready + sum(by_state.get(s, 0) for s in ("reserved", "busy", "wrap-up"))
        return ready, staffed

    def tick(self) -> list[Dial]:
        now = self.now()
        ready, staffed = self.agents()
        if self.config.mode == "preview":
            for _ in range(max(0, ready - self._previews)):
                lead = self.campaign.preview(now)
                if lead is None:
                    break
                self._previews += 1  # until its call is in the queue (the agent then counts)
                self._spawn(self._preview(lead))
            return []
        if self.config.mode == "voice-broadcast":
            # Every dial task holds a line until its BYE, the message included: the campaign
            # counts only the ringing ones, so the free lines go in as `dials_wanted`.
            free = max(0, self.config.lines - len(self._tasks))
            dials = self.campaign.tick(now, 0, 0, dials_wanted=free)
        elif self.paced is not None:
            # Our calls' ages since they reached an agent; other busy agents (inbound calls,
            # wrap-up) count as just connected, the cautious guess.
            engine_now = self.center.sb.now()
            ages = [engine_now - t for t in self._talking.values()][: staffed - ready]
            ages += [0.0] * (staffed - ready - len(ages))
            dials = self.paced.tick(now, ready, np.asarray(ages, dtype=np.float64))
            # Never fewer than progressive: one dial per ready agent not covered by a dial in
            # flight cannot abandon anyone. The pacer itself now dials at least that many (a
            # dial brings at most one answer, docs/pacing.md); the floor is kept as a guard.
            short = ready - self.campaign.stats()["in_flight"]
            if short > 0:
                dials += self.campaign.tick(now, ready, staffed, dials_wanted=short)
        else:
            dials = self.campaign.tick(now, ready, staffed)
        for dial in dials:
            self._spawn(self._call(dial, now))
        return dials

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _result(self, lead: int, outcome: str, now: float) -> None:
        if self.paced is not None:
            self.paced.dial_result(lead, outcome, now)
        else:
            self.campaign.dial_result(lead, outcome, now)

    # One dial.

    def outcome(self, status: int, rang: float, provisional: bool) -> str:
        """A failed INVITE's final status as a lead outcome (see the module doc)."""
        if status in (486, 600):
            return "busy"
        if status in (408, 480, 487) and provisional and rang >= self.config.ring_timeout:
            return "no-answer"
        return "failed"

    def _reach(self, lead: int, doing: str = "dial") -> tuple[str, str, Addr, RtpSession] | None:
        """The lead's number, the URI we dial it at, that URI's address and an RTP session
        for its call; None (logged) when the URI does not parse or no RTP port is free."""
        number, target = self.target(lead)
        try:
            uri = Uri.parse(target)
            rtp = RtpSession(bind_rtp_socket(self.center.address[0], self.center.config.rtp_ports))
        except (SipParseError, OSError) as e:
            log.warning("lead %d: cannot %s %s: %s", lead, doing, target, e)
            return None
        return number, target, (uri.host, uri.port or 5060), rtp

    async def _call(self, dial: Dial, dialed: float) -> None:
        reached = self._reach(dial.lead)
        if reached is None:
            self._unanswered(dial, dialed, "failed", 503)
            return
        _, target, dest, rtp = reached
        try:
            await self._dial(dial, dialed, target, dest, rtp)
        except Exception:  # one call's surprise must not take the dialer or the server down
            log.exception("lead %d: the call to %s failed", dial.lead, target)
        finally:
            rtp.close()
            self._live.pop(dial.lead, None)
            self._talking.pop(dial.lead, None)

    async def _ring_lead(
        self, dial: Dial, dialed: float, target: str, dest: Addr, rtp: RtpSession
    ) -> OutgoingCall | None:
        """INVITEs the lead and rings it up to the ring timeout: the answered call with our
        RTP session set up from its SDP, or None once the outcome and the CDR of a dial
        nobody answered are recorded."""
        center = self.center
        loop = asyncio.get_running_loop()
        offer = sdp_offer(center.address[0], rtp.local_address[1], CODECS)
        # Over TCP when the lead's URI says ;transport=tcp and TCP is served (app/server.py).
        uac = center.uac_for(uri_transport(Uri.parse(target)))
        out = uac.invite(target, dest, offer, from_uri=self.from_uri)
        self._live[dial.lead] = out
        self.stats.placed += 1
        give_up = loop.call_later(self.config.ring_timeout, out.cancel)
        try:
            response = await out.answered
        except CallFailed as e:
            outcome = self.outcome(e.status, self.now() - dialed, out.provisional)
            self._unanswered(dial, dialed, outcome, e.status)
            return None
        finally:
            give_up.cancel()
        self._count_status(response.status or 200)
        try:
            await start_media(rtp, response.body, center.address[0])
        except (NotAcceptableError, SipParseError) as e:
            log.warning("lead %d answered with unusable SDP: %s", dial.lead, e)
            await out.bye()
            self._unanswered(dial, dialed, "failed", 488)
            return None
        self.stats.answered += 1
        return out

    async def _detect(self, rtp: RtpSession, out: OutgoingCall) -> AmdDecision | None:
        """The detector's verdict on the lead's first seconds of audio; None when the lead
        hung up first or sent no audio for the detector's whole `total` (and a second)."""
        assert self.config.amd is not None
        detector = AnsweringMachineDetector(**self.config.amd)  # type: ignore[arg-type]
        decided: asyncio.Future[AmdDecision] = asyncio.get_running_loop().create_future()

        def heard(_: RtpSession, p: RtpPacket) -> None:
            if p.payload_type == rtp.payload_type and not decided.done():
                got = detector.feed_g711(p.payload, rtp.codec)
                if got is not None:
                    decided.set_result(got)

        rtp.on_packet = heard
        limit = self.config.amd.get("total", 5.0) + 1.0
        try:
            either: set[asyncio.Future[Any]] = {decided, out.ended}
            await asyncio.wait(either, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            rtp.on_packet = None
        if not decided.done():
            decided.cancel()
            return None
        self.stats.amd[decided.result().verdict] += 1
        return decided.result()

    async def _machine(
        self, dial: Dial, dialed: float, out: OutgoingCall, decision: AmdDecision
    ) -> None:
        """A machine answered: hung up, its outcome to the campaign and a CDR that says why."""
        await out.bye()
        amd = {"reason": decision.reason, "at": decision.at, "words": decision.words}
        self._unanswered(dial, dialed, "machine", 200, counted=True, amd=amd)

    def _follow(self, channel: LeadChannel, out: OutgoingCall) -> None:
        """The lead's in-dialog requests and hang-up reach its channel."""
        channel.out = out
        out.on_request = lambda _, txn, request: self._lead_request(channel, txn, request)
        out.ended.add_done_callback(lambda f: channel.hung_up(f.result()))

    async def _dial(
        self, dial: Dial, dialed: float, target: str, dest: Addr, rtp: RtpSession
    ) -> None:
        center = self.center
        out = await self._ring_lead(dial, dialed, target, dest, rtp)
        if out is None:
            return
        if self.config.amd is not None:
            decision = await self._detect(rtp, out)
            if decision is not None and decision.verdict == "machine":
                await self._machine(dial, dialed, out, decision)
                return
        answered = self.now()
        answered_at = asyncio.get_running_loop().time()
        [action] = self._answer_actions(dial.lead, answered)
        if action.kind == "play-message":
            await self._broadcast(dial, dialed, answered, out, rtp)
            return
        call_id = self._call_id(dial.lead)
        channel = LeadChannel(center, call_id, _user(self.from_uri), dial.number, rtp, out)
        self._follow(channel, out)
        center.adopt_caller(out.leg, channel)
        try:
            agent = await self._connect(dial, call_id, channel, action.agent, answered_at)
            if agent is None:
                await self._abandon(dial, call_id, channel, answered)
            else:
                await self._talk(dial, call_id, channel, agent)
        finally:
            center.release_caller(call_id)

    async def _broadcast(
        self, dial: Dial, dialed: float, answered: float, out: OutgoingCall, rtp: RtpSession
    ) -> None:
        """Voice broadcast: `message` over the lead's RTP, then our BYE. The lead hanging up
        first cuts it short; the CDR says how many seconds of it the lead heard."""
        message = self.config.message
        assert message is not None  # the config requires it in this mode
        call_id = self._call_id(dial.lead)
        channel = LeadChannel(self.center, call_id, _user(self.from_uri), dial.number, rtp, out)
        self._follow(channel, out)
        codes = self.center.prompts.encoded(message, rtp.codec) or b""
        length = len(codes) / 8000.0  # G.711: one byte a sample at 8 kHz
        loop = asyncio.get_running_loop()
        started = loop.time()
        complete = True
        attempt = self.campaign.lead(dial.lead)["attempts"]
        self._broadcasting[dial.lead] = {
            "lead": dial.lead, "attempt": attempt, "number": dial.number, "dialed": dialed,
            "answered": answered, "message": message,
        }  # fmt: skip
        try:
            await channel.play(message)
        except CallerHungUp:
            complete = False
        finally:
            self._broadcasting.pop(dial.lead, None)
        heard = length if complete else min(length, loop.time() - started)
        if complete:
            await channel.hangup()
        self.stats.broadcasts.append(Broadcast(call_id, dial.lead, heard, complete))
        log.info(
            "lead %d (%s): message %s %s (%.1f of %.1f s)", dial.lead, dial.number, message,
            "played" if complete else "cut short by the lead", heard, length,
        )  # fmt: skip
        now = self.now()
        attributes = {
            **self._attributes(dial.lead, "human", 200),
            "message": message, "heard": round(heard, 3), "complete": complete,
        }  # fmt: skip
        self._dial_record(
            dial.lead, attempt, dial.number, dialed, now, "broadcast", attributes, answer=answered
        )

    async def _preview(self, lead: int) -> None:
        """Preview: the lead is offered to an agent of the queue as a call from the lead's
        number; the agent answering means "dial it", and the lead is then rung and bridged
        to that agent. Nobody answering within `preview_timeout` puts the lead back."""
        center, sb = self.center, self.center.sb
        loop = asyncio.get_running_loop()
        call_id = f"{self.config.id}:{lead}:preview-{self.campaign.lead(lead)['attempts'] + 1}"
        reached = self._reach(lead, "preview")
        if reached is None:
            self._previews -= 1
            self.campaign.release(lead, self.now())
            return
        number, target, dest, rtp = reached
        channel = LeadChannel(center, call_id, _user(self.from_uri), number, rtp, None)
        # The agent's phone shows the lead: our INVITE to it comes from the lead's URI.
        shown = Leg(call_id, "", "", self.from_uri, target, target, dest, center.address, 0)
        center.adopt_caller(shown, channel)
        inbox = sb.watch(call_id)
        sb.callers[call_id] = (_user(self.from_uri), number)
        try:
            sb.enqueue(call_id, self.queue, priority=self.config.priority,
                       attributes=self._attributes(lead, "preview"))  # fmt: skip
            self._previews -= 1
            agent = None
            deadline = loop.time() + self.config.preview_timeout
            while agent is None and (left := deadline - loop.time()) > 0:
                ev = await _next_event(inbox, channel.gone, left)
                if ev is not None and ev.kind == "assign":
                    agent = ev.agent
                elif ev is not None and ev.kind in ("timeout", "overflow", "fallback"):
                    break
            if agent is None:
                # An agent may have answered as the wait ran out (its assign still queued).
                agent = _connected_agent(sb.engine, call_id)
            if agent is None:  # taken back: nobody was on the line, so no abandon
                sb.let_go(call_id)
                self.campaign.release(lead, self.now())
                return
            await self._dial_previewed(lead, call_id, agent, channel, target, dest)
        except Exception:
            log.exception("lead %d: the preview call failed", lead)
        finally:
            self._end_agent_call(lead, call_id, rtp)

    def _end_agent_call(self, lead: int, call_id: str, rtp: RtpSession | None) -> None:
        """After a call an agent held before its lead was dialed (a preview, a click-to-dial):
        its engine call ended (the agent wraps up; withdrawn when no agent took it, cut off by
        a shutdown) and the lead's media and bookkeeping gone."""
        sb = self.center.sb
        sb.unwatch(call_id)
        sb.callers.pop(call_id, None)
        sb.let_go(call_id)
        self.center.release_caller(call_id)
        if rtp is not None:
            rtp.close()
        self._live.pop(lead, None)
        self._talking.pop(lead, None)

    async def _dial_previewed(
        self, lead: int, call_id: str, agent: str, channel: LeadChannel, target: str, dest: Addr
    ) -> None:
        leg = self.center.legs.answered.get((call_id, agent))
        try:
            dial = self.campaign.dial(lead, self.now())
        except StateError as e:  # a rule refused it meanwhile (hours, DNC): the agent is told
            log.info("previewed lead %d refused: %s", lead, e)
            if leg is not None:
                self.center.legs.answered.pop((call_id, agent), None)
                await leg.call.bye()
                leg.rtp.close()
            return
        await self._dial_for_agent(dial, call_id, agent, channel, target, dest)

    async def _dial_for_agent(
        self, dial: Dial, call_id: str, agent: str, channel: LeadChannel, target: str,
        dest: Addr, on_answer: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        """Rings the lead of an agent already on the line (a preview it answered, its own
        click-to-dial) and, when it answers, calls `on_answer` and bridges the two until one
        hangs up. The agent hanging up while the lead rings gives the dial up; a lead that
        does not answer ends the agent's leg (`bye`)."""
        center = self.center
        leg = center.legs.answered.get((call_id, agent))
        dialed = self.now()
        if leg is not None:
            leg.call.ended.add_done_callback(lambda _: self._give_up(dial.lead))
        out = await self._ring_lead(dial, dialed, target, dest, channel.rtp)
        if out is None:
            if leg is not None and center.legs.answered.pop((call_id, agent), None) is not None:
                await leg.call.bye()
                leg.rtp.close()
            return
        self._follow(channel, out)
        self._answer_actions(dial.lead, self.now())
        if on_answer is not None:
            on_answer()
        await self._talk(dial, call_id, channel, agent)

    def take_agent(self, dial: Dial, call_id: str, leg: AgentLeg) -> bool:
        """Click-to-dial: the agent out of routing from now to the end of the call. The lead's
        engine call joins the queue held for that agent and is accepted for it at once (it
        was available, so the engine offers it there in this same step, and no other offer
        can ring it meanwhile); `leg` is the agent's own INVITE. False, the dial recorded as
        failed, in the unlikely case the engine did not offer it."""
        sb, agent = self.center.sb, leg.target
        sb.callers[call_id] = (_user(self.from_uri), dial.number)  # for the CDR
        self.center.legs.adopt(leg)  # its offer is not rung: the agent is on the line
        events = sb.enqueue(call_id, self.queue, priority=self.config.priority,
                            preferred_agent=agent, preferred_wait=1.0,
                            attributes=self._attributes(dial.lead, "click-to-dial"))  # fmt: skip
        if any(e.call == call_id and e.kind == "offer" and agent in e.agents for e in events):
            try:
                sb.apply(self.center.engine.accept(sb.now(), call_id, agent))
                return True
            except (KeyError, StateError) as e:
                log.warning("click-to-dial %s: the engine would not connect %s: %s",
                            call_id, agent, e)  # fmt: skip
        log.warning("click-to-dial %s: not offered to %s; the dial fails", call_id, agent)
        self.center.legs.answered.pop((call_id, agent), None)
        self._end_agent_call(dial.lead, call_id, None)
        self._unanswered(dial, self.now(), "failed", 480)
        return False

    def clicked(self, dial: Dial, leg: AgentLeg, on_answer: Callable[[], None]) -> None:
        """Rings the lead an agent dialed (`take_agent` took the agent) in the background."""
        self._spawn(self._clicked(dial, leg, on_answer))

    async def _clicked(self, dial: Dial, leg: AgentLeg, on_answer: Callable[[], None]) -> None:
        """The agent hears music on hold while its lead rings, then talks to it
        (`_dial_for_agent`, as a preview does); its leg is ended whatever happens."""
        center = self.center
        call_id, agent = leg.call_id, leg.target
        reached = self._reach(dial.lead)
        rtp = None if reached is None else reached[3]
        try:
            if reached is None:
                self._unanswered(dial, self.now(), "failed", 503)
                return
            number, target, dest, rtp = reached
            channel = LeadChannel(center, call_id, _user(self.from_uri), number, rtp, None)
            await leg.rtp.start()
            music = center.prompts.encoded(center.config.music, leg.rtp.codec)
            if music is not None:
                leg.rtp.play_encoded(music, loop=True)
            await self._dial_for_agent(dial, call_id, agent, channel, target, dest, on_answer)
        except Exception:
            log.exception("lead %d: the click-to-dial call failed", dial.lead)
        finally:
            center.legs.answered.pop((call_id, agent), None)
            leg.rtp.close()
            self._end_agent_call(dial.lead, call_id, rtp)
            await leg.call.bye()  # a pending INVITE gets its failure response; else none

    def _give_up(self, lead: int) -> None:
        out = self._live.get(lead)
        if out is not None:
            out.cancel()

    def _answer_actions(self, lead: int, now: float) -> list[Any]:
        if self.paced is not None:
            return self.paced.dial_result(lead, "human", now)
        return self.campaign.dial_result(lead, "human", now)

    def _count_status(self, status: int) -> None:
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1

    def _unanswered(
        self, dial: Dial, dialed: float, outcome: str, status: int, *, counted: bool = False,
        **extra: Any,
    ) -> None:  # fmt: skip
        """The lead outcome to the campaign and a CDR for a dial that never reached the
        engine (its queue column is the campaign's id: it was never in a queue); `extra`
        goes into its attributes, `counted` when its SIP status is counted already."""
        now = self.now()
        if not counted:
            self._count_status(status)
        self._result(dial.lead, outcome, now)
        log.info("lead %d (%s): %s (%d) %s", dial.lead, dial.number, outcome, status, extra or "")
        attempt = self.campaign.lead(dial.lead)["attempts"]
        attributes = {**self._attributes(dial.lead, outcome, status), **extra}
        self._dial_record(dial.lead, attempt, dial.number, dialed, now, outcome, attributes)

    def _call_id(self, lead: int, attempt: int | None = None) -> str:
        """The engine call id (and CDR id) of a lead's dial: the latest attempt by default."""
        if attempt is None:
            attempt = self.campaign.lead(lead)["attempts"]
        return f"{self.config.id}:{lead}:{attempt}"

    def _dial_record(
        self, lead: int, attempt: int, number: str, dialed: float, end: float, outcome: str,
        attributes: dict[str, Any], *, caller: str | None = None, answer: float | None = None,
    ) -> None:  # fmt: skip
        """The CDR of a dial no queue held (its queue column is the campaign's id): waiting
        from the dial to the answer (or the end), talking from the answer to the end."""
        self.center.recorder.add_record(
            CallRecord(
                call_id=self._call_id(lead, attempt),
                queue=self.config.id,
                arrival=dialed,
                outcome=outcome,
                caller=_user(self.from_uri) if caller is None else caller,
                called=number,
                answer=answer,
                end=end,
                wait=(end if answer is None else answer) - dialed,
                talk=None if answer is None else end - answer,
                attributes=attributes,
            )
        )

    def _attributes(self, lead: int, outcome: str, status: int | None = None) -> dict[str, Any]:
        """A lead's CDR attributes; `sip_status` is the dial's final status (none for the
        calls an agent held before the lead was dialed: a preview, a click-to-dial)."""
        attributes: dict[str, Any] = {
            "direction": "outbound",
            "campaign": self.config.id,
            "lead": lead,
            "lead_outcome": outcome,
        }
        if status is not None:
            attributes["sip_status"] = status
        return attributes

    async def _connect(
        self, dial: Dial, call_id: str, channel: LeadChannel, preferred: str | None, answered: float
    ) -> str | None:
        """The agent the engine assigned the answered lead to, or None when none did within
        `connect_wait` of the answer (the call then left the engine as an abandon)."""
        sb = self.center.sb
        loop = asyncio.get_running_loop()
        inbox = sb.watch(call_id)
        sb.callers[call_id] = (channel.caller_id, channel.called)  # for the CDR
        try:
            events = sb.enqueue(
                call_id,
                self.queue,
                priority=self.config.priority,
                preferred_agent=preferred,
                attributes=self._attributes(dial.lead, "human", 200),
            )
            if any(e.call == call_id and e.kind in ("offer", "assign") for e in events):
                deadline = answered + self.config.connect_wait
                while not channel.gone.done() and (left := deadline - loop.time()) > 0:
                    ev = await _next_event(inbox, channel.gone, left)
                    if ev is None:
                        continue
                    if ev.kind == "assign" and ev.agent is not None:
                        return ev.agent
                    if ev.kind in ("timeout", "overflow", "fallback", "abandon", "end"):
                        break
            sb.hangup(call_id)  # an abandon in the engine: its CDR says so
            return None
        finally:
            sb.unwatch(call_id)
            sb.callers.pop(call_id, None)

    async def _abandon(
        self, dial: Dial, call_id: str, channel: LeadChannel, answered: float
    ) -> None:
        """No agent: the information message at once, then our BYE."""
        action = self.campaign.abandon(dial.lead, self.now())
        self.stats.abandoned += 1
        if channel.gone.done():
            log.info("lead %d hung up before an agent was free (abandoned)", dial.lead)
            return
        started = self.now()
        deadline = action.deadline if action.deadline is not None else answered + 2.0
        self.stats.info_messages.append(
            InfoMessage(call_id, dial.lead, answered, started, deadline)
        )
        late = started - deadline
        (log.warning if late > 0 else log.info)(
            "lead %d abandoned: information message %.3f s after answer%s",
            dial.lead, started - answered, f", {late:.3f} s late" if late > 0 else "",
        )  # fmt: skip
        if self.config.info_message is not None:
            with contextlib.suppress(CallerHungUp):
                await channel.play(self.config.info_message)
        await channel.hangup()

    async def _talk(self, dial: Dial, call_id: str, channel: LeadChannel, agent: str) -> None:
        sb = self.center.sb
        self.campaign.connect(dial.lead, self.now())
        self._talking[dial.lead] = sb.now()
        self.stats.connected += 1
        try:
            agent_left = await channel.connect(agent)
        except CallerHungUp:
            agent_left = False
        sb.hangup(call_id)  # the talk ends in the engine; the agent goes to wrap-up
        now = self.now()
        self._talking.pop(dial.lead, None)
        self.campaign.hangup(dial.lead, now)
        self.campaign.disposition(dial.lead, now)
        code = sb.disposition(call_id) or self.center.config.default_disposition
        with contextlib.suppress(KeyError, ValueError):
            self.center.recorder.annotate(call_id, disposition=code)
        if agent_left:
            await channel.hangup()

    def _lead_request(
        self, channel: LeadChannel, txn: ServerTransaction, request: SipMessage
    ) -> None:
        if request.method == "BYE":
            return  # answered by the UAC; `ended` tells the channel
        if request.method == "INFO":
            digit = answer_info(txn, request)
            if digit is not None:
                channel.digit(digit)
        else:
            txn.respond(request.reply(488 if request.method == "INVITE" else 405))

    # Reporting and stopping.

    def lines(self) -> list[str]:
        """The campaign's statistics as one wallboard line."""
        st = self.campaign.stats()
        rate = st["abandon_rate"]
        refused = ",".join(f"{k}:{v}" for k, v in sorted(st["refused"].items()) if v) or "0"
        return [
            f"t={self.center.sb.now():.0f}s campaign={self.config.id} mode={self.campaign.mode} "
            f"dials={st['dials']} connects={st['connects']} busy={st['busy']} "
            f"no_answer={st['no_answers']} failed={st['failed']} abandoned={st['abandoned']} "
            f"abandon_rate={'-' if rate is None else f'{rate:.1%}'} in_flight={st['in_flight']} "
            f"leads_left={st['leads_left']} refused={refused}"
            + ("" if self.clicks is None else f" agent_dials={self.clicks.stats.dials}")
        ]

    async def close(self) -> None:
        """Pauses the campaign (a restart on the database goes on with it); calls in
        progress are cancelled or hung up."""
        with contextlib.suppress(ValueError, StateError):
            self.campaign.pause(self.now())
        for out in list(self._live.values()):
            out.cancel()
            with contextlib.suppress(Exception):  # shutting down: a failed BYE changes nothing
                await out.bye()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _next_event(
    inbox: asyncio.Queue[Event], gone: asyncio.Future[str], timeout: float
) -> Event | None:
    """The call's next engine event, or None at the timeout or when the lead hangs up."""
    get = asyncio.ensure_future(inbox.get())
    waits: set[asyncio.Future[Any]] = {get, gone}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not get.done():
            get.cancel()  # a cancelled Queue.get leaves its event in the queue
            with contextlib.suppress(asyncio.CancelledError):
                await get
    return get.result() if get.done() and not get.cancelled() else None


def _connected_agent(engine: Engine, call: str) -> str | None:
    """The agent `call` is connected to in the engine, if it is."""
    try:
        info = engine.call(call)
    except KeyError:
        return None
    return info.agents[0] if info.state == "connected" and info.agents else None


def _user(uri: str) -> str:
    """The user part of a SIP URI (our caller id as the records show it)."""
    try:
        return Uri.parse(uri).user or uri
    except SipParseError:
        return uri
