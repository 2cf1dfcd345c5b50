"""Call records of calls the engine never held: the flow ended them before any queue.

The records layer writes a CDR when the engine finishes a call; a caller who hears "we are
closed", fails the login, leaves from the menu or is sent to a ring group, a transfer or a
voicemail from the menu never reaches the engine, so the flow's end writes the record here.
"""

from __future__ import annotations

import logging
from typing import Any

from acdcore.flows.result import CallResult
from acdcore.records.model import dumps
from acdcore.records.recorder import CallRecorder

log = logging.getLogger(__name__)

# The flow's outcome -> the record's; the rest (hangup, error, step or time limit) is "hangup".
_OUTCOMES = {
    "abandoned": "abandoned",
    "voicemail": "voicemail",
    "transferred": "transferred",
    "ring-group": "transferred",
}


def engine_never_held(result: CallResult) -> bool:
    """No queue node was reached, or the engine refused the enqueue (`queue_error`)."""
    return result.queue is None or "queue_error" in result.attributes


def record_unqueued(
    recorder: CallRecorder,
    result: CallResult,
    *,
    caller: str | None,
    called: str | None,
    voicemail_path: str | None,
) -> None:
    outcome = _OUTCOMES.get(result.outcome, "hangup")
    if "queue_error" in result.attributes:
        outcome = "refused"
    attributes: dict[str, Any] = {"flow_outcome": result.outcome, "path": list(result.path)}
    try:
        dumps(result.attributes)
        attributes.update(result.attributes)
    except ValueError:  # an attribute from a callable that JSON cannot hold: keep the rest
        log.warning("call %s: flow attributes not stored: %r", result.call, result.attributes)
    if result.transferred_to is not None:
        attributes["transferred_to"] = result.transferred_to
    recorder.unqueued(
        result.started,
        result.ended,
        result.call,
        outcome,
        caller=caller if caller is not None else result.caller_id,
        called=called,
        attributes=attributes,
        voicemail_path=voicemail_path,
    )
