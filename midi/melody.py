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
from core.grid import FRAME_RATE, MELODY_BINS, WINDOW_FRAMES
from midi.notes import Note, check_positive, coerce_notes, note_arrays

LOWEST = 43     # MIDI note of bin 0 (G2)
BINS = MELODY_BINS  # 53: up to MIDI 95 (B6)
HIGHEST = LOWEST + BINS - 1
MAX_FRAMES = int(FRAME_RATE * 60 * 30)  # half an hour of frames


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


def frames_from_notes(
    notes: Iterable[Note] | object,
    *,
    bpm: float | None,
    frames: int = WINDOW_FRAMES,
    frame_rate: float = FRAME_RATE,
    extend_frames: int = 0,
    start: float = 0.0,
    seconds_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """int16 ``[frames]``: the MIDI note of the highest note sounding in each frame, 0 where none.

    The one place notes become frames (OSC ``/jasco/melody/add``, MIDI files, the CLI):
    ``notes`` in beats at ``bpm`` (or ``seconds_of``, a function of beats -> seconds, for a
    tempo map); ``start`` is the beat that frame 0 stands for. A note sounds in frame ``j``
    when ``on <= j / frame_rate < off`` (frames ``ceil(on * fr) .. ceil(off * fr) - 1``)."""
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
    top = np.zeros(int(frames), np.int16)
    if len(pitch) == 0:
        return top
    t0 = float(np.asarray(seconds_of(np.array([float(start)])))[0])
    on_s = np.asarray(seconds_of(on), np.float64) - t0
    off_s = np.asarray(seconds_of(off), np.float64) - t0
    j0 = np.clip(np.ceil(on_s * fr - 1e-9).astype(np.int64), 0, frames)
    j1 = np.clip(np.ceil(off_s * fr - 1e-9).astype(np.int64) + int(extend_frames), 0, frames)
    counts = np.maximum(j1 - j0, 0)
    if counts.sum() == 0:
        return top
    rep = np.repeat(np.arange(len(pitch)), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    frame = j0[rep] + (np.arange(len(rep)) - offsets)
    np.maximum.at(top, frame, pitch.astype(np.int16)[rep])
    return top


def one_hot(pitches: Iterable[int] | np.ndarray) -> np.ndarray:
    """MIDI note per frame (0 = silence) -> the binary float32 ``[53, T]`` melody matrix.

    Bin = note - ``LOWEST`` after folding by octaves into range."""
    arr = np.asarray(list(pitches) if not isinstance(pitches, np.ndarray) else pitches, dtype=np.int64).reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() > 127):
        raise BadValue("melody frames must be MIDI notes 0..127 (0 = no note)")
    out = np.zeros((BINS, arr.size), np.float32)
    voiced = np.nonzero(arr > 0)[0]
    if voiced.size:
        out[fold_pitch(arr[voiced]) - LOWEST, voiced] = 1.0
    return out


def melody_matrix(
    notes: Iterable[Note] | object,
    *,
    bpm: float | None,
    frames: int = WINDOW_FRAMES,
    frame_rate: float = FRAME_RATE,
    extend_frames: int = 0,
    start: float = 0.0,
    seconds_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """float32 ``[53, frames]``: highest sounding note per frame, one-hot, binary
    (``one_hot(frames_from_notes(...))``)."""
    return one_hot(frames_from_notes(notes, bpm=bpm, frames=frames, frame_rate=frame_rate,
                                     extend_frames=extend_frames, start=start, seconds_of=seconds_of))


def frames_from_midi_file(
    path: str | Path,
    *,
    bpm: float | None = None,
    frames: int = WINDOW_FRAMES,
    frame_rate: float = FRAME_RATE,
    extend_frames: int = 0,
    start: float = 0.0,
    channel: int | None = None,
    track: int | None = None,
) -> np.ndarray:
    """The melody frames of a MIDI file's line (tempo map honoured unless ``bpm`` is given).

    ``channel`` (0..15) or ``track`` select the line; by default every non-drum note counts
    and the highest sounding one wins."""
    from midi.midi_file import read_midi

    clip = read_midi(path)
    notes = clip.select(channel=channel, track=track)
    return frames_from_notes(notes, bpm=bpm, frames=frames, frame_rate=frame_rate, extend_frames=extend_frames,
                             start=start, seconds_of=None if bpm is not None else clip.beats_to_seconds)


def melody_from_midi_file(path: str | Path, **kwargs: object) -> np.ndarray:
    """The melody matrix of a MIDI file's line: ``one_hot(frames_from_midi_file(path, ...))``."""
    return one_hot(frames_from_midi_file(path, **kwargs))  # type: ignore[arg-type]
