"""Live MIDI input: held notes -> the current chord, progressions recorded against MIDI
clock, and controller triggers/parameters from a small mapping file.

Ports are opened with python-rtmidi (``api="auto"``: ALSA then JACK on Linux, CoreMIDI then
JACK on macOS, Windows MM on Windows; see ``AUTO_APIS``)
and messages are decoded with mido. Everything happens on rtmidi's callback thread, so
the callbacks given here (``on_chord``, ``on_trigger``, ``on_param``, ``on_progression``)
run there too: keep them short (put work on a queue). An exception in a callback is
logged and never stops the input.

Recording (:meth:`LiveInput.record`): with the host's MIDI clock (24 ticks per quarter
note, ``Start`` 0xFA / ``Continue`` 0xFB / ``Stop`` 0xFC / ``Song Position``), recording
begins at the next ``Start`` or, when the clock is already running, at the next bar
line, and lasts ``bars`` bars counted in clock ticks; ``Stop`` ends it early. Without a
clock (``clock="internal"``) it starts at once and runs on ``bpm``. The notes played are
then recognised (:func:`midi.recognize.recognize`) into a :class:`Progression`.

Mapping file (JSON), validated into a frozen :class:`ControllerMapping`::

    {
      "channel": 1,                                  # optional: only this channel (1-16)
      "trigger": {"note": 36},                       # starts a generation  -> on_trigger("generate")
      "record":  {"cc": 20, "min": 64, "bars": 4},   # arms a recording     -> on_trigger("record")
      "params":  {"cfg_all": {"cc": 21, "min": 0, "max": 10}}   # -> on_param("cfg_all", value)
    }

A note binding fires on note-on; a CC binding fires when the value rises to ``min`` or
above (default 64). A note used as a binding is not part of the chord. Parameter CCs map
0..127 linearly onto ``min..max``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import mido

from core.errors import BadConfig, BadValue, EnvironmentProblem
from midi.notes import Note
from midi.recognize import Progression, classify, recognize

logger = logging.getLogger(__name__)

TICKS_PER_BEAT = 24
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
MAX_MAPPING_BYTES = 64 * 1024
APIS = ("auto", "jack", "alsa", "coremidi", "winmm")
# Our name for each backend -> python-rtmidi's constant.
RTMIDI_API_NAMES = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
                    "winmm": "API_WINDOWS_MM"}
# What "auto" tries, in order, on each system (python-rtmidi's wheels: ALSA+JACK on Linux,
# CoreMIDI(+JACK) on macOS, Windows MM on Windows).
AUTO_APIS = {"linux": ("alsa", "jack"), "darwin": ("coremidi", "jack"), "windows": ("winmm",)}
# Windows MM cannot create virtual ports ("MidiInWinMM::openVirtualPort: cannot be implemented in
# Windows MM MIDI API!", https://github.com/thestk/rtmidi/issues/332): a loopback driver is needed.
NO_VIRTUAL_PORTS = {"winmm": "Windows MM has no virtual MIDI ports: create one with a loopback driver "
                             "(e.g. loopMIDI) and pass its name to --midi-in"}


# --- the mapping file -----------------------------------------------------------------------
@dataclass(frozen=True)
class Binding:
    """A note (fires on note-on) or a CC (fires when it rises to ``min`` or above)."""

    note: int | None = None
    cc: int | None = None
    min: int = 64

    def __post_init__(self) -> None:
        if (self.note is None) == (self.cc is None):
            raise BadConfig("a binding needs exactly one of 'note' or 'cc'")
        for name in ("note", "cc", "min"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127):
                raise BadConfig(f"binding '{name}' must be an integer 0..127, got {value!r}")


@dataclass(frozen=True)
class ParamBinding:
    """A CC whose 0..127 maps linearly onto ``min..max``."""

    cc: int
    min: float = 0.0
    max: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.cc, bool) or not isinstance(self.cc, int) or not 0 <= self.cc <= 127:
            raise BadConfig(f"param 'cc' must be an integer 0..127, got {self.cc!r}")
        for name in ("min", "max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise BadConfig(f"param '{name}' must be a finite number, got {value!r}")

    def value(self, cc_value: int) -> float:
        return float(self.min) + (float(self.max) - float(self.min)) * cc_value / 127.0


@dataclass(frozen=True)
class ControllerMapping:
    trigger: Binding | None = None
    record: Binding | None = None
    record_bars: int = 4
    params: Mapping[str, ParamBinding] = field(default_factory=dict)
    channel: int | None = None          # 0..15 internally; None = every channel

    @classmethod
    def from_obj(cls, obj: object, source: str = "<mapping>") -> "ControllerMapping":
        if not isinstance(obj, dict):
            raise BadConfig(f"{source}: the MIDI mapping must be a JSON object")
        unknown = set(obj) - {"trigger", "record", "params", "channel"}
        if unknown:
            raise BadConfig(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                            "(allowed: trigger, record, params, channel)")

        def binding(key: str, extra: tuple[str, ...] = ()) -> Binding | None:
            raw = obj.get(key)
            if raw is None:
                return None
            if not isinstance(raw, dict):
                raise BadConfig(f"{source}: '{key}' must be an object like {{\"note\": 36}} or {{\"cc\": 64}}")
            bad = set(raw) - {"note", "cc", "min", *extra}
            if bad:
                raise BadConfig(f"{source}: '{key}' has unknown key(s) {', '.join(sorted(map(str, bad)))}")
            try:
                return Binding(note=raw.get("note"), cc=raw.get("cc"), min=raw.get("min", 64))
            except BadConfig as err:
                raise BadConfig(f"{source}: '{key}': {err}") from None

        trigger = binding("trigger")
        record = binding("record", ("bars",))
        bars = (obj.get("record") or {}).get("bars", 4) if isinstance(obj.get("record"), dict) else 4
        if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= 64:
            raise BadConfig(f"{source}: 'record.bars' must be an integer 1..64, got {bars!r}")
        params_raw = obj.get("params", {})
        if not isinstance(params_raw, dict):
            raise BadConfig(f"{source}: 'params' must be an object of name -> {{\"cc\", \"min\", \"max\"}}")
        params: dict[str, ParamBinding] = {}
        for name, raw in params_raw.items():
            if not isinstance(raw, dict) or "cc" not in raw:
                raise BadConfig(f"{source}: param {name!r} must be an object with a 'cc'")
            bad = set(raw) - {"cc", "min", "max"}
            if bad:
                raise BadConfig(f"{source}: param {name!r} has unknown key(s) {', '.join(sorted(map(str, bad)))}")
            try:
                params[str(name)] = ParamBinding(cc=raw["cc"], min=raw.get("min", 0.0), max=raw.get("max", 1.0))
            except BadConfig as err:
                raise BadConfig(f"{source}: param {name!r}: {err}") from None
        channel = obj.get("channel")
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int)
                                    or not 1 <= channel <= 16):
            raise BadConfig(f"{source}: 'channel' must be 1..16 or null, got {channel!r}")
        # one control, one meaning: a note or CC bound twice would silently lose a binding
        owners: dict[tuple[str, int], str] = {}
        controls = [("trigger", trigger), ("record", record)]
        controls += [(f"params.{name}", Binding(cc=pb.cc)) for name, pb in params.items()]
        for key, b in controls:
            if b is None:
                continue
            control = ("note", b.note) if b.note is not None else ("cc", int(b.cc or 0))
            if control in owners:
                raise BadConfig(f"{source}: '{key}' uses {control[0]} {control[1]}, "
                                f"already bound to '{owners[control]}'")
            owners[control] = key
        return cls(trigger, record, bars, params, None if channel is None else channel - 1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ControllerMapping":
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise BadConfig(f"cannot read MIDI mapping {p}: {exc.strerror or exc}") from exc
        if len(data) > MAX_MAPPING_BYTES:
            raise BadConfig(f"MIDI mapping {p} is too large ({len(data)} bytes)")
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadConfig(f"MIDI mapping {p} is not valid JSON ({exc})") from exc
        return cls.from_obj(obj, str(p))


def load_mapping(mapping: "ControllerMapping | Mapping[str, Any] | str | os.PathLike[str] | None") -> ControllerMapping:
    if mapping is None:
        return ControllerMapping()
    if isinstance(mapping, ControllerMapping):
        return mapping
    if isinstance(mapping, dict):
        return ControllerMapping.from_obj(mapping)
    if isinstance(mapping, (str, os.PathLike)):
        return ControllerMapping.load(mapping)
    raise BadConfig(f"a MIDI mapping must be a path, a dict or a ControllerMapping, got {type(mapping).__name__}")


# --- ports -------------------------------------------------------------------------------------
def choose_apis(api: str, compiled: Sequence[str], system: str) -> list[str]:
    """The backends to try, in order, for ``api`` on ``system`` among the ``compiled`` ones (our names)."""
    if api not in APIS:
        raise BadValue(f"MIDI api must be one of {', '.join(APIS)}, got {api!r}")
    wanted = AUTO_APIS.get(system, AUTO_APIS["linux"]) if api == "auto" else (api,)
    out = [name for name in wanted if name in compiled]
    if not out:
        have = ", ".join(compiled) or "none"
        raise EnvironmentProblem(f"python-rtmidi was built without the {api} MIDI API on this system "
                                 f"(it has: {have})")
    return out


def compiled_apis() -> list[str]:
    """The backends this python-rtmidi was built with (our names)."""
    import rtmidi

    ids = {getattr(rtmidi, const): name for name, const in RTMIDI_API_NAMES.items() if hasattr(rtmidi, const)}
    return [ids[a] for a in rtmidi.get_compiled_api() if a in ids]


def _api_ids(api: str) -> list[tuple[str, int]]:
    import rtmidi

    from core.defaults import system_name

    return [(name, getattr(rtmidi, RTMIDI_API_NAMES[name]))
            for name in choose_apis(api, compiled_apis(), system_name())]


_PORT_SUFFIXES = (re.compile(r" \d+:\d+$"),  # ALSA: "client:port" numbers, "Midi Through Port-0 14:0"
                  re.compile(r" \d+$"))  # Windows MM: RtMidi appends the port index, "loopMIDI Port 1"


def find_port(ports: Sequence[str], wanted: str) -> int | None:
    """The index of the port named ``wanted``: the exact name; else the name without the numbers the
    backend appends (ALSA's ``14:0``, Windows MM's index), ignoring case; else a case-insensitive part."""
    if wanted in ports:
        return ports.index(wanted)
    key = wanted.strip().lower()

    def bare(name: str) -> str:
        for suffix in _PORT_SUFFIXES:
            name = suffix.sub("", name)
        return name.strip().lower()

    for candidates in ([i for i, p in enumerate(ports) if bare(p) == key or p.lower() == key],
                       [i for i, p in enumerate(ports) if key and key in p.lower()]):
        if candidates:
            return candidates[0]
    return None


def _open_midi_in(api_id: int, client_name: str) -> Any:
    import rtmidi

    try:
        return rtmidi.MidiIn(api_id, name=client_name)
    except Exception as exc:  # rtmidi.SystemError & co: no server / no sequencer device
        raise EnvironmentProblem(f"cannot open the MIDI system ({exc}); for JACK start a JACK server, "
                                 "for ALSA check /dev/snd/seq, on macOS check Audio MIDI Setup, on Windows "
                                 "close programs that hold the MIDI device exclusively") from exc


def list_ports(api: str = "auto") -> list[str]:
    """Names of the MIDI sources (controllers, host outputs) LiveInput can listen to."""
    names: list[str] = []
    errors: list[str] = []
    for _label, api_id in _api_ids(api):
        try:
            midi_in = _open_midi_in(api_id, "jasco-bridge-list")
        except EnvironmentProblem as err:
            errors.append(str(err))
            continue
        try:
            names.extend(midi_in.get_ports())
        finally:
            midi_in.delete()
    if not names and errors and api != "auto":
        raise EnvironmentProblem(errors[0])
    return names


# --- live input -------------------------------------------------------------------------------
Callback = Callable[..., None]


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
        self._lock = threading.Lock()
        self._held: dict[int, float] = {}          # pitch -> velocity (keys down)
        self._pedal_held: set[int] = set()         # released keys the pedal holds
        self._pedal = False
        self._chord: str = classify((), vocab)[0]
        self._cc: dict[int, int] = {}
        # clock
        self._tick = 0
        self._running = False
        self._skip_tick = False                    # the first clock after Start is beat 0
        self._tick_times: list[float] = []
        # recording
        self._armed: dict[str, Any] | None = None
        self._rec: dict[str, Any] | None = None
        self._timer: threading.Timer | None = None
        self._done = threading.Event()
        self._progression: Progression | None = None
        self._closed = False
        self._midi_in: Any = None
        self.port: str = ""
        self.api: str = ""
        self._open(port_name, api, virtual, client_name)

    # --- opening / closing ---------------------------------------------------------------
    def _open(self, port_name: str | None, api: str, virtual: bool, client_name: str) -> None:
        errors: list[str] = []
        seen: list[str] = []
        for label, api_id in _api_ids(api):
            try:
                midi_in = _open_midi_in(api_id, client_name)
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
            midi_in.set_callback(self._callback)
            self._midi_in = midi_in
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
        if midi_in is not None:
            try:
                midi_in.cancel_callback()
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
        return self._running

    @property
    def tempo(self) -> float:
        """The host's tempo estimated from its clock, else ``bpm``."""
        with self._lock:
            return self._tempo_locked()

    def _tempo_locked(self) -> float:
        times = self._tick_times
        if len(times) >= 7:
            span = times[-1] - times[0]
            if span > 0:
                est = 60.0 * (len(times) - 1) / (TICKS_PER_BEAT * span)
                if 20.0 <= est <= 400.0:
                    return est
        return self.bpm

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
                self._armed = {"bars": bars, "at_bar": self._running}

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
        return (self._tick - rec["tick0"]) / TICKS_PER_BEAT

    def _start_recording_locked(self, bars: int, internal: bool) -> None:
        self._rec = {
            "bars": bars,
            "internal": internal,
            "t0": time.monotonic(),
            "tick0": self._tick,
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

    # --- the rtmidi thread ------------------------------------------------------------------
    def _callback(self, event: tuple[list[int], float], data: object = None) -> None:
        message, _delta = event
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
        if status == CLOCK:
            now = time.monotonic()
            self._tick_times.append(now)
            if len(self._tick_times) > 2 * TICKS_PER_BEAT:
                del self._tick_times[0]
            if not self._running:
                # a clock without Start: running from here on
                self._running = True
                if self._armed is not None:
                    self._start_recording_locked(self._armed["bars"], internal=False)
            elif self._skip_tick:
                self._skip_tick = False
            else:
                self._tick += 1
                bar_ticks = TICKS_PER_BEAT * self.beats_per_bar
                if self._armed is not None and self._armed["at_bar"] and self._tick % bar_ticks == 0:
                    self._start_recording_locked(self._armed["bars"], internal=False)
            rec = self._rec
            if rec is not None and not rec["internal"] and self._position_locked() >= rec["length"] - 1e-9:
                callbacks.extend(self._finish_locked())
        elif status == START:
            self._running = True
            self._skip_tick = True
            self._tick = 0
            self._tick_times.clear()
            if self._armed is not None:
                self._start_recording_locked(self._armed["bars"], internal=False)
        elif status == CONTINUE:
            self._running = True
        elif status == STOP:
            self._running = False
            if self._rec is not None and not self._rec["internal"]:
                callbacks.extend(self._finish_locked())
        elif status == SONG_POSITION and len(message) >= 3:
            self._tick = (message[1] | (message[2] << 7)) * 6

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
            for name, binding in (("generate", m.trigger), ("record", m.record)):
                if binding is not None and binding.note == msg.note:
                    self._binding_fired_locked(name, callbacks)
                    return
            self._note_on_locked(msg.note, float(msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            if any(b is not None and b.note == msg.note for b in (m.trigger, m.record)):
                return
            self._note_off_locked(msg.note)
        elif msg.type == "control_change":
            previous = self._cc.get(msg.control, 0)
            self._cc[msg.control] = msg.value
            for name, binding in (("generate", m.trigger), ("record", m.record)):
                if binding is not None and binding.cc == msg.control and msg.value >= binding.min > previous:
                    self._binding_fired_locked(name, callbacks)
            for pname, pb in m.params.items():
                if pb.cc == msg.control and self._on_param is not None:
                    callbacks.append((self._on_param, (pname, pb.value(msg.value))))
            if msg.control == 64 and not any(
                    b is not None and b.cc == 64 for b in (m.trigger, m.record)) and \
                    not any(pb.cc == 64 for pb in m.params.values()):
                self._pedal_locked(msg.value >= 64)
        self._chord_changed_locked(callbacks)

    def _binding_fired_locked(self, name: str, callbacks: list[tuple[Callback, tuple[Any, ...]]]) -> None:
        if name == "record":
            self._done.clear()
            self._progression = None
            self._armed = {"bars": self.mapping.record_bars, "at_bar": self._running}
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
