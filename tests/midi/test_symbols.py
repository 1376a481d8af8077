"""Chord symbols: every spelling musicians type, mapped to the official vocabulary."""

from __future__ import annotations

import pytest

from core.errors import BadChord
from midi.symbols import ChordMapping, analyse_vocabulary, map_symbol, map_symbols, parse_symbol
from midi.vocab import ChordVocabulary

# (typed, label, exact)
CASES = [
    ("C", "C", True), ("CM", "C", True), ("Cmaj", "C", True), ("Cm", "Cm", True), ("Cmin", "Cm", True),
    ("C-", "Cm", True), ("C7", "C7", True), ("Cmaj7", "Cmaj7", True), ("CM7", "Cmaj7", True),
    ("CΔ7", "Cmaj7", True), ("CΔ", "Cmaj7", True), ("Cm7", "Cm7", True), ("C-7", "Cm7", True),
    ("C6", "C6", True), ("Cm6", "Cm6", True), ("Cdim", "Cdim", True), ("C°", "Cdim", True),
    ("Cdim7", "Cdim", False), ("C°7", "Cdim", False), ("Cm7b5", "Cm7b5", True), ("Cø", "Cm7b5", True),
    ("Cø7", "Cm7b5", True), ("Caug", "Caug", True), ("C+", "Caug", True), ("Csus2", "C", False),
    ("Csus4", "C", False), ("Csus", "C", False), ("C7sus4", "C7", False), ("C5", "C", False),
    ("C9", "C7", False), ("Cm9", "Cm7", False), ("Cmaj9", "Cmaj7", False), ("C11", "C7", False),
    ("Cm11", "Cm7", False), ("C13", "C7", False), ("Cadd9", "C", False), ("C7b9", "C7", False),
    ("C7#9", "C7", False), ("C7(b9,#11)", "C7", False), ("C6/9", "C6", False), ("Cm(maj7)", "Cm", False),
    ("C7#5", "Caug", False), ("C7b5", "C7", False), ("C/E", "C/E", True), ("C/G", "C/G", True),
    ("C/B", "C", False), ("Db", "C#", True), ("C#", "C#", True), ("Cb", "B", True), ("E#", "F", True),
    ("Fb", "E", True), ("B#m", "Cm", True), ("D♭maj7", "C#maj7", True), ("F♯m7", "F#m7", True),
    ("A♭7♯9", "Ab7", False), ("G#", "Ab", True), ("A#m", "Bbm", True), ("Gb7", "F#7", True),
    ("C:maj7", "Cmaj7", True), ("C:min", "Cm", True), ("C:min/b3", "Cm", False), ("C:maj/3", "C/E", True),
    ("A:7/3", "A7/C#", True), ("C:(1,b3,5)", "Cm", True), ("C:7(b9)", "C7", False), ("C:hdim7", "Cm7b5", True),
    ("C:dim7", "Cdim", False), ("C:sus4", "C", False), ("C:maj6", "C6", True),
    ("N", "N", True), ("NC", "N", True), ("N.C.", "N", True), ("n.c.", "N", True),
    ("Db/F", "C#/E#", True), ("Gb7/Bb", "F#7/A#", True), ("A7b9/C#", "A7/C#", False),
    ("F#m7b5/A", "F#m7b5", False), ("Bbm7b5/Ab", "Bbm7b5/Ab", True), ("A#m7b5/G#", "Bbm7b5/Ab", True),
    ("cmaj7", "Cmaj7", True), ("CMAJ7", "Cmaj7", True), ("Fadd9/G", "F/G", False), ("X", "UNK", False),
    # real-world spellings
    ("C7sus4", "C7", False), ("C9sus4", "C7", False), ("Cmaj7#11", "Cmaj7", False), ("Bbm6/Db", "Bbm6", False),
    ("F#ø7", "F#m7b5", True), ("Gb", "F#", True), ("A♭maj7", "Abmaj7", True), ("Dm/C", "Dm", False),
    ("E7/G#", "E7/G#", True), ("C(add2)", "C", False), ("C2", "C", False), ("Cadd11", "C", False),
    ("C69", "C6", False), ("C7+9", "C7", False), ("C7+5", "Caug", False), ("C7+", "Caug", False),
    ("C Major", "C", True), ("a minor", "Am", True), ("F# min", "F#m", True), ("Eb Major 7", "Ebmaj7", True),
    ("Bb m7", "Bbm7", True), ("  Cmaj7  ", "Cmaj7", True), ("bbm7", "Bbm7", True), ("No Chord", "N", True),
]


@pytest.mark.parametrize("typed,label,exact", CASES)
def test_symbol_forms(vocab: ChordVocabulary, typed: str, label: str, exact: bool) -> None:
    m = map_symbol(typed, vocab)
    assert isinstance(m, ChordMapping)
    assert (m.input, m.label, m.exact) == (typed.strip(), label, exact), m.reason
    assert m.label in vocab
    assert m.reason


def test_reasons_explain_the_rule(vocab: ChordVocabulary) -> None:
    assert map_symbol("Cmaj9", vocab).reason == "Cmaj9 -> Cmaj7: extensions reduced to the seventh chord"
    assert "enharmonic respelling" in map_symbol("Db", vocab).reason
    assert "E#" in map_symbol("Db/F", vocab).reason
    assert "dim7" in map_symbol("C°7", vocab).reason or "diminished seventh" in map_symbol("C°7", vocab).reason
    assert "sus4" in map_symbol("Csus4", vocab).reason
    assert "power chord" in map_symbol("C5", vocab).reason
    assert "root position" in map_symbol("C/B", vocab).reason
    # the bass is named as the musician spelled it
    assert map_symbol("Bbm6/Db", vocab).reason == (
        "Bbm6/Db -> Bbm6: bass Db dropped: the vocabulary has no Bbm6/Db (root position used)")
    # a quality without a name is described by its notes
    assert map_symbol("C7no5", vocab).reason == "C7no5 -> C7: C-E-Bb is not in the vocabulary: nearest quality used"
    assert "#9" not in map_symbol("C7+9", vocab).reason and "augmented" not in map_symbol("C7+9", vocab).reason
    assert map_symbol("Cmaj7", vocab).reason == "exact"


def test_every_vocabulary_label_maps_to_itself(vocab: ChordVocabulary) -> None:
    for label in vocab.labels:
        m = map_symbol(label, vocab)
        assert m.label == label, (label, m)
        assert m.exact == (label != "UNK")


@pytest.mark.parametrize("root_pc", range(12))
def test_every_root_and_spelling(vocab: ChordVocabulary, root_pc: int) -> None:
    spellings = {0: ["C", "B#"], 1: ["C#", "Db"], 2: ["D", "C##", "Ebb"], 3: ["Eb", "D#"], 4: ["E", "Fb"],
                 5: ["F", "E#"], 6: ["F#", "Gb"], 7: ["G", "F##"], 8: ["Ab", "G#"], 9: ["A", "Bbb"],
                 10: ["Bb", "A#"], 11: ["B", "Cb"]}[root_pc]
    official = spellings[0]
    for name in spellings:
        for suffix in ("", "m", "7", "maj7", "m7", "6", "m6", "m7b5", "dim", "aug"):
            m = map_symbol(name + suffix, vocab)
            assert m.label == official + suffix and m.exact, (name + suffix, m)
        assert parse_symbol(name).root_pc == root_pc


def test_spelling_is_taken_from_the_vocabulary() -> None:
    flats = ChordVocabulary.from_mapping({"N": 0, "Db": 1, "Dbm": 2, "Gb7": 3, "Db/F": 4})
    assert map_symbol("C#", flats).label == "Db"
    assert map_symbol("F#9", flats).label == "Gb7"
    assert map_symbol("C#/E#", flats).label == "Db/F"
    small = ChordVocabulary.from_mapping({"N": 0, "C": 1, "Cm": 2})
    m = map_symbol("C7", small)
    assert m.label == "C" and not m.exact
    assert map_symbol("Cdim", small).label == "Cm"


def test_parse_symbol_fields() -> None:
    s = parse_symbol("F#m7b5/A")
    assert (s.root_pc, s.root_name, s.quality, s.bass_pc) == (6, "F#", "hdim7", 9)
    assert s.intervals == (0, 3, 6, 10)
    s = parse_symbol("C13")
    assert s.extensions == (14, 21) and s.core == frozenset({0, 4, 7, 10})
    assert parse_symbol("N.C.").no_chord
    assert parse_symbol("C:min/b3").bass_pc == 3


@pytest.mark.parametrize("text", ["", "   ", "H", "hello", "C7q", "Cx9", "C/", "C/H", "12", "Cmaj7/",
                                  "C:(1,3", "C:(1,q)", "C" * 100, "Cadd", "Cno2", "Cm(((", "C)", "Cmaj7)", "C7(b9",
                                  "C/Z", "H7", "C Major Major"])
def test_not_a_chord(vocab: ChordVocabulary, text: str) -> None:
    with pytest.raises(BadChord) as err:
        map_symbol(text, vocab)
    assert err.value.code == "bad_chord"
    if text.strip():
        assert text.strip()[:20] in str(err.value)


def test_map_symbols_list(vocab: ChordVocabulary) -> None:
    labels = [m.label for m in map_symbols("Cmaj9 Ab7#9 | F#m7b5/A", vocab)]
    assert labels == ["Cmaj7", "Ab7", "F#m7b5"]
    # words that only make sense with the chord before them are joined to it
    maps = map_symbols("C Major a minor|Eb Major 7 G / B N.C. No Chord C:(1, b3, 5) C7(b9, #11)", vocab)
    assert [(m.input, m.label) for m in maps] == [("C Major", "C"), ("a minor", "Am"), ("Eb Major 7", "Ebmaj7"),
                                                  ("G/B", "G/B"), ("N.C.", "N"), ("No Chord", "N"),
                                                  ("C:(1, b3, 5)", "Cm"), ("C7(b9, #11)", "C7")]
    with pytest.raises(BadChord, match="'Hm7'"):
        map_symbols("C Hm7", vocab)


def test_vocabulary_analysis(vocab: ChordVocabulary) -> None:
    an = analyse_vocabulary(vocab)
    assert an.root_spelling == {0: "C", 1: "C#", 2: "D", 3: "Eb", 4: "E", 5: "F", 6: "F#", 7: "G", 8: "Ab",
                                9: "A", 10: "Bb", 11: "B"}
    assert sorted(an.qualities.values()) == sorted(["", "m", "7", "maj7", "m7", "6", "m6", "m7b5", "dim", "aug"])
    assert len(an.entries) == 192
