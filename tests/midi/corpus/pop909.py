"""Score chord recognition on POP909, public music none of us wrote (kept OUT of this repository).

POP909 (Wang, Chen, Jiang et al., ISMIR 2020; MIT licence): 909 Chinese pop songs arranged
for piano as MIDI, each with three tracks (``MELODY`` the sung line, ``BRIDGE`` the
secondary melody / fills, ``PIANO`` the accompaniment) and the dataset authors' beat and
chord labels (``beat_midi.txt``, ``chord_midi.txt``: start and end in seconds, a Harte label
such as ``C:maj7`` or ``A:min/b3``). The labels come from the authors' own pipeline, not
from this project; we neither tuned on them nor edited them.

Get a local copy (the data stays outside the repository)::

    git clone --depth 1 https://github.com/music-x-lab/POP909-Dataset /tmp/POP909-Dataset
    python bench/midi.py --pop909 /tmp/POP909-Dataset/POP909      # or POP909_DIR=...

How it is scored (per annotated beat, the way chord-estimation papers do):

- **Beats**: the beats of ``beat_midi.txt``; each beat is sampled at its middle.
- **Reference label**: the ``chord_midi.txt`` chord sounding there, read as a musician reads
  it into the JASCO vocabulary by :func:`midi.symbol_mapping.map_symbol` (the rules of that
  module: ``sus2``/``sus4`` -> the major triad of the root, ``sus4(b7)`` -> the dominant
  seventh, ``dim7`` -> ``dim``, ``minmaj7`` -> ``m``, ``hdim7`` -> ``m7b5``, an inversion
  ``maj/3`` -> the vocabulary's slash label (``C/E``) where it has one, else root position).
- **Excluded**: beats whose reference is ``N`` (no chord) or ``X``, and beats before the first
  or after the last note of the texture scored (counted apart in ``excluded``).
- **exact**: the recognised label equals the reference label (inversion included);
  **root**: the recognised root equals the reference root (``N`` recognised under a chord
  is wrong on both).
- **Textures** (categories): ``piano`` = the PIANO track alone (accompaniment: arpeggios,
  broken chords, block chords); ``piano+bridge`` = PIANO and BRIDGE; ``all`` = every track,
  the sung melody on top.
- **Subset**: the first ``songs`` songs in folder order (001, 002, ...), the MIDI file's own
  tempo map and time signature, the sustain pedal applied, as ``jasco-bridge chords`` reads
  a file.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.errors import BadChord
from midi.midi_file import read_midi
from midi.symbol_grammar import parse_symbol
from midi.symbol_mapping import map_symbol

ENV = "POP909_DIR"
TEXTURES: dict[str, tuple[str, ...]] = {
    "piano": ("PIANO",),
    "piano+bridge": ("PIANO", "BRIDGE"),
    "all": ("PIANO", "BRIDGE", "MELODY"),
}
NO_CHORD_REFS = frozenset({"N", "X"})


@dataclass(frozen=True)
class PublicScore:
    texture: str
    exact: int
    root: int
    total: int
    excluded: int

    @property
    def exact_accuracy(self) -> float:
        return self.exact / self.total if self.total else 1.0

    @property
    def root_accuracy(self) -> float:
        return self.root / self.total if self.total else 1.0


def find_pop909(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The POP909 folder (the one holding ``001/``, ``002/``...): ``path``, else ``$POP909_DIR``;
    a clone's root (holding ``POP909/``) is accepted too. None when neither is given or found."""
    raw = path if path is not None else os.environ.get(ENV)
    if not raw:
        return None
    p = Path(raw)
    if (p / "POP909").is_dir():
        p = p / "POP909"
    return p if (p / "001").is_dir() else None


def _segments(path: Path) -> tuple[np.ndarray, list[str]]:
    starts: list[float] = []
    labels: list[str] = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            starts.append(float(parts[0]))
            labels.append(parts[2])
    return np.array(starts), labels


@functools.lru_cache(maxsize=1024)
def _root(label: str) -> int | None:
    try:
        return parse_symbol(label).root_pc
    except BadChord:
        return None


def _label_at(seconds: tuple[tuple[str, float], ...], t: np.ndarray) -> list[str]:
    starts = np.array([s for _, s in seconds])
    idx = np.searchsorted(starts, t, side="right") - 1
    return [seconds[max(i, 0)][0] for i in idx]


def song_dirs(root: Path, songs: int) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and d.name.isdigit())[:songs]


def evaluate_pop909(
    root: Path, vocab: Any, *, songs: int = 100, recognize: Callable[..., Any] | None = None
) -> dict[str, PublicScore]:
    """Per-texture scores on the first ``songs`` songs of POP909 at ``root``."""
    import mido

    if recognize is None:
        from midi.recognize import recognize as default

        recognize = default
    mapped: dict[str, str | None] = {}
    tally = {name: [0, 0, 0, 0] for name in TEXTURES}   # exact, root, total, excluded
    for d in song_dirs(root, songs):
        midi_path = d / f"{d.name}.mid"
        clip = read_midi(midi_path)
        names = [t.name.strip().upper() for t in mido.MidiFile(str(midi_path)).tracks]
        beat_times = np.array([float(line.split()[0]) for line in (d / "beat_midi.txt").read_text().splitlines()
                               if line.strip()])
        mids = (beat_times[:-1] + beat_times[1:]) / 2
        seg_starts, seg_labels = _segments(d / "chord_midi.txt")
        ref_idx = np.searchsorted(seg_starts, mids, side="right") - 1
        refs: list[str | None] = []
        for i in ref_idx:
            raw = seg_labels[i] if i >= 0 else "N"
            if raw not in mapped:
                try:
                    mapped[raw] = None if raw in NO_CHORD_REFS else map_symbol(raw, vocab).label
                except BadChord:
                    mapped[raw] = None
            refs.append(mapped[raw])
        for texture, wanted in TEXTURES.items():
            tracks = [i for i, n in enumerate(names) if n in wanted]
            notes = [n for n in clip.select() if n.track in tracks]
            counts = tally[texture]
            if not notes:
                counts[3] += len(mids)
                continue
            sounding = clip.sustained(notes)
            prog = recognize(sounding, bpm=None, vocab=vocab, beats_per_bar=clip.beats_per_bar, meter=clip.meter,
                             seconds_of=clip.beats_to_seconds)
            first = float(clip.beats_to_seconds(min(n.start for n in notes)))
            last = float(clip.beats_to_seconds(max(n.start + n.duration for n in notes)))
            got = _label_at(prog.seconds, mids)
            for t, ref, label in zip(mids, refs, got, strict=True):
                if ref is None or t < first or t > last:
                    counts[3] += 1
                    continue
                counts[2] += 1
                counts[0] += label == ref
                counts[1] += label != "N" and _root(label) == _root(ref)
    return {name: PublicScore(name, *c) for name, c in tally.items()}
