"""midi.limits: the work notes cause is bounded at the input boundary, one rule for MIDI files and OSC notes.

Issue 24.4 and 24.5: a 43-byte MIDI file holding one chord that lasts 268 million beats, and a 0.3 MB file
of 100,000 notes never released, asked for gigabytes in recognition. Each attack runs in a child process
under an address-space limit (RLIMIT_AS) so the old code's failure is a MemoryError there, not a machine
out of memory; the bound refuses both with ``too_large`` before any work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from core.errors import TooLarge
from midi.limits import MAX_END_BEAT, MAX_NOTE_BEATS, check_note_work
from midi.notes import Note

REPO = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 1536 << 20  # address space of the child: numpy and mido fit, gigabytes of cells do not

_CHILD = """
import json, resource, sys, time
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from midi.file_chords import progression_from_midi_file
from midi.vocab import ChordVocabulary
vocab = ChordVocabulary.load(sys.argv[3])
started = time.perf_counter()
try:
    progression_from_midi_file(sys.argv[1], vocab)
    out = {"answer": "recognised"}
except MemoryError:
    out = {"answer": "MemoryError"}
except Exception as err:
    out = {"answer": getattr(err, "code", type(err).__name__), "message": str(err)}
out["seconds"] = round(time.perf_counter() - started, 3)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps(out))
"""


def recognise_in_child(path: Path, chords_pkl: Path, limit: int = LIMIT_BYTES) -> dict[str, object]:
    """progression_from_midi_file(path) in a child under RLIMIT_AS: its answer, seconds and peak RSS."""
    if not hasattr(os, "fork"):
        pytest.skip("RLIMIT_AS is POSIX")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(limit), str(chords_pkl)],
                         capture_output=True, text=True, env=env, timeout=120)
    lines = run.stdout.strip().splitlines()
    assert lines, run.stderr[-2000:]
    return json.loads(lines[-1])


def long_chord_file(path: Path, beats: int = 268_000_000) -> Path:
    """One chord lasting ``beats`` beats (one tick per beat): 43 bytes."""
    mid = mido.MidiFile(ticks_per_beat=1)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for pitch in (60, 64, 67):
        track.append(mido.Message("note_on", note=pitch, velocity=100, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=beats))
    mid.save(str(path))
    return path


def unreleased_notes_file(path: Path, notes: int = 100_000) -> Path:
    """``notes`` note-ons never released, one tick apart: each lasts to the end of the track."""
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for k in range(notes):
        track.append(mido.Message("note_on", note=36 + k % 60, velocity=100, time=1 if k else 0))
    mid.save(str(path))
    return path


def refused(path: Path, chords_pkl: Path, limit: str) -> dict[str, object]:
    """The child's answer for ``path``: ``too_large``, naming ``limit``."""
    got = recognise_in_child(path, chords_pkl)
    assert got["answer"] == "too_large", got
    assert limit in str(got["message"]), got
    return got


def test_a_tiny_file_of_one_endless_chord_is_refused_before_any_work(tmp_path: Path, chords_pkl: Path) -> None:
    path = long_chord_file(tmp_path / "endless.mid")
    assert path.stat().st_size < 100
    got = refused(path, chords_pkl, f"the limit is {MAX_END_BEAT:.0f} beats")
    assert float(got["seconds"]) < 2.0  # type: ignore[arg-type]


def test_many_unreleased_notes_are_refused_by_their_total_length(tmp_path: Path, chords_pkl: Path) -> None:
    path = unreleased_notes_file(tmp_path / "held.mid")
    assert path.stat().st_size < 400_000
    refused(path, chords_pkl, f"the limit is {MAX_NOTE_BEATS:.0f}")


def test_the_bound_counts_audible_notes_and_their_end() -> None:
    check_note_work([Note(60, 0.0, MAX_NOTE_BEATS, 0)], "muted")  # velocity 0: never recognised
    with pytest.raises(TooLarge):
        check_note_work([Note(60, MAX_END_BEAT, 1.0)], "late")
    check_note_work([Note(60, 0.0, 4.0)] * 1000, "a normal clip")
