"""Live MIDI input: held notes -> the current chord, progressions recorded against MIDI clock, and
controller triggers/parameters from a mapping (:mod:`midi.controller_map`).

Ports are opened through :mod:`midi.ports` (python-rtmidi) and messages are decoded with mido; the
host's clock is followed by :class:`midi.clock.MidiClock`. Messages are read from rtmidi's queue by a
reader thread of ours (``jasco-midi-in``), never in a callback: rtmidi calls a callback from the MIDI
system's own thread (JACK's real-time process thread), which would then wait for Python's GIL; on a busy
machine that makes JACK miss its cycle and lose or garble the events of it (a lost note-off leaves a
note hanging). Everything here happens on the reader thread, so the callbacks given here (``on_chord``,
``on_trigger``, ``on_param``, ``on_progression``, ``on_message``) run there too: keep them short (put
work on a queue). An exception in a callback is logged and never stops the input.

Recording (:meth:`LiveInput.record`): with the host's MIDI clock, recording begins at the next
``Start`` or, when the clock is already running, at the next bar line, and lasts ``bars`` bars
counted in clock ticks; ``Stop`` ends it early. Without a clock (``clock="internal"``) it starts at
once and runs on ``bpm``. The notes played are then recognised (:func:`midi.recognize.recognize`)
into a :class:`Progression`.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import Any, Callable, Mapping

import mido

from core.errors import BadValue, EnvironmentProblem
from midi.clock import TICKS_PER_BEAT, MidiClock
from midi.controller_map import ControllerMapping, load_mapping
from midi.notes import Note
from midi.ports import NO_VIRTUAL_PORTS, api_ids, find_port, list_ports, open_midi_in
from midi.recognize import Progression, classify, recognize

logger = logging.getLogger(__name__)

__all__ = ["LiveInput", "ControllerMapping", "load_mapping", "list_ports"]


# --- live input -------------------------------------------------------------------------------
Callback = Callable[..., None]


class ArrivalClock:
    """When each message arrived, on the monotonic clock, from rtmidi's delta times.

    rtmidi stamps every message in the MIDI system's thread (JACK: the process cycle; ALSA: the sequencer
    event) and hands out the time since the previous one. Summed, the deltas are the arrival times on that
    clock; they are put on the monotonic clock by the smallest ``read time - summed deltas`` of the last
    ``WINDOW_S`` (a message read late only makes that difference larger; the window follows a slow drift
    between the two clocks). So a reader woken late by a busy machine does not make the notes late.
    """

    WINDOW_S = 2.0

    def __init__(self) -> None:
        self._sum = 0.0
        self._window: collections.deque[tuple[float, float]] = collections.deque()  # (read time, offset), offsets rising

    def stamp(self, delta: float, read_at: float) -> float:
        self._sum += max(0.0, delta)
        offset = read_at - self._sum
        window = self._window
        while window and window[-1][1] >= offset:
            window.pop()
        window.append((read_at, offset))
        while window[0][0] < read_at - self.WINDOW_S:
            window.popleft()
        return self._sum + window[0][1]
POLL_S = 0.001  # the reader's wait when rtmidi's queue is empty (a message is stamped at most this late)


class LiveInput:
    """Listen on a MIDI input; see the module doc. ``close()`` is idempotent; a context manager."""

    def __init__(
        self,
        port_name: str | None,
        *,
        api: str = "auto",
        mapping: "ControllerMapping | Mapping[str, Any] | str | os.PathLike[str] | None" = None,
        on_chord: Callable[[str], None] | None = None,
        on_trigger: Callable[[str], None] | None = None,
        on_param: Callable[[str, float], None] | None = None,
        on_progression: Callable[[Progression], None] | None = None,
        on_message: Callable[[list[int], float], None] | None = None,
        bpm: float = 120.0,
        beats_per_bar: int = 4,
        vocab: Any = None,
        virtual: bool = False,
        client_name: str = "jasco-bridge",
    ) -> None:
        if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not 20.0 <= float(bpm) <= 400.0:
            raise BadValue(f"bpm must be 20..400, got {bpm!r}")
        if isinstance(beats_per_bar, bool) or not isinstance(beats_per_bar, int) or not 1 <= beats_per_bar <= 32:
            raise BadValue(f"beats_per_bar must be an integer 1..32, got {beats_per_bar!r}")
        self.mapping = load_mapping(mapping)
        if vocab is None:
            from midi.vocab import ChordVocabulary

            vocab = ChordVocabulary.resolve()
        self.vocab = vocab
        self.bpm = float(bpm)
        self.beats_per_bar = beats_per_bar
        self._on_chord = on_chord
        self._on_trigger = on_trigger
        self._on_param = on_param
        self._on_progression = on_progression
        self._on_message = on_message  # every raw message and its arrival (monotonic), before it is handled
        self._lock = threading.Lock()
        self._held: dict[int, float] = {}          # pitch -> velocity (keys down)
        self._pedal_held: set[int] = set()         # released keys the pedal holds
        self._pedal = False
        self._chord: str = classify((), vocab)[0]
        self._cc: dict[int, int] = {}
        self._clock = MidiClock(self.bpm)
        # recording
        self._armed: dict[str, Any] | None = None
        self._rec: dict[str, Any] | None = None
        self._timer: threading.Timer | None = None
        self._done = threading.Event()
        self._progression: Progression | None = None
        self._closed = False
        self._midi_in: Any = None
        self._reader: threading.Thread | None = None
        self.port: str = ""
        self.api: str = ""
        self._open(port_name, api, virtual, client_name)

    # --- opening / closing ---------------------------------------------------------------
    def _open(self, port_name: str | None, api: str, virtual: bool, client_name: str) -> None:
        errors: list[str] = []
        seen: list[str] = []
        for label, api_id in api_ids(api):
            try:
                midi_in = open_midi_in(api_id, client_name)
            except EnvironmentProblem as err:
                errors.append(f"{label}: {err}")
                continue
            try:
                ports = midi_in.get_ports()
                seen.extend(ports)
                if virtual or port_name is None:
                    if label in NO_VIRTUAL_PORTS:
                        midi_in.delete()
                        errors.append(f"{label}: {NO_VIRTUAL_PORTS[label]}")
                        continue
                    name = port_name or "jasco-bridge in"
                    midi_in.open_virtual_port(name)
                    self.port = name
                else:
                    index = find_port(ports, port_name)
                    if index is None:
                        midi_in.delete()
                        continue
                    midi_in.open_port(index, "jasco-bridge in")
                    self.port = ports[index]
            except EnvironmentProblem:
                raise
            except Exception as exc:
                midi_in.delete()
                errors.append(f"{label}: {exc}")
                continue
            midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
            self._midi_in = midi_in
            self._reader = threading.Thread(target=self._read, args=(midi_in,), name="jasco-midi-in", daemon=True)
            self._reader.start()
            self.api = label
            logger.info("listening to MIDI port %r (%s)", self.port, label)
            return
        if errors and (not seen or virtual or port_name is None):
            raise EnvironmentProblem("cannot open a MIDI input: " + "; ".join(errors))
        raise BadValue(f"no MIDI input port matches {port_name!r}; available: "
                       + (", ".join(repr(p) for p in seen) or "none"))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timer, self._timer = self._timer, None
            midi_in, self._midi_in = self._midi_in, None
        if timer is not None:
            timer.cancel()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(1.0)
        if midi_in is not None:
            try:
                midi_in.close_port()
            finally:
                midi_in.delete()
        self._done.set()

    def __enter__(self) -> "LiveInput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- state ------------------------------------------------------------------------------
    @property
    def current_chord(self) -> str:
        return self._chord

    @property
    def held_notes(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(sorted(set(self._held) | self._pedal_held))

    @property
    def clock_running(self) -> bool:
        return self._clock.running

    @property
    def tempo(self) -> float:
        """The host's tempo estimated from its clock, else ``bpm``."""
        with self._lock:
            return self._tempo_locked()

    def _tempo_locked(self) -> float:
        return self._clock.tempo()

    @property
    def progression(self) -> Progression | None:
        """The last recorded progression."""
        return self._progression

    @property
    def recording(self) -> bool:
        return self._rec is not None or self._armed is not None

    # --- recording --------------------------------------------------------------------------
    def record(self, bars: int = 4, *, clock: str = "auto") -> None:
        """Arm a recording of ``bars`` bars (see the module doc). ``clock``: "auto" (MIDI clock
        when one is running or arrives, else wait for Start), "midi", or "internal" (start now)."""
        if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= 64:
            raise BadValue(f"bars must be an integer 1..64, got {bars!r}")
        if clock not in ("auto", "midi", "internal"):
            raise BadValue(f"clock must be auto, midi or internal, got {clock!r}")
        with self._lock:
            if self._closed:
                raise BadValue("this MIDI input is closed")
            self._done.clear()
            self._progression = None
            self._armed = None
            self._rec = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if clock == "internal":
                self._start_recording_locked(bars, internal=True)
                length = bars * self.beats_per_bar * 60.0 / self.bpm
                self._timer = threading.Timer(length, self._internal_end)
                self._timer.name = "jasco-midi-record"
                self._timer.daemon = True
                self._timer.start()
            else:
                self._armed = {"bars": bars, "at_bar": self._clock.running}

    def wait_recording(self, timeout: float | None = None) -> Progression | None:
        """Block until the armed recording is done; the progression, or None on timeout."""
        self._done.wait(timeout)
        return self._progression

    def stop_recording(self) -> Progression | None:
        """End a recording now (what was played so far is recognised)."""
        with self._lock:
            callbacks = self._finish_locked()
        self._fire(callbacks)
        return self._progression

    def _position_locked(self) -> float:
        rec = self._rec
        if rec is None:
            return 0.0
        if rec["internal"]:
            return (time.monotonic() - rec["t0"]) * self.bpm / 60.0
        return (self._clock.tick - rec["tick0"]) / TICKS_PER_BEAT

    def _start_recording_locked(self, bars: int, internal: bool) -> None:
        self._rec = {
            "bars": bars,
            "internal": internal,
            "t0": time.monotonic(),
            "tick0": self._clock.tick,
            "length": float(bars * self.beats_per_bar),
            "open": {p: (0.0, v) for p, v in self._held.items()},
            "notes": [],
        }
        for p in self._pedal_held:
            self._rec["open"].setdefault(p, (0.0, 100.0))
        self._armed = None

    def _internal_end(self) -> None:
        with self._lock:
            callbacks = self._finish_locked() if self._rec is not None and self._rec["internal"] else []
        self._fire(callbacks)

    def _finish_locked(self) -> list[tuple[Callback, tuple[Any, ...]]]:
        rec = self._rec
        self._armed = None
        if rec is None:
            return []
        end = min(self._position_locked(), rec["length"])
        self._rec = None
        notes: list[Note] = list(rec["notes"])
        for pitch, (start, vel) in rec["open"].items():
            if end > start:
                notes.append(Note(pitch, start, end - start, vel))
        bpm = self.bpm if rec["internal"] else self._tempo_locked()
        length = max(end, 1.0 / TICKS_PER_BEAT)
        try:
            prog = recognize(notes, bpm=bpm, vocab=self.vocab, beats_per_bar=self.beats_per_bar,
                             loop_end=length)
        except Exception:
            logger.exception("recognising the recorded notes failed")
            prog = None
        self._progression = prog
        self._done.set()
        if prog is not None and self._on_progression is not None:
            return [(self._on_progression, (prog,))]
        return []

    # --- the reader thread -----------------------------------------------------------------
    def _read(self, midi_in: Any) -> None:
        """Drain rtmidi's queue (filled in the MIDI system's thread without Python) every ``POLL_S``; each
        message is stamped with when it arrived there (:class:`ArrivalClock`), not when we read it."""
        arrivals = ArrivalClock()
        while not self._closed:
            try:
                event = midi_in.get_message()
            except Exception:  # the port went away under us (closing)
                logger.exception("reading the MIDI input failed")
                return
            if event is None:
                time.sleep(POLL_S)
            else:
                message, delta = event
                self._callback(message, arrivals.stamp(float(delta), time.monotonic()))

    def _callback(self, message: list[int], now: float) -> None:
        if self._on_message is not None:
            self._fire([(self._on_message, (list(message), now))])
        try:
            self._handle(message)
        except Exception:  # a bad message never kills the input thread
            logger.exception("MIDI message %r could not be handled", message)

    def _fire(self, callbacks: list[tuple[Callback, tuple[Any, ...]]]) -> None:
        for fn, args in callbacks:
            try:
                fn(*args)
            except Exception:
                logger.exception("MIDI callback %r failed", fn)

    def _handle(self, message: list[int]) -> None:
        if not message:
            return
        status = message[0]
        callbacks: list[tuple[Callback, tuple[Any, ...]]] = []
        with self._lock:
            if self._closed:
                return
            if status >= 0xF0:
                self._system_locked(status, message, callbacks)
            else:
                self._channel_locked(message, callbacks)
        self._fire(callbacks)

    def _system_locked(
        self, status: int, message: list[int], callbacks: list[tuple[Callback, tuple[Any, ...]]]
    ) -> None:
        event = self._clock.feed(message, time.monotonic())
        if event is None:
            return
        if event.kind == "running" and self._armed is not None:  # a clock without Start: record from here
            self._start_recording_locked(self._armed["bars"], internal=False)
        elif event.kind == "start" and self._armed is not None:
            self._start_recording_locked(self._armed["bars"], internal=False)
        elif event.kind == "tick":
            bar_ticks = TICKS_PER_BEAT * self.beats_per_bar
            if self._armed is not None and self._armed["at_bar"] and event.tick % bar_ticks == 0:
                self._start_recording_locked(self._armed["bars"], internal=False)
        elif event.kind == "stop":
            if self._rec is not None and not self._rec["internal"]:
                callbacks.extend(self._finish_locked())
            return
        rec = self._rec
        if event.kind in ("tick", "first", "running") and rec is not None and not rec["internal"] \
                and self._position_locked() >= rec["length"] - 1e-9:
            callbacks.extend(self._finish_locked())

    def _channel_locked(self, message: list[int], callbacks: list[tuple[Callback, tuple[Any, ...]]]) -> None:
        try:
            msg = mido.Message.from_bytes(message)
        except ValueError:
            logger.debug("ignoring malformed MIDI message %r", message)
            return
        m = self.mapping
        channel = getattr(msg, "channel", None)
        if m.channel is not None and channel != m.channel:
            return
        if msg.type == "note_on" and msg.velocity > 0:
            for name, binding in (("generate", m.trigger), ("record", m.record), ("hold", m.hold)):
                if binding is not None and binding.note == msg.note:
                    self._binding_fired_locked(name, callbacks)
                    return
            self._note_on_locked(msg.note, float(msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            if any(b is not None and b.note == msg.note for b in (m.trigger, m.record, m.hold)):
                return
            self._note_off_locked(msg.note)
        elif msg.type == "control_change":
            previous = self._cc.get(msg.control, 0)
            self._cc[msg.control] = msg.value
            for name, binding in (("generate", m.trigger), ("record", m.record), ("hold", m.hold)):
                if binding is not None and binding.cc == msg.control and msg.value >= binding.min > previous:
                    self._binding_fired_locked(name, callbacks)
            for pname, pb in m.params.items():
                if pb.cc == msg.control and self._on_param is not None:
                    callbacks.append((self._on_param, (pname, pb.value(msg.value))))
            if msg.control == 64 and not any(
                    b is not None and b.cc == 64 for b in (m.trigger, m.record, m.hold)) and \
                    not any(pb.cc == 64 for pb in m.params.values()):
                self._pedal_locked(msg.value >= 64)
        self._chord_changed_locked(callbacks)

    def _binding_fired_locked(self, name: str, callbacks: list[tuple[Callback, tuple[Any, ...]]]) -> None:
        if name == "record":
            self._done.clear()
            self._progression = None
            self._armed = {"bars": self.mapping.record_bars, "at_bar": self._clock.running}
        if self._on_trigger is not None:
            callbacks.append((self._on_trigger, (name,)))

    def _note_on_locked(self, pitch: int, velocity: float) -> None:
        rec = self._rec
        if rec is not None:
            pos = self._position_locked()
            if pitch in rec["open"]:  # re-struck: close the previous one
                self._close_recorded_locked(pitch, pos)
            rec["open"][pitch] = (pos, velocity)
        self._held[pitch] = velocity
        self._pedal_held.discard(pitch)

    def _note_off_locked(self, pitch: int) -> None:
        if self._held.pop(pitch, None) is None:
            return
        if self._pedal:
            self._pedal_held.add(pitch)
            return
        if self._rec is not None:
            self._close_recorded_locked(pitch, self._position_locked())

    def _pedal_locked(self, down: bool) -> None:
        self._pedal = down
        if not down:
            released = self._pedal_held
            self._pedal_held = set()
            if self._rec is not None:
                pos = self._position_locked()
                for p in released:
                    self._close_recorded_locked(p, pos)

    def _close_recorded_locked(self, pitch: int, pos: float) -> None:
        rec = self._rec
        if rec is None:
            return
        opened = rec["open"].pop(pitch, None)
        if opened is None:
            return
        start, vel = opened
        end = min(pos, rec["length"])
        if end > start:
            rec["notes"].append(Note(pitch, start, end - start, vel))

    def _chord_changed_locked(self, callbacks: list[tuple[Callback, tuple[Any, ...]]]) -> None:
        sounding = set(self._held) | self._pedal_held
        label, _fit = classify(sounding, self.vocab)
        if label != self._chord:
            self._chord = label
            if self._on_chord is not None:
                callbacks.append((self._on_chord, (label,)))
