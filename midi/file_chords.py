"""The chords of a standard MIDI file: :func:`progression_from_midi_file`.

Drums (channel 10) are left out, the sustain pedal holds notes, the bars follow every time
signature (a meter change after the first one moves the bar lines from there on), seconds
come from the file's tempo map unless ``bpm`` overrides it. Reading is
:mod:`midi.midi_file`; recognition is :mod:`midi.recognize`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from midi.limits import check_note_work
from midi.midi_file import read_midi
from midi.notes import Note
from midi.recognize import Progression, recognize


def progression_from_midi_file(
    path: str | Path,
    vocab: object,
    bpm: float | None = None,
    *,
    channel: int | None = None,
    track: int | None = None,
    sustain: bool = True,
    **options: Any,
) -> Progression:
    """Recognise the chords of a MIDI file. Seconds follow the file's tempo map unless ``bpm``
    is given; ``options`` go to :func:`midi.recognize.recognize` (quantize, resolution...)."""
    clip = read_midi(path)
    notes: Sequence[Note] = clip.select(channel=channel, track=track)
    if sustain:
        notes = clip.sustained(notes)  # type: ignore[arg-type]
        check_note_work(notes, f"{path} with the sustain pedal")
    if "beats_per_bar" not in options:   # (an explicit bar length overrides the file's meter)
        options["beats_per_bar"] = clip.beats_per_bar
        options.setdefault("meter", clip.meter)
    return recognize(
        notes,
        bpm=bpm,
        vocab=vocab,
        seconds_of=None if bpm is not None else clip.beats_to_seconds,
        **options,
    )
