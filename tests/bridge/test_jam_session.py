"""The jam's phrase logic without the engine: an internal clock, notes played into ``Jam.on_message`` at real
times, the hold pad (``on_trigger("hold")``), and the phrase requests the jam hands its renderer (a recorder
standing in for the engine child, as osc_helpers.FakeWorker does for the server). Also the NoteBook's rules for
chords struck a hair early and released a hair late."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from bridge.server import BridgeServer
from bridge.jam.clock import InternalClock
from bridge.jam.phrases import NoteBook, PhraseGrid
from bridge.jam.player import PhrasePlayer, Take
from bridge.jam.renderer import PhraseRequest, RenderedPhrase
from bridge.jam.session import Jam
from bridge.jam.steering import JamWorker, OscSteering, PhraseSettings
from bridge.jam.takes import LEAD_S, TakeDelivery, TakeFiles
from core.grid import SAMPLE_RATE
from core.params import RenderParams
from midi.vocab import ChordVocabulary
from osc_helpers import OscClient

# serial: notes played at real times into 0.5 s bars, takes told before their boundary (tests/conftest.py)
pytestmark = pytest.mark.serial

BPM = 240.0  # a 2-beat bar is 0.5 s
GRID = PhraseGrid(bars=1, beats_per_bar=2)
C, AM, F = (60, 64, 67), (57, 60, 64), (53, 57, 60)


class Recorder:
    """Records the requests (the engine side is tested in test_jam.py)."""

    def __init__(self) -> None:
        self.requests: list[PhraseRequest] = []
        self.changed = threading.Condition()
        self.busy = False

    def start(self) -> None: ...
    def close(self) -> None: ...

    def submit(self, req: PhraseRequest) -> None:
        with self.changed:
            self.requests.append(req)
            self.changed.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[PhraseRequest]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.requests) >= n, timeout), self.requests
            return list(self.requests)


def test_notebook_early_strike_and_late_release() -> None:
    book = NoteBook(PhraseGrid(bars=1))  # 4-beat phrases
    book.note_on(60, 90.0, 3.95)   # struck 0.05 beat early: phrase 1's
    book.note_off(60, 8.1)         # released 0.1 beat into phrase 2: ends with phrase 1
    book.note_on(62, 90.0, 4.5)
    book.note_off(62, 4.6)         # a short note inside phrase 1 stays as played
    assert book.take(0) == []
    notes = sorted(book.take(1), key=lambda n: n.pitch)
    assert [(n.pitch, n.start, round(n.duration, 9)) for n in notes] == [(60, 0.0, 4.0), (62, 0.5, 0.1)]
    assert book.take(2) == []


def test_each_phrase_renders_what_was_played_and_hold_keeps_it(chords_pkl: Path) -> None:
    clock = InternalClock(BPM)
    player = PhrasePlayer(clock, GRID, 8000)
    recorder = Recorder()
    settings = PhraseSettings("steered prompt", RenderParams(preset="draft"))
    jam = Jam(clock, GRID, player, lambda on_take, on_progress: recorder, vocab=ChordVocabulary.load(chords_pkl),
              settings=lambda: settings, seed=7)
    beat_s = 60.0 / BPM

    def play(pitches: tuple[int, ...], phrase: int) -> None:
        """Hold ``pitches`` through ``phrase``: on a little after it starts, off a little before it ends."""
        on, off = t0 + (phrase * GRID.beats + 0.1) * beat_s, t0 + ((phrase + 1) * GRID.beats - 0.1) * beat_s
        time.sleep(max(0.0, on - time.monotonic()))
        for p in pitches:
            jam.on_message([0x90, p, 90], time.monotonic())
        time.sleep(max(0.0, off - time.monotonic()))
        for p in pitches:
            jam.on_message([0x80, p, 0], time.monotonic())

    clock.start()
    t0 = clock.time_of_beat(0.0)
    jam.start()
    try:
        play(C, 0)
        play(AM, 1)
        recorder.wait_for(3)  # boundary 2 has asked for phrase 1's Am
        jam.on_trigger("hold")  # during phrase 2: its F is not used, Am stays
        play(F, 2)
        play(F, 3)
        recorder.wait_for(5)
        jam.on_trigger("hold")  # released: phrase 4's notes count again
        play(C, 4)
        requests = recorder.wait_for(6)
    finally:
        jam.close()
    chords = {r.boundary: [c for c, _ in r.chords] for r in requests}
    assert chords[1] == ["C"] and chords[2] == ["Am"], chords
    assert chords[3] == ["Am"] and chords[4] == ["Am"], chords  # held
    assert chords[5] == ["C"], chords
    assert all(r.prompt == "steered prompt" and r.sampling["preset"] == "draft" and r.sampling["seed"] == 7
               for r in requests)
    assert all(abs(r.seconds - GRID.beats * beat_s) < 1e-9 for r in requests)
    assert "not measured yet" in jam.osc_status()[7]


class Echo:
    """Stands in for the renderer: each request comes back at once as a take (a tone the length of the phrase)."""

    def __init__(self, on_take: Any) -> None:
        self.on_take = on_take
        self.busy = False

    def start(self) -> None: ...
    def close(self) -> None: ...

    def submit(self, req: PhraseRequest) -> None:
        n = int(round(req.seconds * SAMPLE_RATE))
        audio = (0.25 * np.sin(2 * np.pi * 220.0 * np.arange(n) / SAMPLE_RATE)).astype(np.float32)
        self.on_take(RenderedPhrase(req, audio, np.zeros((4, 8), np.float32), SAMPLE_RATE, 0.01))


def test_each_take_is_written_and_told_to_the_client_before_its_boundary(chords_pkl: Path, tmp_path: Path) -> None:
    vocab = ChordVocabulary.load(chords_pkl)
    clock = InternalClock(BPM)
    defaults = PhraseSettings("", RenderParams(preset="draft", seed=7))
    server = BridgeServer(JamWorker("tiny", "cpu", busy=lambda: False, ready=lambda: True), port=0, reply_port=0,
                          vocab=vocab, model="tiny")
    steering = OscSteering(server, defaults)
    clips = tmp_path / "clips"
    delivery = TakeDelivery(TakeFiles(clips, keep=2, model="tiny"), clock, GRID, steering.tell)
    jam = Jam(clock, GRID, PhrasePlayer(clock, GRID, SAMPLE_RATE), lambda on_take, on_progress: Echo(on_take),
              vocab=vocab, settings=steering.settings, seed=7, deliver=delivery)
    server.start()
    try:
        with OscClient(("127.0.0.1", server.port)) as client:  # the device: its hello makes it the jam's client
            client.send("/jasco/prompt", "steady pulse")
            client.sync()
            clock.start()
            jam.start()
            replies = []
            for _ in range(4):
                r = client.expect("/jasco/jam/take", timeout=5.0)
                replies.append((r, time.monotonic()))
                path = Path(r.args[0])
                assert path.is_file() and path.with_suffix(".json").is_file(), r  # there when told
    finally:
        jam.close()
        server.stop()
    phrase_s = GRID.beats * 60.0 / BPM
    for r, heard in replies:
        path, number, boundary, bars, bpm = r.args
        assert r.tags == "sifif", r
        assert f"_jam-p{number}_s7" in Path(path).name and Path(path).parent == clips.resolve(), path
        assert bars == GRID.bars and abs(bpm - BPM) < 1e-3
        assert boundary % GRID.beats == 0  # a phrase boundary
        assert clock.time_of_beat(boundary) - heard >= LEAD_S - 0.05, (boundary, heard)  # time to place it
        assert clock.time_of_beat(boundary) - heard <= LEAD_S + phrase_s + 0.05  # ... and the first such one
    numbers = [r.args[1] for r, _ in replies]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    sidecar = json.loads(Path(replies[-1][0].args[0]).with_suffix(".json").read_text())
    assert sidecar["prompt"] == "steady pulse", sidecar
    audio, rate = sf.read(replies[-1][0].args[0], dtype="float32")
    assert abs(len(audio) / rate - phrase_s) < 2.0 / rate  # exactly the phrase: no trim, no fade
    assert len(list(clips.glob("*_jam-p*.wav"))) == 2 and len(list(clips.glob("*_jam-p*.json"))) == 2  # keep=2


def test_a_take_told_for_a_later_boundary_starts_there_in_the_sinks_too() -> None:
    """The sinks start a take on the boundary the device was told (``Take.boundary``), not the next one."""
    clock = InternalClock(BPM)
    clock.start(at=100.0)
    rate = 8000
    player = PhrasePlayer(clock, GRID, rate)
    phrase = int(GRID.beats * 60.0 / BPM * rate)
    first = Take(1, np.full(phrase, 0.1, np.float32))
    second = Take(2, np.full(phrase, 0.2, np.float32), boundary=3)  # ready during phrase 0, told for boundary 3
    player.queue(first)
    out = [player.fill(400, 100.0 + i * 400 / rate) for i in range(2 * phrase // 400)]  # phrases 0 and 1
    player.queue(second)
    out += [player.fill(400, 100.0 + i * 400 / rate) for i in range(2 * phrase // 400, 5 * phrase // 400)]
    starts = [(sw.kind, sw.take, sw.boundary) for sw in player.switches]
    assert starts == [("start", 1, 0), ("loop", 1, 1), ("loop", 1, 2), ("start", 2, 3), ("loop", 2, 4)], starts
    audio = np.concatenate(out)
    assert np.all(audio[:3 * phrase] == np.float32(0.1)) and np.all(audio[3 * phrase:] == np.float32(0.2))
