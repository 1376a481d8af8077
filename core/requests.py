"""Frozen render requests: what crosses from a front end (OSC, CLI) to the render worker.

Every value is validated where it is built (``RenderParams``, from the table in
``core.params``, and ``RenderRequest`` raise ``BadValue`` in ``__post_init__``), so the worker and
the engine process only ever see well-formed requests. Everything here is
plain data (no numpy, no torch) so a request pickles to the engine process
and serialises to the JSON sidecar unchanged.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import BadValue, TooLarge
from core.grid import FRAME_RATE, WINDOW_FRAMES, clip_frames
from core.params import MAX_CLIP_SECONDS, MAX_RANDOM_SEED, RANDOM_SEED, RenderParams, param

MAX_PROMPT_CHARS = 1000
MAX_SESSION_NOTES = 20_000
MAX_CHORDS = 512
MAX_TEXT_CHARS = 4096  # a path, a model id, a client address, a chord symbol or reason


def _text(name: str, value: object, *, optional: bool = False, limit: int = MAX_TEXT_CHARS) -> None:
    """``BadValue`` unless ``value`` is a string (or None when ``optional``) of at most ``limit`` characters."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise BadValue(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise TooLarge(f"{name} is {len(value)} characters; the limit is {limit}")


def _finite(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadValue(f"{name} must be a finite number, got {value!r}")


@dataclass(frozen=True)
class ChordEvent:
    """One chord as the user gave it and as the vocabulary maps it."""

    given: str  # what the user typed / what was recognised
    label: str  # vocabulary label sent to the engine
    start_beat: float
    start_seconds: float
    exact: bool = True
    reason: str = ""

    def __post_init__(self) -> None:
        _text("a chord's given symbol", self.given)
        _text("a chord's label", self.label)
        _text("a chord's reason", self.reason)
        _finite("a chord's start_beat", self.start_beat)
        _finite("a chord's start_seconds", self.start_seconds)
        if not isinstance(self.exact, bool):
            raise BadValue(f"a chord's exact must be true or false, got {self.exact!r}")


@dataclass(frozen=True)
class RenderRequest:
    """Everything needed to render one clip, and to render it again bit for bit."""

    prompt: str = ""
    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    chords: tuple[ChordEvent, ...] = ()
    drums_path: str | None = None
    drums_sha256: str | None = None
    # the region of the drum file that is the loop, in seconds of the file (start, end); None = all of it
    drums_region: tuple[float, float] | None = None
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
        param("bpm").check(self.bpm)
        if not isinstance(self.time_signature, tuple) or len(self.time_signature) != 2:
            raise BadValue(f"time_signature must be (numerator, denominator), got {self.time_signature!r}")
        num, den = self.time_signature
        param("numerator").check(num)
        param("denominator").check(den)
        if not isinstance(self.params, RenderParams):
            raise BadValue("params must be RenderParams")
        if self.params.seed == RANDOM_SEED:  # a request is always concrete: the seed it used is recorded
            object.__setattr__(self, "params", self.params.replace(seed=secrets.randbelow(MAX_RANDOM_SEED + 1)))
        if self.clip_seconds > MAX_CLIP_SECONDS + 1e-9:
            raise TooLarge(
                f"{self.params.bars} bars of {num}/{den} at {self.bpm:g} bpm are {self.clip_seconds:.3f} s; "
                f"the longest clip is {MAX_CLIP_SECONDS:g} s ({int(MAX_CLIP_SECONDS * FRAME_RATE)} frames), "
                f"at most {int(MAX_CLIP_SECONDS / self.bar_seconds + 1e-9)} bars at this tempo"
            )
        if self.drums_region is not None:
            start, end = self.drums_region
            if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
                raise BadValue(f"the drum region must be 0 <= start < end seconds, got {start:g}..{end:g}")
        if not isinstance(self.chords, tuple) or not all(isinstance(c, ChordEvent) for c in self.chords):
            raise BadValue("chords must be a tuple of ChordEvent")
        if len(self.chords) > MAX_CHORDS:
            raise TooLarge(f"{len(self.chords)} chords; the limit is {MAX_CHORDS}")
        _text("tag", self.tag, limit=200)
        _text("model", self.model)
        _text("client", self.client)
        _text("drums_path", self.drums_path, optional=True)
        _text("drums_sha256", self.drums_sha256, optional=True, limit=64)
        check_melody_frames(self.melody_frames)

    @property
    def seconds_per_beat(self) -> float:
        # Live's tempo is in quarter notes per minute; a beat here is a quarter note.
        return 60.0 / self.bpm

    @property
    def bar_seconds(self) -> float:
        num, den = self.time_signature
        return num * (4.0 / den) * self.seconds_per_beat

    @property
    def clip_seconds(self) -> float:
        """The clip's exact length (``bars`` at the session tempo); 0 = the model's window."""
        return self.params.bars * self.bar_seconds

    @property
    def is_loop(self) -> bool:
        """A seamless loop: ``loop`` with a length in bars (``bars 0`` is the model's window, never a loop)."""
        return bool(self.params.loop and self.params.bars)

    def condition_frames(self) -> int:
        """Frames of the condition grid (melody): the clip's timeline when it loops or outgrows the window,
        else the window (a shorter one-shot clip is cut from one window)."""
        return condition_frames(self.params, self.bar_seconds)

    def engine_chords(self) -> tuple[tuple[str, float], ...]:
        return tuple((c.label, c.start_seconds) for c in self.chords)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Melody frames of the longest clip (a request made by a front end has its clip's frames, at most these).
MAX_MELODY_FRAMES = max(WINDOW_FRAMES, clip_frames(MAX_CLIP_SECONDS))


def check_melody_frames(frames: object) -> None:
    """``melody_frames``: None, or a tuple of MIDI notes 0..127 (0 = none) no longer than the longest clip.

    The length is checked first, so a sidecar with millions of frames is refused before anything
    is made of them (the one-hot matrix the engine takes is 53 floats per frame)."""
    if frames is None:
        return
    if not isinstance(frames, tuple):
        raise BadValue(f"melody_frames must be a list of MIDI notes, got {type(frames).__name__}")
    if len(frames) > MAX_MELODY_FRAMES:
        raise TooLarge(f"{len(frames)} melody frames; the longest clip ({MAX_CLIP_SECONDS:g} s) has "
                       f"{MAX_MELODY_FRAMES}")
    if not all(type(v) is int and 0 <= v <= 127 for v in frames):
        raise BadValue("melody frames must be MIDI notes 0..127 (0 = no note)")


def condition_frames(params: RenderParams, bar_seconds: float) -> int:
    """See :meth:`RenderRequest.condition_frames` (usable before the request exists)."""
    if not params.bars:
        return WINDOW_FRAMES
    frames = clip_frames(params.bars * bar_seconds)
    return frames if params.loop or frames > WINDOW_FRAMES else WINDOW_FRAMES
