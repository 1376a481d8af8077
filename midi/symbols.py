"""Chord symbols as musicians type them, and their nearest label in a chord vocabulary.

``parse_symbol(text)`` reads one symbol into a :class:`ChordSymbol` (root pitch class,
spelled root, intervals, extensions, bass); ``map_symbol(text, vocab)`` returns a
:class:`ChordMapping` naming the vocabulary label to use, whether it is exact and why.

Grammar (table driven, mido style: one table of quality aliases -> intervals)::

    symbol   := "N" | "NC" | "N.C." | "N/C" | "X"          (no chord / unknown)
              | root [":" ] [quality] {modifier} ["/" bass]
    root     := A-G (first letter may be lower case) then accidentals b # ♭ ♯ (up to two)
    quality  := the longest alias in QUALITIES whose remainder reads ("Comit3" is C omit 3);
                a one-letter M/m keeps its case (CM7b5 major, Cm7b5 minor), words do not
                (Cmaj7 = CMAJ7, CMI7 = Cmi7)
    modifier := "(" ... ")" | "add9" | "b9" | "#11" | "no3" | "sus4" | "(maj7)" | "9" ...
    bass     := a note name (C/E, F#m7b5/A) or a degree (Harte: C:min/b3, C/5)

An optional chord in parentheses ``(Am7)`` is the chord; a lower-case bass is a note
(``C/e``, Nottingham style); a capital ``B`` before a degree is a flat (``C7B9``).
Spaces inside a symbol carry no meaning (``C Major``, ``a minor``, ``Bb m7``, ``C / E``), and
``+``/``-`` before an extension alter it (``C7+9`` = ``C7#9``; ``C7+`` alone is ``C7#5``).

Harte syntax (``C:maj7``, ``C:min/b3``, ``C:(1,b3,5)``, ``C:7(b9)``) is the same grammar
after the colon; a Harte degree list replaces the quality (``*3`` omits a degree).

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
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from core.errors import BadChord

if TYPE_CHECKING:  # pragma: no cover
    from midi.vocab import ChordVocabulary

NOTE_PCS: dict[str, int] = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTALS: dict[str, int] = {"b": -1, "♭": -1, "#": 1, "♯": 1}
NO_CHORD = frozenset({"N", "NC", "N.C.", "N.C", "N/C", "NOCHORD", "NO CHORD"})
UNKNOWN_CHORD = frozenset({"X", "UNK"})
MAX_SYMBOL_CHARS = 64

# --- the quality table: (canonical name, intervals in semitones above the root, aliases) ----
# Aliases of one letter are case sensitive (M = major, m = minor); word aliases also match
# in any letter case (Cmaj7, CMAJ7, CMaj7). Harte shorthands are aliases too.
QUALITIES: tuple[tuple[str, tuple[int, ...], tuple[str, ...]], ...] = (
    ("maj", (0, 4, 7), ("", "M", "maj", "major", "ma")),
    ("min", (0, 3, 7), ("m", "min", "-", "mi", "minor")),
    ("aug", (0, 4, 8), ("aug", "+", "#5", "+5")),
    ("dim", (0, 3, 6), ("dim", "°", "o", "mb5", "m(b5)", "minb5")),
    ("dim7", (0, 3, 6, 9), ("dim7", "°7", "o7")),
    # jazz charts write half-diminished as ø, Ø, 0 (a slashed o typed as zero) or h (iReal Pro)
    ("hdim7", (0, 3, 6, 10), ("m7b5", "ø", "ø7", "Ø", "Ø7", "hdim7", "hdim", "-7b5", "min7b5", "mi7b5",
                              "m7(b5)", "-7(b5)", "mi7(b5)", "0", "07", "h", "h7")),
    ("7", (0, 4, 7, 10), ("7", "dom7", "dom")),
    ("maj7", (0, 4, 7, 11), ("maj7", "M7", "Δ7", "Δ", "∆7", "∆", "ma7", "j7", "major7")),
    ("min7", (0, 3, 7, 10), ("m7", "min7", "-7", "mi7", "minor7")),
    ("minmaj7", (0, 3, 7, 11), ("mM7", "m(maj7)", "mmaj7", "minmaj7", "min(maj7)", "-maj7", "-Δ7", "mΔ7",
                                "-(maj7)", "m(M7)", "mMaj7", "-M7", "-(M7)", "-Δ", "mΔ", "-∆7", "m∆7", "-∆",
                                "mi(ma7)", "mima7", "m/maj7", "m/M7", "min/maj7")),
    ("6", (0, 4, 7, 9), ("6", "maj6", "M6", "add6", "ma6")),
    ("min6", (0, 3, 7, 9), ("m6", "min6", "-6", "mi6")),
    ("aug7", (0, 4, 8, 10), ("aug7", "+7", "7#5", "7+5", "7(#5)", "7+", "7aug", "7(+5)")),
    ("augmaj7", (0, 4, 8, 11), ("maj7#5", "augmaj7", "+maj7", "maj7+5", "M7#5", "Δ7#5", "+M7", "maj7(#5)",
                                "M7+5", "ma7#5", "Δ#5", "M7(#5)")),
    ("7b5", (0, 4, 6, 10), ("7b5", "7-5", "7(b5)")),
    ("min7#5", (0, 3, 8, 10), ("m7#5", "m7+5", "-7#5", "-7+5", "mi7#5", "mi7+5", "min7#5", "min7+5", "m7(#5)",
                               "-7(#5)", "mi7(#5)", "m7(+5)", "m7aug5")),
    ("maj7b5", (0, 4, 6, 11), ("maj7b5", "M7b5", "Δ7b5", "∆7b5", "maj7(b5)", "M7(b5)", "ma7b5", "maj7-5")),
    ("sus4", (0, 5, 7), ("sus4", "sus")),
    ("sus2", (0, 2, 7), ("sus2",)),
    ("7sus4", (0, 5, 7, 10), ("7sus4", "7sus")),
    ("5", (0, 7), ("5", "power")),
    ("1", (0,), ("1",)),
    ("9", (0, 4, 7, 10, 14), ("9", "dom9")),
    ("aug9", (0, 4, 8, 10, 14), ("9#5", "9+5", "9+", "+9", "aug9", "9(#5)")),
    ("7alt", (0, 4, 7, 10, 13, 15), ("alt", "7alt")),                      # the altered dominant
    ("maj9", (0, 4, 7, 11, 14), ("maj9", "M9", "Δ9", "∆9", "ma9")),
    ("min9", (0, 3, 7, 10, 14), ("m9", "min9", "-9", "mi9")),
    ("11", (0, 4, 7, 10, 14, 17), ("11", "dom11")),
    ("maj11", (0, 4, 7, 11, 14, 17), ("maj11", "M11", "Δ11", "∆11", "ma11")),
    ("min11", (0, 3, 7, 10, 14, 17), ("m11", "min11", "-11", "mi11")),
    ("13", (0, 4, 7, 10, 14, 21), ("13", "dom13")),
    ("maj13", (0, 4, 7, 11, 14, 21), ("maj13", "M13", "Δ13", "∆13", "ma13")),
    ("min13", (0, 3, 7, 10, 14, 21), ("m13", "min13", "-13", "mi13")),
    ("add9", (0, 4, 7, 14), ("add9", "add2", "(add9)", "2")),
    ("madd9", (0, 3, 7, 14), ("madd9", "m(add9)", "-add9", "minadd9", "madd2", "-(add9)")),
    ("69", (0, 4, 7, 9, 14), ("6/9", "69", "6add9", "6(add9)", "M6/9", "maj6/9", "M69", "maj69", "ma6/9")),
    ("min69", (0, 3, 7, 9, 14), ("m6/9", "m69", "-6/9", "min6/9", "mi6/9", "-69")),
    ("9sus4", (0, 5, 7, 10, 14), ("9sus4", "9sus")),
    ("7sus2", (0, 2, 7, 10), ("7sus2",)),
)

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

_BY_NAME: dict[str, frozenset[int]] = {name: frozenset(iv) for name, iv, _ in QUALITIES}
_CORE_NAMES: dict[frozenset[int], str] = {}
_FULL_NAMES: dict[frozenset[int], str] = {}
for _name, _iv, _aliases in QUALITIES:
    _CORE_NAMES.setdefault(frozenset(i for i in _iv if i < 12), _name)
    _FULL_NAMES.setdefault(frozenset(_iv), _name)


_WORD_START = re.compile(r"(maj|min|mi(?![a-z])|ma(?![a-z]))", re.IGNORECASE)


def _marker(alias: str) -> str:
    """The one-letter major/minor marker an alias starts with (``M`` in ``M7#5``, ``m`` in
    ``madd9``), whose case decides the chord; "" when the alias starts with a word (``maj7``,
    ``Min``, ``MI7``: Real Book style), which may be written in any case."""
    if alias[:1] in ("m", "M") and not _WORD_START.match(alias):
        return alias[0]
    return ""


def _alias_index() -> tuple[dict[str, str], dict[str, tuple[tuple[str, str], ...]], int]:
    exact: dict[str, str] = {}
    folded: dict[str, list[tuple[str, str]]] = {}
    longest = 0
    for name, _iv, aliases in QUALITIES:
        for alias in aliases:
            exact.setdefault(alias, name)
            if len(alias) >= 3 and alias.lower() != alias.upper():
                folded.setdefault(alias.lower(), []).append((alias, name))
            longest = max(longest, len(alias))
    return exact, {k: tuple(v) for k, v in folded.items()}, longest


_ALIASES, _ALIASES_FOLDED, _LONGEST_ALIAS = _alias_index()

# Degrees in chord-symbol modifiers (7 means the minor seventh, as in "C7") and in Harte
# (7 means the major seventh; b7 is the minor seventh).
_SYMBOL_DEGREES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 10, 9: 14, 11: 17, 13: 21}
_HARTE_DEGREES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 8: 12, 9: 14, 10: 16, 11: 17, 12: 19, 13: 21}
_ROOT_RE = re.compile(r"([A-Ga-g])([b#♭♯]{0,2})")
_NOTE_RE = re.compile(r"([A-G])([b#♭♯]{0,2})$|([a-g])([#♯]{0,2}|b{0,2})$")
_MOD_RE = re.compile(
    r"(?P<op>add|omit|no|sus|maj|Δ|∆|alt)?(?P<acc>[#b♯♭+\-]?)(?P<deg>\d{1,2})?",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True)
class ChordSymbol:
    """A parsed chord symbol. ``intervals`` are semitones above the root (extensions >= 12)."""

    text: str
    root_pc: int | None                 # None for no chord / unknown
    root_name: str = ""                 # as written, normalised to ASCII: "Db", "C#"
    quality: str = ""                   # canonical name from QUALITIES ("maj", "min7", ...) or "custom"
    intervals: tuple[int, ...] = ()
    bass_pc: int | None = None          # None: root position
    bass_name: str = ""
    no_chord: bool = False
    unknown: bool = False

    @property
    def core(self) -> frozenset[int]:
        """Intervals below the octave (the chord without its extensions)."""
        return frozenset(i for i in self.intervals if i < 12)

    @property
    def extensions(self) -> tuple[int, ...]:
        return tuple(i for i in self.intervals if i >= 12)

    @property
    def pitch_classes(self) -> frozenset[int]:
        if self.root_pc is None:
            return frozenset()
        pcs = {(self.root_pc + i) % 12 for i in self.intervals}
        if self.bass_pc is not None:
            pcs.add(self.bass_pc)
        return frozenset(pcs)


@dataclass(frozen=True)
class ChordMapping:
    """How a typed symbol (or a recognised chord) maps onto a vocabulary label."""

    input: str
    label: str
    exact: bool
    reason: str


# --- parsing -------------------------------------------------------------------------------
def _ascii(acc: str) -> str:
    return acc.replace("♭", "b").replace("♯", "#")


def note_pc(name: str) -> int:
    """Pitch class of a note name such as ``Db``, ``E#``, ``Cb``, ``F♯``."""
    m = _NOTE_RE.match(name)
    if m is None:
        raise BadChord(f"{name!r} is not a note name")
    letter = (m.group(1) or m.group(3)).upper()
    acc = m.group(2) if m.group(1) else m.group(4)
    return (NOTE_PCS[letter] + sum(ACCIDENTALS[a] for a in acc)) % 12


def _degree(token: str, table: dict[int, int], text: str) -> int:
    m = re.fullmatch(r"([#b♯♭]*)(\d{1,2})", token, re.ASCII)
    if m is None or int(m.group(2)) not in table:
        raise BadChord(f"{text!r} is not a chord: {token!r} is not a scale degree")
    return table[int(m.group(2))] + sum(ACCIDENTALS[a] for a in m.group(1))


def _quality_candidates(rest: str) -> list[tuple[str, int]]:
    """Quality aliases at the start of ``rest``, longest first: (canonical name, characters
    used), ending with the bare major triad (0 characters). A one-letter ``M``/``m`` marker
    keeps its case even where the rest of an alias may be written in any case: ``CM7b5`` is a
    major seventh flat five and ``CMadd9`` a major add9, never their minor namesakes."""
    out: list[tuple[str, int]] = []
    for n in range(min(len(rest), _LONGEST_ALIAS), 0, -1):
        head = rest[:n]
        name = _ALIASES.get(head)
        if name is None and n >= 3:
            for alias, folded_name in _ALIASES_FOLDED.get(head.lower(), ()):
                mark = _marker(alias)
                if not mark or head[0] == mark:
                    name = folded_name
                    break
        if name is not None and n > 1 and head.endswith("+") and rest[n:n + 1].isdigit():
            continue  # C7+9 is C7(#9), not C7+ (augmented) with a 9
        if name is not None:
            out.append((name, n))
    out.append(("maj", 0))
    return out


def _apply_modifiers(text: str, mods: str, intervals: set[int]) -> None:
    """Read modifiers such as ``b9``, ``#11``, ``add9``, ``(b9,#11)``, ``no3``, ``sus4``, ``(maj7)``."""
    pos = 0
    while pos < len(mods):
        ch = mods[pos]
        if ch in " ,()":
            pos += 1
            continue
        m = _MOD_RE.match(mods, pos)
        if m is None or m.end() == pos:
            raise BadChord(f"{text!r} is not a chord: cannot read {mods[pos:]!r}")
        op = (m.group("op") or "").lower()
        if op in ("δ", "∆"):
            op = "maj"
        acc = m.group("acc").lower()   # C7B9, E7B13: a capital B is a flat here
        deg = m.group("deg")
        if op == "alt":
            intervals.update({13, 15})
        elif op in ("omit", "no"):
            if deg is None:
                raise BadChord(f"{text!r} is not a chord: {m.group(0)!r} names no degree")
            d = int(deg)
            if d == 3:
                intervals.difference_update({3, 4})
            elif d == 5:
                intervals.difference_update({6, 7, 8})
            elif d == 1:
                intervals.discard(0)
            else:
                raise BadChord(f"{text!r} is not a chord: cannot omit degree {d}")
        elif op == "sus":
            d = int(deg) if deg else 4
            if d not in (2, 4):
                raise BadChord(f"{text!r} is not a chord: sus{d}")
            intervals.difference_update({3, 4})
            intervals.add(2 if d == 2 else 5)
            if acc:
                raise BadChord(f"{text!r} is not a chord: cannot read {m.group(0)!r}")
        elif op == "maj":
            if deg not in (None, "7", "9", "13"):
                raise BadChord(f"{text!r} is not a chord: cannot read {m.group(0)!r}")
            intervals.discard(10)
            intervals.add(11)
            if deg in ("9", "13"):
                intervals.add(14)
            if deg == "13":
                intervals.add(21)
        elif op == "add":
            if deg is None:
                raise BadChord(f"{text!r} is not a chord: {m.group(0)!r} names no degree")
            d = int(deg)
            base = {2: 14, 4: 17, 6: 9, 9: 14, 11: 17, 13: 21}.get(d)
            if base is None:
                raise BadChord(f"{text!r} is not a chord: cannot add degree {d}")
            shift = {"": 0, "b": -1, "♭": -1, "-": -1, "#": 1, "♯": 1, "+": 1}[acc]
            intervals.add(base + shift)
        else:
            if deg is None:
                raise BadChord(f"{text!r} is not a chord: cannot read {mods[pos:]!r}")
            d = int(deg)
            shift = {"": 0, "b": -1, "♭": -1, "-": -1, "#": 1, "♯": 1, "+": 1}[acc]
            if d == 5:
                intervals.difference_update({6, 7, 8})
                intervals.add(7 + shift)
            elif d in (9, 11, 13):
                intervals.add(_SYMBOL_DEGREES[d] + shift)   # an extension (dropped when mapped)
            elif d == 7 and shift == 0:
                intervals.add(10)
            elif d == 6 and shift == 0:
                intervals.add(9)
            elif d in (2, 4) and shift == 0:
                intervals.add(_SYMBOL_DEGREES[d] + 12)      # C(2) = Cadd9
            else:
                raise BadChord(f"{text!r} is not a chord: cannot read {m.group(0)!r}")
        pos = m.end()


def _parse_bass(text: str, bass: str, root_pc: int, harte: bool) -> tuple[int, str]:
    bass = bass.strip()
    if not bass:
        raise BadChord(f"{text!r} is not a chord: nothing after '/'")
    if _NOTE_RE.match(bass) and not re.fullmatch(r"b\d+", bass):
        name = bass[0].upper() + _ascii(bass[1:])
        return note_pc(bass), name
    table = _HARTE_DEGREES if harte else {**_HARTE_DEGREES, 7: 10}
    pc = (root_pc + _degree(_ascii(bass), table, text)) % 12
    return pc, bass


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def _strip_optional(s: str) -> str:
    """``(Am7)``: lead sheets put optional chords in parentheses; the chord is the same."""
    while len(s) > 2 and s[0] in "([" and s[-1] == {"(": ")", "[": "]"}[s[0]] and _balanced(s[1:-1]) \
            and "[" not in s[1:-1] and "]" not in s[1:-1]:
        s = s[1:-1].strip()
    return s


def _harte_degrees(s: str, tail: str, intervals: set[int]) -> str:
    """Read a Harte degree list ``(1,b3,5,*5)`` at the start of ``tail`` into ``intervals``;
    return what follows it."""
    close = tail.find(")")
    if close < 0:
        raise BadChord(f"{s!r} is not a chord: unclosed '('")
    for tok in tail[1:close].split(","):
        tok = tok.strip()
        if not tok:
            continue
        if tok.startswith("*"):
            intervals.discard(_degree(_ascii(tok[1:]), _HARTE_DEGREES, s))
        else:
            intervals.add(_degree(_ascii(tok), _HARTE_DEGREES, s))
    return tail[close + 1:]


def _read_quality(s: str, rest: str, harte: bool, quality: str, used: int) -> tuple[set[int], str]:
    """Intervals of ``rest`` read with the quality alias ``rest[:used]``; returns them and the
    bass text after '/' ("" for none). Raises :class:`BadChord` when the rest is unreadable."""
    tail = rest[used:]
    bass_part = ""
    if "/" in tail:
        tail, bass_part = tail.rsplit("/", 1)
        if not bass_part.strip():
            raise BadChord(f"{s!r} is not a chord: nothing after '/'")
    if harte and tail.startswith("(") and used == 0:
        intervals: set[int] = set()       # a Harte degree list replaces the quality: C:(1,b3,5)
        tail = _harte_degrees(s, tail, intervals)
    else:
        intervals = set(_BY_NAME[quality])
        if harte and tail.startswith("("):
            tail = _harte_degrees(s, tail, intervals)
        else:
            _apply_modifiers(s, tail, intervals)
            tail = ""
    if tail.strip():
        raise BadChord(f"{s!r} is not a chord: cannot read {tail!r}")
    if not intervals:
        raise BadChord(f"{s!r} is not a chord: no notes left")
    return intervals, bass_part


def parse_symbol(text: str) -> ChordSymbol:
    """Parse one chord symbol. Raises :class:`BadChord` only for text that is not a chord."""
    if not isinstance(text, str):
        raise BadChord(f"a chord symbol must be a string, got {type(text).__name__}")
    raw = text
    s = text.strip()
    if not s:
        raise BadChord("an empty string is not a chord")
    if len(s) > MAX_SYMBOL_CHARS:
        raise BadChord(f"{s[:MAX_SYMBOL_CHARS]!r}... is not a chord (too long)")
    if not _balanced(s):
        raise BadChord(f"{s!r} is not a chord: unbalanced parentheses")
    s = _strip_optional(s)
    body = "".join(s.split())  # "C Major", "a minor", "Bb m7", "C / E": spaces carry no meaning
    if s.upper() in NO_CHORD or body.upper() in NO_CHORD:
        return ChordSymbol(text=raw, root_pc=None, no_chord=True)
    if body.upper() in UNKNOWN_CHORD:
        return ChordSymbol(text=raw, root_pc=None, unknown=True)
    m = _ROOT_RE.match(body)
    if m is None:
        raise BadChord(f"{s!r} is not a chord: it must start with a note name A-G")
    root_name = m.group(1).upper() + _ascii(m.group(2))
    root_pc = note_pc(root_name)
    rest = body[m.end():]
    harte = rest.startswith(":")
    if harte:
        rest = rest[1:]
    # the longest quality alias whose remainder reads (so "Comit3" is C omit 3, not Co + "mit3");
    # the bass is after the last '/' unless that '/' belongs to the alias (6/9)
    first_error: BadChord | None = None
    for quality, used in _quality_candidates(rest):
        try:
            intervals, bass_part = _read_quality(s, rest, harte, quality, used)
        except BadChord as err:
            first_error = first_error or err
            continue
        break
    else:
        raise first_error or BadChord(f"{s!r} is not a chord")
    bass_pc: int | None = None
    bass_name = ""
    if bass_part:
        bass_pc, bass_name = _parse_bass(s, bass_part, root_pc, harte)
        if bass_pc == root_pc:
            bass_pc, bass_name = None, ""
    return ChordSymbol(
        text=raw,
        root_pc=root_pc,
        root_name=root_name,
        quality=_FULL_NAMES.get(frozenset(intervals), "custom"),
        intervals=tuple(sorted(intervals)),
        bass_pc=bass_pc,
        bass_name=bass_name,
    )


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
        m = _ROOT_RE.match(head)
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
    if core & {10, 11} or core == _BY_NAME["dim7"]:
        return "extensions reduced to the seventh chord"
    if 9 in core:
        return "extensions reduced to the sixth chord"
    return "added tones dropped (triad)"


def _vocabulary_quality(core: frozenset[int], root: int, an: VocabAnalysis,
                        reasons: list[str]) -> frozenset[int] | None:
    """The vocabulary's quality for ``core``: itself, a named reduction, or the nearest one."""
    if core in an.qualities:
        return core
    name = _CORE_NAMES.get(core)
    for fallback, words in REDUCTIONS.get(name or "", ()):
        cand = _BY_NAME[fallback]
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


def _depth0_commas(text: str) -> str:
    """Commas outside parentheses separate symbols (``C, Am, F``); inside them they list
    alterations (``C7(b9,#11)``)."""
    out: list[str] = []
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        out.append("|" if ch == "," and depth <= 0 else ch)
    return "".join(out)


def split_symbols(text: str) -> tuple[str, ...]:
    """Split a list of symbols separated by whitespace, '|' or commas. A word that is no chord
    on its own but completes the one before it is joined to it (``"C Major a minor"`` ->
    ``("C Major", "a minor")``), and so is everything up to a closing parenthesis
    (``"C:(1, b3, 5)"``)."""
    out: list[str] = []
    for bar in _depth0_commas(re.sub(r"\s*/\s*", "/", text)).split("|"):  # "C / E" is one chord
        for i, word in enumerate(bar.split()):
            if i > 0 and (not _balanced(out[-1]) or not _is_chord(word) and _is_chord(f"{out[-1]} {word}")):
                out[-1] = f"{out[-1]} {word}"
            else:
                out.append(word)  # (a word that is no chord either way is reported by map_symbol)
    return tuple(out)


def _is_chord(text: str) -> bool:
    try:
        parse_symbol(text)
    except BadChord:
        return False
    return True


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
