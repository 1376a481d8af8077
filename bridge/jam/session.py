"""The jam: at every phrase boundary, what was played in the phrase that ended is recognised and the next
phrase is rendered with it (after the end of the last take); the take starts at the first boundary after
it is ready while the current one loops.

Timeline for phrase boundaries ``k`` (beat ``k * N * beats_per_bar``): at boundary ``k`` the notes of
phrase ``k - 1`` become a progression and a render starts; the take sounds from boundary ``k + 1`` when
the render keeps up (:mod:`bridge.jam.budget`), later otherwise. A "hold" pad keeps the progression.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from bridge.jam.budget import BudgetReport
from bridge.jam.clock import BeatClock, MidiClockFollower
from bridge.jam.phrases import NoteBook, PhraseGrid
from bridge.jam.player import PhrasePlayer, Take
from bridge.engine_input import sampling as engine_sampling
from bridge.jam.renderer import PhraseRenderer, PhraseRequest, RenderedPhrase
from bridge.jam.steering import PhraseSettings
from midi.recognize import recognize

log = logging.getLogger(__name__)
WATCH_S = 0.005


@dataclass(frozen=True)
class JamStatus:
    phrase: int  # the phrase being played (its index on the grid)
    playing_take: int
    next_boundary_beat: float
    progression: tuple[str, ...]  # heard in the last finished phrase
    render_progress: float
    keeps_up: bool | None
    render_ratio: float | None


class Jam:
    def __init__(self, clock: BeatClock, grid: PhraseGrid, player: PhrasePlayer, renderer_factory: Any, *,
                 vocab: Any, settings: Callable[[], PhraseSettings], seed: int,
                 announce: Callable[[tuple[Any, ...]], None] | None = None,
                 deliver: Callable[[RenderedPhrase], float | None] | None = None) -> None:
        self.clock, self.grid, self.player = clock, grid, player
        self.notes = NoteBook(grid)
        self.vocab, self.settings, self.seed, self.announce = vocab, settings, int(seed), announce
        self.deliver = deliver  # the take to the clip folder and the device (bridge.jam.takes)
        self.preset = ""
        self.hold = False
        self.takes: dict[int, RenderedPhrase] = {}
        self.budget: BudgetReport | None = None
        self.progression: tuple[tuple[str, float], ...] = ()
        self.progress = 0.0
        self._count = 0
        self._last_k: int | None = None
        self._stop = threading.Event()
        self.renderer: PhraseRenderer = renderer_factory(self._on_take, self._on_progress)
        self._thread = threading.Thread(target=self._watch, name="jasco-jam", daemon=True)

    # --- MIDI (rtmidi's thread) ---------------------------------------------------------------------
    def on_message(self, message: list[int], now: float) -> None:
        if not message:
            return
        if isinstance(self.clock, MidiClockFollower) and message[0] >= 0xF0:
            self.clock.feed(message, now)
            return
        kind = message[0] & 0xF0
        if kind in (0x80, 0x90) and len(message) >= 3:
            beat = self.clock.beat_at(now)
            if kind == 0x90 and message[2] > 0:
                self.notes.note_on(message[1], float(message[2]), beat)
            else:
                self.notes.note_off(message[1], beat)

    def on_trigger(self, name: str) -> None:
        if name == "hold":
            self.hold = not self.hold
            log.info("jam: hold %s", "on" if self.hold else "off")

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.renderer.start()
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.renderer.close()

    def status(self) -> JamStatus:
        k = self._last_k if self._last_k is not None else 0
        b = self.budget
        return JamStatus(k, self.player.playing_take, self.grid.start(k + 1), tuple(c for c, _ in self.progression),
                         self.progress, None if b is None else b.keeps_up, None if b is None else b.ratio)

    # --- the boundary watcher -------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(WATCH_S):
            if not self.clock.running():
                continue
            k = self.grid.index(self.clock.beat_at(time.monotonic()))
            if self._last_k is None or k != self._last_k:
                previous, self._last_k = self._last_k, k
                try:
                    self._boundary(k, previous)
                except Exception:  # the jam goes on with what it has
                    log.exception("jam boundary %d failed", k)

    def _boundary(self, k: int, previous: int | None) -> None:
        bpm = self.clock.tempo()
        beat_s = 60.0 / bpm
        if previous is not None and not self.hold:
            notes = self.notes.take(k - 1)
            if notes:
                prog = recognize(notes, bpm=bpm, vocab=self.vocab, beats_per_bar=self.grid.beats_per_bar,
                                 loop_end=float(self.grid.beats))
                self.progression = tuple((c, t) for c, t in prog.seconds if c not in ("N", "UNK"))
        elif previous is None and not self.hold:
            self.notes.take(k - 1)
        self._count += 1
        settings = self.settings()
        sampling = engine_sampling(settings.params)
        if sampling["seed"] < 0:  # a random seed: one for the whole jam, so phrases differ by their chords
            sampling["seed"] = self.seed
        self.preset = str(sampling["preset"])
        req = PhraseRequest(self._count, settings.prompt, self.progression, self.grid.beats * beat_s, beat_s,
                            sampling, k, settings.drums_path, settings.params)
        log.info("jam: boundary %d at %.0f bpm; phrase %d renders with %s", k, bpm, req.number,
                 " ".join(c for c, _ in req.chords) or "no chords")
        self.progress = 0.0
        self.renderer.submit(req)
        self._announce()

    def _on_progress(self, fraction: float) -> None:
        self.progress = float(fraction)

    def _on_take(self, rendered: RenderedPhrase) -> None:
        req = rendered.request
        self.budget = BudgetReport(rendered.render_s, req.seconds)
        self.takes[req.number] = rendered
        boundary: int | None = None
        if self.deliver is not None:
            try:
                beat = self.deliver(rendered)  # the boundary the device was told: the sinks start it there too
                boundary = None if beat is None else self.grid.index(beat)
            except Exception:  # the device missing a take is never worth stopping the jam
                log.exception("delivering jam take %d failed", req.number)
        self.player.queue(Take(req.number, rendered.audio, tuple(c for c, _ in req.chords), boundary))
        level = logging.INFO if self.budget.keeps_up else logging.WARNING
        log.log(level, "jam: phrase %d ready in %.2f s (%s)", req.number, rendered.render_s,
                self.budget.advice(self.grid.bars, str(req.sampling.get("preset", ""))))
        self._announce()

    def verdict(self) -> str:
        b = self.budget
        return "not measured yet" if b is None else b.advice(self.grid.bars, self.preset)

    def osc_status(self) -> tuple[Any, ...]:
        """``/jasco/jam``'s values (bridge.protocol)."""
        st = self.status()
        keeps = -1 if st.keeps_up is None else int(st.keeps_up)
        return (st.phrase, st.playing_take, st.next_boundary_beat, " ".join(st.progression),
                float(st.render_progress), keeps, float(st.render_ratio or 0.0), self.verdict())

    def _announce(self) -> None:
        if self.announce is not None:
            try:
                self.announce(self.osc_status())
            except Exception:  # telling a controller is never worth stopping the jam
                log.exception("announcing the jam's state failed")
