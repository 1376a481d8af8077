"""The nearest label of a chord vocabulary for a parsed chord symbol, with the reason.

``map_symbol(text, vocab)`` parses ``text`` with :mod:`midi.symbol_grammar` and returns a
:class:`ChordMapping` naming the vocabulary label to use, whether it is exact and why.

Mapping rules (``map_symbol``), applied in this order; every rule that fires is named in
``ChordMapping.reason``:

==========================  =====================================================  =======
input                       rule                                                   exact
==========================  =====================================================  =======
``N`` ``NC`` ``N.C.``       no chord -> ``N``                                      yes
``X``                       unknown chord -> ``UNK`` (when the vocabulary has it)  no
Db vs C#, Cb, E#, ♭ ♯       enharmonic respelling to the vocabulary's spelling     yes
                            (derived from the vocabulary's own labels, per root)
9, 11, 13, add9, b9, #9,    extensions (intervals above the octave) are dropped:   no
#11, b13, alt               C9 -> C7, Cmaj9 -> Cmaj7, Cm11 -> Cm7, Cadd9 -> C,
                            C6/9 -> C6, C7#9 -> C7
dim7 (C°7)                  -> dim (the official vocabulary has no dim7)           no
m7b5 (Cø)                   kept (``Cm7b5``); -> dim when a vocabulary lacks it    yes
mMaj7 (Cm(maj7))            -> m                                                   no
7b5, m7#5, maj7b5           -> 7, m7, maj7 (altered fifth dropped)                 no
maj11 (CM11)                -> maj7 (the seventh stays)                            no
0, 07, ø, h7 (D07)          half-diminished: -> m7b5                               yes
7#5, aug7 (C+7)             -> aug, else 7                                         no
maj7#5                      -> aug, else maj7                                      no
sus4, sus2 (Csus4)          -> the major triad of the same root (the suspension    no
                            stands for the third it delays)
7sus4, 9sus4                -> 7                                                   no
power chord (C5)            -> the major triad of the same root                    no
quality not in vocabulary   -> the vocabulary quality sharing the most intervals   no
G7/F, Fadd9/G               the slash label with the same root, bass and notes     yes
                            (Chordino's G/F is the G triad over F = G7/F)
C/E (slash chord)           kept when the vocabulary has that exact label (with    yes
                            its own bass spelling, e.g. Db/F -> C#/E#), else root
                            position (C/B -> C)                                    no
==========================  =====================================================  =======

Only a string that is not a chord at all raises :class:`core.errors.BadChord` (never any other
exception, whatever the string). ``map_each_symbol`` maps a list symbol by symbol, so one bad
symbol is reported in its own :class:`SymbolResult` while the rest still map.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from core.errors import BadChord
from midi.symbol_grammar import (
    CORE_QUALITY,
    NO_CHORD,
    QUALITY_INTERVALS,
    ROOT_RE,
    UNKNOWN_CHORD,
    ChordSymbol,
    parse_symbol,
    split_symbols,
)

if TYPE_CHECKING:  # pragma: no cover
    from midi.vocab import ChordVocabulary

# Human names of the cores (intervals below the octave) used in reasons.
QUALITY_WORDS: dict[str, str] = {
    "maj": "major", "min": "minor", "aug": "augmented", "dim": "diminished",
    "dim7": "diminished seventh", "hdim7": "half-diminished (m7b5)", "7": "dominant seventh",
    "maj7": "major seventh", "min7": "minor seventh", "minmaj7": "minor-major seventh",
    "6": "major sixth", "min6": "minor sixth", "aug7": "augmented seventh",
    "augmaj7": "augmented major seventh", "7b5": "seventh flat five", "min7#5": "minor seventh sharp five",
    "maj7b5": "major seventh flat five", "sus4": "sus4",
    "sus2": "sus2", "7sus4": "seventh sus4", "5": "power chord", "1": "single note",
}

# Fallback chain for a core the vocabulary lacks, with the rule's words for the reason.
REDUCTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "dim7": (("dim", "diminished seventh reduced to the diminished triad (no dim7 in the vocabulary)"),),
    "hdim7": (("dim", "half-diminished reduced to the diminished triad"),
              ("min7", "half-diminished reduced to the minor seventh")),
    "minmaj7": (("min", "minor-major seventh reduced to the minor triad"),),
    "7b5": (("7", "altered fifth dropped (7b5 -> 7)"),),
    "min7#5": (("min7", "altered fifth dropped (m7#5 -> m7)"),),
    "maj7b5": (("maj7", "altered fifth dropped (maj7b5 -> maj7)"),),
    "aug7": (("aug", "augmented seventh reduced to the augmented triad"),
             ("7", "augmented seventh reduced to the dominant seventh")),
    "augmaj7": (("aug", "augmented major seventh reduced to the augmented triad"),
                ("maj7", "augmented major seventh reduced to the major seventh")),
    "sus4": (("maj", "sus4 mapped to the major triad (the suspension stands for the third)"),),
    "sus2": (("maj", "sus2 mapped to the major triad (the suspension stands for the third)"),),
    "7sus4": (("7", "7sus4 mapped to the dominant seventh"),),
    "7sus2": (("7", "7sus2 mapped to the dominant seventh"),),
    "5": (("maj", "power chord mapped to the major triad"),),
    "1": (("maj", "single note mapped to the major triad"),),
    "dim": (("min", "diminished reduced to the minor triad"),),
    "aug": (("maj", "augmented reduced to the major triad"),),
    "7": (("maj", "seventh dropped"),),
    "maj7": (("maj", "seventh dropped"),),
    "min7": (("min", "seventh dropped"),),
    "6": (("maj", "sixth dropped"),),
    "min6": (("min", "sixth dropped"),),
}


@dataclass(frozen=True)
class ChordMapping:
    """How a typed symbol (or a recognised chord) maps onto a vocabulary label."""

    input: str
    label: str
    exact: bool
    reason: str


# --- the vocabulary seen as chords -----------------------------------------------------------
@dataclass(frozen=True)
class VocabEntry:
    label: str
    index: int
    root_pc: int
    root_name: str
    core: frozenset[int]          # intervals below the octave (root position)
    suffix: str                   # quality as the vocabulary spells it ("", "m", "m7b5")
    bass_pc: int | None           # None: root position
    pitch_classes: frozenset[int]


@dataclass(frozen=True)
class VocabAnalysis:
    """A vocabulary's labels parsed into chords: the spelling and qualities it knows."""

    entries: tuple[VocabEntry, ...]
    root_spelling: dict[int, str]                                    # pc -> "C#"
    by_key: dict[tuple[int, frozenset[int], int | None], VocabEntry]  # (root, core, bass) -> entry
    qualities: dict[frozenset[int], str]                             # core -> suffix
    no_chord: str | None
    unknown: str | None


@functools.lru_cache(maxsize=16)
def _analyse(labels: tuple[str, ...]) -> VocabAnalysis:
    entries: list[VocabEntry] = []
    spellings: dict[int, dict[str, int]] = {}
    by_key: dict[tuple[int, frozenset[int], int | None], VocabEntry] = {}
    qualities: dict[frozenset[int], str] = {}
    no_chord = unknown = None
    for idx, label in enumerate(labels):
        if label.upper() in NO_CHORD:
            no_chord = no_chord or label
            continue
        if label.upper() in UNKNOWN_CHORD:
            unknown = unknown or label
            continue
        try:
            sym = parse_symbol(label)
        except BadChord:
            continue
        if sym.root_pc is None or sym.extensions:
            continue
        head = label.split("/", 1)[0]
        m = ROOT_RE.match(head)
        suffix = head[m.end():] if m else ""
        core = sym.core
        entry = VocabEntry(label, idx, sym.root_pc, sym.root_name, core, suffix, sym.bass_pc, sym.pitch_classes)
        entries.append(entry)
        by_key.setdefault((sym.root_pc, core, sym.bass_pc), entry)
        if sym.bass_pc is None:
            spellings.setdefault(sym.root_pc, {}).setdefault(sym.root_name, 0)
            spellings[sym.root_pc][sym.root_name] += 1
            qualities.setdefault(core, suffix)
    root_spelling = {pc: max(names.items(), key=lambda kv: (kv[1], -len(kv[0])))[0] for pc, names in spellings.items()}
    return VocabAnalysis(tuple(entries), root_spelling, by_key, qualities, no_chord, unknown)


def analyse_vocabulary(vocab: "ChordVocabulary | Iterable[str]") -> VocabAnalysis:
    labels = tuple(vocab.labels) if hasattr(vocab, "labels") else tuple(vocab)
    return _analyse(labels)


def _pc_name(pc: int, analysis: VocabAnalysis) -> str:
    return analysis.root_spelling.get(pc, ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[pc])


def _nearest_core(core: frozenset[int], available: Iterable[frozenset[int]]) -> frozenset[int] | None:
    best: tuple[float, int, frozenset[int]] | None = None
    for cand in available:
        score = len(core & cand) - 1.0 * len(cand - core) - 0.5 * len(core - cand)
        key = (score, -len(cand), cand)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def _slash_with_notes(an: VocabAnalysis, root: int, bass: int, pcs: frozenset[int]) -> VocabEntry | None:
    """A slash label on ``root`` over ``bass`` whose notes are exactly ``pcs`` (Chordino's
    ``G/F`` is the G triad over F: the notes of ``G7/F``)."""
    for e in an.entries:
        if e.root_pc == root and e.bass_pc == bass and e.pitch_classes == pcs:
            return e
    return None


def _extension_reason(core: frozenset[int]) -> str:
    if core & {10, 11} or core == QUALITY_INTERVALS["dim7"]:
        return "extensions reduced to the seventh chord"
    if 9 in core:
        return "extensions reduced to the sixth chord"
    return "added tones dropped (triad)"


def _vocabulary_quality(core: frozenset[int], root: int, an: VocabAnalysis,
                        reasons: list[str]) -> frozenset[int] | None:
    """The vocabulary's quality for ``core``: itself, a named reduction, or the nearest one."""
    if core in an.qualities:
        return core
    name = CORE_QUALITY.get(core)
    for fallback, words in REDUCTIONS.get(name or "", ()):
        cand = QUALITY_INTERVALS[fallback]
        if cand in an.qualities:
            reasons.append(words)
            return cand
    target = _nearest_core(core, an.qualities)
    if target is not None:
        words = QUALITY_WORDS.get(name or "") or "-".join(_pc_name((root + i) % 12, an) for i in sorted(core))
        reasons.append(f"{words} is not in the vocabulary: nearest quality used")
    return target


def _describe(text: str, entry: VocabEntry, sym: ChordSymbol, exact: bool, reasons: list[str]) -> ChordMapping:
    respelled: list[str] = []
    if sym.root_name != entry.root_name:
        respelled.append(f"root {sym.root_name} -> {entry.root_name}")
    if sym.bass_pc is not None and entry.bass_pc is not None:
        vocab_bass = entry.label.split("/", 1)[1]
        if sym.bass_name != vocab_bass and sym.bass_name[:1].isupper():
            respelled.append(f"bass {sym.bass_name} -> {vocab_bass}")
    if respelled:
        reasons.insert(0, "enharmonic respelling (" + ", ".join(respelled) + ")")
    if reasons:
        reason = f"{text} -> {entry.label}: " + "; ".join(reasons)
    elif text == entry.label:
        reason = "exact"
    else:
        reason = f"{text} -> {entry.label}: the same chord in the vocabulary's spelling"
    return ChordMapping(text, entry.label, exact, reason)


def map_chord(sym: ChordSymbol, vocab: "ChordVocabulary | Iterable[str]", display: str | None = None) -> ChordMapping:
    """Map a parsed :class:`ChordSymbol` onto the nearest label of ``vocab`` (rules in the module doc)."""
    an = analyse_vocabulary(vocab)
    text = display if display is not None else sym.text.strip()
    if sym.no_chord:
        label = an.no_chord or "N"
        return ChordMapping(text, label, True, "no chord")
    if sym.unknown:
        label = an.unknown or an.no_chord or "N"
        return ChordMapping(text, label, False, "unknown chord")
    if sym.root_pc is None:  # pragma: no cover - parse_symbol sets a root for every chord
        raise BadChord(f"{text!r} has no root")
    root = sym.root_pc
    reasons: list[str] = []
    if sym.bass_pc is not None:
        same = _slash_with_notes(an, root, sym.bass_pc, sym.pitch_classes)
        if same is not None and (sym.extensions or same.core != sym.core):
            reasons.append(f"the vocabulary's {same.label} has the same notes")
            return _describe(text, same, sym, True, reasons)
    exact = not sym.extensions
    if sym.extensions:
        reasons.append(_extension_reason(sym.core))
    target = _vocabulary_quality(sym.core, root, an, reasons)
    if target is None:
        label = an.unknown or an.no_chord or "N"
        return ChordMapping(text, label, False, "the vocabulary has no chords")
    exact = exact and target == sym.core
    found = an.by_key.get((root, target, None))
    if found is None:
        # the vocabulary lacks this root with this quality: nearest quality on this root
        root_label = _pc_name(root, an) + an.qualities[target]
        cores = [c for (r, c, b) in an.by_key if r == root and b is None]
        near = _nearest_core(target, cores)
        if near is None:
            label = an.unknown or an.no_chord or "N"
            return ChordMapping(text, label, False, f"no chord on root {_pc_name(root, an)} in the vocabulary")
        exact = False
        reasons.append(f"{root_label} is not in the vocabulary: nearest chord on the same root")
        target = near
        found = an.by_key[(root, near, None)]
    entry: VocabEntry = found
    if sym.bass_pc is not None:
        pcs = frozenset((root + i) % 12 for i in target) | {sym.bass_pc}
        slash = an.by_key.get((root, target, sym.bass_pc)) or _slash_with_notes(an, root, sym.bass_pc, pcs)
        if slash is not None:
            if slash.core != target:
                reasons.append(f"the vocabulary's {slash.label} has the same notes")
            entry = slash
        else:
            exact = False
            bass = sym.bass_name if sym.bass_name[:1].isupper() else _pc_name(sym.bass_pc, an)
            reasons.append(f"bass {bass} dropped: the vocabulary has no {entry.label}/{bass} (root position used)")
    return _describe(text, entry, sym, exact, reasons)


def map_symbol(text: str, vocab: "ChordVocabulary | Iterable[str]") -> ChordMapping:
    """Map a typed chord symbol to the nearest vocabulary label (see the table in the module doc)."""
    return map_chord(parse_symbol(text), vocab, display=text.strip() if isinstance(text, str) else None)


@dataclass(frozen=True)
class SymbolResult:
    """One symbol of a list: its mapping, or the :class:`BadChord` that says why it is none."""

    input: str
    mapping: ChordMapping | None = None
    error: BadChord | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def map_each_symbol(texts: "str | Iterable[str]", vocab: "ChordVocabulary | Iterable[str]") -> tuple[SymbolResult, ...]:
    """Map every symbol of a list on its own: one bad symbol is reported in its own result
    and the others still map. ``texts``: a string (split by :func:`split_symbols`) or
    separate symbols."""
    items = split_symbols(texts) if isinstance(texts, str) else tuple(texts)
    out: list[SymbolResult] = []
    for item in items:
        shown = item.strip() if isinstance(item, str) else repr(item)
        try:
            out.append(SymbolResult(shown, mapping=map_symbol(item, vocab)))
        except BadChord as err:
            out.append(SymbolResult(shown, error=err))
    return tuple(out)


def map_symbols(text: str, vocab: "ChordVocabulary | Iterable[str]") -> tuple[ChordMapping, ...]:
    """Map a list of symbols (``"Cmaj9 Ab7#9 | F#m7b5/A"``, ``"C, Am, F"``) all or nothing:
    :class:`BadChord` names every symbol that is not a chord (see :func:`map_each_symbol`
    to map the rest anyway)."""
    results = map_each_symbol(text, vocab)
    bad = [r for r in results if r.error is not None]
    if bad:
        raise BadChord("; ".join(str(r.error) for r in bad))
    return tuple(r.mapping for r in results if r.mapping is not None)
