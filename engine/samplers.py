"""ODE samplers for the flow: pure functions with one signature.

``sampler(field, z0, *, steps, rtol, atol, callback, cancelled) -> SampleResult``
integrates dz/dt = field(t, z) from t = 0 to 1 (dopri5: to 1 - 1e-5 as JASCO
does). ``callback(nfe, t)`` runs after every function evaluation; ``cancelled()``
is checked before every evaluation and raises ``core.errors.Cancelled``.
"""

from __future__ import annotations

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
    """Wraps the field: cancellation check, NFE count, callback."""

    def __init__(self, field: VectorField, callback: Callback | None, cancelled: CancelCheck | None) -> None:
        self.field, self.callback, self.cancelled = field, callback, cancelled
        self.nfe = 0
        self.times: list[float] = []

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.cancelled is not None and self.cancelled():
            raise Cancelled(f"generation cancelled after {self.nfe} function evaluations")
        v = self.field(t, z)
        self.nfe += 1
        tf = float(t.reshape(-1)[0])
        self.times.append(tf)
        if self.callback is not None:
            self.callback(self.nfe, tf)
        return v


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise BadValue(f"steps must be a positive integer, got {steps!r}")


Step = Callable[[VectorField, torch.Tensor, torch.Tensor, float], torch.Tensor]


def _fixed_steps(step: Step, field: VectorField, z0: torch.Tensor, steps: int, callback: Callback | None,
                 cancelled: CancelCheck | None) -> SampleResult:
    """``steps`` steps of ``step(f, t, z, dt) -> z_next`` from t = 0, t a float32 [1] tensor incremented by dt."""
    _check_steps(steps)
    f = _Counted(field, callback, cancelled)
    dt = 1.0 / steps
    z = z0
    t = torch.zeros((1,), device=z0.device)
    for _ in range(steps):
        z = step(f, t, z, dt)
        t = t + dt
    return SampleResult(z, f.nfe, f.times)


def _euler_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    return z + dt * f(t, z)


def _midpoint_step(f: VectorField, t: torch.Tensor, z: torch.Tensor, dt: float) -> torch.Tensor:
    half = z + (dt / 2) * f(t, z)
    return z + dt * f(t + dt / 2, half)


def euler(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
          callback: Callback | None = None, cancelled: CancelCheck | None = None) -> SampleResult:
    """Explicit Euler, dt = 1/steps, t a float32 [1] tensor incremented by dt (as audiocraft)."""
    return _fixed_steps(_euler_step, field, z0, steps, callback, cancelled)


def midpoint(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
             callback: Callback | None = None, cancelled: CancelCheck | None = None) -> SampleResult:
    """Explicit midpoint (2nd order, 2 evaluations per step)."""
    return _fixed_steps(_midpoint_step, field, z0, steps, callback, cancelled)


def ode_options(device: torch.device) -> dict[str, torch.dtype]:
    """torchdiffeq's adaptive solvers keep time, step size and tolerances in float64 on the state's device
    (``RKAdaptiveStepsizeODESolver(dtype=torch.float64)``); MPS has no float64, so there they are float32.
    Everywhere else torchdiffeq's default (as audiocraft) is kept."""
    return {"dtype": torch.float32} if device.type == "mps" else {}


def dopri5(field: VectorField, z0: torch.Tensor, *, steps: int = 16, rtol: float = 1e-5, atol: float = 1e-5,
           callback: Callback | None = None, cancelled: CancelCheck | None = None) -> SampleResult:
    """Adaptive Dormand-Prince 5(4) through torchdiffeq over t = [0, 1 - 1e-5]."""
    from torchdiffeq import odeint

    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < tol < 1):
            raise BadValue(f"{name} must be a number in (0, 1), got {tol!r}")
    f = _Counted(field, callback, cancelled)
    t_span = torch.tensor([0.0, T_END_ODE], device=z0.device)
    zs = odeint(f, z0, t_span, rtol=rtol, atol=atol, method="dopri5", options=ode_options(z0.device))
    return SampleResult(zs[-1], f.nfe, f.times)


SAMPLERS: dict[str, Callable[..., SampleResult]] = {"euler": euler, "midpoint": midpoint, "dopri5": dopri5}


def get_sampler(name: str) -> Callable[..., SampleResult]:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise BadValue(f"unknown solver {name!r}; choose one of {', '.join(SAMPLERS)}") from None
