"""Continuation (engine.continuation): the jam's next phrase rendered after the end of the previous one.

On the conformance model (random weights) what is tested is structure and the join: the held frames
end exactly as the context, lengths are exact, the free frames depend on the context, and the join
between the previous phrase's audio and the continuation is an ordinary step by bench/longform.py's
seam metric, smaller than the join to the same phrase rendered cold (no context).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import BadValue
from engine import GenerationInput, SamplingParams
from engine.continuation import HeldField

FAST = SamplingParams(seed=5, solver="euler", steps=4)
BPM = 120.0
PHRASE_S = 4.0  # 2 bars at 120 bpm
CONTEXT = 50  # one bar of latent frames at 50 Hz


def join_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """bench/longform.py's seam metric at the join: the step across it / the median step around it."""
    x = np.concatenate([np.asarray(before, np.float64).reshape(-1)[-4096:],
                        np.asarray(after, np.float64).reshape(-1)[:4096]])
    step = abs(x[4095] - x[4096])
    return float(step / max(np.median(np.abs(np.diff(x))), 1e-12))


def latent_join_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """The same metric on the latent frames: the step across the join / the median step between frames."""
    x = np.concatenate([before, after], axis=0).astype(np.float64)
    steps = np.linalg.norm(np.diff(x, axis=0), axis=1)
    return float(steps[len(before) - 1] / max(np.median(steps), 1e-12))


def test_held_field_follows_the_straight_path() -> None:
    z0 = torch.randn(1, 6, 3)
    held = torch.randn(1, 2, 3)
    field = HeldField(lambda t, z: torch.zeros_like(z), z0, held)
    z = z0.clone()
    for _ in range(4):  # four Euler steps of 1/4
        z = z + 0.25 * field(torch.zeros(1), z)
    assert torch.allclose(z[:, :2], held, atol=1e-6)
    assert torch.equal(z[:, 2:], z0[:, 2:])


def test_continuation_holds_context_and_joins_smoothly(tiny_fixture) -> None:
    pipe = tiny_fixture
    rate, per_frame = pipe.frame_rate, pipe.sample_rate // int(pipe.frame_rate)
    first = pipe.generate([GenerationInput(prompt="jam", chords=(("C", 0.0), ("G", 2.0)), seconds=PHRASE_S,
                                           beat_seconds=60 / BPM)], FAST)
    n = int(PHRASE_S * rate)
    prev_audio = first.audio[0, 0, :n * per_frame]
    context = first.latents[0, n - CONTEXT:n]
    chords = (("G", 0.0), ("Am", CONTEXT / rate), ("F", CONTEXT / rate + 2.0))
    ratios_warm, ratios_cold, latent_warm, latent_cold = [], [], [], []
    for seed in (1, 2, 3):
        params = SamplingParams(seed=seed, solver="euler", steps=4)
        warm = pipe.generate([GenerationInput(prompt="jam", chords=chords, seconds=PHRASE_S, beat_seconds=60 / BPM,
                                              context=context)], params)
        assert warm.latents.shape == (1, n, pipe.cfg.latent_dim)
        assert warm.audio.shape[-1] == n * per_frame
        assert warm.timeline["context_frames"] == CONTEXT
        cold = pipe.generate([GenerationInput(prompt="jam", chords=chords[1:], seconds=PHRASE_S,
                                              beat_seconds=60 / BPM)], params)
        ratios_warm.append(join_ratio(prev_audio, warm.audio[0, 0]))
        ratios_cold.append(join_ratio(prev_audio, cold.audio[0, 0]))
        latent_warm.append(latent_join_ratio(first.latents[0, :n], warm.latents[0]))
        latent_cold.append(latent_join_ratio(first.latents[0, :n], cold.latents[0]))
    print("join ratio audio warm", ratios_warm, "cold", ratios_cold, "latent warm", latent_warm, "cold", latent_cold)
    assert max(ratios_warm) < 4.0  # the audio join is an ordinary step, not a click
    assert float(np.mean(latent_warm)) < float(np.mean(latent_cold))


def test_continuation_refuses_bad_context(tiny_fixture) -> None:
    pipe = tiny_fixture
    with pytest.raises(BadValue):
        pipe.generate([GenerationInput(seconds=2.0, context=np.zeros((3, 1), np.float32))], FAST)
    with pytest.raises(BadValue):
        pipe.generate([GenerationInput(seconds=2.0, loop=True,
                                       context=np.zeros((4, pipe.cfg.latent_dim), np.float32))], FAST)
