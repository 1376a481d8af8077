"""Chord symbols: every spelling musicians type, mapped to the official vocabulary."""

from __future__ import annotations

import pytest

from core.errors import BadChord
from midi.symbol_grammar import parse_symbol
from midi.symbol_mapping import ChordMapping, analyse_vocabulary, map_symbol, map_symbols
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
    ("cmaj7", "Cmaj7", True), ("CMAJ7", "Cmaj7", True), ("Fadd9/G", "F/G", True), ("X", "UNK", False),
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


# --- issue 14: symbols read like a musician -----------------------------------------------
MUSICIAN_CASES = [
    # an upper-case M is major in every multi-letter quality, and never reported exact when reduced
    ("CM7b5", "Cmaj7", False), ("CM11", "Cmaj7", False), ("CMadd9", "C", False), ("CM6/9", "C6", False),
    ("CM7", "Cmaj7", True), ("CM9", "Cmaj7", False), ("CM13", "Cmaj7", False), ("CM7#5", "Caug", False),
    ("Cm7b5", "Cm7b5", True), ("Cm11", "Cm7", False), ("Cmadd9", "Cm", False), ("Cm6/9", "Cm6", False),
    ("CMA7", "Cmaj7", True), ("CMI7", "Cm7", True), ("CMaj7", "Cmaj7", True), ("CMin7", "Cm7", True),
    # maj11 keeps its seventh
    ("Cmaj11", "Cmaj7", False), ("CΔ11", "Cmaj7", False), ("Cmaj9#11", "Cmaj7", False),
    # 0 and ø are half-diminished
    ("D07", "Dm7b5", True), ("D0", "Dm7b5", True), ("Dø7", "Dm7b5", True), ("Dø", "Dm7b5", True),
    ("Dh7", "Dm7b5", True), ("Do7", "Ddim", False), ("D°", "Ddim", True),
    # a capital B alteration is a flat
    ("C7B9", "C7", False), ("E7B13", "E7", False), ("A7(B9)", "A7", False), ("G7#9B13", "G7", False),
    # minor-major seventh
    ("C-M7", "Cm", False), ("C-maj7", "Cm", False), ("CmM7", "Cm", False), ("C-Δ7", "Cm", False),
    # omit / no
    ("Comit3", "C", False), ("C(omit3)", "C", False), ("Cno3", "C", False), ("C7omit3", "C7", False),
    ("C7(no5)", "C7", False), ("Cmaj7omit5", "Cmaj7", False), ("Cm(no5)", "Cm", False),
    # m7#5 and m7+5 are one chord
    ("Cm7#5", "Cm7", False), ("Cm7+5", "Cm7", False), ("C-7#5", "Cm7", False), ("Cmi7(#5)", "Cm7", False),
    # parentheses
    ("C7(b9)", "C7", False), ("(Am7)", "Am7", True), ("(G7/B)", "G7/B", True), ("[Dm]", "Dm", True),
    ("Cmaj7(#11)", "Cmaj7", False), ("Bb7(13)", "Bb7", False),
    # Nottingham-style lower-case basses
    ("C/e", "C/E", True), ("G/b", "G/B", True), ("D7/f#", "D7/F#", True), ("Bb/d", "Bb/D", True),
    ("Am/c", "Am", False), ("Eb/bb", "Eb/Bb", True),
    # a slash label whose notes equal the chord's
    ("G7/F", "G/F", True), ("C7/Bb", "C/Bb", True), ("Fadd9/G", "F/G", True), ("G9/F", "G/F", False),
    ("Ab7/Gb", "Ab/Gb", True), ("D7/C", "D/C", True), ("E7/D", "E/D", True),
    # the altered dominant and the augmented ninth
    ("Calt", "C7", False), ("C7alt", "C7", False), ("D9+", "Daug", False), ("D9#5", "Daug", False),
]


@pytest.mark.parametrize("typed,label,exact", MUSICIAN_CASES)
def test_symbols_read_like_a_musician(vocab: ChordVocabulary, typed: str, label: str, exact: bool) -> None:
    m = map_symbol(typed, vocab)
    assert (m.label, m.exact) == (label, exact), m.reason


def test_upper_case_m_is_major_and_lower_case_minor() -> None:
    assert parse_symbol("CM7b5").intervals == (0, 4, 6, 11)
    assert parse_symbol("Cm7b5").intervals == (0, 3, 6, 10)
    assert parse_symbol("CM11").core == frozenset({0, 4, 7, 11})
    assert parse_symbol("Cmaj11").intervals == (0, 4, 7, 11, 14, 17)
    assert parse_symbol("CMadd9").intervals == (0, 4, 7, 14)
    assert parse_symbol("Cmadd9").intervals == (0, 3, 7, 14)
    assert parse_symbol("Cm7#5").intervals == parse_symbol("Cm7+5").intervals == (0, 3, 8, 10)
    assert parse_symbol("D07").quality == parse_symbol("Dø7").quality == "hdim7"


def test_reasons_for_the_new_rules(vocab: ChordVocabulary) -> None:
    assert map_symbol("G7/F", vocab).reason == "G7/F -> G/F: the vocabulary's G/F has the same notes"
    assert map_symbol("Cm7+5", vocab).reason == "Cm7+5 -> Cm7: altered fifth dropped (m7#5 -> m7)"
    assert map_symbol("CM7b5", vocab).reason == "CM7b5 -> Cmaj7: altered fifth dropped (maj7b5 -> maj7)"


def test_commas_separate_symbols(vocab: ChordVocabulary) -> None:
    maps = map_symbols("C, Am, F, G7(b9,#11), Dm7/G", vocab)
    assert [(m.input, m.label) for m in maps] == [("C", "C"), ("Am", "Am"), ("F", "F"), ("G7(b9,#11)", "G7"),
                                                  ("Dm7/G", "Dm7")]
    assert [m.label for m in map_symbols("Am7,D7|Gmaj7 , Cmaj7", vocab)] == ["Am7", "D7", "Gmaj7", "Cmaj7"]


def test_one_bad_symbol_is_reported_and_the_rest_map(vocab: ChordVocabulary) -> None:
    from midi.symbol_mapping import map_each_symbol

    results = map_each_symbol("Cmaj7 Hm7 | F#m7b5/A, Xq7 G7", vocab)
    assert [r.input for r in results] == ["Cmaj7", "Hm7", "F#m7b5/A", "Xq7", "G7"]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert [r.mapping.label for r in results if r.mapping] == ["Cmaj7", "F#m7b5", "G7"]
    bad = [r.error for r in results if r.error is not None]
    assert all(isinstance(e, BadChord) and e.code == "bad_chord" for e in bad)
    assert "'Hm7'" in str(bad[0]) and "'Xq7'" in str(bad[1])
    # separate symbols (an OSC message's arguments) need no splitting
    each = map_each_symbol(["C/e", "", "Am"], vocab)
    assert [(r.input, r.ok) for r in each] == [("C/e", True), ("", False), ("Am", True)]
    # the all-or-nothing form names every bad symbol
    with pytest.raises(BadChord, match="'Hm7'.*'Xq7'"):
        map_symbols("Cmaj7 Hm7 Xq7", vocab)
    # a single symbol still raises
    with pytest.raises(BadChord, match="'Hm7'"):
        map_symbol("Hm7", vocab)


def test_the_parser_never_crashes_on_any_string(vocab: ChordVocabulary) -> None:
    """Property: parse_symbol, map_symbol and map_each_symbol raise nothing but BadChord."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from midi.symbol_mapping import map_each_symbol

    alphabet = st.sampled_from(list("ABCDEFGabcdefgHhMmNXoø°Δ∆0123456789#b♭♯+-/():,.|[]* ^º−–")
                               + ["maj", "min", "dim", "aug", "sus", "add", "omit", "no", "alt", "6/9", "add("])
    chordish = st.lists(alphabet, max_size=12).map("".join)

    @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.text(max_size=80), chordish))
    def check(text: str) -> None:
        try:
            sym = parse_symbol(text)
        except BadChord:
            pass
        else:
            assert sym.no_chord or sym.unknown or sym.root_pc in range(12)
        try:
            m = map_symbol(text, vocab)
        except BadChord:
            pass
        else:
            assert m.label in vocab
        for r in map_each_symbol(text, vocab):
            assert (r.mapping is None) != (r.error is None)

    check()


@pytest.mark.parametrize(("text", "label"), [
    ("C^7", "Cmaj7"), ("C^", "Cmaj7"), ("C-^7", "Cm"),          # iReal Pro's ^ is the triangle
    ("Cº", "Cdim"), ("Cº7", "Cdim"),                              # the ordinal sign typed for °
    ("C−7", "Cm7"), ("C–7", "Cm7"),                               # a typographic minus or dash
    ("Cadd(b9)", "C"), ("Cadd(#11)", "C"),                        # add with a parenthesised alteration
    ("C7(b9/#11)", "C7"), ("C(6/9)", "C6"), ("Cm(6/9)", "Cm6"),   # '/' inside parentheses: no bass
    ("Cmaj7+", "Caug"),                                           # maj7 with a raised fifth
])
def test_long_tail_symbols_map_by_the_written_rule(vocab: ChordVocabulary, text: str, label: str) -> None:
    """Symbols real charts print that the grammar refused before round three (issue 27)."""
    m = map_symbol(text, vocab)
    assert m.label == label, m.reason
    assert parse_symbol(text).bass_pc is None
