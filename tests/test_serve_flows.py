"""The contact-center app's call flows end to end over real SIP on 127.0.0.1 (issue 6): SIPp
callers keying RFC 2833 digits from the shipped pcaps, `AgentPhone`s (real SIP clients that
register with digest auth and key `*<code>#` by RFC 4733) as agents, a local HTTP server as the
login webhook, a SIPp UAS as an external transfer target. Each test reads the CDR and the queue
log back from the SQLite file. Bounded waits with generous timeouts: the machine is loaded."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.flows.errors import FlowError
from acdcore.media.wav import write_wav
from acdcore.records.model import CallRecord, LogEvent
from acdcore.records.sqlite import SqliteStore
from acdcore.records.store import Query
from acdcore.traffic import AgentPhone, Caller, CallerScript, open_endpoint
from test_serve import center_files, tone
from test_sip_peers import wait_for
from test_sip_transport import free_port, run, run_sipp, sipp_totals

CALLER = "+33122334455"

CONFIG = """
[sip]
address = "127.0.0.1:0"
digest = ["MD5"]

[rtp]
port_min = 31000
port_max = 31999

[flow]
file = "flow.toml"

[records]
database = "records.db"

[prompts]
directory = "prompts"

[wrapup]
default_disposition = "resolved"

[queues.overflow]
sl = 20
wrapup = 1
ring_timeout = 10

[queues.sales]
sl = 20
wrapup = 1
ring_timeout = 10
{sales}

[[agents]]
id = "ann"
user = "agent1"
password = "secret1"
queues = ["sales"]

[[agents]]
id = "bob"
user = "agent2"
password = "secret2"
queues = ["overflow"]

[[agents]]
id = "op1"
user = "ext-100"
password = "secret3"
queues = []

[[agents]]
id = "op2"
user = "ext-101"
password = "secret4"
queues = []
"""

_PCAP = {"#": "pound", "*": "star"}


def sipp_caller(keys: str, *, gap_ms: int = 400, first_ms: int = 1000, hold_ms: int = 0) -> str:
    """A SIPp caller scenario: INVITE (PCMU + telephone-event), ACK, `keys` as RFC 2833 digits
    (the shipped pcaps, `first_ms` after the answer then every `gap_ms`), then either waits for
    our BYE (`hold_ms` 0) or stays `hold_ms` and hangs up itself."""
    steps = []
    for i, key in enumerate(keys):
        pcap = f"/usr/share/sip-tester/dtmf_2833_{_PCAP.get(key, key)}.pcap"
        steps.append(f'<pause milliseconds="{first_ms if i == 0 else gap_ms}"/>')
        steps.append(f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
    dialog = f"""
      From: caller <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]"""
    if hold_ms:
        end = f"""<pause milliseconds="{hold_ms}"/>
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]{dialog}
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <recv response="200" crlf="true"/>"""
    else:
        end = """<recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]></send>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="flow caller">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]{dialog}
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  {"".join(steps)}
  {end}
</scenario>
"""


async def sipp_call(
    center: ContactCenter, directory: Path, keys: str, **kwargs: Any
) -> dict[str, int]:
    """One SIPp call to the center dialling 5000; SIPp's totals."""
    scenario = directory / "caller.xml"
    scenario.write_text(sipp_caller(keys, **kwargs))
    stat = directory / "caller.csv"
    for _ in range(3):
        stat.unlink(missing_ok=True)
        rc = await run_sipp(
            center.address, "-sf", str(scenario), "-s", "5000", "-m", "1", stat=stat, timeout=90.0
        )
        totals = sipp_totals(stat) if stat.is_file() else {"created": 0}
        if totals["created"] or rc == 0:
            break
        # SIPp stopped before its call (a port taken between free_port() and its bind, by a
        # parallel run): nothing was sent, so another go is the same test.
    assert rc == 0, totals
    return totals


@contextlib.asynccontextmanager
async def serving(
    directory: Path, flow: str, sales: str = ""
) -> AsyncIterator[tuple[ContactCenter, list[str]]]:
    """The center on a free port, with the names of every prompt it played, in order."""
    config = load_config(center_files(directory, CONFIG.replace("{sales}", sales), flow))
    for name, seconds in (("still-trying", 0.2), ("closed", 0.2), ("survey", 0.2)):
        write_wav(directory / "prompts" / f"{name}.wav", tone(seconds, 500.0))
    center = ContactCenter(config)
    played: list[str] = []
    lookup = center.prompts.encoded

    def spy(name: str, codec: str) -> bytes | None:
        played.append(name)
        return lookup(name, codec)

    center.prompts.encoded = spy  # type: ignore[method-assign]
    await center.start()
    try:
        yield center, played
    finally:
        await center.stop()


@contextlib.asynccontextmanager
async def phones(center: ContactCenter, *phones: AgentPhone) -> AsyncIterator[None]:
    try:
        for phone in phones:
            await phone.start()
        ids = {a.id for a in center.config.agents if a.user in {p.user for p in phones}}
        assert await wait_for(lambda: ids <= center.login.logged_in, 20.0), center.login.logged_in
        yield
    finally:
        for phone in phones:
            await phone.close()


def agent(center: ContactCenter, user: str, password: str, **kwargs: Any) -> AgentPhone:
    options: dict[str, Any] = {"answer_delay": 0.3, "talk_mean": 0.01, "talk_min": 2.0}
    options.update(kwargs)
    return AgentPhone(center.address, user, password, **options)


def records(directory: Path) -> tuple[CallRecord, list[LogEvent]]:
    """The one CDR in the database and its queue log."""
    with SqliteStore(directory / "records.db", create=False) as store:
        (record,) = store.search(Query())
        return record, store.queue_log(record.call_id)


async def ended(center: ContactCenter, count: int = 1) -> dict[str, int]:
    assert await wait_for(lambda: sum(center.stats.by_outcome.values()) >= count, 30.0)
    return center.stats.by_outcome


# 1. Login through a local HTTP webhook, queue, agent, disposition keyed on the agent phone.


class Webhook(http.server.ThreadingHTTPServer):
    """The login webhook: customer 7135 with PIN 90 is good; `delay` makes it slow."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.delay = 0.0
        self.status = 200
        self.seen: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/verify"


class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append(body)
        time.sleep(self.server.delay)
        good = body["id"] == "7135" and body["pin"] == "90"
        answer = {"ok": good, "attributes": {"tier": "gold"}} if good else {"ok": False}
        data = json.dumps(answer).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10.0)


LOGIN_FLOW = """
[flow]
start = "welcome"

[nodes.welcome]
type = "greeting"
prompts = ["welcome"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
timeout = 8
retries = 0
options = {{ "2" = "login" }}

[nodes.login]
type = "authenticate"
id_prompt = "please-hold"
pin_prompt = "please-hold"
webhook = "{url}"
timeout = 1.5
retries = 0
digit_timeout = 8
next = "sales"
failed = "denied"
error = "later"

[nodes.sales]
type = "queue"
queue = "sales"
announce_every = 60
timeout = "later"

[nodes.denied]
type = "hangup"
prompt = "closed"

[nodes.later]
type = "hangup"
prompt = "still-trying"
"""


def test_login_by_webhook_then_agent_answers_and_keys_the_disposition(tmp_path: Path) -> None:
    async def main() -> None:
        with webhook() as hook:
            async with serving(tmp_path, LOGIN_FLOW.format(url=hook.url)) as (center, played):
                ann = agent(center, "agent1", "secret1", talk_min=2.5, disposition="*42#")
                async with phones(center, ann):
                    totals = await sipp_call(center, tmp_path, "27135#90#")
                    assert totals["ok"] == 1  # our BYE after the agent hung up
                    assert await ended(center) == {"answered": 1}
                assert hook.seen == [{"id": "7135", "pin": "90", "caller_id": CALLER}]
                assert played[:2] == ["welcome", "main-menu"] and "closed" not in played
                (call,) = ann.calls
                assert (call.digits_sent, call.ended_by) == ("*42#", "agent")
                assert center.stats.dispositions == 1
        record, log = records(tmp_path)
        assert (record.outcome, record.queue, record.agent) == ("answered", "sales", "ann")
        assert record.caller == CALLER and record.called == "5000"
        assert record.disposition == "42"  # keyed on the agent's phone, not the default
        # What the flow learnt before the queue: the menu key, the login and its attributes.
        assert record.attributes["authenticated_id"] == "7135"
        assert record.attributes["tier"] == "gold"
        assert record.attributes["menu.menu"] == "2"
        assert record.talk is not None and 1.5 < record.talk < 20.0
        assert [e.event for e in log] == ["enter", "connect", "complete"]
        assert log[1].agent == "ann"

    run(main)


def test_login_with_a_wrong_pin_takes_the_failed_branch_and_is_recorded(tmp_path: Path) -> None:
    async def main() -> None:
        with webhook() as hook:
            async with serving(tmp_path, LOGIN_FLOW.format(url=hook.url)) as (center, played):
                await sipp_call(center, tmp_path, "27135#11#")
                assert await ended(center) == {"hangup": 1}
                assert hook.seen == [{"id": "7135", "pin": "11", "caller_id": CALLER}]
                assert played[-1] == "closed"  # the failed branch's prompt
                assert center.engine.queue_stats("sales").offered == 0
        record, log = records(tmp_path)
        assert (record.outcome, record.queue, record.agent) == ("hangup", "", None)
        assert record.caller == CALLER and record.called == "5000"
        assert record.attributes["path"] == ["welcome", "menu", "login", "denied"]
        assert "authenticated_id" not in record.attributes
        assert log == []  # never queued

    run(main)


@pytest.mark.parametrize(
    ("delay", "status", "why"),
    [(4.0, 200, "no answer within 1.5 s"), (0.0, 500, "HTTP status 500")],
    ids=["slow", "status-500"],
)
def test_a_webhook_too_slow_or_failing_takes_the_error_branch(
    tmp_path: Path, delay: float, status: int, why: str
) -> None:
    async def main() -> None:
        with webhook() as hook:
            hook.delay, hook.status = delay, status  # the node's timeout is 1.5 s
            async with serving(tmp_path, LOGIN_FLOW.format(url=hook.url)) as (center, played):
                await sipp_call(center, tmp_path, "27135#90#")
                assert await ended(center) == {"hangup": 1}
                assert played[-1] == "still-trying"  # the error branch's prompt
                assert len(hook.seen) == 1
        record, _ = records(tmp_path)
        assert record.attributes["path"] == ["welcome", "menu", "login", "later"]
        assert why in record.attributes["auth_error"]

    run(main)


# 2. After hours: a weekly schedule that excludes now, and a holiday today.


def closed_now(zone: str) -> str:
    """A weekly entry open only on a day three days from today in `zone`: closed now and for
    the next two days whatever the time of day."""
    day = (dt.datetime.now(ZoneInfo(zone)).weekday() + 3) % 7
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day] + " 00:00-24:00"


HOURS_FLOW = """
[flow]
start = "welcome"

[nodes.welcome]
type = "greeting"
prompts = ["welcome"]
next = "hours"

[nodes.hours]
type = "hours"
timezone = "America/New_York"
weekly = ["{weekly}"]
holidays = [{holidays}]
open = "sales"
closed = "voicemail"
holiday = "shut"

[nodes.sales]
type = "queue"
queue = "sales"

[nodes.voicemail]
type = "voicemail"
prompt = "closed"
path = "voicemail/{{call}}.wav"
max_seconds = 30

[nodes.shut]
type = "hangup"
prompt = "closed"
"""


def test_after_hours_goes_to_voicemail_and_the_record_links_the_wav(tmp_path: Path) -> None:
    flow = HOURS_FLOW.format(weekly=closed_now("America/New_York"), holidays="")

    async def main() -> None:
        async with serving(tmp_path, flow) as (center, played):
            await sipp_call(center, tmp_path, "", hold_ms=3000)  # speaks, then hangs up
            assert await ended(center) == {"voicemail": 1}
            assert played[:3] == ["welcome", "closed", "beep"]
            assert center.engine.queue_stats("sales").offered == 0
        record, log = records(tmp_path)
        assert (record.outcome, record.queue) == ("voicemail", "")
        assert record.attributes["hours"] == "closed"
        assert record.voicemail_path is not None
        wav = Path(record.voicemail_path)
        assert wav.is_file() and wav.parent == tmp_path / "voicemail"
        assert record.end is not None and 2.0 < record.end - record.arrival < 30.0
        assert log == []

    run(main)


def test_a_holiday_today_plays_the_closed_prompt_and_hangs_up(tmp_path: Path) -> None:
    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    days = ", ".join(f'"{today + dt.timedelta(days=d)}"' for d in (-1, 0, 1))  # near midnight
    flow = HOURS_FLOW.format(weekly="mon-sun 00:00-24:00", holidays=days)

    async def main() -> None:
        async with serving(tmp_path, flow) as (center, played):
            await sipp_call(center, tmp_path, "")  # waits for our BYE
            assert await ended(center) == {"hangup": 1}
            assert played == ["welcome", "closed"]
        record, _ = records(tmp_path)
        assert (record.outcome, record.queue) == ("hangup", "")
        assert record.attributes["hours"] == "holiday"
        assert record.attributes["path"] == ["welcome", "hours", "shut"]

    run(main)


def test_a_caller_leaving_in_the_menu_is_recorded_as_an_abandon_before_any_queue(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with serving(tmp_path, QUEUE_FLOW.format(survey="")) as (center, _):
            await sipp_call(center, tmp_path, "", hold_ms=2000)  # the menu waits 8 s for a key
            assert await ended(center) == {"abandoned": 1}
            assert center.engine.queue_stats("sales").offered == 0
        record, log = records(tmp_path)
        assert (record.outcome, record.queue, record.caller) == ("abandoned", "", CALLER)
        assert record.attributes["path"] == ["menu"]
        assert record.end is not None and 1.0 < record.end - record.arrival < 8.0
        assert log == []

    run(main)


# 3. Escalation to an overflow queue.


QUEUE_FLOW = """
[flow]
start = "menu"
{survey}

[nodes.menu]
type = "menu"
prompt = "main-menu"
timeout = 8
retries = 0
options = {{ "1" = "sales" }}

[nodes.sales]
type = "queue"
queue = "sales"
announce_every = 120
escalate_prompt = "still-trying"
"""


def test_an_escalation_step_lets_the_overflow_agent_take_the_call(tmp_path: Path) -> None:
    sales = 'escalation = [[2, "add-queues", ["overflow"]]]'

    async def main() -> None:
        async with serving(tmp_path, QUEUE_FLOW.format(survey=""), sales) as (center, played):
            bob = agent(center, "agent2", "secret2")  # in overflow only; nobody in sales
            async with phones(center, bob):
                await sipp_call(center, tmp_path, "1")
                assert await ended(center) == {"answered": 1}
            assert "still-trying" in played
            assert center.engine.queue_stats("sales").answered == 1  # its home queue
        record, log = records(tmp_path)
        assert (record.outcome, record.queue, record.agent) == ("answered", "overflow", "bob")
        assert record.wait is not None and 1.5 < record.wait < 30.0
        assert [(e.event, e.queue) for e in log] == [
            ("enter", "sales"),
            ("connect", "overflow"),
            ("complete", "overflow"),
        ]

    run(main)


def test_max_wait_moves_the_call_to_the_overflow_queue(tmp_path: Path) -> None:
    sales = 'max_wait = 2\noverflow = "overflow"'

    async def main() -> None:
        async with serving(tmp_path, QUEUE_FLOW.format(survey=""), sales) as (center, played):
            bob = agent(center, "agent2", "secret2")
            async with phones(center, bob):
                await sipp_call(center, tmp_path, "1")
                assert await ended(center) == {"answered": 1}
            assert "still-trying" in played  # moving to another queue is an escalation too
        record, log = records(tmp_path)
        assert (record.outcome, record.queue, record.agent) == ("answered", "overflow", "bob")
        assert record.attributes["queues"] == ["sales", "overflow"]
        assert [(e.event, e.queue) for e in log] == [
            ("enter", "sales"),
            ("transfer", "sales"),
            ("enter", "overflow"),
            ("connect", "overflow"),
            ("complete", "overflow"),
        ]
        assert log[1].data == {"to": "overflow", "why": "overflow"}

    run(main)


# 4. The post-call survey.


SURVEY = """
[survey]
prompt = "survey"
timeout = 12
"""


async def survey_call(center: ContactCenter, digits: list[tuple[float, str]]) -> None:
    line = await open_endpoint()
    try:
        script = CallerScript("5000", digits, patience=60.0, from_user=CALLER)
        result = await Caller(line, center.address, script).run()
        assert result.outcome == "completed"  # we hung up, after the survey
    finally:
        line.close()


def test_the_survey_after_the_agent_hangs_up_stores_the_score(tmp_path: Path) -> None:
    async def main() -> None:
        async with serving(tmp_path, QUEUE_FLOW.format(survey=SURVEY)) as (center, played):
            ann = agent(center, "agent1", "secret1", talk_min=5.0)
            async with phones(center, ann):
                # "1" for the menu; "2" to the agent during the talk; "4" after the agent left,
                # repeated so one lands in the survey's window however slow the machine.
                keys = [(1.0, "1"), (3.5, "2"), *((t, "4") for t in (9.0, 11.0, 13.0, 15.0))]
                await survey_call(center, keys)
                assert await ended(center) == {"answered": 1}
            assert "survey" in played
            (call,) = ann.calls
            assert call.ended_by == "agent"
        record, _ = records(tmp_path)
        assert (record.outcome, record.agent, record.disposition) == ("answered", "ann", "resolved")
        assert record.survey_score == 4  # not the "2" keyed to the agent during the talk

    run(main)


def test_no_survey_key_leaves_no_score_and_the_call_is_still_recorded(tmp_path: Path) -> None:
    async def main() -> None:
        async with serving(tmp_path, QUEUE_FLOW.format(survey=SURVEY)) as (center, played):
            ann = agent(center, "agent1", "secret1")
            async with phones(center, ann):
                await survey_call(center, [(1.0, "1")])
                assert await ended(center) == {"answered": 1}
            assert "survey" in played
        record, log = records(tmp_path)
        assert (record.outcome, record.agent, record.survey_score) == ("answered", "ann", None)
        assert [e.event for e in log] == ["enter", "connect", "complete"]

    run(main)


# 5. The operator ring group and a transfer to an external SIP URI.


RING_FLOW = """
[flow]
start = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
timeout = 8
retries = 0
options = {{ "0" = "operator", "9" = "out" }}

[nodes.operator]
type = "ring_group"
members = ["ext-100", "ext-101"]
strategy = "simultaneous"
timeout = 20

[nodes.out]
type = "transfer"
target = "{target}"
"""


@pytest.mark.parametrize("agent_leaves", [False, True], ids=["caller-leaves", "phone-leaves"])
def test_the_ring_group_bridges_the_first_phone_and_cancels_the_other(
    tmp_path: Path, agent_leaves: bool
) -> None:
    async def main() -> None:
        flow = RING_FLOW.format(target="sip:nobody@127.0.0.1:9")
        async with serving(tmp_path, flow) as (center, _):
            talk = {"talk_min": 3.0} if agent_leaves else {"talk_mean": None}
            fast = agent(center, "ext-100", "secret3", answer_delay=0.5, **talk)
            slow = agent(center, "ext-101", "secret4", answer_delay=8.0, talk_mean=None)
            async with phones(center, fast, slow):
                # The caller hangs up after 5 s, or waits for our BYE when the phone leaves.
                await sipp_call(center, tmp_path, "0", hold_ms=0 if agent_leaves else 5000)
                assert await ended(center) == {"ring-group": 1}
                assert await wait_for(lambda: not slow._ringing, 10.0)  # cancelled
                assert slow.calls == []
                (call,) = fast.calls
                assert await fast.wait_until(lambda: call.ended_at is not None, 10.0)
                assert call.ended_by == ("agent" if agent_leaves else "caller")
                assert center.stats.relayed > 50  # the phone's audio, bridged to the caller
        record, log = records(tmp_path)
        assert (record.outcome, record.queue) == ("transferred", "")
        assert record.attributes["transferred_to"] == "ext-100"
        assert record.attributes["flow_outcome"] == "ring-group"
        assert log == []

    run(main)


def test_a_transfer_node_reaches_an_external_sip_uas(tmp_path: Path) -> None:
    async def main() -> None:
        port = free_port()
        target = f"sip:helpdesk@127.0.0.1:{port}"
        stat = tmp_path / "uas.csv"
        uas = asyncio.ensure_future(
            run_sipp(None, "-sn", "uas", "-m", "1", stat=stat, port=port, timeout=90.0)
        )
        assert await wait_for(lambda: udp_bound(port), 30.0)  # SIPp is listening
        async with serving(tmp_path, RING_FLOW.format(target=target)) as (center, _):
            await sipp_call(center, tmp_path, "9", hold_ms=4000)
            assert await ended(center) == {"transferred": 1}
            assert await asyncio.wait_for(uas, 60.0) == 0  # answered, then our BYE
        assert sipp_totals(stat)["ok"] == 1
        record, _ = records(tmp_path)
        assert (record.outcome, record.queue) == ("transferred", "")
        assert record.attributes["transferred_to"] == target

    run(main)


def udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


# 6. Flow files with mistakes are refused by `acdcore serve`, naming the place.


GOOD_FLOW = """[flow]
start = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
options = { "1" = "sales" }

[nodes.sales]
type = "queue"
queue = "sales"
"""

# The menu's options and fallback all lead back to it through a greeting.
LOOP_FLOW = """[flow]
start = "menu"

[nodes.menu]
type = "menu"
prompt = "main-menu"
options = { "1" = "again" }
fallback = "again"

[nodes.again]
type = "greeting"
prompts = ["welcome"]
next = "menu"
"""

MISTAKES = [
    (
        GOOD_FLOW.replace('type = "queue"', 'type = "queueue"'),
        ":10: nodes.sales.type: unknown node type 'queueue'",
    ),
    (GOOD_FLOW.replace('"1" = "sales"', '"1" = "sails"'), ":7: nodes.menu.options.1:"),
    (
        LOOP_FLOW,
        ":4: nodes.menu: cycle with no exit",
    ),
    (
        GOOD_FLOW.replace('"1" = "sales"', '"1" = "hours"')
        + '\n[nodes.hours]\ntype = "hours"\ntimezone = "Mars/Olympus"\n'
        'weekly = ["mon-fri 08:00-18:00"]\nopen = "sales"\nclosed = "sales"\n',
        ":15: nodes.hours.timezone: unknown IANA time zone 'Mars/Olympus'",
    ),
]


@pytest.mark.parametrize(("flow", "expected"), MISTAKES, ids=["type", "target", "loop", "tz"])
def test_serve_refuses_a_flow_with_a_mistake_naming_its_place(
    tmp_path: Path, flow: str, expected: str
) -> None:
    path = center_files(tmp_path, CONFIG.replace("{sales}", ""), flow)
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--duration", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("acdcore serve: ")
    assert f"{tmp_path / 'flow.toml'}" in done.stderr
    assert expected in done.stderr, done.stderr
    assert "SIP on" not in done.stdout  # refused before serving


def test_serve_accepts_the_same_flow_without_the_mistake(tmp_path: Path) -> None:
    path = center_files(tmp_path, CONFIG.replace("{sales}", ""), GOOD_FLOW)
    done = subprocess.run(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(path), "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "SIP on 127.0.0.1:" in done.stdout


def test_escalation_mistakes_in_the_config_name_the_queue(tmp_path: Path) -> None:
    bad = 'escalation = [[5, "teleport"], [10, "add-queues", ["overflow"]], "soon"]'
    path = center_files(tmp_path, CONFIG.replace("{sales}", bad), GOOD_FLOW)
    with pytest.raises(FlowError) as e:
        load_config(path)
    text = str(e.value)
    line = CONFIG.replace("{sales}", bad).splitlines().index(bad) + 1
    assert f"{path}:{line}: queues.sales.escalation: step 0: unknown action 'teleport'" in text
    assert "step 2: expected [after, action, arg?], got 'soon'" in text
    assert "step 1" not in text
    # The engine checks the arguments: a step without its argument is refused naming the queue.
    missing = CONFIG.replace("{sales}", 'escalation = [[5, "lower-skills"]]')
    path.write_text(missing)
    with pytest.raises(FlowError) as e:
        ContactCenter(load_config(path), database=tmp_path / "x.db")
    assert 'queues.sales: escalation action "lower-skills" needs a level step' in str(e.value)
