"""End to end: the ``jasco-bridge serve`` process and the real render worker over real UDP.

One test renders with the embedded tiny model (the real engine, in the worker's
engine process); the others use the real ``RenderWorker`` with the fake engine
in ``jasco_fake_engine.py`` so they stay fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from core.fileio import TEMP_PREFIX
from bridge.server import BridgeServer
from bridge.worker import RenderWorker
from midi.vocab import ChordVocabulary

from osc_helpers import FAKE, OscClient, ServeProcess

@pytest.fixture
def drum_wav(tmp_path: Path) -> Path:
    path = tmp_path / "drums.flac"
    rate = 44100
    t = np.arange(int(rate * 1.5)) / rate
    hit = (np.sin(2 * np.pi * 80 * t) * np.exp(-((t % 0.25) * 30))).astype(np.float32)
    sf.write(path, hit, rate)
    return path


def wait_ready(c: OscClient, timeout: float = 240.0) -> tuple:
    deadline = time.monotonic() + timeout
    while True:
        c.send("/jasco/status")
        st = c.expect("/jasco/status")
        if st.args[0] != "loading":
            return st.args
        if time.monotonic() > deadline:
            raise AssertionError("the model did not load in time")
        time.sleep(0.5)


@pytest.mark.slow
def test_cli_renders_with_the_embedded_model(cli_exe: str, tmp_path: Path, drum_wav: Path) -> None:
    clips = tmp_path / "clips"
    server = ServeProcess(cli_exe, "--model", "tiny", "--clip-dir", str(clips), "--reply-port", "0")
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            assert c.hello_reply is not None and c.hello_reply.args[1] == "tiny"
            state = wait_ready(c)
            assert state[0] == "idle" and state[2] == "tiny", state
            c.send("/jasco/prompt", "dusty drums and warm keys")
            c.send("/jasco/tempo", 120.0, 4, 4)
            c.send("/jasco/notes/add", 60, 0.0, 4.0, 100, 64, 0.0, 4.0, 100, 67, 0.0, 4.0, 100)
            c.send("/jasco/chords", "C", 0, "Am", 4, "Fmaj7", 8, "G", 12)
            mapped = c.expect("/jasco/chords/mapped", timeout=10)
            assert mapped.args[1::4] == ("C", "Am", "Fmaj7", "G")
            c.send("/jasco/drums", str(drum_wav))
            assert c.expect("/jasco/drums/loaded").args[2] == 44100
            for name, value in [("bars", 4), ("steps", 4), ("solver", "euler"), ("sample_rate", 44100), ("seed", 3)]:
                c.send("/jasco/set", name, value)
            c.send("/jasco/generate", "e2e")
            job = c.expect("/jasco/queued").args[0]
            c.expect("/jasco/started", timeout=60)
            # the server answers pings while the engine renders
            rtts = []
            for k in range(10):
                t0 = time.perf_counter()
                c.send("/jasco/ping", k)
                c.expect("/jasco/pong", timeout=2, where=lambda r, k=k: r.args == (k,))
                rtts.append(time.perf_counter() - t0)
            done = c.expect("/jasco/done", timeout=180)
            progress = [r for r in c.drain(0.05) if r.address == "/jasco/progress"]
            assert done.args[0] == job and done.args[3] == 120.0
            path = Path(done.args[1])
            assert path.parent == clips and path.suffix == ".wav"
            info = sf.info(str(path))
            assert info.samplerate == 44100 and info.subtype == "PCM_24"
            assert info.frames == 4 * 4 * 0.5 * 44100  # exactly 4 bars at 120 bpm
            assert done.args[2] == pytest.approx(8.0, abs=1e-4)
            audio, _ = sf.read(str(path), dtype="float32")
            assert np.isfinite(audio).all() and np.abs(audio).max() > 0
            sidecar = json.loads(path.with_suffix(".json").read_text())
            assert sidecar["request"]["tag"] == "e2e"
            assert [c_["label"] for c_ in sidecar["request"]["chords"]] == ["C", "Am", "Fmaj7", "G"]
            assert sidecar["request"]["drums_sha256"]
            assert not [p for p in clips.iterdir() if p.name.startswith(TEMP_PREFIX)]  # no temp file left
            del progress, rtts
            # the sidecar re-renders the clip bit for bit
            again = tmp_path / "again.wav"
            proc = subprocess.run([cli_exe, "render", "--from", str(path.with_suffix(".json")), "--out", str(again)],
                                  capture_output=True, text=True, timeout=300,
                                  env={**os.environ, "HF_HUB_OFFLINE": "1"})
            assert proc.returncode == 0, proc.stderr
            assert sf.info(str(again)).subtype == "PCM_24"
            rerendered, rate = sf.read(str(again), dtype="int32")
            original, _ = sf.read(str(path), dtype="int32")
            assert rate == 44100
            np.testing.assert_array_equal(rerendered, original)
    finally:
        assert server.stop() == 0
    assert any("stopped" in line for line in server.lines)


def test_cli_says_what_to_do_when_the_model_is_unavailable(cli_exe: str, tmp_path: Path) -> None:
    server = ServeProcess(cli_exe, "--model", "fake?fail_load=model_unavailable", "--engine-factory", FAKE,
                          "--clip-dir", str(tmp_path / "clips"), "--reply-port", "0")
    try:
        line = server.wait_for("failed to load: [model_unavailable]", timeout=60)
        assert "cannot be loaded" in line and " ERROR " in line
        with OscClient(("127.0.0.1", server.port)) as c:
            c.send("/jasco/status")
            assert c.expect("/jasco/status").args[0] == "error"
            assert "cannot be loaded" in c.expect_error("model_unavailable").args[2]
            c.send("/jasco/generate")
            job = c.expect("/jasco/queued").args[0]
            err = c.expect_error("model_unavailable", job=job, timeout=60)
            assert "cannot be loaded" in err.args[2]
            server.wait_for(f"job {job} failed: [model_unavailable]", timeout=30)
    finally:
        server.stop()
    # the log says it once, with its code; never "ready"; one line for the job
    about = [ln for ln in server.lines if "cannot be loaded" in ln]
    assert len(about) == 2, "\n".join(server.lines)
    assert "failed to load: [model_unavailable]" in about[0] and f"job {job} failed" in about[1]
    assert not [ln for ln in server.lines if " ready" in ln], "\n".join(server.lines)


def test_cli_demo_renders_and_keeps_serving(cli_exe: str, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = ServeProcess(cli_exe, "--model", "fake?delay=0", "--engine-factory", FAKE, "--clip-dir", str(clips),
                          "--demo", "--reply-port", "0", "--audition")  # no sound card here: it must run on
    try:
        line = server.wait_for("demo clip:", timeout=60)
        path = Path(line.split("demo clip: ", 1)[1].split(" (", 1)[0])
        assert path.parent == clips and path.exists()
        assert sf.info(str(path)).frames == 4 * 4 * 0.5 * 48000  # 4 bars at 120 bpm
        with OscClient(("127.0.0.1", server.port)) as c:
            c.send("/jasco/ping", "still here")
            assert c.expect("/jasco/pong").args == ("still here",)
    finally:
        assert server.stop() == 0


def test_jobs_of_a_killed_server_are_reported_after_restart(cli_exe: str, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    args = ("--model", "fake?delay=0.2", "--engine-factory", FAKE, "--clip-dir", str(clips), "--reply-port", "0")
    first = ServeProcess(cli_exe, *args)
    with OscClient(("127.0.0.1", first.port)) as c:
        try:
            wait_ready(c, timeout=60)
            c.send("/jasco/set", "steps", 100)  # 20 s: still running when the server dies
            c.send("/jasco/generate", "killed-while-running")
            running = c.expect("/jasco/queued").args[0]
            c.expect("/jasco/started", timeout=30)
            c.send("/jasco/generate", "killed-while-queued")
            queued = c.expect("/jasco/queued").args[0]
        finally:
            first.proc.kill()  # SIGKILL: no chance to tell anyone
            first.stop()
        second = ServeProcess(cli_exe, *args)
        try:
            errors = {c.expect_error("interrupted", job=j, timeout=30).args[0] for j in (running, queued)}
            assert errors == {running, queued}
            c.server = ("127.0.0.1", second.port)
            c.send("/jasco/ping", "after restart")
            assert c.expect("/jasco/pong").args == ("after restart",)
        finally:
            assert second.stop() == 0
    assert not [p for p in clips.iterdir() if p.name.startswith(TEMP_PREFIX)]


# --- the real worker with the fake engine, in process -----------------------------------------------------
@pytest.fixture
def live_rig(tmp_path: Path, chords_pkl: Path) -> Iterator[tuple[BridgeServer, RenderWorker, Path]]:
    clips = tmp_path / "clips"
    worker = RenderWorker(model="fake?delay=0.03", clip_dir=clips, max_queue=2, engine_factory=FAKE,
                          progress_interval=0.05)
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=0, vocab=ChordVocabulary.load(chords_pkl), model="fake?delay=0.03")
    server.start()
    try:
        yield server, worker, clips
    finally:
        server.stop()
        worker.stop()


def test_real_worker_flow_cancel_and_queue_full(live_rig: tuple[BridgeServer, RenderWorker, Path], drum_wav: Path) -> None:
    server, worker, clips = live_rig
    with OscClient(("127.0.0.1", server.port)) as a, OscClient(("127.0.0.1", server.port)) as b:
        wait_ready(a, timeout=60)
        a.send("/jasco/prompt", "client a")
        a.send("/jasco/chords", "Dm7", 0, "G7", 4)
        a.expect("/jasco/chords/mapped")
        a.send("/jasco/drums", str(drum_wav))
        a.expect("/jasco/drums/loaded")
        a.send("/jasco/set", "bars", 2)
        a.send("/jasco/set", "steps", 40)  # 40 x 30 ms: long enough to cancel while running
        b.send("/jasco/prompt", "client b")
        b.send("/jasco/set", "steps", 2)
        b.send("/jasco/set", "format", "flac")

        a.send("/jasco/generate", "long")
        running = a.expect("/jasco/queued").args[0]
        a.expect("/jasco/started", timeout=30)
        b.send("/jasco/generate", "b1")
        b1 = b.expect("/jasco/queued").args[0]
        b.send("/jasco/generate", "b2")
        b2 = b.expect("/jasco/queued").args[0]
        b.send("/jasco/generate", "b3")
        assert "queue is full" in b.expect_error("queue_full").args[2]
        a.send("/jasco/ping", "during")
        assert a.expect("/jasco/pong", timeout=1).args == ("during",)
        b.send("/jasco/cancel", b1)
        assert b.expect("/jasco/cancelled").args == (b1,)
        a.expect("/jasco/progress", timeout=10)
        a.send("/jasco/cancel", running)
        assert a.expect("/jasco/cancelled", timeout=15).args == (running,)
        done = b.expect("/jasco/done", timeout=30)
        assert done.args[0] == b2 and Path(done.args[1]).suffix == ".flac"
        assert sf.info(done.args[1]).format == "FLAC"
        b.send("/jasco/cancel", b2)  # already finished
        b.expect_error("unknown_job")
        # a's state survived b's traffic: its next render has its chords and drums
        a.send("/jasco/set", "steps", 2)
        a.send("/jasco/generate", "again")
        done_a = a.expect("/jasco/done", timeout=30)
        sidecar = json.loads(Path(done_a.args[1]).with_suffix(".json").read_text())
        assert sidecar["request"]["prompt"] == "client a"
        assert [c["label"] for c in sidecar["request"]["chords"]] == ["Dm7", "G7"]
        assert sidecar["request"]["drums_path"] == str(drum_wav)
        assert sf.info(done_a.args[1]).frames == 2 * 4 * 0.5 * 48000
    assert not [p for p in clips.iterdir() if p.name.startswith(TEMP_PREFIX)]
    visible = sorted(p.suffix for p in clips.iterdir() if not p.name.startswith("."))
    assert visible == [".flac", ".json", ".json", ".wav"]  # cancelled jobs left nothing
