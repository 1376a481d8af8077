"""Meter: where the bars and beats fall, and how strong a position is.

A :class:`Meter` is a list of ``(start_beat, beats_per_bar, pulse)`` sections (a time
signature change starts a new section on its own bar line; the pulse is the counted beat:
1 in 4/4, 2 in 2/2, 1.5 in 6/8). ``level(t)`` says how strong a position
is: 0 on a bar line, 1 on the middle of an even bar (beat 3 of 4/4), 2 on a pulse, 3 on its
half (its third when dotted), 4 anywhere else. Chord changes are cheapest on strong positions, and
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
    # (start beat, beats per bar, beats per pulse), first at 0, increasing; the pulse is the
    # counted beat: a quarter in 4/4 and 3/4, a half in 2/2, a dotted quarter in 6/8 and 12/8
    sections: tuple[tuple[float, float, float], ...]

    @classmethod
    def of(cls, beats_per_bar: float, changes: Sequence[Sequence[float]] | None = None) -> "Meter":
        """A meter of ``beats_per_bar`` (from beat 0, quarter-note pulse), or of explicit
        ``changes``: ``(start_beat, beats_per_bar)`` or ``(start_beat, beats_per_bar, pulse)``."""
        if not changes:
            return cls(((0.0, float(beats_per_bar), 1.0),))
        read: list[tuple[float, float, float]] = []
        for change in changes:
            try:
                values = [float(v) for v in change]
            except (TypeError, ValueError):
                raise BadValue(f"a meter change is (beat, beats per bar[, pulse]), got {change!r}") from None
            if len(values) not in (2, 3):
                raise BadValue(f"a meter change is (beat, beats per bar[, pulse]), got {change!r}")
            start, bpb, pulse = values[0], values[1], values[2] if len(values) == 3 else 1.0
            if not all(math.isfinite(v) for v in values) or start < 0 or bpb <= 0 or pulse <= 0:
                raise BadValue(f"a meter change must be (beat >= 0, beats per bar > 0[, pulse > 0]), got {change!r}")
            read.append((start, bpb, pulse))
        out: list[tuple[float, float, float]] = []
        for start, bpb, pulse in sorted(read, key=lambda c: c[0]):
            if out and start == out[-1][0]:
                out[-1] = (start, bpb, pulse)
            else:
                out.append((start, bpb, pulse))
        if out[0][0] > 0:
            out.insert(0, (0.0, float(beats_per_bar), 1.0))
        return cls(tuple(out))

    @property
    def longest_bar(self) -> float:
        return max(b for _, b, _ in self.sections)

    def level(self, t: np.ndarray, tol: float) -> np.ndarray:
        """Metric level (0 strongest .. 4) of each position ``t`` (absolute beats)."""
        t = np.asarray(t, np.float64)
        starts = np.array([s for s, _, _ in self.sections])
        i = np.clip(np.searchsorted(starts, t + tol, side="right") - 1, 0, len(starts) - 1)
        x = t - starts[i]
        bar = np.array([b for _, b, _ in self.sections])[i]
        pulse = np.array([p for _, _, p in self.sections])[i]
        pulses = bar / pulse

        def on(unit: np.ndarray) -> np.ndarray:
            return np.abs(x / unit - np.round(x / unit)) * unit <= tol

        # a bar of an even number of pulses has a strong middle (beat 3 of 4/4); a pulse divides
        # in three when it is dotted (6/8: eighths), else in two
        half = np.where(np.abs((pulses / 2) % 1) < 1e-9, bar / 2, bar)
        dotted = np.abs(pulse / 1.5 - np.round(pulse / 1.5)) < 1e-9
        sub = np.where(dotted, pulse / 3, pulse / 2)
        level = np.full(len(x), 4, np.int64)
        level[on(sub)] = 3
        level[on(pulse)] = 2
        level[on(half)] = 1
        level[on(bar)] = 0
        return level

    def weight(self, t: np.ndarray, tol: float) -> np.ndarray:
        return LEVEL_WEIGHT[self.level(t, tol)]
