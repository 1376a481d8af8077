"""Jam mode end to end: ``jasco-bridge jam`` with the conformance model, a MIDI clock and chords played into
a virtual JACK port (``jackd -d dummy``, python-rtmidi), the jam's audio recorded to a WAV by the file sink
(the same scheduler as the PortAudio sink; PortAudio is not routed to JACK here).

The host plays phrase after phrase and waits on the jam's log (bounded), never on fixed sleeps, so a slow
render on a loaded machine only makes the test longer. Measured: take k+1 carries the chord held during
phrase k; every boundary starts or restarts a take on the host's boundary tick within ``TOLERANCE_S``
(found again in the recording); no silence while the clock runs; the jam goes on through Stop, Continue
and a tempo change. The boundary timing itself is measured without the engine in test_jam_timing.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.bridge.jam_host import Host, find
from tests.bridge.osc_helpers import OscClient

TOLERANCE_S = 0.02
REPO = Path(__file__).resolve().parents[2]
BEATS = 4  # one 4/4 bar per phrase
PROMPT = "jam test: warm electric piano"
CHORDS = {"C": (60, 64, 67), "F": (53, 57, 60), "G": (55, 59, 62)}


class JamLog:
    """What the jam's log says: which chords each phrase renders with, which are ready."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def ready_with(self, chord: str) -> bool:
        text = self.text()
        asked = dict(re.findall(r"phrase (\d+) renders with (.*)", text))
        return any(chord in asked.get(n, "").split() for n in re.findall(r"jam: phrase (\d+) ready", text))


@pytest.mark.slow
@pytest.mark.serial  # takes on the host's boundary ticks within TOLERANCE_S: alone on the CPU
def test_jam_follows_clock_chords_stop_continue_and_tempo(jack_server: str, fixture_dir: Path, chords_pkl: Path,
                                                         tmp_path: Path) -> None:
    host = Host()
    wav, report, log_path = tmp_path / "jam.wav", tmp_path / "report.json", tmp_path / "jam.log"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "bridge.cli", "-v", "jam", "--midi-in", "keys", "--midi-api", "jack",
           "--port", str(port), "--reply-port", "0",
           "--bars", "1", "--model", str(fixture_dir), "--vocab", str(chords_pkl), "--preset", "draft",
           "--record", str(wav), "--report", str(report), "--seconds", "600", "--clip-dir", str(tmp_path / "clips")]
    with open(log_path, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env)
    log = JamLog(log_path)
    held: dict[int, str | None] = {}  # phrase -> the chord held through all of it

    def phrase(chord: str, bpm: float) -> None:
        k = host.tick // (24 * BEATS)
        host.chord(CHORDS[chord], True)
        host.play_beats(BEATS, bpm)
        host.chord(CHORDS[chord], False)
        held[k] = chord

    def until_ready(chord: str, bpm: float, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not log.ready_with(chord):
            assert proc.poll() is None and time.monotonic() < deadline, log.text()
            phrase(chord, bpm)
        phrase(chord, bpm)  # the take with the chord starts at the next boundary

    try:
        deadline = time.monotonic() + 180
        while "jam: listening" not in log.text():
            assert proc.poll() is None and time.monotonic() < deadline, f"jam did not start:\n{log.text()}"
            time.sleep(0.05)
        with OscClient(("127.0.0.1", port)) as osc:  # steering: the next phrases render with this prompt
            osc.send("/jasco/prompt", PROMPT)
            osc.send("/jasco/status")
            assert osc.expect("/jasco/status").args[0] in ("idle", "rendering")
            jam_state = osc.expect("/jasco/jam").args
            assert jam_state[5] == -1 and jam_state[7] == "not measured yet", jam_state
            osc.send("/jasco/generate")
            osc.expect_error("bad_config")
        host.start()
        until_ready("C", 120.0)
        k = host.tick // (24 * BEATS)
        host.chord(CHORDS["F"], True)
        host.play_beats(2, 120.0)
        stop_at = time.monotonic()
        host.stop()                                  # Stop half way through a phrase ...
        time.sleep(0.5)                              # (the host stays stopped a while)
        host.resume()
        host.play_beats(2, 120.0)                    # ... Continue: the rest of it
        host.chord(CHORDS["F"], False)
        held[k] = "F"  # held through the phrase, Stop and Continue included
        resumed = host.tick_times[(k * BEATS + 2) * 24]
        until_ready("G", 150.0)                      # a tempo change
        host.play_beats(1 / 24, 150.0)               # the last boundary's tick
        end_at = time.monotonic()
        host.stop()
        time.sleep(0.2)
        proc.send_signal(2)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        host.close()
    out = log.text()
    assert proc.returncode == 0, out
    rep = json.loads(report.read_text())
    sr = rep["sample_rate"]
    audio, file_sr = soundfile.read(str(wav), dtype="float32")
    assert file_sr == sr
    t0 = rep["sinks"]["FileSink"]
    takes = {int(n): t for n, t in rep["takes"].items()}
    # the take asked for at boundary b carries the chord held during phrase b - 1
    checked = 0
    for t in takes.values():
        chord = held.get(t["boundary"] - 1)
        if chord is not None:
            assert t["chords"] == [chord], (t["boundary"], t["chords"], held)
            checked += 1
    assert checked >= 3, (takes, held)
    assert all(t["prompt"] == PROMPT and t["preset"] == "draft" for t in takes.values())  # OSC + command line
    assert sorted(p.name for p in (tmp_path / "clips").glob("*_jam-p*.wav"))  # the takes the device was told of
    # every boundary played starts or restarts a take on the host's boundary tick
    errors = []
    for sw in rep["switches"]:
        sent = host.beat_times.get(sw["boundary"] * BEATS)
        if sent is None or sw["offset"]:
            continue
        head = np.asarray(takes[sw["take"]]["head"], np.float32)
        where = find(audio, head, int(round((sent - t0) * sr)), int(0.1 * sr))
        assert where is not None, f"take {sw['take']} not found near boundary {sw['boundary']}"
        errors.append(t0 + where / sr - sent)
    print(f"boundary error over {len(errors)} boundaries: mean {1000 * np.mean(errors):+.1f} ms, "
          f"max |e| {1000 * np.max(np.abs(errors)):.1f} ms")
    assert len(errors) >= 5 and max(abs(e) for e in errors) <= TOLERANCE_S
    started = [sw for sw in rep["switches"] if sw["kind"] == "start"]
    assert len(started) >= 3 and any(sw["time"] > resumed for sw in started)  # new takes after Continue + tempo
    # no silent 20 ms while the clock ran (first take to Stop; the resumption, after the output latency, to the end)
    first = rep["switches"][0]["time"]
    block = int(0.02 * sr)
    for a, b in ((first, stop_at - 0.05), (resumed + 0.15, end_at - 0.05)):
        seg = audio[int((a - t0) * sr):int((b - t0) * sr)]
        rms = np.sqrt(np.mean(seg[:len(seg) // block * block].reshape(-1, block) ** 2, axis=1))
        assert rms.min() > 1e-4, f"silence between {a - first:.2f} s and {b - first:.2f} s"
