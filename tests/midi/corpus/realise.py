"""Play a lead sheet the way musicians do: block chords, arpeggios, a melody on top of the
harmony, a walking bass under comping, and four-part writing. Deterministic (seeded), pure
Python; every function returns :class:`midi.notes.Note` lists in beats.

The voicings follow ordinary practice: the bass plays the chord's bass (its root, or the note
after the slash), upper voices take the chord tones in close position around middle C, jazz
comping uses rootless three-and-seven voicings with the extensions written in the symbol, and
non-chord tones (passing tones, neighbours, appoggiaturas, 4-3 suspensions, chromatic approach
notes in the bass) sit where they usually sit: on weak beats or resolving by step.
"""

from __future__ import annotations

import itertools
import random
import zlib
from typing import Callable, Sequence

from midi.notes import Note
from midi.symbol_grammar import ChordSymbol, parse_symbol

from .songs import ARPEGGIO, BLOCK, FOUR_PART, MELODY, WALKING, Song

Chord = tuple[ChordSymbol, float, float]   # (symbol, start beat, beats)


def _seed(song: Song) -> int:
    return zlib.crc32(song.title.encode("utf-8")) % 1000


def _chords(song: Song) -> list[Chord]:
    return [(parse_symbol(sym), start, beats) for sym, start, beats in song.chords()]


def _near(pc: int, target: int) -> int:
    """The pitch of pitch class ``pc`` nearest ``target``."""
    base = target - (target - pc) % 12
    return base if target - base <= 6 else base + 12


def _bass_pc(c: ChordSymbol) -> int:
    return c.bass_pc if c.bass_pc is not None else int(c.root_pc or 0)


def _tones(c: ChordSymbol, *, extensions: bool = True) -> list[int]:
    """Chord-tone pitch classes, root first, extensions last (when asked for)."""
    root = int(c.root_pc or 0)
    ivs = [i for i in c.intervals if i < 12] + ([i for i in c.intervals if i >= 12] if extensions else [])
    out: list[int] = []
    for i in ivs:
        pc = (root + i) % 12
        if pc not in out:
            out.append(pc)
    return out


def _close(c: ChordSymbol, low: int = 52) -> list[int]:
    """Chord tones (with extensions) in close position from ``low`` up."""
    return sorted(low + (pc - low) % 12 for pc in _tones(c))


def _rootless(c: ChordSymbol) -> list[int]:
    """Jazz comping: third, seventh and the written extensions (or the fifth), no root."""
    root = int(c.root_pc or 0)
    core = [i for i in c.intervals if 0 < i < 12]
    ext = [i - 12 for i in c.intervals if i >= 12]
    picked = [i for i in core if i in (3, 4, 10, 11, 9)] + ext
    if len(picked) < 3:
        picked += [i for i in core if i not in picked]
    pcs = list(dict.fromkeys((root + i) % 12 for i in picked))
    return sorted(53 + (pc - 53) % 12 for pc in pcs)


def _bass(c: ChordSymbol, low: int = 36) -> int:
    return low + (_bass_pc(c) - low) % 12


# --- block chords ------------------------------------------------------------------------------
def block(song: Song) -> list[Note]:
    """Block chords: bass plus a close-position voicing (rootless for chords with extensions),
    struck on the chord and again on each half bar it lasts."""
    notes: list[Note] = []
    half = song.beats_per_bar / 2 if song.beats_per_bar % 2 == 0 else song.beats_per_bar
    for c, start, beats in _chords(song):
        upper = _rootless(c) if c.extensions else _close(c)
        t = start
        while t < start + beats - 1e-9:
            d = min(half, start + beats - t)
            notes += [Note(p, t, d * 0.95, 90) for p in [_bass(c)] + upper]
            t += d
    return notes


# --- arpeggios ---------------------------------------------------------------------------------
def _pattern_up(bass: int, upper: list[int], n: int) -> list[int]:
    seq = [bass] + upper + [upper[0] + 12]
    return [seq[k % len(seq)] for k in range(n)]


def _pattern_alberti(bass: int, upper: list[int], n: int) -> list[int]:
    lo, mid, hi = upper[0], upper[len(upper) // 2], upper[-1]
    return [[bass if k % 8 == 0 else lo, hi, mid, hi][k % 4] for k in range(n)]


def _pattern_updown(bass: int, upper: list[int], n: int) -> list[int]:
    seq = [bass] + upper + [upper[0] + 12] + upper[::-1][:-1] if len(upper) > 1 else [bass] + upper
    return [seq[k % len(seq)] for k in range(n)]


def arpeggio(song: Song, *, seed: int = 0) -> list[Note]:
    """Broken chords: eighth or sixteenth notes, up, up-down or Alberti, one pattern per song;
    the bass note starts each chord."""
    rng = random.Random(_seed(song) + seed)
    pattern = rng.choice((_pattern_up, _pattern_alberti, _pattern_updown))
    step = rng.choice((0.5, 0.25))
    notes: list[Note] = []
    for c, start, beats in _chords(song):
        upper = _close(c, 55)
        n = int(round(beats / step))
        for k, p in enumerate(pattern(_bass(c, 40), upper, n)):
            notes.append(Note(p, start + k * step, step, 80))
    return notes


# --- melody on top -----------------------------------------------------------------------------
def _between(a: int, b: int) -> int:
    """A passing note from ``a`` toward ``b`` (a step away from ``a``)."""
    if a == b:
        return a + 2 if a % 12 not in (4, 11) else a + 1   # an upper neighbour
    return a + (2 if b > a else -2) if abs(b - a) > 2 else a + (1 if b > a else -1)


def melody(song: Song, *, seed: int = 0) -> list[Note]:
    """Comping (a block chord on the downbeat, a stab on the and of two) with a melody on top:
    chord tones on the beats, passing and neighbour tones on the off-beats, and now and then
    an appoggiatura or a 4-3 suspension on a chord's first beat that resolves down by step."""
    rng = random.Random(_seed(song) + 17 + seed)
    notes: list[Note] = []
    prev = 74
    for ci, (c, start, beats) in enumerate(_chords(song)):
        upper = _rootless(c) if c.extensions else _close(c, 50)
        notes += [Note(_bass(c), start, beats * 0.9, 85)] + [Note(p, start, min(beats, 1.5) * 0.9, 75) for p in upper]
        if beats >= 3:
            notes += [Note(p, start + 2.5, 1.0, 70) for p in upper]
        tones = _tones(c)[:4]
        beat_notes = []
        for _beat in range(int(beats)):
            pc = rng.choice(tones)
            p = _near(pc, prev)
            p = p + 12 if p < 67 else p - 12 if p > 84 else p
            beat_notes.append(p)
            prev = p
        for k, p in enumerate(beat_notes):
            t = start + k
            first = k == 0 and ci % 2 == 1
            if first and beats >= 2:
                # appoggiatura / 4-3 suspension: a step above the chord tone, resolving down
                third = next((x for x in tones if (x - tones[0]) % 12 in (3, 4)), tones[0])
                res = _near(third, p)
                res = res + 12 if res < 67 else res
                notes += [Note(res + (1 if (third - tones[0]) % 12 == 4 else 2), t, 1.0, 100),
                          Note(res, t + 1.0, 0.5, 95)]
                continue
            if k == 1 and ci % 2 == 1 and beats >= 2:
                continue   # (the resolution above)
            nxt = beat_notes[k + 1] if k + 1 < len(beat_notes) else p
            if rng.random() < 0.6:
                notes += [Note(p, t, 0.5, 100), Note(_between(p, nxt), t + 0.5, 0.5, 90)]
            else:
                notes.append(Note(p, t, 1.0, 100))
    return notes


# --- walking bass ------------------------------------------------------------------------------
def walking(song: Song, *, seed: int = 0) -> list[Note]:
    """A walking bass in quarter notes (root on the chord's first beat, chord and scale tones,
    a chromatic approach to the next chord) under rootless comping struck on one, or on the
    and of one, and again on the and of two or three (Charleston and Red Garland rhythms)."""
    rng = random.Random(_seed(song) + 31 + seed)
    chords = _chords(song)
    notes: list[Note] = []
    prev = 40
    for ci, (c, start, beats) in enumerate(chords):
        nxt = chords[ci + 1][0] if ci + 1 < len(chords) else chords[0][0]
        root = _near(_bass_pc(c), prev)
        root = root + 12 if root < 33 else root - 12 if root > 50 else root
        tones = _tones(c, extensions=False)
        line = [root]
        for k in range(1, int(beats)):
            if k == int(beats) - 1:
                target = _near(_bass_pc(nxt), line[-1])
                line.append(target + rng.choice((-1, 1)))          # chromatic approach
            else:
                pc = rng.choice(tones[1:] or tones)
                line.append(_near(pc, line[-1] + rng.choice((-3, 3))))
        notes += [Note(p, start + k, 0.9, 95) for k, p in enumerate(line)]
        prev = line[-1]
        comp = _rootless(c)
        hit = start + (0.5 if ci % 3 == 1 else 0.0)
        notes += [Note(p, hit, 1.4, 70) for p in comp]
        if beats >= 3:
            notes += [Note(p, start + rng.choice((1.5, 2.5)), 1.0, 65) for p in comp]
    return notes


# --- four-part writing -------------------------------------------------------------------------
_RANGES = ((48, 67), (55, 74), (60, 81))   # tenor, alto, soprano


def _satb(c: ChordSymbol, prev: Sequence[int] | None) -> list[int]:
    """Tenor, alto, soprano for ``c`` over its bass: every chord tone that matters (root, third,
    seventh; the fifth when there is room), nearest the previous voicing, no crossing."""
    tones = _tones(c, extensions=False)
    root, third = tones[0], tones[1] if len(tones) > 1 else tones[0]
    need = {root, third} | ({tones[3]} if len(tones) > 3 else set())
    if c.bass_pc is not None and c.bass_pc in need and len(tones) == 3:
        need.discard(c.bass_pc)   # do not double the bass of an inversion when avoidable
    best: tuple[float, list[int]] | None = None
    prev = list(prev) if prev is not None else [55, 60, 67]
    for pcs in itertools.product(tones, repeat=3):
        if not need <= set(pcs) | ({c.bass_pc} if c.bass_pc is not None and c.bass_pc not in (root, third) else set()):
            continue
        voices = []
        ok = True
        for v, pc in enumerate(pcs):
            p = _near(pc, prev[v])
            lo, hi = _RANGES[v]
            p = p + 12 if p < lo else p - 12 if p > hi else p
            voices.append(p)
        if not (voices[0] < voices[1] < voices[2]) or voices[2] - voices[0] > 19:
            ok = False
        if ok:
            cost = sum(abs(a - b) for a, b in zip(voices, prev, strict=True)) + (0 if len(set(pcs)) == len(pcs) else 1)
            if best is None or cost < best[0]:
                best = (cost, voices)
    if best is None:
        return sorted(_near(pc, 62) for pc in tones[:3])
    return best[1]


def four_part(song: Song) -> list[Note]:
    """Four-part writing: the bass takes the written bass (inversions as written), the upper
    voices move by the nearest way; where a voice leaps a third it passes through the note
    between on the last eighth of the chord (a passing tone)."""
    notes: list[Note] = []
    chords = _chords(song)
    prev: list[int] | None = None
    voicings = []
    for c, _start, _beats in chords:
        prev = _satb(c, prev)
        voicings.append(prev)
    for ci, (c, start, beats) in enumerate(chords):
        bass = 40 + (_bass_pc(c) - 40) % 12
        notes.append(Note(bass, start, beats, 90))
        nxt = voicings[ci + 1] if ci + 1 < len(chords) else None
        for v, p in enumerate(voicings[ci]):
            if nxt is not None and abs(nxt[v] - p) in (3, 4) and beats >= 2 and v in (1, 2):
                passing = (p + nxt[v] + 1) // 2   # the note between (a passing tone)
                notes += [Note(p, start, beats - 0.5, 80), Note(passing, start + beats - 0.5, 0.5, 80)]
            else:
                notes.append(Note(p, start, beats, 80))
    return notes


REALISERS: dict[str, Callable[[Song], list[Note]]] = {
    BLOCK: block, ARPEGGIO: arpeggio, MELODY: melody, WALKING: walking, FOUR_PART: four_part,
}
