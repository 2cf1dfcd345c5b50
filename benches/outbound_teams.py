"""The predictive pacer on the issue-4 targets, seeds 1-10: `python benches/outbound_teams.py
[LABEL]` prints markdown rows for benches/README.md, one per team and answer rate, labelled
(e.g. "before" / "after") so that two builds' runs can be set side by side.

Each day is `simulate_outbound(agents, rate, 180, wrapup=10, mode="predictive", target=0.03)`
over 8 hours (the defaults of `acdcore simulate-outbound`), medians and the worst seed.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from acdcore.pacing import simulate_outbound

SEEDS = range(1, 11)
#: The issue's targets (50 and 10 agents, answer rates 0.2 and 0.08) and two tiny teams.
SCENARIOS = [(50, 0.2), (10, 0.2), (10, 0.08), (3, 0.2), (2, 0.5)]


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    load = Path("/proc/loadavg").read_text().split()[:3]
    start = time.perf_counter()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {' '.join(load)}")
    print()
    print(
        "| agents, answer rate | pacer | dials | abandon rate median (worst) "
        "| occupancy median (worst) |"
    )
    print("|---|---|---|---|---|")
    for agents, rate in SCENARIOS:
        days = [
            simulate_outbound(agents, rate, 180, wrapup=10, mode="predictive", target=0.03, seed=s)
            for s in SEEDS
        ]
        ab = [d["abandon_rate"] for d in days]
        occ = [d["occupancy"] for d in days]
        dials = statistics.median(d["dials"] for d in days)
        print(
            f"| {agents}, {rate:g} | {label} | {dials:,.0f} | "
            f"{statistics.median(ab):.2%} ({max(ab):.2%}) | "
            f"{statistics.median(occ):.3f} ({min(occ):.3f}) |"
        )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(f"{time.perf_counter() - start:.0f} s in all; load average at the end {' '.join(load)}")


if __name__ == "__main__":
    main()
