"""ODE samplers for the flow: pure functions with one signature.

``sampler(field, z0, *, steps, rtol, atol, schedule, callback, cancelled) -> SampleResult``
integrates dz/dt = field(t, z) from t = 0 (noise) to 1 (dopri5: to 1 - 1e-5 as JASCO
does). ``callback(nfe, t)`` runs after every function evaluation; ``cancelled()``
is checked before every evaluation and raises ``core.errors.Cancelled``.

Fixed-step solvers (``euler``, ``midpoint``, ``heun``, ``rk4``) take ``steps`` steps on a
time grid given by ``schedule`` (k-diffusion style: the grid decides where the work goes):

- ``uniform``: t_k = k/steps; Euler on it is audiocraft's loop (a float32 ``t`` tensor
  incremented by dt), bit for bit.
- ``cosine``: t_k = 1 - cos(pi/2 * k/steps): small steps near the noise end (t = 0), where the
  field changes fastest, large ones near the data end.
- ``quadratic``: t_k = (k/steps)^2: even more weight on the noise end.

Evaluations per step: euler 1, midpoint 2, heun 2, rk4 4. dopri5 ignores ``steps`` and
``schedule``. The state ``z`` is float32 whatever precision the field computes in (the field
returns float32), so the solver's arithmetic and dopri5's error estimate are float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field
from typing import Callable, Protocol

import torch

from core.errors import BadValue, Cancelled

T_END_ODE = 1.0 - 1e-5


class VectorField(Protocol):
    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor: ...


Callback = Callable[[int, float], None]
CancelCheck = Callable[[], bool]


@dataclass
class SampleResult:
    latents: torch.Tensor  # [B, T, D]
    nfe: int
    times: list[float] = dc_field(default_factory=list)  # t of every evaluation


class _Counted:
    """Wraps the field: cancellation check, NFE count, callback; the result is float32."""

    def __init__(self, field: VectorField, callback: Callback | None, cancelled: CancelCheck | None) -> None:
        self.field, self.callback, self.cancelled = field, callback, cancelled
        self.nfe = 0
        self.times: list[float] = []

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.cancelled is not None and self.cancelled():
            raise Cancelled(f"generation cancelled after {self.nfe} function evaluations")
        v = self.field(t, z)
        if v.dtype != torch.float32:
            v = v.float()
        self.nfe += 1
        tf = float(t.reshape(-1)[0])
        self.times.append(tf)
        if self.callback is not None:
            self.callback(self.nfe, tf)
        return v


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise BadValue(f"steps must be a positive integer, got {steps!r}")


SCHEDULES: dict[str, Callable[[float], float]] = {
    "uniform": lambda u: u,
    "cosine": lambda u: 1.0 - math.cos(0.5 * math.pi * u),
    "quadratic": lambda u: u * u,
}


def time_grid(steps: int, schedule: str = "uniform") -> list[float]:
    """The ``steps + 1`` times 0 = t_0 < ... < t_steps = 1 of a fixed-step solve."""
    _check_steps(steps)
    try:
        warp = SCHEDULES[schedule]
    except KeyError:
        raise BadValue(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}") from None
    grid = [warp(k / steps) for k in range(steps + 1)]
    grid[0], grid[-1] = 0.0, 1.0
    return grid


Step = Callable[[VectorField, torch.Tensor, torch.Tensor, float], torch.Tensor]


def _fixed_steps(step: Step, field: VectorField, z0: torch.Tensor, steps: int, schedule: str,
                 callback: Callback | None, cancelled: CancelCheck | None) -> SampleResult:
    """``steps`` steps of ``step(f, t, z, dt) -> z_next`` from t = 0; t is a float32 [1] tensor.

    On the uniform grid t is incremented by dt (audiocraft's Euler loop); on other grids it is
    set to each grid time.
    """
    grid = time_grid(steps, schedule)
    f = _Counted(field, callback, cancelled)
    z = z0.float()
    t = torch.zeros((1,), device=z0.device)
    for k in range(steps):
        dt = 1.0 / steps if schedule == "uniform" else grid[k + 1] - grid[k]
        z = step(f, t, z, dt)
        t = t + dt if schedule == "uniform" else torch.full((1,), grid[k + 1], device=z0.device)
    return SampleResult(z, f.nfe, f.times)


def _euler_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    return z + dt * f(t, z)


def _midpoint_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    half = z + (dt / 2) * f(t, z)
    return z + dt * f(t + dt / 2, half)


def _heun_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    v0 = f(t, z)
    v1 = f(t + dt, z + dt * v0)
    return z + (dt / 2) * (v0 + v1)


def _rk4_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    k1 = f(t, z)
    k2 = f(t + dt / 2, z + (dt / 2) * k1)
    k3 = f(t + dt / 2, z + (dt / 2) * k2)
    k4 = f(t + dt, z + dt * k3)
    return z + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def euler(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
          schedule: str = "uniform", callback: Callback | None = None,
          cancelled: CancelCheck | None = None) -> SampleResult:
    """Explicit Euler (1 evaluation per step); uniform = audiocraft's ``euler=True`` loop."""
    return _fixed_steps(_euler_step, field, z0, steps, schedule, callback, cancelled)


def midpoint(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
             schedule: str = "uniform", callback: Callback | None = None,
             cancelled: CancelCheck | None = None) -> SampleResult:
    """Explicit midpoint (2nd order, 2 evaluations per step)."""
    return _fixed_steps(_midpoint_step, field, z0, steps, schedule, callback, cancelled)


def heun(field: VectorField, z0: torch.Tensor, *, steps: int = 8, rtol: float = 1e-5, atol: float = 1e-5,
         schedule: str = "uniform", callback: Callback | None = None,
         cancelled: CancelCheck | None = None) -> SampleResult:
    """Heun / explicit trapezoid (2nd order, 2 evaluations per step)."""
    return _fixed_steps(_heun_step, field, z0, steps, schedule, callback, cancelled)


def rk4(field: VectorField, z0: torch.Tensor, *, steps: int = 4, rtol: float = 1e-5, atol: float = 1e-5,
        schedule: str = "uniform", callback: Callback | None = None,
        cancelled: CancelCheck | None = None) -> SampleResult:
    """Classic Runge-Kutta (4th order, 4 evaluations per step)."""
    return _fixed_steps(_rk4_step, field, z0, steps, schedule, callback, cancelled)


def ode_options(device: torch.device) -> dict[str, torch.dtype]:
    """torchdiffeq's adaptive solvers keep time, step size and tolerances in float64 on the state's device
    (``RKAdaptiveStepsizeODESolver(dtype=torch.float64)``); MPS has no float64, so there they are float32.
    Everywhere else torchdiffeq's default (as audiocraft) is kept."""
    return {"dtype": torch.float32} if device.type == "mps" else {}


def dopri5(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
           schedule: str = "uniform", callback: Callback | None = None,
           cancelled: CancelCheck | None = None) -> SampleResult:
    """Adaptive Dormand-Prince 5(4) through torchdiffeq over t = [0, 1 - 1e-5] (float32 state)."""
    from torchdiffeq import odeint

    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < tol < 1):
            raise BadValue(f"{name} must be a number in (0, 1), got {tol!r}")
    f = _Counted(field, callback, cancelled)
    t_span = torch.tensor([0.0, T_END_ODE], device=z0.device)
    zs = odeint(f, z0.float(), t_span, rtol=rtol, atol=atol, method="dopri5", options=ode_options(z0.device))
    return SampleResult(zs[-1], f.nfe, f.times)


SAMPLERS: dict[str, Callable[..., SampleResult]] = {"euler": euler, "midpoint": midpoint, "heun": heun,
                                                    "rk4": rk4, "dopri5": dopri5}
EVALS_PER_STEP = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}


def get_sampler(name: str) -> Callable[..., SampleResult]:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise BadValue(f"unknown solver {name!r}; choose one of {', '.join(SAMPLERS)}") from None
