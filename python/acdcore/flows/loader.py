"""TOML -> Flow: every field checked against the model's annotations, errors by file and line."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Collection
from pathlib import Path
from typing import Any

from acdcore.flows.errors import FlowError, Problem
from acdcore.flows.model import NODE_TYPES, Flow, Node, Survey
from acdcore.flows.positions import Positions
from acdcore.flows.validator import validate

_FLOW_FIELDS = ("start", "name", "max_steps", "max_seconds")


def load(path: str | os.PathLike[str], *, queues: Collection[str] | None = None) -> Flow:
    """Read and validate a flow file; FlowError lists every mistake with its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FlowError([Problem(str(path), None, "file", f"cannot read: {e}")]) from None
    return loads(text, source=str(path), queues=queues)


def loads(text: str, *, source: str = "<string>", queues: Collection[str] | None = None) -> Flow:
    """Parse flow TOML text; `queues`, when given, are the engine's queues routes must name."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FlowError([Problem(source, None, "toml", str(e))]) from None
    reader = _Reader(source, Positions(text))
    flow = reader.flow(doc)
    problems = reader.problems
    if flow is not None:
        broken = reader.declared - flow.nodes.keys()
        problems += validate(flow, queues=queues, lines=reader.positions, declared=broken)
    if problems:
        raise FlowError(problems)
    assert flow is not None
    return flow


class _Reader:
    def __init__(self, source: str, positions: Positions) -> None:
        self.source = source
        self.positions = positions
        self.problems: list[Problem] = []
        self.declared: set[str] = set()

    def fail(self, path: tuple[str, ...], message: str) -> None:
        line = self.positions.line(path)
        self.problems.append(Problem(self.source, line, ".".join(path), message))

    def flow(self, doc: dict[str, Any]) -> Flow | None:
        for key in doc:
            if key not in ("flow", "survey", "nodes"):
                self.fail((key,), "unknown section (expected [flow], [survey], [nodes.ID])")
        head = doc.get("flow")
        if not isinstance(head, dict):
            self.fail(("flow",), "missing [flow] table with start = NODE")
            return None
        settings: dict[str, Any] = {}
        hints = typing.get_type_hints(Flow)
        for key, value in head.items():
            if key not in _FLOW_FIELDS:
                expected = ", ".join(_FLOW_FIELDS)
                self.fail(("flow", key), f"unknown field (expected one of {expected})")
            elif self.typed(("flow", key), value, hints[key]):
                settings[key] = value
        if "start" not in head:
            self.fail(("flow",), "missing field start")
        nodes_doc = doc.get("nodes", {})
        nodes: dict[str, Node] = {}
        if not isinstance(nodes_doc, dict) or not nodes_doc:
            self.fail(("nodes",), "no nodes: add [nodes.ID] tables")
        else:
            for node_id, table in nodes_doc.items():
                self.declared.add(node_id)
                node = self.node(node_id, table)
                if node is not None:
                    nodes[node_id] = node
        survey = None
        if "survey" in doc:
            survey = self.build(Survey, ("survey",), doc["survey"], skip=())
        if "start" not in settings:
            return None
        flow = Flow(nodes=nodes, source=self.source, **settings)
        flow.survey = survey if isinstance(survey, Survey) else None
        return flow

    def node(self, node_id: str, table: Any) -> Node | None:
        path = ("nodes", node_id)
        if not isinstance(table, dict):
            self.fail(path, "a node must be a table [nodes.ID] with a type")
            return None
        kind = table.get("type")
        if kind is None:
            self.fail(path, f"missing field type (one of {', '.join(NODE_TYPES)})")
            return None
        cls = NODE_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(NODE_TYPES)
            self.fail((*path, "type"), f"unknown node type {kind!r} (one of {known})")
            return None
        built = self.build(cls, path, table, skip=("type",))
        return built if isinstance(built, Node) else None

    def build(self, cls: type, path: tuple[str, ...], table: Any, skip: tuple[str, ...]) -> object:
        if not isinstance(table, dict):
            self.fail(path, "must be a table")
            return None
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        ok = True
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key in skip:
                continue
            if key not in fields:
                names = ", ".join(fields)
                self.fail((*path, key), f"unknown field for {_what(cls)} (fields: {names})")
                ok = False
            elif self.typed((*path, key), value, hints[key]):
                values[key] = value
            else:
                ok = False
        for name, f in fields.items():
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and name not in table:
                self.fail(path, f"missing field {name} ({_describe(hints[name])}) for {_what(cls)}")
                ok = False
        return cls(**values) if ok else None

    def typed(self, path: tuple[str, ...], value: Any, hint: Any) -> bool:
        if _fits(value, hint):
            return True
        self.fail(path, f"expected {_describe(hint)}, got {_toml_type(value)} {value!r}")
        return False


def _what(cls: type) -> str:
    kind = getattr(cls, "kind", "")
    return f"a {kind} node" if kind else f"[{cls.__name__.lower()}]"


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_fits(value, arm) for arm in typing.get_args(hint) if arm is not type(None))
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        _, item = typing.get_args(hint)
        return isinstance(value, dict) and all(_fits(v, item) for v in value.values())
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in typing.get_args(hint) if a is not type(None))
    if origin is list:
        return f"an array of {_describe(typing.get_args(hint)[0])}s"
    if origin is dict:
        return f"a table of {_describe(typing.get_args(hint)[1])}s"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    return "table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)
