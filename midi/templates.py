"""Chord templates: every vocabulary label as pitch classes, and the fit of heard notes to each.

A template has *chord tones* (the label's notes; missing ones cost), *tolerated tones*
(tensions a musician reads as colour, not as another chord: the 9, #9, b9 and 13 of a
dominant seventh, the 9 and #11 of a major seventh, the 9 and 11 of a minor seventh, the
suspended 4th or 2nd of a triad) and a *bass*. Besides each label's own template, a few
voicing templates name the same label: ``C7`` is also the ``7#9`` voicing C-E-Bb-Eb, the
``7sus4`` C-F-G-Bb and the rootless C-E-Bb-D; ``C`` is also the power chord C-G and
``Csus4``/``Csus2`` (as the symbol mapper reads them); ``Cdim`` is also ``Cdim7``; a seventh
chord's slash label is also its voicing over that bass (``G7/B`` without its fifth).

The fit of a span (one row of features, see :func:`features`) to a template is::

    in - ALPHA*out + TOLERATED*tolerated - BETA*missing/size + bass - COMPLEX*(size - 3)
       - BETA_CELL*missing_in_full_cells

with ``in``/``out``/``tolerated`` the shares of weighted note-beats on chord tones, on other
tones and on tolerated ones. ``bass`` reads the span's bass as a distribution over pitch
classes: a quarter its lowest note at the onset, a quarter its lowest note, and ``LINE`` (a
half) how long each note of the bass line sounds in it (the rest goes to "no bass" when the
bass line has no long note, as under an arpeggio); the template gains ``GAMMA`` (a slash
label ``GAMMA_SLASH``) times the share of its bass, and a slash label loses
``SLASH_MISMATCH`` times the share of any other bass (it is not eligible over another bass).
The complexity term asks a seventh or sixth to be heard enough to be more than a passing
note; in full cells the template's bass is needed only ``CELL_BASS`` as much as its other
tones (a walking bass leaves the root the chord keeps).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from core.errors import VocabularyError
from midi.symbol_mapping import VocabEntry, analyse_vocabulary

ALPHA = 1.0          # weight of note-beats on tones outside the chord
TOLERATED = 0.4      # ... on tolerated tensions of a voicing template
BETA = 0.8           # penalty for the fraction of chord tones never heard in the span
BETA_CELL = 0.8      # ... and in each full cell (>= 3 pitch classes) of it: a span must be one chord
CELL_BASS = 0.5      # ... the template's bass counts this much of another tone there
LINE = 0.5           # share of the bass reading taken from the bass line (the rest: onset and lowest note)
GAMMA = 0.2          # bonus for the root being the span's bass: D under F-A-C-E
GAMMA_SLASH = 0.15   # ... for a slash label's bass being it
COMPLEX = 0.03       # cost of each chord tone beyond a triad (a seventh must be heard, not passed)
VOICING = 0.02       # a voicing template loses ties to the label's own template
SLASH_MISMATCH = -3.0  # a slash label whose bass is not the bass: not eligible
PRESENT = 0.03       # a pitch class counts as heard above this share of the span's note-beats
N_FEATURES = 51      # [shares 12, heard 12, bass 13, 1, cell-heard 12, cell-time 1]
_SINGLE_THREAD_MNK = 262_143  # OpenBLAS runs a GEMM below this m*n*k on the calling thread
_ROW_KEY = np.random.default_rng(20240601).random(N_FEATURES) + 0.5

# voicing templates per root-position quality (intervals): (required tones, tolerated tones)
VOICINGS: dict[frozenset[int], tuple[tuple[frozenset[int], frozenset[int]], ...]] = {
    frozenset({0, 4, 7}): ((frozenset({0, 7}), frozenset({2, 4, 5})),),                  # C5, Csus4, Csus2
    frozenset({0, 4, 7, 10}): ((frozenset({0, 4, 10}), frozenset({1, 2, 3, 7, 9})),     # 7b9 7#9 9 13, rootless
                               (frozenset({0, 5, 10}), frozenset({2, 7, 9}))),           # 7sus4, 9sus4
    frozenset({0, 4, 7, 11}): ((frozenset({0, 4, 11}), frozenset({2, 6, 7})),),          # maj9, maj7#11
    frozenset({0, 3, 7, 10}): ((frozenset({0, 3, 10}), frozenset({2, 5, 7})),),          # m9, m11
}
# tensions a label's own template tolerates (its voicing needs all its tones: a 6/9 without
# its fifth is an inversion of something else)
OWN_TOLERATED: dict[frozenset[int], frozenset[int]] = {
    frozenset({0, 4, 7, 9}): frozenset({2}),        # 6/9
    frozenset({0, 3, 7, 9}): frozenset({2}),        # m6/9
    frozenset({0, 3, 6}): frozenset({9}),           # dim7
}


@dataclass(frozen=True)
class Templates:
    labels: tuple[str, ...]        # one per column (a label repeats for its voicing templates)
    mask: np.ndarray               # [12, K] 1 on the label's own notes
    weights: np.ndarray            # [N_FEATURES, K]
    no_chord: str
    index_of: dict[str, int]       # label -> its own template's column


def _column(tones: frozenset[int], tolerated: frozenset[int], bass_pc: int, slash: bool,
            complexity: int, order: float) -> np.ndarray:
    w = np.zeros(N_FEATURES, np.float32)
    # in every full cell the chord's tones must sound; its bass less so (the bass may walk on)
    need = {pc: (CELL_BASS if pc == bass_pc else 1.0) for pc in tones}
    total = sum(need.values())
    for pc in range(12):
        w[pc] = 1.0 if pc in tones else TOLERATED if pc in tolerated else -ALPHA
        if pc in tones:
            w[12 + pc] = BETA / len(tones)
            w[38 + pc] = BETA_CELL * need[pc] / total
    if slash:
        w[24:36] = SLASH_MISMATCH
    w[24 + bass_pc] = GAMMA_SLASH if slash else GAMMA
    w[37] = -BETA - COMPLEX * max(0, complexity - 3) - order
    w[50] = -BETA_CELL
    return w


def _on_root(root_pc: int, intervals: frozenset[int]) -> frozenset[int]:
    return frozenset((root_pc + i) % 12 for i in intervals)


@functools.lru_cache(maxsize=16)
def templates(labels: tuple[str, ...]) -> Templates:
    an = analyse_vocabulary(labels)
    entries: tuple[VocabEntry, ...] = an.entries
    if not entries:
        raise VocabularyError(f"the chord vocabulary ({len(labels)} labels) names no chords to recognise")
    cols: list[np.ndarray] = []
    names: list[str] = []
    mask = np.zeros((12, len(entries)), np.float32)
    for j, e in enumerate(entries):
        for pc in e.pitch_classes:
            mask[pc, j] = 1.0
        slash = e.bass_pc is not None
        order = 1e-6 * e.index + (1e-3 if slash else 0.0)
        tolerated = _on_root(e.root_pc, OWN_TOLERATED.get(e.core, frozenset())) - e.pitch_classes
        cols.append(_column(e.pitch_classes, tolerated, e.bass_pc if slash else e.root_pc, slash,
                            len(e.core), order))
        names.append(e.label)
    for e in entries:
        for intervals, tolerated_intervals in VOICINGS.get(e.core, ()):
            tones, tolerated = _on_root(e.root_pc, intervals), _on_root(e.root_pc, tolerated_intervals)
            if e.bass_pc is None:
                cols.append(_column(tones, tolerated, e.root_pc, False, len(e.core),
                                    VOICING + 1e-6 * e.index))
            elif len(e.core) >= 4:   # a seventh's voicing over the slash label's bass (G7/B without its fifth)
                cols.append(_column(tones | {e.bass_pc}, tolerated - {e.bass_pc}, e.bass_pc, True,
                                    len(e.core), VOICING + 1e-3 + 1e-6 * e.index))
            else:
                continue
            names.append(e.label)
    index_of: dict[str, int] = {}
    for k, name in enumerate(names):
        index_of.setdefault(name, k)
    weights = np.ascontiguousarray(np.stack(cols, axis=1))
    return Templates(tuple(names), mask, weights, an.no_chord or "N", index_of)


def features(
    shares: np.ndarray,
    bass: np.ndarray,
    cell_heard: np.ndarray | None = None,
    cell_time: np.ndarray | None = None,
    bass_time: np.ndarray | None = None,
) -> np.ndarray:
    """Feature rows [R, N_FEATURES] from pitch-class weights ``shares`` [R, 12] (any scale),
    ``bass`` [R, 13] (which pitch class is the span's bass, its onset and lowest note, summing
    to 1; column 12: no bass), the share of the span's full cells each pitch class is heard in
    and the full cells' share, and ``bass_time`` [R, 13]: the share of time each is the bass
    line's note (column 12: none), which counts ``LINE`` of the bass reading."""
    r = len(shares)
    x = np.zeros((r, N_FEATURES), np.float32)
    total = shares.sum(axis=1, keepdims=True)
    vn = shares / np.maximum(total, 1e-12)
    x[:, :12] = vn
    x[:, 12:24] = vn > PRESENT
    x[:, 24:37] = bass
    x[:, 37] = 1.0
    if cell_heard is not None and cell_time is not None:
        x[:, 38:50] = cell_heard
        x[:, 50] = cell_time
    if bass_time is not None:
        x[:, 24:37] = (1.0 - LINE) * bass + LINE * bass_time
    return x


def best(t: Templates, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best template column and its fit for each feature row."""
    r = len(x)
    if r > 64:
        # repeated chords give identical rows: score each distinct row once
        keys = x @ _ROW_KEY.astype(np.float32)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if len(uniq) < r and np.array_equal(x[first][inverse], x):  # (a key collision: no shortcut)
            best_u, fit_u = _best(x[first], t.weights)
            return best_u[inverse], fit_u[inverse]
    return _best(x, t.weights)


def _best(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Row blocks small enough that BLAS stays on one thread: on a busy machine (the engine
    # renders beside us) a multi-threaded product of this size is many times slower.
    fit = np.empty((len(x), weights.shape[1]), np.float32)   # [R, K]
    block = max(1, _SINGLE_THREAD_MNK // (weights.shape[0] * weights.shape[1]))
    for i in range(0, len(x), block):
        np.matmul(x[i:i + block], weights, out=fit[i:i + block])
    top = fit.argmax(axis=1)
    return top, fit[np.arange(len(top)), top]


def classify_pitches(pitches: Iterable[int], labels: tuple[str, ...], bass_weight: float) -> tuple[str, float]:
    """Name one set of sounding MIDI pitches: ``(label, fit)`` (the lowest is the bass)."""
    t = templates(labels)
    ps = [int(p) for p in pitches]
    if not ps:
        return t.no_chord, 1.0
    v = np.zeros((1, 12), np.float64)
    for p in ps:
        v[0, p % 12] += 1.0
    v[0, min(ps) % 12] += bass_weight
    b = np.zeros((1, 13), np.float32)
    b[0, min(ps) % 12] = 1.0
    col, fit = best(t, features(v, b))
    return t.labels[int(col[0])], float(fit[0])
