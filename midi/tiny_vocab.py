"""The embedded tiny model's chord vocabulary: rule data, no torch, no model needed.

``engine.tiny`` writes this mapping into the tiny model's folder when it builds
the model; the server serves the very same mapping from its first message, so
chords are never refused while the engine is still building the tiny model.
It is jasco-bridge's own vocabulary (never the official one): N, 12 roots x 10
qualities, the major triads' two inversions, UNK.
"""

from __future__ import annotations

ROOTS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
QUALITIES = ("", "m", "7", "maj7", "m7", "6", "m6", "m7b5", "dim", "aug")
_LETTERS = "CDEFGAB"
_NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _spell(root: str, letter_steps: int, semitones: int) -> str:
    """The note ``semitones`` above ``root`` spelled on the letter ``letter_steps`` above it."""
    letter = _LETTERS[(_LETTERS.index(root[0]) + letter_steps) % 7]
    root_pc = (_NATURAL_PC[root[0]] + root[1:].count("#") - root[1:].count("b")) % 12
    diff = ((root_pc + semitones) - _NATURAL_PC[letter]) % 12
    accidental = {0: "", 1: "#", 2: "##", 11: "b", 10: "bb"}[diff]
    return letter + accidental


def chord_vocabulary_mapping() -> dict[str, int]:
    """jasco-bridge's own chord vocabulary, by rule: N, roots x qualities, major-triad inversions, UNK."""
    labels = ["N"]
    labels += [root + quality for root in ROOTS for quality in QUALITIES]
    labels += [f"{root}/{_spell(root, 2, 4)}" for root in ROOTS]  # first inversion (third in the bass)
    labels += [f"{root}/{_spell(root, 4, 7)}" for root in ROOTS]  # second inversion (fifth in the bass)
    labels.append("UNK")
    return {label: i for i, label in enumerate(labels)}
