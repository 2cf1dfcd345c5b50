"""Type stubs for the compiled extension (bindings/, built by maturin)."""

import os
from collections.abc import Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "AGENT_STATES",
    "EVENT_KINDS",
    "STRATEGIES",
    "AgentInfo",
    "AmdDecision",
    "AnsweringMachineDetector",
    "CallInfo",
    "Campaign",
    "Challenge",
    "Distributor",
    "DncList",
    "Engine",
    "Event",
    "LeadList",
    "MohPump",
    "NameAddr",
    "NotAcceptableError",
    "Pacer",
    "PumpTick",
    "QueueStats",
    "RtpPacket",
    "Scenario",
    "Sdp",
    "SdpAnswer",
    "SdpMedia",
    "Simulation",
    "SipMessage",
    "SipParseError",
    "StateError",
    "TelephoneEvent",
    "Uri",
    "Via",
    "alaw_decode",
    "alaw_encode",
    "alaw_to_ulaw",
    "bin_history",
    "erlang_b",
    "erlang_metrics",
    "fit_history",
    "learn_profile",
    "mean_ci",
    "parse_e164",
    "replay_bytes",
    "replay_file",
    "rtp_build",
    "sdp_answer",
    "sdp_offer",
    "simulate_outbound",
    "spread_volume",
    "staffing",
    "student_t975",
    "telephone_event",
    "tone_amplitude",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_alaw",
]

EVENT_KINDS: list[str]
AGENT_STATES: list[str]
STRATEGIES: list[str]

class StateError(Exception):
    """The request is valid but the engine's current state forbids it."""

@final
class Event:
    kind: str
    t: float
    call: str | None
    agent: str | None
    queue: str | None
    wait: float | None
    talk: float | None
    agents: list[str]
    target: str | None
    why: str | None
    step: int | None
    def to_dict(self) -> dict[str, Any]: ...

@final
class QueueStats:
    id: str
    strategy: str
    offered: int
    answered: int
    abandoned: int
    answered_within_sl: int
    timed_out: int
    overflowed: int
    fallback: int
    waiting: int
    ended: int
    service_level: float | None
    asa: float | None
    aht: float | None
    longest_wait: float
    agents: dict[str, int]
    estimated_wait: float | None

@final
class AgentInfo:
    id: str
    state: str
    pause_reason: str | None
    pending_pause: bool
    pending_logout: bool
    login_seq: int
    login_time: float
    idle_since: float
    calls: int
    calls_per_queue: list[tuple[str, int]]
    talk_time: float
    state_time: dict[str, float]
    active_calls: list[str]
    offers: list[str]
    resting: bool
    no_answers: int
    limit: int
    skills: dict[str, int]

@final
class CallInfo:
    id: str
    queue: str
    state: str
    priority: float
    arrival: float
    position: int | None
    agents: list[str]
    max_wait_exempt: bool
    parked: bool

_EscalationStep = tuple[float, str] | tuple[float, str, Any]
_Columns = dict[str, Any]

@final
class Engine:
    def __new__(cls, *, seed: int = 0, auto_accept: bool = False) -> Engine: ...
    @property
    def now(self) -> float: ...
    @property
    def auto_accept(self) -> bool: ...
    def add_queue(
        self,
        id: str,
        *,
        strategy: str = "longest-idle",
        wrapup: float = 0.0,
        weight: float = 0.0,
        sl: float = 20.0,
        max_waiting: int | None = None,
        max_wait: float | None = None,
        overflow: str | None = None,
        ring_timeout: float = 15.0,
        retry: float = 5.0,
        max_no_answers: int = 3,
        aging: float = 0.0,
        escalation: Sequence[_EscalationStep] | None = None,
    ) -> None: ...
    def login(
        self,
        now: float,
        agent: str,
        *,
        skills: dict[str, int] | None = None,
        queues: Sequence[str] | dict[str, int] | None = None,
        limit: int = 1,
    ) -> list[Event]: ...
    def logout(self, now: float, agent: str) -> list[Event]: ...
    def next_timer_at(self) -> float | None: ...
    def pause(self, now: float, agent: str, reason: str = "break") -> list[Event]: ...
    def unpause(self, now: float, agent: str) -> list[Event]: ...
    def enqueue(
        self,
        now: float,
        call: str,
        queue: str,
        *,
        priority: int = 0,
        skills: dict[str, int] | None = None,
        preferred_agent: str | None = None,
        preferred_wait: float = 0.0,
        max_wait_exempt: bool = False,
        parked: bool = False,
    ) -> list[Event]: ...
    def exempt_max_wait(self, now: float, call: str) -> list[Event]: ...
    def park(self, now: float, call: str) -> list[Event]: ...
    def unpark(self, now: float, call: str) -> list[Event]: ...
    def hangup(self, now: float, call: str) -> list[Event]: ...
    def withdraw(self, now: float, call: str) -> list[Event]: ...
    def accept(self, now: float, call: str, agent: str) -> list[Event]: ...
    def reject(self, now: float, call: str, agent: str) -> list[Event]: ...
    def advance(self, now: float) -> list[Event]: ...
    def finish(self) -> list[Event]: ...
    def take_events(self) -> list[Event]: ...
    def enqueue_many(
        self,
        now: npt.NDArray[np.float64],
        calls: npt.NDArray[np.int64] | Sequence[str],
        queues: str | Sequence[str],
        priorities: npt.NDArray[np.int64] | None = None,
    ) -> _Columns: ...
    def hangup_many(
        self,
        now: npt.NDArray[np.float64],
        calls: npt.NDArray[np.int64] | Sequence[str],
    ) -> _Columns: ...
    def agent_states(self) -> tuple[list[str], npt.NDArray[np.uint8]]: ...
    def queue_stats(self, queue: str) -> QueueStats: ...
    def agent(self, agent: str) -> AgentInfo: ...
    def call(self, call: str) -> CallInfo: ...
    def position(self, call: str) -> int: ...
    def agent_free_in(self, call: str) -> float | None: ...
    def queues(self) -> list[str]: ...
    def agents(self) -> list[str]: ...
    def snapshot(self) -> bytes: ...
    @staticmethod
    def restore(data: bytes) -> Engine: ...

@final
class Distributor:
    def __new__(cls, targets: Sequence[tuple[str, int]]) -> Distributor: ...
    def next(self) -> str: ...
    def next_many(self, n: int) -> list[str]: ...
    def targets(self) -> list[tuple[str, int]]: ...

@final
class DncList:
    def __new__(cls, numbers: npt.NDArray[np.uint64]) -> DncList: ...
    def __len__(self) -> int: ...
    def contains(self, number: int) -> bool: ...
    def contains_many(self, numbers: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]: ...
    def count_many(self, numbers: npt.NDArray[np.uint64]) -> int: ...

def parse_e164(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], list[tuple[int, str]]]: ...

@final
class LeadList:
    def __new__(
        cls,
        zone_prefixes: Sequence[tuple[str, str]] | None = None,
        default_zone: str | None = None,
    ) -> LeadList: ...
    def push(
        self,
        rows: npt.NDArray[np.uint64],
        phones: npt.NDArray[np.uint64] | Sequence[str],
        zones: Sequence[str | None] | None = None,
        priorities: npt.NDArray[np.int64] | None = None,
    ) -> int: ...
    def __len__(self) -> int: ...
    def bad_rows(self) -> list[tuple[int, str, str, str]]: ...
    def rows(self) -> npt.NDArray[np.uint64]: ...
    def numbers(self) -> npt.NDArray[np.uint64]: ...
    def zones(self) -> list[str]: ...
    def priorities(self) -> npt.NDArray[np.int64]: ...

@final
class Campaign:
    def __new__(
        cls,
        id: str,
        leads: LeadList,
        now: float,
        *,
        dnc: DncList | None = None,
        mode: str = "progressive",
        ratio: float = 1.0,
        lines: int = ...,
        hours: tuple[int, int] = ...,
        holidays: Sequence[tuple[str | None, str]] = ...,
        min_gap: float = 0.0,
        max_attempts: int = ...,
        ring_timeout: float = 20.0,
        abandon_cap: float = 0.03,
        abandon_window: float = 2592000.0,
        amd_false_positive_rate: float = 0.0,
        retry: dict[str, float | None] | None = None,
        callback_window: float = 300.0,
        outbound_share: float = 1.0,
    ) -> Campaign: ...
    @property
    def id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def ratio(self) -> float: ...
    @property
    def lines(self) -> int: ...
    @property
    def state(self) -> str: ...
    def __len__(self) -> int: ...
    def snapshot(self) -> bytes: ...
    @staticmethod
    def restore(data: bytes, dnc: DncList | None = None) -> Campaign: ...
    @property
    def changes(self) -> int: ...
    def interrupted(self, now: float) -> list[tuple[int, str]]: ...
    def start(self, now: float) -> None: ...
    def pause(self, now: float) -> None: ...
    def stop(self, now: float) -> None: ...
    def set_mode(self, mode: str, ratio: float | None = None, lines: int | None = None) -> None: ...
    def rules(self) -> dict[str, Any]: ...
    def set_rules(
        self,
        *,
        hours: tuple[int, int],
        holidays: Sequence[tuple[str | None, str]],
        min_gap: float,
        max_attempts: int,
        ring_timeout: float,
        retry: dict[str, float | None] | None,
        callback_window: float,
        outbound_share: float,
    ) -> None: ...
    def tick(
        self, now: float, ready: int, staffed: int, dials_wanted: int | None = None
    ) -> list[tuple[int, int, float, str | None]]: ...
    def preview(self, now: float) -> int | None: ...
    def release(self, lead: int, now: float) -> None: ...
    def add_lead(self, leads: LeadList, index: int) -> int: ...
    def dial(self, lead: int, now: float) -> tuple[int, int, float, str | None]: ...
    def dial_result(
        self, lead: int, outcome: str, now: float
    ) -> list[tuple[str, int, str | None, float | None]]: ...
    def abandon(self, lead: int, now: float) -> tuple[str, int, str | None, float | None]: ...
    def connect(self, lead: int, now: float) -> None: ...
    def hangup(self, lead: int, now: float) -> None: ...
    def disposition(
        self, lead: int, now: float, callback_at: float | None = None, agent: str | None = None
    ) -> None: ...
    def lead(self, lead: int) -> dict[str, Any]: ...
    def stats(self) -> dict[str, Any]: ...

def replay_bytes(data: bytes) -> tuple[bytes, str | None]: ...
def replay_file(path: str) -> tuple[bytes, str | None]: ...

@final
class Scenario:
    """A simulation scenario, checked once (docs/simulation.md)."""
    @staticmethod
    def load(path: str | os.PathLike[str]) -> Scenario: ...
    @staticmethod
    def from_toml(text: str) -> Scenario: ...
    @staticmethod
    def mmc(
        agents: int,
        arrival_rate: float,
        aht: float,
        calls: int,
        patience: float | None = None,
        threshold: float = 20.0,
        warmup: float = 0.0,
    ) -> Scenario: ...
    @property
    def replications(self) -> int: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def interval(self) -> float: ...
    @property
    def horizon(self) -> float | None: ...
    @property
    def calls(self) -> int | None: ...
    @property
    def groups(self) -> list[str]: ...
    @property
    def queues(self) -> list[str]: ...
    def simulation(self, replication: int, seed: int) -> Simulation: ...

@final
class Simulation:
    """One replication of a scenario on the real engine."""
    def run_until(self, until: float) -> bool: ...
    @property
    def now(self) -> float: ...
    @property
    def done(self) -> bool: ...
    def result(self) -> dict[str, Any]: ...

def mean_ci(values: Sequence[float]) -> tuple[float, float]: ...

@final
class PumpTick:
    """What one `MohPump.tick` did."""
    @property
    def finished(self) -> list[tuple[int, tuple[int, int, int, bool, int, int]]]: ...
    @property
    def dropped(self) -> list[tuple[int, str, tuple[int, int, int, bool, int, int]]]: ...
    @property
    def sent(self) -> int: ...
    @property
    def overflowed(self) -> int: ...
    @property
    def skipped(self) -> int: ...

@final
class MohPump:
    """One pacer for all music-on-hold and prompt streams (Linux; `sendmmsg`)."""
    def __new__(cls) -> MohPump: ...
    def __len__(self) -> int: ...
    def start(
        self,
        now: float,
        fd: int,
        host: str,
        port: int,
        payload_type: int,
        ssrc: int,
        sequence: int,
        timestamp: int,
        audio: bytes,
        looping: bool,
        marker: bool = True,
        offset: int = 0,
        silence: int = ...,
    ) -> int: ...
    def stop(self, id: int) -> tuple[int, int, int, bool, int, int] | None: ...
    def position(self, id: int) -> tuple[int, int, int, bool, int, int] | None: ...
    def replace(self, id: int, audio: bytes, looping: bool, offset: int = 0) -> None: ...
    def next_due(self) -> float | None: ...
    def tick(self, now: float) -> PumpTick: ...

@final
class Pacer:
    """Outbound campaigns paced together (docs/pacing.md)."""
    def __new__(
        cls,
        modes: Sequence[str],
        target: Sequence[float],
        ratio: Sequence[float],
        aht: Sequence[float],
        wrapup: Sequence[float],
        ring: Sequence[float] | None = None,
        answer_cv: Sequence[float] | None = None,
    ) -> Pacer: ...
    def __len__(self) -> int: ...
    def tick(
        self,
        now: float,
        ready: npt.NDArray[np.uint32],
        in_flight: npt.NDArray[np.uint32],
        waiting: npt.NDArray[np.uint32],
        ages: npt.NDArray[np.float64],
        offsets: npt.NDArray[np.uint64],
        resolved: npt.NDArray[np.uint32],
        answered: npt.NDArray[np.uint32],
        machines: npt.NDArray[np.uint32],
        tta_sum: npt.NDArray[np.float64],
        abandoned: npt.NDArray[np.uint32],
        flight_ages: npt.NDArray[np.float64],
        flight_offsets: npt.NDArray[np.uint64],
        answer_times: npt.NDArray[np.float64] | None = None,
        answer_offsets: npt.NDArray[np.uint64] | None = None,
    ) -> npt.NDArray[np.uint32]: ...
    def snapshot(self) -> bytes: ...
    def restore(self, data: bytes) -> None: ...
    def state(self, i: int) -> dict[str, float]: ...
    def answer_shape(
        self, i: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None: ...

def simulate_outbound(
    agents: int,
    answer_rate: float,
    aht: float,
    *,
    wrapup: float = 0.0,
    mode: str = "predictive",
    ratio: float = 1.0,
    target: float = 0.03,
    hours: float = 8.0,
    seed: int = 1,
    machine_rate: float = 0.0,
    handle_sd: float | None = None,
    ring: float = 25.0,
    interval: float = 900.0,
    answer_time: str | None = None,
    pacer_answer_time: str | None = None,
    learn_answer_shape: bool = True,
) -> dict[str, Any]: ...
def student_t975(df: int) -> float: ...

_Array = npt.NDArray[np.float64]

def bin_history(
    times: _Array,
    calls: _Array,
    handled: _Array,
    handle_sum: _Array,
    *,
    interval: int,
    utc_offset: int,
) -> tuple[int, _Array, _Array, float | None]: ...
def fit_history(
    first: int,
    calls: _Array,
    *,
    interval: int,
    utc_offset: int,
    horizon: int,
    holdout_days: int,
) -> dict[str, Any]: ...
def learn_profile(first: int, calls: _Array, *, interval: int, utc_offset: int) -> _Array: ...
def spread_volume(
    total: float, first: int, n: int, weights: _Array, *, interval: int, utc_offset: int
) -> _Array: ...

_Floats = float | npt.NDArray[np.float64]
_Counts = int | npt.NDArray[np.int64]

def erlang_b(agents: _Counts, traffic: _Floats) -> Any: ...
def erlang_metrics(
    agents: _Counts,
    traffic: _Floats,
    aht: _Floats,
    threshold: _Floats,
    patience: _Floats | None = None,
) -> dict[str, Any]: ...
def staffing(
    traffic: _Floats,
    aht: _Floats,
    *,
    service_level: float | None = None,
    threshold: float = 20.0,
    max_asa: float | None = None,
    max_abandon: float | None = None,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    patience: _Floats | None = None,
) -> dict[str, Any]: ...

class SipParseError(ValueError):
    """A SIP message, URI or SDP body that does not parse; `status` is the answer it deserves."""

    status: int

class NotAcceptableError(ValueError):
    """An SDP offer with nothing this side accepts (488 Not Acceptable Here)."""

@final
class Uri:
    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None
    params: list[tuple[str, str | None]]
    headers: list[tuple[str, str]]
    text: str
    @staticmethod
    def parse(text: str) -> Uri: ...

@final
class Via:
    transport: str
    host: str
    port: int | None
    branch: str | None
    received: str | None
    has_rport: bool
    rport: int | None
    maddr: str | None
    ttl: int | None
    params: list[tuple[str, str | None]]
    text: str

@final
class NameAddr:
    display: str | None
    uri: Uri
    tag: str | None
    expires: int | None
    params: list[tuple[str, str | None]]
    text: str

@final
class Challenge:
    scheme: str
    params: list[tuple[str, str]]
    def param(self, name: str) -> str | None: ...

@final
class SipMessage:
    @staticmethod
    def parse(data: bytes, max_message: int = 65535) -> SipMessage: ...
    @staticmethod
    def parse_stream(data: bytes, max_message: int = 65535) -> tuple[SipMessage | None, int]: ...
    @staticmethod
    def request(
        method: str,
        uri: str,
        headers: Sequence[tuple[str, str]] = ...,
        body: bytes = ...,
        content_type: str | None = None,
    ) -> SipMessage: ...
    @staticmethod
    def response(
        status: int,
        reason: str | None = None,
        headers: Sequence[tuple[str, str]] = ...,
        body: bytes = ...,
        content_type: str | None = None,
    ) -> SipMessage: ...
    def reply(
        self,
        status: int,
        reason: str | None = None,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = ...,
        body: bytes = ...,
        content_type: str | None = None,
    ) -> SipMessage: ...
    def cancel(self) -> SipMessage: ...
    def ack_for(self, response: SipMessage) -> SipMessage: ...
    def with_header(self, name: str, value: str) -> SipMessage: ...
    def without_header(self, name: str) -> SipMessage: ...
    def to_bytes(self) -> bytes: ...
    @property
    def is_request(self) -> bool: ...
    @property
    def method(self) -> str | None: ...
    @property
    def request_uri(self) -> str | None: ...
    def uri(self) -> Uri: ...
    @property
    def status(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_length(self) -> int: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def call_id(self) -> str: ...
    @property
    def cseq(self) -> tuple[int, str]: ...
    @property
    def max_forwards(self) -> int | None: ...
    @property
    def expires(self) -> int | None: ...
    def header(self, name: str) -> str | None: ...
    def header_lines(self, name: str) -> list[str]: ...
    def values(self, name: str) -> list[str]: ...
    def vias(self) -> list[Via]: ...
    @property
    def from_(self) -> NameAddr: ...
    @property
    def to(self) -> NameAddr: ...
    def contacts(self) -> list[NameAddr]: ...
    @property
    def contact_star(self) -> bool: ...
    def routes(self) -> list[NameAddr]: ...
    def record_routes(self) -> list[NameAddr]: ...
    def auth(self, name: str) -> list[Challenge]: ...

@final
class SdpMedia:
    @property
    def kind(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def proto(self) -> str: ...
    @property
    def payload_types(self) -> list[int]: ...
    @property
    def direction(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def ptime(self) -> int | None: ...
    def rtpmap(self, pt: int) -> tuple[str, int] | None: ...
    def fmtp(self, pt: int) -> str | None: ...
    @property
    def attributes(self) -> list[tuple[str, str | None]]: ...

@final
class Sdp:
    @staticmethod
    def parse(data: bytes) -> Sdp: ...
    def to_bytes(self) -> bytes: ...
    @property
    def session_name(self) -> str: ...
    @property
    def origin_address(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def media(self) -> list[SdpMedia]: ...

@final
class SdpAnswer:
    sdp: bytes
    payload_type: int
    codec: str
    clock_rate: int
    dtmf_payload_type: int | None
    remote_address: str
    remote_port: int
    direction: str
    ptime: int | None

def sdp_offer(
    address: str,
    port: int,
    codecs: Sequence[str] = ...,
    dtmf: bool = True,
    session_id: int = 0,
    session_version: int = 0,
) -> bytes: ...
def sdp_answer(
    offer: bytes,
    address: str,
    port: int,
    codecs: Sequence[str] = ...,
    dtmf: bool = True,
    session_id: int = 0,
    session_version: int = 0,
) -> SdpAnswer: ...

# Media (RTP, G.711, RFC 4733, Goertzel).

@final
class AmdDecision:
    verdict: str
    reason: str
    at: float
    words: int

@final
class AnsweringMachineDetector:
    """Human or machine from the first seconds after an answer (docs/outbound.md)."""
    def __new__(
        cls,
        *,
        initial_silence: float = 2.5,
        greeting: float = 1.5,
        after_greeting_silence: float = 0.8,
        total: float = 5.0,
        min_word: float = 0.1,
        between_words: float = 0.05,
        max_words: int = 4,
        silence_dbfs: float = ...,  # -40.0
    ) -> AnsweringMachineDetector: ...
    def feed(self, samples: npt.NDArray[np.int16]) -> AmdDecision | None: ...
    def feed_g711(self, payload: bytes, codec: str = "PCMU") -> AmdDecision | None: ...
    @property
    def decision(self) -> AmdDecision | None: ...
    @property
    def heard(self) -> float: ...

@final
class RtpPacket:
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrc: list[int]
    extension: tuple[int, bytes] | None
    padding: int
    payload: bytes
    @staticmethod
    def parse(data: bytes) -> RtpPacket: ...

def rtp_build(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
    csrc: Sequence[int] = ...,
    extension: tuple[int, bytes] | None = None,
) -> bytes: ...

@final
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int
    digit: str | None
    @staticmethod
    def parse(payload: bytes) -> TelephoneEvent: ...

def telephone_event(
    digit: str, end: bool = False, volume: int = 10, duration: int = 0
) -> bytes: ...
def ulaw_encode(samples: npt.NDArray[np.int16]) -> bytes: ...
def alaw_encode(samples: npt.NDArray[np.int16]) -> bytes: ...
def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]: ...
def alaw_decode(data: bytes) -> npt.NDArray[np.int16]: ...
def ulaw_to_alaw(data: bytes) -> bytes: ...
def alaw_to_ulaw(data: bytes) -> bytes: ...
def tone_amplitude(samples: npt.NDArray[np.int16], freq: float, rate: float = 8000.0) -> float: ...
