"""Clips of any length on the conformance model: windows, loops, exactness at the edges.

The tiny model is random, so what is tested is structure: the single-window path is untouched
(bit for bit), a loop is equivariant to rolling by a whole hop, every solver integrates the
windowed field, chunking does not change the result, a loop decodes to one period of the
endlessly repeated latents, and lengths are exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.errors import BadValue, TooLarge
from core.params import MAX_CLIP_SECONDS
from engine import GenerationInput, SamplingParams
from engine.guidance import build_conditions, cfg_terms
from engine.timeline import clip_frames, decode_loop, hop_frames, prepare_on_timeline, timeline_for
from engine.windows import WindowedField, plan

FAST = SamplingParams(seed=11, solver="euler", steps=3)
CHORDS = (("C", 0.0), ("Am", 2.0), ("F", 4.0), ("G", 6.0))


def _drums() -> np.ndarray:
    n = np.arange(48000)
    return (np.sin(n / 7.0) * np.exp(-(n % 12000) / 900.0)).astype(np.float32)  # 1 s loop of 4 hits at 48 kHz


def _item(**kw: object) -> GenerationInput:
    base: dict[str, object] = {"prompt": "dusty lofi keys", "chords": CHORDS, "drums": _drums(),
                               "drums_sample_rate": 48000}
    base.update(kw)
    return GenerationInput(**base)  # type: ignore[arg-type]


# --- planning --------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames,hop,loop", [(400, 250, True), (1067, 267, True), (1600, 250, True),
                                             (80, 250, True), (1067, 267, False), (501, 250, False),
                                             (9000, 250, False)])
def test_windows_cover_every_frame_and_start_on_the_hop(frames: int, hop: int, loop: bool) -> None:
    tl = plan(frames, 500, hop, loop)
    idx = tl.index()
    assert idx.shape == (tl.windows, 500)
    assert set(idx.reshape(-1).tolist()) == set(range(frames))  # every frame, nothing outside
    if loop:
        assert tl.offsets == tuple(range(0, frames, hop))
        assert int(idx.max()) < frames
    else:
        assert tl.offsets[0] == 0 and tl.offsets[-1] + 500 == frames  # the last window ends on the clip's end
        assert all(b - a <= hop for a, b in zip(tl.offsets, tl.offsets[1:]))
    w = tl.weights()
    assert bool((w > 0).all())
    if not loop:
        assert float(w[0, 0]) == 1.0 and float(w[-1, -1]) == 1.0  # only one window covers the clip's ends


def test_hop_is_half_the_window_in_whole_beats() -> None:
    assert hop_frames(500, 50.0, 0, 0.5) == 250  # 120 bpm: 10 beats
    assert hop_frames(500, 50.0, 0, 60 / 90) == 267  # 90 bpm: 7.5 beats -> 8 beats = 266.67 frames
    assert hop_frames(500, 50.0, 0, 0.4) == 240  # 150 bpm: 12.5 beats -> 12 beats (round half to even)
    assert hop_frames(500, 50.0, 0, 3.0) == 300  # 20 bpm: one beat is 150 frames; 2 beats
    assert hop_frames(500, 50.0, 0, 0.0) == 250  # no tempo: half the window
    assert hop_frames(500, 50.0, 4, 0.5) == 100
    with pytest.raises(BadValue, match="longer than the model's"):
        hop_frames(500, 50.0, 24, 0.5)


def test_which_clips_take_the_windowed_path(tiny_fixture) -> None:
    def tl(**kw: object):
        return timeline_for(tiny_fixture, [_item(**kw)])

    assert tl() is None  # no length: the model's window
    assert tl(seconds=8.0, loop=False) is None  # a one-shot clip inside the window is cut from it
    assert tl(seconds=10.0, loop=False) is None  # exactly one window: today's render
    assert tl(seconds=8.0, loop=True).frames == 400  # a loop shorter than a window wraps
    assert tl(seconds=10.02, loop=False).frames == 501
    assert tl(seconds=60 / 90 * 4 * 8, loop=True, beat_seconds=60 / 90).frames == 1067  # 21.333 s, rounded up
    with pytest.raises(TooLarge):
        tl(seconds=MAX_CLIP_SECONDS + 1, loop=True)
    with pytest.raises(BadValue, match="same length"):
        timeline_for(tiny_fixture, [_item(seconds=12.0), _item(seconds=14.0)])


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
@pytest.mark.parametrize("beats_per_bar", [3, 4])
@pytest.mark.parametrize("bars", [1, 4, 8, 16])
def test_clip_frames_are_the_bars_rounded_up(bpm: float, beats_per_bar: int, bars: int) -> None:
    seconds = bars * beats_per_bar * 60.0 / bpm
    frames = clip_frames(seconds, 50.0)
    assert frames == math.ceil(round(seconds * 50.0, 6))
    assert 0 <= frames / 50.0 - seconds < 1 / 50.0


# --- exactness at the edges -------------------------------------------------------------------------
@pytest.mark.parametrize("params", [FAST, SamplingParams(seed=5)], ids=["euler3", "defaults"])
def test_one_window_clip_equals_todays_render_bit_for_bit(tiny_fixture, params: SamplingParams) -> None:
    today = tiny_fixture.generate([_item()], params)
    clip = tiny_fixture.generate([_item(seconds=10.0, loop=False, beat_seconds=0.5)], params)
    assert np.array_equal(clip.latents, today.latents)
    assert np.array_equal(clip.audio, today.audio)
    assert clip.nfe == today.nfe and clip.timeline["windows"] == 1


def test_timeline_noise_starts_with_the_window_noise(tiny_fixture) -> None:
    """randn(B, L, D) from the seed: its first W frames are the single-window noise."""
    z = torch.randn((1, 900, 16), generator=torch.Generator().manual_seed(11))
    assert torch.equal(z[:, :500], tiny_fixture.noise(11, 1))


# --- loops ----------------------------------------------------------------------------------------------
def _rolled_chords(shift_s: float, period_s: float) -> tuple[tuple[str, float], ...]:
    """CHORDS (C from 0) moved later by ``shift_s`` on a loop of ``period_s``."""
    moved = sorted(((label, (start + shift_s) % period_s) for label, start in CHORDS), key=lambda c: c[1])
    sounding_at_end = max(CHORDS, key=lambda c: c[1] if c[1] <= period_s - shift_s else -1)[0]
    return ((sounding_at_end, 0.0),) + tuple(moved)


def test_rolling_noise_and_conditions_by_a_hop_rolls_the_loop(tiny_fixture) -> None:
    seconds, hop_s = 15.0, 5.0  # L = 750 frames, H = 250 (10 beats at 120 bpm): 3 windows
    z0 = torch.randn((1, 750, 16), generator=torch.Generator().manual_seed(2))
    a = tiny_fixture.generate([_item(drums=None, seconds=seconds, loop=True, beat_seconds=0.5)], FAST, z0=z0)
    assert a.timeline["windows"] == 3 and a.timeline["hop"] == 250
    b = tiny_fixture.generate([_item(drums=None, chords=_rolled_chords(hop_s, seconds), seconds=seconds, loop=True,
                                     beat_seconds=0.5)], FAST, z0=torch.roll(z0, 250, dims=1))
    rolled = np.roll(a.latents, 250, axis=1)
    scale = float(np.abs(a.latents).max())
    assert np.abs(b.latents - rolled).max() < 1e-4 * scale
    # and the decoded loop rolls with it (circular decoding), up to the latents' rounding through the decoder
    audio_rolled = np.roll(a.audio, 250 * 640, axis=-1)
    assert np.abs(b.audio - audio_rolled).max() < 5e-3 * float(np.abs(a.audio).max())


def test_loop_audio_is_one_period_of_the_repeated_latents(tiny_fixture) -> None:
    z = torch.randn((1, 400, 16), generator=torch.Generator().manual_seed(4))
    period = decode_loop(tiny_fixture, z)
    assert period.shape[-1] == 400 * 640
    endless = tiny_fixture.decode(z.repeat(1, 4, 1))  # the loop played four times, decoded in one go
    middle = endless[..., 2 * 400 * 640:3 * 400 * 640]
    assert float((period - middle).abs().max()) < 1e-3 * float(middle.abs().max())
    wrap = float((period[..., 0] - period[..., -1]).abs().max())  # the step from the last sample to the first
    steps = (period[..., 1:] - period[..., :-1]).abs()
    assert wrap <= float(steps.max())  # no larger than any step inside the loop


def test_loop_shorter_than_a_window_wraps_inside_it(tiny_fixture) -> None:
    out = tiny_fixture.generate([_item(seconds=8.0, loop=True, beat_seconds=0.5, loop_layout="cycle")], FAST)
    assert out.audio.shape == (1, 1, 400 * 640)
    assert out.latents.shape == (1, 400, 16)
    assert out.timeline["windows"] == 2 and out.timeline["offsets"] == [0, 250]
    assert np.isfinite(out.audio).all()


# --- solvers, chunks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["euler", "midpoint", "dopri5"])
@pytest.mark.parametrize("loop", [True, False])
def test_every_solver_runs_on_a_multi_window_clip(tiny_fixture, solver: str, loop: bool) -> None:
    params = SamplingParams(seed=3, solver=solver, steps=2, rtol=1e-3, atol=1e-3)
    seen: list[tuple[int, float]] = []
    out = tiny_fixture.generate([_item(seconds=16.0, loop=loop, beat_seconds=0.5)], params,
                                progress=lambda n, t: seen.append((n, t)))
    assert out.latents.shape == (1, 800, 16) and out.audio.shape == (1, 1, 800 * 640)
    assert out.timeline["windows"] == (4 if loop else 3)
    assert out.timeline["window_evaluations"] == out.nfe * out.timeline["windows"]
    assert len(seen) == out.nfe and np.isfinite(out.audio).all()
    if solver == "euler":
        assert out.nfe == 2
    elif solver == "midpoint":
        assert out.nfe == 4


def test_chunked_windows_give_the_same_field(tiny_fixture) -> None:
    items = [prepare_on_timeline(tiny_fixture, _item(), 900)]
    terms = cfg_terms(5.0, 0.0)
    with torch.inference_mode():
        cond = build_conditions(tiny_fixture.model, items, terms, num_frames=900)
        tl = plan(900, 500, 250, True)
        z = torch.randn((1, 900, 16), generator=torch.Generator().manual_seed(9))
        t = torch.full((1,), 0.3)
        whole = WindowedField(tiny_fixture.model, cond, terms, tl)(t, z)
        one_by_one = WindowedField(tiny_fixture.model, cond, terms, tl, chunk=1)(t, z)
    assert whole.shape == (1, 900, 16)
    assert float((whole - one_by_one).abs().max()) < 1e-5 * float(whole.abs().max())


def test_each_window_sees_its_own_slice_of_the_conditions(tiny_fixture) -> None:
    """A window's field equals the model on that window alone with the timeline's conditions cut out."""
    items = [prepare_on_timeline(tiny_fixture, _item(), 900)]
    terms = cfg_terms(5.0, 0.0)
    with torch.inference_mode():
        cond = build_conditions(tiny_fixture.model, items, terms, num_frames=900)
        tl = plan(900, 500, 250, True)
        field = WindowedField(tiny_fixture.model, cond, terms, tl)
        z = torch.randn((1, 900, 16), generator=torch.Generator().manual_seed(9))
        t = torch.full((1,), 0.3)
        per_window = field._all_windows(t, z)  # [B, n, W, D]
        idx = tl.index()[2]  # offset 500: frames 500..899 then 0..99
        own = build_conditions(tiny_fixture.model, [prepare_on_timeline(tiny_fixture, _item(), 900)], terms,
                               num_frames=900)
        from engine.guidance import GuidedField
        from engine.jasco import ConditionTensors

        sliced = ConditionTensors(text=own.text, text_mask=own.text_mask, key_mask=own.key_mask,
                                  temporal={k: v[:, idx] for k, v in own.temporal.items()})
        alone = GuidedField(tiny_fixture.model, sliced, terms)(t, z[:, idx])
    assert float((per_window[0, 2] - alone[0]).abs().max()) < 1e-5 * float(alone.abs().max())


# --- melody on the timeline (a melody checkpoint with non-zero biases, from test_fidelity) ------------------
from test_fidelity import mel_pipe  # noqa: E402,F401  (the module-scoped fixture)


def test_melody_lies_on_the_whole_timeline(mel_pipe) -> None:  # noqa: F811
    frames = 600  # a 12 s loop: past the model's 500-frame window
    melody = np.zeros((53, frames), np.float32)
    melody[29, 550:] = 1.0  # C5 in the last second only
    items = [prepare_on_timeline(mel_pipe, _item(drums=None, melody=melody), frames),
             prepare_on_timeline(mel_pipe, _item(drums=None), frames)]
    terms = cfg_terms(5.0, 0.0)
    proj = mel_pipe.model.conditioners["melody"].output_proj
    with torch.inference_mode():
        cond = build_conditions(mel_pipe.model, items, terms, num_frames=frames)
        mel = cond.temporal["melody"]  # [terms * 2, 600, C]
        assert mel.shape[:2] == (4, frames)
        assert torch.allclose(mel[0, 560], proj.weight[:, 29] + proj.bias, atol=1e-6)  # the note, past 10 s
        assert torch.allclose(mel[0, 520], proj.bias, atol=1e-6)  # a silent frame of the melody
        assert torch.allclose(mel[1, 599], proj.bias, atol=1e-6)  # no melody: a silent matrix of the clip's length
        out = mel_pipe.generate([_item(drums=None, melody=melody, seconds=12.0, loop=True, beat_seconds=0.5)], FAST)
    assert out.audio.shape == (1, 1, frames * 640) and out.timeline["windows"] == 3
