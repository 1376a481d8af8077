"""``--midi-in``: MIDI input (a controller) drives the server through ``midi.midi_input.LiveInput``.

Chords played on the controller become the progression of the "midi" session
(a held chord is a one-chord progression; a recording armed by the mapping's
``record`` binding replaces it with the recognised progression; the latest
wins). A mapped note or CC (``trigger``) generates: prompt, tempo, drums and
settings come from the last OSC client that sent ``/jasco/hello`` (or the
defaults), the chords from the controller, and the replies go to that client
(and the log). Parameter CCs (``params``) override that client's settings for
live renders. The tempo is the host's MIDI clock when it runs.

``LiveInput`` calls back on rtmidi's thread; the work (building the request,
submitting it) happens on the thread ``jasco-midi`` so MIDI input never waits.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Any

from bridge import protocol
from core.errors import JascoError
from bridge.server import MIDI_SESSION, BridgeServer
from bridge.session import TypedChord

log = logging.getLogger(__name__)


class MidiInputBridge:
    """Owns a ``LiveInput`` and the thread that turns its events into jobs."""

    def __init__(
        self,
        server: BridgeServer,
        port: str,
        *,
        midi_map: str | os.PathLike[str] | None = None,
        api: str | None = None,
        vocab: Any = None,
        virtual: bool = False,
    ) -> None:
        from midi.midi_input import LiveInput

        self.server = server
        self.jobs: list[str] = []
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=256)
        self._overrides: dict[str, Any] = {}
        self._lock = threading.Lock()
        vocab = vocab if vocab is not None else server.chord_vocab()
        self.input = LiveInput(
            port,
            api=api or "auto",
            mapping=midi_map,
            on_chord=self._on_chord,
            on_trigger=self._on_trigger,
            on_param=self._on_param,
            on_progression=self._on_progression,
            vocab=vocab,
            virtual=virtual,
        )
        self._thread = threading.Thread(target=self._run, name="jasco-midi", daemon=True)
        self._thread.start()

    @property
    def port_name(self) -> str:
        return f"{self.input.port} ({self.input.api})"

    def close(self) -> None:
        self.input.close()
        self._put(("stop", None))
        self._thread.join(5.0)

    # --- rtmidi thread: only enqueue ----------------------------------------------------------
    def _put(self, event: tuple[str, Any]) -> None:
        try:
            self._events.put_nowait(event)
        except queue.Full:
            log.warning("live MIDI: dropping %s (too many events waiting)", event[0])

    def _on_chord(self, label: str) -> None:
        if label not in ("N", "UNK") and not self.input.recording:
            self._put(("chord", label))

    def _on_progression(self, progression: Any) -> None:
        self._put(("progression", progression))

    def _on_trigger(self, name: str) -> None:
        self._put(("trigger", name))

    def _on_param(self, name: str, value: float) -> None:
        self._put(("param", (name, value)))

    # --- jasco-midi thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            kind, value = self._events.get()
            if kind == "stop":
                return
            try:
                self._handle(kind, value)
            except JascoError as err:
                log.warning("live MIDI %s: [%s] %s", kind, err.code, err)
                target = self.server.last_client
                if target is not None:
                    self.server.send_error(target, err)
            except Exception:  # never let one event stop live input
                log.exception("live MIDI %s failed", kind)

    def _handle(self, kind: str, value: Any) -> None:
        session = self.server.session(MIDI_SESSION)
        if kind == "chord":
            session.chords = (TypedChord(value, value, 0.0, True, "played live"),)
            log.info("live MIDI chord: %s", value)
        elif kind == "progression":
            mappings = list(getattr(value, "mappings", ()) or ())
            chords = []
            for k, (label, beat) in enumerate(value.beats):
                m = mappings[k] if k < len(mappings) else None
                chords.append(TypedChord(str(getattr(m, "input", label)), str(label), float(beat),
                                         bool(getattr(m, "exact", True)), "recorded live"))
            if chords:
                session.chords = tuple(chords)
            log.info("live MIDI progression: %s", " ".join(f"{c.label}@{c.start_beat:g}" for c in chords))
        elif kind == "param":
            name, number = value
            converted = protocol.convert_setting(name, number)
            with self._lock:
                self._overrides[name] = converted
        elif kind == "trigger" and value == "generate":
            self.generate()
        elif kind == "trigger":
            log.info("live MIDI: %s armed", value)

    def generate(self) -> str:
        """Submit the "midi" session (on top of the last OSC client's state)."""
        base = self.server.last_client
        session = self.server.session(MIDI_SESSION)
        if not session.chords:
            log.info("live MIDI: no chord played yet; generating without chords")
        with self._lock:
            overrides = dict(self._overrides)
        clock = self.input.tempo if self.input.clock_running else None

        def adjust(s: Any) -> None:
            for name, val in overrides.items():
                s.set_setting(name, val)
            if clock is not None:
                s.set_tempo(clock)

        job = self.server.generate(MIDI_SESSION, lambda: self.server.last_client, tag="midi", base=base,
                                   adjust=adjust)
        self.jobs.append(job)
        log.info("live MIDI: job %s (replies to %s)", job, "%s:%d" % base if base else "the log only")
        return job


def start_live_input(
    server: BridgeServer,
    port: str,
    *,
    midi_map: str | os.PathLike[str] | None = None,
    api: str | None = None,
    vocab: Any = None,
) -> MidiInputBridge:
    return MidiInputBridge(server, port, midi_map=midi_map, api=api, vocab=vocab)
