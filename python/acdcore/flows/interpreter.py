"""Runs flows: one asyncio task per call, bounded in steps and seconds, every node reported."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from acdcore.flows.channel import CallChannel, CallerHungUp, FlowObserver, NoObserver
from acdcore.flows.model import Authenticate, Callback, Flow, Queue, SetAttributes
from acdcore.flows.result import CallResult
from acdcore.flows.switchboard import Switchboard

log = logging.getLogger(__name__)

# verifier(id, pin, caller_id) -> True/False, or a dict of attributes for a good login.
Verifier = Callable[[str, str, str], Awaitable[bool | dict[str, Any]]]
# crm(caller_id) -> attributes; language, priority, skills, vip and preferred_agent are applied.
CrmLookup = Callable[[str], Awaitable[dict[str, Any]]]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class FlowContext:
    """What flows run against: the engine, named verifiers and CRM lookups, the wall clock
    (a fixed one in tests) and the observer told of every node and call end."""

    switchboard: Switchboard | None = None
    verifiers: dict[str, Verifier] = field(default_factory=dict)
    crm: dict[str, CrmLookup] = field(default_factory=dict)
    wall_clock: Callable[[], dt.datetime] = _utc_now
    observer: FlowObserver = field(default_factory=NoObserver)


@dataclass
class Call:
    """One call's state while its flow runs."""

    id: str
    channel: CallChannel
    flow: Flow
    ctx: FlowContext
    result: CallResult
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    preferred_agent: str | None = None
    in_engine: bool = False  # the engine holds this call (waiting or talking)
    on_hold: bool = False  # virtual hold: the engine keeps it after the caller left
    done: bool = False  # the channel is no longer ours (hung up, transferred, bridged)

    def now(self) -> float:
        sb = self.ctx.switchboard
        return sb.now() if sb is not None else asyncio.get_running_loop().time()


class FlowRunner:
    """Runs one flow for many calls; checks at once that the context has what the flow names."""

    def __init__(self, flow: Flow, ctx: FlowContext) -> None:
        for node_id, node in flow.nodes.items():
            verifier = node.verifier if isinstance(node, Authenticate) else None
            if verifier is not None and verifier not in ctx.verifiers:
                raise ValueError(f"node {node_id!r}: no verifier named {verifier!r}")
            crm = node.crm if isinstance(node, SetAttributes) else None
            if crm is not None and crm not in ctx.crm:
                raise ValueError(f"node {node_id!r}: no CRM lookup named {crm!r}")
            if isinstance(node, Queue | Callback):
                if ctx.switchboard is None:
                    raise ValueError(f"node {node_id!r} queues calls: give a switchboard")
                if node.queue not in ctx.switchboard.engine.queues():
                    raise ValueError(f"node {node_id!r}: the engine has no queue {node.queue!r}")
        self.flow = flow
        self.ctx = ctx
        self.tasks: set[asyncio.Task[CallResult]] = set()

    def start(self, channel: CallChannel, call_id: str) -> asyncio.Task[CallResult]:
        task = asyncio.create_task(self.run(channel, call_id), name=f"flow {call_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def run(self, channel: CallChannel, call_id: str) -> CallResult:
        from acdcore.flows.nodes import HANDLERS

        call = Call(call_id, channel, self.flow, self.ctx, CallResult(call_id, channel.caller_id))
        result = call.result
        result.started = call.now()
        observer = self.ctx.observer
        try:
            async with asyncio.timeout(self.flow.max_seconds):
                node_id: str | None = self.flow.start
                for _ in range(self.flow.max_steps):
                    if node_id is None:
                        break
                    node = self.flow.nodes[node_id]
                    result.path.append(node_id)
                    observer.entered(call_id, node_id, node.kind, call.now())
                    node_id = await HANDLERS[node.kind](node, call)
                else:
                    if node_id is not None:
                        result.outcome = "step-limit"
        except CallerHungUp:
            call.done = True
            if result.outcome not in ("answered", "callback"):
                result.outcome = "abandoned"
        except TimeoutError:
            result.outcome = "time-limit"
        except Exception as e:  # a broken channel or callable ends this call, not the server
            log.exception(
                "call %s: flow %s failed in node %s", call_id, self.flow.name, result.path
            )
            result.outcome = "error"
            result.attributes["error"] = repr(e)
        finally:
            await _finish(call)
        result.ended = call.now()
        observer.ended(result)
        return result


async def _finish(call: Call) -> None:
    sb = call.ctx.switchboard
    if sb is not None:
        sb.unwatch(call.id)
        if call.in_engine and not call.on_hold:
            sb.hangup(call.id)
            call.in_engine = False
        if call.result.agent is not None:
            call.result.agent_disposition = sb.disposition(call.id)
    if not call.done:
        call.done = True
        with contextlib.suppress(CallerHungUp):
            await call.channel.hangup()
