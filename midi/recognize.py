"""Chord recognition from notes: segment a clip into chord spans and name each span.

The method (all numpy, no per-note Python work in the hot path):

1. **Clip and grid.** Notes are cut to the loop range ``[loop_start, loop_end)`` and,
   with ``quantize``, snapped to that beat grid. Muted and velocity-0 notes are ignored.
2. **Rests.** Where nothing sounds for at least ``min_rest`` beats (before the first
   note: a quarter beat) the span is ``N``. Shorter gaps (staccato) belong to the chord around them.
3. **Cells.** The timeline is cut into cells at every ``resolution`` beats, at every
   *block attack* (two or more notes starting within ``attack_tolerance``) and at the
   edges of rests. A cell holds, per pitch class, how many note-beats sound in it, and
   its lowest note, which counts ``BASS`` times again (the bass tells the root: D under
   F-A-C-E is Dm9, read ``Dm7``, not Fmaj7).
4. **Template scoring.** Every vocabulary label is a pitch-class template (slash labels
   add their bass). A span's fit to a label is ``in - alpha*out - beta*missing/size +
   bass - beta_cell*missing_in_cells``: the share of note-beats on chord tones, minus the
   share on other tones, minus the fraction of chord tones never heard; ``bass`` is a
   small bonus when the lowest note is the root of a root-position label (slash labels
   are only eligible when the lowest note is their bass), and the last term asks the
   chord to be complete in every cell that holds three or more pitch classes, so that
   Am followed by F is not read as one Fmaj7. A C-E-G-A voicing over C is ``C6``, over
   A ``Am7``; an inversion the vocabulary has no slash label for gets a label with the
   same notes (usually its root position).
5. **Segmentation.** A dynamic programme picks the cut of the cells into spans (none
   longer than ``max_span`` beats, none across a rest) that maximises
   ``sum(fit * span_beats) - sum(change costs)``. A change costs ``switch_penalty`` on a
   bar line or half bar, 1.5x on other beats and 2x between beats, except where a chord
   (three or more notes) is struck or a rest begins; and ``HOLD`` x more where two or more
   notes are held over the boundary and nothing is struck above the lowest of them (a held
   chord does not change under a walking bass). Because a span's pitch classes are pooled over its cells, broken
   chords and arpeggios are recognised as the chord they outline, while block chords
   change exactly where they are struck.
6. **Merge.** Consecutive spans with the same label become one.

Defaults: ``resolution`` 1 beat, ``max_span`` one bar, ``min_rest`` 1 beat,
``attack_tolerance`` 1/16 beat, ``switch_penalty`` 0.5. 10,000 notes take about 25 ms of
CPU time (``bench/midi.py``).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from core.errors import BadValue, VocabularyError
from midi.notes import Note, coerce_notes, note_arrays
from midi.notes import check_positive as _check_positive
from midi.symbols import ChordMapping, analyse_vocabulary

PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# scoring constants (see the module doc)
ALPHA = 1.0          # weight of note-beats on tones outside the chord
BETA = 0.8           # penalty for the fraction of chord tones never heard in the span
BETA_CELL = 0.8      # ... and in each full cell (>= 3 pitch classes) of it: a span must be one chord
GAMMA = 0.1          # bonus when the lowest note is the root of a root-position label
HOLD = 2.0           # extra cost of a change under held notes where only the bass moves
BASS = 1.0           # the lowest note of a cell counts this much again (Dm9 voiced F-A-C-E over D is Dm7)
SLASH_MISMATCH = -3.0  # a slash label whose bass is not the lowest note: not eligible
LEADING_REST = 0.25  # silence before the first note that counts as a rest (beats)
_SINGLE_THREAD_MNK = 262_143  # OpenBLAS runs a GEMM below this m*n*k on the calling thread
_ROW_HASH = np.random.default_rng(20240601).integers(1, 2**63, 64, dtype=np.uint64) | np.uint64(1)
PRESENT = 0.03       # a pitch class counts as heard above this share of the span's note-beats


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


@dataclass(frozen=True)
class _Templates:
    labels: tuple[str, ...]
    mask: np.ndarray       # [12, K] 1 on chord tones
    weights: np.ndarray    # [12 + 12 + 13 + 1 + 12 + 1, K]
    #                        fit = [shares, heard, bass one-hot, 1, cell-heard, cell-time] @ weights
    no_chord: str


@functools.lru_cache(maxsize=16)
def _templates(labels: tuple[str, ...]) -> _Templates:
    an = analyse_vocabulary(labels)
    entries = an.entries
    k = len(entries)
    if k == 0:
        raise VocabularyError(f"the chord vocabulary ({len(labels)} labels) names no chords to recognise")
    mask = np.zeros((12, k), np.float32)
    bass = np.zeros((13, k), np.float32)
    order = np.zeros(k, np.float32)
    for j, e in enumerate(entries):
        for pc in e.pitch_classes:
            mask[pc, j] = 1.0
        if e.bass_pc is None:
            bass[e.root_pc, j] = GAMMA
        else:
            bass[:12, j] = SLASH_MISMATCH
            bass[e.bass_pc, j] = GAMMA
            order[j] += 1e-3
        order[j] += 1e-6 * e.index
    size = mask.sum(axis=0)
    # in - ALPHA*out on the shares; -BETA * (size - heard tones) / size; bass term; tie-break
    weights = np.concatenate([
        mask - ALPHA * (1.0 - mask),
        BETA * mask / size,
        bass,
        (-BETA - order)[None, :],
        BETA_CELL * mask / size,
        np.full((1, k), -BETA_CELL, np.float32),
    ]).astype(np.float32)
    return _Templates(tuple(e.label for e in entries), mask, np.ascontiguousarray(weights), an.no_chord or "N")


def _fits(
    t: _Templates,
    v: np.ndarray,
    bass_pc: np.ndarray,
    cell_heard: np.ndarray | None = None,
    cell_time: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best label index and fit for each row of pitch-class weights ``v`` [R, 12].

    ``cell_heard`` [R, 12]: per pitch class, the share of the span's time in full cells
    where it was heard; ``cell_time`` [R]: the share of the span's time in full cells."""
    r = len(v)
    x = np.zeros((r, 51), np.float32)
    if cell_heard is not None and cell_time is not None:
        x[:, 38:50] = cell_heard
        x[:, 50] = cell_time
    total = v.sum(axis=1, keepdims=True)
    vn = v / np.maximum(total, 1e-12)
    x[:, :12] = vn
    x[:, 12:24] = vn > PRESENT
    x[np.arange(r), 24 + bass_pc] = 1.0
    x[:, 37] = 1.0
    if r > 64:
        # repeated chords give identical rows: score each distinct row once
        keys = (x.view(np.uint32).astype(np.uint64) * _ROW_HASH[: x.shape[1]]).sum(axis=1)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if len(uniq) < r and np.array_equal(x[first][inverse], x):  # (a hash collision: no shortcut)
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
    best = fit.argmax(axis=1)
    return best, fit[np.arange(len(best)), best]


def classify(pitches: Iterable[int], vocab: object) -> tuple[str, float]:
    """Name one set of sounding MIDI pitches (used for live input): ``(label, fit)``."""
    t = _templates(tuple(vocab.labels))  # type: ignore[attr-defined]
    ps = [int(p) for p in pitches]
    if not ps:
        return t.no_chord, 1.0
    v = np.zeros((1, 12), np.float64)
    for p in ps:
        v[0, p % 12] += 1.0
    v[0, min(ps) % 12] += BASS   # as in recognize(): the bass counts again
    best, fit = _fits(t, v, np.array([min(ps) % 12]))
    return t.labels[int(best[0])], float(fit[0])


def apply_sustain(notes: Sequence[Note], pedal: Sequence[tuple[float, float]]) -> tuple[Note, ...]:
    """Hold notes released while the sustain pedal is down until the pedal comes up.

    ``pedal``: (down, up) intervals in beats. A held note never runs past the next onset
    of the same pitch (the re-struck key cuts it)."""
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


def recognize(
    notes: Iterable[Note] | object,
    *,
    bpm: float | None,
    vocab: object,
    beats_per_bar: float = 4,
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
    """
    t = _templates(tuple(vocab.labels))  # type: ignore[attr-defined]
    if seconds_of is None:
        spb = 60.0 / float(_check_positive("bpm", bpm) or 0.0)

        def seconds_of(b: np.ndarray) -> np.ndarray:  # noqa: F811
            return np.asarray(b, np.float64) * spb
    elif bpm is not None:
        _check_positive("bpm", bpm)
    _check_positive("beats_per_bar", beats_per_bar)
    q = _check_positive("quantize", quantize, allow_none=True)
    res = float(_check_positive("resolution", resolution) or 0.0)
    span_max = _check_positive("max_span", max_span, allow_none=True) or float(beats_per_bar)
    _check_positive("min_rest", min_rest)
    _check_positive("attack_tolerance", attack_tolerance)
    if isinstance(switch_penalty, bool) or not isinstance(switch_penalty, numbers.Real) \
            or not 0 <= float(switch_penalty) < math.inf:
        raise BadValue(f"switch_penalty must be a number >= 0, got {switch_penalty!r}")
    if isinstance(loop_start, bool) or not isinstance(loop_start, numbers.Real) \
            or not math.isfinite(float(loop_start)) or loop_start < 0:
        raise BadValue(f"loop_start must be a number >= 0 beats, got {loop_start!r}")
    if loop_end is not None:
        if isinstance(loop_end, bool) or not isinstance(loop_end, numbers.Real) or not math.isfinite(float(loop_end)):
            raise BadValue(f"loop_end must be a number of beats, got {loop_end!r}")
        if loop_end <= loop_start:
            raise BadValue(f"loop_end ({loop_end}) must be after loop_start ({loop_start})")
    note_list = coerce_notes(notes)
    if sustain:
        note_list = apply_sustain(note_list, sustain)
    pitch, start, end = note_arrays(note_list)

    # 1. clip to the loop range
    lo = float(loop_start)
    hi = float(loop_end) if loop_end is not None else (float(end.max()) if len(end) else lo)
    keep = (end > lo) & (start < hi)
    pitch, start, end = pitch[keep], np.maximum(start[keep], lo) - lo, np.minimum(end[keep], hi) - lo
    length = max(hi - lo, 0.0)   # (a loop that starts after the last note: silence)
    if q is not None and len(start):
        start = np.round(start / q) * q
        end = np.maximum(np.round(end / q) * q, start + q)
        end = np.minimum(end, max(length, q))
        length = max(length, float(end.max()))
    no_chord = t.no_chord

    def finish(beats: list[tuple[str, float]], maps: list[ChordMapping]) -> Progression:
        starts = np.array([b for _, b in beats], np.float64) + lo
        secs = np.asarray(seconds_of(starts), np.float64) - float(np.asarray(seconds_of(np.array([lo])))[0])
        dur_s = float(np.asarray(seconds_of(np.array([lo + length])))[0] - np.asarray(seconds_of(np.array([lo])))[0])
        return Progression(
            beats=tuple((lab, float(b)) for lab, b in beats),
            seconds=tuple((lab, float(max(s, 0.0))) for (lab, _), s in zip(beats, secs, strict=True)),
            mappings=tuple(maps),
            duration_beats=float(length),
            duration_seconds=dur_s,
        )

    if len(pitch) == 0 or length <= 0:
        return finish([(no_chord, 0.0)], [ChordMapping("silence", no_chord, True, "no notes")])

    # 2. rests: gaps in the union of note spans
    order = np.argsort(start, kind="stable")
    s_sorted, e_sorted = start[order], end[order]
    covered_to = np.maximum.accumulate(e_sorted)
    gap_lo = np.concatenate(([0.0], covered_to))
    gap_hi = np.concatenate((s_sorted, [length]))
    gap = gap_hi - gap_lo
    is_rest = gap >= min_rest
    is_rest[0] = gap[0] >= min(min_rest, LEADING_REST)   # before the first note
    rests = np.stack([gap_lo[is_rest], gap_hi[is_rest]], axis=1) if is_rest.any() else np.zeros((0, 2))

    # 3. cells: grid + block attacks + rest edges
    tol = attack_tolerance
    if len(s_sorted) > 1:
        new_cluster = np.concatenate(([True], np.diff(s_sorted) > tol))
        cluster_id = np.cumsum(new_cluster) - 1
        sizes = np.bincount(cluster_id)
        attacks = s_sorted[new_cluster][sizes >= 2]
        chord_hits = s_sorted[new_cluster][sizes >= 3]
    else:
        attacks = chord_hits = np.zeros(0)
    strong = np.unique(np.concatenate((attacks, rests.ravel())))
    strong = strong[(strong > 0) & (strong < length)]
    grid = np.arange(1, int(math.ceil(length / res - 1e-9))) * res
    if len(strong) and len(grid):
        grid = grid[_nearest_distance(grid, strong) > tol]
    bounds = np.unique(np.concatenate(([0.0, length], grid, strong)))
    n = len(bounds) - 1
    # metrical prior: a chord change costs least on a bar line or half bar, more on a beat,
    # most between beats, unless a chord is struck there (or a rest begins or ends)
    def near(x: np.ndarray, unit: float) -> np.ndarray:
        return np.abs(x / unit - np.round(x / unit)) * unit <= tol
    change_cost = np.where(near(bounds, float(beats_per_bar) / 2), 1.0, np.where(near(bounds, 1.0), 1.5, 2.0))
    hits = np.concatenate((chord_hits, rests.ravel()))
    if len(hits):
        struck = _nearest_distance(bounds, np.unique(hits)) <= tol
        change_cost[struck] = np.minimum(change_cost[struck], 1.0)
    change_cost *= switch_penalty
    rest_cell = np.zeros(n, bool)
    if len(rests):
        mid = (bounds[:-1] + bounds[1:]) / 2
        ri = np.searchsorted(rests[:, 0], mid, side="right") - 1
        ok = ri >= 0
        rest_cell[ok] = mid[ok] < rests[ri[ok], 1]

    # cell pitch-class weights: integral of sounding notes over each cell, per pitch class
    # (all 12 pitch classes at once: times are offset by pc * stride so one sort serves all)
    pcs = (pitch % 12).astype(np.int64)
    stride = float(bounds[-1]) + 1.0
    offs = np.arange(12)[:, None] * stride
    s_key = np.sort(pcs * stride + start)
    e_key = np.sort(pcs * stride + end)
    csum_s = np.concatenate(([0.0], np.cumsum(s_key)))
    csum_e = np.concatenate(([0.0], np.cumsum(e_key)))
    q = offs + bounds[None, :]                              # [12, n + 1]
    lo_s = np.searchsorted(s_key, offs[:, 0])[:, None]       # first note of each pitch class
    lo_e = np.searchsorted(e_key, offs[:, 0])[:, None]
    ks = np.searchsorted(s_key, q)
    ke = np.searchsorted(e_key, q)
    # sum over notes of clip(b - s, 0, d): (b - s) for started notes minus (b - e) for ended ones
    started = q * (ks - lo_s) - (csum_s[ks] - csum_s[lo_s])
    ended = q * (ke - lo_e) - (csum_e[ke] - csum_e[lo_e])
    weights = np.diff(started - ended, axis=1).T             # [n, 12]
    # cell lowest note (notes that fill a good part of the cell)
    i0 = np.searchsorted(bounds, start, side="right") - 1
    i1 = np.maximum(np.searchsorted(bounds, end, side="left"), i0 + 1)
    counts = i1 - i0
    rep = np.repeat(np.arange(len(start)), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    cell = i0[rep] + (np.arange(len(rep)) - offsets)
    cell = np.minimum(cell, n - 1)
    overlap = np.minimum(end[rep], bounds[cell + 1]) - np.maximum(start[rep], bounds[cell])
    cell_len = bounds[cell + 1] - bounds[cell]
    dur = end[rep] - start[rep]
    good = (overlap >= 0.25 * cell_len) | (overlap >= 0.5 * dur)
    cell_bass = np.full(n, 128, np.int16)
    np.minimum.at(cell_bass, cell[good], pitch[rep][good])
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
    change_cost = change_cost + HOLD * switch_penalty * ((held_n >= 2) & (struck_high < held_low))

    # full cells (>= 3 pitch classes heard): a span's chord should be complete in each of them
    cell_len_all = np.diff(bounds)
    cell_tot = weights.sum(axis=1, keepdims=True)
    cell_present = weights > PRESENT * np.maximum(cell_tot, 1e-12)
    rich = (cell_present.sum(axis=1) >= 3).astype(np.float64) * cell_len_all
    cum_heard = np.concatenate((np.zeros((1, 12)), np.cumsum(cell_present * rich[:, None], axis=0)))
    cum_rich = np.concatenate(([0.0], np.cumsum(rich)))
    # the bass weighs more than an upper voice: it tells the root (a bass player's D under F-A-C-E)
    is_low = good & (pitch[rep] == cell_bass[cell])
    np.add.at(weights, (cell[is_low], pitch[rep][is_low] % 12), BASS * overlap[is_low])

    # 4. every candidate span (i, l): pooled weights, lowest note, fit
    lmax = max(1, int(math.ceil(span_max / res)) + 2)
    lmax = min(lmax, n)
    cum = np.concatenate((np.zeros((1, 12)), np.cumsum(weights, axis=0)))
    rest_count = np.concatenate(([0], np.cumsum(rest_cell)))
    seg_scores: list[np.ndarray] = []
    seg_labels: list[np.ndarray] = []
    seg_fit: list[np.ndarray] = []
    low = cell_bass.copy()
    for ln in range(1, lmax + 1):
        m = n - ln + 1
        if ln > 1:
            low = np.minimum(low[:m], cell_bass[ln - 1:])
        ii = np.arange(m)
        v = cum[ln:] - cum[:m]
        span = bounds[ln:] - bounds[:m]
        valid = np.ones(m, bool)
        if ln > 1:
            valid &= span <= span_max + 1e-9
            valid &= (rest_count[ii + ln] - rest_count[ii]) == 0
        total = v.sum(axis=1)
        sounding = valid & (total > 0) & ~((ln == 1) & rest_cell[:m])
        labels = np.full(m, -1, np.int64)
        fit = np.zeros(m)
        if sounding.any():
            bass_pc = np.where(low[sounding] < 128, low[sounding] % 12, 12).astype(np.int64)
            sp = span[sounding][:, None]
            rows = np.nonzero(sounding)[0]
            heard_share = (cum_heard[rows + ln] - cum_heard[rows]) / sp
            time_share = (cum_rich[rows + ln] - cum_rich[rows]) / sp[:, 0]
            lab, bfit = _fits(t, v[sounding], bass_pc, heard_share, time_share)
            labels[sounding] = lab
            fit[sounding] = bfit
        score = np.where(valid, fit * span - change_cost[:m], -np.inf)
        silent = valid & ~sounding
        score[silent] = np.where(rest_cell[:m][silent], 0.0, -change_cost[:m][silent])
        seg_scores.append(score)
        seg_labels.append(labels)
        seg_fit.append(fit)

    # 5. dynamic programme over cell boundaries
    best = [0.0] * (n + 1)
    back = [1] * (n + 1)
    score_lists = [sc.tolist() for sc in seg_scores]
    neg_inf = -math.inf
    for j in range(1, n + 1):
        bj = neg_inf
        bl = 1
        for ln in range(1, (lmax if lmax < j else j) + 1):
            i = j - ln
            cand = best[i] + score_lists[ln - 1][i]
            if cand > bj:
                bj = cand
                bl = ln
        best[j] = bj
        back[j] = bl
    spans: list[tuple[int, int, int, float]] = []
    j = n
    while j > 0:
        ln = back[j]
        spans.append((j - ln, j, int(seg_labels[ln - 1][j - ln]), float(seg_fit[ln - 1][j - ln])))
        j -= ln
    spans.reverse()

    # a silent stretch too short to be a rest belongs to the chord before it (or after it, at the start)
    for idx, (i, j, k, _f) in enumerate(spans):
        if k < 0 and not rest_cell[i:j].any():
            prev = spans[idx - 1] if idx > 0 else None
            nxt = spans[idx + 1] if idx + 1 < len(spans) else None
            if prev is not None and prev[2] >= 0:
                spans[idx] = (i, j, prev[2], prev[3])
            elif nxt is not None and nxt[2] >= 0:
                spans[idx] = (i, j, nxt[2], nxt[3])

    # 6. merge repeats
    beats: list[tuple[str, float]] = []
    ranges: list[list[int]] = []
    fit_sum: list[float] = []
    for i, j, k, f in spans:
        label = t.labels[k] if k >= 0 else no_chord
        w = float(bounds[j] - bounds[i])
        if beats and beats[-1][0] == label:
            ranges[-1][1] = j
            fit_sum[-1] += f * w
            continue
        beats.append((label, float(bounds[i])))
        ranges.append([i, j])
        fit_sum.append(f * w)
    maps: list[ChordMapping] = []
    rng = np.array(ranges, np.int64)
    vs = cum[rng[:, 1]] - cum[rng[:, 0]]
    lows = np.minimum.reduceat(cell_bass, rng[:, 0])   # ranges tile 0..n, so reduceat works
    totals = vs.sum(axis=1)
    heard = vs > PRESENT * np.maximum(totals, 1e-12)[:, None]
    index_of = {lab: k for k, lab in enumerate(t.labels)}
    kidx = np.array([index_of.get(label, -1) for label, _ in beats])
    exact = (heard == (t.mask.T[np.maximum(kidx, 0)] > 0)).all(axis=1).tolist()
    bits = (heard.astype(np.int64) << np.arange(12)).sum(axis=1).tolist()
    lows_l = lows.tolist()
    span_beats = (bounds[rng[:, 1]] - bounds[rng[:, 0]]).tolist()
    kidx_l = kidx.tolist()
    described: dict[tuple[int, int], str] = {}
    for r, (label, _) in enumerate(beats):
        key = (bits[r], lows_l[r])
        desc = described.get(key)
        if desc is None:
            names = [PC_NAMES[pc] for pc in range(12) if bits[r] >> pc & 1]
            desc = "-".join(names) if names else "silence"
            if lows_l[r] < 128:
                desc += f" (bass {PC_NAMES[lows_l[r] % 12]})"
            described[key] = desc
        if kidx_l[r] < 0:
            maps.append(ChordMapping(desc, label, True, "rest"))
            continue
        fit = fit_sum[r] / max(span_beats[r], 1e-12)
        maps.append(ChordMapping(desc, label, exact[r], f"template fit {fit:.2f}"
                                 + ("" if exact[r] else " (nearest vocabulary chord)")))
    return finish(beats, maps)


def _nearest_distance(grid: np.ndarray, strong: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(strong, grid), 1, len(strong) - 1) if len(strong) > 1 else np.zeros(len(grid), int)
    left = strong[np.maximum(idx - 1, 0)]
    right = strong[idx]
    return np.minimum(np.abs(grid - left), np.abs(grid - right))
