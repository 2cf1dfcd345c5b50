"""Generated SIP traffic on loopback, for the demo and the tests: auto-answering agent phones
(`AgentPhone`), callers with DTMF scripts and patience (`Caller`), and a seeded plan of both
(`TrafficPlan`, `run_traffic`). Everything is real SIP and RTP over UDP; see docs/traffic.md."""

from .agent import AgentCall, AgentPhone, RegistrationError
from .caller import Caller, CallerScript, CallResult
from .endpoint import UaEndpoint, open_endpoint
from .plan import TrafficPlan, TrafficSummary, run_traffic

__all__ = [
    "AgentCall",
    "AgentPhone",
    "CallResult",
    "Caller",
    "CallerScript",
    "RegistrationError",
    "TrafficPlan",
    "TrafficSummary",
    "UaEndpoint",
    "open_endpoint",
    "run_traffic",
]
