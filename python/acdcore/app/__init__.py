"""The example contact-center server (`acdcore serve`): SIP registrar for agents, callers
answered with anchored media and run through the call flow, agents rung on engine offers,
call records in SQLite, a live wallboard."""

from acdcore.app.config import AgentConfig, Config, QueueConfig, load_config
from acdcore.app.server import ContactCenter

__all__ = ["AgentConfig", "Config", "ContactCenter", "QueueConfig", "load_config"]
