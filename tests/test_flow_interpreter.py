"""The flow interpreter on the real Engine, with a scripted caller as the CallChannel.

The caller answers prompts with keys (`on_prompt`) or presses keys at times of its own
(`press_at`); the engine, the switchboard's timers and the HTTP webhook are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import acdcore
import pytest
from acdcore import flows
from acdcore.flows import CallbackRequest, CallerHungUp, CallResult, FlowContext, Switchboard

KEY_DELAY = 0.01


@dataclass
class ScriptedCaller:
    """A caller who answers prompts with keys; every action is logged in `log`."""

    on_prompt: dict[str, list[str]] = field(default_factory=dict)
    press_at: list[tuple[float, str]] = field(default_factory=list)
    hang_up_on: str | None = None
    talk: float = 0.05
    transfer_ok: bool = True
    answers_ring: str | None = None
    caller: str = "+15550001"
    log: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    keys: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        for at, keys in self.press_at:
            loop.call_later(at, self._press, keys)

    def _press(self, keys: str) -> None:
        for key in keys:
            self.keys.put_nowait(key)

    @property
    def caller_id(self) -> str:
        return self.caller

    @property
    def called(self) -> str:
        return "support"

    async def play(self, prompt: str) -> None:
        self.played.append(prompt)
        self.log.append(f"play {prompt}")
        if self.hang_up_on is not None and prompt.startswith(self.hang_up_on):
            raise CallerHungUp
        answers = self.on_prompt.get(prompt)
        if answers:
            keys = answers.pop(0)
            asyncio.get_running_loop().call_later(KEY_DELAY, self._press, keys)
        await asyncio.sleep(0)

    async def play_moh(self) -> None:
        self.log.append("moh")

    async def stop_media(self) -> None:
        self.log.append("stop")

    async def digits(self, timeout: float, max_digits: int, terminator: str = "") -> str:
        got = ""
        while len(got) < max_digits:
            try:
                key = await asyncio.wait_for(self.keys.get(), timeout)
            except TimeoutError:
                break
            if terminator and key == terminator:
                break
            got += key
        return got

    async def record(self, path: str, max_seconds: float, beep: bool) -> float:
        self.log.append(f"record {path} {max_seconds} beep={beep}")
        return 2.5

    async def transfer(self, target: str) -> bool:
        self.log.append(f"transfer {target}")
        return self.transfer_ok

    async def ring(self, targets: Sequence[str], timeout: float) -> str | None:
        self.log.append(f"ring {','.join(targets)}")
        return self.answers_ring if self.answers_ring in targets else None

    async def connect(self, agent: str) -> bool:
        self.log.append(f"connect {agent}")
        await asyncio.sleep(self.talk)
        return True

    async def hangup(self) -> None:
        self.log.append("hangup")


class Records:
    """The observer: what call records would store."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, str, str]] = []
        self.results: list[CallResult] = []

    def entered(self, call: str, node: str, kind: str, at: float) -> None:
        self.nodes.append((call, node, kind))

    def ended(self, result: CallResult) -> None:
        self.results.append(result)


@dataclass
class Webhook:
    url: str
    requests: list[dict[str, Any]]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local credential service: PIN 1234 is right for any id; id 999 answers too late,
    401 and 500 answer with that status, 777 with a body that is not JSON."""
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            if body["id"] == "999":
                time.sleep(0.5)
            ok = body["pin"] == "1234"
            answer = {"ok": ok, "attributes": {"customer": f"C{body['id']}", "priority": 5}}
            data = b"<html>" if body["id"] == "777" else json.dumps(answer).encode()
            status = int(body["id"]) if body["id"] in ("401", "500") else 200
            with contextlib.suppress(OSError):  # the slow answer finds the client gone
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/verify", requests)
    finally:
        server.shutdown()
        server.server_close()


async def run_flow(
    text: str,
    engine: acdcore.Engine,
    caller: ScriptedCaller,
    *,
    call_id: str = "c1",
    now: dt.datetime | None = None,
    agent_side: Callable[[Switchboard, acdcore.Event], None] | None = None,
    on_callback: Callable[[CallbackRequest], Awaitable[None]] | None = None,
    verifiers: dict[str, flows.Verifier] | None = None,
    crm: dict[str, flows.CrmLookup] | None = None,
) -> tuple[CallResult, Records, Switchboard]:
    flow = flows.loads(text, queues=engine.queues())
    sb = Switchboard(engine, tick=0.01, on_callback=on_callback)
    if agent_side is not None:
        sb.listeners.append(lambda ev: agent_side(sb, ev))
    records = Records()
    ctx = FlowContext(
        switchboard=sb,
        verifiers=verifiers or {},
        crm=crm or {},
        observer=records,
        wall_clock=lambda: now or dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC),
    )
    ticker = asyncio.create_task(sb.run())
    try:
        result = await asyncio.wait_for(flows.FlowRunner(flow, ctx).start(caller, call_id), 10)
    finally:
        ticker.cancel()
    return result, records, sb


def accept_after(delay: float) -> Callable[[Switchboard, acdcore.Event], None]:
    """The agents' side: answer every offer after `delay` seconds."""

    def on_event(sb: Switchboard, ev: acdcore.Event) -> None:
        if ev.kind == "offer" and ev.call is not None:
            call, agent = ev.call, ev.agents[0]
            asyncio.get_running_loop().call_later(
                delay, lambda: sb.apply(sb.engine.accept(sb.now(), call, agent))
            )

    return on_event


FULL = """\
[flow]
start = "welcome"

[survey]
prompt = "survey"
timeout = 1
thanks = "thanks"

[nodes.welcome]
type = "greeting"
prompts = ["welcome", "recorded"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
timeout = 0.3
options = { "1" = "sales", "2" = "login" }
fallback = "bye"

[nodes.login]
type = "authenticate"
id_prompt = "enter-id"
pin_prompt = "enter-pin"
webhook = "WEBHOOK"
timeout = 0.2
digit_timeout = 0.3
retries = 1
invalid_prompt = "login-failed"
next = "support"
failed = "bye"
error = "sorry"

[nodes.support]
type = "queue"
queue = "support"
prompt = "please-hold"
announce_every = 5

[nodes.sales]
type = "queue"
queue = "support"

[nodes.sorry]
type = "hangup"
prompt = "technical-problem"

[nodes.bye]
type = "hangup"
prompt = "goodbye"
"""


def support_engine() -> acdcore.Engine:
    engine = acdcore.Engine(seed=1)
    engine.add_queue("support")
    engine.login(0.0, "alice", skills={"billing": 50}, queues=["support"])
    return engine


def test_menu_login_by_webhook_queue_agent_and_survey(webhook: Webhook) -> None:
    async def scenario() -> tuple[CallResult, Records, ScriptedCaller, acdcore.Engine, list[float]]:
        engine = support_engine()
        caller = ScriptedCaller(
            on_prompt={
                "main-menu": ["2"],
                "enter-id": ["42#"],
                "enter-pin": ["1234#"],
                "survey": ["4"],
            }
        )
        priorities: list[float] = []

        def agents(sb: Switchboard, ev: acdcore.Event) -> None:
            if ev.kind == "offer":
                priorities.append(sb.engine.call("c1").priority)
            if ev.kind == "assign":
                sb.dispose("c1", "resolved")  # the agent's wrap-up code
            accept_after(0.05)(sb, ev)

        result, records, _ = await run_flow(
            FULL.replace("WEBHOOK", webhook.url), engine, caller, agent_side=agents
        )
        return result, records, caller, engine, priorities

    result, records, caller, engine, priorities = asyncio.run(scenario())
    assert result.path == ["welcome", "menu", "login", "support"]
    assert [n for _, n, _ in records.nodes] == result.path
    assert records.results == [result]
    assert (result.outcome, result.agent, result.queue, result.survey_score) == (
        "answered",
        "alice",
        "support",
        4,
    )
    assert result.agent_disposition == "resolved"
    assert webhook.requests == [{"id": "42", "pin": "1234", "caller_id": "+15550001"}]
    assert result.attributes["authenticated_id"] == "42"
    assert result.attributes["customer"] == "C42"
    assert priorities == [5]  # the webhook's priority reached the engine
    assert caller.played == [
        "welcome", "recorded", "main-menu", "enter-id", "enter-pin", "please-hold",
        "survey", "thanks",
    ]  # fmt: skip
    assert "connect alice" in caller.log and caller.log[-1] == "hangup"
    stats = engine.queue_stats("support")
    assert (stats.offered, stats.answered, stats.waiting, stats.ended) == (1, 1, 0, 1)
    assert engine.agent("alice").state == "available"  # free during the survey


def test_wrong_pin_retries_then_failed_branch_and_slow_webhook_error(webhook: Webhook) -> None:
    async def scenario(keys: dict[str, list[str]]) -> tuple[CallResult, ScriptedCaller]:
        caller = ScriptedCaller(on_prompt=keys)
        text = FULL.replace("WEBHOOK", webhook.url)
        result, _, _ = await run_flow(text, support_engine(), caller)
        return result, caller

    result, caller = asyncio.run(
        scenario({"main-menu": ["2"], "enter-id": ["7#", "7#"], "enter-pin": ["0000#", "1111#"]})
    )
    assert result.path == ["welcome", "menu", "login", "bye"]
    assert caller.played.count("login-failed") == 2 and caller.played[-1] == "goodbye"
    assert [r["pin"] for r in webhook.requests] == ["0000", "1111"]
    result, caller = asyncio.run(
        scenario({"main-menu": ["2"], "enter-id": ["999#"], "enter-pin": ["1234#"]})
    )
    assert result.path[-1] == "sorry"
    assert "no answer within 0.2 s" in result.attributes["auth_error"]


def test_python_verifier_and_crm_lookup_set_the_routing() -> None:
    text = """\
[flow]
start = "crm"

[nodes.crm]
type = "set"
crm = "crm"
vip_numbers = ["+15550009"]
vip_priority = 7
skills = { billing = 40 }
language = "fr"
next = "login"

[nodes.login]
type = "authenticate"
id_prompt = "id"
pin_prompt = "pin"
verifier = "check"
retries = 0
digit_timeout = 0.3
next = "q"

[nodes.q]
type = "queue"
queue = "support"
"""
    seen: list[tuple[str, str, str]] = []

    async def check(ident: str, pin: str, caller_id: str) -> bool:
        seen.append((ident, pin, caller_id))
        return pin == "55"

    async def crm(caller_id: str) -> dict[str, Any]:
        return {"segment": "gold", "skills": {"lang_fr": 60}}

    async def scenario() -> tuple[CallResult, list[acdcore.CallInfo]]:
        engine = support_engine()
        engine.login(0.0, "bob", skills={"billing": 50, "lang_fr": 70}, queues=["support"])
        caller = ScriptedCaller(on_prompt={"id": ["1#"], "pin": ["55#"]}, caller="+15550009")
        infos: list[acdcore.CallInfo] = []

        def agents(sb: Switchboard, ev: acdcore.Event) -> None:
            if ev.kind == "offer":
                infos.append(sb.engine.call("c1"))
            accept_after(0.01)(sb, ev)

        result, _, _ = await run_flow(
            text, engine, caller, agent_side=agents, verifiers={"check": check}, crm={"crm": crm}
        )
        return result, infos

    result, infos = asyncio.run(scenario())
    assert seen == [("1", "55", "+15550009")]
    assert result.attributes["vip"] is True and result.attributes["segment"] == "gold"
    assert result.attributes["language"] == "fr" and result.attributes["priority"] == 7
    assert infos[0].priority == 7
    assert result.agent == "bob"  # only bob has lang_fr, which the CRM asked for


def test_invalid_keys_and_timeouts_retry_then_fall_back() -> None:
    text = """\
[flow]
start = "menu"

[nodes.menu]
type = "menu"
prompt = "m"
timeout = 0.15
retries = 2
invalid_prompt = "invalid"
timeout_prompt = "nothing"
options = { "1" = "bye" }
fallback = "operator"

[nodes.operator]
type = "ring_group"
members = ["ext-1", "ext-2"]
strategy = "sequential"
timeout = 1
no_answer = "bye"

[nodes.bye]
type = "hangup"
"""

    async def scenario() -> tuple[CallResult, ScriptedCaller, float]:
        caller = ScriptedCaller(on_prompt={"m": ["9", "", "*"]}, answers_ring="ext-2")
        start = time.monotonic()
        result, _, _ = await run_flow(text, support_engine(), caller)
        return result, caller, time.monotonic() - start

    result, caller, took = asyncio.run(scenario())
    assert caller.played == ["m", "invalid", "m", "nothing", "m", "invalid"]
    assert result.path == ["menu", "operator"]
    assert caller.log[-2:] == ["ring ext-1", "ring ext-2"]  # the bridge is not ours to hang up
    assert (result.outcome, result.transferred_to) == ("ring-group", "ext-2")
    assert took >= 0.15  # one retry waited out its whole timeout


def test_collect_timeout_hangs_up_and_step_and_time_limits() -> None:
    collect = """\
[flow]
start = "acct"
max_steps = 6
max_seconds = 5

[nodes.acct]
type = "collect"
prompt = "account"
into = "account"
min_digits = 3
max_digits = 6
timeout = 0.1
retries = 1
next = "again"

[nodes.again]
type = "menu"
prompt = "again"
timeout = 0.1
options = { "1" = "acct" }
"""

    async def scenario(text: str, keys: dict[str, list[str]]) -> CallResult:
        result, _, _ = await run_flow(text, support_engine(), ScriptedCaller(on_prompt=keys))
        return result

    result = asyncio.run(scenario(collect, {"account": ["12#", ""]}))
    assert (result.path, result.outcome) == (["acct"], "hangup")
    assert "account" not in result.attributes
    # The caller keeps choosing to start over: the step limit ends it.
    looping = {"account": ["123456"] * 5, "again": ["1"] * 5}
    result = asyncio.run(scenario(collect, looping))
    assert result.outcome == "step-limit" and len(result.path) == 6
    assert result.attributes["account"] == "123456"
    # Slow digit collection against a short time bound.
    slow = collect.replace("max_seconds = 5", "max_seconds = 0.25").replace(
        "timeout = 0.1\nretries = 1", "timeout = 0.2\nretries = 1"
    )
    result = asyncio.run(scenario(slow, {}))
    assert result.outcome == "time-limit"


HOURS = """\
[flow]
start = "hours"

[nodes.hours]
type = "hours"
timezone = "America/New_York"
weekly = ["mon-fri 09:00-17:00"]
holidays = ["2026-12-25"]
open = "open"
closed = "closed"
holiday = "holiday"

[nodes.open]
type = "hangup"
prompt = "open"

[nodes.closed]
type = "hangup"
prompt = "closed"

[nodes.holiday]
type = "hangup"
prompt = "holiday"
"""


@pytest.mark.parametrize(
    ("utc", "branch"),
    [
        (dt.datetime(2026, 12, 7, 14, 0), "open"),  # Monday 09:00 EST
        (dt.datetime(2026, 12, 7, 13, 59), "closed"),  # 08:59 EST
        (dt.datetime(2026, 12, 7, 22, 0), "closed"),  # 17:00 EST: closed from then
        (dt.datetime(2026, 12, 12, 15, 0), "closed"),  # Saturday
        (dt.datetime(2026, 12, 25, 15, 0), "holiday"),  # Friday, Christmas, local date
        (dt.datetime(2026, 12, 26, 3, 0), "holiday"),  # still the 25th in New York
        (dt.datetime(2026, 7, 6, 13, 0), "open"),  # Monday 09:00 EDT (summer time)
    ],
)
def test_business_hours_per_time_zone(utc: dt.datetime, branch: str) -> None:
    async def scenario() -> CallResult:
        now = utc.replace(tzinfo=dt.UTC)
        result, _, _ = await run_flow(HOURS, support_engine(), ScriptedCaller(), now=now)
        return result

    result = asyncio.run(scenario())
    assert result.path == ["hours", branch]


QUEUED = """\
[flow]
start = "q"

[nodes.q]
type = "queue"
queue = "support"
announce_every = 0.1
options = { "1" = "vm", "2" = "cb" }
fallbacks = { voicemail = "vm" }
timeout = "full"
escalate_prompt = "escalated"

[nodes.vm]
type = "voicemail"
prompt = "leave-message"
max_seconds = 30

[nodes.cb]
type = "callback"
queue = "support"
prompt = "we-call-back"

[nodes.full]
type = "hangup"
prompt = "try-later"
"""


def test_escalation_to_an_overflow_queue() -> None:
    async def scenario() -> tuple[CallResult, acdcore.Engine, ScriptedCaller]:
        engine = acdcore.Engine(seed=1, auto_accept=True)
        engine.add_queue("overflow")
        engine.add_queue("support", escalation=[(0.15, "add-queues", ["overflow"])])
        engine.login(0.0, "bob", queues=["overflow"])
        caller = ScriptedCaller()
        result, _, _ = await run_flow(QUEUED, engine, caller)
        return result, engine, caller

    result, engine, caller = asyncio.run(scenario())
    assert (result.outcome, result.agent, result.queue) == ("answered", "bob", "overflow")
    assert result.attributes["escalations"] == [0]
    assert result.attributes["wait"] >= 0.15
    assert "escalated" in caller.played
    assert "position-1" in caller.played  # announced before the escalation
    assert engine.queue_stats("support").answered == 1  # home queue counts the answer


def test_caller_leaves_the_queue_for_voicemail_and_engine_fallback_to_voicemail() -> None:
    log: list[str] = []

    async def scenario(engine: acdcore.Engine, **script: Any) -> CallResult:
        caller = ScriptedCaller(**script)
        result, _, _ = await run_flow(QUEUED, engine, caller, call_id="vm-1")
        log[:] = caller.log
        return result

    engine = support_engine()
    engine.logout(0.0, "alice")
    result = asyncio.run(scenario(engine, press_at=[(0.05, "1")]))
    assert result.path == ["q", "vm"]
    assert (result.outcome, result.voicemail) == ("voicemail", "voicemail/vm-1.wav")
    assert result.attributes["left_queue"] == "1"
    stats = engine.queue_stats("support")
    assert (stats.offered, stats.waiting, stats.abandoned) == (1, 0, 1)

    engine = acdcore.Engine(seed=1)
    engine.add_queue("support", escalation=[(0.1, "fallback", "voicemail")])
    result = asyncio.run(scenario(engine))
    assert result.path == ["q", "vm"] and result.attributes["fallback"] == "voicemail"
    assert "record voicemail/vm-1.wav 30 beep=True" in log
    assert engine.queue_stats("support").fallback == 1


def test_queue_timeout_and_announcements_then_abandon() -> None:
    async def scenario(engine: acdcore.Engine, **script: Any) -> tuple[CallResult, ScriptedCaller]:
        caller = ScriptedCaller(**script)
        result, _, _ = await run_flow(QUEUED, engine, caller)
        return result, caller

    engine = acdcore.Engine(seed=1)
    engine.add_queue("support", max_wait=0.25)
    result, caller = asyncio.run(scenario(engine))
    assert result.path == ["q", "full"] and result.outcome == "hangup"
    assert caller.played.count("position-1") >= 1 and caller.played[-1] == "try-later"
    assert engine.queue_stats("support").timed_out == 1

    engine = acdcore.Engine(seed=1)
    engine.add_queue("support")
    result, caller = asyncio.run(scenario(engine, hang_up_on="position-1"))
    assert result.outcome == "abandoned" and caller.log[-1] != "hangup"
    assert engine.queue_stats("support").abandoned == 1


def test_callback_keeps_the_place_in_line_and_fires_when_an_agent_is_free() -> None:
    async def scenario() -> tuple[CallResult, list[CallbackRequest], acdcore.Engine, list[int]]:
        engine = acdcore.Engine(seed=1)
        engine.add_queue("support")
        engine.enqueue(0.0, "earlier", "support")  # someone already waiting
        fired: list[CallbackRequest] = []

        async def hook(req: CallbackRequest) -> None:
            fired.append(req)

        caller = ScriptedCaller(press_at=[(0.05, "2")])
        result, _, sb = await run_flow(QUEUED, engine, caller, on_callback=hook)
        positions = [engine.position("c1")]
        assert sb.on_hold() == ["c1"]
        sb.apply(engine.hangup(sb.now(), "earlier"))
        positions.append(engine.position("c1"))
        sb.apply(engine.login(sb.now(), "alice", queues=["support"]))
        await asyncio.sleep(0)
        return result, fired, engine, positions

    result, fired, engine, positions = asyncio.run(scenario())
    assert (result.path, result.outcome) == (["q", "cb"], "callback")
    assert positions == [2, 1]  # kept its place, moved up as the line moved
    assert fired == [CallbackRequest("c1", "+15550001", "support", "alice", "offer")]
    assert engine.call("c1").state == "offered"


def test_transfer_and_its_failure_branch() -> None:
    text = """\
[flow]
start = "t"

[nodes.t]
type = "transfer"
target = "+15559999"
failed = "bye"

[nodes.bye]
type = "hangup"
"""

    async def scenario(ok: bool) -> tuple[CallResult, ScriptedCaller]:
        caller = ScriptedCaller(transfer_ok=ok)
        result, _, _ = await run_flow(text, support_engine(), caller)
        return result, caller

    result, caller = asyncio.run(scenario(True))
    assert (result.outcome, result.transferred_to) == ("transferred", "+15559999")
    assert caller.log == ["transfer +15559999"]
    result, caller = asyncio.run(scenario(False))
    assert result.path == ["t", "bye"] and caller.log == ["transfer +15559999", "hangup"]


def test_runner_refuses_a_context_without_what_the_flow_names() -> None:
    flow = flows.Flow(
        start="a",
        nodes={
            "a": flows.Authenticate(id_prompt="i", pin_prompt="p", next="b", verifier="nope"),
            "b": flows.Hangup(),
        },
    )
    with pytest.raises(ValueError, match="no verifier named 'nope'"):
        flows.FlowRunner(flow, FlowContext())
    with pytest.raises(ValueError, match="give a switchboard"):
        flows.FlowRunner(flows.Flow(start="q", nodes={"q": flows.Queue("support")}), FlowContext())


def test_webhook_answers_map_to_good_wrong_and_error(webhook: Webhook) -> None:
    from acdcore.flows.webhook import WebhookError, verify

    async def ask(ident: str, pin: str = "1234", url: str = webhook.url) -> object:
        return await verify(url, ident, pin, "+1", 1.0)

    assert asyncio.run(ask("5")) == {"customer": "C5", "priority": 5}
    assert asyncio.run(ask("5", "0")) is False
    assert asyncio.run(ask("401")) is False
    with pytest.raises(WebhookError, match="HTTP status 500"):
        asyncio.run(ask("500"))
    with pytest.raises(WebhookError, match="not JSON"):
        asyncio.run(ask("777"))
    closed = webhook.url.rsplit(":", 1)[0] + ":1/verify"
    with pytest.raises(WebhookError, match=r"127\.0\.0\.1:1"):
        asyncio.run(ask("5", url=closed))


def test_engine_refusal_and_crm_failure_do_not_crash_the_call() -> None:
    text = """\
[flow]
start = "crm"

[nodes.crm]
type = "set"
crm = "down"
next = "q"

[nodes.q]
type = "queue"
queue = "support"
timeout = "bye"

[nodes.bye]
type = "hangup"
prompt = "sorry"
"""

    async def down(caller_id: str) -> dict[str, Any]:
        raise ConnectionError("crm unreachable")

    async def scenario() -> CallResult:
        engine = support_engine()
        engine.enqueue(0.0, "c1", "support")  # the id is taken: the engine refuses ours
        result, _, _ = await run_flow(text, engine, ScriptedCaller(), crm={"down": down})
        return result

    result = asyncio.run(scenario())
    assert result.path == ["crm", "q", "bye"]
    assert "crm unreachable" in result.attributes["crm_error"]
    assert "c1" in result.attributes["queue_error"]
    flow = flows.Flow(start="q", nodes={"q": flows.Queue("sales")})
    with pytest.raises(ValueError, match="the engine has no queue 'sales'"):
        flows.FlowRunner(flow, FlowContext(switchboard=Switchboard(support_engine())))


def test_a_broken_channel_ends_the_call_with_error_and_still_reports_it() -> None:
    class Broken(ScriptedCaller):
        async def record(self, path: str, max_seconds: float, beep: bool) -> float:
            raise OSError("disk full")

    text = '[flow]\nstart = "vm"\n\n[nodes.vm]\ntype = "voicemail"\n'

    async def scenario() -> tuple[CallResult, Records, list[str]]:
        caller = Broken()
        result, records, _ = await run_flow(text, support_engine(), caller)
        return result, records, caller.log

    result, records, log = asyncio.run(scenario())
    assert result.outcome == "error" and "disk full" in result.attributes["error"]
    assert records.results == [result] and log == ["hangup"]


def test_estimated_wait_is_announced_once_the_engine_has_handle_times() -> None:
    async def scenario() -> tuple[CallResult, ScriptedCaller]:
        engine = acdcore.Engine(seed=1, auto_accept=True)
        engine.add_queue("support")
        engine.login(0.0, "alice", queues=["support"])
        engine.enqueue(1.0, "before", "support")
        engine.hangup(181.0, "before")  # one 180 s call handled: the engine can estimate
        engine.enqueue(182.0, "busy", "support")  # alice is talking when our caller comes
        caller = ScriptedCaller(hang_up_on="wait-")
        result, _, _ = await run_flow(QUEUED, engine, caller)
        return result, caller

    result, caller = asyncio.run(scenario())
    # docs/engine.md: (1 waiting + 1 - 0 available) x 180 s handle time / 1 staffed = 6 minutes
    assert caller.played == ["position-1", "wait-6-minutes"]
    assert result.outcome == "abandoned"
