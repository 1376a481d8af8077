"""Live MIDI input through a real JACK server (``jackd -d dummy``).

The controller is a python-rtmidi JACK virtual output; the bridge listens with
``midi.midi_input.LiveInput`` (JACK API). Chords played become the "midi" session's
progression, a mapped note triggers a generation whose replies go to the last
registered OSC client.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from bridge.midi_input import MidiInputBridge
from bridge.server import MIDI_SESSION, BridgeServer
from midi.vocab import ChordVocabulary
from tests.midi_ports import virtual_output

from osc_helpers import FAKE, FakeWorker, OscClient, ServeProcess

pytest.importorskip("rtmidi")

NOTE_ON, CC = 0x90, 0xB0
TRIGGER_NOTE = 36


@pytest.fixture
def controller(jack_server: str) -> Iterator[object]:
    with virtual_output("jasco-test-ctl", "controller") as out:
        yield out


@pytest.fixture
def midi_map(tmp_path: Path) -> Path:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"trigger": {"note": TRIGGER_NOTE}, "params": {"cfg_all": {"cc": 21, "min": 0, "max": 10}}}))
    return path


def wait_until(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_a_midi_note_triggers_a_generation(controller: object, midi_map: Path, tmp_path: Path, chords_pkl: Path) -> None:
    vocab = ChordVocabulary.load(chords_pkl)
    worker = FakeWorker(tmp_path)
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=0, vocab=vocab)
    server.start()
    live = MidiInputBridge(server, "controller", midi_map=midi_map, api="jack", vocab=vocab)
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            c.send("/jasco/prompt", "from the device")
            c.send("/jasco/tempo", 100.0)
            c.sync()
            for pitch in (57, 60, 64):  # A minor
                controller.send_message([NOTE_ON, pitch, 100])  # type: ignore[attr-defined]
            wait_until(lambda: [ch.label for ch in server.session(MIDI_SESSION).chords] == ["Am"])
            controller.send_message([CC, 21, 127])  # type: ignore[attr-defined]
            controller.send_message([NOTE_ON, TRIGGER_NOTE, 100])  # type: ignore[attr-defined]
            job = c.expect("/jasco/queued").args[0]
            done = c.expect("/jasco/done")
            assert done.args[0] == job and Path(done.args[1]).exists()
        req = worker.requests[-1]
        assert [ch.label for ch in req.chords] == ["Am"] and req.chords[0].start_seconds == 0.0
        assert req.prompt == "from the device" and req.bpm == 100.0 and req.tag == "midi"
        assert req.params.cfg_all == pytest.approx(10.0)
        assert live.jobs == [job]
    finally:
        live.close()
        server.stop()
        worker.stop()


def test_serve_with_midi_in(controller: object, midi_map: Path, tmp_path: Path, cli_exe: str, chords_pkl: Path) -> None:
    server = ServeProcess(cli_exe, "--model", "fake?delay=0", "--engine-factory", FAKE, "--clip-dir", str(tmp_path / "clips"),
                          "--vocab", str(chords_pkl), "--midi-in", "controller", "--midi-api", "jack",
                          "--midi-map", str(midi_map), "--reply-port", "0")
    try:
        server.wait_for("live MIDI input from", timeout=30)
        with OscClient(("127.0.0.1", server.port)) as c:
            for pitch in (60, 64, 67):
                controller.send_message([NOTE_ON, pitch, 100])  # type: ignore[attr-defined]
            # no pause: one port delivers in order, and the chord is queued before the trigger (bridge.midi_input)
            controller.send_message([NOTE_ON, TRIGGER_NOTE, 100])  # type: ignore[attr-defined]
            c.expect("/jasco/queued", timeout=10)
            done = c.expect("/jasco/done", timeout=60)
            sidecar = json.loads(Path(done.args[1]).with_suffix(".json").read_text())
            assert [ch["label"] for ch in sidecar["request"]["chords"]] == ["C"]
    finally:
        assert server.stop() == 0
