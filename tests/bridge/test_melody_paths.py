"""One melody path: OSC notes, a MIDI file through the CLI, and ``jasco-bridge melody`` give the same frames."""

from __future__ import annotations

import argparse
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.commands.render import _melody
from bridge.session import Session
from core.requests import RenderRequest
from midi.melody import frames_from_notes, melody_from_midi_file, one_hot
from midi.notes import Note

TICKS = 960  # per beat: every start/length below is a whole number of ticks


def _write_midi(path: Path, notes: list[Note], bpm: float) -> None:
    mid = mido.MidiFile(ticks_per_beat=TICKS)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    events = []
    for n in notes:
        events.append((round(n.start * TICKS), 1, n.pitch))
        events.append((round((n.start + n.duration) * TICKS), 0, n.pitch))
    now = 0
    for tick, on, pitch in sorted(events):
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=100 if on else 0, time=tick - now))
        now = tick
    mid.save(path)


def _three_ways(notes: list[Note], bpm: float, tmp_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    session = Session(("127.0.0.1", 1), bpm=bpm)
    session.melody = list(notes)
    osc = np.asarray(session.melody_frames())
    mid = tmp_path / "line.mid"
    _write_midi(mid, notes, bpm)
    request, _ = _melody(RenderRequest(bpm=bpm), mid, bpm_given=False)  # the CLI, tempo from the file
    cli = np.asarray(request.melody_frames)
    matrix = melody_from_midi_file(mid, frames=len(osc))  # `jasco-bridge melody`
    return osc, cli, matrix


def test_a_note_just_after_a_frame_edge_starts_on_the_next_frame(tmp_path: Path) -> None:
    """beat 0.02 at 120 bpm is 0.01 s = frame 0.5: the note sounds from frame 1 on every path."""
    notes = [Note(60, 0.02, 1.0, 100.0)]
    osc, cli, matrix = _three_ways(notes, 120.0, tmp_path)
    assert osc[0] == 0 and osc[1] == 60
    np.testing.assert_array_equal(osc, cli)
    np.testing.assert_array_equal(one_hot(osc), matrix)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(36, 100), st.integers(0, 16 * TICKS), st.integers(TICKS // 8, 4 * TICKS)),
                min_size=1, max_size=12),
       st.sampled_from([80.0, 120.0, 150.0]))  # tempos a MIDI file stores exactly (whole microseconds per beat)
def test_the_three_entry_points_agree_on_every_frame(tmp_path_factory: pytest.TempPathFactory,
                                                     raw: list[tuple[int, int, int]], bpm: float) -> None:
    notes = [Note(p, s / TICKS, d / TICKS, 100.0) for p, s, d in raw]
    frames = frames_from_notes(notes, bpm=bpm, frames=500)
    if not frames.any():
        return  # nothing inside the window: the OSC path refuses that with a coded error
    osc, cli, matrix = _three_ways(notes, bpm, tmp_path_factory.mktemp("m"))
    np.testing.assert_array_equal(osc, frames)
    np.testing.assert_array_equal(cli, frames)
    np.testing.assert_array_equal(one_hot(frames), matrix)


def test_the_cli_melody_matrix_file_is_the_same_frames(tmp_path: Path) -> None:
    from bridge.commands.melody import run

    notes = [Note(72, 0.0, 1.0, 100.0), Note(74, 1.0, 0.5, 100.0), Note(40, 2.0, 1.0, 100.0)]
    mid = tmp_path / "line.mid"
    _write_midi(mid, notes, 100.0)
    out = tmp_path / "m.npy"
    args = argparse.Namespace(file=str(mid), out=str(out), bpm=None, frames=500, frame_rate=50.0, extend_frames=0,
                              start=0.0, channel=None, track=None)
    assert run(args) == 0
    np.testing.assert_array_equal(np.load(out), one_hot(frames_from_notes(notes, bpm=100.0, frames=500)))
