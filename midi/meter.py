"""Meter: where the bars and beats fall, and how strong a position is.

A :class:`Meter` is a list of ``(start_beat, beats_per_bar)`` sections (a time signature
change starts a new section on its own bar line). ``level(t)`` says how strong a position
is: 0 on a bar line, 1 on the middle of an even bar (beat 3 of 4/4), 2 on a beat, 3 on an
eighth between beats, 4 anywhere else. Chord changes are cheapest on strong positions, and
notes struck there weigh more (:meth:`Meter.weight`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.errors import BadValue

# how much a note struck at each level weighs (a passing eighth counts half a downbeat)
LEVEL_WEIGHT = np.array([1.0, 0.95, 0.85, 0.7, 0.6])


@dataclass(frozen=True)
class Meter:
    sections: tuple[tuple[float, float], ...]   # (start beat, beats per bar), first at 0, increasing

    @classmethod
    def of(cls, beats_per_bar: float, changes: Sequence[tuple[float, float]] | None = None) -> "Meter":
        """A meter of ``beats_per_bar`` (from beat 0), or of explicit ``changes``."""
        if not changes:
            return cls(((0.0, float(beats_per_bar)),))
        out: list[tuple[float, float]] = []
        for start, bpb in sorted((float(s), float(b)) for s, b in changes):
            if not (math.isfinite(start) and start >= 0 and math.isfinite(bpb) and bpb > 0):
                raise BadValue(f"a meter change must be (beat >= 0, beats per bar > 0), got ({start}, {bpb})")
            if out and start == out[-1][0]:
                out[-1] = (start, bpb)
            else:
                out.append((start, bpb))
        if out[0][0] > 0:
            out.insert(0, (0.0, float(beats_per_bar)))
        return cls(tuple(out))

    @property
    def longest_bar(self) -> float:
        return max(b for _, b in self.sections)

    def level(self, t: np.ndarray, tol: float) -> np.ndarray:
        """Metric level (0 strongest .. 4) of each position ``t`` (absolute beats)."""
        t = np.asarray(t, np.float64)
        starts = np.array([s for s, _ in self.sections])
        bars = np.array([b for _, b in self.sections])
        i = np.clip(np.searchsorted(starts, t + tol, side="right") - 1, 0, len(starts) - 1)
        x = t - starts[i]
        bar = bars[i]

        def on(unit: np.ndarray | float) -> np.ndarray:
            return np.abs(x / unit - np.round(x / unit)) * unit <= tol

        # a bar of an even number of beats has a strong middle (beat 3 of 4/4)
        half = np.where(np.abs((bar / 2) % 1) < 1e-9, bar / 2, bar)
        level = np.full(len(x), 4, np.int64)
        level[on(0.5)] = 3
        level[on(1.0)] = 2
        level[on(half)] = 1
        level[on(bar)] = 0
        return level

    def weight(self, t: np.ndarray, tol: float) -> np.ndarray:
        return LEVEL_WEIGHT[self.level(t, tol)]
