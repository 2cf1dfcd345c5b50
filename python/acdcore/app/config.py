"""The contact-center server's configuration (TOML): SIP and RTP addresses, queues, agents,
the flow file, the records database and the prompts directory. Mistakes are refused with the
flows' `FlowError`, each naming the file, line and field."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acdcore.app.campaign_config import CampaignConfig, read_campaign
from acdcore.flows.errors import FlowError, Problem
from acdcore.flows.positions import Positions


@dataclass(frozen=True)
class QueueConfig:
    id: str
    number: str  # the dialled user part that reaches this queue's flow (informational)
    options: dict[str, Any] = field(default_factory=dict)  # Engine.add_queue keywords


@dataclass(frozen=True)
class AgentConfig:
    id: str
    user: str  # SIP user (registrar username and AOR user part)
    password: str
    queues: tuple[str, ...]
    skills: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackConfig:
    """Virtual hold: how a caller who asked for a callback is dialled (app/callbacks.py)."""

    uri: str | None = None  # dial plan, e.g. "sip:{number}@127.0.0.1:5070"; None = no dialling
    ring_timeout: float = 30.0  # seconds the customer's phone may ring
    retry_after: float = 120.0  # seconds before the next try after no answer or busy
    max_attempts: int = 3  # tries in all, then the callback is recorded as failed
    # Seconds a held callback may wait in line (from the request, across retries) before it is
    # closed as "callback-expired"; None = it waits until an agent takes it. The queue's own
    # max_wait never applies to a held callback.
    expire_after: float | None = None
    # "agent-first": an agent answers, then the customer is dialled (the agent waits through
    # the ringing). "customer-first": the customer is dialled when an agent is predicted free
    # within `lead_time` seconds, and the call is offered to agents once they answer.
    order: str = "agent-first"
    lead_time: float = 20.0  # customer-first: the expected time for the customer to answer
    # Customer-first: seconds an answered customer hears `connect_prompt` then music before the
    # queue's own position and wait announcements start (they stay in line all along).
    max_connect_wait: float = 30.0
    connect_prompt: str = "callback-connecting"


CALLBACK_ORDERS = ("agent-first", "customer-first")


@dataclass(frozen=True)
class Config:
    source: str
    sip: tuple[str, int]
    rtp_ports: tuple[int, int]
    flow: Path
    database: Path
    prompts: Path
    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...]
    realm: str = "acdcore"
    digest: tuple[str, ...] = ("SHA-256", "MD5")
    default_disposition: str = "none"
    wallboard_every: float = 5.0
    music: str = "moh"  # the prompt looped as music on hold
    callbacks: CallbackConfig = CallbackConfig()
    campaign: CampaignConfig | None = None  # the outbound campaign the dialer runs
    transport: str = "udp"  # SIP over "udp", "tcp" or "both" (one port number for the two)


_QUEUE_OPTIONS = {
    "strategy": str,
    "wrapup": float,
    "sl": float,
    "max_waiting": int,
    "max_wait": float,
    "overflow": str,
    "ring_timeout": float,
    "retry": float,
    "max_no_answers": int,
}

SIP_TRANSPORTS = ("udp", "tcp", "both")
_SIP_FIELDS = ("address", "transport", "realm", "digest")

_ESCALATION_ACTIONS = ("lower-skills", "clear-skills", "add-queues", "raise-priority", "fallback")


def parse_hostport(text: str, default_port: int = 5060) -> tuple[str, int]:
    """`HOST:PORT` (or `HOST`) as a pair, port 0 meaning any free one; ValueError naming the
    text otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default_port)
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a config file; relative paths in it are relative to the file's directory."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FlowError([Problem(source, None, "file", f"cannot read: {e}")]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FlowError([Problem(source, None, "toml", str(e))]) from None
    return _Reader(source, Positions(text), Path(path).parent).config(doc)


class _Reader:
    def __init__(self, source: str, positions: Positions, base: Path) -> None:
        self.source = source
        self.positions = positions
        self.base = base
        self.problems: list[Problem] = []

    def fail(self, path: tuple[str | int, ...], message: str) -> None:
        line = self.positions.line(path)
        self.problems.append(Problem(self.source, line, ".".join(map(str, path)), message))

    def get(
        self, table: dict[str, Any], path: tuple[str | int, ...], key: str, kind: type, default: Any
    ) -> Any:
        if key not in table:
            if default is _REQUIRED:
                self.fail(path, f"missing field {key!r}")
            return None if default is _REQUIRED else default
        value = table[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            self.fail((*path, key), f"expected {kind.__name__}, got {value!r}")
            return None
        return value

    def table(self, doc: dict[str, Any], key: str) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.fail((key,), "expected a table")
            return {}
        return value

    def path(self, table: dict[str, Any], where: tuple[str, ...], key: str, default: Any) -> Path:
        raw = self.get(table, where, key, str, default)
        return self.base / (raw or ".")

    def config(self, doc: dict[str, Any]) -> Config:
        known = {"sip", "rtp", "flow", "records", "prompts", "wrapup", "wallboard", "queues"}
        known.add("callbacks")
        known.add("campaign")
        for key in doc:
            if key not in known | {"agents"}:
                self.fail((key,), f"unknown section (known: {', '.join(sorted(known))}, agents)")
        sip_t, rtp_t = self.table(doc, "sip"), self.table(doc, "rtp")
        for key in sip_t:  # a misspelt `transport` must not leave the server on UDP unsaid
            if key not in _SIP_FIELDS:
                self.fail(("sip", key), f"unknown field (known: {', '.join(_SIP_FIELDS)})")
        address = self.get(sip_t, ("sip",), "address", str, "127.0.0.1:5060")
        sip = ("127.0.0.1", 5060)
        if address is not None:
            try:
                sip = parse_hostport(address)
            except ValueError as e:
                self.fail(("sip", "address"), str(e))
        realm = self.get(sip_t, ("sip",), "realm", str, "acdcore") or "acdcore"
        transport = self.get(sip_t, ("sip",), "transport", str, "udp") or "udp"
        if transport not in SIP_TRANSPORTS:
            names = ", ".join(SIP_TRANSPORTS)
            self.fail(("sip", "transport"), f"unknown transport {transport!r} (known: {names})")
        digest = self.get(sip_t, ("sip",), "digest", list, ["SHA-256", "MD5"]) or ["MD5"]
        for name in digest:
            if name not in ("SHA-256", "MD5"):
                self.fail(("sip", "digest"), f"unknown digest algorithm {name!r} (SHA-256, MD5)")
        lo = self.get(rtp_t, ("rtp",), "port_min", int, 40000)
        hi = self.get(rtp_t, ("rtp",), "port_max", int, 49999)
        if lo is not None and hi is not None and not 1024 <= lo < hi <= 65535:
            self.fail(("rtp",), f"need 1024 <= port_min < port_max <= 65535, got {lo}, {hi}")
        flow = self.path(self.table(doc, "flow"), ("flow",), "file", _REQUIRED)
        if "file" in self.table(doc, "flow") and not flow.is_file():
            self.fail(("flow", "file"), f"no such file: {flow}")
        database = self.path(self.table(doc, "records"), ("records",), "database", "records.db")
        prompts = self.path(self.table(doc, "prompts"), ("prompts",), "directory", _REQUIRED)
        music = self.get(self.table(doc, "prompts"), ("prompts",), "music", str, "moh") or "moh"
        if "directory" in self.table(doc, "prompts") and not prompts.is_dir():
            self.fail(("prompts", "directory"), f"no such directory: {prompts}")
        wrap = self.table(doc, "wrapup")
        disposition = self.get(wrap, ("wrapup",), "default_disposition", str, "none") or "none"
        board = self.table(doc, "wallboard")
        every = self.get(board, ("wallboard",), "every", float, 5.0) or 5.0
        if every <= 0:
            self.fail(("wallboard", "every"), "must be positive")
        callbacks = self.callbacks(self.table(doc, "callbacks"))
        queues = self.queues(doc.get("queues", {}))
        agents = self.agents(doc.get("agents", []), {q.id for q in queues})
        campaign = None
        if "campaign" in doc:
            wraps = {q.id: float(q.options.get("wrapup", 0.0)) for q in queues}
            campaign = read_campaign(self, doc["campaign"], wraps, prompts)
        if self.problems:
            raise FlowError(self.problems)
        return Config(
            self.source,
            sip,
            (lo or 40000, hi or 49999),
            flow,
            database,
            prompts,
            queues,
            agents,
            realm,
            tuple(digest),
            disposition,
            every,
            music,
            callbacks=callbacks,
            campaign=campaign,
            transport=transport,
        )

    def callbacks(self, table: dict[str, Any]) -> CallbackConfig:
        where = ("callbacks",)
        fields = {
            "uri": str,
            "ring_timeout": float,
            "retry_after": float,
            "max_attempts": int,
            "expire_after": float,
            "order": str,
            "lead_time": float,
            "max_connect_wait": float,
            "connect_prompt": str,
        }
        for key in table:
            if key not in fields:
                self.fail((*where, key), f"unknown field (known: {', '.join(fields)})")
        d = CallbackConfig()
        uri = self.get(table, where, "uri", str, None)
        if uri is not None:
            try:
                uri.format(number="0")
            except (KeyError, IndexError, ValueError) as e:
                self.fail((*where, "uri"), f"bad template {uri!r} (only {{number}}): {e!r}")
                uri = None
            else:
                if not uri.startswith("sip:"):
                    self.fail((*where, "uri"), f"expected a sip: URI template, got {uri!r}")
        ring = self.get(table, where, "ring_timeout", float, d.ring_timeout)
        retry = self.get(table, where, "retry_after", float, d.retry_after)
        attempts = self.get(table, where, "max_attempts", int, d.max_attempts)
        expire = self.get(table, where, "expire_after", float, None)
        timed = (("ring_timeout", ring), ("retry_after", retry), ("expire_after", expire))
        for key, value in timed:
            if value is not None and not 0 < value < math.inf:
                self.fail((*where, key), f"must be a positive number of seconds, got {value}")
        if attempts is not None and attempts < 1:
            self.fail((*where, "max_attempts"), f"must be at least 1, got {attempts}")
        order = self.get(table, where, "order", str, d.order)
        if order is not None and order not in CALLBACK_ORDERS:
            known = ", ".join(CALLBACK_ORDERS)
            self.fail((*where, "order"), f"unknown order {order!r} (known: {known})")
        lead = self.get(table, where, "lead_time", float, d.lead_time)
        if lead is not None and not 0 <= lead < math.inf:
            self.fail((*where, "lead_time"), f"must be 0 or more seconds, got {lead}")
        connect = self.get(table, where, "max_connect_wait", float, d.max_connect_wait)
        if connect is not None and not 0 < connect < math.inf:
            self.fail(
                (*where, "max_connect_wait"), f"must be a positive number of seconds, got {connect}"
            )
        prompt = self.get(table, where, "connect_prompt", str, d.connect_prompt)
        return CallbackConfig(
            uri,
            d.ring_timeout if ring is None else ring,
            d.retry_after if retry is None else retry,
            d.max_attempts if attempts is None else attempts,
            expire,
            order if order in CALLBACK_ORDERS else d.order,
            d.lead_time if lead is None else lead,
            d.max_connect_wait if connect is None else connect,
            prompt or d.connect_prompt,
        )

    def queues(self, raw: Any) -> tuple[QueueConfig, ...]:
        if not isinstance(raw, dict) or not raw:
            self.fail(("queues",), "expected a table of queues, e.g. [queues.sales]")
            return ()
        out = []
        for qid, table in raw.items():
            where = ("queues", qid)
            if not isinstance(table, dict):
                self.fail(where, "expected a table")
                continue
            options: dict[str, Any] = {}
            for key in table:
                if key == "number":
                    continue
                if key == "escalation":
                    steps = self.escalation(table[key], (*where, key))
                    if steps is not None:
                        options[key] = steps
                    continue
                kind = _QUEUE_OPTIONS.get(key)
                if kind is None:
                    self.fail(
                        (*where, key),
                        f"unknown field (known: number, escalation, {', '.join(_QUEUE_OPTIONS)})",
                    )
                    continue
                got = self.get(table, where, key, kind, None)
                if got is not None:
                    options[key] = got
            number = self.get(table, where, "number", str, qid) or qid
            out.append(QueueConfig(qid, number, options))
        return tuple(out)

    def escalation(self, raw: Any, where: tuple[str | int, ...]) -> list[tuple[Any, ...]] | None:
        """`[[after, action, arg?], ...]` as the engine's step tuples; the engine checks the
        actions' arguments, this names the place of a mistake in the file."""
        if not isinstance(raw, list):
            self.fail(where, 'expected an array of steps, e.g. [[30, "add-queues", ["other"]]]')
            return None
        steps = []
        for i, step in enumerate(raw):
            ok = isinstance(step, list) and 2 <= len(step) <= 3
            after = step[0] if ok else None
            if not ok or isinstance(after, bool) or not isinstance(after, int | float):
                self.fail(where, f"step {i}: expected [after, action, arg?], got {step!r}")
                continue
            if step[1] not in _ESCALATION_ACTIONS:
                known = ", ".join(_ESCALATION_ACTIONS)
                self.fail(where, f"step {i}: unknown action {step[1]!r} (known: {known})")
                continue
            steps.append(tuple(step))
        return steps

    def agents(self, raw: Any, queues: set[str]) -> tuple[AgentConfig, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(("agents",), "expected an array of agents, e.g. [[agents]]")
            return ()
        out, users = [], set()
        for i, table in enumerate(raw):
            where: tuple[str | int, ...] = ("agents", i)
            if not isinstance(table, dict):
                self.fail(where, "expected a table")
                continue
            for key in table:
                if key not in ("id", "user", "password", "queues", "skills"):
                    self.fail(
                        (*where, key), "unknown field (known: id, user, password, queues, skills)"
                    )
            aid = self.get(table, where, "id", str, _REQUIRED)
            user = self.get(table, where, "user", str, aid)
            password = self.get(table, where, "password", str, _REQUIRED)
            aq = self.get(table, where, "queues", list, _REQUIRED) or []
            for q in aq:
                if q not in queues:
                    self.fail((*where, "queues"), f"no queue named {q!r}")
            skills = self.get(table, where, "skills", dict, {}) or {}
            for name, level in skills.items():
                if not isinstance(level, int) or isinstance(level, bool) or level < 0:
                    self.fail(
                        (*where, "skills", name),
                        f"level must be a whole number >= 0, got {level!r}",
                    )
            if user in users:
                self.fail((*where, "user"), f"SIP user {user!r} is given twice")
            users.add(user)
            if aid and user and password is not None:
                out.append(AgentConfig(aid, user, password, tuple(aq), dict(skills)))
        return tuple(out)


_REQUIRED = object()
