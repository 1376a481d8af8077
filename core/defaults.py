"""Defaults shared by ``serve``, ``doctor`` and the device (one place to change them)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000  # the bridge listens here
DEFAULT_REPLY_PORT = 9001  # replies go here unless a client sends /jasco/hello
DEFAULT_MODEL = "facebook/jasco-chords-drums-400M"
OFFICIAL_MODELS = (
    "facebook/jasco-chords-drums-400M",
    "facebook/jasco-chords-drums-1B",
    "facebook/jasco-chords-drums-melody-400M",
    "facebook/jasco-chords-drums-melody-1B",
)


def default_clip_dir() -> Path:
    """``$JASCO_CLIP_DIR``, else a ``jasco-bridge`` folder in the user's music folder."""
    env = os.environ.get("JASCO_CLIP_DIR")
    if env:
        return Path(env).expanduser()
    music = os.environ.get("XDG_MUSIC_DIR")
    base = Path(music).expanduser() if music else Path.home() / "Music"
    return base / "jasco-bridge"
