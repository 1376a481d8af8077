"""Each jam take into the clip folder, and ``/jasco/jam/take`` to the client steering the jam (the device).

A finished take is written with the server's clip writer (:func:`bridge.clips.write_clip`: atomic, with its
JSON sidecar) as ``<jam start>_jam-p<take>_s<seed>.wav``, exactly the phrase (no trim, fade or loudness
change: ``bars 0``, ``normalize none``), then the device is told its path, its number, the beat of the
boundary it is for, the phrase's bars and the tempo. The boundary is the first one at least ``lead_s``
seconds away, so the device has the time to place and fire the clip before it (Live launches it there).

Bounded: only this jam's newest ``keep`` takes stay on disk; older ones (clip and sidecar) are removed.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from bridge.clips import ensure_clip_dir, release_stem, reserve_stem, write_clip
from bridge.jam.clock import BeatClock
from bridge.jam.phrases import PhraseGrid
from bridge.jam.renderer import RenderedPhrase
from bridge.protocol import JAM_TAKE_LEAD_S
from core.errors import JascoError
from core.fileio import unlink_quietly
from core.params import RenderParams
from core.requests import ChordEvent, RenderRequest

log = logging.getLogger(__name__)
TAKE_ADDRESS = "/jasco/jam/take"
LEAD_S = JAM_TAKE_LEAD_S  # the device's time to create and fire the clip before its boundary (OSC, Max, Live)
DEFAULT_KEEP = 32  # takes of one jam kept on disk


class TakeFiles:
    """Writes a jam's takes into ``clip_dir``; keeps the newest ``keep``."""

    def __init__(self, clip_dir: Path, *, keep: int = DEFAULT_KEEP, model: str = "",
                 started: _dt.datetime | None = None) -> None:
        self.folder = ensure_clip_dir(clip_dir).resolve()  # absolute, symlinks resolved: Live compares files
        self.keep = max(1, int(keep))
        self.model = model
        self.stamp = f"{started or _dt.datetime.now():%Y%m%d-%H%M%S}"
        self._written: deque[Path] = deque()

    def write(self, rendered: RenderedPhrase, bpm: float, beats_per_bar: int) -> Path:
        req = rendered.request
        seed = int(req.sampling.get("seed", -1))
        base = req.params if isinstance(req.params, RenderParams) else RenderParams()
        p = dataclasses.replace(base, bars=0, loop=False, normalize="none", format="wav",
                                seed=seed, preset=str(req.sampling.get("preset", base.preset)))
        beat_s = 60.0 / bpm
        chords = tuple(ChordEvent(c, c, t / beat_s, t) for c, t in req.chords)
        request = RenderRequest(prompt=req.prompt, bpm=bpm, time_signature=(beats_per_bar, 4), chords=chords,
                                drums_path=req.drums_path, params=p, model=self.model, tag=f"jam-{req.number}")
        stem, marker = reserve_stem(self.folder, f"{self.stamp}_jam-p{req.number}_s{seed}", "wav")
        try:
            clip = write_clip(rendered.audio[None, :], rendered.sample_rate, request, self.folder,
                              job_id=f"jam-{req.number}", target=self.folder / f"{stem}.wav",
                              timings={"render_s": round(rendered.render_s, 3)})
        finally:
            release_stem(marker)
        self._written.append(clip.path)
        while len(self._written) > self.keep:
            old = self._written.popleft()
            unlink_quietly(old)
            unlink_quietly(old.with_suffix(".json"))
            log.debug("jam: removed the old take %s (keeping %d)", old, self.keep)
        return clip.path


class TakeDelivery:
    """The jam's ``deliver`` hook: write the take, then tell the client which boundary it is for."""

    def __init__(self, files: TakeFiles, clock: BeatClock, grid: PhraseGrid,
                 send: Callable[[str, tuple[Any, ...]], None], *, lead_s: float = LEAD_S) -> None:
        self.files, self.clock, self.grid, self.send = files, clock, grid, send
        self.lead_s = float(lead_s)

    def boundary_beat(self, now: float) -> float:
        """The first phrase boundary at least ``lead_s`` after ``now``."""
        beat = self.clock.beat_at(now + self.lead_s)
        return self.grid.start(self.grid.index(beat) + 1)

    def __call__(self, rendered: RenderedPhrase) -> float | None:
        """Write the take and tell the client; the beat of the boundary it was told (None: not written)."""
        bpm = self.clock.tempo()
        try:
            path = self.files.write(rendered, bpm, self.grid.beats_per_bar)
        except JascoError as err:  # the jam plays on through the sinks; the device gets no take
            log.error("jam take %d not written [%s]: %s", rendered.request.number, err.code, err)
            return None
        boundary = self.boundary_beat(time.monotonic())
        self.send(TAKE_ADDRESS, (str(path), int(rendered.request.number), float(boundary), int(self.grid.bars),
                                 float(bpm)))
        log.info("jam: take %d written (%s), for the boundary at beat %g", rendered.request.number, path, boundary)
        return boundary
