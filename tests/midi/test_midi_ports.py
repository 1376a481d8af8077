"""Which MIDI backend is used on which system, and finding a port by the name a person types,
with the port names each backend really produces (ALSA "client:port" numbers, Windows MM's
appended index, CoreMIDI's plain names)."""

from __future__ import annotations

import pytest

from core.errors import BadValue, EnvironmentProblem
from midi.ports import APIS, AUTO_APIS, NO_VIRTUAL_PORTS, choose_apis, compiled_apis, find_port

LINUX_WHEEL = ["alsa", "jack"]
MAC_WHEEL = ["coremidi", "jack"]
WINDOWS_WHEEL = ["winmm"]


def test_auto_picks_each_systems_own_backend_first() -> None:
    assert choose_apis("auto", LINUX_WHEEL, "linux") == ["alsa", "jack"]
    assert choose_apis("auto", MAC_WHEEL, "darwin") == ["coremidi", "jack"]
    assert choose_apis("auto", ["coremidi"], "darwin") == ["coremidi"]  # a wheel without JACK
    assert choose_apis("auto", WINDOWS_WHEEL, "windows") == ["winmm"]


def test_an_explicit_backend_must_be_compiled_in() -> None:
    assert choose_apis("jack", MAC_WHEEL, "darwin") == ["jack"]
    assert choose_apis("coremidi", MAC_WHEEL, "darwin") == ["coremidi"]
    with pytest.raises(EnvironmentProblem, match="without the alsa MIDI API.*it has: winmm"):
        choose_apis("alsa", WINDOWS_WHEEL, "windows")
    with pytest.raises(EnvironmentProblem, match="without the auto MIDI API"):
        choose_apis("auto", [], "linux")
    with pytest.raises(BadValue, match="must be one of"):
        choose_apis("directsound", WINDOWS_WHEEL, "windows")
    assert set(APIS) == {"auto", *{a for apis in AUTO_APIS.values() for a in apis}}


def test_this_machines_rtmidi_names_map_to_ours() -> None:
    pytest.importorskip("rtmidi")
    have = compiled_apis()
    assert have and set(have) <= set(APIS) - {"auto"}
    assert choose_apis("auto", have, "linux")


def test_windows_mm_cannot_make_virtual_ports() -> None:
    """rtmidi: "MidiInWinMM::openVirtualPort: cannot be implemented in Windows MM MIDI API!"
    (https://github.com/thestk/rtmidi/issues/332); loopMIDI-style drivers are the way."""
    assert "loopMIDI" in NO_VIRTUAL_PORTS["winmm"] and "--midi-in" in NO_VIRTUAL_PORTS["winmm"]
    assert "coremidi" not in NO_VIRTUAL_PORTS and "alsa" not in NO_VIRTUAL_PORTS


@pytest.mark.parametrize("ports,typed,index", [
    # ALSA appends "client:port"
    (["Midi Through:Midi Through Port-0 14:0", "Launchkey Mini:Launchkey Mini MIDI 1 20:0"], "launchkey mini", 1),
    (["Midi Through:Midi Through Port-0 14:0"], "Midi Through:Midi Through Port-0 14:0", 0),
    # Windows MM: RtMidi appends the port index to make names unique
    (["Microsoft GS Wavetable Synth 0", "loopMIDI Port 1", "loopMIDI Port 2"], "loopMIDI Port", 1),
    (["loopMIDI Port 1", "loopMIDI Port 2"], "loopmidi port 2", 1),
    # CoreMIDI: plain names
    (["IAC Driver Bus 1", "Arturia KeyStep 37"], "keystep", 1),
    (["IAC Driver Bus 1", "IAC Driver Bus 2"], "IAC Driver Bus 2", 1),
    (["IAC Driver Bus 1"], "nanoKONTROL", None),
])
def test_find_port(ports: list[str], typed: str, index: int | None) -> None:
    assert find_port(ports, typed) == index
