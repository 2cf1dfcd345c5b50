"""Outbound pacing: how many numbers each campaign dials per tick, computed in Rust.

`Pacer` paces many campaigns at once from numpy columns (the GIL is released);
`simulate_outbound` runs an outbound day on the real engine. The model is in docs/pacing.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from acdcore import _core

__all__ = ["MODES", "Pacer", "simulate_outbound"]

MODES = ("progressive", "power", "predictive")
simulate_outbound = _core.simulate_outbound


def _column(name: str, value: Any, n: int) -> list[float]:
    a = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 else None
    if a is None:
        a = np.asarray(value, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"{name} has {a.size} values for {n} campaigns")
    return [float(v) for v in a]


def _ragged(
    name: str, per_campaign: Sequence[npt.ArrayLike] | npt.ArrayLike, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64]]:
    """One array of seconds per campaign, as flat values and offsets."""
    if isinstance(per_campaign, np.ndarray) and per_campaign.ndim < 2:
        raise ValueError(f"{name} takes one sequence per campaign (or flat with offsets)")
    parts = [np.asarray(a, dtype=np.float64).ravel() for a in per_campaign]  # type: ignore[union-attr]
    if len(parts) != n:
        raise ValueError(f"{name} has {len(parts)} campaigns, the pacer {n}")
    flat = np.concatenate(parts) if parts else np.zeros(0)
    offs = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.uint64)
    return flat, offs


def _flat(
    name: str, values: Any, offsets_name: str, offsets: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64]]:
    flat = np.ascontiguousarray(values, dtype=np.float64)
    offs = np.asarray(offsets)
    if offs.size and (not np.issubdtype(offs.dtype, np.integer) or offs.min() < 0):
        raise ValueError(f"{offsets_name} must be non-negative integers")
    return flat.ravel(), np.ascontiguousarray(offs, dtype=np.uint64)


class Pacer:
    """Campaigns paced together. Each setting is one value for all or one per campaign.

    `mode`: "progressive", "power" (with `ratio` lines per ready agent) or "predictive";
    `target`: most abandons per live answer; `aht`: mean talk seconds (exponential);
    `wrapup`: seconds of after-call work. With `ring` (seconds a dial rings before it is
    given up) the dials in flight are weighed by their ages (`tick(flight_ages=...)`): one that
    has rung long is likely a no-answer and leaves room for another dial. `answer_cv` is the
    time to answer's coefficient of variation (lognormal shape; its mean is learned live): the
    shape assumed until the campaign reports its answers' times (`tick(answer_times=...)`),
    from which the pacer learns the shape itself (`answer_shape`).
    """

    def __init__(
        self,
        campaigns: int,
        *,
        mode: str | Sequence[str] = "predictive",
        target: float | npt.ArrayLike = 0.03,
        ratio: float | npt.ArrayLike = 1.0,
        aht: float | npt.ArrayLike = 180.0,
        wrapup: float | npt.ArrayLike = 0.0,
        ring: float | npt.ArrayLike | None = None,
        answer_cv: float | npt.ArrayLike = 0.5,
    ) -> None:
        if campaigns < 0:
            raise ValueError(f"campaigns must be >= 0, got {campaigns}")
        modes = [mode] * campaigns if isinstance(mode, str) else list(mode)
        if len(modes) != campaigns:
            raise ValueError(f"mode has {len(modes)} values for {campaigns} campaigns")
        self._inner = _core.Pacer(
            modes,
            _column("target", target, campaigns),
            _column("ratio", ratio, campaigns),
            _column("aht", aht, campaigns),
            _column("wrapup", wrapup, campaigns),
            None if ring is None else _column("ring", ring, campaigns),
            None if ring is None else _column("answer_cv", answer_cv, campaigns),
        )
        self._n = campaigns

    def __len__(self) -> int:
        return self._n

    def tick(
        self,
        now: float,
        *,
        ready: npt.ArrayLike,
        busy_ages: Sequence[npt.ArrayLike] | None = None,
        ages: npt.ArrayLike | None = None,
        offsets: npt.ArrayLike | None = None,
        in_flight: npt.ArrayLike | None = None,
        waiting: npt.ArrayLike | None = None,
        resolved: npt.ArrayLike | None = None,
        answered: npt.ArrayLike | None = None,
        machines: npt.ArrayLike | None = None,
        tta_sum: npt.ArrayLike | None = None,
        abandoned: npt.ArrayLike | None = None,
        flight_ages: Sequence[npt.ArrayLike] | npt.ArrayLike | None = None,
        flight_offsets: npt.ArrayLike | None = None,
        answer_times: Sequence[npt.ArrayLike] | npt.ArrayLike | None = None,
        answer_offsets: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.uint32]:
        """Dials per campaign at `now`. Busy agents' call ages (seconds since connect) come as
        one sequence per campaign (`busy_ages`) or flat with `offsets` (campaign i owns
        `ages[offsets[i]:offsets[i+1]]`). `flight_ages` (seconds since each dial in flight was
        placed, at most `in_flight[i]` per campaign; the rest count as just placed) likewise:
        one sequence per campaign, or flat with `flight_offsets`. Outcome counts are those
        since the last tick. `answer_times`: seconds from dial to answer of (some of) the
        dials answered since the last tick, at most `answered[i]` per campaign, one sequence
        per campaign or flat with `answer_offsets`; the pacer learns the time-to-answer shape
        and mean from them, so give them instead of `tta_sum`."""
        n = self._n

        def counts(name: str, v: npt.ArrayLike | None) -> npt.NDArray[np.uint32]:
            if v is None:
                return np.zeros(n, dtype=np.uint32)
            a = np.asarray(v)
            if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0):
                raise ValueError(f"{name} must be non-negative integers")
            return np.ascontiguousarray(np.broadcast_to(a, (n,)), dtype=np.uint32)

        if busy_ages is not None:
            if ages is not None or offsets is not None:
                raise ValueError("give busy_ages or ages with offsets, not both")
            flat, offs = _ragged("busy_ages", busy_ages, n)
        elif ages is not None and offsets is not None:
            flat, offs = _flat("ages", ages, "offsets", offsets)
        elif ages is not None or offsets is not None:
            raise ValueError("ages and offsets go together")
        else:
            flat, offs = np.zeros(0), np.zeros(n + 1, dtype=np.uint64)
        if flight_offsets is not None:
            if flight_ages is None:
                raise ValueError("flight_offsets needs flight_ages")
            f_flat, f_offs = _flat("flight_ages", flight_ages, "flight_offsets", flight_offsets)
        elif flight_ages is not None:
            f_flat, f_offs = _ragged("flight_ages", flight_ages, n)
        else:
            f_flat, f_offs = np.zeros(0), np.zeros(0, dtype=np.uint64)
        times: dict[str, Any] = {}
        if answer_offsets is not None:
            if answer_times is None:
                raise ValueError("answer_offsets needs answer_times")
            a_flat, a_offs = _flat("answer_times", answer_times, "answer_offsets", answer_offsets)
            times = {"answer_times": a_flat, "answer_offsets": a_offs}
        elif answer_times is not None:
            a_flat, a_offs = _ragged("answer_times", answer_times, n)
            times = {"answer_times": a_flat, "answer_offsets": a_offs}
        if times and tta_sum is not None:
            raise ValueError(
                "give tta_sum or answer_times, not both (the mean comes from the times)"
            )
        tta = np.zeros(n) if tta_sum is None else np.asarray(tta_sum, dtype=np.float64)
        return self._inner.tick(
            float(now),
            counts("ready", ready),
            counts("in_flight", in_flight),
            counts("waiting", waiting),
            flat,
            offs,
            counts("resolved", resolved),
            counts("answered", answered),
            counts("machines", machines),
            np.ascontiguousarray(np.broadcast_to(tta, (n,))),
            counts("abandoned", abandoned),
            f_flat,
            f_offs,
            **times,
        )

    def snapshot(self) -> bytes:
        """What every campaign has learned (estimates, measured abandons, the controller's
        risk level, the learned answer shape, its clock) as versioned bytes, for `restore`
        after a restart: a restarted dialer need not learn it all again."""
        return self._inner.snapshot()

    def restore(self, data: bytes) -> None:
        """Take back `snapshot()` bytes of a pacer with as many campaigns. Damaged or
        foreign bytes, or a state out of range, are a ValueError and change nothing; a shape
        learned for another ring timeout is dropped (the estimates are kept)."""
        self._inner.restore(bytes(data))

    def state(self, campaign: int) -> dict[str, float]:
        """The campaign's live estimates (answer_rate, machine_rate, time_to_answer),
        measured_abandon and risk level."""
        return self._inner.state(campaign)

    def answer_shape(
        self, campaign: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """The time-to-answer shape the campaign has learned, as (probability per bin, bin
        edges from 0 to the ring timeout) like `numpy.histogram`; None before its first
        answer time, or without `ring`."""
        return self._inner.answer_shape(campaign)
