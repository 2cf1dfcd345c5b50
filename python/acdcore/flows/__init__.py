"""IVR call flows: the model, the TOML loader and validator, and the async interpreter.

`load(path, queues=engine.queues())` reads and checks a flow file (docs/flows.md);
`FlowRunner(flow, FlowContext(switchboard=Switchboard(engine)))` runs it, one task per call,
against any `CallChannel` (the media layer's SIP call, or a test's scripted caller).
"""

from acdcore.flows.channel import CallChannel, CallerHungUp, FlowObserver, NoObserver
from acdcore.flows.errors import FlowError, Problem
from acdcore.flows.interpreter import CrmLookup, FlowContext, FlowRunner, Verifier
from acdcore.flows.loader import load, loads
from acdcore.flows.model import (
    NODE_TYPES,
    Authenticate,
    Callback,
    Collect,
    Flow,
    Greeting,
    Hangup,
    Hours,
    Menu,
    Node,
    Queue,
    RingGroup,
    SetAttributes,
    Survey,
    Transfer,
    Voicemail,
)
from acdcore.flows.result import OUTCOMES, CallResult
from acdcore.flows.switchboard import CallbackRequest, Switchboard
from acdcore.flows.validator import check, validate

__all__ = [
    "NODE_TYPES",
    "OUTCOMES",
    "Authenticate",
    "CallChannel",
    "CallResult",
    "Callback",
    "CallbackRequest",
    "CallerHungUp",
    "Collect",
    "CrmLookup",
    "Flow",
    "FlowContext",
    "FlowError",
    "FlowObserver",
    "FlowRunner",
    "Greeting",
    "Hangup",
    "Hours",
    "Menu",
    "NoObserver",
    "Node",
    "Problem",
    "Queue",
    "RingGroup",
    "SetAttributes",
    "Survey",
    "Switchboard",
    "Transfer",
    "Verifier",
    "Voicemail",
    "check",
    "load",
    "loads",
    "validate",
]
