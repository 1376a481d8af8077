"""``serve --demo`` (what ``dev.py run`` starts) keeps one demo clip in the clip folder:
the next demo replaces the previous one, and nothing it did not write is ever removed."""

from __future__ import annotations

from pathlib import Path

from bridge.demo_clip import MARKER, replace_previous_demo


def _clip(folder: Path, stem: str) -> Path:
    (folder / f"{stem}.json").write_text("{}")
    path = folder / f"{stem}.wav"
    path.write_bytes(b"RIFF")
    return path


def test_each_demo_replaces_the_previous_one(tmp_path: Path) -> None:
    mine = _clip(tmp_path, "20261121-100000_my-own-song_s3")  # the user's clip: never touched
    first = _clip(tmp_path, "20261121-100100_warm-lo-fi_s1")
    assert replace_previous_demo(first) == []
    second = _clip(tmp_path, "20261121-100200_warm-lo-fi_s1")
    assert replace_previous_demo(second) == [first, first.with_suffix(".json")]
    third = _clip(tmp_path, "20261121-100300_warm-lo-fi_s1")
    replace_previous_demo(third)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(
        [mine.name, mine.with_suffix(".json").name, third.name, third.with_suffix(".json").name])
    assert replace_previous_demo(third) == []  # the same clip again: kept


def test_a_moved_clip_or_a_strange_marker_removes_nothing(tmp_path: Path) -> None:
    first = _clip(tmp_path, "a")
    replace_previous_demo(first)
    first.rename(tmp_path / "kept.wav")  # the user kept it under another name
    assert replace_previous_demo(_clip(tmp_path, "b")) == [tmp_path / "a.json"]
    assert (tmp_path / "kept.wav").exists()
    victim = tmp_path.parent / f"{tmp_path.name}-victim.wav"
    victim.write_bytes(b"x")
    for bad in (f"../{victim.name}", str(victim), "C:\\x.wav", ".."):
        (tmp_path / MARKER).write_text(bad)
        assert replace_previous_demo(_clip(tmp_path, "c")) == []
    assert victim.exists()
    victim.unlink()
