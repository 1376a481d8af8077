"""The condition grid of the JASCO checkpoints, declared once.

Every JASCO checkpoint (400M and 1B, with or without melody) works on the same grid:
EnCodec at 32 kHz, 50 latent frames per second, windows of 500 frames (10 s), and a melody of
53 pitch bins per frame. The engine reads the real values from a checkpoint's config
(``engine.config``) and uses these as its defaults; the bridge, ``midi`` and the sidecar use
them for the grid they build requests on. ``tests/test_facts_once.py`` fails when one of these
numbers is typed again as a literal elsewhere.
"""

from __future__ import annotations

import math

FRAME_RATE = 50.0  # latent frames (and melody frames) per second
WINDOW_FRAMES = 500  # frames of one model window
WINDOW_SECONDS = WINDOW_FRAMES / FRAME_RATE  # 10 s
MELODY_BINS = 53  # pitch bins of the melody matrix ([53, T]: MIDI 43..95)
SAMPLE_RATE = 32000  # Hz of the model's audio (EnCodec 32 kHz): its output and the rate drums are resampled to


def clip_frames(seconds: float, frame_rate: float = FRAME_RATE) -> int:
    """Latent frames of a clip of ``seconds``: the exact length at the frame rate, rounded up
    (at least one frame)."""
    return max(1, math.ceil(seconds * frame_rate - 1e-6))
