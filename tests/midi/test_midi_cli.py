"""``jasco-bridge chords`` and ``jasco-bridge melody`` run as the installed console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np


def _run(cli_exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli_exe, *args], capture_output=True, text=True, timeout=60)


def test_chords_from_a_file(cli_exe: str, chords_pkl: Path, tmp_path: Path, write_midi: Callable[..., Path]) -> None:
    notes = [(p, 0.0, 4.0) for p in (48, 52, 55)] + [(p, 4.0, 4.0) for p in (45, 48, 52, 55)]
    path = write_midi(tmp_path / "two.mid", notes, tempos=((0, 120.0), (4, 60.0)))
    res = _run(cli_exe, "chords", str(path), "--json", "--vocab", str(chords_pkl))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [["C", 0.0], ["Am7", 2.0]]
    res = _run(cli_exe, "chords", str(path), "--json", "--bpm", "60", "--vocab", str(chords_pkl))
    assert json.loads(res.stdout) == [["C", 0.0], ["Am7", 4.0]]
    res = _run(cli_exe, "chords", str(path), "--vocab", str(chords_pkl))
    assert res.returncode == 0 and "Am7" in res.stdout and "2.000 s" in res.stdout


def test_chords_symbols(cli_exe: str, chords_pkl: Path) -> None:
    res = _run(cli_exe, "chords", "--symbols", "Cmaj9 Ab7#9 F#m7b5/A Db", "--vocab", str(chords_pkl))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4
    assert "Cmaj7" in lines[0] and "extensions reduced to the seventh chord" in lines[0]
    assert "Ab7" in lines[1] and "F#m7b5" in lines[2] and "root position" in lines[2]
    assert "C#" in lines[3] and "enharmonic" in lines[3]
    res = _run(cli_exe, "chords", "--symbols", "Cmaj9 N.C.", "--json", "--vocab", str(chords_pkl))
    out = json.loads(res.stdout)
    assert [(m["label"], m["exact"]) for m in out] == [("Cmaj7", False), ("N", True)]


def test_chords_errors(cli_exe: str, chords_pkl: Path, tmp_path: Path) -> None:
    res = _run(cli_exe, "chords", "--symbols", "Cmaj9 Hm7", "--vocab", str(chords_pkl))
    assert res.returncode == 2 and "bad_chord" in res.stderr and "Hm7" in res.stderr
    bad = tmp_path / "x.mid"
    bad.write_text("not midi")
    res = _run(cli_exe, "chords", str(bad), "--vocab", str(chords_pkl))
    assert res.returncode == 2 and "bad_midi" in res.stderr and str(bad) in res.stderr
    res = _run(cli_exe, "chords", "--vocab", str(chords_pkl))
    assert res.returncode == 2 and "bad_value" in res.stderr
    res = _run(cli_exe, "chords", "--symbols", "C", "--vocab", str(tmp_path / "missing.pkl"))
    assert res.returncode == 2 and "vocab_unavailable" in res.stderr


def test_melody(cli_exe: str, tmp_path: Path, write_midi: Callable[..., Path]) -> None:
    path = write_midi(tmp_path / "lead.mid", [(60, 0.0, 1.0), (67, 1.0, 1.0), (100, 2.0, 2.0)])
    out = tmp_path / "sub" / "m.npy"
    res = _run(cli_exe, "melody", str(path), "--out", str(out))
    assert res.returncode == 2 and "error [io_error]" in res.stderr and "does not exist" in res.stderr
    assert not out.parent.exists()  # a missing folder is an error, never created silently
    out.parent.mkdir()
    res = _run(cli_exe, "melody", str(path), "--out", str(out))
    assert res.returncode == 0, res.stderr
    m = np.load(out)
    assert m.shape == (53, 500) and m.dtype == np.float32
    assert m[17, :25].all() and m[24, 25:50].all() and m[88 - 43, 50:100].all() and m.sum() == 100
    res = _run(cli_exe, "melody", str(path), "--out", str(out), "--bpm", "60", "--frames", "300")
    assert res.returncode == 0 and np.load(out).shape == (53, 300) and np.load(out)[17, :50].all()
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"nope")
    res = _run(cli_exe, "melody", str(bad), "--out", str(tmp_path / "x.npy"))
    assert res.returncode == 2 and "bad_midi" in res.stderr and not (tmp_path / "x.npy").exists()
