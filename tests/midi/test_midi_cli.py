"""``jasco-bridge chords`` and ``jasco-bridge melody`` run as the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[2]


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
    # an output folder that does not exist is an error, never created silently
    res = _run(cli_exe, "melody", str(path), "--out", str(out))
    assert res.returncode == 2 and "io_error" in res.stderr and "does not exist" in res.stderr, res.stderr
    assert not out.parent.exists()
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


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """An empty HOME, no Hugging Face or jasco-bridge cache, offline: a fresh machine without network."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "JASCO_", "XDG_")) and k not in ("no_proxy", "NO_PROXY")}
    # any attempt to reach the network goes to a closed local port and fails at once
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    return env


def test_chords_work_offline_in_an_empty_home(cli_exe: str, tmp_path: Path) -> None:
    """The README's examples: the official vocabulary ships with the product, no download."""
    env = _offline_env(tmp_path)
    for symbols, labels in (("Cmaj9 Ab7#9 F#m7b5/A", ["Cmaj7", "Ab7", "F#m7b5"]), ("C Am", ["C", "Am"])):
        res = subprocess.run([cli_exe, "chords", "--symbols", symbols, "--json"], capture_output=True, text=True,
                             timeout=60, env=env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert [m["label"] for m in json.loads(res.stdout)] == labels
    res = subprocess.run([cli_exe, "chords", str(REPO / "assets" / "examples" / "song.mid"), "--json"],
                         capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [["C", 0.0], ["Am7", 2.0], ["Fmaj7", 4.0], ["G7", 6.0]]
    assert res.stderr == ""  # chords, not a melody: no warning
    assert not any((tmp_path / "home").iterdir()), "nothing may be cached or downloaded"


def test_chords_warn_when_the_file_sounds_one_note_at_a_time(
    cli_exe: str, chords_pkl: Path, tmp_path: Path, write_midi: Callable[..., Path]
) -> None:
    # the case: a melody, recognised as chords every 2 beats without a word
    line = [(62, 0.0, 0.5), (66, 0.5, 0.5), (69, 1.0, 0.5), (72, 1.5, 0.5), (65, 2.0, 0.5), (69, 2.5, 0.5),
            (72, 3.0, 0.5), (76, 3.5, 0.5), (67, 4.0, 0.5), (71, 4.5, 0.5), (74, 5.0, 0.5), (77, 5.5, 0.5)]
    legato = [(p, s, d + 0.05) for p, s, d in line]  # slight overlaps, as a played legato line has
    for name, notes in (("lead.mid", line), ("legato.mid", legato)):
        path = write_midi(tmp_path / name, notes)
        res = _run(cli_exe, "chords", str(path), "--json", "--vocab", str(chords_pkl))
        assert res.returncode == 0, res.stderr
        assert "sounds one note at a time" in res.stderr and "jasco-bridge melody" in res.stderr, res.stderr
        assert json.loads(res.stdout)  # the guesses are still printed
    # a chord part, even an arpeggiated one that lets notes ring, gets no warning
    arp = [(48, 0.0, 4.0), (52, 0.5, 3.5), (55, 1.0, 3.0), (45, 4.0, 4.0), (48, 4.5, 3.5), (52, 5.0, 3.0)]
    path = write_midi(tmp_path / "arp.mid", arp)
    res = _run(cli_exe, "chords", str(path), "--vocab", str(chords_pkl))
    assert res.returncode == 0 and "one note at a time" not in res.stderr


def test_together_share() -> None:
    from midi.notes import Note, is_one_note_at_a_time, together_share

    assert together_share([]) == 0.0 and not is_one_note_at_a_time([])
    assert together_share([Note(60, 0, 1), Note(64, 1, 1)]) == 0.0
    assert together_share([Note(60, 0, 2), Note(64, 0, 2)]) == 1.0
    assert together_share([Note(60, 0, 2), Note(72, 0, 2)]) == 0.0  # an octave doubling is one pitch class
    assert abs(together_share([Note(60, 0, 2), Note(64, 1, 2)]) - 1 / 3) < 1e-9
    assert together_share([Note(60, 0, 2, velocity=0), Note(64, 0, 2)]) == 0.0  # silent notes do not count


def test_example_files_are_current_and_do_what_the_readme_says(cli_exe: str, tmp_path: Path) -> None:
    """assets/examples/*.mid are exactly what make_examples.py writes; melody and chords read them."""
    examples = REPO / "assets" / "examples"
    res = subprocess.run([sys.executable, str(examples / "make_examples.py"), "--out", str(tmp_path / "fresh")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    for name in ("song.mid", "lead.mid"):
        assert (tmp_path / "fresh" / name).read_bytes() == (examples / name).read_bytes(), (
            f"assets/examples/{name} is stale: run python assets/examples/make_examples.py")
    out = tmp_path / "melody.npy"
    res = _run(cli_exe, "melody", str(examples / "lead.mid"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    m = np.load(out)
    assert m.shape == (53, 500) and m[:, :400].sum() == 400  # 8 s of melody at 50 Hz, one note a frame
