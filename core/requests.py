"""Frozen render requests: what crosses from the OSC thread to the render worker.

The OSC side validates every value where it is built (``RenderParams`` and
``RenderRequest`` raise ``BadValue`` in ``__post_init__``), so the worker and
the engine process only ever see well-formed requests. Everything here is
plain data (no numpy, no torch) so a request pickles to the engine process
and serialises to the JSON sidecar unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from core.errors import BadValue, TooLarge

SOLVERS = ("euler", "midpoint", "dopri5")
FORMATS = ("wav", "flac", "ogg")
NORMALIZE = ("loudness", "peak", "none")
MAX_PROMPT_CHARS = 1000
MAX_NOTES = 20_000
MAX_CHORDS = 512


def _finite(name: str, value: float, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadValue(f"{name} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise BadValue(f"{name} must be between {lo:g} and {hi:g}, got {value:g}")


def _integer(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise BadValue(f"{name} must be between {lo} and {hi}, got {value}")


@dataclass(frozen=True)
class RenderParams:
    """Sampling and output settings (``/jasco/set <name> <value>``)."""

    seed: int = 0
    solver: str = "euler"
    steps: int = 16
    rtol: float = 1e-5
    atol: float = 1e-5
    cfg_all: float = 5.0
    cfg_txt: float = 0.0
    bars: int = 0  # 0: keep the whole 10 s window
    sample_rate: int = 48000
    format: str = "wav"
    bit_depth: int = 24  # wav/flac: 16 or 24; ogg ignores it
    normalize: str = "loudness"
    loudness_lufs: float = -14.0
    drums_fill: str = "repeat"  # "repeat" | "pad"
    separate_drums: bool = False

    def __post_init__(self) -> None:
        _integer("seed", self.seed, 0, 2**31 - 1)
        if self.solver not in SOLVERS:
            raise BadValue(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        _integer("steps", self.steps, 1, 1000)
        _finite("rtol", self.rtol, 1e-9, 1.0)
        _finite("atol", self.atol, 1e-9, 1.0)
        _finite("cfg_all", self.cfg_all, -20.0, 20.0)
        _finite("cfg_txt", self.cfg_txt, -20.0, 20.0)
        _integer("bars", self.bars, 0, 64)
        _integer("sample_rate", self.sample_rate, 8000, 192000)
        if self.format not in FORMATS:
            raise BadValue(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.bit_depth not in (16, 24):
            raise BadValue(f"bit_depth must be 16 or 24, got {self.bit_depth!r}")
        if self.normalize not in NORMALIZE:
            raise BadValue(f"normalize must be one of {', '.join(NORMALIZE)}, got {self.normalize!r}")
        _finite("loudness_lufs", self.loudness_lufs, -60.0, 0.0)
        if self.drums_fill not in ("repeat", "pad"):
            raise BadValue(f"drums_fill must be 'repeat' or 'pad', got {self.drums_fill!r}")


@dataclass(frozen=True)
class ChordEvent:
    """One chord as the user gave it and as the vocabulary maps it."""

    given: str  # what the user typed / what was recognised
    label: str  # vocabulary label sent to the engine
    start_beat: float
    start_seconds: float
    exact: bool = True
    reason: str = ""


@dataclass(frozen=True)
class RenderRequest:
    """Everything needed to render one clip, and to render it again bit for bit."""

    prompt: str = ""
    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    chords: tuple[ChordEvent, ...] = ()
    drums_path: str | None = None
    drums_sha256: str | None = None
    # melody: frames of MIDI note numbers at 50 Hz (0 = no note); the engine turns it into [53, T]
    melody_frames: tuple[int, ...] | None = None
    params: RenderParams = field(default_factory=RenderParams)
    model: str = "tiny"
    tag: str = ""
    client: str = ""  # "host:port" of the requesting client

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str):
            raise BadValue("prompt must be a string")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise TooLarge(f"prompt is {len(self.prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
        _finite("bpm", self.bpm, 20.0, 999.0)
        num, den = self.time_signature
        _integer("time signature numerator", num, 1, 32)
        if den not in (1, 2, 4, 8, 16, 32):
            raise BadValue(f"time signature denominator must be a power of two up to 32, got {den!r}")
        if len(self.chords) > MAX_CHORDS:
            raise TooLarge(f"{len(self.chords)} chords; the limit is {MAX_CHORDS}")
        if len(self.tag) > 200:
            raise TooLarge("tag is longer than 200 characters")

    @property
    def seconds_per_beat(self) -> float:
        # Live's tempo is in quarter notes per minute; a beat here is a quarter note.
        return 60.0 / self.bpm

    @property
    def bar_seconds(self) -> float:
        num, den = self.time_signature
        return num * (4.0 / den) * self.seconds_per_beat

    def engine_chords(self) -> tuple[tuple[str, float], ...]:
        return tuple((c.label, c.start_seconds) for c in self.chords)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobListener(Protocol):
    """What the worker tells the OSC side about a job (called from the worker thread)."""

    def queued(self, job_id: str, position: int) -> None: ...
    def started(self, job_id: str) -> None: ...
    def progress(self, job_id: str, fraction: float) -> None: ...
    def done(self, job_id: str, path: str, seconds: float, bpm: float) -> None: ...
    def error(self, job_id: str, code: str, message: str) -> None: ...
    def cancelled(self, job_id: str) -> None: ...


ProgressCallback = Callable[[float], None]
