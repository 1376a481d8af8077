"""Live MIDI input against a real JACK server (``jackd -d dummy``) and a virtual controller port."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.errors import BadConfig, BadValue
from midi.midi_input import ControllerMapping, LiveInput, list_ports, load_mapping
from midi.vocab import ChordVocabulary
from tests.midi_ports import virtual_output

CLOCK, START, STOP = 0xF8, 0xFA, 0xFC


@pytest.fixture
def controller(jack_server: str) -> Iterator[Any]:
    with virtual_output("controller", "keys") as out:
        yield out


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chords: list[str] = []
        self.triggers: list[str] = []
        self.params: list[tuple[str, float]] = []
        self.progressions: list[Any] = []
        self.threads: set[str] = set()

    def chord(self, label: str) -> None:
        with self.lock:
            self.chords.append(label)
            self.threads.add(threading.current_thread().name)

    def trigger(self, name: str) -> None:
        with self.lock:
            self.triggers.append(name)

    def param(self, name: str, value: float) -> None:
        with self.lock:
            self.params.append((name, value))

    def progression(self, prog: Any) -> None:
        with self.lock:
            self.progressions.append(prog)


def _wait(cond: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


MAPPING = {"trigger": {"note": 36}, "record": {"cc": 20, "min": 64, "bars": 1},
           "params": {"cfg_all": {"cc": 21, "min": 0, "max": 10}}}


def test_live_chords_clock_recording_and_triggers(controller: Any, vocab: ChordVocabulary) -> None:
    rec = Recorder()
    assert any("keys" in p for p in list_ports("jack"))
    with LiveInput("keys", api="jack", mapping=MAPPING, vocab=vocab, on_chord=rec.chord,
                   on_trigger=rec.trigger, on_param=rec.param, on_progression=rec.progression,
                   client_name="jasco-live-test") as live:
        assert live.api == "jack" and "keys" in live.port
        # held notes -> the current chord
        for p in (48, 52, 55):
            controller.send_message([0x90, p, 100])
        assert _wait(lambda: live.current_chord == "C"), rec.chords
        controller.send_message([0x90, 58, 100])
        assert _wait(lambda: live.current_chord == "C7")
        for p in (48, 52, 55, 58):
            controller.send_message([0x80, p, 0])
        assert _wait(lambda: live.current_chord == "N")
        # trigger note and a parameter CC; the trigger note is no part of a chord
        controller.send_message([0x90, 36, 100])
        controller.send_message([0xB0, 21, 127])
        controller.send_message([0xB0, 21, 0])
        controller.send_message([0x80, 36, 0])
        assert _wait(lambda: rec.triggers == ["generate"] and len(rec.params) == 2), (rec.triggers, rec.params)
        assert rec.params == [("cfg_all", 10.0), ("cfg_all", 0.0)]
        assert live.current_chord == "N"

        # record 2 bars against MIDI clock: C | Am (beat 2) | F (beat 4) | G7 (beat 6)
        live.record(bars=2)
        plan = {0: [48, 52, 55], 48: [45, 48, 52], 96: [41, 45, 48], 144: [43, 47, 50, 53]}
        sounding: list[int] = []
        controller.send_message([START])
        for tick in range(2 * 96 + 1):
            controller.send_message([CLOCK])
            if tick in plan:
                for p in sounding:
                    controller.send_message([0x80, p, 0])
                sounding = plan[tick]
                for p in sounding:
                    controller.send_message([0x90, p, 90])
            time.sleep(0.002)
        prog = live.wait_recording(timeout=10)
        assert prog is not None, "the recording did not finish"
        assert prog.beats == (("C", 0.0), ("Am", 2.0), ("F", 4.0), ("G7", 6.0))
        assert [s for _, s in prog.seconds] == sorted(s for _, s in prog.seconds)
        assert _wait(lambda: len(rec.progressions) == 1)
        assert rec.progressions[0] is prog and live.progression is prog
        controller.send_message([STOP])
        for p in sounding:
            controller.send_message([0x80, p, 0])
        assert _wait(lambda: live.current_chord == "N")
        # the chords seen live, in order, and callbacks ran off the main thread
        seen = [c for i, c in enumerate(rec.chords) if i == 0 or rec.chords[i - 1] != c]
        for label in ("C", "C7", "Am", "F", "G7"):
            assert label in seen
        assert seen.index("C7") < seen.index("Am") < seen.index("F") < seen.index("G7")
        assert threading.current_thread().name not in rec.threads

        # the mapped "record" CC arms a one-bar recording; Stop ends it early
        controller.send_message([0xB0, 20, 127])
        assert _wait(lambda: rec.triggers == ["generate", "record"])
        assert live.recording
        controller.send_message([START])
        controller.send_message([CLOCK])
        for p in (50, 53, 57):
            controller.send_message([0x90, p, 90])
        for _ in range(48):
            controller.send_message([CLOCK])
            time.sleep(0.002)
        controller.send_message([STOP])
        prog = live.wait_recording(timeout=10)
        assert prog is not None and prog.labels == ("Dm",) and prog.duration_beats == 2.0
    live.close()  # idempotent


@pytest.mark.serial  # a chord held for a measured second against the internal clock: alone on the CPU
def test_internal_clock_recording(controller: Any, vocab: ChordVocabulary) -> None:
    assert any("keys" in p for p in list_ports("auto"))  # ALSA may be absent: auto falls back to JACK
    with LiveInput("keys", api="auto", vocab=vocab, bpm=120.0, client_name="jasco-live-test2") as live:
        live.record(bars=1, clock="internal")  # 4 beats at 120 bpm = 2 s
        started = time.monotonic()
        for p in (48, 52, 55):
            controller.send_message([0x90, p, 90])
        time.sleep(1.0)  # hold C for about two beats; the change's beat is checked against the measured time
        changed = time.monotonic()
        for p in (48, 52, 55):
            controller.send_message([0x80, p, 0])
        for p in (45, 48, 52):
            controller.send_message([0x90, p, 90])
        prog = live.wait_recording(timeout=10)
        assert prog is not None
        assert prog.labels == ("C", "Am"), prog.beats
        assert abs(prog.beats[1][1] - (changed - started) * 120.0 / 60.0) <= 1.0, (prog.beats, changed - started)


def test_no_such_port(jack_server: str, vocab: ChordVocabulary) -> None:
    with pytest.raises(BadValue, match="no MIDI input port matches"):
        LiveInput("no-such-port-xyz", api="jack", vocab=vocab)


@pytest.mark.parametrize("bad,names", [
    ({"trigger": {"note": 128}}, "'trigger': binding 'note'"),
    ({"trigger": {"note": 36, "cc": 1}}, "'trigger'"),
    ({"trigger": {}}, "'trigger'"),
    ({"trigger": 36}, "'trigger'"),
    ({"trigger": {"cc": 64, "min": 200}}, "'trigger': binding 'min'"),
    ({"params": {"x": {"min": 0}}}, "param 'x'"),
    ({"params": {"x": {"cc": "21"}}}, "param 'x': param 'cc'"),
    ({"params": {"x": {"cc": 21, "max": "lots"}}}, "param 'x': param 'max'"),
    ({"params": []}, "'params'"),
    ({"channel": 17}, "'channel'"),
    ({"tempo": 1}, "tempo"),
    ({"record": {"note": 37, "bars": 0}}, "'record.bars'"),
    ({"trigger": {"note": 36, "velocity": 3}}, "velocity"),
    ({"trigger": {"note": 36}, "record": {"note": 36}}, "'record' uses note 36, already bound to 'trigger'"),
    ({"record": {"cc": 20}, "params": {"cfg": {"cc": 20}}}, "'params.cfg' uses cc 20, already bound to 'record'"),
    ([], "list"),
])
def test_mapping_errors_name_the_key(bad: object, names: str) -> None:
    with pytest.raises(BadConfig) as err:
        load_mapping(bad)  # type: ignore[arg-type]
    assert names in str(err.value) and err.value.code == "bad_config"


def test_mapping_validation(tmp_path: Path) -> None:
    m = load_mapping(MAPPING)
    assert m.trigger is not None and m.trigger.note == 36
    assert m.record is not None and m.record.cc == 20 and m.record_bars == 1
    assert m.params["cfg_all"].value(127) == 10.0 and m.params["cfg_all"].value(0) == 0.0
    path = tmp_path / "map.json"
    path.write_text(json.dumps({**MAPPING, "channel": 2}))
    assert ControllerMapping.load(path).channel == 1
    path.write_text("{nope")
    with pytest.raises(BadConfig, match="not valid JSON"):
        ControllerMapping.load(path)
    with pytest.raises(BadConfig, match="cannot read"):
        ControllerMapping.load(tmp_path / "missing.json")
