"""Jam timing without the engine: the host's MIDI clock over JACK (``jackd -d dummy``, python-rtmidi) into
the jam's MIDI input (midi.midi_input.LiveInput) and clock follower, the phrase player and the file sink
writing a WAV in real time; the takes are known noise so each one is found again in the recording.

Measured against the time the host sent each boundary's tick: every take starts (or restarts) on its
boundary within ``TOLERANCE_S``; the song picks up where it was after Stop/Continue; boundaries follow a
tempo change; the audio never stops while the clock runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bridge.jam.clock import MidiClockFollower
from bridge.jam.phrases import PhraseGrid
from bridge.jam.player import PhrasePlayer, Take
from bridge.jam.sinks import FileSink
from midi.midi_input import LiveInput
from midi.vocab import ChordVocabulary
from tests.bridge.jam_host import Host, find

# serial: each take on its boundary tick within TOLERANCE_S, real time over JACK (tests/conftest.py)
pytestmark = pytest.mark.serial

SR = 16000
TOLERANCE_S = 0.02  # measured on a loaded 2-core machine: see the printout
GRID = PhraseGrid(bars=1, beats_per_bar=2)  # 1 s phrases at 120 bpm
HEAD = 256


def _wait(cond, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_takes_start_on_the_predicted_boundaries(jack_server: str, chords_pkl: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(26)
    takes = [Take(n, (0.1 + 0.1 * rng.random(SR)).astype(np.float32)) for n in (1, 2, 3)]  # 1 s of noise, > 0
    clock = MidiClockFollower()
    player = PhrasePlayer(clock, GRID, SR)
    wav = tmp_path / "jam.wav"
    sink = FileSink(wav, SR, player.fill, block=256, lead=0.05)
    host = Host()
    live = LiveInput("keys", api="jack", vocab=ChordVocabulary.load(chords_pkl), client_name="jasco-jam-test",
                     on_message=lambda m, t: clock.feed(m, t) if m and m[0] >= 0xF0 else None)
    try:
        sink.start()
        player.queue(takes[0])
        host.start()
        host.play_beats(3, 120.0)                 # boundaries 0, 1: take 1 starts, then loops
        player.queue(takes[1])                    # (half a phrase before boundary 2)
        host.play_beats(4, 120.0)                 # boundary 2: take 2; boundary 3: it loops
        stop_at = time.monotonic()
        host.stop()                               # Stop half way through phrase 3 ...
        assert _wait(lambda: not clock.running(), 2.0)
        time.sleep(0.3)                           # ... (the host stays stopped for a while)
        player.queue(takes[2])
        host.resume()
        host.play_beats(1, 120.0)                 # ... Continue: the rest of phrase 3 (take 2 picked up)
        host.play_beats(6 + 1 / 24, 160.0)        # boundaries 4..7 at 160 bpm: take 3, loops (7: the last tick)
        end_at = time.monotonic()
        host.stop()
        assert _wait(lambda: sink.start_time + sink.frames / SR > end_at + 0.05, 5.0)
    finally:
        live.close()
        sink.close()
        host.close()
    audio, sr = soundfile.read(str(wav), dtype="float32")
    assert sr == SR
    t0 = sink.start_time
    by_number = {t.number: t.audio for t in takes}
    errors: dict[int, float] = {}
    for sw in player.switches:
        sent = host.beat_times.get(sw.boundary * GRID.beats)
        assert sent is not None, sw
        piece = by_number[sw.take][sw.offset:sw.offset + HEAD]  # offset > 0: picked up after Start
        where = find(audio, piece, int(round((sent + sw.offset / SR - t0) * SR)), int(0.1 * SR))
        assert where is not None, f"take {sw.take} not found within 0.1 s of boundary {sw.boundary}"
        errors[sw.boundary] = t0 + (where - sw.offset) / SR - sent
    print("boundary errors (ms): " + ", ".join(f"{k}: {1000 * e:+.1f}" for k, e in sorted(errors.items())))
    assert [(sw.kind, sw.take) for sw in player.switches] == [
        ("start", 1), ("loop", 1), ("start", 2), ("loop", 2), ("start", 3), ("loop", 3), ("loop", 3), ("loop", 3)]
    assert all(sw.offset == 0 for sw in player.switches[1:])  # only the first one is a pick-up
    assert sorted(errors) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert max(abs(e) for e in errors.values()) <= TOLERANCE_S
    # after Continue the song resumes half way through phrase 3 with its first tick: take 2 from the song's
    # position on, from the first block the sink had not yet filled (the output latency: ``lead`` + a block)
    resumed = host.tick_times[7 * 24]
    first = int(round((resumed - t0) * SR))
    first += int(np.flatnonzero(np.abs(audio[first:]) > 0)[0])
    assert (first / SR + t0) - resumed <= sink.lead + 2 * sink.block / SR
    pos = SR // 2 + int(round((t0 + first / SR - resumed) * SR))
    where = find(audio, by_number[2][pos:pos + HEAD], first, int(0.1 * SR))
    assert where is not None
    resume_error = t0 + (where - pos + SR // 2) / SR - resumed
    print(f"resumed on the song position within {1000 * resume_error:+.1f} ms")
    assert abs(resume_error) <= TOLERANCE_S
    # never silent while the clock runs: from the first boundary to Stop, from the resumption to the end
    block = int(0.01 * SR)
    for a, b in ((player.switches[1].time, stop_at - 0.02), (t0 + first / SR, end_at)):
        assert b - a > 0.5
        seg = audio[int((a - t0) * SR):int((b - t0) * SR)]
        assert np.abs(seg[:len(seg) // block * block].reshape(-1, block)).max(axis=1).min() > 0.05
