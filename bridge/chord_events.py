"""Typed chord symbols -> a request's chord events: the helpers every front end builds requests with.

``map_chords`` / ``map_each_chord`` map symbols to the model's vocabulary (``midi.symbol_mapping``),
``typed_events`` places them at a tempo, and ``fill_loop`` repeats a progression shorter than a
loop. The OSC session (``bridge.session``), live MIDI and ``jasco-bridge render`` all use these,
so a chord typed anywhere becomes the same events.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from core.errors import BadChord, TooLarge, VocabularyError
from core.requests import MAX_CHORDS, ChordEvent


@dataclass(frozen=True)
class TypedChord:
    """A typed chord as mapped when it arrived (seconds are computed at generate time)."""

    given: str
    label: str
    start_beat: float
    exact: bool
    reason: str


def fill_loop(chords: Sequence[ChordEvent], *, bars: int, beats_per_bar: float, seconds_per_beat: float,
              period: float | None = None) -> tuple[tuple[ChordEvent, ...], tuple[str, ...]]:
    """Repeat a progression shorter than a loop of ``bars`` bars until the loop is full.

    The progression lasts ``period`` beats (the chord clip's loop region, when the chords were
    recognised inside one), else the fewest whole bars that hold every chord start and divide the
    loop (so a 2- or 4-bar progression repeats evenly in 8 bars; a progression that fits no
    divisor lasts the whole loop and the last chord holds). A progression with chords starting at or
    after the loop's end is longer than the loop: it is not repeated, and those chords are not heard.
    Both cases are said in the returned notes."""
    clip_beats = bars * beats_per_bar
    eps = 1e-9
    inside = [c for c in chords if c.start_beat < clip_beats - eps]
    notes: list[str] = []
    if len(inside) < len(chords):  # a progression longer than the loop: nothing to repeat
        notes.append(f"{len(chords) - len(inside)} chord(s) start after the {bars}-bar loop ends and are not heard")
        return tuple(chords), tuple(notes)
    if period is None or period <= eps:
        last_bar = int(max(c.start_beat for c in inside) // beats_per_bar + eps)  # 0-based bar of the last start
        length = next(p for p in range(last_bar + 1, bars + 1) if bars % p == 0)
        period = length * beats_per_bar
    if period >= clip_beats - eps:
        return tuple(chords), tuple(notes)
    out = list(inside)
    k = 1
    while k * period < clip_beats - eps:
        for c in inside:
            beat = c.start_beat + k * period
            if beat < clip_beats - eps:
                out.append(dataclasses.replace(c, start_beat=beat, start_seconds=beat * seconds_per_beat))
        k += 1
    if len(out) > MAX_CHORDS:
        raise TooLarge(f"repeating the progression over {bars} bars gives {len(out)} chords; the limit is "
                       f"{MAX_CHORDS}")
    notes.append(f"the {period / beats_per_bar:g}-bar progression plays {k} times to fill the {bars}-bar loop")
    return tuple(out), tuple(notes)


def map_chords(groups: Sequence[tuple[str, float]], vocab: Any) -> tuple[TypedChord, ...]:
    """Map typed symbols to the vocabulary (``BadChord`` names the first bad one), in the order given
    (the ``chord_order`` parameter says how the engine reads them)."""
    if vocab is None:
        raise VocabularyError("no chord vocabulary: start the server with --vocab PATH to use chords")
    from midi.symbol_mapping import map_symbol

    out = []
    for text, beat in groups:
        m = map_symbol(text, vocab)
        out.append(TypedChord(text, m.label, float(beat), bool(m.exact), str(m.reason)))
    return tuple(out)


def map_each_chord(groups: Sequence[tuple[str, float]], vocab: Any
                   ) -> tuple[tuple[TypedChord, ...], tuple[tuple[str, float, BadChord], ...]]:
    """Like :func:`map_chords`, but one bad symbol does not reject the others: the mapped chords
    (in the order given) and, separately, each symbol that is not a chord with its error."""
    if vocab is None:
        raise VocabularyError("no chord vocabulary: start the server with --vocab PATH to use chords")
    from midi.symbol_mapping import map_each_symbol

    good: list[TypedChord] = []
    bad: list[tuple[str, float, BadChord]] = []
    results = map_each_symbol([text for text, _ in groups], vocab)
    for (text, beat), result in zip(groups, results):
        if result.mapping is not None:
            m = result.mapping
            good.append(TypedChord(text, m.label, float(beat), bool(m.exact), str(m.reason)))
        else:
            bad.append((text, float(beat), result.error or BadChord(f"{text!r} is not a chord")))
    return tuple(good), tuple(bad)


def typed_events(chords: Sequence[TypedChord], bpm: float) -> tuple[ChordEvent, ...]:
    """Typed chords (mapped, in beats) as the request's events at ``bpm`` (OSC and the render CLI)."""
    spb = 60.0 / bpm
    return tuple(ChordEvent(c.given, c.label, c.start_beat, c.start_beat * spb, c.exact, c.reason) for c in chords)
