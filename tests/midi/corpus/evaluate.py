"""Score chord recognition and the symbol parser on the corpus, per category.

Recognition is scored the way chord-estimation papers do (weighted chord symbol recall): the
share of time, sampled every eighth note, where the recognised label is the expected one.
Symbols are scored per symbol: the label and the exact flag both as listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from midi.symbol_mapping import map_symbol

from .realise import REALISERS
from .songs import ARPEGGIO, BLOCK, FOUR_PART, MELODY, SONGS, WALKING, Song
from .symbols import SYMBOLS

SYMBOLS_CATEGORY = "symbols"
CATEGORIES = (BLOCK, ARPEGGIO, MELODY, WALKING, FOUR_PART, SYMBOLS_CATEGORY)
STEP = 0.5   # beats between samples


@dataclass(frozen=True)
class Score:
    category: str
    correct: float
    total: float
    misses: tuple[str, ...]   # "song: expected -> got @ beat" for the first wrong samples

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0


def _label_at(beats: tuple[tuple[str, float], ...], t: np.ndarray) -> list[str]:
    starts = np.array([b for _, b in beats])
    idx = np.searchsorted(starts, t, side="right") - 1
    return [beats[max(i, 0)][0] for i in idx]


def expected_labels(song: Song, vocab: Any) -> list[tuple[str, float, float]]:
    return [(map_symbol(sym, vocab).label, start, beats) for sym, start, beats in song.chords()]


def score_song(song: Song, style: str, vocab: Any, recognize: Callable[..., Any]) -> tuple[int, int, list[str]]:
    notes = REALISERS[style](song)
    prog = recognize(notes, bpm=120.0, vocab=vocab, beats_per_bar=song.beats_per_bar)
    correct = total = 0
    misses: list[str] = []
    for label, start, beats in expected_labels(song, vocab):
        t = start + STEP / 2 + np.arange(int(round(beats / STEP))) * STEP
        got = _label_at(prog.beats, t)
        ok = sum(g == label for g in got)
        correct += ok
        total += len(got)
        if ok < len(got):
            wrong = next(g for g in got if g != label)
            misses.append(f"{song.title} [{style}]: {label} -> {wrong} @ {start:g}")
    return correct, total, misses


def evaluate(vocab: Any, recognize: Callable[..., Any] | None = None) -> dict[str, Score]:
    """Per-category scores of ``recognize`` (default: :func:`midi.recognize.recognize`)."""
    if recognize is None:
        from midi.recognize import recognize as default

        recognize = default
    out: dict[str, Score] = {}
    for style in CATEGORIES[:-1]:
        correct = total = 0
        misses: list[str] = []
        for song in SONGS:
            if style in song.styles:
                c, t, m = score_song(song, style, vocab, recognize)
                correct += c
                total += t
                misses += m
        out[style] = Score(style, correct, total, tuple(misses))
    out[SYMBOLS_CATEGORY] = score_symbols(vocab)
    return out


def score_symbols(vocab: Any, mapper: Callable[[str, Any], Any] = map_symbol) -> Score:
    correct = 0
    misses: list[str] = []
    for text, label, exact in SYMBOLS:
        try:
            m = mapper(text, vocab)
        except Exception as exc:  # scoring an older parser too: its crash is a miss, not an abort
            misses.append(f"{text}: {label} -> {type(exc).__name__}")
            continue
        if (m.label, m.exact) == (label, exact):
            correct += 1
        else:
            misses.append(f"{text}: {label}{'' if exact else '~'} -> {m.label}{'' if m.exact else '~'}")
    return Score(SYMBOLS_CATEGORY, correct, len(SYMBOLS), tuple(misses))
