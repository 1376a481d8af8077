"""The parts of the code that differ between Linux, macOS and Windows, exercised here for every
system by injecting the platform: default music folder, OSC paths from Max, portable clip names,
the atomic replace of an open file (Windows), and pid checks that must never kill (Windows)."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import time
import uuid
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from bridge import clips
from bridge.jobs import pid_alive
from bridge.session import native_path_text, normalise_path
from core import defaults
from core.errors import NotFound, OutputError
from core.fileio import REPLACE_RETRY_S, atomic_write, replace_into, replace_retrying, write_temp


# --- the default clip folder per system -------------------------------------------------------
def test_system_names() -> None:
    assert [defaults.system_name(p) for p in ("linux", "darwin", "win32", "cygwin", "freebsd13")] == \
        ["linux", "darwin", "windows", "windows", "linux"]


def test_macos_music_folder_is_home_music() -> None:
    assert defaults.music_folder("darwin", {"HOME": "/Users/ann"}) == PurePosixPath("/Users/ann/Music")


def test_windows_uses_the_known_folder_where_the_user_moved_it() -> None:
    got = defaults.music_folder("windows", {"USERPROFILE": r"C:\Users\ann"},
                                known_folder=lambda: r"D:\OneDrive\Music")
    assert got == PureWindowsPath(r"D:\OneDrive\Music") and got.drive == "D:"


@pytest.mark.parametrize("failure", [None, OSError("[WinError 2] not found"), AttributeError("no shell32")])
def test_windows_falls_back_to_userprofile_music(failure: Exception | None) -> None:
    def known() -> str | None:
        if failure is not None:
            raise failure
        return None

    got = defaults.music_folder("windows", {"USERPROFILE": r"C:\Users\ann"}, known_folder=known)
    assert got == PureWindowsPath(r"C:\Users\ann\Music")
    # the real query, on a system without Windows' shell32 (here), answers None: the same fallback
    assert defaults.music_folder("windows", {"USERPROFILE": r"C:\Users\bo"}) == PureWindowsPath(r"C:\Users\bo\Music")


def test_folderid_music_has_the_guid_memory_layout() -> None:
    """FOLDERID_Music = {4BD8D571-6D19-48D3-BE97-422220080E43} (KnownFolders.h); a GUID in memory is
    Data1 (DWORD), Data2, Data3 (WORD) little-endian, then 8 bytes: what bytes_le gives."""

    class GUID(ctypes.Structure):
        _fields_ = [("d1", ctypes.c_uint32), ("d2", ctypes.c_uint16), ("d3", ctypes.c_uint16),
                    ("d4", ctypes.c_ubyte * 8)]

    g = GUID.from_buffer_copy(uuid.UUID(defaults.FOLDERID_MUSIC).bytes_le)
    assert (g.d1, g.d2, g.d3, bytes(g.d4)) == (0x4BD8D571, 0x6D19, 0x48D3, bytes.fromhex("BE97422220080E43"))


def test_linux_reads_xdg_user_dirs(tmp_path: Path) -> None:
    home = str(tmp_path)
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "user-dirs.dirs").write_text(
        '# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR="$HOME/Desktop"\nXDG_MUSIC_DIR="$HOME/Musik"\n')
    assert defaults.music_folder("linux", {"HOME": home}) == PurePosixPath(home, "Musik")
    # the environment wins; an absolute value is taken as it is
    assert defaults.music_folder("linux", {"HOME": home, "XDG_MUSIC_DIR": "/srv/music"}) == PurePosixPath("/srv/music")
    # XDG_CONFIG_HOME moves the file
    other = tmp_path / "cfg"
    other.mkdir()
    (other / "user-dirs.dirs").write_text('XDG_MUSIC_DIR="/data/tunes"\n')
    assert defaults.music_folder("linux", {"HOME": home, "XDG_CONFIG_HOME": str(other)}) == PurePosixPath("/data/tunes")


def test_linux_without_or_with_a_disabled_music_dir_uses_home_music(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert defaults.music_folder("linux", {"HOME": home}) == PurePosixPath(home, "Music")
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "user-dirs.dirs").write_text('XDG_MUSIC_DIR="$HOME/"\n')  # = disabled
    assert defaults.music_folder("linux", {"HOME": home}) == PurePosixPath(home, "Music")


def test_default_clip_dir_honours_jasco_clip_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JASCO_CLIP_DIR", str(tmp_path / "x"))
    assert defaults.default_clip_dir() == tmp_path / "x"
    monkeypatch.delenv("JASCO_CLIP_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_MUSIC_DIR", str(tmp_path / "M"))
    assert defaults.default_clip_dir() == tmp_path / "M" / "jasco-bridge"


# --- OSC paths from Max --------------------------------------------------------------------------
# Max's path syntax is "Drive:/path/to/file": "Macintosh HD:/Users/..." on macOS, "C:/Users/..." on
# Windows, and "~:/..." for the home folder (https://docs.cycling74.com/reference/conformpath).
@pytest.mark.parametrize("sent", [r"C:\Users\ann\Drums\loop 1.wav", "C:/Users/ann/Drums/loop 1.wav",
                                  "  C:/Users/ann/Drums/loop 1.wav "])
def test_windows_drive_paths_are_kept_for_windows(sent: str) -> None:
    text = native_path_text(sent, windows=True, exists=lambda p: False)
    path = PureWindowsPath(text)
    assert path.drive == "C:" and path.is_absolute()
    assert path == PureWindowsPath(r"C:\Users\ann\Drums\loop 1.wav")


def test_unc_and_home_forms() -> None:
    assert PureWindowsPath(native_path_text(r"\\nas\share\kick.wav", windows=True)).drive == r"\\nas\share"
    assert native_path_text("~:/Music/kick.wav", windows=True) == "~/Music/kick.wav"
    assert native_path_text("~:/Music/kick.wav", windows=False) == "~/Music/kick.wav"


@pytest.mark.parametrize("device", [r"\\.\pipe\jasco", "//./pipe/jasco", r"\\.\PhysicalDrive0",
                                    r"\\?\GLOBALROOT\Device\Null"])
def test_windows_device_paths_are_refused(device: str) -> None:
    with pytest.raises(NotFound, match="device path"):
        native_path_text(device, windows=True)
    assert PureWindowsPath(native_path_text(r"\\?\C:\very\long\kick.wav", windows=True)).drive  # long-path form is fine


def test_a_macos_volume_path_on_windows_is_a_clear_error() -> None:
    with pytest.raises(NotFound, match="macOS path .*Macintosh HD"):
        native_path_text("Macintosh HD:/Users/ann/kick.wav", windows=True)


def test_macos_volume_paths_map_to_the_boot_volume_or_volumes() -> None:
    existing = {"/Users/ann/kick.wav", "/Volumes/Samples/kick.wav"}
    assert native_path_text("Macintosh HD:/Users/ann/kick.wav", windows=False,
                            exists=existing.__contains__) == "/Users/ann/kick.wav"
    assert native_path_text("Samples:/kick.wav", windows=False, exists=existing.__contains__) == \
        "/Volumes/Samples/kick.wav"
    assert native_path_text("Gone:/kick.wav", windows=False, exists=existing.__contains__) == "/kick.wav"
    assert native_path_text("kick:", windows=False, exists=existing.__contains__) == "kick:"  # a POSIX name


def test_a_windows_path_on_posix_fails_by_its_own_name(tmp_path: Path) -> None:
    """Not silently turned into "/Users/..." (the drive dropped): it is reported as sent."""
    assert normalise_path("C:/Users/ann/kick.wav").endswith("C:/Users/ann/kick.wav")
    real = tmp_path / "kick.wav"
    real.write_bytes(b"x")
    assert normalise_path(f"Macintosh HD:{real}") == str(real)


# --- clip file names that every system accepts ---------------------------------------------------
# https://learn.microsoft.com/windows/win32/fileio/naming-a-file
@pytest.mark.parametrize("name,problem", [
    ("CON", "reserved"), ("con.wav", "reserved"), ("Nul.json", "reserved"), ("COM1.wav", "reserved"),
    ("lpt9", "reserved"), ("aux .wav", "reserved"), ("clip.", "dot or a space"), ("clip ", "dot or a space"),
    *[(f"a{ch}b", f"contains {ch!r}") for ch in '<>:"/\\|?*\x01\x1f'],
    ("x" * 256, "255"), ("", "empty"), ("..", "empty"),
])
def test_portable_name_rules(name: str, problem: str) -> None:
    found = clips.portable_name_problem(name)
    assert found is not None and problem in found, (name, found)


@pytest.mark.parametrize("ok", ["console.wav", "com10.wav", "nul-clip.wav", "20261121-103501_con_s1.wav", "x" * 255])
def test_portable_names_that_are_fine(ok: str) -> None:
    assert clips.portable_name_problem(ok) is None


@pytest.mark.parametrize("prompt", ["CON", "nul", "com1", "LPT1", "aux.", "  prn  ", "con.wav", 'a<>:"/\\|?*b',
                                    "trailing dots...", "x" * 600, "日本語", "", "\x00\x1f", "Café del Mar"])
def test_slugs_and_stems_are_portable_names(prompt: str) -> None:
    slug = clips.slugify(prompt)
    assert clips.portable_name_problem(slug) is None, slug
    assert clips.portable_name_problem(slug + ".wav") is None
    stem = clips.clip_stem(prompt, -1, dt.datetime(2026, 11, 21, 10, 35, 1))
    for name in (stem, f"{stem}-12.wav", f"{stem}-12.json"):
        assert clips.portable_name_problem(name) is None, name
    assert len(stem) <= 16 + 1 + clips.MAX_SLUG_CHARS + 22


def test_reserved_slugs_are_renamed() -> None:
    assert [clips.slugify(p) for p in ("CON", "com1", "Lpt9", "nul")] == ["con-clip", "com1-clip", "lpt9-clip", "nul-clip"]
    assert clips.slugify("console") == "console"


# --- replacing a file that another program has open (Windows) ------------------------------------
class HeldOpen:
    """Simulates Windows: os.replace onto ``target`` raises PermissionError while it is "open"."""

    def __init__(self, target: Path, closes_after: int | None = None) -> None:
        self.target = target
        self.open = True
        self.attempts = 0
        self.closes_after = closes_after  # the player closes the file after this many refused renames

    def replace(self, src: Path, dst: Path) -> None:
        self.attempts += 1
        if self.closes_after is not None and self.attempts > self.closes_after:
            self.open = False
        if self.open and Path(dst) == self.target:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        os.replace(src, dst)


def test_replace_waits_while_the_target_is_open_on_windows(tmp_path: Path) -> None:
    target = tmp_path / "clip.wav"
    target.write_bytes(b"old")
    held = HeldOpen(target, closes_after=4)  # the player closes it while we wait
    tmp = write_temp(tmp_path, b"new", ".wav")
    replace_into(tmp, target, windows=True, replace=held.replace)
    assert target.read_bytes() == b"new" and not tmp.exists()
    assert held.attempts == 5


def test_the_wait_grows_and_is_bounded() -> None:
    """The retry schedule on a clock of its own (no wall-clock bound to race on a loaded machine)."""
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    def refuse(src: Path, dst: Path) -> None:
        raise PermissionError(13, "in use")

    with pytest.raises(PermissionError):
        replace_retrying(Path("a"), Path("b"), retry_s=REPLACE_RETRY_S, windows=True, replace=refuse,
                         sleep=sleep, clock=lambda: now[0])
    assert pauses[:5] == [0.01, 0.02, 0.04, 0.08, 0.16] and max(pauses) == 0.2
    assert REPLACE_RETRY_S <= sum(pauses) < REPLACE_RETRY_S + 0.2


def test_replace_gives_up_with_a_clear_error_after_a_bounded_time(tmp_path: Path) -> None:
    target = tmp_path / "clip.wav"
    target.write_bytes(b"old")
    held = HeldOpen(target)
    tmp = write_temp(tmp_path, b"new", ".wav")
    t0 = time.monotonic()
    with pytest.raises(OutputError, match="another program has it open"):
        replace_into(tmp, target, windows=True, replace=held.replace)
    assert time.monotonic() - t0 >= REPLACE_RETRY_S  # it waited (the bound itself: the test above)
    assert target.read_bytes() == b"old" and not tmp.exists()  # nothing half-done, no temp left


def test_on_posix_a_permission_error_is_not_retried(tmp_path: Path) -> None:
    calls: list[float] = []

    def refuse(src: Path, dst: Path) -> None:
        calls.append(time.monotonic())
        raise PermissionError(13, "Permission denied")

    with pytest.raises(PermissionError):
        replace_retrying(tmp_path / "a", tmp_path / "b", windows=False, replace=refuse)
    assert len(calls) == 1


def test_atomic_write_still_replaces_normally(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    atomic_write(target, b"1")
    atomic_write(target, b"2")
    assert target.read_bytes() == b"2"


# --- pid checks never signal on Windows ----------------------------------------------------------
def test_pid_alive_on_posix() -> None:
    assert pid_alive(os.getpid(), windows=False)
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid, windows=False)


def test_pid_alive_on_windows_never_calls_os_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows os.kill(pid, 0) would TerminateProcess that pid (https://docs.python.org/3/library/os.html#os.kill)."""
    def no_kill(*args: object) -> None:
        raise AssertionError("os.kill must not be used to test a pid on Windows")

    monkeypatch.setattr(os, "kill", no_kill)
    asked: list[int] = []
    assert pid_alive(4242, windows=True, windows_query=lambda pid: asked.append(pid) or True)
    assert asked == [4242]
