"""The melody matrix follows ../shared/reference_melody (bins, 50 Hz, one-hot, folding)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from core.errors import BadNotes, BadValue
from midi.melody import BINS, LOWEST, fold_pitch, melody_from_midi_file, melody_matrix
from midi.notes import Note


def read_reference(path: Path) -> np.ndarray:
    """A torch.save'd float32 tensor read without torch: unpickle the header, slice the storage."""

    class Header(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if name == "_rebuild_tensor_v2":
                return lambda storage, offset, size, stride, *rest: (storage, offset, size, stride)
            if module == "collections" and name == "OrderedDict":
                return dict
            return name  # storage classes such as FloatStorage

        def persistent_load(self, pid: Any) -> Any:
            return pid  # ("storage", storage class, key, location, numel)

    with zipfile.ZipFile(path) as z:
        root = z.namelist()[0].split("/")[0]
        storage, offset, size, stride = Header(z.open(f"{root}/data.pkl")).load()
        assert storage[1] == "FloatStorage"
        flat = np.frombuffer(z.read(f"{root}/data/{storage[2]}"), dtype="<f4")
    return np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=[s * 4 for s in stride]).copy()


@pytest.mark.parametrize("name,offset_frames,active", [("salience_1", 26500, 303), ("salience_2", 106000, 355)])
def test_reference_matrices_have_the_documented_form(reference_melody_dir: Path, name: str,
                                                     offset_frames: int, active: int) -> None:
    ref = read_reference(reference_melody_dir / f"{name}.th").T  # -> [53, 500], bins first
    assert ref.shape == (BINS, 500) and ref.dtype == np.float32
    assert set(np.unique(ref)) <= {0.0, 1.0}
    assert (ref.sum(axis=0) <= 1).all()
    assert int(ref.sum()) == active
    # and a matrix built from notes has the same form
    rng = np.random.default_rng(0)
    notes, t = [], 0.0
    while t < 20.0:
        d = float(rng.choice([0.25, 0.5, 1.0]))
        if rng.random() > 0.2:
            notes.append(Note(int(rng.integers(30, 110)), t, d))
        t += d
    ours = melody_matrix(notes, bpm=120.0)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype
    assert set(np.unique(ours)) <= {0.0, 1.0}
    assert (ours.sum(axis=0) <= 1).all() and ours.sum() > 300


def test_bins_frames_and_highest_note() -> None:
    # C4 for one beat at 120 bpm = 0.5 s = frames 0..24; A4 from 0.5 s to 1.0 s; a chord after
    notes = [Note(60, 0.0, 1.0), Note(69, 1.0, 1.0), Note(48, 2.0, 1.0), Note(64, 2.0, 1.0), Note(55, 2.0, 2.0)]
    m = melody_matrix(notes, bpm=120.0, frames=120)
    assert m.shape == (53, 120) and m.dtype == np.float32
    assert m[60 - 43, :25].all() and m[:, :25].sum() == 25
    assert m[69 - 43, 25:50].all() and m[26, 25] == 1.0  # A4 = bin 26
    assert m[64 - 43, 50:75].all()                          # the highest of the chord
    assert m[55 - 43, 75:100].all()                         # what still sounds after
    assert not m[:, 100:].any()                             # silence = all zeros
    assert (m.sum(axis=0) <= 1).all()


def test_folding_out_of_range_notes() -> None:
    assert fold_pitch(np.array([43, 95, 42, 30, 24, 96, 108, 127, 0])).tolist() == [43, 95, 54, 54, 48, 84, 84, 91, 48]
    m = melody_matrix([Note(24, 0, 1), Note(108, 1, 1)], bpm=120.0, frames=50)
    assert m[48 - LOWEST, :25].all() and m[84 - LOWEST, 25:50].all()


def test_options_and_silence() -> None:
    assert not melody_matrix([], bpm=120.0).any()
    muted = [Note(60, 0, 1, mute=True), Note(62, 0, 1, velocity=0)]
    assert not melody_matrix(muted, bpm=120.0).any()
    m = melody_matrix([Note(60, 0, 1)], bpm=120.0, frames=40, extend_frames=2)
    assert m[17, :27].all() and not m[:, 27:].any()
    m = melody_matrix([Note(60, 4, 1)], bpm=60.0, frames=100, frame_rate=25.0, start=2.0)
    assert m[17, 50:75].all() and m.sum() == 25
    for bad in ({"frames": 0}, {"frames": 1.5}, {"frame_rate": 0}, {"extend_frames": -1}, {"bpm": 0},
                {"start": -1}):
        kwargs = {"bpm": 120.0, **bad}
        with pytest.raises(BadValue):
            melody_matrix([Note(60, 0, 1)], **kwargs)
    with pytest.raises(BadNotes):
        melody_matrix([{"pitch": 200, "start_time": 0, "duration": 1}], bpm=120.0)


def test_melody_from_a_file_with_tempo_changes(tmp_path: Path, write_midi: Callable[..., Path]) -> None:
    # 4 beats at 120 bpm (2 s), then 60 bpm: the note at beat 4 starts at 2.0 s, lasts 1 s
    path = write_midi(tmp_path / "lead.mid", [(72, 0.0, 4.0), (74, 4.0, 1.0)], tempos=((0, 120.0), (4, 60.0)))
    m = melody_from_midi_file(path)
    assert m[72 - 43, :100].all() and m[74 - 43, 100:150].all() and not m[:, 150:].any()
    m = melody_from_midi_file(path, bpm=120.0)  # the override ignores the tempo map
    assert m[74 - 43, 100:125].all() and not m[:, 125:].any()
