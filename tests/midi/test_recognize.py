"""Chord recognition from notes: every chord of the vocabulary, voicings, arpeggios, rests."""

from __future__ import annotations

import json

import pytest

from core.errors import BadNotes, BadValue, VocabularyError
from midi.notes import Note, notes_from_live_json
from midi.recognize import Progression, classify, recognize
from midi.symbol_mapping import VocabEntry, analyse_vocabulary
from midi.vocab import ChordVocabulary


def _entries(vocab: ChordVocabulary) -> list[VocabEntry]:
    return list(analyse_vocabulary(vocab).entries)


def _voicing(e: VocabEntry, spread: int, bass_pc: int | None = None) -> list[int]:
    """Bass in octave 2, chord tones spread over octaves 3-5 (rotated by ``spread``)."""
    bass = 36 + (e.bass_pc if bass_pc is None and e.bass_pc is not None else
                 e.root_pc if bass_pc is None else bass_pc)
    tones = sorted(e.core)
    return [bass] + [48 + 12 * ((i + spread) % 3) + (e.root_pc + iv) % 12 for i, iv in enumerate(tones)]


def _block(chords: list[list[int]], beats: float = 4.0) -> list[Note]:
    return [Note(p, i * beats, beats) for i, ps in enumerate(chords) for p in ps]


def _arpeggio(chords: list[list[int]], beats: float = 4.0, step: float = 0.5) -> list[Note]:
    out: list[Note] = []
    for i, ps in enumerate(chords):
        seq = sorted(ps)
        for k in range(int(beats / step)):
            out.append(Note(seq[k % len(seq)], i * beats + k * step, step))
    return out


def test_every_vocabulary_chord_block_and_arpeggio(vocab: ChordVocabulary) -> None:
    """All 12 roots x every quality (and every slash label), 3 voicings, block and broken."""
    entries = _entries(vocab)
    roots = {(e.root_pc, e.suffix) for e in entries if e.bass_pc is None}
    assert len(roots) == 120  # 12 roots x 10 qualities
    for spread in range(3):
        chords = [_voicing(e, spread) for e in entries]
        expected = tuple(e.label for e in entries)
        for notes in (_block(chords), _arpeggio(chords)):
            prog = recognize(notes, bpm=120.0, vocab=vocab)
            # consecutive equal labels would merge; the vocabulary has none in a row
            assert prog.labels == expected
            assert [b for _, b in prog.beats] == [4.0 * i for i in range(len(entries))]


def test_inversions_without_a_slash_label(vocab: ChordVocabulary) -> None:
    """An inversion the vocabulary has no slash label for is named by a chord with the same notes."""
    an = analyse_vocabulary(vocab)
    checked = 0
    for e in an.entries:
        if e.bass_pc is not None:
            continue
        for iv in sorted(e.core - {0}):
            bass_pc = (e.root_pc + iv) % 12
            if (e.root_pc, e.core, bass_pc) in an.by_key:
                continue
            for notes in (_block([_voicing(e, 1, bass_pc)]), _arpeggio([_voicing(e, 2, bass_pc)])):
                (label,) = recognize(notes, bpm=100.0, vocab=vocab).labels
                got = next(x for x in an.entries if x.label == label)
                assert got.pitch_classes == e.pitch_classes, (e.label, bass_pc, label)
                checked += 1
    assert checked > 400


def test_slash_labels_from_inversions(vocab: ChordVocabulary) -> None:
    notes = _block([[40, 48, 55, 60], [49, 57, 64, 67], [31, 50, 53, 57, 60]])  # C/E, A7/C#, F/G-ish
    assert recognize(notes, bpm=120.0, vocab=vocab).labels[:2] == ("C/E", "A7/C#")


def test_rests_become_n_and_repeats_merge(vocab: ChordVocabulary) -> None:
    notes = _block([[48, 52, 55], [48, 52, 55], [], [45, 48, 52]], beats=4.0)
    notes = [Note(n.pitch, n.start + 2.0, n.duration) for n in notes]  # two beats of silence first
    prog = recognize(notes, bpm=120.0, vocab=vocab)
    assert prog.beats == (("N", 0.0), ("C", 2.0), ("N", 10.0), ("Am", 14.0))
    assert prog.seconds == (("N", 0.0), ("C", 1.0), ("N", 5.0), ("Am", 7.0))
    assert prog.to_json() == [["N", 0.0], ["C", 1.0], ["N", 5.0], ["Am", 7.0]]
    assert prog.mappings[0].reason == "rest" and prog.mappings[1].exact
    # short staccato gaps are not rests
    stacc = [Note(p, b, 0.5) for b in range(8) for p in (48, 52, 55)]
    assert recognize(stacc, bpm=120.0, vocab=vocab).labels == ("C",)
    # silence and no notes at all
    assert recognize([], bpm=90.0, vocab=vocab).beats == (("N", 0.0),)
    trail = recognize(_block([[48, 52, 55]]), bpm=120.0, vocab=vocab, loop_end=8.0)
    assert trail.labels == ("C", "N") and trail.duration_beats == 8.0


def test_arpeggio_with_changes_inside_a_bar(vocab: ChordVocabulary) -> None:
    # sixteenth-note broken chords, two chords per bar
    notes = _arpeggio([[48, 52, 55, 60], [43, 47, 50, 53], [45, 48, 52, 57], [41, 45, 48, 53]],
                      beats=2.0, step=0.25)
    prog = recognize(notes, bpm=120.0, vocab=vocab)
    assert prog.beats == (("C", 0.0), ("G7", 2.0), ("Am", 4.0), ("F", 6.0))


def test_block_chords_change_off_the_grid_and_melody_on_top(vocab: ChordVocabulary) -> None:
    notes = [Note(p, 0.0, 2.75) for p in (36, 52, 55, 60)] + [Note(p, 2.75, 5.25) for p in (41, 57, 60, 65)]
    notes += [Note(72, 0.0, 1.0), Note(74, 1.0, 0.5), Note(76, 1.5, 1.0), Note(77, 3.0, 1.0), Note(72, 4.0, 2.0)]
    prog = recognize(notes, bpm=120.0, vocab=vocab)
    assert prog.beats == (("C", 0.0), ("F", 2.75))


PROGRESSION = ([60, 64, 67], [57, 60, 64], [53, 57, 60, 64], [55, 59, 62, 65])  # C Am Fmaj7 G7


def test_alberti_bass_with_a_melody(vocab: ChordVocabulary) -> None:
    alberti = ([48, 55, 52, 55], [45, 52, 48, 52], [41, 48, 45, 48], [43, 50, 47, 53])
    melody = ([76, 74, 72, 79], [72, 71, 69, 76], [69, 67, 65, 72], [71, 74, 77, 79])  # passing tones
    notes = [Note(pat[k % 4], bar * 4 + k * 0.5, 0.5) for bar, pat in enumerate(alberti) for k in range(8)]
    notes += [Note(m, bar * 4 + k, 1.0) for bar, line in enumerate(melody) for k, m in enumerate(line)]
    prog = recognize(notes, bpm=100.0, vocab=vocab)
    assert prog.beats == (("C", 0.0), ("Am", 4.0), ("F", 8.0), ("G7", 12.0))


def test_comping_bass_and_off_beat_stabs(vocab: ChordVocabulary) -> None:
    roots = (36, 33, 29, 31)
    notes: list[Note] = []
    for bar, chord in enumerate(PROGRESSION):
        notes += [Note(roots[bar], bar * 4, 1.0), Note(roots[bar] + 7, bar * 4 + 2, 1.0)]
        notes += [Note(p, bar * 4 + beat, 0.5) for beat in (1, 3) for p in chord]
    prog = recognize(notes, bpm=100.0, vocab=vocab)
    assert prog.beats == (("C", 0.0), ("Am", 4.0), ("Fmaj7", 8.0), ("G7", 12.0))


def test_jazz_voicings_over_a_walking_bass(vocab: ChordVocabulary) -> None:
    """ii-V-I in C and in D minor: rootless 9th/13th/b9 voicings held over a root-fifth bass."""
    bars = (
        (38, 45, (53, 57, 60, 64)),   # Dm9: F A C E over D, A
        (31, 38, (53, 57, 59, 64)),   # G13: F A B E over G, D
        (36, 43, (52, 55, 59, 62)),   # Cmaj9: E G B D over C, G
        (36, 43, (52, 55, 59, 62)),
        (40, 46, (50, 55, 58, 62)),   # Em7b5: D G Bb D over E, Bb
        (33, 40, (55, 58, 61, 67)),   # A7b9: G Bb C# G over A, E
        (38, 45, (53, 57, 60, 65)),   # Dm7
        (31, 38, (53, 59, 62, 65)),   # G7
    )
    notes: list[Note] = []
    for bar, (root, fifth, upper) in enumerate(bars):
        notes += [Note(root, bar * 4, 2.0), Note(fifth, bar * 4 + 2, 2.0)]
        notes += [Note(p, bar * 4 + 0.5, 3.0) for p in upper]   # comped on the "and" of 1
    prog = recognize(notes, bpm=140.0, vocab=vocab)
    assert prog.beats == (("Dm7", 0.0), ("G7", 4.0), ("Cmaj7", 8.0), ("Em7b5", 16.0), ("A7", 20.0),
                          ("Dm7", 24.0), ("G7", 28.0))
    assert classify([33, 55, 58, 61], vocab)[0] == "A7"        # A7b9 without its fifth, not Gdim


def test_common_tones_held_across_a_change(vocab: ChordVocabulary) -> None:
    """A pad that keeps C and E and moves G -> A changes chord where the one voice moves."""
    pad = [Note(60, 0, 4), Note(64, 0, 4), Note(67, 0, 2), Note(69, 2, 2),
           Note(60, 4, 4), Note(65, 4, 4), Note(69, 4, 4)]
    assert recognize(pad, bpm=120.0, vocab=vocab).beats == (("C", 0.0), ("Am", 2.0), ("F/C", 4.0))
    bass = [Note(48, 0, 2), Note(45, 2, 2), Note(41, 4, 4)]
    assert recognize(pad + bass, bpm=120.0, vocab=vocab).beats == (("C", 0.0), ("Am", 2.0), ("F", 4.0))


def test_anticipated_chords_change_where_struck(vocab: ChordVocabulary) -> None:
    notes = [Note(p, max(0.0, bar * 4 - 0.5), 4.0) for bar, chord in enumerate(PROGRESSION) for p in chord]
    prog = recognize(notes, bpm=100.0, vocab=vocab)
    assert prog.beats == (("C", 0.0), ("Am", 3.5), ("Fmaj7", 7.5), ("G7", 11.5))


def test_quantize_and_loop_range(vocab: ChordVocabulary) -> None:
    sloppy = [Note(p, 4.06, 3.9) for p in (50, 53, 57)] + [Note(p, 0.03, 3.95) for p in (48, 52, 55)]
    prog = recognize(sloppy, bpm=120.0, vocab=vocab, quantize=0.25)
    assert prog.beats == (("C", 0.0), ("Dm", 4.0))
    looped = recognize(_block([[48, 52, 55], [50, 53, 57], [43, 47, 50]]), bpm=60.0, vocab=vocab,
                       loop_start=4.0, loop_end=12.0)
    assert looped.beats == (("Dm", 0.0), ("G", 4.0)) and looped.seconds == (("Dm", 0.0), ("G", 4.0))
    # a loop that starts after the last note is silence, never a negative length
    empty = recognize(_block([[48, 52, 55]]), bpm=120.0, vocab=vocab, loop_start=8.0)
    assert empty.beats == (("N", 0.0),) and (empty.duration_beats, empty.duration_seconds) == (0.0, 0.0)


def test_sustain_pedal_joins_a_broken_chord(vocab: ChordVocabulary) -> None:
    short = [Note(48, 0, 0.25), Note(52, 1, 0.25), Note(55, 2, 0.25), Note(59, 3, 0.25)]
    prog = recognize(short, bpm=120.0, vocab=vocab, sustain=[(0.0, 4.0)])
    assert prog.labels == ("Cmaj7",)
    # notes far apart: without the pedal the gaps are rests, with it each bar is one chord
    sparse = [Note(p, b, 0.25) for p, b in ((48, 0.0), (52, 1.5), (55, 3.0), (45, 4.0), (48, 5.5), (52, 7.0))]
    assert "N" in recognize(sparse, bpm=120.0, vocab=vocab).labels
    held = recognize(sparse, bpm=120.0, vocab=vocab, sustain=[(0.0, 3.95), (4.0, 8.0)])
    assert held.beats == (("C", 0.0), ("Am", 4.0))


def test_a_pedal_left_down_for_many_bars_does_not_make_one_chord(vocab: ChordVocabulary) -> None:
    """A pianist changes the pedal with the chords; a pedal down longer than PEDAL_MAX beats
    (transcribed MIDI, POP909) is ignored, so C then Am stay two chords (issue 27)."""
    from midi.recognize import PEDAL_MAX, apply_sustain

    notes = [Note(p, b, 0.5) for b in (0.0, 1.0, 2.0, 3.0) for p in (48, 52, 55)] + \
            [Note(p, b, 0.5) for b in (4.0, 5.0, 6.0, 7.0) for p in (45, 48, 52)]
    long_pedal = [(0.0, 2 * PEDAL_MAX)]
    assert apply_sustain(notes, long_pedal) == tuple(notes)
    assert recognize(notes, bpm=120.0, vocab=vocab, sustain=long_pedal).labels == ("C", "Am")
    held = apply_sustain(notes, [(0.0, 3.9)])
    assert held[0].start + held[0].duration == pytest.approx(1.0)   # a real pedal still holds to the re-strike


def test_tempo_map_function(vocab: ChordVocabulary) -> None:
    prog = recognize(_block([[48, 52, 55], [45, 48, 52]]), bpm=None, vocab=vocab,
                     seconds_of=lambda b: b * 0.25)
    assert prog.seconds == (("C", 0.0), ("Am", 1.0))


def test_live_get_notes_extended_shape(vocab: ChordVocabulary) -> None:
    payload = {"notes": [
        {"note_id": 1, "pitch": 60, "start_time": 0.0, "duration": 4.0, "velocity": 100.0, "mute": False,
         "probability": 1.0, "velocity_deviation": 0.0, "release_velocity": 64.0},
        {"note_id": 2, "pitch": 64, "start_time": 0.0, "duration": 4.0, "velocity": 90, "mute": 0},
        {"note_id": 3, "pitch": 67, "start_time": 0.0, "duration": 4.0, "velocity": 90, "mute": False},
        {"note_id": 4, "pitch": 70, "start_time": 0.0, "duration": 4.0, "velocity": 90, "mute": True},
        {"note_id": 5, "pitch": 69, "start_time": 4.0, "duration": 4.0, "velocity": 80, "mute": False},
        {"note_id": 6, "pitch": 72, "start_time": 4.0, "duration": 4.0, "velocity": 80, "mute": False},
        {"note_id": 7, "pitch": 76, "start_time": 4.0, "duration": 4.0, "velocity": 80, "mute": False},
        {"note_id": 8, "pitch": 71, "start_time": 4.0, "duration": 4.0, "velocity": 0, "mute": False},
    ]}
    notes = notes_from_live_json(payload)
    assert len(notes) == 7 and all(isinstance(n, Note) for n in notes)
    assert notes_from_live_json(json.dumps(payload["notes"])) == notes
    for obj in (payload, payload["notes"], json.dumps(payload)):
        prog = recognize(obj, bpm=120.0, vocab=vocab)  # muted Bb and silent B ignored
        assert prog.beats == (("C", 0.0), ("Am", 4.0))


@pytest.mark.parametrize("bad", [
    {"notes": [{"pitch": 128, "start_time": 0, "duration": 1}]},
    {"notes": [{"pitch": 60, "start_time": -1, "duration": 1}]},
    {"notes": [{"pitch": 60, "start_time": 0, "duration": 0}]},
    {"notes": [{"pitch": 60, "start_time": 0, "duration": float("nan")}]},
    {"notes": [{"pitch": 60.5, "start_time": 0, "duration": 1}]},
    {"notes": [{"pitch": "C4", "start_time": 0, "duration": 1}]},
    {"notes": [{"pitch": 60, "start_time": 0, "duration": 1, "velocity": 200}]},
    {"notes": [{"pitch": 60, "duration": 1}]},
    {"notes": [[60, 0, 1]]},
    {"notez": []},
    "{not json",
    42,
])
def test_bad_notes(vocab: ChordVocabulary, bad: object) -> None:
    with pytest.raises(BadNotes):
        recognize(bad, bpm=120.0, vocab=vocab)


def test_note_validation() -> None:
    n = Note(60, 0, 1)
    assert (n.velocity, n.mute, n.end, n.audible) == (100, False, 1.0, True)
    assert not Note(60, 0, 1, velocity=0).audible
    with pytest.raises(BadNotes):
        Note(60, 0, 1, velocity=-1)
    with pytest.raises(BadNotes):
        Note(True, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        n.pitch = 61  # type: ignore[misc]


@pytest.mark.parametrize("kwargs", [{"bpm": 0}, {"bpm": float("inf")}, {"bpm": None}, {"bpm": 120, "quantize": 0},
                                    {"bpm": 120, "loop_start": 4, "loop_end": 2}, {"bpm": 120, "loop_start": -1},
                                    {"bpm": 120, "resolution": -1}])
def test_bad_parameters(vocab: ChordVocabulary, kwargs: dict) -> None:
    with pytest.raises(BadValue):
        recognize([Note(60, 0, 1)], vocab=vocab, **kwargs)


def test_a_vocabulary_without_chords_is_an_error() -> None:
    empty = ChordVocabulary.from_mapping({"N": 0, "UNK": 1})
    with pytest.raises(VocabularyError, match="names no chords"):
        recognize([Note(60, 0, 1)], bpm=120.0, vocab=empty)
    with pytest.raises(VocabularyError, match="names no chords"):
        classify([60], empty)


def test_classify_held_notes(vocab: ChordVocabulary) -> None:
    assert classify([], vocab)[0] == "N"
    assert classify([60, 64, 67, 70], vocab)[0] == "C7"
    assert classify([52, 60, 67], vocab)[0] == "C/E"
    assert classify([57, 60, 64, 67], vocab)[0] == "Am7"
    assert classify([48, 57, 64, 67], vocab)[0] == "C6"


def test_progression_is_frozen(vocab: ChordVocabulary) -> None:
    prog = recognize(_block([[48, 52, 55]]), bpm=120.0, vocab=vocab)
    assert isinstance(prog, Progression)
    with pytest.raises(AttributeError):
        prog.beats = ()  # type: ignore[misc]
