"""``--device mps`` (Apple silicon), as far as it can be checked without a Mac: the CPU fallback
with a message on a torch without MPS (this one), dtype choices, and torchdiffeq's float64 time
arithmetic made float32 on MPS (PyTorch's MPS notes: no float64 on the device,
https://docs.pytorch.org/docs/stable/notes/mps.html), with the solver run here on the CPU."""

from __future__ import annotations

import logging

import pytest
import torch

from engine import pipeline, samplers


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_falls_back_to_cpu_with_a_message(caplog: pytest.LogCaptureFixture) -> None:
    assert pipeline.mps_problem() is not None
    with caplog.at_level(logging.WARNING, logger="engine.pipeline"):
        assert pipeline._resolve_device("mps") == torch.device("cpu")
    assert "--device mps" in caplog.text and "running on the CPU instead" in caplog.text
    assert pipeline._resolve_device("auto").type in ("cpu", "cuda")


def test_mps_dtypes(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    mps = torch.device("mps")  # a device object can be named without the hardware
    assert pipeline._resolve_dtype(mps, None) == torch.float32
    assert pipeline._resolve_dtype(mps, "float16") == torch.float16
    monkeypatch.setattr(pipeline, "mps_bf16_supported", lambda: False)
    with caplog.at_level(logging.WARNING, logger="engine.pipeline"):
        assert pipeline._resolve_dtype(mps, "bfloat16") == torch.float32
    assert "macOS 14" in caplog.text
    monkeypatch.setattr(pipeline, "mps_bf16_supported", lambda: True)
    assert pipeline._resolve_dtype(mps, "bfloat16") == torch.bfloat16
    with pytest.raises(Exception, match="dtype must be one of"):
        pipeline._resolve_dtype(mps, "float64")


def test_ode_time_dtype_is_float32_only_on_mps() -> None:
    assert samplers.ode_options(torch.device("mps")) == {"dtype": torch.float32}
    assert samplers.ode_options(torch.device("cpu")) == {}  # torchdiffeq's float64 default, as audiocraft


def test_dopri5_with_float32_time_agrees_with_the_default() -> None:
    """What the MPS setting changes, measured on the CPU: same solution within the solver tolerance."""
    from torchdiffeq import odeint

    torch.manual_seed(0)
    a = torch.randn(8, 8) * 0.3

    def field(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ a) * (1 + t)

    z0 = torch.randn(2, 16, 8)
    span = torch.tensor([0.0, samplers.T_END_ODE])
    ref = odeint(field, z0, span, rtol=1e-5, atol=1e-5, method="dopri5")[-1]
    f32 = odeint(field, z0, span, rtol=1e-5, atol=1e-5, method="dopri5", options={"dtype": torch.float32})[-1]
    assert f32.dtype == torch.float32
    assert torch.allclose(ref, f32, rtol=1e-4, atol=1e-4), (ref - f32).abs().max()
