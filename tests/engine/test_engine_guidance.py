"""Guidance: one batched forward, batch independence in the default mode, per-item null drums."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import GenerationInput, SamplingParams
from engine.guidance import MIN_WEIGHT, cfg_terms
from engine_testlib import max_abs


def _drum_loop(seconds: float = 1.5, sr: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-20 * (t % 0.5))
    rng = np.random.default_rng(3)
    hat = rng.standard_normal(t.shape) * np.exp(-60 * (t % 0.25)) * 0.2
    return np.stack([kick + hat, kick - hat]).astype(np.float32)  # stereo, 44.1 kHz


def _items() -> list[GenerationInput]:
    return [
        GenerationInput(prompt="funk", chords=(("C", 0.0), ("G", 4.0)), drums=_drum_loop(), drums_sample_rate=44100),
        GenerationInput(prompt="a long cinematic orchestral piece with strings, horns and timpani rolls"),
        GenerationInput(prompt="", chords=(("Am", 0.0),)),
    ]


@pytest.mark.parametrize(("cfg_all", "cfg_txt"), [(5.0, 0.0), (5.0, 2.0), (1.0, 0.0)])
def test_item_alone_equals_item_in_batch(tiny_fixture, cfg_all: float, cfg_txt: float) -> None:
    pipe = tiny_fixture
    items = _items()
    params = SamplingParams(solver="euler", steps=2, cfg_all=cfg_all, cfg_txt=cfg_txt)
    z0 = pipe.noise(11, len(items))
    t = torch.tensor([0.0])
    with torch.inference_mode():
        cond, terms = pipe.conditions(items, params)
        z1 = z0 + pipe.field(cond, terms)(t, z0)
        for i, item in enumerate(items):
            cond_i, terms_i = pipe.conditions([item], params)
            alone = z0[i : i + 1] + pipe.field(cond_i, terms_i)(t, z0[i : i + 1])
            assert max_abs(z1[i], alone[0]) < 1e-5, i


def test_generate_alone_equals_in_batch(tiny_fixture) -> None:
    pipe = tiny_fixture
    items = _items()[:2]
    params = SamplingParams(solver="euler", steps=2)
    z0 = pipe.noise(11, len(items))
    batch = pipe.generate(items, params, z0=z0)
    alone = pipe.generate(items[1:], params, z0=z0[1:])
    assert max_abs(batch.latents[1], alone.latents[0]) < 1e-5
    assert max_abs(batch.audio[1], alone.audio[0]) < 1e-4


def test_audiocraft_mode_is_batch_dependent(tiny_fixture) -> None:
    pipe = tiny_fixture
    items = _items()
    params = SamplingParams(solver="euler", steps=1, guidance="audiocraft")
    z0 = pipe.noise(11, len(items))
    batch = pipe.generate(items, params, z0=z0)
    alone = pipe.generate(items[1:2], params, z0=z0[1:2])
    assert max_abs(batch.latents[1], alone.latents[0]) > 1e-3  # padding and null-drum leaks


def test_null_drums_per_item(tiny_fixture) -> None:
    pipe = tiny_fixture
    items = _items()
    cond, terms = pipe.conditions(items, SamplingParams(cfg_all=5.0, cfg_txt=0.0))
    assert [t.name for t in terms] == ["all", "null"]
    drums = cond.temporal["self_wav"]  # [2 * 3, T, 2]
    bias = pipe.model.conditioners["self_wav"].output_proj.bias
    # items without drums: every row is the bare bias (zeros through output_proj)
    for row in (1, 2, 4, 5):
        assert torch.allclose(drums[row], bias.expand_as(drums[row]))
    # the item with drums: its null row is encoded silence, not the bias, and not its drums
    assert not torch.allclose(drums[3], bias.expand_as(drums[3]))
    assert not torch.allclose(drums[3], drums[0])
    # chords: null rows use the null chord; the text term keeps no chords either
    emb = pipe.model.conditioners["chords"].emb.weight
    assert torch.equal(cond.temporal["chords"][3], emb[[194] * 500])
    # text: empty prompt -> zero embeddings with a zero mask, but a key mask that keeps one key
    assert cond.text_mask[2].sum() == 0 and cond.text[2].abs().sum() == 0
    assert cond.key_mask is not None and cond.key_mask[2, 0] and not cond.key_mask[2, 1:].any()


def test_terms_and_weights() -> None:
    assert [(t.name, t.weight) for t in cfg_terms(5.0, 2.0)] == [("all", 5.0), ("text", 2.0), ("null", -6.0)]
    assert [t.name for t in cfg_terms(1.0, 0.0)] == ["all"]
    assert [t.name for t in cfg_terms(0.0, 1.0)] == ["text"]
    assert [t.name for t in cfg_terms(1.0, 0.0, "audiocraft")] == ["all", "null"]
    assert all(abs(t.weight) >= MIN_WEIGHT for t in cfg_terms(0.5, 0.5))


def test_single_forward_per_evaluation(tiny_fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = tiny_fixture
    calls: list[int] = []
    original = pipe.model.forward

    def counting(z, t, cond):
        calls.append(z.shape[0])
        return original(z, t, cond)

    monkeypatch.setattr(pipe.model, "forward", counting)
    pipe.generate(_items()[:2], SamplingParams(solver="euler", steps=3, cfg_all=5.0, cfg_txt=2.0))
    assert calls == [6, 6, 6]  # 3 terms x 2 items, one batched forward per evaluation


def test_guided_combination(tiny_fixture) -> None:
    pipe = tiny_fixture
    cond, terms = pipe.conditions([GenerationInput(prompt="x")], SamplingParams(cfg_all=3.0, cfg_txt=1.5))
    field = pipe.field(cond, terms)
    z = pipe.noise(0, 1)
    with torch.inference_mode():
        per = field.per_term(torch.tensor([0.5]), z)
        v = field(torch.tensor([0.5]), z)
    expected = 3.0 * per[0] + 1.5 * per[1] + (1 - 4.5) * per[2]
    assert torch.allclose(v[0], expected, atol=1e-5)
