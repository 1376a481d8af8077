"""Chord recognition from notes: segment a clip into chord spans and name each span.

The method, one named step each (all numpy, no per-note Python work in the hot path):

1. **Clip** (:func:`_clip_notes`). Notes are cut to the loop range ``[loop_start,
   loop_end)`` and, with ``quantize``, snapped to that beat grid. Muted and velocity-0 notes
   are ignored. Each note weighs by where it is struck (:mod:`midi.meter`): a downbeat 1, a
   beat 0.85, an off-beat eighth 0.7, so passing tones, neighbours and walking-bass
   approach notes count less than the chord tones on the beat.
2. **Rests** (:func:`_find_rests`). Where nothing sounds for at least ``min_rest`` beats
   (before the first note: a quarter beat) the span is ``N``. Shorter gaps (staccato)
   belong to the chord around them.
3. **Cells** (:func:`_make_cells`). The timeline is cut into cells at every ``resolution``
   beats, at every *block attack* (two or more notes starting within ``attack_tolerance``)
   and at the edges of rests. A cell holds, per pitch class, its weighted note-beats, and
   its bass: the lowest note filling a good part of it. The bass counts ``BASS`` times
   again (it tells the root: D under F-A-C-E is Dm9, read ``Dm7``, not Fmaj7): a held bass
   (``HELD_BASS`` beats or more) wherever it sounds, a moving one (a walking bass's quarter,
   an arpeggio's bottom note) only where it is the note a span starts on.
   A change costs ``switch_penalty`` on a bar line or half bar (meter changes included),
   1.5x on other beats and 2x between beats, except where a chord (three or more notes) is
   struck or a rest begins; and ``HOLD`` x more where two or more notes are held over the
   boundary and nothing is struck above the lowest of them (a held chord does not change
   under a walking bass), and ``NEW_BASS`` x less where a chord is struck over a new bass.
4. **Span scores** (:func:`_score_spans`). Every candidate span (up to ``max_span``
   beats, never across a rest) pools its cells and is fitted to every template of
   :mod:`midi.templates` (the vocabulary's labels and the voicings that name them: 7#9 is a
   dominant seventh, a power chord is major). The span's bass is read from the lowest note
   sounding at its onset and its lowest note (a quarter each), and from how long each note of
   the bass line (lowest notes of ``LINE_NOTE`` beats or more) sounds (a half): so a walking bass does not
   make an inversion, and C/E then C/G are two labels when the vocabulary has both.
   *Melody-only tones*: a top voice (a note struck alone, the highest in its cell, over a lower
   note held into it) sings tones the accompaniment under it may not play; a tone of the span
   that the accompaniment plays for at most ``ACCOMP_SHARE`` of it counts ``MELODY_ONLY`` (a
   passing, neighbour or added melody note, not the harmony's 6th or 7th).
5. **Segmentation** (:func:`_segment`). The sequence model: a Viterbi search over the cells
   (a semi-Markov one: its states are spans of cells, each with its best template) picks the
   cut of the whole clip into spans that maximises ``sum(fit * span_beats) - sum(change
   costs)``, no greedy choice anywhere. Its terms, each named: the *template scores* (step 4);
   the *change penalty* ``switch_penalty``; the *metre prior* ``METRE_COST`` (a change is
   cheapest on a bar line or half bar); the *bass prior* (a change under a bass note below G3
   held over the boundary costs ``BASS_HELD`` x more; a chord struck over a new bass ``NEW_BASS``
   x less; a held chord over a moving bass ``HOLD`` x more). Because a span's
   notes are pooled over its cells (the ear's memory of an arpeggio: every note struck while
   the harmony holds counts for the whole span, however short), broken chords and arpeggios
   are recognised as the chord they outline, while block chords change exactly where they are struck; a full cell (three
   or more pitch classes) must be complete in the span's chord, so a new chord that shares
   tones with the previous one is a new chord; and a broken chord whose short onset bass is
   undercut by a lower note inside the span loses ``LOW_INSIDE`` per beat (Am then F broken
   is not one Fmaj7).
6. **Merge** (:func:`_merge`). A silence too short to be a rest joins the chord before it;
   consecutive spans with the same label become one, and each gets its
   :class:`ChordMapping` (what was heard, and whether the label has exactly those notes).

Defaults: ``resolution`` 1 beat, ``max_span`` the longest bar, ``min_rest`` 1 beat,
``attack_tolerance`` 1/16 beat, ``switch_penalty`` 0.5. 10,000 notes take about 30 ms of
CPU time (``bench/midi.py``, which also scores the test corpus per category).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from core.errors import BadValue
from midi.meter import Meter
from midi.notes import Note, coerce_notes, note_arrays
from midi.notes import check_positive as _check_positive
from midi.symbol_mapping import ChordMapping
from midi.templates import PRESENT, Templates, best, classify_pitches, features, templates

PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

HOLD = 2.0           # extra cost of a change under held notes where only the bass moves
BASS = 0.5           # the bass of a cell counts this much again (Dm9 voiced F-A-C-E over D is Dm7)
ONSET = 0.5          # of the onset-and-lowest part of a span's bass reading, the first cell's share
LEADING_REST = 0.25  # silence before the first note that counts as a rest (beats)
NO_BASS = 128
NEW_BASS = 0.4       # a change where a chord is struck over a new bass costs this much of the usual
LOW_INSIDE = 0.2     # fit lost per beat by a span whose short onset bass is undercut by a lower note
HELD_BASS = 1.5      # a bass note this long (beats) counts again wherever it sounds
LINE_NOTE = 0.75     # a lowest note this long (beats) or longer is a note of the bass line
MELODY_ONLY = 0.5    # a tone only the top voice sings in a span counts this much (a melody note) ...
ACCOMP_SHARE = 0.03  # ... when what the accompaniment plays of it is at most this share of the span
# the metre prior: what a change costs (x switch_penalty) on a bar line, the middle of an even
# bar, a beat, and between beats (meter levels 0..4, see midi.meter)
METRE_COST = (1.0, 1.0, 1.5, 2.0, 2.0)
BASS_HELD = 4.0      # a change under a bass note held over the boundary costs this much more ...
BASS_REGISTER = 55   # ... when it sounds below G3 (a bass, not the lowest voice of a pad)
PEDAL_MAX = 8.0      # a pedal held down longer than this (beats) is not pedalling the harmony: ignored


@dataclass(frozen=True)
class Progression:
    """A chord progression: ``(label, start)`` pairs in seconds and in beats, first at 0."""

    beats: tuple[tuple[str, float], ...]
    seconds: tuple[tuple[str, float], ...]
    mappings: tuple[ChordMapping, ...] = ()
    duration_beats: float = 0.0
    duration_seconds: float = 0.0

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.beats)

    def to_json(self) -> list[list[object]]:
        """``[[label, start_seconds], ...]`` (what ``jasco-bridge chords --json`` prints)."""
        return [[label, round(t, 6)] for label, t in self.seconds]


def classify(pitches: Iterable[int], vocab: object) -> tuple[str, float]:
    """Name one set of sounding MIDI pitches (used for live input): ``(label, fit)``."""
    return classify_pitches(pitches, tuple(vocab.labels), BASS)  # type: ignore[attr-defined]


def apply_sustain(notes: Sequence[Note], pedal: Sequence[tuple[float, float]]) -> tuple[Note, ...]:
    """Hold notes released while the sustain pedal is down until the pedal comes up.

    ``pedal``: (down, up) intervals in beats. A held note never runs past the next onset
    of the same pitch (the re-struck key cuts it). A pedal held down longer than
    ``PEDAL_MAX`` beats is not pedalling the harmony and is ignored: a pianist changes the
    pedal with the chords, while in transcribed MIDI (POP909) CC64 hovers above 64 for a whole
    song and would make one chord of it."""
    pedal = [p for p in pedal if p[1] - p[0] <= PEDAL_MAX]
    if not pedal:
        return tuple(notes)
    downs = np.array([p[0] for p in pedal], np.float64)
    ups = np.array([p[1] for p in pedal], np.float64)
    order = np.argsort(downs)
    downs, ups = downs[order], ups[order]
    by_pitch: dict[int, list[float]] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n.start)
    for starts in by_pitch.values():
        starts.sort()
    out: list[Note] = []
    for n in notes:
        end = n.start + n.duration
        i = int(np.searchsorted(downs, end, side="right")) - 1
        if i >= 0 and downs[i] <= end < ups[i]:
            new_end = float(ups[i])
            starts = by_pitch[n.pitch]
            j = int(np.searchsorted(starts, n.start, side="right"))
            if j < len(starts):
                new_end = min(new_end, starts[j])
            if new_end > end:
                n = Note(n.pitch, n.start, new_end - n.start, n.velocity, n.mute)
        out.append(n)
    return tuple(out)


# --- options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    meter: Meter
    quantize: float | None
    resolution: float
    max_span: float
    min_rest: float
    tol: float
    switch_penalty: float
    lo: float
    hi: float | None


def _number(name: str, value: object, *, low: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
            or float(value) < low:
        raise BadValue(f"{name} must be {what}, got {value!r}")
    return float(value)


def _check_options(
    *, beats_per_bar: float, meter: Sequence[Sequence[float]] | None, quantize: float | None,
    loop_start: float, loop_end: float | None, resolution: float, max_span: float | None, min_rest: float,
    attack_tolerance: float, switch_penalty: float,
) -> _Options:
    bpb = float(_check_positive("beats_per_bar", beats_per_bar) or 0.0)
    m = Meter.of(bpb, meter)
    lo = _number("loop_start", loop_start, low=0.0, what="a number >= 0 beats")
    hi = None
    if loop_end is not None:
        hi = _number("loop_end", loop_end, low=-math.inf, what="a number of beats")
        if hi <= lo:
            raise BadValue(f"loop_end ({loop_end}) must be after loop_start ({loop_start})")
    return _Options(
        meter=m,
        quantize=_check_positive("quantize", quantize, allow_none=True),
        resolution=float(_check_positive("resolution", resolution) or 0.0),
        max_span=_check_positive("max_span", max_span, allow_none=True) or m.longest_bar,
        min_rest=float(_check_positive("min_rest", min_rest) or 0.0),
        tol=float(_check_positive("attack_tolerance", attack_tolerance) or 0.0),
        switch_penalty=_number("switch_penalty", switch_penalty, low=0.0, what="a number >= 0"),
        lo=lo,
        hi=hi,
    )


# --- 1. clip ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Clip:
    pitch: np.ndarray     # int16
    start: np.ndarray     # beats from loop_start
    end: np.ndarray
    weight: np.ndarray    # metric weight of each note
    length: float


def _clip_notes(notes: Sequence[Note], o: _Options) -> _Clip:
    pitch, start, end = note_arrays(notes)
    lo = o.lo
    hi = o.hi if o.hi is not None else (float(end.max()) if len(end) else lo)
    keep = (end > lo) & (start < hi)
    pitch, start, end = pitch[keep], np.maximum(start[keep], lo) - lo, np.minimum(end[keep], hi) - lo
    length = max(hi - lo, 0.0)   # (a loop that starts after the last note: silence)
    q = o.quantize
    if q is not None and len(start):
        start = np.round(start / q) * q
        end = np.maximum(np.round(end / q) * q, start + q)
        inside = start < max(length, q) - 1e-9   # a note snapped onto the loop's end is outside it
        pitch, start, end = pitch[inside], start[inside], np.minimum(end[inside], max(length, q))
        length = max(length, float(end.max())) if len(end) else length
    weight = o.meter.weight(start + lo, o.tol) if len(start) else np.zeros(0)
    return _Clip(pitch, start, end, weight, length)


# --- 2. rests ---------------------------------------------------------------------------------
def _find_rests(c: _Clip, min_rest: float) -> np.ndarray:
    """[R, 2] (start, end) of every rest: gaps in the union of note spans."""
    order = np.argsort(c.start, kind="stable")
    covered_to = np.maximum.accumulate(c.end[order])
    gap_lo = np.concatenate(([0.0], covered_to))
    gap_hi = np.concatenate((c.start[order], [c.length]))
    gap = gap_hi - gap_lo
    is_rest = gap >= min_rest
    is_rest[0] = gap[0] >= min(min_rest, LEADING_REST)   # before the first note
    return np.stack([gap_lo[is_rest], gap_hi[is_rest]], axis=1) if is_rest.any() else np.zeros((0, 2))


# --- 3. cells ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cells:
    bounds: np.ndarray        # [n + 1] beats
    change_cost: np.ndarray   # [n + 1] cost of a chord change at each boundary
    rest: np.ndarray          # [n] bool
    weights: np.ndarray       # [n, 12] weighted note-beats per pitch class (a held bass counted again)
    low_extra: np.ndarray     # [n, 12] what the cell's bass (not held) adds when it is the span's bass
    top: np.ndarray           # [n, 12] the part of ``weights`` sung by a top voice over an accompaniment
    bass: np.ndarray          # [n] lowest MIDI pitch (NO_BASS: none)
    line: np.ndarray          # [n] bass line: that pitch when its note lasts a beat or more, else NO_BASS
    full: np.ndarray          # [n, 12] pitch classes heard in full cells (>= 3 pitch classes), x cell length
    full_len: np.ndarray      # [n] cell length where full, else 0

    @property
    def n(self) -> int:
        return len(self.bounds) - 1


def _nearest_distance(grid: np.ndarray, strong: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(strong, grid), 1, len(strong) - 1) if len(strong) > 1 else np.zeros(len(grid), int)
    left = strong[np.maximum(idx - 1, 0)]
    right = strong[idx]
    return np.minimum(np.abs(grid - left), np.abs(grid - right))


def _boundaries(c: _Clip, rests: np.ndarray, o: _Options) -> tuple[np.ndarray, np.ndarray]:
    """Cell bounds (grid + block attacks + rest edges) and where chords are struck."""
    s_sorted = np.sort(c.start)
    if len(s_sorted) > 1:
        new_cluster = np.concatenate(([True], np.diff(s_sorted) > o.tol))
        sizes = np.bincount(np.cumsum(new_cluster) - 1)
        attacks = s_sorted[new_cluster][sizes >= 2]
        chord_hits = s_sorted[new_cluster][sizes >= 3]
    else:
        attacks = chord_hits = np.zeros(0)
    strong = np.unique(np.concatenate((attacks, rests.ravel())))
    strong = strong[(strong > 0) & (strong < c.length)]
    grid = np.arange(1, int(math.ceil(c.length / o.resolution - 1e-9))) * o.resolution
    if len(strong) and len(grid):
        grid = grid[_nearest_distance(grid, strong) > o.tol]
    bounds = np.unique(np.concatenate(([0.0, c.length], grid, strong)))
    return bounds, np.concatenate((chord_hits, rests.ravel()))


def _change_costs(bounds: np.ndarray, hits: np.ndarray, o: _Options) -> np.ndarray:
    """A chord change costs least on a bar line or half bar, more on a beat, most between
    beats, unless a chord is struck there (or a rest begins or ends)."""
    level = o.meter.level(bounds + o.lo, o.tol)
    cost = np.asarray(METRE_COST, np.float64)[level]
    if len(hits):
        struck = _nearest_distance(bounds, np.unique(hits)) <= o.tol
        cost[struck] = np.minimum(cost[struck], 1.0)
    return cost * o.switch_penalty


def _pc_weights(c: _Clip, bounds: np.ndarray) -> np.ndarray:
    """[n, 12] integral of the sounding notes' weights over each cell, per pitch class (all 12
    at once: times are offset by pc * stride so one sort serves all)."""
    pcs = (c.pitch % 12).astype(np.int64)
    stride = float(bounds[-1]) + 1.0
    offs = np.arange(12)[:, None] * stride
    q = offs + bounds[None, :]                              # [12, n + 1]

    def integral(times: np.ndarray) -> np.ndarray:
        # sum over notes with t < b of w * (b - t), at every bound b
        key = pcs * stride + times
        order = np.argsort(key, kind="stable")
        k, w = key[order], c.weight[order]
        cw = np.concatenate(([0.0], np.cumsum(w)))
        ckw = np.concatenate(([0.0], np.cumsum(k * w)))
        first = np.searchsorted(k, offs[:, 0])[:, None]
        at = np.searchsorted(k, q)
        return q * (cw[at] - cw[first]) - (ckw[at] - ckw[first])

    return np.diff(integral(c.start) - integral(c.end), axis=1).T


def _make_cells(c: _Clip, rests: np.ndarray, o: _Options) -> _Cells:
    bounds, hits = _boundaries(c, rests, o)
    n = len(bounds) - 1
    change_cost = _change_costs(bounds, hits, o)
    rest_cell = np.zeros(n, bool)
    if len(rests):
        mid = (bounds[:-1] + bounds[1:]) / 2
        ri = np.searchsorted(rests[:, 0], mid, side="right") - 1
        ok = ri >= 0
        rest_cell[ok] = mid[ok] < rests[ri[ok], 1]
    weights = _pc_weights(c, bounds)
    # every (note, cell) it sounds in
    start, end, pitch, tol = c.start, c.end, c.pitch, o.tol
    i0 = np.searchsorted(bounds, start, side="right") - 1
    i1 = np.maximum(np.searchsorted(bounds, end, side="left"), i0 + 1)
    counts = i1 - i0
    rep = np.repeat(np.arange(len(start)), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    cell = np.minimum(i0[rep] + (np.arange(len(rep)) - offsets), n - 1)
    overlap = np.minimum(end[rep], bounds[cell + 1]) - np.maximum(start[rep], bounds[cell])
    cell_len = bounds[cell + 1] - bounds[cell]
    good = (overlap >= 0.25 * cell_len) | (overlap >= 0.5 * (end[rep] - start[rep]))
    cell_bass = np.full(n, NO_BASS, np.int16)
    np.minimum.at(cell_bass, cell[good], pitch[rep][good])
    # the bass line: a lowest note long enough to be a bass note (a walking bass's quarter, a
    # held bass), not the bottom of an arpeggio or an Alberti figure (those stay the onset's)
    long_low = good & (pitch[rep] == cell_bass[cell]) & (end[rep] - start[rep] >= LINE_NOTE)
    line = np.full(n, NO_BASS, np.int16)
    line[cell[long_low]] = pitch[rep][long_low]
    # a held chord does not change under a moving bass: where two or more notes are held over a
    # boundary and nothing is struck above the lowest of them, a change there costs HOLD x more
    over = (start[rep] < bounds[cell] - tol) & (end[rep] > bounds[cell] + tol)
    held_low = np.full(n + 1, 128, np.int64)
    held_n = np.zeros(n + 1, np.int64)
    np.minimum.at(held_low, cell[over], pitch[rep][over])
    np.add.at(held_n, cell[over], 1)
    at = np.searchsorted(bounds, start - tol)                # the boundary a note is struck on, if any
    on_bound = bounds[np.minimum(at, n)] <= start + tol
    struck_high = np.full(n + 1, -1, np.int64)
    np.maximum.at(struck_high, at[on_bound], pitch[on_bound])
    change_cost = change_cost + HOLD * o.switch_penalty * ((held_n >= 2) & (struck_high < held_low))
    # the bass prior: a chord seldom changes over a bass note that goes on sounding
    if BASS_HELD != 1.0:
        bass_over = np.zeros(n + 1, bool)
        bass_over[1:n] = ((held_low[1:n] == cell_bass[1:]) & (held_low[1:n] == cell_bass[:-1])
                          & (held_low[1:n] < BASS_REGISTER))
        change_cost = np.where(bass_over, BASS_HELD * change_cost, change_cost)
    # a chord struck over a new bass note is a new harmonic event (C/E then C/G)
    new_bass = np.zeros(n + 1, bool)
    new_bass[1:n] = (cell_bass[1:] != cell_bass[:-1]) & (cell_bass[1:] < NO_BASS)
    struck_chord = np.zeros(n + 1, bool)
    if len(hits):
        struck_chord = _nearest_distance(bounds, np.unique(hits)) <= tol
    change_cost = np.where(new_bass & struck_chord, NEW_BASS * change_cost, change_cost)
    # full cells (>= 3 pitch classes heard): a span's chord should be complete in each of them
    cell_tot = weights.sum(axis=1, keepdims=True)
    present = weights > PRESENT * np.maximum(cell_tot, 1e-12)
    full_len = (present.sum(axis=1) >= 3).astype(np.float64) * np.diff(bounds)
    # the bass weighs more than an upper voice: it tells the root (a bass player's D under F-A-C-E)
    # (a held bass everywhere; a walking bass's quarter or an arpeggio's bottom note only where it
    # is the note the span starts on, so passing and approach notes in the bass stay passing notes)
    is_low = good & (pitch[rep] == cell_bass[cell])
    extra = BASS * overlap * c.weight[rep]
    held = is_low & (end[rep] - start[rep] >= HELD_BASS)
    np.add.at(weights, (cell[held], pitch[rep][held] % 12), extra[held])
    low_extra = np.zeros((n, 12))
    moving = is_low & ~held
    np.add.at(low_extra, (cell[moving], pitch[rep][moving] % 12), extra[moving])
    # a top voice: a note struck alone that is the highest sounding in its onset cell, over a
    # lower note held into that cell (a melody over its accompaniment; not an arpeggio's top)
    cell_top = np.full(n, -1, np.int16)
    np.maximum.at(cell_top, cell[good], pitch[rep][good])
    s_sorted = np.sort(start)
    alone = (np.searchsorted(s_sorted, start + tol, side="right") - np.searchsorted(s_sorted, start - tol)) == 1
    top_note = alone & (pitch >= cell_top[i0]) & (held_low[i0] < pitch)
    is_top = top_note[rep]
    top = np.zeros((n, 12))
    np.add.at(top, (cell[is_top], pitch[rep][is_top] % 12), (overlap * c.weight[rep])[is_top])
    return _Cells(bounds, change_cost, rest_cell, weights, low_extra, top, cell_bass, line, present * full_len[:, None],
                  full_len)


# --- 4. span scores ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _SpanTable:
    scores: tuple[list[float], ...]   # [length - 1][first cell]: fit * beats - change cost
    labels: tuple[np.ndarray, ...]    # template column (-1: silence)
    fits: tuple[np.ndarray, ...]


def _score_spans(cells: _Cells, t: Templates, o: _Options) -> _SpanTable:
    n, bounds = cells.n, cells.bounds
    lmax = min(max(1, int(math.ceil(o.max_span / o.resolution)) + 2), n)
    zeros12 = np.zeros((1, 12))
    cum = np.concatenate((zeros12, np.cumsum(cells.weights, axis=0)))
    cum_low = np.concatenate((zeros12, np.cumsum(cells.low_extra, axis=0)))
    cum_top = np.concatenate((zeros12, np.cumsum(cells.top, axis=0)))
    onset_pc = np.where(cells.bass < NO_BASS, cells.bass % 12, 0).astype(np.int64)
    cum_full = np.concatenate((zeros12, np.cumsum(cells.full, axis=0)))
    cum_full_len = np.concatenate(([0.0], np.cumsum(cells.full_len)))
    rest_count = np.concatenate(([0], np.cumsum(cells.rest)))
    # how long each pitch class is the bass (13th column: no bass)
    bass_pc = np.where(cells.bass < NO_BASS, cells.bass % 12, 12).astype(np.int64)
    bass_onehot = np.zeros((n, 13))
    bass_onehot[np.arange(n), bass_pc] = 1.0
    line = np.zeros((n, 13))
    line[np.arange(n), np.where(cells.line < NO_BASS, cells.line % 12, 12)] = 1.0
    cum_bass = np.concatenate((np.zeros((1, 13)), np.cumsum(line * np.diff(bounds)[:, None], axis=0)))
    low = cells.bass.copy()
    scores: list[list[float]] = []
    labels: list[np.ndarray] = []
    fits: list[np.ndarray] = []
    cost = cells.change_cost
    for ln in range(1, lmax + 1):
        m = n - ln + 1
        ii = np.arange(m)
        if ln > 1:
            low = np.minimum(low[:m], cells.bass[ln - 1:])
        v = cum[ln:] - cum[:m]
        pc = onset_pc[:m]
        v[ii, pc] += cum_low[ii + ln, pc] - cum_low[ii, pc]   # the span's bass counts again
        if MELODY_ONLY < 1.0:
            # a tone only the melody sings in the span (the accompaniment under it never plays it)
            # is a melody note: a passing, neighbour or added tone, not the harmony's
            vt = cum_top[ln:] - cum_top[:m]
            only = (v - vt) <= ACCOMP_SHARE * v.sum(axis=1, keepdims=True)
            v = v - (1.0 - MELODY_ONLY) * vt * only
        span = bounds[ln:] - bounds[:m]
        valid = np.ones(m, bool)
        if ln > 1:
            valid &= span <= o.max_span + 1e-9
            valid &= (rest_count[ii + ln] - rest_count[ii]) == 0
        sounding = valid & (v.sum(axis=1) > 0) & ~((ln == 1) & cells.rest[:m])
        lab = np.full(m, -1, np.int64)
        fit = np.zeros(m)
        if sounding.any():
            rows = np.nonzero(sounding)[0]
            sp = span[rows][:, None]
            # the span's bass: its lowest note at the onset and its lowest note (half each)
            lowest = np.zeros((len(rows), 13))
            lowest[np.arange(len(rows)), np.where(low[rows] < NO_BASS, low[rows] % 12, 12)] = 1.0
            bass = ONSET * bass_onehot[rows] + (1.0 - ONSET) * lowest
            x = features(v[rows], bass, (cum_full[rows + ln] - cum_full[rows]) / sp,
                         (cum_full_len[rows + ln] - cum_full_len[rows]) / sp[:, 0],
                         (cum_bass[rows + ln] - cum_bass[rows]) / sp)
            lab[rows], fit[rows] = best(t, x)
        # a broken chord's bass undercut inside the span by a lower one (a different note) is a
        # sign of a new chord there: Am then F arpeggiated is not one Fmaj7
        sunk = (low < cells.bass[:m] - 2) & (low % 12 != cells.bass[:m] % 12) & (cells.line[:m] == NO_BASS)
        score = np.where(valid, (fit - LOW_INSIDE * sunk) * span - cost[:m], -np.inf)
        silent = valid & ~sounding
        score[silent] = np.where(cells.rest[:m][silent], 0.0, -cost[:m][silent])
        scores.append(score.tolist())
        labels.append(lab)
        fits.append(fit)
    return _SpanTable(tuple(scores), tuple(labels), tuple(fits))


# --- 5. segmentation --------------------------------------------------------------------------
def _segment(table: _SpanTable, n: int) -> list[tuple[int, int, int, float]]:
    """The best cut of cells 0..n into spans: ``(first, end, template column, fit)``."""
    lmax = len(table.scores)
    best_score = [0.0] * (n + 1)
    back = [1] * (n + 1)
    scores = table.scores
    for j in range(1, n + 1):
        bj = -math.inf
        bl = 1
        for ln in range(1, (lmax if lmax < j else j) + 1):
            cand = best_score[j - ln] + scores[ln - 1][j - ln]
            if cand > bj:
                bj = cand
                bl = ln
        best_score[j] = bj
        back[j] = bl
    spans: list[tuple[int, int, int, float]] = []
    j = n
    while j > 0:
        ln = back[j]
        spans.append((j - ln, j, int(table.labels[ln - 1][j - ln]), float(table.fits[ln - 1][j - ln])))
        j -= ln
    spans.reverse()
    return spans


def _absorb_short_silences(spans: list[tuple[int, int, int, float]], rest: np.ndarray) -> None:
    """A silent stretch too short to be a rest belongs to the chord before it (or after it, at the start)."""
    for idx, (i, j, k, _f) in enumerate(spans):
        if k < 0 and not rest[i:j].any():
            prev = spans[idx - 1] if idx > 0 else None
            nxt = spans[idx + 1] if idx + 1 < len(spans) else None
            if prev is not None and prev[2] >= 0:
                spans[idx] = (i, j, prev[2], prev[3])
            elif nxt is not None and nxt[2] >= 0:
                spans[idx] = (i, j, nxt[2], nxt[3])


# --- 6. merge and describe --------------------------------------------------------------------
def _merge(spans: list[tuple[int, int, int, float]], cells: _Cells, t: Templates
           ) -> tuple[list[tuple[str, float]], list[ChordMapping]]:
    bounds = cells.bounds
    beats: list[tuple[str, float]] = []
    ranges: list[list[int]] = []
    fit_sum: list[float] = []
    for i, j, k, f in spans:
        label = t.labels[k] if k >= 0 else t.no_chord
        w = float(bounds[j] - bounds[i])
        if beats and beats[-1][0] == label:
            ranges[-1][1] = j
            fit_sum[-1] += f * w
            continue
        beats.append((label, float(bounds[i])))
        ranges.append([i, j])
        fit_sum.append(f * w)
    return beats, _describe(beats, np.array(ranges, np.int64), fit_sum, cells, t)


@functools.lru_cache(maxsize=4096)
def _pc_set_name(bits: int) -> str:
    """``C-E-G`` for the pitch classes set in ``bits`` (bit 0 = C)."""
    return "-".join(PC_NAMES[pc] for pc in range(12) if bits >> pc & 1) or "silence"


def _describe(beats: list[tuple[str, float]], rng: np.ndarray, fit_sum: list[float], cells: _Cells,
              t: Templates) -> list[ChordMapping]:
    """What was heard in each span (its pitch classes and bass) and how the label fits it."""
    cum = np.concatenate((np.zeros((1, 12)), np.cumsum(cells.weights, axis=0)))
    vs = cum[rng[:, 1]] - cum[rng[:, 0]]
    lows = cells.bass[rng[:, 0]].astype(np.int64)   # the bass at the span's onset
    lows = np.where(lows < NO_BASS, lows % 12, 12)
    totals = vs.sum(axis=1)
    heard = vs > PRESENT * np.maximum(totals, 1e-12)[:, None]
    kidx = np.array([t.index_of.get(label, -1) for label, _ in beats])
    exact = (heard == (t.mask.T[np.maximum(kidx, 0)] > 0)).all(axis=1).tolist() if t.mask.shape[1] else []
    bits = (heard.astype(np.int64) << np.arange(12)).sum(axis=1).tolist()
    lows_l = lows.tolist()
    kidx_l = kidx.tolist()
    span_beats = (cells.bounds[rng[:, 1]] - cells.bounds[rng[:, 0]]).tolist()
    described: dict[tuple[int, int], str] = {}
    maps: list[ChordMapping] = []
    for r, (label, _) in enumerate(beats):
        key = (bits[r], lows_l[r])
        desc = described.get(key)
        if desc is None:
            desc = _pc_set_name(bits[r])
            if lows_l[r] < 12:
                desc += f" (bass {PC_NAMES[lows_l[r]]})"
            described[key] = desc
        if kidx_l[r] < 0:
            maps.append(ChordMapping(desc, label, True, "rest"))
            continue
        fit = fit_sum[r] / max(span_beats[r], 1e-12)
        maps.append(ChordMapping(desc, label, exact[r], f"template fit {fit:.2f}"
                                 + ("" if exact[r] else " (nearest vocabulary chord)")))
    return maps


# --- the whole --------------------------------------------------------------------------------
def recognize(
    notes: Iterable[Note] | object,
    *,
    bpm: float | None,
    vocab: object,
    beats_per_bar: float = 4,
    meter: Sequence[Sequence[float]] | None = None,
    quantize: float | None = None,
    loop_start: float = 0.0,
    loop_end: float | None = None,
    resolution: float = 1.0,
    max_span: float | None = None,
    min_rest: float = 1.0,
    attack_tolerance: float = 1.0 / 16.0,
    switch_penalty: float = 0.5,
    sustain: Sequence[tuple[float, float]] | None = None,
    seconds_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Progression:
    """Recognise the chord progression of ``notes`` (beats) against ``vocab``'s labels.

    ``bpm`` converts beats to seconds (or ``seconds_of``, a function of absolute beats,
    for a tempo map). Times in the result are relative to ``loop_start``. Muted and
    velocity-0 notes are ignored. ``sustain``: pedal-down (start, end) intervals in beats.
    ``meter``: ``(start_beat, beats_per_bar[, pulse])`` changes (absolute beats; a MIDI
    file's time signatures, see :attr:`midi.midi_file.MidiClip.meter`), else ``beats_per_bar``
    throughout.
    """
    t = templates(tuple(vocab.labels))  # type: ignore[attr-defined]
    if seconds_of is None:
        spb = 60.0 / float(_check_positive("bpm", bpm) or 0.0)

        def seconds_of(b: np.ndarray) -> np.ndarray:  # noqa: F811
            return np.asarray(b, np.float64) * spb
    elif bpm is not None:
        _check_positive("bpm", bpm)
    o = _check_options(beats_per_bar=beats_per_bar, meter=meter, quantize=quantize, loop_start=loop_start,
                       loop_end=loop_end, resolution=resolution, max_span=max_span, min_rest=min_rest,
                       attack_tolerance=attack_tolerance, switch_penalty=switch_penalty)
    note_list = coerce_notes(notes)
    if sustain:
        note_list = apply_sustain(note_list, sustain)
    clip = _clip_notes(note_list, o)
    if len(clip.pitch) == 0 or clip.length <= 0:
        silence = [ChordMapping("silence", t.no_chord, True, "no notes")]
        return _progression([(t.no_chord, 0.0)], silence, o.lo, clip.length, seconds_of)
    rests = _find_rests(clip, o.min_rest)
    cells = _make_cells(clip, rests, o)
    spans = _segment(_score_spans(cells, t, o), cells.n)
    _absorb_short_silences(spans, cells.rest)
    beats, maps = _merge(spans, cells, t)
    return _progression(beats, maps, o.lo, clip.length, seconds_of)


def _progression(beats: list[tuple[str, float]], maps: list[ChordMapping], lo: float, length: float,
                 seconds_of: Callable[[np.ndarray], np.ndarray]) -> Progression:
    starts = np.array([b for _, b in beats], np.float64) + lo
    origin = float(np.asarray(seconds_of(np.array([lo])))[0])
    secs = np.asarray(seconds_of(starts), np.float64) - origin
    dur_s = float(np.asarray(seconds_of(np.array([lo + length])))[0] - origin)
    return Progression(
        beats=tuple((lab, float(b)) for lab, b in beats),
        seconds=tuple((lab, float(max(x, 0.0))) for (lab, _), x in zip(beats, secs, strict=True)),
        mappings=tuple(maps),
        duration_beats=float(length),
        duration_seconds=dur_s,
    )
