"""The engine side of the jam: one phrase request at a time, with the previous take's last latents as context.

Runs on its own thread with an :class:`bridge.engines.local.EngineSupervisor` (the engine child; no
torch here). Requests are latest-wins: while a phrase renders, a newer request replaces an older
waiting one. The result's audio (trimmed to the phrase) and latents come back through ``on_take``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bridge.audio import read_audio
from core import wire
from core.grid import SAMPLE_RATE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhraseRequest:
    number: int
    prompt: str
    chords: tuple[tuple[str, float], ...]  # (vocabulary label, seconds from the phrase start)
    seconds: float
    beat_seconds: float
    sampling: dict[str, Any]
    boundary: int  # the boundary at which it was asked for
    drums_path: str | None = None
    params: Any = None  # the RenderParams it was asked with (the take's sidecar)


@dataclass(frozen=True)
class RenderedPhrase:
    request: PhraseRequest
    audio: np.ndarray  # float32 mono, exactly the phrase
    latents: np.ndarray  # float32 [T, D]
    sample_rate: int
    render_s: float


class PhraseRenderer:
    def __init__(self, supervisor: Any, model: str, *, context_frames: int, frame_rate: float,
                 on_take: Callable[[RenderedPhrase], None], on_progress: Callable[[float], None]) -> None:
        self.supervisor, self.model = supervisor, model
        self.context_frames, self.frame_rate = int(context_frames), float(frame_rate)
        self._on_take, self._on_progress = on_take, on_progress
        self._requests: queue.Queue[PhraseRequest | None] = queue.Queue()
        self._stop = threading.Event()
        self._latents: np.ndarray | None = None  # the last take's, for the next context
        self._context_chords: tuple[tuple[str, float], ...] = ()
        self.busy = False
        self._drums: dict[str, Any] = {}  # path -> bridge.audio's decoded file (read once per jam)
        self._thread = threading.Thread(target=self._run, name="jasco-jam-render", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, request: PhraseRequest) -> None:
        while True:  # latest wins
            try:
                self._requests.get_nowait()
            except queue.Empty:
                break
        self._requests.put(request)

    def close(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self._thread.join(10.0)
        self.supervisor.shutdown(graceful=0.5)

    def _message(self, req: PhraseRequest) -> wire.Render:
        context = None
        chords = req.chords
        if self._latents is not None and len(self._latents) >= self.context_frames > 0:
            context = np.ascontiguousarray(self._latents[-self.context_frames:])
            shift = self.context_frames / self.frame_rate
            chords = self._context_chords + tuple((c, t + shift) for c, t in req.chords)
        drums, drums_rate = None, SAMPLE_RATE
        if req.drums_path:
            audio = self._drums.get(req.drums_path)
            if audio is None:
                audio = self._drums[req.drums_path] = read_audio(req.drums_path)
            drums, drums_rate = audio.samples, audio.sample_rate
        item = wire.RenderItem(prompt=req.prompt, chords=chords or None, seconds=req.seconds,
                               beat_seconds=req.beat_seconds, context=context, drums=drums,
                               drums_sample_rate=int(drums_rate))
        return wire.Render(job_id=f"jam-{req.number}", items=(item,), sampling=req.sampling, want_latents=True)

    def _run(self) -> None:
        from bridge.engines.backend import RunControl
        from core.errors import JascoError

        while not self._stop.is_set():
            req = self._requests.get()
            if req is None:
                return
            self.busy = True
            started = time.monotonic()
            try:
                engine = self.supervisor.ensure(self.model, check=lambda: None)
                control = RunControl(cancel_time=lambda: None, stopping=self._stop.is_set,
                                     progress=lambda fraction, nfe: self._on_progress(fraction))
                result = self.supervisor.run(engine, self._message(req), control)
            except JascoError as err:
                log.error("jam phrase %d failed [%s]: %s", req.number, err.code, err)
                continue
            finally:
                self.busy = False
            per_second = result.sample_rate
            audio = np.asarray(result.audio, np.float32)[0].mean(axis=0)[:int(round(req.seconds * per_second))]
            latents = np.asarray(result.latents, np.float32)[0]
            frames = int(np.ceil(req.seconds * self.frame_rate - 1e-6))
            self._latents = latents[:frames]
            tail = frames / self.frame_rate - self.context_frames / self.frame_rate
            last = [c for c in req.chords if c[1] <= tail]
            self._context_chords = ((last[-1][0], 0.0),) if last else ()
            self._context_chords += tuple((c, t - tail) for c, t in req.chords if t > tail)
            self._on_take(RenderedPhrase(req, audio, self._latents, result.sample_rate, time.monotonic() - started))
