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

import numpy as np

from core.errors import BadValue

from midi.clock import MAX_BPM, MIN_BPM, TICKS_PER_BEAT, MidiClock


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


TEMPO_WINDOW = 24  # ticks (one beat) for the tempo's least-squares line
ENVELOPE_WINDOW = 12  # ticks (half a beat) whose earliest arrival anchors the line


class MidiClockFollower:
    """A host's MIDI clock: ``feed`` every message (any thread) with its arrival time; positions predicted.

    Ticks arrive late by a varying amount (MIDI transport, scheduling on a loaded machine), never early.
    So the tick times are fitted with a straight line (least squares over the last beat: the period,
    hence the tempo) and the line is moved down to the *earliest* arrival of the last half beat (the
    lower envelope): a tick that came late does not make the predicted boundaries late.
    ``time_of_beat`` is the clock's position-to-time map the player schedules boundaries with.
    """

    def __init__(self, fallback_bpm: float = 120.0) -> None:
        self._clock = MidiClock(check_bpm(fallback_bpm))
        self._lock = threading.Lock()
        self._ticks: list[tuple[int, float]] = []  # (tick position, arrival) since the last Start/Continue/SPP
        self.generation = 0  # bumped by Start, Continue and Song Position: the player resynchronises

    def feed(self, message: list[int], now: float) -> str | None:
        with self._lock:
            event = self._clock.feed(message, now)
            if event is None:
                return None
            if event.kind in ("start", "continue", "position", "stop"):
                self._ticks.clear()
                if event.kind != "stop":
                    self.generation += 1
            elif event.kind in ("tick", "first", "running"):
                self._ticks.append((event.tick, now))
                if len(self._ticks) > TEMPO_WINDOW:
                    del self._ticks[0]
            return event.kind

    def running(self) -> bool:
        """The song moves: started or continued, and its first tick has come (silence until then)."""
        with self._lock:
            return self._clock.running and not self._clock.waiting

    def _period_locked(self) -> float:
        """Seconds per tick: the least-squares slope of the last beat's ticks (or the clock's estimate)."""
        ticks = self._ticks
        if len(ticks) >= 7:
            p = np.array([t[0] for t in ticks], np.float64)
            t = np.array([t[1] for t in ticks], np.float64)
            p -= p.mean()
            denom = float(p @ p)
            if denom > 0:
                slope = float(p @ (t - t.mean())) / denom
                if 60.0 / (MAX_BPM * TICKS_PER_BEAT) <= slope <= 60.0 / (MIN_BPM * TICKS_PER_BEAT):
                    return slope
        return 60.0 / (self._clock.tempo() * TICKS_PER_BEAT)

    def tempo(self) -> float:
        with self._lock:
            return 60.0 / (self._period_locked() * TICKS_PER_BEAT)

    def _anchor_locked(self, now: float) -> tuple[float, float, float]:
        """(time, beat, seconds per beat) of the line the position follows."""
        period = self._period_locked()
        c = self._clock
        if not self._ticks or not c.running or c.waiting:
            return now, c.beat, period * TICKS_PER_BEAT
        last = self._ticks[-1][0]
        t0 = min(t + (last - p) * period for p, t in self._ticks[-ENVELOPE_WINDOW:])
        return t0, last / TICKS_PER_BEAT, period * TICKS_PER_BEAT

    def beat_at(self, now: float) -> float:
        with self._lock:
            t0, b0, beat_s = self._anchor_locked(now)
            if not self._clock.running or self._clock.waiting:
                return b0
            return b0 + max(0.0, now - t0) / beat_s

    def time_of_beat(self, beat: float) -> float:
        with self._lock:
            t0, b0, beat_s = self._anchor_locked(time.monotonic())
            return t0 + (beat - b0) * beat_s
