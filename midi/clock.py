"""Following a host's MIDI clock: where the song is (in ticks and beats), whether it runs, its tempo.

The MIDI 1.0 system real-time messages (24 Timing Clock ticks per quarter note, ``Start`` 0xFA,
``Continue`` 0xFB, ``Stop`` 0xFC) and the system common ``Song Position Pointer`` 0xF2 (two 7-bit
bytes, LSB first, counting MIDI beats of 6 ticks). After ``Start`` the song is at 0 and the first
Timing Clock is that position; after ``Continue`` play resumes from the next Timing Clock at the
position the last Song Position Pointer set, or, without one, at the tick after the last one played
(a Stop leaves the song where the next tick would have been).

:class:`MidiClock` is a plain state machine, not thread safe (its owner locks): :meth:`feed` takes
one message and the time it arrived, and says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

TICKS_PER_BEAT = 24
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
TICKS_PER_MIDI_BEAT = 6  # a Song Position Pointer counts sixteenth notes
MIN_BPM, MAX_BPM = 20.0, 400.0
TEMPO_TICKS = 2 * TICKS_PER_BEAT  # the tempo is estimated over the last two beats of ticks


@dataclass(frozen=True)
class ClockEvent:
    """What one message did. ``kind``: "tick" (the song advanced one tick), "first" (the first tick after
    Start/Continue: the song is at ``tick``, not advanced), "running" (a tick without Start: the clock
    runs from here on), "start", "continue", "stop", "position"; ``tick``: the position after it."""

    kind: str
    tick: int
    time: float


class MidiClock:
    """The song position and tempo of one MIDI clock source (see the module doc)."""

    def __init__(self, fallback_bpm: float = 120.0) -> None:
        self.fallback_bpm = float(fallback_bpm)
        self.tick = 0
        self.running = False
        self.last_tick_time: float | None = None
        self._first_pending = False  # the next Timing Clock is the position itself (after Start/Continue)
        self._played = False  # a tick was played at ``tick`` (Continue then resumes one tick later)
        self._tick_times: list[float] = []

    @property
    def waiting(self) -> bool:
        """Started or continued, and the first Timing Clock (the position itself) has not come yet."""
        return self.running and self._first_pending

    @property
    def beat(self) -> float:
        """The song position in quarter notes at the last tick."""
        return self.tick / TICKS_PER_BEAT

    def tempo(self) -> float:
        """Beats per minute estimated from the last ticks (``fallback_bpm`` until 7 ticks have come)."""
        times = self._tick_times
        if len(times) >= 7:
            span = times[-1] - times[0]
            if span > 0:
                est = 60.0 * (len(times) - 1) / (TICKS_PER_BEAT * span)
                if MIN_BPM <= est <= MAX_BPM:
                    return est
        return self.fallback_bpm

    def beat_at(self, now: float) -> float:
        """The position at ``now`` (monotonic seconds), extrapolated from the last tick at the tempo,
        at most one tick ahead (a clock that pauses does not run away); the last position when stopped."""
        if not self.running or self.last_tick_time is None or self._first_pending:
            return self.beat
        ahead = max(0.0, now - self.last_tick_time) * self.tempo() / 60.0
        return self.beat + min(ahead, 1.0 / TICKS_PER_BEAT)

    def feed(self, message: list[int] | tuple[int, ...], now: float) -> ClockEvent | None:
        """One MIDI message (status byte first) at ``now``; None for anything that is not clock."""
        if not message:
            return None
        status = message[0]
        if status == CLOCK:
            self._tick_times.append(now)
            if len(self._tick_times) > TEMPO_TICKS:
                del self._tick_times[0]
            self.last_tick_time = now
            if not self.running:
                self.running = True
                self._first_pending = False
                self._played = True
                return ClockEvent("running", self.tick, now)
            if self._first_pending:
                self._first_pending = False
                if self._played:  # Continue without a Song Position: the tick after the last one played
                    self.tick += 1
                self._played = True
                return ClockEvent("first", self.tick, now)
            self.tick += 1
            return ClockEvent("tick", self.tick, now)
        if status == START:
            self.running = True
            self._first_pending = True
            self.tick = 0
            self._played = False
            self._tick_times.clear()
            return ClockEvent("start", 0, now)
        if status == CONTINUE:
            self.running = True
            self._first_pending = True
            self._tick_times.clear()
            return ClockEvent("continue", self.tick, now)
        if status == STOP:
            self.running = False
            return ClockEvent("stop", self.tick, now)
        if status == SONG_POSITION and len(message) >= 3:
            self.tick = (message[1] | (message[2] << 7)) * TICKS_PER_MIDI_BEAT
            self._played = False
            return ClockEvent("position", self.tick, now)
        return None
