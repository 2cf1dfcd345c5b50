"""Checks on a whole flow, loaded or built in Python: values, targets, reachability, exits.

Unreachable nodes are errors, not warnings: in a flow file they are almost always a misspelt
target, and a refused file is cheaper than a caller who never hears a menu option.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from urllib.parse import urlparse

from acdcore.flows import hours
from acdcore.flows.errors import FlowError, Problem
from acdcore.flows.model import (
    Authenticate,
    Callback,
    Collect,
    Flow,
    Hours,
    Menu,
    Node,
    Queue,
    RingGroup,
)
from acdcore.flows.positions import Positions

_Fail = Callable[[tuple[str, ...], str], None]

DTMF = set("0123456789*#")
RING_STRATEGIES = ("simultaneous", "sequential")


def check(flow: Flow, *, queues: Collection[str] | None = None) -> Flow:
    """Raise FlowError when `flow` (e.g. built in Python) has mistakes; returns it otherwise."""
    problems = validate(flow, queues=queues)
    if problems:
        raise FlowError(problems)
    return flow


def validate(
    flow: Flow,
    *,
    queues: Collection[str] | None = None,
    lines: Positions | None = None,
    declared: Collection[str] = (),
) -> list[Problem]:
    """Every mistake in `flow`; `declared` are node ids a loader saw but could not build (their
    own mistakes are reported), so branches to them are not reported again."""
    out: list[Problem] = []

    def fail(path: tuple[str, ...], message: str) -> None:
        line = lines.line(path) if lines is not None else None
        out.append(Problem(flow.source, line, ".".join(path), message))

    if flow.max_steps < 1:
        fail(("flow", "max_steps"), "must be at least 1")
    if flow.max_seconds <= 0:
        fail(("flow", "max_seconds"), "must be positive")
    if flow.survey is not None and flow.survey.timeout <= 0:
        fail(("survey", "timeout"), "must be positive")
    if flow.start not in flow.nodes and flow.start not in declared:
        fail(("flow", "start"), f"no node {flow.start!r}{_known(flow)}")
    for node_id, node in flow.nodes.items():
        path = ("nodes", node_id)
        for name, target in node.branches():
            if target not in flow.nodes and target not in declared:
                fail((*path, *name.split(".", 1)), f"no node {target!r}{_known(flow)}")
        _values(node, path, fail, queues)
    if not out and not declared:
        _graph(flow, fail)
    return out


def _known(flow: Flow) -> str:
    return f" (nodes: {', '.join(flow.nodes)})" if flow.nodes else ""


def _values(node: Node, path: tuple[str, ...], fail: _Fail, queues: Collection[str] | None) -> None:
    for name in ("timeout", "digit_timeout", "announce_every", "max_seconds"):
        value = getattr(node, name, None)
        if isinstance(value, int | float) and value <= 0:
            fail((*path, name), f"must be positive, got {value}")
    for name in ("retries", "preferred_wait"):
        value = getattr(node, name, None)
        if isinstance(value, int | float) and value < 0:
            fail((*path, name), f"must not be negative, got {value}")
    if isinstance(node, Menu):
        if not node.options:
            fail((*path, "options"), "a menu needs at least one option")
        for key in node.options:
            if key not in DTMF:
                fail((*path, "options", key), f"{key!r} is not one DTMF key (0-9, *, #)")
    if isinstance(node, Queue):
        for key in node.options:
            if key not in DTMF:
                fail((*path, "options", key), f"{key!r} is not one DTMF key (0-9, *, #)")
    if isinstance(node, Collect | Authenticate) and node.terminator not in DTMF | {""}:
        fail((*path, "terminator"), f"{node.terminator!r} is not a DTMF key or ''")
    if isinstance(node, Collect):
        if not 1 <= node.min_digits <= node.max_digits:
            fail((*path, "min_digits"), "need 1 <= min_digits <= max_digits")
        if not node.into:
            fail((*path, "into"), "name the attribute the digits go into")
    if isinstance(node, Authenticate):
        if (node.verifier is None) == (node.webhook is None):
            fail(path, "give exactly one of verifier (a Python callable's name) or webhook (a URL)")
        if node.webhook is not None:
            url = urlparse(node.webhook)
            if url.scheme not in ("http", "https") or not url.netloc:
                fail((*path, "webhook"), f"{node.webhook!r} is not an http(s) URL")
        for name in ("id_digits", "pin_digits"):
            if getattr(node, name) < 1:
                fail((*path, name), "must be at least 1")
    if isinstance(node, Hours):
        try:
            hours.zone(node.timezone)
        except ValueError as e:
            fail((*path, "timezone"), str(e))
        for i, entry in enumerate(node.weekly):
            try:
                hours.parse_weekly(entry)
            except ValueError as e:
                fail((*path, "weekly", str(i)), str(e))
        for i, day in enumerate(node.holidays):
            try:
                hours.parse_date(day)
            except ValueError as e:
                fail((*path, "holidays", str(i)), str(e))
    if isinstance(node, RingGroup):
        if node.strategy not in RING_STRATEGIES:
            fail((*path, "strategy"), f"{node.strategy!r}: use one of {', '.join(RING_STRATEGIES)}")
        if not node.members:
            fail((*path, "members"), "a ring group needs at least one member")
    if isinstance(node, Queue | Callback) and queues is not None and node.queue not in queues:
        fail((*path, "queue"), f"unknown queue {node.queue!r} (engine queues: {', '.join(queues)})")


def _graph(flow: Flow, fail: _Fail) -> None:
    """Unreachable nodes, then loops a caller can never leave (no path to any ending outcome)."""
    edges = {nid: [t for _, t in node.branches()] for nid, node in flow.nodes.items()}
    reached = {flow.start}
    stack = [flow.start]
    while stack:
        for target in edges[stack.pop()]:
            if target not in reached:
                reached.add(target)
                stack.append(target)
    for nid in flow.nodes:
        if nid not in reached:
            fail(("nodes", nid), f"unreachable from the start node {flow.start!r}")
    # Nodes that can end the call, then everything with a path to one of them.
    leaves = {nid for nid, node in flow.nodes.items() if node.can_end()}
    changed = True
    while changed:
        changed = False
        for nid, targets in edges.items():
            if nid not in leaves and any(t in leaves for t in targets):
                leaves.add(nid)
                changed = True
    for nid in flow.nodes:
        if nid in reached and nid not in leaves:
            fail(
                ("nodes", nid),
                "cycle with no exit: every branch from here leads back without a hang-up, "
                "queue, transfer or default fallback",
            )
