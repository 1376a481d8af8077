"""midi.clock.MidiClock: where the song is after Start, Stop, Continue and Song Position (MIDI 1.0 system
real-time rules: a Timing Clock after Start is position 0; Continue resumes at the tick after the last one
played, or at the position a Song Position Pointer set)."""

from __future__ import annotations

from midi.clock import CLOCK, CONTINUE, SONG_POSITION, START, STOP, MidiClock


def _ticks(clock: MidiClock, n: int, t: float) -> float:
    for _ in range(n):
        clock.feed([CLOCK], t)
        t += 0.02
    return t


def test_continue_resumes_at_the_next_tick_and_song_position_wins() -> None:
    c = MidiClock()
    c.feed([START], 0.0)
    assert c.waiting and c.tick == 0
    t = _ticks(c, 10, 0.01)  # positions 0..9
    assert c.tick == 9 and not c.waiting
    c.feed([STOP], t)
    c.feed([CONTINUE], t + 1)
    assert c.waiting
    assert c.feed([CLOCK], t + 1.01).kind == "first" and c.tick == 10  # the tick after the last one played
    c.feed([STOP], t + 2)
    c.feed([SONG_POSITION, 4, 0], t + 2.1)  # 4 sixteenths = 24 ticks
    c.feed([CONTINUE], t + 2.2)
    c.feed([CLOCK], t + 2.21)
    assert c.tick == 24
    c.feed([START], t + 3)
    c.feed([CLOCK], t + 3.01)
    assert c.tick == 0
