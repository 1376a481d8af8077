"""A frozen ``RenderRequest`` -> what the engine process takes (``core.wire``), in one place.

Used by the render worker and by ``jasco-bridge render`` alike. Reads the drum file
(``bridge.audio.read_audio``: opened once, checked, decoded) and turns the melody
frames into the one-hot matrix (``midi.melody.one_hot``). numpy only, no torch.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from bridge.audio import read_audio
from core import wire
from core.errors import BadValue
from core.grid import SAMPLE_RATE
from core.params import SAMPLING, RenderParams
from core.requests import RenderRequest
from midi.melody import one_hot

log = logging.getLogger(__name__)
REGION_SLACK_S = 0.005  # a region may end this far after the file's last sample (rounding of the markers)

# The RenderParams fields the engine's SamplingParams takes (marked ``sampling`` in the table).
SAMPLING_FIELDS = tuple(p.name for p in SAMPLING)


def sampling(params: RenderParams) -> dict[str, Any]:
    return {name: getattr(params, name) for name in SAMPLING_FIELDS}


def drum_region(samples: np.ndarray, rate: int, region: tuple[float, float], path: str) -> np.ndarray:
    """The samples of ``region`` (seconds of the file): an Arrangement clip's start and end markers.
    A region that ends after the file does is refused (``BadValue``), never silently shortened."""
    start, end = region
    seconds = samples.shape[-1] / rate
    if end > seconds + REGION_SLACK_S:
        raise BadValue(f"the drum region {start:g}..{end:g} s ends after the file does ({seconds:.3f} s): {path}")
    first, last = int(round(start * rate)), min(samples.shape[-1], int(round(end * rate)))
    if last <= first:
        raise BadValue(f"the drum region {start:g}..{end:g} s of {path} holds no samples")
    return np.ascontiguousarray(samples[..., first:last])


def render_item(request: RenderRequest, melody: np.ndarray | None = None) -> tuple[wire.RenderItem, str | None]:
    """The engine item for ``request`` and the sha256 of the drum file it read (None without drums).
    ``melody``: a ready matrix (``render --melody x.npy``) instead of the request's melody frames."""
    p = request.params
    drums = None
    drums_rate = SAMPLE_RATE
    sha = None
    if request.drums_path:
        audio = read_audio(request.drums_path)
        drums, drums_rate, sha = audio.samples, audio.sample_rate, audio.sha256
        if request.drums_region is not None:
            drums = drum_region(drums, drums_rate, request.drums_region, request.drums_path)
        if request.drums_sha256 and request.drums_sha256 != sha:
            log.warning("drum file %s changed since it was chosen; using its current contents", request.drums_path)
    if melody is None and request.melody_frames:
        melody = one_hot(request.melody_frames)
    item = wire.RenderItem(
        prompt=request.prompt,
        chords=request.engine_chords() or None,
        chord_order=p.chord_order,
        drums=drums,
        drums_sample_rate=int(drums_rate),
        drums_fill=p.drums_fill,
        separate_drums=p.separate_drums,
        melody=melody,
        seconds=float(request.clip_seconds),
        loop=request.is_loop,
        hop_beats=int(p.hop),
        beat_seconds=float(request.seconds_per_beat),
    )
    return item, sha


def render_message(job_id: str, requests: tuple[RenderRequest, ...], *, want_latents: bool = False,
                   melody: np.ndarray | None = None) -> tuple[wire.Render, tuple[str | None, ...]]:
    """One ``Render`` for a batch of requests that share their sampling parameters (``melody``: one
    ready matrix for every item, see :func:`render_item`)."""
    items, shas = zip(*(render_item(r, melody) for r in requests))
    return wire.Render(job_id, tuple(items), sampling(requests[0].params), want_latents), tuple(shas)
