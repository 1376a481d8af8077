"""The MIDI input on a busy machine: messages read by our own thread, not in JACK's process thread.

rtmidi calls a Python callback from JACK's real-time thread, which then waits for the GIL; with other
Python threads busy (the jam's watcher, player and sink) JACK misses its cycles and the events of them are
lost or garbled. That is what made the jam hear a note-off-less E for ever (G recognised as G6): measured
with a callback, 2100 messages sent under two busy threads arrived as 2060 with only 272 of 900 note-offs.
The reader stamps each message with rtmidi's own arrival times (ArrivalClock), so reading late is not hearing late.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from midi.midi_input import LiveInput
from midi.vocab import ChordVocabulary

# serial: JACK's real-time thread must keep up with no other test on the CPU (tests/conftest.py)
pytestmark = pytest.mark.serial


def test_every_message_arrives_intact_while_python_is_busy(jack_server: str, chords_pkl: Path) -> None:
    import rtmidi

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="host")
    out.open_virtual_port("keys")
    got: list[list[int]] = []
    live = LiveInput("keys", api="jack", vocab=ChordVocabulary.load(chords_pkl), client_name="jasco-load-test",
                     on_message=lambda m, t: got.append(m))
    stop = threading.Event()

    def busy() -> None:  # pure Python work holding the GIL, as the jam's threads do
        while not stop.is_set():
            sum(range(20000))

    hogs = [threading.Thread(target=busy, daemon=True) for _ in range(2)]
    sent: list[list[int]] = []
    try:
        for h in hogs:
            h.start()
        for _ in range(100):
            for msg in ([0x90, 57, 90], [0x90, 60, 90], [0x90, 64, 90], [0xF8],
                        [0x80, 57, 0], [0x80, 60, 0], [0x80, 64, 0]):
                out.send_message(msg)
                sent.append(msg)
            time.sleep(0.01)
        deadline = time.monotonic() + 5.0
        while len(got) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for h in hogs:
            h.join()
        live.close()
        out.close_port()
        out.delete()
    assert got == sent


def test_arrival_times_come_from_rtmidi_deltas_not_from_when_they_are_read() -> None:
    from midi.midi_input import ArrivalClock

    rng = np.random.default_rng(5)
    arrived = 100.0 + np.cumsum(rng.uniform(0.001, 0.03, 300))  # when the MIDI system got each message
    late = rng.uniform(0.0, 0.04, 300)                           # how late the reader read it
    late[3::25] = 0.0  # now and then the reader is on time (the window is 2 s)
    clock = ArrivalClock()
    stamps = [clock.stamp(0.0 if i == 0 else arrived[i] - arrived[i - 1], arrived[i] + late[i]) for i in range(300)]
    err = np.asarray(stamps) - arrived
    assert np.all(err[:3] <= late[:3] + 1e-9) and np.all(err >= -1e-9)
    assert np.abs(err[3:]).max() < 1e-9  # exact from the first message read at once
