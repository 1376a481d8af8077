"""Chord symbols as musicians type them: the grammar.

``parse_symbol(text)`` reads one symbol into a :class:`ChordSymbol` (root pitch class,
spelled root, intervals, extensions, bass); ``split_symbols(text)`` splits a typed list.

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

Typed signs are read as the signs they stand for (:func:`_normalise`): ``^`` is the
triangle ``Δ`` (iReal Pro: ``C^7``, ``C-^7``), ``º`` (the ordinal sign) is ``°``, a typographic
minus ``−`` or dash ``–`` is ``-``; ``add(b9)`` is ``addb9``; and a ``/`` inside parentheses
lists alterations (``C7(b9/#11)`` = ``C7(b9,#11)``, ``C(6/9)`` = ``C6/9``): it is never a bass.

Harte syntax (``C:maj7``, ``C:min/b3``, ``C:(1,b3,5)``, ``C:7(b9)``) is the same grammar
after the colon; a Harte degree list replaces the quality (``*3`` omits a degree).

The vocabulary side (which label a symbol becomes, and why) is :mod:`midi.symbol_mapping`.

Only a string that is not a chord at all raises :class:`core.errors.BadChord` (never any other
exception, whatever the string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import BadChord

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
                                "M7+5", "ma7#5", "Δ#5", "M7(#5)", "maj7+", "M7+", "Δ7+", "Δ+")),
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

QUALITY_INTERVALS: dict[str, frozenset[int]] = {name: frozenset(iv) for name, iv, _ in QUALITIES}
CORE_QUALITY: dict[frozenset[int], str] = {}
_FULL_NAMES: dict[frozenset[int], str] = {}
for _name, _iv, _aliases in QUALITIES:
    CORE_QUALITY.setdefault(frozenset(i for i in _iv if i < 12), _name)
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
ROOT_RE = re.compile(r"([A-Ga-g])([b#♭♯]{0,2})")
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
        intervals = set(QUALITY_INTERVALS[quality])
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


_TYPED_SIGNS = str.maketrans({"^": "Δ", "º": "°", "−": "-", "–": "-"})
_ADD_PARENS = re.compile(r"(add)\(([^()]*)\)", re.IGNORECASE)


def _normalise(body: str) -> str:
    """Typed signs as the signs they stand for (see the module doc): ``^`` -> ``Δ``,
    ``º`` -> ``°``, ``−``/``–`` -> ``-``, ``add(b9)`` -> ``addb9``, a ``/`` inside parentheses
    -> ``,`` (an alteration list, not a bass)."""
    body = _ADD_PARENS.sub(r"\1\2", body.translate(_TYPED_SIGNS))
    if "(" not in body or "/" not in body:
        return body
    out: list[str] = []
    depth = 0
    for ch in body:
        depth += (ch == "(") - (ch == ")")
        out.append("," if ch == "/" and depth > 0 else ch)
    return "".join(out)


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
    body = _normalise("".join(s.split()))  # "C Major", "a minor", "Bb m7", "C / E": spaces carry no meaning
    if s.upper() in NO_CHORD or body.upper() in NO_CHORD:
        return ChordSymbol(text=raw, root_pc=None, no_chord=True)
    if body.upper() in UNKNOWN_CHORD:
        return ChordSymbol(text=raw, root_pc=None, unknown=True)
    m = ROOT_RE.match(body)
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
