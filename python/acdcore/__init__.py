"""acdcore: an automatic call distribution core in Rust, used from Python.

The routing engine (`Engine`) matches waiting calls to agents by skills, strategy, priority
and escalation. Time is an input to every operation (`now`, seconds), so the same engine
serves live calls, trace replay (`replay`) and simulation, deterministically.
"""

from acdcore import erlang, flows, forecast, outbound, pacing
from acdcore._core import (
    AGENT_STATES,
    EVENT_KINDS,
    STRATEGIES,
    AgentInfo,
    CallInfo,
    Distributor,
    Engine,
    Event,
    QueueStats,
    StateError,
)
from acdcore.replay import replay, replay_lines
from acdcore.simulate import Scenario, SimulationResult, simulate

__all__ = [
    "AGENT_STATES",
    "EVENT_KINDS",
    "STRATEGIES",
    "AgentInfo",
    "CallInfo",
    "Distributor",
    "Engine",
    "Event",
    "QueueStats",
    "Scenario",
    "SimulationResult",
    "StateError",
    "erlang",
    "flows",
    "forecast",
    "outbound",
    "pacing",
    "replay",
    "replay_lines",
    "simulate",
]
