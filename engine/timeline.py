"""Clips of any length: conditions laid out on the clip's timeline, windowed sampling, loop decoding.

``JascoPipeline.generate`` hands a batch here when its items ask for a clip (``seconds`` > 0)
that is a loop, or longer than the model's window; everything else (``seconds`` 0, or a
one-shot clip that fits the window) stays on the single-window path, bit for bit as before.

- The clip is ``L = ceil(seconds * frame_rate)`` latent frames (at most ``MAX_CLIP_SECONDS``).
- Conditions on the timeline: chords at their start times over all ``L`` frames (the bridge
  repeats a shorter progression to fill a loop), the drums repeated at their own length to
  fill the clip, the melody over ``L`` frames; the text is shared by every window.
- The noise is ``randn(B, L, D)`` from the seed (its first ``W`` frames are the single-window
  noise of the same seed).
- Sampling: :class:`engine.windows.WindowedField` with any solver. A loop that fits in one window
  has three layouts (``engine.windows``): ``cycle`` (windows every hop), ``rolled`` (one window,
  shifted at every evaluation) and ``fitted`` (one window of the loop's own length, shifted: the
  ``sketch`` preset's); :func:`loop_layout` chooses, and the timeline records which.
- Decoding: a line decodes its ``L`` frames; a loop decodes ``DECODE_CONTEXT`` frames of
  circular context on both sides and keeps the middle, so the audio is exactly one period of
  ``L`` frames whose end flows into its start.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core.errors import BadValue, Cancelled, TooLarge
from core.grid import clip_frames
from core.params import MAX_CLIP_SECONDS

from .chords import frame_chords
from .drums import prepare_waveform, separate_drums
from .guidance import ItemConditions, cfg_terms
from .melody import prepare_melody
from .samplers import get_sampler
from .windows import LAYOUTS, ROLLING, Timeline, WindowedField, plan

DECODE_CONTEXT = 100  # latent frames of circular context on each side when a loop is decoded (2 s at 50 Hz)


def _number(name: str, value: object, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < lo:
        raise BadValue(f"{name} must be a finite number >= {lo:g}, got {value!r}")
    return float(value)


def hop_frames(window: int, frame_rate: float, hop_beats: int, beat_seconds: float) -> int:
    """The hop in frames: ``hop_beats`` beats, or (0) half the window rounded to whole beats
    (half the window when the beat is unknown)."""
    if isinstance(hop_beats, bool) or not isinstance(hop_beats, int) or hop_beats < 0:
        raise BadValue(f"hop must be a whole number of beats >= 0, got {hop_beats!r}")
    beat = _number("beat_seconds", beat_seconds) * frame_rate  # frames per beat
    if hop_beats:
        if beat <= 0:
            raise BadValue("a hop in beats needs the tempo (beat_seconds)")
        hop = int(round(hop_beats * beat))
        if hop > window:
            raise BadValue(f"a hop of {hop_beats} beats is {hop / frame_rate:.2f} s, longer than the model's "
                           f"{window / frame_rate:g} s window; choose at most {int(window // beat)} beats")
        return max(1, hop)
    if beat <= 0:
        return window // 2
    beats = max(1, int(round(window / 2 / beat)))
    while beats > 1 and beats * beat > window:
        beats -= 1
    return min(window, max(1, int(round(beats * beat))))


LOOP_LAYOUTS = ("auto", *LAYOUTS)  # what a GenerationInput may ask for; "auto" = loop_layout's measured rule


ADAPTIVE_SOLVERS = ("dopri5",)  # their step control needs a field that is a function of (t, z) alone


def loop_layout(frames: int, window: int, asked: str = "auto", solver: str = "", prefer: str = "rolled") -> str:
    """The layout of a loop of ``frames`` frames: ``asked``, or for ``auto`` the measured choice (bench/longform.py
    ``--layouts``): ``prefer`` (``rolled``; a preset may ask for ``fitted``, engine.presets) for a loop that fits
    in one window with a fixed-step solver, else ``cycle``.

    Measured (fixture, midpoint 1 step, medians of 3 seeds; seam = wrap step / median step, audio at 48 kHz):
    1-2 bars (one window in both layouts) the seams are the same (0.49-1.02 cycle, 0.53-0.95 rolled); 4 bars
    at 120 bpm 1.35 cycle (2 windows) vs 1.31 rolled (1 window), at 150 bpm 1.13 vs 1.24, 5 bars at 150 bpm
    1.29 vs 1.36: within the spread of the seeds, every wrap an ordinary step, at half the window evaluations,
    so rolled is kept for every length that fits. An
    adaptive solver (dopri5) keeps ``cycle``: the rolled field changes at every evaluation, which its error
    estimate reads as error (measured: a 1-bar loop on the fixture had not finished after 4 minutes; 32
    evaluations, 20 s in cycle), so it is refused when asked for explicitly too."""
    if asked not in LOOP_LAYOUTS:
        raise BadValue(f"loop layout must be one of {', '.join(LOOP_LAYOUTS)}, got {asked!r}")
    if prefer not in ROLLING:
        raise BadValue(f"a preferred loop layout must be one of {', '.join(ROLLING)}, got {prefer!r}")
    if frames > window:
        if asked in ROLLING:
            raise BadValue(f"a loop of {frames} frames is longer than the model's window ({window}): only the "
                           "cycle layout covers it")
        return "cycle"
    if solver in ADAPTIVE_SOLVERS:
        if asked in ROLLING:
            raise BadValue(f"the {asked} loop layout needs a fixed-step solver, not {solver}")
        return "cycle"
    return prefer if asked == "auto" else asked


def timeline_for(pipe: Any, items: Sequence[Any], solver: str = "", prefer: str = "rolled") -> Timeline | None:
    """The windows of a batch, or None for the single-window path (no clip length, or a one-shot
    clip that fits the window). Every item of a batch must share the clip length, loop and hop.
    ``prefer``: what ``auto`` picks for a loop that fits one window (:func:`loop_layout`)."""
    for i in items:
        if not isinstance(i.loop, bool):
            raise BadValue(f"loop must be true or false, got {i.loop!r}")
        if isinstance(i.hop_beats, bool) or not isinstance(i.hop_beats, int) or i.hop_beats < 0:
            raise BadValue(f"hop must be a whole number of beats >= 0, got {i.hop_beats!r}")
    specs = {(_number("seconds", i.seconds), i.loop, i.hop_beats, _number("beat_seconds", i.beat_seconds),
              getattr(i, "loop_layout", "auto")) for i in items}
    if len(specs) > 1:
        raise BadValue("the clips of one batch must have the same length, loop flag, hop and loop layout")
    seconds, loop, hop_beats, beat_seconds, asked_layout = specs.pop()
    if seconds == 0:
        return None
    if seconds > MAX_CLIP_SECONDS + 1e-9:
        raise TooLarge(f"a clip of {seconds:.3f} s is longer than the limit of {MAX_CLIP_SECONDS:g} s")
    cfg = pipe.cfg
    frames = clip_frames(seconds, cfg.frame_rate)
    window = cfg.sequence_length
    if not loop and frames <= window:
        return None
    hop = hop_frames(window, cfg.frame_rate, hop_beats, beat_seconds)
    layout = loop_layout(frames, window, asked_layout, solver, prefer) if loop else "cycle"
    return plan(frames, window, hop, loop, layout)


def single_window(pipe: Any) -> Timeline:
    """The single-window path described as a timeline (for the sidecar)."""
    n = pipe.cfg.sequence_length
    return plan(n, n, n, False)


def prepare_on_timeline(pipe: Any, inp: Any, frames: int) -> ItemConditions:
    """One item's conditions over ``frames`` frames (``JascoPipeline.prepare`` for a timeline)."""
    cfg = pipe.cfg
    chords = None
    if inp.chords:
        if cfg.chords is None or pipe.vocab is None:
            raise BadValue(f"model {pipe.model_id} has no chord conditioning")
        fc = frame_chords(inp.chords, pipe.vocab, frame_rate=cfg.frame_rate, num_frames=frames, order=inp.chord_order)
        chords = tuple(fc) if fc is not None else None
    drums = None
    if inp.drums is not None:
        if cfg.drums is None:
            raise BadValue(f"model {pipe.model_id} has no drums conditioning")
        n = int(round(frames * cfg.sample_rate / cfg.frame_rate))
        # on a timeline the drums always repeat at their own length (a loop is a loop)
        drums = prepare_waveform(inp.drums, inp.drums_sample_rate, target_rate=cfg.sample_rate, num_samples=n,
                                 fill="repeat")
        if inp.separate_drums:
            drums = separate_drums(drums, cfg.sample_rate)
    melody = None
    if inp.melody is not None and cfg.melody is not None:
        melody = prepare_melody(inp.melody, bins=cfg.melody.card, num_frames=frames)
    return ItemConditions(prompt=inp.prompt, chords=chords, drums=drums, melody=melody)


def decode_loop(pipe: Any, latents: torch.Tensor, context: int = DECODE_CONTEXT) -> torch.Tensor:
    """Latents [B, L, D] of one loop period -> audio [B, 1, L * hop] of exactly that period, decoded with
    ``context`` frames of circular context on each side (so the wrap point has no edge)."""
    length = latents.shape[1]
    idx = torch.arange(-context, length + context, device=latents.device) % length
    return pipe.decode(latents[:, idx], keep=(context, context + length))


def initial_noise(shape: tuple[int, int, int], seed: int, z0: torch.Tensor | np.ndarray | None = None
                  ) -> torch.Tensor:
    """The ODE's start ``z0``: ``randn(shape)`` from ``seed`` (audiocraft's draw), or the one given,
    which must have ``shape`` [B, frames, D]."""
    if z0 is None:
        return torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    if not isinstance(z0, torch.Tensor):
        z0 = torch.as_tensor(np.asarray(z0, dtype=np.float32))
    if tuple(z0.shape) != shape:
        raise BadValue(f"z0 must have shape {list(shape)}, got {list(z0.shape)}")
    return z0


def generate_on_timeline(pipe: Any, items: Sequence[Any], params: Any, timeline: Timeline, *,
                         progress: Callable[[int, float], None] | None = None,
                         cancelled: Callable[[], bool] | None = None,
                         z0: torch.Tensor | np.ndarray | None = None, chunk: int | None = None) -> dict[str, Any]:
    """Render a batch on ``timeline``; returns the fields of the pipeline's ``GenerationOutput``."""
    cfg = pipe.cfg
    shape = (len(items), timeline.frames, cfg.latent_dim)
    z0 = initial_noise(shape, params.seed, z0)
    conds = [prepare_on_timeline(pipe, inp, timeline.frames) for inp in items]
    terms = cfg_terms(params.cfg_all, params.cfg_txt, params.guidance)
    cond = pipe.cached_conditions(conds, terms, params, num_frames=timeline.frames)
    autocast = None if pipe.dtype == torch.float32 else pipe.dtype
    sampler = get_sampler(params.solver)
    with torch.inference_mode():
        field = WindowedField(pipe.model, cond, terms, timeline, autocast, chunk)
        result = sampler(field, z0.to(pipe.model.emb.weight.device, torch.float32), steps=params.steps,
                         rtol=params.rtol, atol=params.atol, callback=progress, cancelled=cancelled)
        if cancelled is not None and cancelled():
            raise Cancelled(f"generation cancelled after {result.nfe} function evaluations")
        latents = result.latents.float()
        audio = decode_loop(pipe, latents) if timeline.loop else pipe.decode(latents)
    info = {**timeline.describe(), "window_evaluations": field.evaluations}
    if timeline.layout in ROLLING:
        info["rolls"] = list(field.rolls)  # the shift of every evaluation
    return {
        "audio": np.ascontiguousarray(audio.cpu().numpy(), dtype=np.float32),
        "latents": np.ascontiguousarray(latents.cpu().numpy(), dtype=np.float32),
        "nfe": result.nfe, "sample_rate": pipe.sample_rate, "eval_times": tuple(result.times), "timeline": info,
    }
