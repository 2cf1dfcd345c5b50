"""`TrafficPlan` and `run_traffic`: N agent phones and Poisson callers against one SIP server.

Everything random comes from one seed: interarrival times, each caller's patience (exponential)
and menu choice, each agent's talk times. The run is bounded: callers start only during
`duration`, then the last ones get at most their patience plus `grace` seconds, and every
phone is closed (unregistered) at the end. Callers share one UDP port; each agent has its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..sip.transaction import Timers
from ..sip.transport import Addr
from .agent import AgentPhone
from .caller import Caller, CallerScript, CallResult
from .endpoint import open_endpoint


@dataclass(frozen=True)
class TrafficPlan:
    """What to generate. `menu` maps digits to weights: each caller presses one choice
    `menu_delay` seconds after the answer (none when empty)."""

    target: Addr
    number: str
    agents: Sequence[tuple[str, str]] = ()  # (user, password)
    rate: float = 0.5  # calls per second
    duration: float = 30.0
    seed: int = 0
    patience_mean: float = 30.0
    menu: Mapping[str, float] = field(default_factory=dict)
    menu_delay: float = 3.0
    answer_delay: float = 0.5
    talk_mean: float | None = 5.0
    disposition: str | None = None
    max_calls: int = 1000
    grace: float = 5.0

    def __post_init__(self) -> None:
        for name in ("rate", "duration", "patience_mean"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"traffic {name} must be positive, got {value!r}")
        for digit in self.disposition or "":
            if digit not in "0123456789*#ABCD":
                raise ValueError(f"disposition {self.disposition!r}: {digit!r} is not a DTMF digit")
        if self.max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {self.max_calls}")
        if any(not w >= 0 for w in self.menu.values()) or (
            self.menu and sum(self.menu.values()) <= 0
        ):
            raise ValueError(f"menu weights must be non-negative with a positive sum: {self.menu}")

    def schedule(self) -> list[tuple[float, CallerScript]]:
        """The callers, in order: (seconds from the start, script). Poisson arrivals at `rate`
        within `duration` (at most `max_calls`), exponential patience capped at five means
        plus one second, a weighted menu choice; the same seed gives the same schedule."""
        rng = random.Random(self.seed)
        choices, weights = list(self.menu), list(self.menu.values())
        out: list[tuple[float, CallerScript]] = []
        at = rng.expovariate(self.rate)
        while at < self.duration and len(out) < self.max_calls:
            digits = [(self.menu_delay, rng.choices(choices, weights)[0])] if choices else []
            patience = min(rng.expovariate(1 / self.patience_mean), 5 * self.patience_mean)
            script = CallerScript(self.number, digits, patience + 1.0, f"caller{len(out) + 1}")
            out.append((at, script))
            at += rng.expovariate(self.rate)
        return out


@dataclass
class TrafficSummary:
    agents_registered: int = 0
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    agent_calls: int = 0
    digits_sent: int = 0
    digits_received_by_agents: int = 0
    rtp_received: int = 0
    results: list[CallResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        o = self.outcomes
        return [
            f"agents registered {self.agents_registered}, calls {self.calls}: "
            f"completed {o['completed']}, abandoned {o['abandoned']}, failed {o['failed']}",
            f"answered {self.answered}, taken by agent phones {self.agent_calls}, "
            f"digits sent {self.digits_sent} (agents heard {self.digits_received_by_agents}), "
            f"RTP packets received by callers {self.rtp_received}",
        ]


async def run_traffic(
    plan: TrafficPlan, timers: Timers | None = None, host: str = "127.0.0.1"
) -> TrafficSummary:
    """Runs `plan` to its end and returns what happened."""
    rng = random.Random(plan.seed ^ 0x5EED)  # the phones' talk seeds; callers use plan.seed
    summary = TrafficSummary()
    phones = [
        AgentPhone(
            plan.target,
            user,
            password,
            answer_delay=plan.answer_delay,
            talk_mean=plan.talk_mean,
            disposition=plan.disposition,
            seed=rng.randrange(1 << 30),
            host=host,
            timers=timers,
        )
        for user, password in plan.agents
    ]
    endpoint = await open_endpoint(host, timers)
    tasks: list[asyncio.Task[CallResult]] = []
    try:
        for phone in phones:
            await phone.start()
            summary.agents_registered += phone.registered
        loop = asyncio.get_running_loop()
        start = loop.time()
        for at, script in plan.schedule():
            # Absolute offsets: a late wake-up does not push every later caller back.
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            tasks.append(loop.create_task(Caller(endpoint, plan.target, script).run()))
        if tasks:
            # Every caller ends by its patience (capped at 5 means) or a CANCEL's 32 s wait.
            bound = 5 * plan.patience_mean + 1.0 + 32.0 + plan.grace
            done, pending = await asyncio.wait(tasks, timeout=bound)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception() is None:
                    summary.results.append(task.result())
    finally:
        for phone in phones:
            with contextlib.suppress(Exception):
                await phone.close()
        endpoint.close()
    for result in summary.results:
        summary.outcomes[result.outcome] += 1
        summary.answered += result.answered
        summary.digits_sent += len(result.digits_sent)
        summary.rtp_received += result.rtp_received
    summary.calls = len(tasks)
    summary.agent_calls = sum(len(p.calls) for p in phones)
    summary.digits_received_by_agents = sum(len(c.dtmf_received) for p in phones for c in p.calls)
    return summary
