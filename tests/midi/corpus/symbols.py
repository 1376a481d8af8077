"""Chord symbols as they are printed on lead sheets, in jazz charts (Real Book style, iReal
Pro), in folk collections (Nottingham ABC) and in chord-annotation data (Harte), with the
vocabulary label a musician would pick and whether that label is the chord itself (exact) or
the nearest one the vocabulary has.

The vocabulary (audiocraft's chord_to_index_mapping.pkl) has, per root, the triads (maj, m,
dim, aug), 7, maj7, m7, m7b5, 6, m6, and some Chordino slash labels: triads over 3 and 5,
X/2 (F/G), X/b7 (G/F = G7/F), 7/3, m7b5/b7.
"""

from __future__ import annotations

# (symbol as printed, label, exact)
SYMBOLS: tuple[tuple[str, str, bool], ...] = (
    # pop and rock
    ("C", "C", True), ("Am", "Am", True), ("F", "F", True), ("G7", "G7", True), ("Dm7", "Dm7", True),
    ("Em", "Em", True), ("Bb", "Bb", True), ("Eb", "Eb", True), ("Ab", "Ab", True), ("F#m", "F#m", True),
    ("C#m", "C#m", True), ("Dsus4", "D", False), ("Asus2", "A", False), ("A7sus4", "A7", False),
    ("Cadd9", "C", False), ("G/B", "G/B", True), ("D/F#", "D/F#", True), ("C/E", "C/E", True),
    ("C/G", "C/G", True), ("F/A", "F/A", True), ("F/C", "F/C", True), ("E5", "E", False), ("A5", "A", False),
    ("Bb5", "Bb", False), ("E7#9", "E7", False), ("Fmaj7", "Fmaj7", True), ("Am7", "Am7", True),
    ("Em7", "Em7", True), ("Gsus4", "G", False), ("G6", "G6", True), ("Am/G", "Am", False),
    ("G7/F", "G/F", True), ("A/C#", "A/C#", True), ("E/G#", "E/G#", True), ("Bm7b5", "Bm7b5", True),
    ("Db", "C#", True), ("Gb", "F#", True), ("Abm", "Abm", True), ("D#m", "Ebm", True), ("A#", "Bb", True),
    # Real Book / jazz charts
    ("CMA7", "Cmaj7", True), ("DMI7", "Dm7", True), ("G7(b9)", "G7", False), ("C6/9", "C6", False),
    ("EMI7(b5)", "Em7b5", True), ("A7(#9)", "A7", False), ("DMI9", "Dm7", False), ("G13", "G7", False),
    ("CMA9", "Cmaj7", False), ("F#ø7", "F#m7b5", True), ("Bø", "Bm7b5", True), ("E07", "Em7b5", True),
    ("D0", "Dm7b5", True), ("C°7", "Cdim", False), ("Bdim7", "Bdim", False), ("Ebo7", "Ebdim", False),
    ("C-7", "Cm7", True), ("F-", "Fm", True), ("Bb-6", "Bbm6", True), ("C-M7", "Cm", False),
    ("C-maj7", "Cm", False), ("CmMaj7", "Cm", False), ("CΔ7", "Cmaj7", True), ("CΔ", "Cmaj7", True),
    ("C7alt", "C7", False), ("C7b9", "C7", False), ("C7#11", "C7", False), ("C7b13", "C7", False),
    ("C7B9", "C7", False), ("E7B13", "E7", False), ("C9", "C7", False), ("C11", "C7", False),
    ("C13b9", "C7", False), ("Cmaj7#11", "Cmaj7", False), ("CM7b5", "Cmaj7", False), ("CM11", "Cmaj7", False),
    ("CMadd9", "C", False), ("CM6/9", "C6", False), ("Cmaj11", "Cmaj7", False), ("Cm11", "Cm7", False),
    ("Cm9", "Cm7", False), ("Cm6/9", "Cm6", False), ("Cm7#5", "Cm7", False), ("Cm7+5", "Cm7", False),
    ("C7#5", "Caug", False), ("C+7", "Caug", False), ("C7+", "Caug", False), ("Cmaj7#5", "Caug", False),
    ("C7b5", "C7", False), ("C7sus4", "C7", False), ("C9sus4", "C7", False), ("Dh7", "Dm7b5", True),
    ("G7(b9,#11)", "G7", False), ("G7(b9, b13)", "G7", False), ("Bb13(#11)", "Bb7", False),
    ("(Am7)", "Am7", True), ("(D7b9)", "D7", False), ("C7omit3", "C7", False), ("C(no3)", "C", False),
    ("Comit3", "C", False), ("C7(no5)", "C7", False), ("Bbmaj7/D", "Bbmaj7", False), ("Dm7/G", "Dm7", False),
    ("C7/Bb", "C/Bb", True), ("Fadd9/G", "F/G", True), ("Am7b5/G", "Am7b5/G", True),
    ("C7(#5,#9)", "Caug", False), ("Bbmaj7(#11)", "Bbmaj7", False), ("F#m7(11)", "F#m7", False),
    ("Ab7(#11)", "Ab7", False), ("G7(b9,b13)", "G7", False), ("Eb-7", "Ebm7", True), ("Dbmaj7", "C#maj7", True),
    ("Db∆7", "C#maj7", True), ("E♭7", "Eb7", True), ("B♭m7", "Bbm7", True), ("F#7alt", "F#7", False),
    ("Calt", "C7", False), ("C7susb9", "C7", False), ("C7sus(b9)", "C7", False), ("C13sus", "C7", False),
    ("Cm(maj9)", "Cm", False), ("Caug7", "Caug", False), ("Cø9", "Cm7b5", False), ("C-7b5", "Cm7b5", True),
    ("C-6", "Cm6", True), ("C6(add9)", "C6", False), ("G/A", "G/A", True), ("D/E", "D/E", True),
    ("Bb/C", "Bb/C", True), ("Ab/Bb", "Ab/Bb", True), ("Eb/F", "Eb/F", True), ("E7sus4", "E7", False),
    ("A7(b13)", "A7", False), ("C7(b5)", "C7", False), ("C7(#11)", "C7", False), ("Cmaj7(9)", "Cmaj7", False),
    ("C9(#11)", "C7", False), ("C7b9b5", "C7", False), ("Dm7(9)", "Dm7", False), ("Dm(add9)", "Dm", False),
    ("Dm6(9)", "Dm6", False), ("D-9", "Dm7", False), ("D-11", "Dm7", False), ("Dmi6", "Dm6", True),
    ("DMA7", "Dmaj7", True), ("DMA9", "Dmaj7", False), ("D69", "D6", False), ("D7+9", "D7", False),
    ("D7-9", "D7", False), ("D9+", "Daug", False), ("D7+", "Daug", False), ("Dmaj7+5", "Daug", False),
    ("Ebo", "Ebdim", True), ("Eb°", "Ebdim", True), ("Ebm7b5/Db", "Ebm7b5/Db", True), ("Ebmaj/G", "Eb/G", True),
    ("Ebmin7", "Ebm7", True), ("Bb7/Ab", "Bb/Ab", True), ("F7/Eb", "F/Eb", True), ("G7sus/F", "G/F", False),
    ("Csus4/G", "C/G", False), ("Gb/Db", "F#/C#", True), ("E/B", "E/B", True), ("C-7(b5)", "Cm7b5", True),
    ("F#m7-5", "F#m7b5", True), ("F#m7(-5)", "F#m7b5", True), ("Bb7(b9)/D", "Bb7/D", False), ("Gadd2", "G", False),
    ("G2", "G", False), ("Gsus", "G", False), ("C#5", "C#", False), ("Db5", "C#", False),
    # folk collections (ABC, Nottingham): lower-case basses
    ("G/b", "G/B", True), ("D/f#", "D/F#", True), ("C/e", "C/E", True), ("Am/c", "Am", False),
    ("A7/c#", "A7/C#", True), ("Em/b", "Em", False),
    # chord annotations (Harte)
    ("C:maj", "C", True), ("A:min", "Am", True), ("G:7", "G7", True), ("D:min7", "Dm7", True),
    ("F:maj7", "Fmaj7", True), ("B:hdim7", "Bm7b5", True), ("E:maj/3", "E/G#", True), ("C:maj/5", "C/G", True),
    ("G:7/b7", "G/F", True), ("A:sus4", "A", False), ("D:min/b3", "Dm", False), ("N", "N", True),
    # no chord
    ("N.C.", "N", True), ("NC", "N", True),
)
