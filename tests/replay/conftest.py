"""Fixtures for the trace-replay contract tests.

`replay` runs a trace (a list of text lines) through one implementation of the contract and
returns the list of event dicts:

- "engine": `acdcore.replay_lines(lines)`, the Rust engine;
- "baseline": `run(lines)` of benches/replay_baseline.py, the pure-Python baseline, imported by
  file path.

Both raise ValueError with a message `line N: reason` for an invalid trace. An implementation that
cannot be imported yet is skipped, so the suite runs while pieces are missing; set
ACDCORE_REPLAY_REQUIRE=engine,baseline (or "all") to turn such a skip into a failure.

`cli` runs `python -m acdcore replay PATH` and returns its exit status, stdout and stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so test modules can import replay_support in any import mode
    sys.path.insert(0, str(HERE))

from replay_support import Event, Replay, events  # noqa: E402

__all__ = ["CliResult", "events"]

REPO = HERE.parents[1]
BASELINE_PATH = REPO / "benches" / "replay_baseline.py"
CLI_TIMEOUT = 120.0


def _required(name: str) -> bool:
    wanted = {w.strip() for w in os.environ.get("ACDCORE_REPLAY_REQUIRE", "").split(",")}
    return name in wanted or "all" in wanted


def _unavailable(name: str, reason: str) -> NoReturn:
    if _required(name):
        pytest.fail(f"{name} is required but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


class Implementation:
    """A callable `lines -> events` with the name of the implementation behind it."""

    def __init__(self, name: str, run: Callable[[list[str]], Any]) -> None:
        self.name = name
        self._run = run

    def __call__(self, lines: list[str]) -> list[Event]:
        return list(self._run(list(lines)))

    def __repr__(self) -> str:
        return f"<replay {self.name}>"


def load_engine() -> Implementation:
    try:
        acdcore = importlib.import_module("acdcore")
    except Exception as exc:  # not built yet, or half-written
        _unavailable("engine", f"import acdcore failed: {exc!r}")
    replay_lines = getattr(acdcore, "replay_lines", None)
    if replay_lines is None:
        _unavailable("engine", "acdcore.replay_lines does not exist yet")
    return Implementation("engine", replay_lines)


_baseline: ModuleType | None = None


def load_baseline() -> Implementation:
    global _baseline
    if not BASELINE_PATH.is_file():
        _unavailable("baseline", f"{BASELINE_PATH} does not exist yet")
    if _baseline is None:
        spec = importlib.util.spec_from_file_location("replay_baseline", BASELINE_PATH)
        if spec is None or spec.loader is None:
            _unavailable("baseline", f"cannot load {BASELINE_PATH}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses and the like look their module up here
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a half-written file
            del sys.modules[spec.name]
            _unavailable("baseline", f"importing {BASELINE_PATH} failed: {exc!r}")
        _baseline = module
    run = getattr(_baseline, "run", None)
    if run is None:
        _unavailable("baseline", "replay_baseline.run does not exist yet")
    return Implementation("baseline", run)


LOADERS = {"engine": load_engine, "baseline": load_baseline}


@pytest.fixture(scope="session", params=sorted(LOADERS))
def replay(request: pytest.FixtureRequest) -> Replay:
    """One implementation of the replay contract: `replay(lines) -> list of event dicts`."""
    return LOADERS[request.param]()


@pytest.fixture(scope="session")
def implementations() -> dict[str, Replay]:
    """Every implementation that can be imported now (for tests comparing them)."""
    found: dict[str, Replay] = {}
    for name, load in LOADERS.items():
        with contextlib.suppress(pytest.skip.Exception):
            found[name] = load()
    return found


# ---- the command line ---------------------------------------------------------------------------


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    @property
    def events(self) -> list[Event]:
        return [json.loads(line) for line in self.lines]


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)
    spec = importlib.util.find_spec("acdcore")
    if spec is not None and spec.origin is not None:
        # The child finds the same acdcore as this process, however pytest found it.
        root = str(Path(spec.origin).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[str] | bytes], CliResult]:
    """`cli(lines or raw bytes)` writes a trace file and runs `python -m acdcore replay PATH`."""
    try:
        importlib.import_module("acdcore")
    except Exception as exc:
        _unavailable("engine", f"acdcore is not importable, no CLI to run: {exc!r}")
    env = _cli_env()
    workdir = tmp_path_factory.mktemp("cli")
    counter = iter(range(1_000_000))

    def run(trace: list[str] | bytes) -> CliResult:
        path = workdir / f"trace{next(counter)}.jsonl"
        if isinstance(trace, bytes):
            path.write_bytes(trace)
        else:
            path.write_text("".join(line + "\n" for line in trace), encoding="utf-8")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "acdcore", "replay", str(path)],
                capture_output=True,
                timeout=CLI_TIMEOUT,
                cwd=workdir,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`acdcore replay` did not finish within {CLI_TIMEOUT} s (a hang?)")
        return CliResult(
            proc.returncode,
            proc.stdout.decode("utf-8", errors="replace"),
            proc.stderr.decode("utf-8", errors="replace"),
        )

    return run
