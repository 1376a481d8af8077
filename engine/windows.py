"""Windowed sampling: a vector field over a clip timeline of any length, from a model with a fixed window.

A clip of ``L`` latent frames is covered by windows of the model's ``W`` frames, starting
every ``hop`` frames (``H``; whole beats by default, so windows start on beats). On a *line*
(a one-shot clip longer than the window) the windows start at ``0, H, 2H, ...`` and the last
one ends exactly at ``L``. On a *loop* the ``ceil(L / H)`` windows at ``0, H, 2H, ...`` wrap
around the end of the timeline (frame indices modulo ``L``), so every frame, the last ones
included, is generated in the context of the frames that follow it in the loop; this holds
for loops shorter than one window too (a 400-frame loop fills a 500-frame window that wraps).
Rolling a loop by ``H`` frames maps the windows onto themselves when ``H`` divides ``L``.

Loop layouts (``Timeline.layout``; only loops that fit in one window have a choice):

- ``cycle``: the windows above (a loop longer than the hop needs two windows per evaluation).
- ``rolled``: ONE window of ``W`` frames wrapping around the loop (``W - L`` frames covered twice),
  shifted by a fresh offset at every evaluation (the evaluation count times ``L / golden ratio``,
  modulo ``L``), so that neither the window's edges nor its doubled frames sit at the same place
  twice: no seam is privileged. Half the work of ``cycle`` for a loop between the hop and the
  window. ``engine.timeline.loop_layout`` chooses between them (measured: bench/longform.py ``--layouts``).
- ``fitted``: one window of exactly ``L`` frames (the model runs at the loop's own length, as audiocraft's
  generate does for a ``duration`` shorter than the window), rolled like ``rolled``: every frame once, no
  doubled frames, ``L / W`` of the work of ``rolled``. The model never saw sequences shorter than its
  window in training, so this is an explicit choice (the ``sketch`` preset's), not the ``auto`` rule.

At every evaluation :class:`WindowedField` runs all windows, times all CFG terms, in one
batched forward (chunked when asked, or when CUDA runs out of memory), each window with its
own slice of the conditions, and averages the windows' guided velocities per frame with a
Hann taper (on a line the outer halves of the first and last windows weigh 1, since no
other window covers those frames). The averaged field is an ordinary function of the
latent state, so every ODE solver integrates it unchanged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import torch

from core.errors import BadValue

from .guidance import CfgTerm, GuidedField
from .jasco import ConditionTensors, JascoModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeline:
    """Where the windows of one clip lie (all frame counts in latent frames)."""

    frames: int  # L: the clip
    window: int  # W: the model's window
    hop: int  # the largest distance between window starts that was asked for
    loop: bool
    offsets: tuple[int, ...]  # start frame of every window (on a loop, indices wrap modulo L)
    layout: str = "cycle"  # a loop's windows: "cycle" | "rolled" | "fitted" (see the module docstring)

    @property
    def windows(self) -> int:
        return len(self.offsets)

    def index(self, roll: int = 0) -> torch.Tensor:
        """[n, W] int64: the timeline frame of every window position (``roll``: shifted by that many frames)."""
        pos = torch.tensor(self.offsets, dtype=torch.long)[:, None] + torch.arange(self.window)[None, :] + roll
        return pos % self.frames if self.loop else pos

    def roll(self, evaluation: int) -> int:
        """The shift of a rolling layout (rolled, fitted) at evaluation ``evaluation`` (0 for the cycle)."""
        if self.layout not in ROLLING:
            return 0
        return int(round(evaluation * self.frames * ROLL_STRIDE)) % self.frames

    def weights(self) -> torch.Tensor:
        """[n, W] float32 taper: Hann (never 0), the outer halves of a line's end windows flat."""
        j = torch.arange(self.window, dtype=torch.float64)
        hann = 0.5 - 0.5 * torch.cos(2 * math.pi * (j + 0.5) / self.window)
        w = hann[None, :].repeat(self.windows, 1)
        if not self.loop:
            half = self.window // 2
            w[0, :half] = 1.0
            w[-1, half:] = 1.0
        return w.float()

    def describe(self) -> dict[str, object]:
        return {"frames": self.frames, "window": self.window, "hop": self.hop, "loop": self.loop,
                "windows": self.windows, "offsets": list(self.offsets), "layout": self.layout}


LAYOUTS = ("cycle", "rolled", "fitted")
ROLLING = ("rolled", "fitted")  # the layouts shifted at every evaluation
ROLL_STRIDE = (math.sqrt(5.0) - 1.0) / 2.0  # 1 / golden ratio: successive rolls spread evenly over the loop


def plan(frames: int, window: int, hop: int, loop: bool, layout: str = "cycle") -> Timeline:
    """The windows of a clip of ``frames`` frames (see the module docstring)."""
    if layout not in LAYOUTS:
        raise BadValue(f"loop layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout in ROLLING:
        if not loop or isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= window:
            raise BadValue(f"the {layout} layout is for loops that fit in one window of {window} frames")
        size = window if layout == "rolled" else frames
        return Timeline(frames=frames, window=size, hop=hop, loop=True, offsets=(0,), layout=layout)
    for name, value in (("frames", frames), ("window", window), ("hop", hop)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadValue(f"{name} must be a positive whole number of frames, got {value!r}")
    if hop > window:
        raise BadValue(f"a hop of {hop} frames is longer than the model's window of {window} frames: "
                       "parts of the clip would be generated without context")
    if loop:
        offsets = tuple(range(0, frames, hop))
    elif frames <= window:
        offsets = (0,)
    else:
        offsets = tuple(range(0, frames - window, hop)) + (frames - window,)
    return Timeline(frames=frames, window=window, hop=hop, loop=bool(loop), offsets=offsets)


def _repeat_rows(x: torch.Tensor, n: int) -> torch.Tensor:
    return x.repeat_interleave(n, dim=0)


def window_conditions(cond: ConditionTensors, index: torch.Tensor) -> ConditionTensors:
    """Conditions of N rows over the timeline -> N * n rows (row-major: row, then window) of W frames."""
    n, w = index.shape
    idx = index.to(next(iter(cond.temporal.values())).device) if cond.temporal else index
    temporal = {}
    for name, x in cond.temporal.items():  # [N, L, C] -> [N, n, W, C] -> [N * n, W, C]
        temporal[name] = x[:, idx.reshape(-1)].reshape(x.shape[0] * n, w, x.shape[2])
    key_mask = None if cond.key_mask is None else _repeat_rows(cond.key_mask, n)
    return ConditionTensors(text=_repeat_rows(cond.text, n), text_mask=_repeat_rows(cond.text_mask, n),
                            temporal=temporal, key_mask=key_mask)


def _slice_rows(cond: ConditionTensors, rows: torch.Tensor) -> ConditionTensors:
    return ConditionTensors(
        text=cond.text[rows], text_mask=cond.text_mask[rows],
        temporal={k: v[rows] for k, v in cond.temporal.items()},
        key_mask=None if cond.key_mask is None else cond.key_mask[rows],
    )


class WindowedField:
    """v(t, z) for z [B, L, D]: every window's guided field, tapered and averaged per frame.

    ``cond`` holds the timeline's conditions for ``len(terms) * B`` rows (term-major, as
    ``build_conditions`` makes them with ``num_frames=L``). ``chunk`` = windows per forward
    (None: all of them; halved automatically when CUDA runs out of memory).
    """

    def __init__(self, model: JascoModel, cond: ConditionTensors, terms: Sequence[CfgTerm], timeline: Timeline,
                 autocast_dtype: torch.dtype | None = None, chunk: int | None = None) -> None:
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            raise BadValue(f"chunk must be a positive number of windows, got {chunk!r}")
        self.model = model
        self.terms = list(terms)
        self.timeline = timeline
        self.autocast_dtype = autocast_dtype
        self.chunk = chunk or timeline.windows
        self.rows = cond.text.shape[0]  # terms * B
        self.weights = timeline.weights().to(model.emb.weight.device)  # [n, W]
        self.evaluations = 0  # window forwards (rows of W frames per CFG term)
        self.calls = 0  # evaluations of the whole field (the rolled layout shifts at each one)
        self.rolls: list[int] = []  # the shift of every evaluation (rolled layout)
        self._timeline_cond = cond
        self._roll: int | None = None
        self._place(0)

    def _place(self, roll: int) -> None:
        """Lay the windows on the timeline shifted by ``roll`` frames: index, conditions, per-frame norm."""
        if roll == self._roll:
            return
        device = self.model.emb.weight.device
        self.index = self.timeline.index(roll).to(device)  # [n, W]
        self.cond = window_conditions(self._timeline_cond, self.index)  # [terms * B * n, W, C]
        norm = torch.zeros(self.timeline.frames, device=device).index_add_(
            0, self.index.reshape(-1), self.weights.reshape(-1))
        if bool((norm <= 0).any()):  # a planning error, never the user's
            raise RuntimeError("windows leave frames of the timeline uncovered")
        self.norm = norm  # [L]
        self._fields: dict[tuple[int, int], GuidedField] = {}  # per chunk of windows, built once per placement
        self._roll = roll

    def _window_field(self, t: torch.Tensor, z: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """Guided field of windows first..last-1 of every item: [B, last-first, W, D]."""
        b = z.shape[0]
        n = self.timeline.windows
        zw = z[:, self.index[first:last].reshape(-1)].reshape(b * (last - first), self.timeline.window, z.shape[2])
        field = self._fields.get((first, last))
        if field is None:
            rows = torch.arange(self.rows, device=z.device)[:, None] * n + torch.arange(first, last, device=z.device)
            cond = self.cond if (first, last) == (0, n) else _slice_rows(self.cond, rows.reshape(-1))
            field = GuidedField(self.model, cond, self.terms, self.autocast_dtype)
            self._fields[(first, last)] = field
        v = field(t, zw)  # [B * k, W, D]
        self.evaluations += b * (last - first)
        return v.reshape(b, last - first, self.timeline.window, z.shape[2])

    def _all_windows(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        n = self.timeline.windows
        while True:
            try:
                parts = [self._window_field(t, z, s, min(s + self.chunk, n)) for s in range(0, n, self.chunk)]
                return torch.cat(parts, dim=1)  # [B, n, W, D]
            except torch.cuda.OutOfMemoryError:
                if self.chunk == 1:
                    raise
                self.chunk = max(1, self.chunk // 2)
                self._fields.clear()
                logger.warning("out of GPU memory: %d windows per forward from now on", self.chunk)
                torch.cuda.empty_cache()

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, length, d = z.shape
        if length != self.timeline.frames:
            raise BadValue(f"latents have {length} frames, the timeline {self.timeline.frames}")
        if self.timeline.layout in ROLLING:
            roll = self.timeline.roll(self.calls)
            self._place(roll)
            self.rolls.append(roll)
        self.calls += 1
        v = self._all_windows(t, z) * self.weights[None, :, :, None].to(z.dtype)  # [B, n, W, D]
        out = torch.zeros(b, length, d, device=z.device, dtype=v.dtype)
        out.index_add_(1, self.index.reshape(-1), v.reshape(b, -1, d))
        return out / self.norm[None, :, None].to(out.dtype)
