"""Shared pieces of the Python benchmarks: a session report printed after the run.

Each benchmark adds its figures (`report.add(...)`); the terminal summary prints them as one
block, with the ratios of the replay baseline to the Rust engine, so one run shows the numbers
side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class Report:
    """Figures of this run: name -> (median seconds, a line describing it)."""

    lines: list[str] = field(default_factory=list)
    medians: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, median: float, line: str) -> None:
        self.medians[name] = median
        self.lines.append(line)

    def ratio(self, slow: str, fast: str) -> float | None:
        if slow in self.medians and fast in self.medians and self.medians[fast] > 0:
            return self.medians[slow] / self.medians[fast]
        return None


_REPORT = pytest.StashKey[Report]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT] = Report()


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> Report:
    return request.config.stash[_REPORT]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    rep = config.stash.get(_REPORT, None)
    if rep is None or not rep.lines:
        return
    terminalreporter.section("acdcore benchmarks (medians)")
    for line in rep.lines:
        terminalreporter.write_line(line)
    for what, slow, fast in (
        ("in-process (list of event dicts)", "baseline-api", "acdcore-api"),
        ("command line (JSONL to /dev/null)", "baseline-cli", "acdcore-cli"),
        ("engine alone (_core.replay_file: JSONL bytes)", "baseline-api", "acdcore-core"),
    ):
        r = rep.ratio(slow, fast)
        if r is not None:
            terminalreporter.write_line(
                f"replay ratio, {what}: pure-Python baseline / acdcore = {r:.1f}x"
            )
    r = rep.ratio("pyworkforce-staffing", "acdcore-staffing")
    if r is not None:
        terminalreporter.write_line(
            f"staffing ratio, same intervals: pyworkforce / acdcore = {r:.0f}x"
        )
