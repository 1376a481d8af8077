"""The host of the jam tests: a MIDI clock (24 ticks per quarter note) and a player's chords sent on one
virtual JACK port (python-rtmidi), with the time each beat's tick was DUE (monotonic seconds): the host's song
clock. On a loaded machine a tick may go out late (it is then sent at once and the next ones keep the
schedule), as MIDI from a busy host does; the jam must keep to the song's clock, not to the late tick."""

from __future__ import annotations

import time

import numpy as np

CLOCK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC


class Host:
    def __init__(self, port: str = "keys") -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="host")
        self.out.open_virtual_port(port)
        self.tick = 0  # the song position of the next tick
        self.beat_times: dict[int, float] = {}
        self.tick_times: dict[int, float] = {}
        self.next_time = 0.0

    def send(self, msg: list[int]) -> None:
        self.out.send_message(msg)

    def start(self) -> None:
        self.send([START])
        self.tick = 0
        self.next_time = time.monotonic() + 0.01

    def stop(self) -> None:
        self.send([STOP])

    def resume(self) -> None:
        self.send([CONTINUE])
        self.next_time = time.monotonic() + 0.01

    def play_beats(self, beats: float, bpm: float) -> None:
        """Send ``beats`` quarter notes of ticks at ``bpm``, each when it is due (a late one is sent at once)."""
        dt = 60.0 / bpm / 24
        for _ in range(int(round(beats * 24))):
            wait = self.next_time - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            due = self.next_time
            self.tick_times[self.tick] = due
            if self.tick % 24 == 0:
                self.beat_times[self.tick // 24] = due
            self.send([CLOCK])
            self.tick += 1
            self.next_time += dt

    def chord(self, pitches: tuple[int, ...], on: bool) -> None:
        for p in pitches:
            self.send([0x90, p, 90] if on else [0x80, p, 0])

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


def find(audio: np.ndarray, piece: np.ndarray, around: int, span: int) -> int | None:
    """Where ``piece`` starts in ``audio`` (exact samples) nearest to ``around``, within ``span`` samples."""
    lo, hi = max(0, around - span), min(len(audio) - len(piece), around + span)
    if hi <= lo:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(audio[lo:hi + len(piece)], len(piece))
    hits = np.flatnonzero(np.all(np.abs(windows - piece) <= 1e-6, axis=1))
    return None if len(hits) == 0 else lo + int(hits[np.argmin(np.abs(lo + hits - around))])
