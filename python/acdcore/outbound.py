"""Outbound campaigns: lead lists, do-not-call lists and compliant dialing (docs/outbound.md).

Times are Unix seconds (calling hours are in each lead's local time, so the campaign needs the
calendar). The host drives a campaign: `tick` returns the dials to place, `dial_result`
reports how each ended, `connect` / `hangup` / `disposition` follow a live call. With an
`Engine` and an outbound queue, ready agents are read from the queue and answered calls are
offered to its agents (blending: inbound calls share those agents).
"""

from __future__ import annotations

import csv
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from acdcore import _core

__all__ = [
    "MODES",
    "OUTCOMES",
    "PROFILES",
    "Action",
    "BadRow",
    "Campaign",
    "Dial",
    "DncList",
    "LeadList",
    "PacedCampaign",
]

MODES = ("click-to-dial", "preview", "progressive", "power", "predictive", "voice-broadcast")
OUTCOMES = ("human", "machine", "no-answer", "busy", "failed")

#: Abandonment caps: (cap, rolling window in seconds, AMD false positives counted).
PROFILES: dict[str, tuple[float, float, bool]] = {
    "us": (0.03, 30 * 86400.0, False),
    "uk": (0.03, 86400.0, True),
}


class BadRow(NamedTuple):
    """A rejected row: `row` is the CSV line (header = 1) or the 0-based index."""

    row: int
    column: str
    value: str
    reason: str


class Dial(NamedTuple):
    lead: int
    number: str
    campaign: str
    ring_timeout: float
    preferred_agent: str | None


class Action(NamedTuple):
    """What the host does next: "connect" (to `agent` first, until `until`), "play-message"
    (voice broadcast) or "play-info-message" (an abandoned call, by `deadline`)."""

    kind: str
    lead: int
    agent: str | None = None
    until: float | None = None
    deadline: float | None = None
    engine_events: tuple[_core.Event, ...] = ()


def _numbers(values: Iterable[str | int] | npt.ArrayLike) -> tuple[np.ndarray, list[BadRow]]:
    """E.164 texts or integer digits -> uint64, and the entries that are not numbers."""
    arr = np.asarray(values)
    if arr.dtype.kind in "ui":
        if arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0:
            i = int(np.argmin(arr))
            raise ValueError(f"number at index {i} is negative: {arr[i]}")
        return arr.astype(np.uint64).ravel(), []
    texts = [str(v) for v in arr.ravel().tolist()]
    good, idx, bad = _core.parse_e164(texts)
    del idx
    return good, [BadRow(i, "phone", texts[i], why) for i, why in bad]


class DncList:
    """Numbers never to dial: millions of them, looked up before every dial.

    `bad_rows` lists entries that are not E.164 numbers (skipped)."""

    def __init__(self, numbers: Iterable[str | int] | npt.ArrayLike = ()) -> None:
        arr, self.bad_rows = _numbers(numbers)
        self._core = _core.DncList(np.ascontiguousarray(arr, dtype=np.uint64))

    def __len__(self) -> int:
        return len(self._core)

    def __contains__(self, number: object) -> bool:
        if isinstance(number, str):
            got, _, _ = _core.parse_e164([number])
            return bool(got.size) and self._core.contains(int(got[0]))
        if isinstance(number, int | np.integer) and int(number) >= 0:
            return self._core.contains(int(number))
        return False

    def contains_many(self, numbers: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """uint64 digits in, a bool array out (malformed texts are not listed: False)."""
        arr = np.asarray(numbers)
        if arr.dtype.kind in "ui":
            return self._core.contains_many(np.ascontiguousarray(arr, dtype=np.uint64))
        texts = [str(v) for v in arr.ravel().tolist()]
        good, idx, _ = _core.parse_e164(texts)
        out = np.zeros(len(texts), dtype=np.bool_)
        out[idx.astype(np.intp)] = self._core.contains_many(good)
        return out

    def count_many(self, numbers: npt.ArrayLike) -> int:
        """How many of the numbers are listed (no answer per number: the fastest batch)."""
        arr = np.asarray(numbers)
        if arr.dtype.kind in "ui":
            if arr.size and arr.dtype.kind == "i" and arr.min() < 0:
                raise ValueError("numbers must be non-negative E.164 digits")
            return self._core.count_many(np.ascontiguousarray(arr, dtype=np.uint64))
        return int(self.contains_many(arr).sum())


def _priority(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class LeadList:
    """Leads checked row by row: bad rows are in `bad_rows` (row, column, value, reason) and
    are never dialed. Extra columns are kept per lead in `fields`."""

    def __init__(
        self, *, zone_prefixes: Mapping[str, str] | None = None, default_zone: str | None = None
    ) -> None:
        pairs = list((zone_prefixes or {}).items())
        self._core = _core.LeadList(pairs, default_zone)
        self.fields: list[dict[str, Any]] = []
        self._bad: list[BadRow] = []

    @property
    def bad_rows(self) -> list[BadRow]:
        core = [BadRow(*b) for b in self._core.bad_rows()]
        return sorted(self._bad + core, key=lambda b: b.row)

    def __len__(self) -> int:
        return len(self._core)

    @property
    def numbers(self) -> list[str]:
        return [f"+{n}" for n in self._core.numbers().tolist()]

    @property
    def zones(self) -> list[str]:
        return self._core.zones()

    @property
    def priorities(self) -> npt.NDArray[np.int64]:
        return self._core.priorities()

    @property
    def rows(self) -> npt.NDArray[np.uint64]:
        """The source row of each lead."""
        return self._core.rows()

    def _add(self, rows: Sequence[tuple[int, object, object, object, dict[str, Any]]]) -> None:
        keep: list[tuple[int, str, str | None, int, dict[str, Any]]] = []
        for row, phone, zone, prio, extra in rows:
            p = _priority(prio)
            if p is None:
                self._bad.append(BadRow(row, "priority", str(prio), "not an integer"))
                continue
            z = None if zone is None else str(zone)
            keep.append((row, "" if phone is None else str(phone), z, p, extra))
        before = len(self._core)
        self._core.push(
            np.array([k[0] for k in keep], dtype=np.uint64),
            [k[1] for k in keep],
            [k[2] for k in keep],
            np.array([k[3] for k in keep], dtype=np.int64),
        )
        accepted = set(self._core.rows()[before:].tolist())
        self.fields.extend(k[4] for k in keep if k[0] in accepted)

    def append(self, phone: str, timezone: str | None = None, priority: int = 0) -> int:
        """One more lead (a number dialed outside the list); its index. A bad number or zone
        is a ValueError with the reason (and a bad row, numbered by that index)."""
        row = len(self)
        if self._core.push(np.array([row], dtype=np.uint64), [phone], [timezone],
                           np.array([priority], dtype=np.int64)) != 1:  # fmt: skip
            raise ValueError(f"lead {phone!r}: {self._core.bad_rows()[-1][3]}")
        self.fields.append({})
        return row

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        phone: str = "phone",
        timezone: str = "timezone",
        priority: str = "priority",
        zone_prefixes: Mapping[str, str] | None = None,
        default_zone: str | None = None,
    ) -> LeadList:
        """A header row is required; rows are reported by line (the header is line 1)."""
        out = cls(zone_prefixes=zone_prefixes, default_zone=default_zone)
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or phone not in reader.fieldnames:
                raise ValueError(f"{path}: no {phone!r} column in the header")
            named = {phone, timezone, priority}
            rows = [
                (
                    reader.line_num,
                    r.get(phone),
                    r.get(timezone),
                    r.get(priority),
                    {k: v for k, v in r.items() if k not in named and k is not None},
                )
                for r in reader
            ]
        out._add(rows)
        return out

    @classmethod
    def from_iterable(
        cls,
        rows: Iterable[Mapping[str, Any] | str],
        *,
        zone_prefixes: Mapping[str, str] | None = None,
        default_zone: str | None = None,
    ) -> LeadList:
        """Numbers (str), or mappings with "phone" and optional "timezone", "priority" and
        custom fields; rows are reported by 0-based index."""
        out = cls(zone_prefixes=zone_prefixes, default_zone=default_zone)
        items: list[tuple[int, object, object, object, dict[str, Any]]] = []
        for i, r in enumerate(rows):
            if isinstance(r, str):
                items.append((i, r, None, None, {}))
                continue
            extra = {k: v for k, v in r.items() if k not in ("phone", "timezone", "priority")}
            items.append((i, r.get("phone"), r.get("timezone"), r.get("priority"), extra))
        out._add(items)
        return out

    @classmethod
    def from_numpy(
        cls,
        phones: npt.ArrayLike,
        timezones: Iterable[str | None] | None = None,
        priorities: npt.ArrayLike | None = None,
        *,
        zone_prefixes: Mapping[str, str] | None = None,
        default_zone: str | None = None,
    ) -> LeadList:
        """`phones`: uint64 digits (after the +) or strings; rows are reported by index."""
        out = cls(zone_prefixes=zone_prefixes, default_zone=default_zone)
        ph = np.asarray(phones)
        n = len(ph)
        zones = None if timezones is None else [None if z is None else str(z) for z in timezones]
        if priorities is None:
            prio = np.zeros(n, dtype=np.int64)
        else:
            raw = np.asarray(priorities)
            if raw.dtype.kind not in "iu":
                raise ValueError(f"priorities must be integers, got dtype {raw.dtype}")
            prio = raw.astype(np.int64)
        if ph.dtype.kind == "i":
            if n and int(ph.min()) < 0:
                raise ValueError(f"phone at index {int(np.argmin(ph))} is negative")
            ph = ph.astype(np.uint64)
        numbers: npt.NDArray[np.uint64] | list[str] = (
            np.ascontiguousarray(ph, dtype=np.uint64)
            if ph.dtype.kind == "u"
            else [str(p) for p in ph.tolist()]
        )
        out._core.push(np.arange(n, dtype=np.uint64), numbers, zones, prio)
        out.fields = [{} for _ in range(len(out._core))]
        return out


def _clock(text: str, what: str) -> int:
    """ "HH:MM" (24:00 allowed as an end) -> seconds after midnight."""
    try:
        h, m = text.split(":")
        secs = int(h) * 3600 + int(m) * 60
        if 0 <= int(m) < 60 and 0 <= secs <= 86400:
            return secs
    except ValueError:
        pass
    raise ValueError(f"{what} must be HH:MM, got {text!r}")


def _core_rules(
    calling_hours: tuple[str, str], holidays: Iterable[tuple[str | None, str] | str],
    min_gap: float, max_attempts: int, ring_timeout: float,
    retry: Mapping[str, float | None] | None, callback_window: float, outbound_share: float,
) -> dict[str, Any]:  # fmt: skip
    """The rules as `_core.Campaign` and its `set_rules` take them: hours in seconds after
    midnight, a bare holiday date for every zone."""
    start, end = calling_hours
    return {
        "hours": (_clock(start, "calling_hours start"), _clock(end, "calling_hours end")),
        "holidays": [(None, h) if isinstance(h, str) else h for h in holidays],
        "min_gap": min_gap, "max_attempts": max_attempts, "ring_timeout": ring_timeout,
        "retry": None if retry is None else dict(retry), "callback_window": callback_window,
        "outbound_share": outbound_share,
    }  # fmt: skip


class Campaign:
    """A campaign over a `LeadList` (see the module doc and docs/outbound.md)."""

    def __init__(
        self,
        leads: LeadList,
        *,
        now: float,
        id: str = "campaign",
        dnc: DncList | None = None,
        mode: str = "progressive",
        ratio: float = 1.0,
        lines: int = 1,
        profile: str = "us",
        abandon_cap: float | None = None,
        abandon_window: float | None = None,
        amd_false_positive_rate: float | None = None,
        calling_hours: tuple[str, str] = ("08:00", "21:00"),
        holidays: Iterable[tuple[str | None, str] | str] = (),
        min_gap: float = 0.0,
        max_attempts: int = 3,
        ring_timeout: float = 20.0,
        retry: Mapping[str, float | None] | None = None,
        callback_window: float = 300.0,
        outbound_share: float = 1.0,
        engine: _core.Engine | None = None,
        queue: str | None = None,
        outbound_priority: int = 0,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown compliance profile {profile!r} (expected us or uk)")
        cap, window, counts_fp = PROFILES[profile]
        if counts_fp and amd_false_positive_rate is None:
            raise ValueError(
                "profile 'uk' counts answering-machine-detection false positives: give "
                "amd_false_positive_rate (the share of machine verdicts that were people)"
            )
        if (engine is None) != (queue is None):
            raise ValueError("engine and queue go together (the queue outbound calls join)")
        if engine is not None and queue is not None:
            engine.queue_stats(queue)  # KeyError naming an unknown queue
        self.leads = leads
        self.engine = engine
        self.queue = queue
        self.outbound_priority = outbound_priority
        self._calls: dict[str, int] = {}
        self._core = _core.Campaign(
            id,
            leads._core,
            now,
            dnc=None if dnc is None else dnc._core,
            mode=mode,
            ratio=ratio,
            lines=lines,
            abandon_cap=cap if abandon_cap is None else abandon_cap,
            abandon_window=window if abandon_window is None else abandon_window,
            amd_false_positive_rate=amd_false_positive_rate or 0.0,
            **_core_rules(
                calling_hours,
                holidays,
                min_gap,
                max_attempts,
                ring_timeout,
                retry,
                callback_window,
                outbound_share,
            ),
        )

    @property
    def id(self) -> str:
        return self._core.id

    @property
    def mode(self) -> str:
        return self._core.mode

    @property
    def ratio(self) -> float:
        return self._core.ratio

    @property
    def lines(self) -> int:
        """Simultaneous calls in voice-broadcast mode."""
        return self._core.lines

    @property
    def state(self) -> str:
        """created, running, paused or stopped."""
        return self._core.state

    def start(self, now: float) -> None:
        self._core.start(now)

    def pause(self, now: float) -> None:
        self._core.pause(now)

    def stop(self, now: float) -> None:
        self._core.stop(now)

    def set_mode(self, mode: str, ratio: float | None = None, lines: int | None = None) -> None:
        self._core.set_mode(mode, ratio, lines)

    @property
    def rules(self) -> dict[str, Any]:
        """The rules in force: calling_hours ("HH:MM" local), min_gap, max_attempts,
        ring_timeout, retry (outcome -> seconds or None), callback_window, outbound_share,
        and the profile's abandon_cap and abandon_window."""
        r = self._core.rules()
        r["calling_hours"] = tuple(f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in r.pop("hours"))
        return r

    def set_rules(
        self,
        *,
        calling_hours: tuple[str, str] = ("08:00", "21:00"),
        holidays: Iterable[tuple[str | None, str] | str] = (),
        min_gap: float = 0.0,
        max_attempts: int = 3,
        ring_timeout: float = 20.0,
        retry: Mapping[str, float | None] | None = None,
        callback_window: float = 300.0,
        outbound_share: float = 1.0,
    ) -> None:
        """Replace the campaign's rules from now on (as the constructor takes them; an
        argument not given is its default, not the current value). Every dial from now on is
        checked by them and every outcome retried by them; what was decided stays: a retry
        keeps its time, a finished lead stays finished. The compliance profile (abandonment
        cap and window) cannot change here. Bad values are a ValueError naming them, and
        change nothing; a new ring_timeout while dials ring is a StateError."""
        self._core.set_rules(
            **_core_rules(
                calling_hours,
                holidays,
                min_gap,
                max_attempts,
                ring_timeout,
                retry,
                callback_window,
                outbound_share,
            )
        )

    def _dial(self, d: tuple[int, int, float, str | None]) -> Dial:
        return Dial(d[0], f"+{d[1]}", self.id, d[2], d[3])

    def agents(self) -> tuple[int, int]:
        """(ready, staffed) in the engine's outbound queue."""
        if self.engine is None or self.queue is None:
            raise ValueError("no engine: pass ready and staffed to tick")
        by_state = self.engine.queue_stats(self.queue).agents
        ready = by_state.get("available", 0)
        staffed = ready + sum(by_state.get(s, 0) for s in ("reserved", "busy", "wrap-up"))
        return ready, staffed

    def tick(
        self,
        now: float,
        ready: int | None = None,
        staffed: int | None = None,
        dials_wanted: int | None = None,
    ) -> list[Dial]:
        """The dials to place now. `dials_wanted`: the pacing model's count (predictive), or
        the free lines (voice broadcast: calls still hearing the message hold theirs)."""
        if ready is None or staffed is None:
            r, s = self.agents()
            ready = r if ready is None else ready
            staffed = s if staffed is None else staffed
        return [self._dial(d) for d in self._core.tick(now, ready, staffed, dials_wanted)]

    def preview(self, now: float) -> int | None:
        return self._core.preview(now)

    def release(self, lead: int, now: float) -> None:
        self._core.release(lead, now)

    def add_lead(self, phone: str, timezone: str | None = None, priority: int = 0) -> int:
        """A lead added to the running campaign (click-to-dial of a number not in the list);
        its index. It is not put in line: only `dial` places its first attempt; then it is a
        lead like any other (retried per outcome, every rule applied). `leads` gets it too."""
        row = self.leads.append(phone, timezone, priority)
        lead = self._core.add_lead(self.leads._core, row)
        if lead != row:
            raise ValueError(f"leads has {row} leads before this one, the campaign {lead}")
        return lead

    def dial(self, lead: int, now: float) -> Dial:
        """Click-to-dial or a previewed lead; a compliance refusal raises StateError."""
        return self._dial(self._core.dial(lead, now))

    @staticmethod
    def _action(a: tuple[str, int, str | None, float | None]) -> Action:
        kind, lead, agent, t = a
        if kind == "connect":
            return Action(kind, lead, agent, t)
        return Action(kind, lead, deadline=t)

    def dial_result(self, lead: int, outcome: str, now: float) -> list[Action]:
        """How a dial ended (one of OUTCOMES). With an engine, an answered call joins the
        outbound queue; when no agent can take it at once it is abandoned and the action is
        "play-info-message"."""
        actions = [self._action(a) for a in self._core.dial_result(lead, outcome, now)]
        if self.engine is None or self.queue is None:
            return actions
        return [self._offer(a, now) if a.kind == "connect" else a for a in actions]

    def _offer(self, a: Action, now: float) -> Action:
        assert self.engine is not None and self.queue is not None
        call = f"{self.id}:{a.lead}:{self._core.lead(a.lead)['attempts']}"
        events = self.engine.enqueue(
            now, call, self.queue, priority=self.outbound_priority, preferred_agent=a.agent
        )
        mine = [e for e in events if e.call == call]
        if any(e.kind == "assign" for e in mine):
            self._core.connect(a.lead, now)
        if any(e.kind in ("offer", "assign") for e in mine):
            self._calls[call] = a.lead
            return a._replace(engine_events=tuple(events))
        events += self.engine.hangup(now, call)
        info = self.abandon(a.lead, now)
        return info._replace(engine_events=tuple(events))

    def on_engine_events(self, events: Iterable[_core.Event]) -> None:
        """Follows this campaign's calls in engine events: an assign connects, an end hangs up."""
        for e in events:
            lead = self._calls.get(e.call or "")
            if lead is None:
                continue
            if e.kind == "assign":
                self._core.connect(lead, e.t)
            elif e.kind == "end":
                self._calls.pop(e.call or "", None)
                if self._core.lead(lead)["state"] == "answered":
                    self._core.hangup(lead, e.t)

    def abandon(self, lead: int, now: float) -> Action:
        """No agent took an answered call: play the information message by the deadline."""
        return self._action(self._core.abandon(lead, now))

    def connect(self, lead: int, now: float) -> None:
        self._core.connect(lead, now)

    def hangup(self, lead: int, now: float) -> None:
        self._core.hangup(lead, now)

    def disposition(
        self,
        lead: int,
        now: float,
        *,
        callback_at: float | None = None,
        agent: str | None = None,
    ) -> None:
        """Final (default), or call back at `callback_at`, offered first to `agent`."""
        self._core.disposition(lead, now, callback_at, agent)

    def lead(self, lead: int) -> dict[str, Any]:
        """State, attempts, last outcome and the last refusal reason of one lead, plus its
        custom fields."""
        d = self._core.lead(lead)
        if lead < len(self.leads.fields):
            d["fields"] = self.leads.fields[lead]
        return d

    def stats(self) -> dict[str, Any]:
        return self._core.stats()

    def __len__(self) -> int:
        return len(self._core)

    @property
    def changes(self) -> int:
        """A counter of what `snapshot` keeps (dials, results, refusals, the run state; an
        idle tick adds nothing): a host saves the campaign only when it moved."""
        return self._core.changes

    def interrupted(self, now: float) -> list[tuple[int, str]]:
        """After `restore` on a restart: closes each lead whose call died with the process,
        as the host would have when the call ended, and returns (lead, the state it was in).
        "dialing" becomes a failed attempt (counted; retried per the failed delay),
        "answered" without an agent an abandon (it counts against the cap), "answered" with
        one a talk ended with a final disposition, "previewing" goes back in line. With an
        engine, the campaign forgets those leads' calls (the restart closed them there)."""
        cut = self._core.interrupted(now)
        gone = {lead for lead, _ in cut}
        self._calls = {c: lead for c, lead in self._calls.items() if lead not in gone}
        return cut

    def snapshot(self) -> bytes:
        """Everything the campaign knows (attempts, retry schedule, callbacks, the abandonment
        window, statistics, the clock, its calls waiting in the engine) as versioned bytes, for
        `Campaign.restore` after a restart. The leads' custom fields, the DNC list and the
        engine are not in it: `restore` takes them back."""
        core = self._core.snapshot()
        calls = json.dumps(self._calls, separators=(",", ":")).encode()
        return _SNAPSHOT_TAG + struct.pack(">Q", len(core)) + core + calls

    @classmethod
    def restore(
        cls,
        data: bytes,
        leads: LeadList,
        *,
        dnc: DncList | None = None,
        engine: _core.Engine | None = None,
        queue: str | None = None,
        outbound_priority: int = 0,
        added_leads: bool = False,
    ) -> Campaign:
        """The campaign `snapshot()` saved, going on exactly as it would have. `leads` is the
        list it was made from (for the custom fields); a bad or foreign snapshot, or leads
        other than the snapshot's (count or numbers), is a ValueError saying so. With
        `added_leads` the snapshot may hold more leads than the list, ones `add_lead` added
        while it ran: they are appended to `leads`."""
        data = bytes(data)
        head = len(_SNAPSHOT_TAG) + 8
        if not data.startswith(_SNAPSHOT_TAG) or len(data) < head:
            raise ValueError("not an acdcore campaign snapshot (from Campaign.snapshot)")
        (n,) = struct.unpack(">Q", data[len(_SNAPSHOT_TAG) : head])
        if len(data) < head + n:
            raise ValueError("not an acdcore campaign snapshot: truncated")
        try:
            calls = json.loads(data[head + n :].decode())
        except (UnicodeDecodeError, ValueError) as e:
            raise ValueError(f"campaign snapshot is damaged: {e}") from None
        if not (
            isinstance(calls, dict)
            and all(isinstance(k, str) and type(v) is int for k, v in calls.items())
        ):
            raise ValueError("campaign snapshot is damaged: bad call table")
        core = _core.Campaign.restore(data[head : head + n], None if dnc is None else dnc._core)
        if len(core) < len(leads) or (len(core) > len(leads) and not added_leads):
            raise ValueError(f"leads has {len(leads)} leads, the snapshot {len(core)}")
        for i, number in enumerate(leads.numbers):  # once per restore: the same list?
            if core.lead(i)["number"] != number:
                raise ValueError(
                    f"lead {i} is {number} in leads but {core.lead(i)['number']} in the "
                    "snapshot: another lead list"
                )
        if (engine is None) != (queue is None):
            raise ValueError("engine and queue go together (the queue outbound calls join)")
        if engine is not None and queue is not None:
            engine.queue_stats(queue)  # KeyError naming an unknown queue
        # Checked above first: a refused restore leaves `leads` as it was.
        for i in range(len(leads), len(core)):  # added while it ran (`add_lead`): kept too
            view = core.lead(i)
            leads.append(view["number"], view["timezone"], view["priority"])
        self = cls.__new__(cls)
        self.leads = leads
        self.engine = engine
        self.queue = queue
        self.outbound_priority = outbound_priority
        self._calls = calls
        self._core = core
        return self


_SNAPSHOT_TAG = b"acdcore-campaign-py/1\n"
_RESOLVED = ("connects", "machines", "no_answers", "busy", "failed")


class PacedCampaign:
    """A predictive `Campaign` whose dials come from `acdcore.pacing.Pacer` each tick.

    Each `tick` hands the pacer the campaign's outcomes since the last one (dials resolved,
    answered, machines, time to answer, abandons), its dials in flight and, with an engine,
    the calls waiting in its queue; the pacer's count goes to `Campaign.tick` as
    `dials_wanted`, so every compliance rule still applies. Report dial outcomes through
    `dial_result` here (it times the answers). `aht` / `wrapup` describe the talk time the
    pacer expects (exponential). With `ring` (the campaign's ring timeout) the dials in flight
    are weighed by how long they have rung, as in the simulator, with the time-to-answer shape
    the pacer learns from the answers timed here.
    """

    def __init__(
        self,
        campaign: Campaign,
        *,
        target: float = 0.03,
        aht: float = 180.0,
        wrapup: float = 0.0,
        ring: float | None = None,
    ) -> None:
        from acdcore.pacing import Pacer

        if campaign.mode != "predictive":
            raise ValueError(f"a paced campaign must be predictive, got mode {campaign.mode!r}")
        self.campaign = campaign
        self.pacer = Pacer(1, mode="predictive", target=target, aht=aht, wrapup=wrapup, ring=ring)
        self._seen = campaign.stats()
        self._placed: dict[int, float] = {}
        self._answer_times: list[float] = []

    def tick(
        self,
        now: float,
        ready: int | None = None,
        busy_ages: npt.ArrayLike | None = None,
    ) -> list[Dial]:
        """The dials to place now. `busy_ages`: seconds since each busy agent's call connected
        (without them the busy agents of the engine's queue count as just connected)."""
        c = self.campaign
        staffed = None
        if ready is None:
            ready, staffed = c.agents()
        if busy_ages is None:
            busy = 0 if staffed is None else staffed - ready
            busy_ages = np.zeros(busy)
        st = c.stats()
        delta = {k: st[k] - self._seen[k] for k in (*_RESOLVED, "abandoned")}
        waiting = 0
        if c.engine is not None and c.queue is not None:
            waiting = c.engine.queue_stats(c.queue).waiting
        answered = delta["connects"] + delta["machines"]
        [wanted] = self.pacer.tick(
            now,
            ready=[ready],
            busy_ages=[busy_ages],
            in_flight=[st["in_flight"]],
            waiting=[waiting],
            resolved=[sum(delta[k] for k in _RESOLVED)],
            answered=[answered],
            machines=[delta["machines"]],
            answer_times=[self._answer_times[:answered]],
            abandoned=[delta["abandoned"]],
            flight_ages=[[now - t for t in self._placed.values()][: st["in_flight"]]],
        )
        self._seen = st
        self._answer_times.clear()
        staffed = ready + len(np.ravel(busy_ages)) if staffed is None else staffed
        dials = c.tick(now, ready, staffed, dials_wanted=int(wanted))
        for d in dials:
            self._placed[d.lead] = now
        return dials

    def dial_result(self, lead: int, outcome: str, now: float) -> list[Action]:
        """`Campaign.dial_result`, timing answered dials for the pacer."""
        actions = self.campaign.dial_result(lead, outcome, now)
        placed = self._placed.pop(lead, None)
        if placed is not None and outcome in ("human", "machine"):
            self._answer_times.append(max(0.0, now - placed))
        return actions
