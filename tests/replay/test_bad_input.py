"""Every error rule of the replay contract (issue 2 and /tmp/acd/decisions.md).

An invalid line stops the replay: `replay_lines` / the baseline raise ValueError whose message
starts with `line N:` and names the bad thing; the CLI writes the events of the earlier lines,
no summary, the message on stderr, and exits with status 1. Nothing ever crashes or hangs.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from replay_support import (
    ID_WORD,
    T_WORD,
    Event,
    Replay,
    assign,
    check_error_message,
    counts,
    end,
    expect_error,
    st,
    summary,
    with_data,
)


def j(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# Every case starts with these three lines; line 3 produces one event.
PREFIX = [
    j({"t": 0, "op": "queue", "id": "sales"}),
    j({"t": 0, "op": "login", "id": "alice", "queues": ["sales"]}),
    j({"t": 1, "op": "call", "id": "c1", "queue": "sales"}),
]
BEFORE = [assign(1, "c1", "alice", "sales", 0)]
# A valid line after the bad one: it must not be applied (no summary either).
TRAILER = j({"t": 1000, "op": "call", "id": "after", "queue": "sales"})

JSON_WORDS = (r"json", r"pars", r"expect", r"malformed", r"syntax", r"decod", r"eof", r"invalid")
NUMBER_WORDS = (r"nan", r"inf", r"finite", r"number", r"range", r"json", r"value")


@dataclass
class Bad:
    name: str
    extra: list[str]  # lines after PREFIX; the last one is the bad line
    keywords: tuple[str, ...]  # regexes; the reason must match one
    before: list[Event] = field(default_factory=lambda: list(BEFORE))
    blank_before_bad: int = 0  # blank lines inserted just before the bad line

    @property
    def lines(self) -> list[str]:
        blanks = [""] * self.blank_before_bad
        return [*PREFIX, *self.extra[:-1], *blanks, self.extra[-1], TRAILER]

    @property
    def line_no(self) -> int:
        return len(PREFIX) + len(self.extra) + self.blank_before_bad


def call_line(t: Any = 2, **fields: Any) -> str:
    return j({"t": t, "op": "call", "id": "c2", "queue": "sales", **fields})


def login_line(**fields: Any) -> str:
    return j({"t": 2, "op": "login", "id": "bob", "queues": ["sales"], **fields})


def queue_line(**fields: Any) -> str:
    return j({"t": 2, "op": "queue", "id": "support", **fields})


CASES = [
    # -- not JSON / not an object
    Bad("malformed-json", ['{"t": 2, "op": "call", "id": "c2", "queue": "sales"'], JSON_WORDS),
    Bad("not-json-at-all", ["hello there"], JSON_WORDS),
    Bad("trailing-garbage", ['{"t": 2, "op": "hangup", "id": "c1"} x'], JSON_WORDS),
    Bad("array-line", ["[1, 2, 3]"], (r"object",)),
    Bad("number-line", ["42"], (r"object",)),
    Bad("string-line", ['"call"'], (r"object",)),
    Bad("null-line", ["null"], (r"object",)),
    # -- op
    Bad("unknown-op", [j({"t": 2, "op": "dance", "id": "c2"})], (r"dance",)),
    Bad("missing-op", [j({"t": 2, "id": "c2"})], (r"\bop\b",)),
    Bad("non-string-op", [j({"t": 2, "op": 5, "id": "c2"})], (r"\bop\b",)),
    Bad("empty-object", ["{}"], (T_WORD, r"\bop\b", r"time")),
    # -- unknown fields
    Bad("unknown-field-call", [call_line(colour="red")], (r"colour",)),
    Bad("unknown-field-login", [login_line(queus=["sales"])], (r"queus",)),
    Bad(
        "queue-field-on-hangup",
        [j({"t": 2, "op": "hangup", "id": "c1", "queue": "sales"})],
        (r"queue",),
    ),
    Bad("unknown-field-queue", [queue_line(wrap_up=5)], (r"wrap_up",)),
    # -- t
    Bad("missing-t", [j({"op": "call", "id": "c2", "queue": "sales"})], (T_WORD, r"time")),
    Bad(
        "nan-t", ['{"t": NaN, "op": "call", "id": "c2", "queue": "sales"}'], (*NUMBER_WORDS, T_WORD)
    ),
    Bad(
        "infinity-t",
        ['{"t": Infinity, "op": "call", "id": "c2", "queue": "sales"}'],
        (*NUMBER_WORDS, T_WORD),
    ),
    Bad(
        "overflowing-t",
        ['{"t": 1e999, "op": "call", "id": "c2", "queue": "sales"}'],
        (*NUMBER_WORDS, T_WORD),
    ),
    Bad("negative-t", [call_line(t=-1)], (r"negative", r"-1", r">= ?0", T_WORD)),
    Bad(
        "decreasing-t",
        [call_line(t=0.5)],
        (r"decreas", r"previous", r"before", r"earlier", r"backward", T_WORD),
    ),
    Bad("string-t", [call_line(t="2")], (T_WORD, r"number")),
    Bad("boolean-t", [call_line(t=True)], (T_WORD, r"number", r"bool")),
    Bad("null-t", [call_line(t=None)], (T_WORD, r"number", r"null")),
    # -- NaN elsewhere
    Bad(
        "nan-wrapup",
        ['{"t": 2, "op": "queue", "id": "support", "wrapup": NaN}'],
        (*NUMBER_WORDS, r"wrapup"),
    ),
    Bad(
        "nan-priority",
        ['{"t": 2, "op": "call", "id": "c2", "queue": "sales", "priority": NaN}'],
        (*NUMBER_WORDS, r"priority"),
    ),
    # -- ids
    Bad("missing-call-id", [j({"t": 2, "op": "call", "queue": "sales"})], (ID_WORD,)),
    Bad("missing-login-id", [j({"t": 2, "op": "login", "queues": ["sales"]})], (ID_WORD,)),
    Bad("missing-queue-id", [j({"t": 2, "op": "queue"})], (ID_WORD,)),
    Bad("missing-hangup-id", [j({"t": 2, "op": "hangup"})], (ID_WORD,)),
    Bad(
        "non-string-call-id",
        [j({"t": 2, "op": "call", "id": 7, "queue": "sales"})],
        (ID_WORD, r"string"),
    ),
    Bad("null-agent-id", [j({"t": 2, "op": "login", "id": None})], (ID_WORD, r"string")),
    Bad("list-queue-id", [j({"t": 2, "op": "queue", "id": ["support"]})], (ID_WORD, r"string")),
    Bad(
        "empty-id",
        [j({"t": 2, "op": "call", "id": "", "queue": "sales"})],
        (ID_WORD, r"empty", r"length", r"\b1\b"),
    ),
    Bad(
        "id-257-bytes",
        [j({"t": 2, "op": "call", "id": "x" * 257, "queue": "sales"})],
        (ID_WORD, r"long", r"256", r"byte", r"length", r"size"),
    ),
    Bad(
        "id-10000-bytes",
        [j({"t": 2, "op": "call", "id": "x" * 10_000, "queue": "sales"})],
        (ID_WORD, r"long", r"256", r"byte", r"length", r"size"),
    ),
    # 129 two-byte characters: 129 characters but 258 bytes, over the 256-byte limit.
    Bad(
        "id-258-utf8-bytes",
        [j({"t": 2, "op": "login", "id": "\u00e9" * 129})],
        (ID_WORD, r"long", r"256", r"byte", r"length", r"size"),
    ),
    Bad(
        "lone-surrogate-escape-id",
        ['{"t": 2, "op": "call", "id": "\\ud800", "queue": "sales"}'],
        (ID_WORD, r"unicode", r"utf", r"surrogate", r"escape", *JSON_WORDS),
    ),
    Bad("non-string-queue-ref", [call_line(queue=3)], (r"queue", r"string")),
    # -- skills
    Bad("level-0-login", [login_line(skills={"spanish": 0})], (r"level", r"spanish", r"\b0\b")),
    Bad("level-101-login", [login_line(skills={"spanish": 101})], (r"level", r"spanish", r"101")),
    Bad("level-0-call", [call_line(skills={"spanish": 0})], (r"level", r"spanish", r"\b0\b")),
    Bad("level-101-call", [call_line(skills={"spanish": 101})], (r"level", r"spanish", r"101")),
    Bad(
        "fractional-level",
        [login_line(skills={"spanish": 50.5})],
        (r"level", r"spanish", r"integer", r"50\.5"),
    ),
    Bad(
        "string-level",
        [login_line(skills={"spanish": "50"})],
        (r"level", r"spanish", r"integer", r"number"),
    ),
    Bad(
        "boolean-level",
        [login_line(skills={"spanish": True})],
        (r"level", r"spanish", r"integer", r"bool"),
    ),
    Bad("skills-not-object", [login_line(skills=["spanish"])], (r"skills",)),
    Bad("empty-skill-name", [login_line(skills={"": 5})], (r"skill", r"name", r"empty")),
    Bad(
        "skill-name-300-bytes",
        [login_line(skills={"s" * 300: 5})],
        (r"skill", r"name", r"long", r"256", r"byte"),
    ),
    Bad(
        "257-skills",
        [login_line(skills={f"s{i}": 1 for i in range(257)})],
        (r"skill", r"256", r"many"),
    ),
    # -- queue definitions
    Bad(
        "duplicate-queue",
        [j({"t": 2, "op": "queue", "id": "sales"})],
        (r"sales", r"duplicate", r"already", r"twice"),
    ),
    Bad("unknown-strategy", [queue_line(strategy="fastest")], (r"fastest", r"strategy")),
    Bad("negative-wrapup", [queue_line(wrapup=-1)], (r"wrapup",)),
    Bad("string-wrapup", [queue_line(wrapup="5")], (r"wrapup",)),
    Bad("negative-weight", [queue_line(weight=-2)], (r"weight",)),
    Bad("negative-sl", [queue_line(sl=-20)], (r"\bsl\b",)),
    # -- references to queues
    Bad("unknown-queue-in-call", [call_line(queue="nowhere")], (r"nowhere",)),
    Bad("unknown-queue-in-login", [login_line(queues=["sales", "nowhere"])], (r"nowhere",)),
    Bad(
        "queue-twice-in-login",
        [login_line(queues=["sales", "sales"])],
        (r"sales", r"duplicate", r"twice"),
    ),
    Bad("queues-not-list", [login_line(queues="sales")], (r"queues",)),
    # -- calls
    Bad("duplicate-call-id", [call_line(id="c1")], (r"\bc1\b", r"duplicate", r"already")),
    Bad(
        "reused-call-id-after-end",
        [j({"t": 2, "op": "hangup", "id": "c1"}), call_line(t=3, id="c1")],
        (r"\bc1\b", r"duplicate", r"already"),
        before=[*BEFORE, end(2, "c1", "alice", 1)],
    ),
    Bad("fractional-priority", [call_line(priority=1.5)], (r"priority",)),
    Bad("string-priority", [call_line(priority="high")], (r"priority",)),
    Bad("huge-priority", [call_line(priority=10**12)], (r"priority",)),
    Bad(
        "hangup-unknown-call", [j({"t": 2, "op": "hangup", "id": "ghost"})], (r"ghost", r"unknown")
    ),
    Bad(
        "hangup-ended-call",
        [j({"t": 2, "op": "hangup", "id": "c1"}), j({"t": 3, "op": "hangup", "id": "c1"})],
        (r"\bc1\b", r"finished", r"ended", r"unknown", r"already"),
        before=[*BEFORE, end(2, "c1", "alice", 1)],
    ),
    Bad(
        "hangup-abandoned-call",
        [
            call_line(),
            j({"t": 3, "op": "hangup", "id": "c2"}),
            j({"t": 4, "op": "hangup", "id": "c2"}),
        ],
        (r"\bc2\b", r"finished", r"abandon", r"unknown", r"already"),
        before=[*BEFORE, {"t": 3, "event": "abandon", "call": "c2", "queue": "sales", "wait": 1}],
    ),
    # -- agents
    Bad(
        "login-already-logged-in",
        [j({"t": 2, "op": "login", "id": "alice"})],
        (r"alice", r"logged", r"already"),
    ),
    Bad(
        "pause-unknown-agent",
        [j({"t": 2, "op": "pause", "id": "zoe"})],
        (r"zoe", r"logged", r"unknown"),
    ),
    Bad(
        "unpause-unknown-agent",
        [j({"t": 2, "op": "unpause", "id": "zoe"})],
        (r"zoe", r"logged", r"unknown"),
    ),
    Bad(
        "logout-unknown-agent",
        [j({"t": 2, "op": "logout", "id": "zoe"})],
        (r"zoe", r"logged", r"unknown"),
    ),
    Bad(
        "pause-after-logout",
        [
            j({"t": 2, "op": "login", "id": "bob"}),
            j({"t": 3, "op": "logout", "id": "bob"}),
            j({"t": 4, "op": "pause", "id": "bob"}),
        ],
        (r"bob", r"logged", r"unknown"),
    ),
    Bad(
        "pause-after-pending-logout-completed",
        [
            j({"t": 2, "op": "logout", "id": "alice"}),
            j({"t": 3, "op": "hangup", "id": "c1"}),
            j({"t": 4, "op": "unpause", "id": "alice"}),
        ],
        (r"alice", r"logged", r"unknown"),
        before=[*BEFORE, end(3, "c1", "alice", 2)],
    ),
    # -- line numbers count blank lines
    Bad("blank-lines-are-counted", [j({"t": 2, "op": "dance"})], (r"dance",), blank_before_bad=2),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_line_raises_value_error_naming_line_and_reason(replay: Replay, case: Bad):
    # Rule: an invalid line raises ValueError "line N: reason", the reason naming the bad thing.
    expect_error(replay, case.lines, case.line_no, case.keywords)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_stops_at_invalid_line(cli: Any, case: Bad):
    # Rule: the CLI writes the earlier lines' events, no summary, `line N: reason` on stderr,
    # and exits with status 1; no traceback.
    result = cli(case.lines)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.events == case.before
    check_cli_stderr(result.stderr, case.line_no, case.keywords)


def check_cli_stderr(stderr: str, line_no: int, keywords: tuple[str, ...]) -> None:
    assert "Traceback" not in stderr, stderr
    match = re.search(rf"line {line_no}:.*", stderr)
    assert match, f"stderr does not name line {line_no}: {stderr!r}"
    check_error_message(match.group(0), line_no, keywords)


def test_lone_surrogate_in_a_line_is_an_error_of_that_line(replay: Replay):
    # Rule: a line that is not valid Unicode text (a lone surrogate in the Python str) is an
    # invalid line: ValueError `line N: ...`, not a bare encoding error.
    lines = [*PREFIX, '{"t": 2, "op": "call", "id": "\ud800", "queue": "sales"}', TRAILER]
    expect_error(replay, lines, 4, (ID_WORD, r"unicode", r"utf", r"surrogate", r"encod"))


def test_valid_edge_values_are_accepted(replay: Replay):
    # Rule: the limits are inclusive: 256-byte ids (counted in UTF-8 bytes), 256 skills, levels
    # 1 and 100, t 0, |priority| 1e9, wrap-up/weight/sl 0 are all valid.
    long_id = "\u00e9" * 128  # 256 bytes
    trace = [
        {"t": 0, "op": "queue", "id": long_id, "wrapup": 0, "weight": 0, "sl": 0},
        {
            "t": 0,
            "op": "login",
            "id": "a" * 256,
            "queues": [long_id],
            "skills": {f"s{i}": 100 for i in range(256)},
        },
        {
            "t": 0,
            "op": "call",
            "id": "c" * 256,
            "queue": long_id,
            "priority": -(10**9),
            "skills": {"s0": 1, "s255": 100},
        },
        {"t": 0, "op": "call", "id": "c2", "queue": long_id, "priority": 10**9},
    ]
    assert replay([j(x) for x in trace]) == [
        assign(0, "c" * 256, "a" * 256, long_id, 0),
        summary({long_id: counts(2, 1, 0, 1, 1)}),
    ]


# ---- huge inputs: a clear error, quickly -------------------------------------------------------

MILLION = 1_000_000


def million_skills_line(op: str) -> str:
    skills = ",".join(f'"s{i}":1' for i in range(MILLION))
    if op == "login":
        return '{"t":2,"op":"login","id":"bob","queues":["sales"],"skills":{' + skills + "}}"
    return '{"t":2,"op":"call","id":"c2","queue":"sales","skills":{' + skills + "}}"


@pytest.fixture(scope="module", params=["login", "call"])
def million_skills(request: pytest.FixtureRequest) -> str:
    return million_skills_line(request.param)


def test_a_million_skills_is_a_quick_error(replay: Replay, million_skills: str):
    # Rule: a login (or call) with 10^6 skills is rejected (at most 256) quickly, not a hang.
    lines = [*PREFIX, million_skills, TRAILER]
    start = time.monotonic()
    expect_error(replay, lines, 4, (r"skill", r"256", r"many"))
    assert time.monotonic() - start < 20, "took too long"


def test_cli_a_million_skills_is_a_quick_error(cli: Any):
    # Rule: the CLI too stops at a 10^6-skill login with a clear error, quickly.
    lines = [*PREFIX, million_skills_line("login"), TRAILER]
    start = time.monotonic()
    result = cli(lines)
    assert time.monotonic() - start < 60, "took too long"
    assert result.returncode == 1
    assert result.events == BEFORE
    check_cli_stderr(result.stderr, 4, (r"skill", r"256", r"many"))


def test_a_megabyte_id_is_an_error(replay: Replay):
    # Rule: a huge string id is a clear error, not a crash.
    lines = [*PREFIX, j({"t": 2, "op": "call", "id": "x" * MILLION, "queue": "sales"}), TRAILER]
    expect_error(replay, lines, 4, (ID_WORD, r"long", r"256", r"byte", r"length", r"size"))


def test_cli_invalid_utf8_line(cli: Any):
    # Rule: a line that is not UTF-8 text is an invalid line like any other.
    raw = ("\n".join(PREFIX) + "\n").encode() + b'{"t": 2, "op": "\xff\xfe"}\n' + TRAILER.encode()
    result = cli(raw)
    assert result.returncode == 1
    assert result.events == BEFORE
    check_cli_stderr(result.stderr, 4, (*JSON_WORDS, r"utf", r"unicode", r"encod", r"byte"))


# ---- fuzz: ValueError or success, never anything else ------------------------------------------

FIELDS = [
    "t",
    "op",
    "id",
    "queue",
    "queues",
    "skills",
    "priority",
    "strategy",
    "wrapup",
    "weight",
    "sl",
]
OPS = ["queue", "login", "logout", "pause", "unpause", "call", "hangup"]


def outcome(replay: Replay, lines: list[str]) -> list[Event] | None:
    """Run a trace that may be invalid: success gives events, an error must be `line N:`."""
    try:
        out = replay(lines)
    except ValueError as exc:
        message = str(exc)
        match = re.match(r"line (\d+): \S", message)
        assert match, f"error message without `line N: reason`: {message[:300]!r}"
        assert 1 <= int(match.group(1)) <= len(lines), message[:300]
        return None
    assert isinstance(out, list)
    assert out and out[-1].get("event") == "summary"
    return out


def json_values() -> Any:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**20), 10**20)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=8)
        | st.sampled_from(["sales", "alice", "c1", "q", "a", "longest-idle", *OPS])
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    )


def json_objects() -> Any:
    key = st.sampled_from(FIELDS) | st.text(max_size=5)
    value = st.sampled_from(OPS) | st.floats(0, 10) | json_values()
    return st.dictionaries(key, value, max_size=6)


def plausible_lines() -> Any:
    """Objects that often look like real trace lines, so the fuzz reaches the semantics."""
    obj = st.fixed_dictionaries(
        {
            "t": st.integers(0, 5),
            "op": st.sampled_from(OPS),
            "id": st.sampled_from(["sales", "alice", "bob", "c1", "c2"]),
        },
        optional={
            "queue": st.sampled_from(["sales", "nowhere"]),
            "queues": st.lists(st.sampled_from(["sales", "support"]), max_size=2),
            "skills": st.dictionaries(
                st.sampled_from(["x", "y"]), st.integers(-1, 101), max_size=2
            ),
            "priority": st.integers(-3, 3),
            "wrapup": st.sampled_from([0, 1, -1]),
        },
    )
    return obj.map(json.dumps)


@with_data(max_examples=300)
def test_fuzz_random_text_lines(replay: Replay, data: Any):
    # Rule: garbage text never raises anything but ValueError `line N: ...`.
    line = st.text(st.characters(exclude_characters="\r\n"), max_size=40)  # one line each
    lines = data.draw(st.lists(line, max_size=6))
    outcome(replay, lines)


@with_data(max_examples=300)
def test_fuzz_random_bytes(replay: Replay, data: Any):
    # Rule: random bytes (decoded leniently) never raise anything but ValueError.
    raw = data.draw(st.binary(max_size=200))
    outcome(replay, raw.decode("utf-8", errors="replace").splitlines())
    outcome(replay, raw.decode("latin-1").splitlines())


@with_data(max_examples=300)
def test_fuzz_random_json_objects(replay: Replay, data: Any):
    # Rule: random JSON objects (with NaN, infinities, odd types) give ValueError or success.
    objs = data.draw(st.lists(json_objects(), max_size=6))
    outcome(replay, [json.dumps(o) for o in objs])


@with_data(max_examples=400)
def test_fuzz_plausible_traces(replay: Replay, data: Any):
    # Rule: near-valid traces (wrong states, bad references, bad levels) give ValueError or
    # success, and the same answer on a second run.
    base = [j({"t": 0, "op": "queue", "id": "sales"}), j({"t": 0, "op": "queue", "id": "support"})]
    lines = [*base, *data.draw(st.lists(plausible_lines(), max_size=12))]
    first = outcome(replay, lines)
    try:
        second: list[Event] | None = replay(lines)
    except ValueError:
        second = None
    assert second == first


def test_fuzz_cli_random_bytes(cli: Any):
    # Rule: the CLI answers any garbage file with exit 0 or 1, never a traceback or a signal.
    rng = random.Random(2)
    samples = [b"", b"\x00\x01\x02", b"{" * 10_000, b"\xff" * 100, b'{"t":1e999}']
    samples += [rng.randbytes(rng.randrange(300)) for _ in range(5)]
    for raw in samples:
        result = cli(raw)
        assert result.returncode in (0, 1), (raw[:50], result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode == 1:
            assert re.search(r"line \d+: \S", result.stderr), result.stderr
