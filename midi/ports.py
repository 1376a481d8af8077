"""MIDI ports through python-rtmidi: which backends to try, finding a port by name, listing and opening inputs.

``api="auto"`` tries ALSA then JACK on Linux, CoreMIDI then JACK on macOS, Windows MM on Windows
(``AUTO_APIS``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from core.errors import BadValue, EnvironmentProblem

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


def api_ids(api: str) -> list[tuple[str, int]]:
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


QUEUE_SIZE = 4096  # messages rtmidi keeps for the reader: over 30 s of MIDI clock at 300 bpm


def open_midi_in(api_id: int, client_name: str) -> Any:
    import rtmidi

    try:
        return rtmidi.MidiIn(api_id, name=client_name, queue_size_limit=QUEUE_SIZE)
    except Exception as exc:  # rtmidi.SystemError & co: no server / no sequencer device
        raise EnvironmentProblem(f"cannot open the MIDI system ({exc}); for JACK start a JACK server, "
                                 "for ALSA check /dev/snd/seq, on macOS check Audio MIDI Setup, on Windows "
                                 "close programs that hold the MIDI device exclusively") from exc


def list_ports(api: str = "auto") -> list[str]:
    """Names of the MIDI sources (controllers, host outputs) LiveInput can listen to."""
    names: list[str] = []
    errors: list[str] = []
    for _label, api_id in api_ids(api):
        try:
            midi_in = open_midi_in(api_id, "jasco-bridge-list")
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
