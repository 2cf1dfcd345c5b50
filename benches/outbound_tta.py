"""The predictive pacer with the time-to-answer shape given (old) or learned (new), side by
side in one run: `python benches/outbound_tta.py` prints a markdown table for
benches/README.md.

Each scenario runs seeds 1-10 of `simulate_outbound` (wrap-up 10 s, AHT 180 s, target 3%,
8 hours, 25 s ring) for each true time to answer; both pacers are told a lognormal of cv 0.5
(what `acdcore.pacing.Pacer` assumes), the new one then learns the shape from the answers.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from acdcore.pacing import simulate_outbound

SEEDS = range(1, 11)
SCENARIOS = [(50, 0.2), (10, 0.2), (10, 0.08)]
TOLD = "lognormal:1:0.5"
#: True times to answer: the default, late pickups, and two groups (quick and late).
ANSWER_TIMES = {
    "lognormal 8 s, sd 4 s": "lognormal:8:4",
    "uniform 12-15 s": "empirical:" + ",".join(f"{12 + k / 4:g}" for k in range(13)),
    "60% at 2-4.5 s, 40% at 14-17 s": "empirical:"
    + ",".join(f"{v:g}" for v in [2, 2.5, 3, 3.5, 4, 4.5, 14, 15, 16, 17]),
}


def main() -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    start = time.perf_counter()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {' '.join(load)}")
    print()
    print(
        "| agents, answer rate | time to answer | pacer | dials | abandon rate median (worst) "
        "| occupancy median (worst) |"
    )
    print("|---|---|---|---|---|---|")
    for agents, rate in SCENARIOS:
        for label, spec in ANSWER_TIMES.items():
            for pacer, learn in (("given shape", False), ("learned shape", True)):
                days = [
                    simulate_outbound(
                        agents,
                        rate,
                        180,
                        wrapup=10,
                        mode="predictive",
                        target=0.03,
                        seed=seed,
                        answer_time=spec,
                        pacer_answer_time=TOLD,
                        learn_answer_shape=learn,
                    )
                    for seed in SEEDS
                ]
                ab = [d["abandon_rate"] for d in days]
                occ = [d["occupancy"] for d in days]
                dials = statistics.median(d["dials"] for d in days)
                print(
                    f"| {agents}, {rate:g} | {label} | {pacer} | {dials:,.0f} | "
                    f"{statistics.median(ab):.2%} ({max(ab):.2%}) | "
                    f"{statistics.median(occ):.3f} ({min(occ):.3f}) |"
                )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print()
    print(f"{time.perf_counter() - start:.0f} s in all; load average at the end {' '.join(load)}")


if __name__ == "__main__":
    main()
