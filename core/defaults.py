"""Defaults shared by ``serve``, ``doctor`` and the device (one place to change them)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Callable, Mapping

from core.params import param

DEFAULT_HOST = "127.0.0.1"
# The ports and the default model are the parameter table's (core.params: port, reply_port, model).
DEFAULT_PORT: int = param("port").default  # the bridge listens here
DEFAULT_REPLY_PORT: int = param("reply_port").default  # replies go here unless a client sends /jasco/hello
DEFAULT_MODEL: str = param("model").default
# The engine's numeric precision (``serve --dtype``, ``render --dtype``; engine.precision says what each does).
# "auto" = bfloat16 on a CPU with native bf16 (AVX512-BF16/AMX), else the device's audiocraft default
# (float32 on CPU, float16 on CUDA); no choice at all (None) is always audiocraft's default.
ENGINE_DTYPES = ("auto", "float32", "bfloat16", "float16", "int8")
OFFICIAL_MODELS = (
    "facebook/jasco-chords-drums-400M",
    "facebook/jasco-chords-drums-1B",
    "facebook/jasco-chords-drums-melody-400M",
    "facebook/jasco-chords-drums-melody-1B",
)


CLIP_SUBFOLDER = "jasco-bridge"
# The Music known folder (KNOWNFOLDERID FOLDERID_Music, from Windows' KnownFolders.h):
# https://learn.microsoft.com/windows/win32/shell/knownfolderid
FOLDERID_MUSIC = "4BD8D571-6D19-48D3-BE97-422220080E43"
_USER_DIRS_LINE = re.compile(r'^\s*XDG_MUSIC_DIR\s*=\s*"(.*)"\s*$')


def system_name(platform: str | None = None) -> str:
    """``windows``, ``darwin`` or ``linux`` (every other Unix) for a ``sys.platform`` value."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win") or platform == "cygwin":
        return "windows"
    return "darwin" if platform == "darwin" else "linux"


def windows_known_music_folder() -> str | None:
    """``SHGetKnownFolderPath(FOLDERID_Music)`` through ctypes (Windows only; None when it fails).

    This is where Explorer's "Music" points, also when the user moved it (to another drive,
    or into OneDrive), which ``%USERPROFILE%\\Music`` does not follow.
    """
    import ctypes
    import uuid

    windll = getattr(ctypes, "windll", None)
    if windll is None:
        return None
    guid = (ctypes.c_ubyte * 16).from_buffer_copy(uuid.UUID(FOLDERID_MUSIC).bytes_le)  # a GUID's memory layout
    out = ctypes.c_wchar_p()
    result = windll.shell32.SHGetKnownFolderPath(ctypes.byref(guid), 0, None, ctypes.byref(out))
    try:
        return out.value if result == 0 and out.value else None
    finally:
        windll.ole32.CoTaskMemFree(out)  # the documented way to free the returned string


def xdg_music_dir(env: Mapping[str, str], home: str) -> str | None:
    """``XDG_MUSIC_DIR`` from the environment, else from ``user-dirs.dirs`` (xdg-user-dirs' format:
    ``XDG_MUSIC_DIR="$HOME/Music"``, a value that is absolute or starts with ``$HOME``).
    A value of just ``$HOME`` means the folder is disabled: None, like a missing one."""
    value = env.get("XDG_MUSIC_DIR")
    if not value:
        config = env.get("XDG_CONFIG_HOME") or f"{home}/.config"
        try:
            text = Path(config, "user-dirs.dirs").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        found = [m.group(1) for m in map(_USER_DIRS_LINE.match, text.splitlines()) if m]
        if not found:
            return None
        value = found[-1]
    value = value.replace("${HOME}", "$HOME")
    if value.startswith("$HOME"):
        value = home + value[len("$HOME"):]
    elif value.startswith("~"):
        value = home + value[1:]
    if not value.startswith("/") or value.rstrip("/") == home.rstrip("/"):
        return None
    return value


def music_folder(system: str | None = None, env: Mapping[str, str] | None = None,
                 known_folder: Callable[[], str | None] = windows_known_music_folder) -> PurePath:
    """The user's music folder on ``system`` (default: this one), as that system spells paths.

    - macOS: ``~/Music``.
    - Windows: the Music known folder; when that cannot be asked (an error, an old
      system), ``%USERPROFILE%\\Music``; without USERPROFILE, the home folder's ``Music``.
    - Linux and other Unixes: ``XDG_MUSIC_DIR`` (environment, then ``user-dirs.dirs``),
      else ``~/Music``.
    """
    system = system or system_name()
    env = os.environ if env is None else env
    if system == "windows":
        try:
            known = known_folder()
        except (OSError, AttributeError, ValueError) as err:  # no shell32, a failing call
            import logging

            logging.getLogger(__name__).debug("SHGetKnownFolderPath(FOLDERID_Music) failed: %s", err)
            known = None
        if known:
            return PureWindowsPath(known)
        profile = env.get("USERPROFILE") or str(Path.home())
        return PureWindowsPath(profile, "Music")
    home = env.get("HOME") or str(Path.home())
    if system == "darwin":
        return PurePosixPath(home, "Music")
    return PurePosixPath(xdg_music_dir(env, home) or f"{home}/Music")


def default_clip_dir() -> Path:
    """``$JASCO_CLIP_DIR``, else a ``jasco-bridge`` folder in the user's music folder (see music_folder)."""
    env = os.environ.get("JASCO_CLIP_DIR")
    if env:
        return Path(env).expanduser()
    return Path(str(music_folder())) / CLIP_SUBFOLDER
