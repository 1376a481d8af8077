"""Fixtures for the midi tests: the official vocabulary and MIDI file writers (mido)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import mido
import pytest

from midi.vocab import ChordVocabulary


@pytest.fixture(scope="session")
def vocab(chords_pkl: Path) -> ChordVocabulary:
    return ChordVocabulary.load(chords_pkl)


@pytest.fixture(scope="session")
def write_midi() -> Callable[..., Path]:
    """``write_midi(path, [(pitch, start_beat, beats), ...], tempos=..., sustain=...)``."""
    return _write_midi


def _write_midi(
    path: Path,
    notes: Iterable[tuple[int, float, float]],
    *,
    tpb: int = 480,
    tempos: Sequence[tuple[float, float]] = ((0.0, 120.0),),
    time_signature: tuple[int, int] | None = (4, 4),
    sustain: Sequence[tuple[float, float]] = (),
    channel: int = 0,
    extra: Sequence[tuple[float, mido.Message]] = (),
) -> Path:
    """A type-1 file: track 0 = tempo map/meter, track 1 = notes (pitch, start beat, beats)."""
    meta = mido.MidiTrack()
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    if time_signature is not None:
        events.append((0, 0, mido.MetaMessage("time_signature", numerator=time_signature[0],
                                              denominator=time_signature[1])))
    for beat, bpm in tempos:
        events.append((round(beat * tpb), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    _append(meta, events)
    track = mido.MidiTrack()
    ev: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    for pitch, start, dur in notes:
        ev.append((round(start * tpb), 1, mido.Message("note_on", note=pitch, velocity=90, channel=channel)))
        ev.append((round((start + dur) * tpb), 0, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    for down, up in sustain:
        ev.append((round(down * tpb), 0, mido.Message("control_change", control=64, value=127, channel=channel)))
        ev.append((round(up * tpb), 0, mido.Message("control_change", control=64, value=0, channel=channel)))
    for beat, msg in extra:
        ev.append((round(beat * tpb), 1, msg))
    _append(track, ev)
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.extend([meta, track])
    mid.save(str(path))
    return path


def _append(track: mido.MidiTrack, events: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> None:
    now = 0
    for tick, _prio, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
