"""What each node type does to a call; each handler returns the next node id, or None when
the call is over (the interpreter then hangs up unless the channel is already gone)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any, cast

from acdcore._core import Event, StateError
from acdcore.flows import hours, webhook
from acdcore.flows.interpreter import Call
from acdcore.flows.model import (
    Authenticate,
    Callback,
    Collect,
    Greeting,
    Hangup,
    Hours,
    Menu,
    Queue,
    RingGroup,
    SetAttributes,
    Transfer,
    Voicemail,
)
from acdcore.flows.switchboard import Switchboard


async def greeting(node: Greeting, call: Call) -> str | None:
    for prompt in node.prompts:
        await call.channel.play(prompt)
    return node.next


async def menu(node: Menu, call: Call) -> str | None:
    ch = call.channel
    for _ in range(node.retries + 1):
        await ch.play(node.prompt)
        key = await ch.digits(node.timeout, 1)
        if key in node.options:
            call.result.attributes[f"menu.{call.result.path[-1]}"] = key
            return node.options[key]
        retry_prompt = node.invalid_prompt if key else node.timeout_prompt
        if retry_prompt is not None:
            await ch.play(retry_prompt)
    return _fallback(node.fallback, call)


async def collect(node: Collect, call: Call) -> str | None:
    for _ in range(node.retries + 1):
        got = await _collect(call, node.prompt, node.max_digits, node.timeout, node.terminator)
        if len(got) >= node.min_digits:
            call.result.attributes[node.into] = got
            return node.next
        if node.invalid_prompt is not None:
            await call.channel.play(node.invalid_prompt)
    return _fallback(node.fallback, call)


async def authenticate(node: Authenticate, call: Call) -> str | None:
    for _ in range(node.retries + 1):
        wait, term = node.digit_timeout, node.terminator
        ident = await _collect(call, node.id_prompt, node.id_digits, wait, term)
        pin = await _collect(call, node.pin_prompt, node.pin_digits, wait, term)
        if ident and pin:
            try:
                verdict = await _verify(node, call, ident, pin)
            except (webhook.WebhookError, TimeoutError) as e:
                call.result.attributes["auth_error"] = str(e) or "verifier timed out"
                return _fallback(node.error or node.failed, call)
            if verdict:
                call.result.attributes["authenticated_id"] = ident
                if isinstance(verdict, dict):
                    _apply_attributes(call, verdict)
                return node.next
        if node.invalid_prompt is not None:
            await call.channel.play(node.invalid_prompt)
    return _fallback(node.failed, call)


async def _verify(node: Authenticate, call: Call, ident: str, pin: str) -> bool | dict[str, Any]:
    if node.webhook is not None:
        return await webhook.verify(node.webhook, ident, pin, call.result.caller_id, node.timeout)
    assert node.verifier is not None  # the validator asks for one of the two
    check = call.ctx.verifiers[node.verifier]
    try:
        return await asyncio.wait_for(check(ident, pin, call.result.caller_id), node.timeout)
    except TimeoutError:
        raise
    except Exception as e:  # a failing verifier is the error branch, not a crash of the call
        raise webhook.WebhookError(f"verifier {node.verifier!r} failed: {e!r}") from None


async def business_hours(node: Hours, call: Call) -> str | None:
    tz = hours.zone(node.timezone)
    spans = [span for entry in node.weekly for span in hours.parse_weekly(entry)]
    holidays = {hours.parse_date(day) for day in node.holidays}
    state = hours.status(call.ctx.wall_clock(), tz, spans, holidays)
    call.result.attributes["hours"] = state
    if state == "open":
        return node.open
    if state == "holiday" and node.holiday is not None:
        return node.holiday
    return node.closed


async def set_attributes(node: SetAttributes, call: Call) -> str | None:
    if node.language is not None:
        call.result.attributes["language"] = node.language
    if node.priority is not None:
        call.priority = node.priority
    call.skills.update(node.skills)
    if call.result.caller_id in node.vip_numbers:
        call.result.attributes["vip"] = True
    if node.crm is not None:
        try:
            found = await call.ctx.crm[node.crm](call.result.caller_id)
        except Exception as e:  # no CRM answer: route on what we know
            call.result.attributes["crm_error"] = repr(e)
        else:
            _apply_attributes(call, found)
    if call.result.attributes.get("vip") is True:
        call.priority = max(call.priority, node.vip_priority)
    call.result.attributes["priority"] = call.priority
    return node.next


def _apply_attributes(call: Call, found: dict[str, Any]) -> None:
    """Attributes from a CRM or a login; the routing ones change how the call is queued."""
    for key, value in found.items():
        if key == "priority" and isinstance(value, int) and not isinstance(value, bool):
            call.priority = value
        elif key == "skills" and isinstance(value, dict):
            call.skills.update({str(k): int(v) for k, v in value.items()})
        elif key == "preferred_agent" and isinstance(value, str):
            call.preferred_agent = value
        else:
            call.result.attributes[key] = value


async def queue(node: Queue, call: Call) -> str | None:
    sb = call.ctx.switchboard
    assert sb is not None  # FlowRunner checks it
    ch = call.channel
    inbox = sb.watch(call.id)
    if node.prompt is not None:
        await ch.play(node.prompt)
    current = node.queue
    call.result.queue = current
    try:
        sb.enqueue(
            call.id,
            current,
            priority=call.priority,
            skills=call.skills,
            preferred_agent=call.preferred_agent,
            preferred_wait=node.preferred_wait,
        )
    except (KeyError, ValueError, StateError) as e:  # e.g. a call id the engine already holds
        call.result.attributes["queue_error"] = str(e)
        call.result.outcome = "timeout"
        return node.timeout
    call.in_engine = True
    await ch.play_moh()
    announce_at = call.now() + node.announce_every
    while True:
        left = announce_at - call.now()
        if left <= 0 and inbox.empty():
            await _announce(node, call, sb, current)
            announce_at = call.now() + node.announce_every
            continue
        # Always listening: keys that are no option are ignored, and a live channel's digits()
        # raises CallerHungUp at once when the caller leaves while waiting (not at the next
        # announcement).
        ev, key = await _wait_in_queue(call, inbox, max(left, 0.0), listen=True)
        if ev is not None:
            outcome = await _queue_event(node, call, sb, ev)
            if outcome is not _WAIT:
                return cast("str | None", outcome)
            if ev.kind == "overflow" and ev.target is not None:
                current = ev.target
                call.result.queue = current
        if key is not None and key in node.options:
            await ch.stop_media()
            target = node.options[key]
            call.result.attributes["left_queue"] = key
            if isinstance(call.flow.nodes[target], Callback):
                return target  # keeps the call's place in line
            sb.hangup(call.id)
            call.in_engine = False
            return target


_WAIT = object()


async def _wait_in_queue(
    call: Call, inbox: asyncio.Queue[Event], timeout: float, *, listen: bool
) -> tuple[Event | None, str | None]:
    """The next engine event and/or a key pressed, or neither after `timeout`."""
    if not inbox.empty():
        return inbox.get_nowait(), None
    get = asyncio.ensure_future(inbox.get())
    waits: set[asyncio.Future[Any]] = {get}
    press = None
    if listen:
        press = asyncio.ensure_future(call.channel.digits(timeout, 1))
        waits.add(press)
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            if not task.done():
                task.cancel()  # a cancelled Queue.get leaves its event in the queue
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    ev = get.result() if get.done() and not get.cancelled() else None
    key = None
    if press is not None and press.done() and not press.cancelled():
        key = press.result() or None  # CallerHungUp propagates from here
    return ev, key


async def _queue_event(node: Queue, call: Call, sb: Switchboard, ev: Event) -> object:
    ch = call.channel
    result = call.result
    if ev.kind == "assign" and ev.agent is not None:
        await ch.stop_media()
        result.outcome = "answered"
        result.agent = ev.agent
        result.queue = ev.queue or result.queue
        result.attributes["wait"] = ev.wait
        still_here = await ch.connect(ev.agent)
        sb.hangup(call.id)  # the talk ends in the engine; the agent goes to wrap-up
        call.in_engine = False
        survey = call.flow.survey
        if still_here and survey is not None:
            await ch.play(survey.prompt)
            key = await ch.digits(survey.timeout, 1)
            if key in ("1", "2", "3", "4", "5"):
                result.survey_score = int(key)
                if survey.thanks is not None:
                    await ch.play(survey.thanks)
        return None
    if ev.kind == "escalate":
        result.attributes.setdefault("escalations", []).append(ev.step)
        if node.escalate_prompt is not None:
            await ch.play(node.escalate_prompt)
            await ch.play_moh()
        return _WAIT
    if ev.kind == "overflow" and ev.target is not None:
        result.attributes.setdefault("overflows", []).append(ev.target)
        return _WAIT
    if ev.kind in ("timeout", "overflow", "fallback"):
        # The engine let the call go: max wait, a full queue, or an escalation's fallback.
        call.in_engine = False
        await ch.stop_media()
        if ev.kind == "fallback" and ev.target is not None:
            result.attributes["fallback"] = ev.target
            target = node.fallbacks.get(ev.target)
            if target is not None:
                return target
        result.outcome = "timeout"
        return node.timeout
    return _WAIT  # offers and unoffers: the agent side deals with them


async def _announce(node: Queue, call: Call, sb: Switchboard, current: str) -> None:
    ch = call.channel
    try:
        position = sb.engine.position(call.id)
    except (KeyError, StateError, ValueError):
        return
    if node.position_prompt is not None:
        await ch.play(node.position_prompt.format(position=position))
    wait = sb.engine.queue_stats(current).estimated_wait
    if node.wait_prompt is not None and wait is not None:
        await ch.play(node.wait_prompt.format(minutes=max(1, math.ceil(wait / 60))))
    if node.options_prompt is not None:
        await ch.play(node.options_prompt)
    await ch.play_moh()


async def voicemail(node: Voicemail, call: Call) -> str | None:
    if node.prompt is not None:
        await call.channel.play(node.prompt)
    path = node.path.format(call=call.id, caller=call.result.caller_id)
    seconds = await call.channel.record(path, node.max_seconds, node.beep)
    call.result.voicemail = path
    call.result.attributes["voicemail_seconds"] = seconds
    call.result.outcome = "voicemail"
    return None


async def callback(node: Callback, call: Call) -> str | None:
    sb = call.ctx.switchboard
    assert sb is not None
    result = call.result
    if not (call.in_engine and sb.waiting(call.id)):
        result.queue = node.queue
        try:
            sb.enqueue(call.id, node.queue, priority=call.priority, skills=call.skills)
        except (KeyError, ValueError, StateError) as e:
            result.attributes["queue_error"] = str(e)
            return None
        call.in_engine = True
    if not sb.waiting(call.id):
        return None  # refused at once (full queue): nothing to hold
    # A number the caller left (e.g. a collect node `into = "callback_number"`), else theirs.
    left = result.attributes.get("callback_number")
    number = left if isinstance(left, str) and left else result.caller_id
    sb.hold_for_callback(call.id, number, result.queue or node.queue)
    call.on_hold = True
    result.outcome = "callback"
    if node.prompt is not None:
        await call.channel.play(node.prompt)
    return None


async def transfer(node: Transfer, call: Call) -> str | None:
    if node.prompt is not None:
        await call.channel.play(node.prompt)
    if await call.channel.transfer(node.target):
        call.done = True
        call.result.outcome = "transferred"
        call.result.transferred_to = node.target
        return None
    return _fallback(node.failed, call)


async def ring_group(node: RingGroup, call: Call) -> str | None:
    groups = [node.members] if node.strategy == "simultaneous" else [[m] for m in node.members]
    for members in groups:
        answered = await call.channel.ring(members, node.timeout)
        if answered is not None:
            call.done = True
            call.result.outcome = "ring-group"
            call.result.transferred_to = answered
            return None
    return _fallback(node.no_answer, call)


async def hangup(node: Hangup, call: Call) -> str | None:
    if node.prompt is not None:
        await call.channel.play(node.prompt)
    call.result.outcome = "hangup"
    return None


async def _collect(call: Call, prompt: str, max_digits: int, timeout: float, term: str) -> str:
    await call.channel.play(prompt)
    return await call.channel.digits(timeout, max_digits, term)


def _fallback(target: str | None, call: Call) -> str | None:
    if target is None:
        call.result.outcome = "hangup"
    return target


Handler = Callable[[Any, Call], Awaitable[str | None]]

HANDLERS: dict[str, Handler] = {
    "greeting": greeting,
    "menu": menu,
    "collect": collect,
    "authenticate": authenticate,
    "hours": business_hours,
    "set": set_attributes,
    "queue": queue,
    "voicemail": voicemail,
    "callback": callback,
    "transfer": transfer,
    "ring_group": ring_group,
    "hangup": hangup,
}
