"""The jam's beat clock: song position (quarter notes) as a function of monotonic time.

:class:`InternalClock` runs at a bpm from when it is started; :class:`MidiClockFollower` follows a
host's MIDI clock (:class:`midi.clock.MidiClock`: Start, Continue, Stop, Song Position, tempo from the
ticks) and predicts the position between and after ticks at the measured tempo, so the player can
place a phrase boundary on the sample where it will sound.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from core.errors import BadValue
from midi.clock import MAX_BPM, MIN_BPM, MidiClock


class BeatClock(Protocol):
    def running(self) -> bool: ...
    def tempo(self) -> float: ...
    def beat_at(self, now: float) -> float: ...
    def time_of_beat(self, beat: float) -> float: ...


def check_bpm(bpm: object) -> float:
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not MIN_BPM <= float(bpm) <= MAX_BPM:
        raise BadValue(f"bpm must be {MIN_BPM:g}..{MAX_BPM:g}, got {bpm!r}")
    return float(bpm)


class InternalClock:
    """A clock of our own at ``bpm``: beat 0 at ``start()``; ``set_tempo`` keeps the position continuous."""

    def __init__(self, bpm: float) -> None:
        self._bpm = check_bpm(bpm)
        self._lock = threading.Lock()
        self._anchor: tuple[float, float] | None = None  # (time, beat)

    def start(self, at: float | None = None) -> None:
        with self._lock:
            self._anchor = (time.monotonic() if at is None else at, 0.0)

    def set_tempo(self, bpm: float) -> None:
        bpm = check_bpm(bpm)
        with self._lock:
            if self._anchor is not None:
                now = time.monotonic()
                self._anchor = (now, self._beat_locked(now))
            self._bpm = bpm

    def _beat_locked(self, now: float) -> float:
        t0, b0 = self._anchor if self._anchor is not None else (now, 0.0)
        return b0 + (now - t0) * self._bpm / 60.0

    def running(self) -> bool:
        return self._anchor is not None

    def tempo(self) -> float:
        return self._bpm

    def beat_at(self, now: float) -> float:
        with self._lock:
            return 0.0 if self._anchor is None else self._beat_locked(now)

    def time_of_beat(self, beat: float) -> float:
        with self._lock:
            t0, b0 = self._anchor if self._anchor is not None else (time.monotonic(), 0.0)
            return t0 + (beat - b0) * 60.0 / self._bpm


class MidiClockFollower:
    """A host's MIDI clock: ``feed`` every message (any thread); positions predicted at the measured tempo."""

    def __init__(self, fallback_bpm: float = 120.0) -> None:
        self._clock = MidiClock(check_bpm(fallback_bpm))
        self._lock = threading.Lock()
        self.generation = 0  # bumped by Start, Continue and Song Position: the player resynchronises

    def feed(self, message: list[int], now: float) -> str | None:
        with self._lock:
            event = self._clock.feed(message, now)
            if event is not None and event.kind in ("start", "continue", "position"):
                self.generation += 1
            return None if event is None else event.kind

    def running(self) -> bool:
        with self._lock:
            return self._clock.running

    def tempo(self) -> float:
        with self._lock:
            return self._clock.tempo()

    def _anchor_locked(self, now: float) -> tuple[float, float]:
        c = self._clock
        if c.last_tick_time is None or not c.running or c.waiting:
            return now, c.beat
        return c.last_tick_time, c.beat

    def beat_at(self, now: float) -> float:
        with self._lock:
            t0, b0 = self._anchor_locked(now)
            if not self._clock.running or self._clock.waiting:
                return b0
            return b0 + max(0.0, now - t0) * self._clock.tempo() / 60.0

    def time_of_beat(self, beat: float) -> float:
        with self._lock:
            t0, b0 = self._anchor_locked(time.monotonic())
            return t0 + (beat - b0) * 60.0 / self._clock.tempo()
