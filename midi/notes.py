"""Notes in beats: the one note type every ``midi`` function takes.

A :class:`Note` is validated where it is built (mido style): pitch 0..127, start >= 0
beats, duration > 0 beats, velocity 0..127, all finite. Velocity 0 is accepted (Live
and MIDI files can carry it) and means a silent note: like a MIDI note-on with velocity
0, it is ignored by chord recognition and the melody matrix, as are muted notes.

``notes_from_live_json`` reads the JSON that Live's ``get_notes_extended`` returns
(``{"notes": [{"pitch", "start_time", "duration", "velocity", "mute", ...}]}`` or the
bare list); extra keys (``note_id``, ``probability``, ``release_velocity``...) are
ignored and muted notes are skipped.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from core.errors import BadNotes, BadValue, TooLarge

MAX_NOTES = 200_000


def check_positive(name: str, value: object, *, allow_none: bool = False) -> float | None:
    """A finite number > 0 (or None when ``allow_none``); anything else is :class:`BadValue`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
            or float(value) <= 0:
        raise BadValue(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise BadNotes(f"note {what} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise BadNotes(f"note {what} must be finite, got {value!r}")
    return f


@dataclass(frozen=True)
class Note:
    """One note. Times in beats (quarter notes) from the clip start."""

    pitch: int
    start: float
    duration: float
    velocity: float = 100
    mute: bool = False

    def __post_init__(self) -> None:
        pitch = _number(self.pitch, "pitch")
        if pitch != int(pitch) or not 0 <= pitch <= 127:
            raise BadNotes(f"note pitch must be an integer 0..127, got {self.pitch!r}")
        start = _number(self.start, "start")
        if start < 0:
            raise BadNotes(f"note start must be >= 0 beats, got {self.start!r}")
        duration = _number(self.duration, "duration")
        if duration <= 0:
            raise BadNotes(f"note duration must be > 0 beats, got {self.duration!r}")
        velocity = _number(self.velocity, "velocity")
        if not 0 <= velocity <= 127:
            raise BadNotes(f"note velocity must be 0..127, got {self.velocity!r}")
        if not isinstance(self.mute, (bool, np.bool_)) and self.mute not in (0, 1):
            raise BadNotes(f"note mute must be true or false, got {self.mute!r}")
        object.__setattr__(self, "pitch", int(pitch))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "duration", duration)
        object.__setattr__(self, "velocity", velocity)
        object.__setattr__(self, "mute", bool(self.mute))

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def audible(self) -> bool:
        """False for muted notes and velocity 0 (both are ignored by analysis)."""
        return not self.mute and self.velocity > 0


def _as_mapping(item: object, i: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadNotes(f"note #{i} must be an object with pitch/start_time/duration, got {type(item).__name__}")
    return item


def notes_from_live_json(obj: object, *, keep_muted: bool = False) -> tuple[Note, ...]:
    """Notes from Live's ``get_notes_extended`` shape (dict with ``notes``, a list, or JSON text)."""
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            obj = json.loads(obj)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadNotes(f"notes are not valid JSON ({exc})") from exc
    if isinstance(obj, dict):
        if "notes" not in obj:
            raise BadNotes("note JSON must have a 'notes' list (Live's get_notes_extended shape)")
        obj = obj["notes"]
    if not isinstance(obj, list):
        raise BadNotes(f"notes must be a list, got {type(obj).__name__}")
    if len(obj) > MAX_NOTES:
        raise TooLarge(f"{len(obj)} notes is more than the {MAX_NOTES} allowed")
    out: list[Note] = []
    for i, raw in enumerate(obj):
        item = _as_mapping(raw, i)
        missing = [k for k in ("pitch", "start_time", "duration") if k not in item]
        if missing:
            raise BadNotes(f"note #{i} lacks {', '.join(missing)}")
        mute = item.get("mute", False)
        try:
            note = Note(
                pitch=item["pitch"],
                start=item["start_time"],
                duration=item["duration"],
                velocity=item.get("velocity", 100),
                mute=mute,
            )
        except BadNotes as err:
            raise BadNotes(f"note #{i}: {err}") from None
        if note.mute and not keep_muted:
            continue
        out.append(note)
    return tuple(out)


def coerce_notes(notes: Iterable[Note] | object) -> tuple[Note, ...]:
    """Accept a sequence of :class:`Note` or Live JSON; everything else is BadNotes."""
    if isinstance(notes, (dict, str, bytes, bytearray)):
        return notes_from_live_json(notes)
    if isinstance(notes, np.ndarray):
        raise BadNotes("pass notes as Note objects or Live's note JSON, not an array")
    try:
        items = list(notes)  # type: ignore[call-overload]
    except TypeError:
        raise BadNotes(f"notes must be a list of notes, got {type(notes).__name__}") from None
    if len(items) > MAX_NOTES:
        raise TooLarge(f"{len(items)} notes is more than the {MAX_NOTES} allowed")
    if items and not all(isinstance(n, Note) for n in items):
        if all(isinstance(n, dict) for n in items):
            return notes_from_live_json(items)
        raise BadNotes("notes must be midi.notes.Note objects or Live note dicts")
    return tuple(items)


def note_arrays(notes: Sequence[Note], *, audible_only: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch int16, start float64, end float64) arrays of the (audible) notes."""
    if audible_only:
        notes = [n for n in notes if not n.mute and n.velocity > 0]
    if not notes:
        return np.zeros(0, np.int16), np.zeros(0, np.float64), np.zeros(0, np.float64)
    pitch = np.fromiter((n.pitch for n in notes), np.int16, len(notes))
    start = np.fromiter((n.start for n in notes), np.float64, len(notes))
    end = start + np.fromiter((n.duration for n in notes), np.float64, len(notes))
    return pitch, start, end


# below this share of sounding time with two or more pitch classes together, a part is a melody:
# a chord part scores near 1 (arpeggios too, their notes ring), a line played one note at a time
# near 0; legato overlaps of a played line (a few hundredths of a beat per note) stay below it
MELODY_TOGETHER_SHARE = 0.25


def together_share(notes: Sequence[Note]) -> float:
    """Share (0..1) of the time any audible note sounds during which two or more pitch classes sound.

    About 1 for a chord part, about 0 for a line played one note at a time (octave doublings
    count as one pitch class). 0 when nothing sounds.
    """
    events: list[tuple[float, int, int]] = []
    for n in notes:
        if n.audible:
            events.append((n.start, 1, n.pitch % 12))
            events.append((n.end, -1, n.pitch % 12))
    events.sort(key=lambda e: (e[0], e[1]))  # at the same instant, ends before starts
    held = [0] * 12
    sounding = together = 0.0
    last = events[0][0] if events else 0.0
    for time, delta, pc in events:
        active = sum(1 for c in held if c > 0)
        span = time - last
        if active >= 1:
            sounding += span
        if active >= 2:
            together += span
        held[pc] += delta
        last = time
    return together / sounding if sounding > 0 else 0.0


def is_one_note_at_a_time(notes: Sequence[Note]) -> bool:
    """True when the notes sound one at a time (a melody, not chords); False with no audible note."""
    return any(n.audible for n in notes) and together_share(notes) < MELODY_TOGETHER_SHARE
