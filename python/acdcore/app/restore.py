"""Restarting the contact center from its records' checkpoint: a killed `acdcore serve`
started again on the same database carries on from its last commit.

Each commit saves, beside the engine snapshot and the open calls (`CallRecorder`), what only
the server knows (`save`): the phones' registrations and which waiting calls are callbacks.
`resume` rebuilds from that, deciding for what did not survive the process:

- Registrations are restored with their remaining expiry, so phones need not re-register
  (a phone keeps its binding until its own refresh, as with any registrar that persists).
  One made in the last second before the kill (after the last commit) is unknown; so is the
  agent's login with it, and the phone's next refresh logs it in. A registration made over
  TCP is not restored: its connection, the only way to the phone, died with the process;
  its agent is logged out until the phone's next refresh, over a new connection.
- Agents keep their engine state (available, paused with its reason, in wrap-up) when a
  registration of their phone is still live; an agent without one cannot be reached and is
  logged out (its phone registering again logs it in).
- Waiting callbacks keep their place in line: the customer is off the line anyway. One being
  offered to an agent at the kill goes back in line (the offer is rejected: its ringing leg
  is gone). Their max-wait exemption is in the engine snapshot; `[callbacks] expire_after`
  counts from the request time in the record (`callback_requested`), so `start` arms the
  same expiries (one that fell due during the downtime expires at once). A retry waiting
  out `retry_after` (not in the engine) is saved with its due time and request time and
  scheduled again, at once if that time passed during the downtime.
- Every other call the engine held had its caller (and maybe an agent) on SIP dialogs that
  died with the process: it is closed with outcome "lost" (`CallRecorder.lose`) at the
  engine's time in the checkpoint, the last instant it was known alive.
- A call still in the flow before any queue (greeting, menu, login) has no record yet (the
  records start at the queue), so `save` keeps each one's caller, called number, arrival and
  flow path; the restart writes its CDR (`CallRecorder.unqueued`, queue "") with outcome
  "lost", `attributes.lost = {"why": "restart", "state": "flow"}` and the path, ending at the
  last commit's time.
- The phones at the far end of those dialogs (a caller's UA, an agent's phone, a lead) do
  not know the process died. `save` keeps what a BYE needs of every dialog of ours (Call-ID,
  tags, URIs, remote target, route set, CSeq, transport, peer address: `DIALOG_FIELDS`), and
  the restarted server sends each one BYE, best effort, once the lost records are committed:
  one transaction (its own retransmissions), no retry; a 481 or no answer is logged at info.
  Over TCP the connection died too: the BYE goes to the remote target (or first route) on a
  new connection, or to the far end's URI when the target named the dead connection's port
  (`bye_dest`).
- A leg still ringing at the kill (an agent's phone, a lead, a callback customer, a ring
  group or transfer target: any INVITE of ours without its final answer, `Uac.ringing`) has
  no dialog yet. `save` keeps what its CANCEL needs (RFC 3261 9.1: Request-URI, top Via with
  its branch, From with its tag, To, Call-ID, CSeq number, Route; the destination and
  transport: `RINGING_FIELDS`), and the restarted server takes each back (`Uac.adopt`) as
  soon as it listens, then, once the lost records are committed, sends its CANCEL: a new
  transaction retransmitted on the timers of 17.1.2 (over UDP about ten times in 32 s, then
  given up), over TCP on a new connection (`bye_dest`). The answer is logged at info: 200,
  then the callee's 487 to the INVITE, which gets its ACK; a 481 when the INVITE had ended
  already. A callee that answered before the CANCEL reached it (its 200 to the dead INVITE,
  which no transaction of ours matches, arrives as a stray response) gets an ACK and a BYE:
  RFC 3261 15, the UAC ends a dialog it does not want; one whose 200 comes before the CANCEL
  is sent gets no CANCEL, only that ACK and BYE. An INVITE sent after the last commit is not
  known: its callee rings until it gives up, or answers and, its 200 never acknowledged,
  ends the call itself. Nor are these orphans saved again: a second kill before their
  CANCEL is answered leaves them ringing.
- The `[campaign]`'s state is its own host blob (`Dialer.save`, written in the same commits
  only when it changed); `resume` reads it back and the dialer restores it, closing the dials
  the kill cut off (app/dialer.py).
- `fresh=True` starts an empty engine, but first closes every call of the checkpoint
  (callbacks too) as lost, so no call of the previous run is left without a record; each
  callback retry it was waiting out gets a queue-log "callback" line, result "lost"; the
  calls in the flow are recorded lost, the dead dialogs get their BYE and the ringing legs
  their CANCEL as above. The saved campaign is deleted: the campaign starts anew.

Queue and agent settings come from the checkpoint (the engine has no call to change them);
queues new in the config are added. A changed queue option takes effect with `fresh`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acdcore._core import Engine, SipMessage, SipParseError, StateError, Uri
from acdcore.app.callbacks import HELD_FIELDS
from acdcore.app.config import Config
from acdcore.app.dialer import BLOB as CAMPAIGN_BLOB
from acdcore.app.dialer import PACER_BLOB
from acdcore.flows.errors import FlowError, Problem
from acdcore.records.recorder import CallRecorder
from acdcore.records.store import RecordStore, StoreError
from acdcore.records.writer import RecordWriter
from acdcore.sip.dialog import Leg
from acdcore.sip.registrar import Registrar, aor_of
from acdcore.sip.transport import Addr

if TYPE_CHECKING:
    from acdcore.app.server import ContactCenter
    from acdcore.sip.uac import OutgoingCall

log = logging.getLogger(__name__)
KEY = "center"  # the server's part of CallRecorder.host
LOST_WHY = "restart"
# What a BYE needs of one dialog, saved as a list in this order: the list is rewritten at
# every commit for every call in progress, so no key names are repeated per dialog.
DIALOG_FIELDS = (
    "call_id", "local_tag", "remote_tag", "local_uri", "remote_uri", "remote_target",
    "dest", "cseq", "transport", "routes",
)  # fmt: skip
# What a CANCEL needs of an INVITE still ringing (RFC 3261 9.1), a list in this order: the
# INVITE's header values as sent (a CANCEL copies them), its destination and transport.
RINGING_FIELDS = ("call_id", "uri", "via", "from", "to", "cseq", "routes", "dest", "transport")


@dataclass
class Restart:
    """What `resume` found and did; `resumed` is False for a new (or fresh) engine."""

    recorder: CallRecorder
    resumed: bool = False
    lost: list[str] = field(default_factory=list)  # calls lost, in a queue or in the flow
    lost_in_flow: list[str] = field(default_factory=list)  # those of `lost` not yet queued
    dialogs: list[Leg] = field(default_factory=list)  # dead dialogs to send a BYE in
    # INVITEs still ringing at the kill, to CANCEL: each rebuilt (no body) with its leg-to-be.
    ringing: list[tuple[SipMessage, Leg]] = field(default_factory=list)
    callbacks: dict[str, tuple[str, str]] = field(default_factory=dict)  # call -> caller, queue
    agents: dict[str, str] = field(default_factory=dict)  # logged in after it -> state
    logged_out: list[str] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)  # live, to restore
    retries: list[dict[str, Any]] = field(default_factory=list)  # callback retries not yet due
    lost_retries: list[str] = field(default_factory=list)  # origins of retries `fresh` dropped
    campaign: bytes | None = None  # the saved campaign, for the dialer to go on with
    campaign_settings: dict[str, Any] | None = None  # the config it was saved under

    def summary(self) -> str:
        if not self.resumed:
            return (
                f"fresh start: {len(self.lost)} calls of the checkpoint recorded as lost "
                f"({len(self.lost_in_flow)} in the flow), "
                f"{len(self.lost_retries)} callback retries recorded as lost, "
                f"{len(self.logged_out)} agents logged out, "
                f"{len(self.ringing)} ringing legs to cancel"
            )
        return (
            f"resumed from the checkpoint: {len(self.agents)} agents logged in, "
            f"{len(self.callbacks)} callbacks waiting, {len(self.lost)} calls lost in the "
            f"restart ({len(self.lost_in_flow)} in the flow), {len(self.logged_out)} agents "
            "logged out, "
            f"{len(self.registrations)} registrations, {len(self.ringing)} ringing legs to cancel"
        )


def wall_clock(epoch: float) -> Callable[[], float]:
    """Engine time as UNIX time minus `epoch`, ticking on the monotonic clock: after a restart
    the downtime passes on the engine's time line too (waits, wrap-ups), so stored times stay
    true UNIX times."""
    start = time.monotonic() - (time.time() - epoch)
    return lambda: time.monotonic() - start


def resume(
    store: RecordStore, writer: RecordWriter, config: Config, *, fresh: bool = False
) -> Restart:
    """The recorder (and engine) to serve with: the checkpoint's, with the calls and agents
    that did not survive closed (module doc), or a new one. An unreadable checkpoint is a
    StoreError, unless `fresh`: then it is set aside with a warning (its calls get no
    record: there is no way to read them)."""
    try:
        out = _resume(store, writer, config, fresh)
    except StoreError as e:
        if not fresh:
            raise StoreError(f"{e} (--fresh starts without it)") from None
        log.warning("checkpoint unreadable, starting empty without it: %s", e)
        out = Restart(_new(writer, config))
    if fresh:
        out.recorder.save_blob(CAMPAIGN_BLOB, None)  # committed before anything new is
        out.recorder.save_blob(PACER_BLOB, None)
    return out


def _resume(store: RecordStore, writer: RecordWriter, config: Config, fresh: bool) -> Restart:
    old = CallRecorder.resume(store, writer)
    if old is None:
        return Restart(_new(writer, config))
    saved = old.host.get(KEY, {})
    if not isinstance(saved, dict):
        raise StoreError(f"corrupt checkpoint: host state {KEY!r} is not an object")
    users = {a.user: a.id for a in config.agents}
    try:
        regs = [
            r
            for r in saved.get("registrations", [])
            if float(r["expires"]) > time.time() + 1.0
            and _user(r["aor"]) in users
            and r.get("transport", "udp") != "tcp"
        ]
        held = {str(call) for call in saved.get("callbacks", [])}
        retries = [_retry(r) for r in saved.get("retries", [])]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise StoreError(
            f"corrupt checkpoint: saved registrations, callbacks or callback retries: {e!r}"
        ) from None
    try:
        flows = [_in_flow(f) for f in saved.get("flows", [])]
        saved_at = float(saved.get("at", old.engine.now))
        dialogs = [_dialog(d) for d in saved.get("dialogs", [])]
    except (KeyError, TypeError, ValueError, AttributeError, SipParseError) as e:
        raise StoreError(f"corrupt checkpoint: saved calls in the flow or dialogs: {e!r}") from None
    try:
        ringing = [_ringing(r) for r in saved.get("ringing", [])]
    except (KeyError, TypeError, ValueError, AttributeError, SipParseError) as e:
        raise StoreError(f"corrupt checkpoint: saved ringing legs: {e!r}") from None
    out = Restart(old, resumed=not fresh, dialogs=dialogs, ringing=ringing)
    engine = old.engine
    open_calls = old.open_calls()
    for f in flows:
        if f["call"] in open_calls:  # cannot be (entering a queue ends the flow's entry)
            continue
        old.unqueued(
            f["arrival"],
            max(saved_at, f["arrival"]),
            f["call"],
            "lost",
            caller=f["caller"],
            called=f["called"],
            attributes={"path": f["path"], "lost": {"why": LOST_WHY, "state": "flow"}},
        )
        out.lost_in_flow.append(f["call"])
    for call, info in old.open_calls().items():
        if info["callback"]:
            held.add(call)
    for call, info in old.open_calls().items():
        if not fresh and call in held and _back_in_line(old, call):
            out.callbacks[call] = (info["caller"] or "", info["queue"])
        else:
            old.lose(call, LOST_WHY)
            out.lost.append(call)
    out.lost += out.lost_in_flow
    reachable = {users[_user(r["aor"])] for r in regs}
    for agent in engine.agents():
        state = engine.agent(agent).state
        if state == "logged-out":
            continue
        if fresh or agent not in reachable:
            old.feed(engine.logout(engine.now, agent))
            out.logged_out.append(agent)
        else:
            out.agents[agent] = engine.agent(agent).state
    if fresh:
        out.lost_retries = _lose_retries(old, retries)
        old.commit().wait(30.0)  # the lost records first, then the empty engine
        return Restart(
            _new(writer, config),
            lost=out.lost,
            lost_in_flow=out.lost_in_flow,
            dialogs=out.dialogs,
            ringing=out.ringing,
            logged_out=out.logged_out,
            lost_retries=out.lost_retries,
        )
    _add_queues(old, config, engine.queues())
    out.registrations = regs
    out.retries = retries
    out.campaign = store.blob(CAMPAIGN_BLOB)
    settings = saved.get("campaign")
    out.campaign_settings = settings if isinstance(settings, dict) else None
    return out


def _lose_retries(recorder: CallRecorder, retries: list[dict[str, Any]]) -> list[str]:
    """`fresh` drops the callback retries the old run was waiting out: each gets the queue-log
    "callback" line a given-up callback gets, with result "lost" (why: the restart), so the
    promise broken is on record. Returns their origin calls."""
    for r in retries:
        recorder.callback_result(
            recorder.engine.now,
            r["origin"],
            r["queue"],
            None,
            result="lost",
            why=LOST_WHY,
            attempts=r["attempt"],
            number=r["number"],
            of=r["origin"],
        )
    return [r["origin"] for r in retries]


def _new(writer: RecordWriter, config: Config) -> CallRecorder:
    recorder = CallRecorder(Engine(auto_accept=False), writer, epoch=time.time())
    _add_queues(recorder, config, [])
    return recorder


def _add_queues(recorder: CallRecorder, config: Config, have: list[str]) -> None:
    """The config's queues the engine lacks; the engine's refusal (e.g. a bad escalation
    step) is a FlowError naming the queue in the config file."""
    for q in config.queues:
        if q.id in have:
            continue
        try:
            recorder.add_queue(q.id, **q.options)
        except (KeyError, ValueError, TypeError) as e:
            raise FlowError([Problem(config.source, None, f"queues.{q.id}", str(e))]) from None


def _back_in_line(recorder: CallRecorder, call: str) -> bool:
    """Whether a callback can keep its place: waiting, or offered (the offer is rejected)."""
    engine = recorder.engine
    try:
        info = engine.call(call)
    except KeyError:
        return False
    if info.state == "offered":
        for agent in info.agents:
            with contextlib.suppress(KeyError, StateError):
                recorder.feed(engine.reject(engine.now, call, agent))
        info = engine.call(call)
    return info.state in ("waiting", "held")


def _user(aor: str) -> str:
    return aor.removeprefix("sip:").partition("@")[0]


def _retry(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved callback retry, checked: the fields of `callbacks.Held` and its due time."""
    # `since` (the request's engine time) is missing from checkpoints of older versions.
    out = {k: saved[k] for k in HELD_FIELDS if k != "since"}
    for k in ("number", "queue", "origin", "called"):
        if not isinstance(out[k], str):
            raise TypeError(f"retry field {k!r} is {out[k]!r}, not a string")
    out["attempt"], out["priority"] = int(out["attempt"]), int(out["priority"])
    if "since" in saved:
        out["since"] = float(saved["since"])
    out["due"] = float(saved["due"])
    return out


def _in_flow(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved call in the flow, checked."""
    out = {k: saved[k] for k in ("call", "caller", "called", "arrival", "path")}
    if not isinstance(out["call"], str):
        raise TypeError(f"call in the flow {out['call']!r} is not a string")
    for k in ("caller", "called"):
        if out[k] is not None and not isinstance(out[k], str):
            raise TypeError(f"call {out['call']!r} in the flow: {k} {out[k]!r} is not a string")
    out["arrival"] = float(out["arrival"])
    out["path"] = [str(node) for node in out["path"]]
    return out


def dialog_state(leg: Leg) -> list[Any]:
    """What a BYE in `leg`'s dialog needs, in `DIALOG_FIELDS` order (JSON-safe)."""
    return [
        leg.call_id, leg.local_tag, leg.remote_tag, leg.local_uri, leg.remote_uri,
        leg.remote_target, list(leg.dest), leg.cseq, leg.transport,
        [r.text for r in leg.route_set],
    ]  # fmt: skip


def _dialog(saved: list[Any]) -> Leg:
    """A saved dialog as a `Leg` to send its BYE in (our address is set when we serve)."""
    if not isinstance(saved, list) or len(saved) != len(DIALOG_FIELDS):
        raise ValueError(f"saved dialog {saved!r} is not a list of {len(DIALOG_FIELDS)}")
    d = dict(zip(DIALOG_FIELDS, saved, strict=True))
    for k in DIALOG_FIELDS[:6]:
        if not isinstance(d[k], str):
            raise TypeError(f"dialog field {k!r} is {d[k]!r}, not a string")
    host, port = d["dest"]
    # Route headers parsed back as the proxy wrote them (Leg.request reads `;lr` off them).
    routes = SipMessage.request("BYE", d["remote_target"], [("Route", str(r)) for r in d["routes"]])
    return Leg(
        d["call_id"], d["local_tag"], d["remote_tag"], d["local_uri"], d["remote_uri"],
        d["remote_target"], (str(host), int(port)), ("0.0.0.0", 0), int(d["cseq"]),
        state="confirmed", route_set=routes.routes(), transport=str(d["transport"]).upper(),
    )  # fmt: skip


def ringing_state(call: OutgoingCall) -> list[Any] | None:
    """What a CANCEL of `call`'s INVITE needs, in `RINGING_FIELDS` order (JSON-safe); None
    before the INVITE went out."""
    invite = call.invite
    if invite is None:
        return None
    return [
        invite.call_id, invite.request_uri, invite.header("Via"), invite.header("From"),
        invite.header("To"), invite.cseq[0], invite.header_lines("Route"), list(call.leg.dest),
        call.leg.transport,
    ]  # fmt: skip


def _ringing(saved: list[Any]) -> tuple[SipMessage, Leg]:
    """A saved ringing INVITE rebuilt (headers as sent, no body) and the leg its answer would
    make (our address is set when we serve)."""
    if not isinstance(saved, list) or len(saved) != len(RINGING_FIELDS):
        raise ValueError(f"saved ringing leg {saved!r} is not a list of {len(RINGING_FIELDS)}")
    r = dict(zip(RINGING_FIELDS, saved, strict=True))
    for k in RINGING_FIELDS[:5]:
        if not isinstance(r[k], str):
            raise TypeError(f"ringing leg {saved!r}: field {k!r} is not a string")
    if not isinstance(r["routes"], list) or not all(isinstance(x, str) for x in r["routes"]):
        raise TypeError(f"ringing leg {saved!r}: routes are not a list of strings")
    host, port = r["dest"]
    invite = SipMessage.request(
        "INVITE", r["uri"],
        [("Via", r["via"]), ("Max-Forwards", "70"), ("From", r["from"]), ("To", r["to"]),
         ("Call-ID", r["call_id"]), ("CSeq", f"{int(r['cseq'])} INVITE"),
         *[("Route", x) for x in r["routes"]]],
    )  # fmt: skip
    ours = invite.from_
    if not ours.tag or not invite.vias()[0].branch:
        raise ValueError(f"ringing leg {saved!r}: no From tag or no Via branch")
    leg = Leg(
        r["call_id"], ours.tag, "", ours.uri.text, invite.to.uri.text, r["uri"],
        (str(host), int(port)), ("0.0.0.0", 0), invite.cseq[0], route_set=invite.routes(),
        transport=str(r["transport"]).upper(),
    )  # fmt: skip
    return invite, leg


def bye_dest(leg: Leg, reliable: bool) -> Addr:
    """Where a dead dialog's BYE (or a dead INVITE's CANCEL: `leg` its leg-to-be, the remote
    target its Request-URI) goes: over UDP the peer's address as before; over TCP the
    old connection is gone, so the first route's or the remote target's host and port. A
    phone whose Contact named that very connection's port (baresip over TCP does) listens
    elsewhere: then the URI of the far end we know (for a leg we placed, the registered
    Contact we called)."""
    if not reliable:
        return leg.dest
    if leg.route_set:
        uri = leg.route_set[0].uri
    else:
        uri = Uri.parse(leg.remote_target)
        if (uri.host, uri.port or 5060) == tuple(leg.dest):
            uri = Uri.parse(leg.remote_uri)
    return (uri.host, uri.port or 5060)


def save(center: ContactCenter) -> None:
    """The server's state into the next checkpoint: callbacks on hold and registrations
    (expiry as UNIX time), the calls in the flow, our dialogs and ringing INVITEs (for the
    restart to record, hang up and cancel), and the campaign's blob when it changed. Once
    per commit: O(bindings + held calls + calls in progress + ringing legs) (plus the
    campaign's snapshot after a change), never per call."""
    if center.dialer is not None:
        center.dialer.save()
    loop_now = asyncio.get_running_loop().time()
    wall = time.time()
    sb = center.sb
    dialogs = [dialog_state(c.leg) for c in center.callers.values()]
    ringing = []
    for name in center.transports:
        uac = center.uac_for(name)
        dialogs += [dialog_state(call.leg) for call in uac.calls.values()]
        ringing += [r for r in map(ringing_state, uac.ringing.values()) if r is not None]
    center.recorder.host[KEY] = {
        "at": sb.now(),
        "flows": [
            {
                "call": call,
                "caller": sb.callers.get(call, (None, None))[0],
                "called": sb.callers.get(call, (None, None))[1],
                "arrival": f.arrival,
                "path": f.path,
            }
            for call, f in sb.in_flow.items()
        ],
        "dialogs": dialogs,
        "ringing": ringing,
        "callbacks": center.sb.on_hold(),
        "retries": center.callbacks.pending_retries(),
        "campaign": None if center.dialer is None else center.dialer.settings(),
        "registrations": [
            {
                "aor": b.aor,
                "contact": b.contact,
                "expires": wall + (b.expires_at - loop_now),
                "call_id": b.call_id,
                "cseq": b.cseq,
                "source": list(b.source),
                "transport": b.transport,
            }
            for b in center.registrar.bindings()
        ],
    }


def restore_registrations(registrar: Registrar, registrations: list[dict[str, Any]]) -> int:
    """Put the saved bindings back (needs the running loop: expiry timers); returns how many."""
    wall = time.time()
    count = 0
    for r in registrations:
        try:
            aor_of(r["aor"])
            host, port = r["source"]
            registrar.restore(
                r["aor"], r["contact"], float(r["expires"]) - wall, str(r["call_id"]),
                int(r["cseq"]), (str(host), int(port)),
            )  # fmt: skip
            count += 1
        except (KeyError, ValueError, TypeError, SipParseError) as e:
            log.warning("saved registration %r not restored: %s", r, e)
    return count
