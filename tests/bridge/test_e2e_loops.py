"""End to end over real UDP with the embedded tiny model: loops longer than the model's 10 s window.

``jasco-bridge serve --model tiny`` in its own process, the real render worker and engine
process; the client asks for 8 bars at 90 bpm (21.333 s) and 16 bars at 120 bpm (32.000 s)
and gets each as one clip of exactly that many samples, a seamless loop, with the windows in
its sidecar; ``render --from`` renders the loop again bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from osc_helpers import OscClient, ServeProcess


def _wait_ready(c: OscClient, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        c.send("/jasco/status")
        st = c.expect("/jasco/status")
        if st.args[0] != "loading":
            assert st.args[0] == "idle", st.args
            return
        if time.monotonic() > deadline:
            raise AssertionError("the model did not load in time")
        time.sleep(0.5)


@pytest.fixture
def drum_wav(tmp_path: Path) -> Path:
    path = tmp_path / "drums.wav"
    rate = 44100
    t = np.arange(int(rate * 1.3333)) / rate  # one bar at 180 bpm: tiled at its own length
    sf.write(path, (np.sin(2 * np.pi * 70 * t) * np.exp(-((t % 0.3333) * 25))).astype(np.float32), rate)
    return path


@pytest.mark.slow
def test_long_loops_come_back_whole_and_exact(cli_exe: str, tmp_path: Path, drum_wav: Path) -> None:
    clips = tmp_path / "clips"
    server = ServeProcess(cli_exe, "--model", "tiny", "--clip-dir", str(clips), "--reply-port", "0")
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            _wait_ready(c)
            c.send("/jasco/prompt", "warm keys over a dusty beat")
            c.send("/jasco/chords", "C", 0, "Am", 4, "F", 8, "G", 12)  # a 4-bar progression
            c.expect("/jasco/chords/mapped", timeout=10)
            c.send("/jasco/drums", str(drum_wav))
            c.expect("/jasco/drums/loaded", timeout=10)
            for name, value in [("solver", "euler"), ("steps", 2), ("sample_rate", 48000), ("seed", 5)]:
                c.send("/jasco/set", name, value)
            results = []
            # (bars, bpm, seconds, samples at 48 kHz, latent frames (rounded up), windows at the default hop)
            for bars, bpm, seconds, samples, frames, windows in ((8, 90.0, 21.3333333, 1_024_000, 1067, 4),
                                                                 (16, 120.0, 32.0, 1_536_000, 1600, 7)):
                c.send("/jasco/tempo", bpm, 4, 4)
                c.send("/jasco/set", "bars", bars)  # loop is on by default
                c.send("/jasco/generate", f"loop{bars}")
                job = c.expect("/jasco/queued").args[0]
                note = c.expect("/jasco/note", timeout=10, where=lambda r, job=job: r.args[0] == job)
                assert f"plays {bars // 4} times to fill the {bars}-bar loop" in note.args[1]
                done = c.expect("/jasco/done", timeout=240, where=lambda r, job=job: r.args[0] == job)
                assert done.args[2] == pytest.approx(seconds, abs=1e-4) and done.args[3] == bpm
                path = Path(done.args[1])
                info = sf.info(str(path))
                assert (info.frames, info.samplerate) == (samples, 48000)  # one clip, the whole length
                side = json.loads(path.with_suffix(".json").read_text())
                assert side["loop"] is True and side["timeline"]["loop"] is True
                assert (side["timeline"]["frames"], side["timeline"]["windows"]) == (frames, windows)
                assert len(side["request"]["chords"]) == 4 * (bars // 4)
                audio, _ = sf.read(str(path), dtype="float64")
                steps = np.abs(np.diff(audio))
                assert abs(audio[0] - audio[-1]) <= np.percentile(steps, 99.9)  # the wrap is an ordinary step
                results.append(path)
    finally:
        assert server.stop() == 0
    again = tmp_path / "again.wav"
    proc = subprocess.run([cli_exe, "render", "--from", str(results[0].with_suffix(".json")), "--out", str(again)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    a, _ = sf.read(str(again), dtype="int32")
    b, _ = sf.read(str(results[0]), dtype="int32")
    np.testing.assert_array_equal(a, b)
