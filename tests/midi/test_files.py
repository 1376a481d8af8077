"""MIDI files written with mido: tempo maps, meter, sustain, drums, and files that are not MIDI."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import mido
import pytest

from core.errors import BadMidi, NotFound
from midi.file_chords import progression_from_midi_file
from midi.midi_file import read_midi
from midi.vocab import ChordVocabulary

Writer = Callable[..., Path]
C, AM, F, G7 = (48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50, 53)


def _chords(*chords: tuple[int, ...], beats: float = 4.0) -> list[tuple[int, float, float]]:
    return [(p, i * beats, beats) for i, ch in enumerate(chords) for p in ch]


def test_tempo_changes_inside_the_file(tmp_path: Path, vocab: ChordVocabulary, write_midi: Writer) -> None:
    # bar 1 at 120 bpm (2 s), bar 2 at 60 bpm (4 s), bar 3 at 240 bpm (1 s)
    path = write_midi(tmp_path / "song.mid", _chords(C, AM, F, G7),
                      tempos=((0, 120.0), (4, 60.0), (8, 240.0)))
    clip = read_midi(path)
    assert [round(60e6 / t, 3) for _, t in clip.tempo_changes] == [120.0, 60.0, 240.0]
    assert clip.beats_to_seconds([0, 4, 8, 12, 16]).tolist() == [0.0, 2.0, 6.0, 7.0, 8.0]
    assert clip.length_beats == 16.0 and clip.length_seconds == 8.0
    prog = progression_from_midi_file(path, vocab)
    assert prog.beats == (("C", 0.0), ("Am", 4.0), ("F", 8.0), ("G7", 12.0))
    assert prog.seconds == (("C", 0.0), ("Am", 2.0), ("F", 6.0), ("G7", 7.0))
    assert prog.duration_seconds == 8.0
    # --bpm overrides the tempo map
    fixed = progression_from_midi_file(path, vocab, bpm=60.0)
    assert fixed.seconds == (("C", 0.0), ("Am", 4.0), ("F", 8.0), ("G7", 12.0))


def test_notes_in_beats_and_seconds_and_meter(tmp_path: Path, write_midi: Writer) -> None:
    path = write_midi(tmp_path / "waltz.mid", [(60, 0.0, 3.0), (64, 3.0, 1.5)], tpb=96,
                      tempos=((0, 90.0),), time_signature=(3, 4))
    clip = read_midi(path)
    assert clip.ticks_per_beat == 96 and clip.time_signature == (3, 4) and clip.beats_per_bar == 3.0
    assert [(n.pitch, n.start, n.duration, n.velocity, n.channel, n.track) for n in clip.notes] == [
        (60, 0.0, 3.0, 90, 0, 1), (64, 3.0, 1.5, 90, 0, 1)]
    start, end = clip.note_seconds()
    assert start.tolist() == pytest.approx([0.0, 2.0]) and end.tolist() == pytest.approx([2.0, 3.0])
    six_eight = read_midi(write_midi(tmp_path / "68.mid", [(60, 0, 1)], time_signature=(6, 8)))
    assert six_eight.beats_per_bar == 3.0
    default = read_midi(write_midi(tmp_path / "none.mid", [(60, 0, 1)], tempos=(), time_signature=None))
    assert default.bpm == 120.0 and default.time_signature == (4, 4)


def test_sustain_pedal_and_drums(tmp_path: Path, vocab: ChordVocabulary, write_midi: Writer) -> None:
    # a broken Cmaj7 with short notes held by the pedal, then Am; a loud drum track is ignored
    notes = [(48, 0.0, 0.25), (52, 1.0, 0.25), (55, 2.0, 0.25), (59, 3.0, 0.25)] + \
            [(p, 4.0, 4.0) for p in AM]
    drums = [(0.5 * k, mido.Message("note_on", note=36 + k % 12, velocity=120, channel=9)) for k in range(16)]
    path = write_midi(tmp_path / "pedal.mid", notes, sustain=[(0.0, 3.9)], extra=drums)
    clip = read_midi(path)
    assert clip.sustain == ((0, 0.0, 3.9),)
    assert any(n.channel == 9 for n in clip.notes)
    assert progression_from_midi_file(path, vocab).labels == ("Cmaj7", "Am")
    # the pedal holds each short note until it comes up (3.9), on the notes' own channel only
    held = {(n.pitch, n.start): n.duration for n in clip.sustained(clip.select())}
    assert held[48, 0.0] == 3.9 and held[52, 1.0] == pytest.approx(2.9) and held[59, 3.0] == pytest.approx(0.9)
    assert held[45, 4.0] == 4.0
    # notes far apart: rests without the pedal, one chord per bar with it
    sparse = [(48, 0.0, 0.25), (52, 1.5, 0.25), (55, 3.0, 0.25), (45, 4.0, 0.25), (48, 5.5, 0.25), (52, 7.0, 0.25)]
    path = write_midi(tmp_path / "sparse.mid", sparse, sustain=[(0.0, 3.95), (4.0, 8.0)], extra=drums)
    assert progression_from_midi_file(path, vocab).beats == (("C", 0.0), ("Am", 4.0))
    assert "N" in progression_from_midi_file(path, vocab, sustain=False).labels


def test_unterminated_notes_end_with_the_track(tmp_path: Path, write_midi: Writer) -> None:
    extra = [(0.0, mido.Message("note_on", note=70, velocity=80)), (8.0, mido.Message("control_change", control=1))]
    clip = read_midi(write_midi(tmp_path / "open.mid", [(60, 0, 1)], extra=extra))
    assert [(n.pitch, n.start, n.duration) for n in clip.notes] == [(60, 0.0, 1.0), (70, 0.0, 8.0)]


@pytest.mark.parametrize("payload", [b"", b"hello, not midi", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02",
                                     b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_not_midi(tmp_path: Path, vocab: ChordVocabulary, payload: bytes) -> None:
    path = tmp_path / "song.mid"
    path.write_bytes(payload)
    with pytest.raises(BadMidi) as err:
        progression_from_midi_file(path, vocab)
    assert str(path) in str(err.value) and err.value.code == "bad_midi"


def test_missing_file(tmp_path: Path, vocab: ChordVocabulary) -> None:
    with pytest.raises(NotFound, match="nope.mid"):
        read_midi(tmp_path / "nope.mid")
    with pytest.raises(BadMidi):
        read_midi(tmp_path)


def test_pop_song_with_inversions_and_a_melody(tmp_path: Path, vocab: ChordVocabulary, write_midi: Writer) -> None:
    """C G/B Am F | C/E F G C at 100 bpm, piano voicings with a stepwise tune on top."""
    voicings = ([48, 55, 64, 67], [47, 55, 62, 67], [45, 52, 60, 64], [41, 48, 57, 60],
                [40, 48, 55, 64], [41, 53, 57, 60], [43, 50, 59, 62], [36, 52, 55, 60])
    tune = [72, 74, 76, 74, 74, 72, 71, 74, 72, 71, 69, 72, 69, 72, 77, 76,
            76, 74, 72, 79, 77, 76, 74, 72, 74, 71, 67, 74, 72, 72, 72, 72]
    notes = [(p, bar * 4.0, 3.9) for bar, chord in enumerate(voicings) for p in chord]
    notes += [(p, float(beat), 0.9) for beat, p in enumerate(tune)]
    path = write_midi(tmp_path / "pop.mid", notes, tempos=((0, 100.0),))
    prog = progression_from_midi_file(path, vocab)
    labels = ("C", "G/B", "Am", "F", "C/E", "F", "G", "C")
    assert prog.to_json() == [[label, round(bar * 2.4, 6)] for bar, label in enumerate(labels)]


def test_a_waltz_after_a_tempo_and_meter_change(tmp_path: Path, vocab: ChordVocabulary, write_midi: Writer) -> None:
    """Two 4/4 bars at 120 bpm, then 3/4 at 150 bpm played oom-pah-pah (bass, chord, chord)."""
    notes = [(p, 0.0, 4.0) for p in C] + [(p, 4.0, 4.0) for p in G7]
    waltz = ((36, (52, 55, 60)), (41, (53, 57, 60)), (43, (50, 53, 59)), (33, (52, 57, 60)))
    for bar, (bass, chord) in enumerate(waltz):
        t = 8.0 + 3 * bar
        notes += [(bass, t, 1.0)] + [(p, t + beat, 0.8) for beat in (1, 2) for p in chord]
    meter = [(8.0, mido.MetaMessage("time_signature", numerator=3, denominator=4))]
    path = write_midi(tmp_path / "waltz.mid", notes, tempos=((0, 120.0), (8, 150.0)), extra=meter)
    clip = read_midi(path)
    assert clip.time_signatures == ((0.0, 4, 4), (8.0, 3, 4))
    prog = progression_from_midi_file(path, vocab)
    assert prog.beats == (("C", 0.0), ("G7", 4.0), ("C", 8.0), ("F", 11.0), ("G7", 14.0), ("Am", 17.0))
    # 8 beats at 120 bpm = 4 s, then 1.2 s per 3/4 bar at 150 bpm
    assert prog.to_json() == [["C", 0.0], ["G7", 2.0], ["C", 4.0], ["F", 5.2], ["G7", 6.4], ["Am", 7.6]]
