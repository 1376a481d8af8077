"""The messages between the render worker (``bridge``) and the engine process (``engine.service``).

Each message is a frozen dataclass; :func:`encode` turns one into a plain tuple
``(kind, field, ...)`` of builtins and numpy arrays for the socket (pickled by
``multiprocessing.connection``), and :func:`decode` turns such a tuple back into
the dataclass, refusing anything that is not a declared message with the declared
number of fields. Both sides use these two functions and nothing else.

worker → engine: :class:`Render`, :class:`Cancel`, :class:`Stop`
engine → worker: :class:`Ready`, :class:`LoadFailed`, :class:`Progress`, :class:`Result`,
:class:`Failed`, :class:`Cancelled`
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from core.errors import BadArguments
from core.grid import SAMPLE_RATE
from core.params import param


@dataclass(frozen=True)
class RenderItem:
    """One clip's conditions, as the engine takes them (plain data)."""

    prompt: str = ""
    chords: tuple[tuple[str, float], ...] | None = None  # (vocabulary label, start seconds)
    chord_order: str = param("chord_order").default
    drums: np.ndarray | None = None  # float32 [C, S]
    drums_sample_rate: int = SAMPLE_RATE
    drums_fill: str = param("drums_fill").default
    separate_drums: bool = False
    melody: np.ndarray | None = None  # float32 [MELODY_BINS, T]
    # the clip's timeline (engine.timeline): exact length in seconds (0 = the model's window),
    # seamless loop, window hop in beats (0 = half the window in whole beats), the beat in seconds
    seconds: float = 0.0
    loop: bool = False
    hop_beats: int = 0
    beat_seconds: float = 0.0
    # jam continuation (engine.continuation): latents float32 [F, D] held as the clip's first F frames
    # while sampling; ``seconds`` is then the new music after them, and chords start on the whole timeline
    context: np.ndarray | None = None


@dataclass(frozen=True)
class Render:
    job_id: str
    items: tuple[RenderItem, ...]
    sampling: Mapping[str, Any]  # the engine's SamplingParams fields
    want_latents: bool = False


@dataclass(frozen=True)
class Cancel:
    job_id: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ready:
    info: Mapping[str, Any]


@dataclass(frozen=True)
class LoadFailed:
    code: str
    message: str


@dataclass(frozen=True)
class Progress:
    job_id: str
    nfe: int
    t: float  # 0..1 along the trajectory


@dataclass(frozen=True)
class Result:
    job_id: str
    audio: np.ndarray  # float32 [B, C, S]
    sample_rate: int
    nfe: int | None
    seconds: float  # engine time
    latents: np.ndarray | None = None  # float32 [B, T, D] when asked for
    timeline: Mapping[str, Any] | None = None  # frames, window, hop, loop, windows, offsets (engine.timeline)


@dataclass(frozen=True)
class Failed:
    job_id: str
    code: str
    message: str


@dataclass(frozen=True)
class Cancelled:
    job_id: str


MESSAGES: tuple[type, ...] = (Render, Cancel, Stop, Ready, LoadFailed, Progress, Result, Failed, Cancelled)
_BY_KIND: Mapping[str, type] = {cls.__name__.lower(): cls for cls in MESSAGES}
_FIELDS: Mapping[type, tuple[str, ...]] = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in MESSAGES}
_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(RenderItem))


def kind_of(message: Any) -> str:
    return type(message).__name__.lower()


def encode(message: Any) -> tuple[Any, ...]:
    """A declared message -> ``(kind, field, ...)``."""
    cls = type(message)
    if cls not in _FIELDS:
        raise TypeError(f"{cls.__name__} is not an engine wire message")
    values = [getattr(message, name) for name in _FIELDS[cls]]
    if cls is Render:
        values[1] = tuple(tuple(getattr(item, n) for n in _ITEM_FIELDS) for item in message.items)
        values[2] = dict(message.sampling)
    elif cls is Ready:
        values[0] = dict(message.info)
    elif cls is Result and message.timeline is not None:
        values[-1] = dict(message.timeline)
    return (kind_of(message), *values)


def decode(raw: Any) -> Any:
    """``(kind, field, ...)`` -> the declared message; ``BadArguments`` for anything else."""
    if not isinstance(raw, tuple) or not raw or not isinstance(raw[0], str):
        raise BadArguments(f"not an engine message: {type(raw).__name__}")
    cls = _BY_KIND.get(raw[0])
    if cls is None:
        raise BadArguments(f"unknown engine message {raw[0][:40]!r}")
    names = _FIELDS[cls]
    required = sum(1 for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING)
    values = list(raw[1:])
    if not required <= len(values) <= len(names):
        raise BadArguments(f"engine message {raw[0]!r} has {len(values)} fields, expected {len(names)}")
    if cls is Render:
        try:
            values[1] = tuple(RenderItem(*item) for item in values[1])
        except TypeError as err:
            raise BadArguments(f"malformed render items: {err}") from None
    return cls(*values)
