"""Which phrase sounds when: each take starts on a phrase boundary, and the current one loops until the next
is ready (never silence while the clock runs, never a cut mid-phrase).

A sink asks :meth:`PhrasePlayer.fill` for ``n`` samples that will *sound* at ``dac_time`` (monotonic
seconds; the sink has already added its output latency). The player reads the clock's position
there, finds a phrase boundary inside the block, and switches on the sample where the boundary
sounds: to the newest ready take, or back to the start of the current one. Between boundaries it
plays on sample by sample. The boundary's time is the clock's *prediction* (its position-to-time
map), so a take starts on the sample where the boundary sounds, not when the boundary's tick arrives.
While the clock is stopped it is silent (the host stopped); on Continue/Start it picks the current
take (or the first one) up where the song position says, from the first tick on.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from bridge.jam.clock import BeatClock
from bridge.jam.phrases import PhraseGrid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Take:
    number: int
    audio: np.ndarray  # float32 mono
    chords: tuple[str, ...] = ()
    boundary: int | None = None  # not before this boundary (the one the device was told); None: the next


@dataclass(frozen=True)
class Switch:
    """A boundary that was played: ``take`` started (``kind`` "start") or restarted ("loop") at ``time``."""

    kind: str
    take: int
    boundary: int
    time: float  # when the boundary sounds (monotonic)
    offset: int = 0  # samples into the take at ``time`` (a pick-up after Start/Continue: the song's position)


@dataclass
class _State:
    current: Take | None = None
    pos: int = 0
    ready: list[Take] = field(default_factory=list)
    next_boundary: int | None = None
    generation: int = -1


class PhrasePlayer:
    def __init__(self, clock: BeatClock, grid: PhraseGrid, sample_rate: int) -> None:
        self.clock = clock
        self.grid = grid
        self.sample_rate = int(sample_rate)
        self._lock = threading.Lock()
        self._s = _State()
        self.switches: list[Switch] = []
        self.playing_take = 0  # for status

    def queue(self, take: Take) -> None:
        """A rendered take: it starts at the next boundary that sounds after now."""
        with self._lock:
            self._s.ready.append(take)

    def _copy(self, out: np.ndarray, start: int, stop: int) -> None:
        s = self._s
        take = s.current
        if take is None or stop <= start:
            return
        audio, n = take.audio, len(take.audio)
        i = start
        while i < stop:
            if s.pos >= n:
                s.pos = 0  # a slower tempo than the take's: play it again from its start
            k = min(stop - i, n - s.pos)
            out[i:i + k] = audio[s.pos:s.pos + k]
            s.pos += k
            i += k

    def _boundary(self, k: int, when: float, offset: int = 0) -> None:
        s = self._s
        due = [t.boundary is None or t.boundary <= k for t in s.ready]
        if any(due):
            s.current = [t for t, d in zip(s.ready, due) if d][-1]
            s.ready = [t for t, d in zip(s.ready, due) if not d]
            kind = "start"
        else:
            kind = "loop"
        s.pos = offset
        if s.current is not None:
            self.playing_take = s.current.number
            self.switches.append(Switch(kind, s.current.number, k, when, offset))
            log.debug("boundary %d: %s take %d", k, kind, s.current.number)

    def fill(self, n: int, dac_time: float) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        sr = self.sample_rate
        with self._lock:
            s = self._s
            if not self.clock.running():
                s.next_boundary = None
                return out
            b0 = self.clock.beat_at(dac_time)
            generation = getattr(self.clock, "generation", 0)  # bumped by Start/Continue/Song Position
            if s.next_boundary is None or generation != s.generation:  # (re)starting: where the song is
                s.generation = generation
                k = self.grid.index(b0)
                at_start = abs(b0 - self.grid.start(k)) < 1e-6
                s.next_boundary = k if at_start else k + 1
                seconds = (b0 - self.grid.start(k)) * 60.0 / self.clock.tempo()
                if s.current is None and s.ready and not at_start:  # nothing played yet: pick the take up
                    self._boundary(k, self.clock.time_of_beat(self.grid.start(k)), int(round(seconds * sr)))
                elif s.current is not None and not at_start:
                    s.pos = int(round(seconds * sr)) % max(1, len(s.current.audio))
                # the song may resume inside this block (its first tick after Continue): silence before it
                filled = min(n, max(0, int(round((self.clock.time_of_beat(b0) - dac_time) * sr))))
            else:
                filled = 0
            while True:
                t_b = self.clock.time_of_beat(self.grid.start(s.next_boundary))
                offset = max(0, int(round((t_b - dac_time) * sr)))
                if offset >= n:
                    break
                offset = max(offset, filled)
                self._copy(out, filled, offset)
                self._boundary(s.next_boundary, dac_time + offset / sr)
                filled = offset
                s.next_boundary += 1
            self._copy(out, filled, n)
        return out

    def upcoming_boundary(self) -> int | None:
        with self._lock:
            return self._s.next_boundary


def boundary_errors(switches: list[Switch], clock_time_of_boundary: dict[int, float]) -> list[float]:
    """Seconds between where each boundary sounded and where the clock's boundary was (tests, bench)."""
    return [sw.time - clock_time_of_boundary[sw.boundary] for sw in switches
            if sw.boundary in clock_time_of_boundary and math.isfinite(sw.time)]
