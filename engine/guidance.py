"""Multi-source classifier-free guidance around the JASCO vector field.

Terms: ``all`` (every condition, weight cfg_all), ``text`` (text only: the
conditions listed in ``attribute_dropout.symbolic/wav`` are nulled, weight
cfg_txt) and ``null`` (everything nulled, weight 1 - cfg_all - cfg_txt). Terms
with |weight| < 1e-6 are dropped. All kept terms of all batch items run as ONE
batched forward; rows are term-major (rows 0..B-1 = first term, ...).

Modes (what an item's batch mates may change; a single clip is the same in both):
- ``"independent"`` (default): an item's result does not depend on its batch
  mates. Cross-attention gets a key padding mask from the text mask (a row with
  no text keeps its first key, which equals rendering it alone), and the nulled
  drums of an item are encoded silence only if that item has drums.
- ``"audiocraft"``: bit-for-bit audiocraft semantics for batches: no key mask
  (padding of longer prompts leaks into shorter ones), nulled drums are encoded
  silence as soon as any row of the CFG batch has drums, and audiocraft's
  term-pruning quirk (a term right after a removed one is never checked).

Melody (``melody_guidance``, per item, both modes):
- ``"with_chords"`` (default, audiocraft): the text and null terms drop the melody
  only when the item has chords. audiocraft's symbolic dropout
  (``dropout_symbolic_conditions`` in audiocraft/modules/conditioners.py) returns
  early when the chords entry is the "no chords" marker, so without chords every
  term keeps the melody.
- ``"always"``: the text and null terms always drop the melody, so it is guided
  like the chords and drums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from core.errors import BadValue
from core.params import param

from .jasco import ConditionTensors, JascoModel
from .melody import NO_MELODY_FRAMES

MIN_WEIGHT = 1e-6
MODES = param("guidance").choices  # ("independent", "audiocraft"): the parameter table's
MELODY_GUIDANCE = param("melody_guidance").choices  # ("with_chords", "always"); default: audiocraft's


@dataclass(frozen=True)
class CfgTerm:
    name: str  # "all" | "text" | "null"
    weight: float


@dataclass(frozen=True)
class ItemConditions:
    """One batch item's prepared conditions (model rate, model frame count)."""

    prompt: str = ""
    chords: tuple[int, ...] | None = None  # [T] vocabulary indices, None = no chords
    drums: np.ndarray | None = None  # mono float32 [S] at the model rate, full segment
    melody: np.ndarray | None = None  # float32 [bins, T_mel], T_mel <= T (not padded)


def cfg_terms(cfg_all: float, cfg_txt: float, mode: str = "independent") -> list[CfgTerm]:
    if mode not in MODES:
        raise BadValue(f"guidance mode must be one of {', '.join(MODES)}, got {mode!r}")
    terms = [CfgTerm("all", float(cfg_all)), CfgTerm("text", float(cfg_txt))]
    terms.append(CfgTerm("null", 1.0 - sum(t.weight for t in terms)))
    if mode == "independent":
        return [t for t in terms if abs(t.weight) >= MIN_WEIGHT]
    # audiocraft removes from the list it iterates over: the term after a removed one is skipped
    i = 0
    while i < len(terms):
        if abs(terms[i].weight) < MIN_WEIGHT:
            del terms[i]
        i += 1
    return terms


@dataclass(frozen=True)
class _Row:
    text: str | None
    chords: tuple[int, ...] | None  # None = null chord on every frame
    drums: int | str  # item index with drums, "silence" or "zeros"
    melody: np.ndarray | None  # [bins, T_mel]; None = audiocraft's "no melody" matrix


def _null_melody(melody: np.ndarray | None) -> np.ndarray | None:
    """audiocraft's ``nullify_melody``: zeros of the melody's own shape (so a short melody stays short)."""
    return None if melody is None else np.zeros_like(melody)


def _rows(items: Sequence[ItemConditions], terms: Sequence[CfgTerm], drops: Sequence[str], mode: str,
          melody_guidance: str = "with_chords") -> list[_Row]:
    any_drums = any(it.drums is not None for it in items)
    rows: list[_Row] = []
    for term in terms:
        for i, it in enumerate(items):
            if mode == "audiocraft":
                null_drums = "silence" if any_drums else "zeros"
            else:
                null_drums = "silence" if it.drums is not None else "zeros"
            # audiocraft never nulls symbolic conditions of an item without chords
            melody_droppable = melody_guidance == "always" or it.chords is not None
            dropped_melody = _null_melody(it.melody) if melody_droppable else it.melody
            own_drums: int | str = i if it.drums is not None else null_drums
            if term.name == "all":
                rows.append(_Row(it.prompt, it.chords, own_drums, it.melody))
            elif term.name == "text":
                rows.append(_Row(
                    it.prompt,
                    None if "chords" in drops else it.chords,
                    null_drums if "self_wav" in drops else own_drums,
                    dropped_melody if "melody" in drops else it.melody,
                ))
            else:
                rows.append(_Row(None, None, null_drums, dropped_melody))
    if mode == "audiocraft" and any_drums:
        rows = [_Row(r.text, r.chords, "silence" if r.drums == "zeros" else r.drums, r.melody) for r in rows]
    return rows


def build_conditions(
    model: JascoModel,
    items: Sequence[ItemConditions],
    terms: Sequence[CfgTerm],
    mode: str = "independent",
    melody_guidance: str = "with_chords",
    num_frames: int | None = None,
) -> ConditionTensors:
    """Condition tensors for ``len(terms) * len(items)`` rows (term-major).

    ``num_frames``: the length of a clip's timeline (``engine.timeline``) instead of the model's
    window; the items' conditions then have that many frames, nulled drums are that much silence
    and "no melody" is a zero matrix of that length (bias on every frame, like a silent melody)."""
    if melody_guidance not in MELODY_GUIDANCE:
        raise BadValue(f"melody_guidance must be one of {', '.join(MELODY_GUIDANCE)}, got {melody_guidance!r}")
    cfg = model.cfg
    T = cfg.sequence_length if num_frames is None else int(num_frames)
    rows = _rows(items, terms, cfg.text_term_drops, mode, melody_guidance)
    conds = model.conditioners
    device = model.emb.weight.device
    text, mask = conds["description"]([r.text for r in rows])  # [N, L, dim], [N, L]
    temporal: dict[str, torch.Tensor] = {}
    if "chords" in conds:
        null = conds["chords"].null_index
        idx = torch.tensor([list(r.chords) if r.chords is not None else [null] * T for r in rows],
                           dtype=torch.long, device=device)  # [N, T]
        temporal["chords"] = conds["chords"](idx)
    if "self_wav" in conds:
        drums = conds["self_wav"]
        wanted: list[int | str] = []
        for r in rows:
            if r.drums != "zeros" and r.drums not in wanted:
                wanted.append(r.drums)
        latents = torch.zeros(len(rows), T, drums.latent_dim, device=device)  # [N, T, D]
        if wanted:
            n_samples = (int(round(cfg.segment_duration * cfg.sample_rate)) if num_frames is None
                         else int(round(T * cfg.sample_rate / cfg.frame_rate)))
            wavs = [np.zeros(n_samples, np.float32) if w == "silence" else items[int(w)].drums for w in wanted]
            blurred = drums.blurred_cached(wavs, T)  # U x [T, D]
            for n, r in enumerate(rows):
                if r.drums != "zeros":
                    latents[n] = blurred[wanted.index(r.drums)]
        temporal["self_wav"] = drums(latents)
    if "melody" in conds:
        none = np.zeros((conds["melody"].card, NO_MELODY_FRAMES if num_frames is None else T), np.float32)
        temporal["melody"] = conds["melody"].project([none if r.melody is None else r.melody for r in rows],
                                                     T, device)
    key_mask = None
    if mode == "independent":
        key_mask = mask.bool()
        key_mask[:, 0] |= ~key_mask.any(dim=1)  # a row without text attends to its first (null) key
        if bool(key_mask.all()):
            key_mask = None
    return ConditionTensors(text=text, text_mask=mask, temporal=temporal, key_mask=key_mask)


def _first_rows(cond: ConditionTensors, rows: int) -> ConditionTensors:
    """The conditions of the first ``rows`` rows (the ``all`` term, which comes first)."""
    key_mask = None if cond.key_mask is None else cond.key_mask[:rows]
    if key_mask is not None and bool(key_mask.all()):
        key_mask = None
    return ConditionTensors(text=cond.text[:rows], text_mask=cond.text_mask[:rows],
                            temporal={k: v[:rows] for k, v in cond.temporal.items()}, key_mask=key_mask)


class GuidedField:
    """v(t, z) = sum_i w_i * model(z, t, cond_i): one forward over all terms.

    ``interval`` (lo, hi): the guidance interval. Multi-term CFG only for lo <= t <= hi; outside
    it the field is the ``all`` term alone (weight 1, one forward over B rows instead of
    terms x B). None = CFG on the whole trajectory (audiocraft).
    """

    def __init__(self, model: JascoModel, cond: ConditionTensors, terms: Sequence[CfgTerm],
                 autocast_dtype: torch.dtype | None = None,
                 interval: tuple[float, float] | None = None) -> None:
        self.model = model
        self.cond = cond
        self.terms = list(terms)
        self.autocast_dtype = autocast_dtype
        # bounds rounded to float32 like the solver's t, so that lo <= t <= hi holds at t = lo and t = hi
        self.interval = None if interval is None else (float(np.float32(interval[0])), float(np.float32(interval[1])))
        self._all_only: ConditionTensors | None = None
        if interval is not None and len(self.terms) > 1 and self.terms[0].name == "all":
            self._all_only = _first_rows(cond, cond.text.shape[0] // len(self.terms))

    def _forward(self, zz: torch.Tensor, t: torch.Tensor, cond: ConditionTensors) -> torch.Tensor:
        if self.autocast_dtype is not None:
            with torch.autocast(device_type=zz.device.type, dtype=self.autocast_dtype):
                return self.model(zz, t, cond).float()
        return self.model(zz, t, cond)

    def per_term(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Raw model output [terms*B, T, D] for z [B, T, D] repeated per term."""
        zz = z.repeat(len(self.terms), 1, 1) if len(self.terms) > 1 else z
        return self._forward(zz, t, self.cond)

    def guided_at(self, t: float) -> bool:
        """Whether the multi-term CFG applies at time ``t``."""
        if self._all_only is None or self.interval is None:
            return True
        lo, hi = self.interval
        return lo <= t <= hi

    def combine(self, v: torch.Tensor) -> torch.Tensor:
        if len(self.terms) <= 1:
            return v
        chunks = v.chunk(len(self.terms))
        out = self.terms[0].weight * chunks[0]
        for term, chunk in zip(self.terms[1:], chunks[1:]):
            out = out + term.weight * chunk
        return out

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self._all_only is not None and not self.guided_at(float(t.reshape(-1)[0])):
            return self._forward(z, t, self._all_only)
        return self.combine(self.per_term(t, z))
