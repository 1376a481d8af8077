"""Continuation: render new music that carries on from known latents (the jam's phrase k+1 after phrase k).

An item with ``context`` (latents ``[F, D]``, e.g. the last bar of the previous phrase) is rendered
on a line of ``L = F + N`` frames (at least the model's window; a shorter line is extended and the
extra tail dropped), ``N = ceil(seconds * frame_rate)`` the new music, with the
windowed field of :mod:`engine.windows` (the model's window slides over the whole line, so every
new frame near the join is generated in the context of the held frames). During sampling the
first ``F`` frames are *held* on the straight path from their noise to the context,
``z_t = (1 - t) z0 + t x_ctx``: :class:`HeldField` replaces the field there by the path's own
velocity ``x_ctx - z0``, which every solver integrates exactly, so the held frames end as the
context and the free frames are sampled as an inpainting of the rest of the line.

The line is decoded whole (the decoder sees the context too, so the audio at the join is the
audio the previous phrase ends with) and the result is the new part only: audio of ``N`` frames
and its latents ``[B, N, D]`` (whose tail is the next phrase's context).

Chords are placed on the whole line (time 0 = the first context frame); drums and melody too.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core.errors import BadValue, Cancelled, TooLarge
from core.params import MAX_CLIP_SECONDS

from .guidance import build_conditions, cfg_terms
from .samplers import get_sampler
from .timeline import clip_frames, hop_frames, initial_noise, prepare_on_timeline
from .windows import WindowedField, plan


class HeldField:
    """``field`` on the free frames; on the first ``F`` frames the straight path's velocity to ``held``."""

    def __init__(self, field: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], z0: torch.Tensor,
                 held: torch.Tensor) -> None:
        self.field = field
        self.frames = held.shape[1]
        self.velocity = (held - z0[:, :self.frames]).to(z0.dtype)

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        v = self.field(t, z)
        return torch.cat([self.velocity.to(v.dtype), v[:, self.frames:]], dim=1)


def _contexts(items: Sequence[Any], dim: int) -> torch.Tensor:
    arrays = []
    for item in items:
        if item.context is None:
            raise BadValue("every item of a continuation batch needs context latents")
        try:
            ctx = np.asarray(item.context, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise BadValue(f"context must be float latents [F, {dim}] ({exc})") from exc
        if ctx.ndim != 2 or ctx.shape[1] != dim or ctx.shape[0] < 1 or not np.isfinite(ctx).all():
            raise BadValue(f"context must be finite latents [F, {dim}], got shape {list(ctx.shape)}")
        arrays.append(ctx)
    if len({a.shape[0] for a in arrays}) > 1:
        raise BadValue("the contexts of one batch must have the same length")
    return torch.as_tensor(np.stack(arrays))


def generate_continuation(pipe: Any, items: Sequence[Any], params: Any, *,
                          progress: Callable[[int, float], None] | None = None,
                          cancelled: Callable[[], bool] | None = None,
                          z0: torch.Tensor | np.ndarray | None = None) -> dict[str, Any]:
    """Render the new part after each item's context; the fields of the pipeline's ``GenerationOutput``."""
    cfg = pipe.cfg
    held = _contexts(items, cfg.latent_dim)
    context = held.shape[1]
    specs = {(float(i.seconds), float(i.beat_seconds), int(i.hop_beats)) for i in items}
    if len(specs) > 1:
        raise BadValue("the clips of one batch must have the same length and hop")
    seconds, beat_seconds, hop_beats = specs.pop()
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadValue(f"a continuation needs the length of its new part (seconds > 0), got {seconds!r}")
    if seconds > MAX_CLIP_SECONDS + 1e-9:
        raise TooLarge(f"a clip of {seconds:.3f} s is longer than the limit of {MAX_CLIP_SECONDS:g} s")
    if any(i.loop for i in items):
        raise BadValue("a continuation is a line, not a loop")
    window = cfg.sequence_length
    if context >= window:
        raise BadValue(f"a context of {context} frames leaves no room in the model's window of {window} frames")
    new = clip_frames(seconds, cfg.frame_rate)
    frames = max(context + new, window)  # a line shorter than the window fills it (the tail is dropped)
    timeline = plan(frames, window, min(hop_frames(window, cfg.frame_rate, hop_beats, beat_seconds), window), False)
    shape = (len(items), frames, cfg.latent_dim)
    z0 = initial_noise(shape, params.seed, z0)
    conds = [prepare_on_timeline(pipe, inp, frames) for inp in items]
    terms = cfg_terms(params.cfg_all, params.cfg_txt, params.guidance)
    with torch.inference_mode(), pipe._conditioning_autocast():
        cond = build_conditions(pipe.model, conds, terms, params.guidance, params.melody_guidance, num_frames=frames)
    autocast = None if pipe.dtype == torch.float32 else pipe.dtype
    device = pipe.model.emb.weight.device
    sampler = get_sampler(params.solver)
    with torch.inference_mode():
        z0 = z0.to(device, torch.float32)
        held = held.to(device)
        windowed = WindowedField(pipe.model, cond, terms, timeline, autocast)
        result = sampler(HeldField(windowed, z0, held), z0, steps=params.steps, rtol=params.rtol, atol=params.atol,
                         callback=progress, cancelled=cancelled)
        if cancelled is not None and cancelled():
            raise Cancelled(f"generation cancelled after {result.nfe} function evaluations")
        latents = torch.cat([held, result.latents.float()[:, context:]], dim=1)
        audio = pipe.decode(latents)
        per_frame = audio.shape[-1] // frames
        audio = audio[..., context * per_frame:(context + new) * per_frame]
        latents = latents[:, context:context + new]
    info = {**timeline.describe(), "context_frames": context, "window_evaluations": windowed.evaluations}
    return {
        "audio": np.ascontiguousarray(audio.cpu().numpy(), dtype=np.float32),
        "latents": np.ascontiguousarray(latents.cpu().numpy(), dtype=np.float32),
        "nfe": result.nfe, "sample_rate": pipe.sample_rate, "eval_times": tuple(result.times), "timeline": info,
    }
