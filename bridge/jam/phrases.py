"""The phrase grid (N bars of ``beats_per_bar`` quarter notes) and the notes played in each phrase.

Notes arrive as note-on/off at song positions (beats); :class:`NoteBook` keeps the notes of the
phrase being played (a note still held at a boundary counts in both phrases) and hands them over,
relative to the phrase's start, when the phrase ends.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from core.errors import BadValue
from midi.notes import Note


@dataclass(frozen=True)
class PhraseGrid:
    bars: int = 4
    beats_per_bar: int = 4

    def __post_init__(self) -> None:
        for name, lo, hi in (("bars", 1, 64), ("beats_per_bar", 1, 32)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise BadValue(f"{name} must be a whole number {lo}..{hi}, got {value!r}")

    @property
    def beats(self) -> int:
        return self.bars * self.beats_per_bar

    def index(self, beat: float) -> int:
        """The phrase that ``beat`` lies in (phrase k spans ``[k * beats, (k + 1) * beats)``)."""
        return math.floor(beat / self.beats + 1e-9)

    def start(self, k: int) -> float:
        return float(k * self.beats)


EARLY_BEATS = 0.25  # a note struck this little (a sixteenth) before a phrase starts belongs to that phrase
LATE_BEATS = 0.25  # a note of the last phrase released this little after the boundary ended with it


class NoteBook:
    """Notes played per phrase; thread safe (MIDI thread writes, the jam reads). A note-on up to
    ``EARLY_BEATS`` before a boundary counts from the boundary (players strike a chord a hair early),
    a held note released up to ``LATE_BEATS`` after one ends at the boundary (players release a hair
    late, and a busy machine hears the release late)."""

    def __init__(self, grid: PhraseGrid) -> None:
        self.grid = grid
        self._lock = threading.Lock()
        self._open: dict[int, tuple[float, float]] = {}  # pitch -> (start beat, velocity)
        self._closed: list[tuple[int, float, float, float]] = []  # pitch, start, end, velocity

    def note_on(self, pitch: int, velocity: float, beat: float) -> None:
        nxt = self.grid.start(self.grid.index(beat) + 1)
        if nxt - beat <= EARLY_BEATS:
            beat = nxt
        with self._lock:
            if pitch in self._open:
                self._close_locked(pitch, beat)
            self._open[pitch] = (beat, velocity)

    def note_off(self, pitch: int, beat: float) -> None:
        start = self.grid.start(self.grid.index(beat))
        with self._lock:
            opened = self._open.get(pitch)
            if opened is not None and opened[0] < start < beat <= start + LATE_BEATS:
                beat = start  # held a hair into the next phrase (or heard late): it ended with its phrase
            self._close_locked(pitch, beat)

    def _close_locked(self, pitch: int, beat: float) -> None:
        opened = self._open.pop(pitch, None)
        if opened is not None and beat > opened[0]:
            self._closed.append((pitch, opened[0], beat, opened[1]))

    def take(self, k: int) -> list[Note]:
        """The notes of phrase ``k``, in beats from its start (held notes clipped to it); older ones dropped."""
        lo, hi = self.grid.start(k), self.grid.start(k + 1)
        out: list[Note] = []
        with self._lock:
            spans = list(self._closed) + [(p, s, hi, v) for p, (s, v) in self._open.items()]
            self._closed = [c for c in self._closed if c[2] > hi]
        for pitch, start, end, vel in spans:
            s, e = max(start, lo), min(end, hi)
            if e > s:
                out.append(Note(pitch, s - lo, e - s, vel))
        return out
