"""A render's estimated cost, and the per-server ceiling that refuses weeks of work up front.

cost = windows x function evaluations x model size, in "window evaluations of the 400M
model". Every factor comes from the request alone (no torch): the windows the clip's
length, loop and hop give (the plan of ``engine.windows.plan``, at the checkpoints' 50 Hz
and 500-frame window), the evaluations of the solver (a fixed-step solver's steps x its
evaluations per step; dopri5 is adaptive, counted at ``DOPRI5_EVALS``, what the default
tolerance takes on a typical clip), and the model's size relative to the 400M
checkpoints. ``check_cost`` raises ``too_large`` past the ceiling, naming what to lower.

The ceiling (``serve --max-job-cost``, default ``DEFAULT_MAX_COST``) admits every default
render and the longest clip at the default hop with any preset; the attack of issue 24
(999 bpm, hop 1 beat, rk4 x 1000 steps: 2,979 windows x 4,000 evaluations, ~30 h on the
tiny model) is 12 million and is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.errors import TooLarge
from core.requests import FRAME_RATE, WINDOW_FRAMES, RenderRequest, clip_frames

DEFAULT_MAX_COST = 50_000.0  # window evaluations of the 400M model
DOPRI5_EVALS = 40  # audiocraft's dopri5 at rtol = atol = 1e-5 on a typical clip (the tiny model's renders: 38)
EVALS_PER_STEP = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}
PRESET_EVALS = {"draft": 4, "normal": 8}  # engine.presets: rk4 x 1 and rk4 x 2 steps


@dataclass(frozen=True)
class JobCost:
    windows: int
    evaluations: int
    size: float  # relative to the 400M checkpoints

    @property
    def total(self) -> float:
        return self.windows * self.evaluations * self.size


def model_size(model: str) -> float:
    """Relative cost of one evaluation: the 1B checkpoints ~2.5x the 400M ones; the tiny model far less."""
    name = model.lower()
    if name == "tiny":
        return 0.01
    return 2.5 if "1b" in name else 1.0


def _hop_frames(hop_beats: int, beat_seconds: float) -> int:
    beat = beat_seconds * FRAME_RATE
    if hop_beats:
        return max(1, min(WINDOW_FRAMES, int(round(hop_beats * beat))))
    beats = max(1, int(round(WINDOW_FRAMES / 2 / beat)))
    while beats > 1 and beats * beat > WINDOW_FRAMES:
        beats -= 1
    return min(WINDOW_FRAMES, max(1, int(round(beats * beat))))


def windows(request: RenderRequest) -> int:
    """Windows the engine renders for ``request`` (the count ``engine.windows.plan`` gives)."""
    if not request.params.bars:
        return 1
    frames = clip_frames(request.clip_seconds)
    if not request.is_loop and frames <= WINDOW_FRAMES:
        return 1
    hop = _hop_frames(int(request.params.hop), request.seconds_per_beat)
    if request.is_loop:
        return math.ceil(frames / hop)
    return math.ceil((frames - WINDOW_FRAMES) / hop) + 1


def evaluations(request: RenderRequest) -> int:
    p = request.params
    if p.preset in PRESET_EVALS:
        return PRESET_EVALS[p.preset]
    if p.preset == "reference" or p.solver == "dopri5":
        return DOPRI5_EVALS
    return int(p.steps) * EVALS_PER_STEP.get(p.solver, 4)


def estimate(request: RenderRequest) -> JobCost:
    return JobCost(windows(request), evaluations(request), model_size(request.model))


def check_cost(request: RenderRequest, ceiling: float) -> JobCost:
    """``too_large`` when the estimated cost passes ``ceiling``; the message names what to lower."""
    cost = estimate(request)
    if cost.total > ceiling:
        raise TooLarge(
            f"this render would take about {cost.total:,.0f} window evaluations ({cost.windows} windows x "
            f"{cost.evaluations} function evaluations x {cost.size:g} for the model); this server's limit is "
            f"{ceiling:,.0f}: lower steps (or use a preset), raise hop, use fewer bars or a smaller model")
    return cost
