"""Render time against phrase length: a jam keeps up when a phrase renders faster than it plays.

A render starts at a boundary and its phrase starts at the first boundary after it is done, so
with ``ratio = render seconds / phrase seconds`` below 1 every phrase follows the one played
before; above 1 the current phrase loops and the new one lands ``ceil(ratio)`` phrases later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FASTEST_PRESET = "sketch"  # engine/presets.py: midpoint, 1 step (2 evaluations)


@dataclass(frozen=True)
class BudgetReport:
    render_s: float
    phrase_s: float

    @property
    def ratio(self) -> float:
        return self.render_s / self.phrase_s if self.phrase_s > 0 else math.inf

    @property
    def keeps_up(self) -> bool:
        return self.ratio < 1.0

    @property
    def phrases_late(self) -> int:
        """Boundaries a phrase waits beyond the next one (0 when it keeps up)."""
        return max(0, math.ceil(self.ratio) - 1) if math.isfinite(self.ratio) else 1

    def advice(self, bars: int, preset: str = "") -> str:
        """The verdict in words; ``preset``: the one the phrase rendered with (advice names a faster one)."""
        if self.keeps_up:
            return f"keeps up: renders in {100 * self.ratio:.0f} % of a phrase"
        need = max(bars + 1, math.ceil(bars * self.ratio * 1.1))
        faster = "" if preset == FASTEST_PRESET else f"the {FASTEST_PRESET} preset (now {preset or 'the default'}) or "
        return (f"cannot keep up: a {self.phrase_s:.1f} s phrase takes {self.render_s:.1f} s to render; "
                f"the current phrase loops meanwhile and each new one lands {self.phrases_late + 1} boundaries "
                f"after it was asked for. Choose {faster}at least {need} bars per phrase")


def sustainable_bars(render_s_per_bar: float, setup_s: float, bar_s: float, max_bars: int = 64) -> int | None:
    """The fewest bars per phrase whose render (``setup + bars * per_bar``) is shorter than the phrase."""
    for bars in range(1, max_bars + 1):
        if setup_s + bars * render_s_per_bar < bars * bar_s:
            return bars
    return None
