"""Bounds on the work notes cause, at the input boundary, one rule for every path.

Chord recognition lays a cell per beat over the clip and expands every note over the
cells it sounds in, so its time and memory follow the clip's length in beats and the
notes' lengths added up, not the number of notes or the bytes they came in (a 53-byte
MIDI file can hold one chord lasting 268 million beats; 100,000 notes never released
last to the end of their track). ``check_note_work`` refuses such input with
``too_large`` before any of that work starts. The OSC path (``/jasco/notes/add``,
``/jasco/melody/add``: ``bridge.session``), MIDI files (``midi.midi_file``, ``midi.file_chords``) and live MIDI
input all call it; the recogniser itself (``midi.recognize``) trusts its callers.

At the bounds recognition takes about 100 MB and a second or two (``bench/reliability.py
attacks --attack midi_span``).
"""

from __future__ import annotations

from typing import Iterable

from core.errors import TooLarge
from midi.notes import Note

MAX_BEAT = 16384.0  # a note starts at most here and lasts at most this long, in beats (64 bars of 32/4: 2048)
MAX_END_BEAT = 2 * MAX_BEAT  # so every note has ended by here: a clip or file is at most this long
MAX_NOTE_BEATS = float(1 << 20)  # the audible notes' lengths added up, in beats


def note_beats(notes: Iterable[Note]) -> float:
    """The audible notes' lengths added up (beats): the work recognition does is proportional to it."""
    return float(sum(n.duration for n in notes if n.audible))


def check_length(beats: float, what: str) -> None:
    """``too_large`` when ``what`` lasts longer than ``MAX_END_BEAT`` beats."""
    if beats > MAX_END_BEAT:
        raise TooLarge(f"{what} lasts {beats:.0f} beats; the limit is {MAX_END_BEAT:.0f} beats")


def check_note_work(notes: Iterable[Note], what: str) -> None:
    """``too_large`` when ``notes`` reach past ``MAX_END_BEAT`` or last more than ``MAX_NOTE_BEATS`` together."""
    total = 0.0
    last = 0.0
    count = 0
    for n in notes:
        if not n.audible:
            continue
        count += 1
        total += n.duration
        last = max(last, n.end)
    check_length(last, what)
    if total > MAX_NOTE_BEATS:
        raise TooLarge(f"{what}: {count} notes last {total:.0f} beats together; the limit is "
                       f"{MAX_NOTE_BEATS:.0f} (release held notes, or send fewer or shorter notes)")
