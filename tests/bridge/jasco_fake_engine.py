"""A tiny pure-numpy engine with JascoPipeline's interface, for worker tests.

``RenderWorker(engine_factory="jasco_fake_engine:make", model="fake?delay=0.05")``
runs it in the engine child process (this folder is on ``sys.path`` under pytest,
and spawn children inherit ``sys.path``). Behaviour is chosen by the model string:

* ``delay=S``: seconds of sleep per function evaluation (so a test can cancel or
  kill mid-render); ``steps`` evaluations for euler, ``2*steps`` for midpoint.
* ``fail_load=CODE``: loading raises that error code (``model_unavailable``, ...).
* prompt ``"explode"``: ``generate`` raises a RuntimeError; ``"coded-bad-chord"``
  raises ``BadChord``; ``"ignore-cancel"``: never looks at ``cancelled``.

Audio: a sine whose frequency depends on the seed, 10 s at 32 kHz (or the clip's
timeline, as the real engine: ``ceil(seconds * 50)`` frames of 640 samples for a loop or a
clip longer than the window), ``[B, 1, S]``, plus the drums (resampled by repetition) so
tests can see they arrived.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl

import numpy as np

from core.errors import BadChord, Cancelled, all_codes


@dataclass(frozen=True)
class SamplingParams:
    seed: int = 0
    solver: str = "dopri5"
    steps: int = 16
    rtol: float = 1e-5
    atol: float = 1e-5
    cfg_all: float = 5.0
    cfg_txt: float = 0.0
    guidance: str = "independent"
    melody_guidance: str = "with_chords"
    preset: str = "none"


@dataclass(frozen=True)
class GenerationInput:
    prompt: str = ""
    chords: tuple[tuple[str, float], ...] | None = None
    chord_order: str = "list"
    drums: np.ndarray | None = None
    drums_sample_rate: int = 32000
    drums_fill: str = "repeat"
    separate_drums: bool = False
    melody: np.ndarray | None = None
    seconds: float = 0.0
    loop: bool = False
    hop_beats: int = 0
    beat_seconds: float = 0.0
    context: np.ndarray | None = None  # as engine.pipeline's (jam continuation; the fake ignores it)


@dataclass
class GenerationOutput:
    audio: np.ndarray
    nfe: int
    timeline: dict[str, Any] | None = None


class FakeEngine:
    GenerationInput = GenerationInput
    SamplingParams = SamplingParams
    sample_rate = 32000
    frame_rate = 50.0
    segment_duration = 10.0
    supports_melody = True
    engine_version = "fake-1"

    def __init__(self, model: str, device: str = "cpu", options: dict[str, str] | None = None) -> None:
        self.model_id = model
        self.model_revision = "fake-revision"
        self.device = device
        self.delay = float((options or {}).get("delay", "0"))

    def generate(self, inputs: Sequence[GenerationInput], params: SamplingParams, *,
                 progress: Callable[[int, float], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> GenerationOutput:
        first = inputs[0]
        if first.prompt == "explode":
            raise RuntimeError("the fake engine exploded on purpose")
        if first.prompt == "coded-bad-chord":
            raise BadChord("chord label 'H7' is not in the vocabulary")
        if first.chords is not None:
            assert all(isinstance(label, str) for label, _ in first.chords)
        evals = params.steps * (2 if params.solver == "midpoint" else 1)
        for k in range(evals):
            if cancelled is not None and cancelled() and first.prompt != "ignore-cancel":
                raise Cancelled("cancelled between evaluations")
            if self.delay:
                time.sleep(self.delay)
            if progress is not None:
                progress(k + 1, (k + 1) / evals)
        window = int(self.segment_duration * self.frame_rate)
        frames = window
        if first.seconds:  # the real engine's timeline: a loop, or a clip longer than the window
            clip = int(np.ceil(first.seconds * self.frame_rate - 1e-6))
            frames = clip if first.loop or clip > window else window
        n = frames * int(self.sample_rate / self.frame_rate)
        t = np.arange(n, dtype=np.float64) / self.sample_rate
        freq = 220.0 + 10.0 * (params.seed % 50)
        audio = 0.3 * np.sin(2 * np.pi * freq * t)
        if first.drums is not None:
            d = np.asarray(first.drums, dtype=np.float64)
            d = d.mean(axis=0) if d.ndim == 2 else d
            audio = audio + 0.1 * np.resize(d, n)
        out = np.stack([audio.astype(np.float32)] * len(inputs))[:, None, :]
        return GenerationOutput(audio=out, nfe=evals, timeline={"frames": frames, "loop": bool(first.loop)})


def make(model: str, device: str = "cpu", dtype: str | None = None) -> FakeEngine:
    """Engine factory: ``model`` is ``name?key=value&...`` (see the module docstring)."""
    _, _, query = model.partition("?")
    options = dict(parse_qsl(query))
    if "fail_load" in options:
        cls = all_codes()[options["fail_load"]]
        raise cls(f"fake model {model!r} cannot be loaded (on purpose)")
    if "crash_load" in options:
        raise RuntimeError("the fake loader crashed")
    return FakeEngine(model, device, options)


class RecordingListener:
    """A JobListener that records every callback (thread-safe)."""

    def __init__(self) -> None:
        import threading

        self.events: list[tuple[str, str, tuple[Any, ...], float]] = []
        self._cond = threading.Condition()

    def _add(self, name: str, job_id: str, *args: Any) -> None:
        with self._cond:
            self.events.append((name, job_id, args, time.monotonic()))
            self._cond.notify_all()

    def queued(self, job_id: str, position: int) -> None:
        self._add("queued", job_id, position)

    def started(self, job_id: str) -> None:
        self._add("started", job_id)

    def progress(self, job_id: str, fraction: float) -> None:
        self._add("progress", job_id, fraction)

    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int) -> None:
        self._add("done", job_id, path, seconds, bpm, seed)

    def error(self, job_id: str, code: str, message: str) -> None:
        self._add("error", job_id, code, message)

    def cancelled(self, job_id: str) -> None:
        self._add("cancelled", job_id)

    def of(self, job_id: str) -> list[tuple[str, tuple[Any, ...]]]:
        with self._cond:
            return [(name, args) for name, jid, args, _ in self.events if jid == job_id]

    def final(self, job_id: str, timeout: float = 30.0) -> tuple[str, tuple[Any, ...]]:
        """Wait for the job's done/error/cancelled callback."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for name, jid, args, _ in self.events:
                    if jid == job_id and name in ("done", "error", "cancelled"):
                        return name, args
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no final callback for {job_id}: {self.of(job_id)}")
                self._cond.wait(left)

    def wait_for(self, job_id: str, name: str, timeout: float = 30.0) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n, jid, args, _ in self.events:
                    if jid == job_id and n == name:
                        return args
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {name} for {job_id}: {self.of(job_id)}")
                self._cond.wait(left)
