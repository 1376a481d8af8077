"""A MIDI line -> the ``[53, T]`` one-hot melody matrix JASCO's melody models take.

Conventions (``../shared/reference_melody/README.md``, checked against audiocraft's
reference matrices):

- bin ``k`` = MIDI note ``43 + k`` (G2 .. B6), 53 bins, bins first: ``[53, frames]``;
- frame ``j`` stands for ``t = j / frame_rate`` seconds (50 Hz: 500 frames = 10 s);
- a frame is 1 in the bin of the **highest** note sounding at ``t`` (``start <= t < end``)
  and all zeros where nothing sounds: values are exactly 0.0 or 1.0, at most one 1 per frame;
- notes outside 43..95 are folded by whole octaves into range (a C1 sounds in bin 5, C3);
- ``extend_frames`` lengthens each note by that many frames (the training data's salience
  edges trail the notes by 1-3 frames; optional);
- muted and velocity-0 notes are ignored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from core.errors import BadValue
from midi.notes import Note, check_positive, coerce_notes, note_arrays

LOWEST = 43     # MIDI note of bin 0 (G2)
BINS = 53       # up to MIDI 95 (B6)
HIGHEST = LOWEST + BINS - 1
MAX_FRAMES = 50 * 60 * 30  # half an hour at 50 Hz


def fold_pitch(pitch: np.ndarray) -> np.ndarray:
    """Shift pitches by whole octaves into LOWEST..HIGHEST."""
    p = np.asarray(pitch, np.int64)
    below = p < LOWEST
    p = np.where(below, p + 12 * ((LOWEST - p + 11) // 12), p)
    above = p > HIGHEST
    p = np.where(above, p - 12 * ((p - HIGHEST + 11) // 12), p)
    return p


def _positive(name: str, value: object) -> float:
    return float(check_positive(name, value) or 0.0)


def melody_matrix(
    notes: Iterable[Note] | object,
    *,
    bpm: float | None,
    frames: int = 500,
    frame_rate: float = 50.0,
    extend_frames: int = 0,
    start: float = 0.0,
    seconds_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """float32 ``[53, frames]``: highest sounding note per frame, one-hot, binary.

    ``notes`` in beats at ``bpm`` (or ``seconds_of``, a function of beats -> seconds, for a
    tempo map); ``start`` is the beat that frame 0 stands for."""
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 0 < frames <= MAX_FRAMES:
        raise BadValue(f"frames must be an integer 1..{MAX_FRAMES}, got {frames!r}")
    fr = _positive("frame_rate", frame_rate)
    if isinstance(extend_frames, bool) or not isinstance(extend_frames, (int, np.integer)) or extend_frames < 0:
        raise BadValue(f"extend_frames must be an integer >= 0, got {extend_frames!r}")
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start) or start < 0:
        raise BadValue(f"start must be a number >= 0 beats, got {start!r}")
    if seconds_of is None:
        spb = 60.0 / _positive("bpm", bpm)

        def seconds_of(b: np.ndarray) -> np.ndarray:  # noqa: F811
            return np.asarray(b, np.float64) * spb

    pitch, on, off = note_arrays(coerce_notes(notes))
    out = np.zeros((BINS, int(frames)), np.float32)
    if len(pitch) == 0:
        return out
    t0 = float(np.asarray(seconds_of(np.array([float(start)])))[0])
    on_s = np.asarray(seconds_of(on), np.float64) - t0
    off_s = np.asarray(seconds_of(off), np.float64) - t0
    # frames j with on <= j/fr < off  ->  j in [ceil(on*fr), ceil(off*fr))
    j0 = np.ceil(on_s * fr - 1e-9).astype(np.int64)
    j1 = np.ceil(off_s * fr - 1e-9).astype(np.int64) + int(extend_frames)
    j0 = np.clip(j0, 0, frames)
    j1 = np.clip(j1, 0, frames)
    counts = np.maximum(j1 - j0, 0)
    if counts.sum() == 0:
        return out
    rep = np.repeat(np.arange(len(pitch)), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    frame = j0[rep] + (np.arange(len(rep)) - offsets)
    top = np.full(int(frames), -1, np.int64)
    np.maximum.at(top, frame, pitch.astype(np.int64)[rep])
    active = np.nonzero(top >= 0)[0]
    out[fold_pitch(top[active]) - LOWEST, active] = 1.0
    return out


def melody_from_midi_file(
    path: str | Path,
    *,
    bpm: float | None = None,
    frames: int = 500,
    frame_rate: float = 50.0,
    extend_frames: int = 0,
    start: float = 0.0,
    channel: int | None = None,
    track: int | None = None,
) -> np.ndarray:
    """The melody matrix of a MIDI file's line (tempo map honoured unless ``bpm`` is given).

    ``channel`` (0..15) or ``track`` select the line; by default every non-drum note counts
    and the highest sounding one wins."""
    from midi.files import read_midi

    clip = read_midi(path)
    notes = clip.select(channel=channel, track=track)
    return melody_matrix(
        notes,
        bpm=bpm,
        frames=frames,
        frame_rate=frame_rate,
        extend_frames=extend_frames,
        start=start,
        seconds_of=None if bpm is not None else clip.beats_to_seconds,
    )
