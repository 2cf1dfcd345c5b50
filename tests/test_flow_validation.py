"""Flow files with mistakes are refused with the file, line and field; good ones load."""

from __future__ import annotations

from pathlib import Path

import pytest
from acdcore import flows
from acdcore.flows import FlowError, Problem

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "contact_center" / "flow.toml"

GOOD = """\
[flow]
start = "welcome"

[nodes.welcome]
type = "greeting"
prompts = ["hello"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "main"
options = { "1" = "sales", "2" = "bye" }
fallback = "bye"

[nodes.sales]
type = "queue"
queue = "sales"

[nodes.bye]
type = "hangup"
"""


def problems(text: str, queues: list[str] | None = None) -> list[Problem]:
    with pytest.raises(FlowError) as info:
        flows.loads(text, source="f.toml", queues=queues)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return info.value.problems


def only(text: str, queues: list[str] | None = None) -> Problem:
    found = problems(text, queues)
    assert len(found) == 1, found
    return found[0]


def test_good_flow_and_the_example_load() -> None:
    flow = flows.loads(GOOD, queues=["sales"])
    assert flow.start == "welcome"
    assert isinstance(flow.nodes["menu"], flows.Menu)
    assert flow.nodes["menu"].options == {"1": "sales", "2": "bye"}  # type: ignore[attr-defined]
    example = flows.load(EXAMPLE, queues=["sales", "support"])
    assert example.survey is not None and example.survey.prompt == "survey-press-1-to-5"
    assert {n.kind for n in example.nodes.values()} >= {"greeting", "menu", "queue", "hours"}


def test_unknown_node_type_names_its_line() -> None:
    p = only(GOOD.replace('type = "hangup"', 'type = "hang_up"'))
    assert (p.file, p.line, p.field) == ("f.toml", 20, "nodes.bye.type")
    assert "unknown node type 'hang_up'" in p.message and "hangup" in p.message


def test_unknown_field() -> None:
    p = only(GOOD.replace('fallback = "bye"', 'fallback = "bye"\nfalback = "bye"'))
    assert (p.line, p.field) == (14, "nodes.menu.falback")
    assert "unknown field for a menu node" in p.message


def test_missing_field_names_the_table() -> None:
    p = only(GOOD.replace('queue = "sales"\n', ""))
    assert (p.line, p.field) == (15, "nodes.sales")
    assert "missing field queue (string)" in p.message


def test_wrong_type() -> None:
    p = only(GOOD.replace('fallback = "bye"', 'fallback = "bye"\ntimeout = "5"'))
    assert (p.line, p.field) == (14, "nodes.menu.timeout")
    assert p.message == "expected number, got string '5'"
    p = only(GOOD.replace('prompts = ["hello"]', 'prompts = ["hello", 3]'))
    assert (p.line, p.field) == (6, "nodes.welcome.prompts")
    assert "an array of strings" in p.message


def test_target_that_does_not_exist_inside_an_inline_table() -> None:
    p = only(GOOD.replace('"1" = "sales"', '"1" = "sale"'))
    assert (p.line, p.field) == (12, "nodes.menu.options.1")
    assert p.message.startswith("no node 'sale'")


def test_missing_start_node() -> None:
    p = only(GOOD.replace('start = "welcome"', 'start = "welcom"'))
    assert (p.line, p.field) == (2, "flow.start")


def test_unreachable_node_is_an_error() -> None:
    text = GOOD + '\n[nodes.orphan]\ntype = "hangup"\nprompt = "x"\n'
    p = only(text)
    assert (p.line, p.field) == (22, "nodes.orphan")
    assert "unreachable" in p.message


def test_cycle_with_no_exit() -> None:
    # Every menu branch and the fallback lead back through the greeting: no way out.
    text = """\
[flow]
start = "hello"

[nodes.hello]
type = "greeting"
prompts = ["hi"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "m"
options = { "1" = "hello", "2" = "again" }
fallback = "hello"

[nodes.again]
type = "greeting"
prompts = ["again"]
next = "menu"
"""
    found = problems(text)
    assert [(p.line, p.field) for p in found] == [
        (4, "nodes.hello"),
        (9, "nodes.menu"),
        (15, "nodes.again"),
    ]
    assert all("cycle with no exit" in p.message for p in found)
    # The same loop with a hang-up on one branch can be left: accepted.
    fixed = text.replace('"2" = "again"', '"2" = "bye"') + '\n[nodes.bye]\ntype = "hangup"\n'
    again = '[nodes.again]\ntype = "greeting"\nprompts = ["again"]\nnext = "menu"\n'
    fixed = fixed.replace(again, "")
    flows.loads(fixed)
    # A menu without a fallback hangs up after its retries: also a way out.
    flows.loads(text.replace('fallback = "hello"\n', ""))


def test_bad_time_zone_times_and_dates() -> None:
    text = """\
[flow]
start = "hours"

[nodes.hours]
type = "hours"
timezone = "Europe/Pariss"
weekly = ["mon-fri 08:00-18:00", "sat 25:00-26:00", "sun-mon 09:00-10:00", "fri 18:00-08:00"]
holidays = ["2026-12-25", "2026-13-01"]
open = "bye"
closed = "bye"

[nodes.bye]
type = "hangup"
"""
    found = {p.field: p for p in problems(text)}
    assert found["nodes.hours.timezone"].line == 6
    assert "unknown IANA time zone 'Europe/Pariss'" in found["nodes.hours.timezone"].message
    assert "bad time" in found["nodes.hours.weekly.1"].message
    assert "runs backwards" in found["nodes.hours.weekly.2"].message
    assert "not after opening" in found["nodes.hours.weekly.3"].message
    assert found["nodes.hours.weekly.3"].line == 7
    assert "'2026-13-01' is not a YYYY-MM-DD date" in found["nodes.hours.holidays.1"].message
    assert set(found) == {
        "nodes.hours.timezone",
        "nodes.hours.weekly.1",
        "nodes.hours.weekly.2",
        "nodes.hours.weekly.3",
        "nodes.hours.holidays.1",
    }


def test_unknown_queue_when_the_engine_queues_are_given() -> None:
    flows.loads(GOOD)  # no queues given: not checked
    p = only(GOOD, queues=["support"])
    assert (p.line, p.field) == (17, "nodes.sales.queue")
    assert "unknown queue 'sales'" in p.message and "support" in p.message


def test_value_mistakes() -> None:
    p = only(GOOD.replace('"2" = "bye"', '"22" = "bye"'))
    assert (p.line, p.field) == (12, "nodes.menu.options.22")
    p = only(GOOD.replace('fallback = "bye"', 'fallback = "bye"\ntimeout = 0'))
    assert (p.line, p.field, p.message) == (14, "nodes.menu.timeout", "must be positive, got 0")
    auth = GOOD.replace(
        'type = "queue"\nqueue = "sales"',
        'type = "authenticate"\nid_prompt = "id"\npin_prompt = "pin"\nnext = "bye"\n'
        'webhook = "ftp://x"',
    )
    p = only(auth)
    assert (p.line, p.field) == (20, "nodes.sales.webhook")
    p = only(auth.replace('webhook = "ftp://x"', ""))
    assert p.field == "nodes.sales" and "exactly one of verifier" in p.message


def test_toml_syntax_and_sections() -> None:
    p = only("[flow\nstart = 1")
    assert p.field == "toml" and "line 1" in p.message
    p = only(GOOD + "\n[routing]\nx = 1\n")
    assert (p.line, p.field) == (22, "routing")
    found = problems(GOOD.replace('[flow]\nstart = "welcome"', '[flow]\nbegin = "welcome"'))
    assert [(p.line, p.field) for p in found] == [(1, "flow"), (2, "flow.begin")]
    assert found[0].message == "missing field start"


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('next = "menu"', 'next = "menus"'))
    with pytest.raises(FlowError, match=r"bad\.toml:7: nodes\.welcome\.next: no node 'menus'"):
        flows.load(path)
    with pytest.raises(FlowError, match="cannot read"):
        flows.load(tmp_path / "missing.toml")


def test_flow_built_in_python_is_checked_the_same_way() -> None:
    flow = flows.Flow(
        start="menu",
        nodes={
            "menu": flows.Menu(prompt="m", options={"1": "q", "2": "nowhere"}),
            "q": flows.Queue(queue="sales"),
        },
    )
    with pytest.raises(FlowError) as info:
        flows.check(flow, queues=["sales"])
    (p,) = info.value.problems
    assert (p.file, p.line, p.field) == ("<python>", None, "nodes.menu.options.2")
    assert str(p).startswith("<python>: nodes.menu.options.2: no node 'nowhere'")
    flow.nodes["menu"].options["2"] = "q"  # type: ignore[attr-defined]
    assert flows.check(flow, queues=["sales"]) is flow


def test_positions_skip_multiline_values_and_quoted_keys() -> None:
    from acdcore.flows.positions import Positions

    text = """\
# comment = not a key
[flow]
start = "a"   # [not.a.table]
name = '''
x = 1
[fake]
'''

[nodes."a.b"]
weekly = [
  "mon 08:00-09:00",
  "tue = 1",
]
next = "c"  # after the array
dotted.key = { inner = "[" }

[[runs]]
n = 1
[[runs]]
n = 2
"""
    pos = Positions(text)
    assert pos.line(("flow",)) == 2
    assert pos.line(("flow", "name")) == 4
    assert pos.line(("fake",)) is None and pos.line(("x",)) is None
    assert pos.line(("nodes", "a.b")) == 9
    assert pos.line(("nodes", "a.b", "weekly", "1")) == 10
    assert pos.line(("nodes", "a.b", "next")) == 14
    assert pos.line(("nodes", "a.b", "dotted", "key", "inner")) == 15
    assert (pos.line(("runs", 0, "n")), pos.line(("runs", 1, "n"))) == (18, 20)


def test_the_node_reference_documents_every_field() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "flows.md").read_text()
    import dataclasses

    for kind, cls in flows.NODE_TYPES.items():
        head = f"\n### {kind}\n"
        assert head in docs, f"docs/flows.md has no section for {kind}"
        section = docs.split(head, 1)[1].split("\n### ", 1)[0]
        for f in dataclasses.fields(cls):
            assert f"`{f.name}`" in section, f"docs/flows.md: {kind} does not mention {f.name}"


def test_flow_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acdcore import cli

    assert cli.main(["flow-check", str(EXAMPLE), "--queue", "sales", "--queue", "support"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{EXAMPLE}: ok, 11 nodes (") and "start 'welcome'" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('type = "hangup"', 'type = "hangupp"'))
    assert cli.main(["flow-check", str(bad), "--queue", "support"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"acdcore flow-check: {bad}:17: nodes.sales.queue: unknown queue 'sales' (engine queues: "
        "support)",
        f"acdcore flow-check: {bad}:20: nodes.bye.type: unknown node type 'hangupp' (one of "
        "greeting, menu, collect, authenticate, hours, set, queue, voicemail, callback, "
        "transfer, ring_group, hangup)",
    ]
