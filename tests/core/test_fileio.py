"""core.fileio: a file appears whole or not at all, and failures carry a code."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import soundfile as sf

from core.errors import DiskFull, OutputError
from core.fileio import atomic_write, atomic_write_bytes


def test_write_failure_is_a_coded_error_without_leftovers(tmp_path: Path) -> None:
    def failing(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise sf.LibsndfileError(0, prefix="disk full? ")

    with pytest.raises(OutputError, match="x.wav|failed"):
        atomic_write(tmp_path / "x.wav", failing)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_disk_full(tmp_path: Path) -> None:
    def full(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFull, match="No space left"):
        atomic_write(tmp_path / "x.npy", full)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_writer_leaves_nothing(tmp_path: Path) -> None:
    def interrupted(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.bin", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_bytes_replace_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "v.json"
    with pytest.raises(OutputError, match="does not exist"):
        atomic_write_bytes(target, b"{}")  # a missing folder is an error, never created silently
    assert not (tmp_path / "deep").exists()
    target.parent.mkdir(parents=True)
    assert atomic_write_bytes(target, b"old") == target
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["v.json"]


def test_files_get_the_mode_a_plain_create_gives(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; clips and CLI outputs must be readable like any other file (0666 - umask)."""
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    target = atomic_write_bytes(tmp_path / "clip.wav", b"RIFF")
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_probe_writable_refuses_a_folder_that_takes_no_files(tmp_path: Path) -> None:
    """os.access says yes to root for /proc; a real create-and-remove says no, with a coded error."""
    import pytest

    from core.errors import ClipDirUnwritable, OutputError
    from core.fileio import probe_writable

    probe_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc on this system")
    with pytest.raises(OutputError, match="does not accept new files"):
        probe_writable(Path("/proc"))
    with pytest.raises(ClipDirUnwritable):
        probe_writable(Path("/proc/self"), unwritable=ClipDirUnwritable)
