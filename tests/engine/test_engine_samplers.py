"""Samplers: pure functions on analytic fields, NFE counts, callbacks and cancellation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.errors import BadValue, Cancelled
from engine import GenerationInput, SamplingParams
from engine.samplers import SAMPLERS, T_END_ODE, dopri5, euler, get_sampler, midpoint


def linear_field(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -z  # z(t) = z0 * exp(-t)


def time_field(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(z) * 2 * t.reshape(-1)[0]  # z(1) = z0 + 1


def test_euler_matches_closed_form() -> None:
    z0 = torch.ones(1, 3, 2)
    res = euler(linear_field, z0, steps=4)
    assert res.nfe == 4 and res.times == [0.0, 0.25, 0.5, 0.75]
    assert torch.allclose(res.latents, z0 * 0.75**4)


def test_midpoint_is_second_order() -> None:
    z0 = torch.zeros(1, 2, 2)
    res = midpoint(time_field, z0, steps=3)
    assert res.nfe == 6
    assert torch.allclose(res.latents, z0 + 1.0, atol=1e-6)  # exact for a linear-in-t field
    err_e = abs(float(euler(linear_field, torch.ones(1, 1, 1), steps=8).latents) - math.exp(-1))
    err_m = abs(float(midpoint(linear_field, torch.ones(1, 1, 1), steps=8).latents) - math.exp(-1))
    assert err_m < err_e / 10


def test_dopri5_accuracy_and_span() -> None:
    z0 = torch.ones(1, 2, 2)
    res = dopri5(linear_field, z0, rtol=1e-7, atol=1e-7)
    assert torch.allclose(res.latents, z0 * math.exp(-T_END_ODE), atol=1e-6)
    assert res.times[0] == 0.0 and res.nfe == len(res.times) > 6


def test_one_signature_and_callbacks() -> None:
    for name, fn in SAMPLERS.items():
        seen: list[tuple[int, float]] = []
        res = fn(linear_field, torch.ones(1, 2, 2), steps=3, rtol=1e-4, atol=1e-4,
                 callback=lambda n, t: seen.append((n, t)), cancelled=lambda: False)
        assert [n for n, _ in seen] == list(range(1, res.nfe + 1)), name
        assert [t for _, t in seen] == res.times, name


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_cancellation_raises(name: str) -> None:
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled, match="after 2 function evaluations"):
        get_sampler(name)(linear_field, torch.ones(1, 2, 2), steps=10, cancelled=cancelled)


def test_bad_sampler_arguments() -> None:
    with pytest.raises(BadValue, match="unknown solver"):
        get_sampler("rk45")
    with pytest.raises(BadValue, match="steps"):
        euler(linear_field, torch.ones(1, 1, 1), steps=0)
    with pytest.raises(BadValue, match="rtol"):
        dopri5(linear_field, torch.ones(1, 1, 1), rtol=0.0)


def test_pipeline_progress_and_cancel(tiny_fixture) -> None:
    pipe = tiny_fixture
    seen: list[tuple[int, float]] = []
    out = pipe.generate([GenerationInput(prompt="drums")], SamplingParams(solver="midpoint", steps=2),
                        progress=lambda n, t: seen.append((n, t)))
    assert out.nfe == 4 and [n for n, _ in seen] == [1, 2, 3, 4]
    assert out.audio.shape == (1, 1, 320000) and out.latents.shape == (1, 500, 16)
    assert np.isfinite(out.audio).all()
    with pytest.raises(Cancelled):
        pipe.generate([GenerationInput(prompt="x")], SamplingParams(solver="euler", steps=4),
                      progress=lambda n, t: None, cancelled=lambda: True)


def test_seed_reproducible_and_distinct(tiny_fixture) -> None:
    pipe = tiny_fixture
    p = SamplingParams(solver="euler", steps=1, seed=7)
    a = pipe.generate([GenerationInput(prompt="a")], p)
    b = pipe.generate([GenerationInput(prompt="a")], p)
    c = pipe.generate([GenerationInput(prompt="a")], SamplingParams(solver="euler", steps=1, seed=8))
    assert np.array_equal(a.audio, b.audio) and not np.array_equal(a.latents, c.latents)
    torch.manual_seed(7)
    assert torch.equal(pipe.noise(7, 2), torch.randn(2, 500, 16))


@pytest.mark.parametrize(
    "kwargs",
    [{"solver": "rk45"}, {"steps": 0}, {"rtol": 0}, {"atol": 2.0}, {"cfg_all": float("nan")},
     {"seed": -1}, {"seed": 1.5}, {"guidance": "weird"}, {"steps": True}],
)
def test_sampling_params_validation(kwargs: dict) -> None:
    with pytest.raises(BadValue):
        SamplingParams(**kwargs)


def test_bfloat16_autocast_on_cpu(tiny_fixture) -> None:
    """The reduced-precision path (bf16 autocast, as on CUDA by default) runs and stays near float32."""
    from engine import JascoPipeline

    pipe32 = tiny_fixture
    pipe16 = JascoPipeline(pipe32.model, pipe32.vocab, device=torch.device("cpu"), dtype=torch.bfloat16)
    params = SamplingParams(solver="euler", steps=2, seed=3)
    items = [GenerationInput(prompt="lofi", chords=(("C", 0.0), ("G", 5.0)))]
    a, b = pipe32.generate(items, params), pipe16.generate(items, params)
    assert b.latents.dtype == np.float32 and b.audio.dtype == np.float32
    assert np.isfinite(b.latents).all()
    rel = np.abs(a.latents - b.latents).max() / np.abs(a.latents).max()
    assert 0 < rel < 0.03  # bf16 matmuls only: positions and the residual stream stay float32


@pytest.mark.parametrize(("device", "dtype"), [("cpu", "float16"), ("cpu", "int4"), ("tpu", None)])
def test_bad_device_or_dtype(fixture_dir, device, dtype) -> None:
    from engine import JascoPipeline

    with pytest.raises(BadValue):
        JascoPipeline.from_pretrained(fixture_dir, device=device, dtype=dtype, local_files_only=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error(fixture_dir) -> None:
    from engine import JascoPipeline

    with pytest.raises(BadValue, match="no CUDA GPU"):
        JascoPipeline.from_pretrained(fixture_dir, device="cuda", local_files_only=True)
