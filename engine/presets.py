"""Named speed/quality presets: a solver, its steps and time grid, and a guidance interval.

``preset none`` (the default) uses the individual settings (solver, steps, rtol, atol), whose
defaults are audiocraft's (dopri5, rtol = atol = 1e-5, CFG on the whole trajectory). Any other
preset REPLACES solver, steps, rtol, atol, the time grid and the guidance interval: it is one
choice that stands for a measured trade-off (bench/engine.py prints the table of error vs the
dopri5 1e-5 solution and the time per clip). ``reference`` is audiocraft's exact semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import BadValue


@dataclass(frozen=True)
class Preset:
    solver: str
    steps: int = 16  # fixed-step solvers
    schedule: str = "uniform"
    rtol: float = 1e-5  # dopri5
    atol: float = 1e-5
    guidance_interval: tuple[float, float] | None = None  # multi-term CFG only for lo <= t <= hi
    loop_layout: str = "rolled"  # what a loop that fits one window gets when its layout is "auto" (engine.timeline)

    @property
    def evaluations(self) -> int | None:
        """Function evaluations of a fixed-step preset (None: adaptive)."""
        from .samplers import EVALS_PER_STEP

        per = EVALS_PER_STEP.get(self.solver)
        return None if per is None else per * self.steps


NONE = "none"
# Measured (bench/engine.py, relative latent error vs dopri5 1e-5, 2-term CFG): on the conformance fixture
# rk4 beats euler and heun at every evaluation count (rk4 4 evaluations: 1.8 %, the error of euler 16;
# rk4 8: 0.16 %; dopri5 1e-5 needs 32). At the 400M size (random weights; dopri5 1e-5 needs 44): rk4 4:
# 6.7 %, rk4 8: 1.6 %, euler 8: 5.9 %, heun/cosine 8: 2.2 %. The cosine grid helps heun at 4 evaluations
# but not rk4. A guidance interval moves the solution by 5-7 % (it is another field, not a discretisation
# error), so no preset uses one; it stays an engine option (SamplingParams.guidance_interval).
# sketch (2 evaluations, issue 22): the loop a musician auditions while playing, half the work of draft, and a
# loop that fits the window rendered at its own length (the fitted layout: a 4-bar loop at 120 bpm runs the
# transformer on 400 frames, not 500; seams measured like rolled's, bench/longform.py --layouts). bench/engine.py
# ``loop`` prints its generate-to-done time per precision and its latent error vs dopri5 1e-5 float32 (on the
# fixture's 4-bar loop: 0.228 in the rolled layout, the layout's difference to the reference's cycle included;
# at the 400M size, random weights, the 4-bar loop: sketch 0.209 fitted vs 0.210 rolled, draft 0.084, against
# dopri5 1e-5's 38 evaluations; bench/loop_profile.md).
PRESETS: dict[str, Preset] = {
    "sketch": Preset("midpoint", steps=1, loop_layout="fitted"),  # 2 evaluations, a loop at its own length
    "draft": Preset("rk4", steps=1),  # 4 evaluations
    "normal": Preset("rk4", steps=2),  # 8 evaluations
    "reference": Preset("dopri5", rtol=1e-5, atol=1e-5),  # audiocraft's default generate
}
NAMES = (NONE, *PRESETS)


def get_preset(name: str) -> Preset | None:
    """The preset called ``name``; None for ``none`` (the individual settings apply)."""
    if name == NONE:
        return None
    try:
        return PRESETS[name]
    except KeyError:
        raise BadValue(f"unknown preset {name!r}; choose one of {', '.join(NAMES)}") from None
