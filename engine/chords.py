"""Chords conditioner: frame-level chord indices -> learned embedding ``emb``.

``frame_chords`` turns ``(label, start_seconds)`` pairs into one vocabulary index
per latent frame, by audiocraft's rule (``construct_frame_chords`` in
audiocraft/utils/utils.py): frame k has time ``k / frame_rate``; the list is consumed
front to back, and every chord whose start is <= the frame's time is taken (the last
one taken wins); before the first chord the label is ``N``. So an off-grid start rounds
up to the next frame, and with the default ``order="list"`` an unsorted list behaves as
in audiocraft (a late chord early in the list holds back the ones after it).
``order="sorted"`` sorts the list (stably) by start time first, so list order only
matters for chords that start at the same time (the later one wins).

Unlike audiocraft, every label is checked, also those of chords that start after the
window (audiocraft never looks them up): a typo is reported before rendering starts.
"""

from __future__ import annotations

import difflib
import math
from typing import Sequence

import torch
from torch import nn

from core.errors import BadChord, BadValue
from core.params import param
from midi.symbol_mapping import map_symbol
from midi.vocab import ChordVocabulary

NO_CHORD = "N"
CHORD_ORDERS = param("chord_order").choices  # ("list", "sorted"); default "list" (audiocraft)


class ChordsConditioner(nn.Module):
    def __init__(self, card: int, out_dim: int) -> None:
        super().__init__()
        self.card = card  # vocabulary size; index ``card`` is the null chord
        self.emb = nn.Embedding(card + 1, out_dim)  # [card + 1, out_dim]

    @property
    def null_index(self) -> int:
        return self.card

    def forward(self, frame_chords: torch.Tensor) -> torch.Tensor:
        """frame_chords [N, T] int64 -> [N, T, out_dim]."""
        return self.emb(frame_chords)


def suggest(label: str, vocab: ChordVocabulary, n: int = 3) -> list[str]:
    """Nearest vocabulary labels to an unknown one: the chord-symbol mapper's answer
    (``midi.symbol_mapping``: same notes, then reduced extensions), a case slip, then spelling neighbours."""
    labels = list(vocab.labels)
    try:
        mapped = [map_symbol(label, vocab).label]
    except BadChord:  # not a chord symbol at all: spelling neighbours only
        mapped = []
    exact_ci = [lab for lab in labels if lab.lower() == label.lower()]
    close = difflib.get_close_matches(label, labels, n=n, cutoff=0.4)
    out: list[str] = []
    for lab in mapped + exact_ci + close:
        if lab not in out:
            out.append(lab)
    return out[:n]


def check_label(label: object, vocab: ChordVocabulary) -> int:
    """Index of ``label``; BadChord naming it (with suggestions) when it is not in the vocabulary."""
    if not isinstance(label, str) or not label:
        raise BadChord(f"chord label must be a non-empty string, got {label!r}")
    if label in vocab:
        return vocab.index(label)
    near = suggest(label, vocab)
    hint = f"; nearest labels: {', '.join(near)}" if near else ""
    raise BadChord(f"chord {label!r} is not in the model's chord vocabulary{hint}")


def frame_chords(
    chords: Sequence[tuple[str, float]] | None,
    vocab: ChordVocabulary,
    *,
    frame_rate: float,
    num_frames: int,
    order: str = "list",
) -> list[int] | None:
    """``[(label, start_s), ...]`` -> ``num_frames`` vocabulary indices, or None when there are no chords."""
    if order not in CHORD_ORDERS:
        raise BadValue(f"chord order must be one of {', '.join(CHORD_ORDERS)}, got {order!r}")
    if not chords:
        return None
    parsed: list[tuple[float, int]] = []
    for item in chords:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise BadChord(f"a chord must be a (label, start_seconds) pair, got {item!r}")
        label, start = item
        idx = check_label(label, vocab)
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
            raise BadChord(f"chord {label!r} has an invalid start time {start!r}")
        if start < 0:
            raise BadChord(f"chord {label!r} starts at {start} s; start times must be >= 0")
        parsed.append((float(start), idx))
    if order == "sorted":
        parsed.sort(key=lambda p: p[0])  # stable: equal starts keep list order
    out: list[int] = []
    current = vocab.index(NO_CHORD)
    j = 0
    for k in range(num_frames):
        time = k / frame_rate
        while j < len(parsed) and time >= parsed[j][0]:
            current = parsed[j][1]
            j += 1
        out.append(current)
    return out
