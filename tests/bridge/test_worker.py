"""bridge.worker.RenderWorker with a numpy engine in a real child process (and once the real one).

The fake engine (``jasco_fake_engine.make``) runs in the engine process exactly as the
real pipeline would: loaded once, progress per function evaluation, cancellation
polled between evaluations, audio over the pipe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from core import fileio
from core.errors import BadConfig, QueueFull, UnknownJob
from bridge.jobs import WorkerStatus
from core.requests import ChordEvent, RenderParams, RenderRequest
from bridge.worker import RenderWorker
from midi.melody import one_hot as melody_from_frames
from jasco_fake_engine import RecordingListener
from osc_helpers import fifo_swapping_link

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FACTORY = "jasco_fake_engine:make"
SLOW = "fake?delay=0.02"  # 20 ms per evaluation


def _request(prompt: str = "warm lofi piano", *, model: str = "fake", steps: int = 8, **params: object) -> RenderRequest:
    return RenderRequest(prompt=prompt, model=model, params=RenderParams(steps=steps, **params))  # type: ignore[arg-type]


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # an orphan that exited but was not reaped yet counts as gone
            if "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except OSError:
            pass
        try:  # reap it if it is our child (a zombie still answers kill 0)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.02)
    return False


@pytest.fixture
def make_worker(tmp_path: Path) -> Iterator:
    workers: list[RenderWorker] = []

    def make(model: str = "fake", **kwargs: object) -> RenderWorker:
        kwargs.setdefault("clip_dir", tmp_path / "clips")
        w = RenderWorker(model=model, engine_factory=FACTORY, **kwargs)  # type: ignore[arg-type]
        workers.append(w)
        w.start()
        return w

    yield make
    pids = [w.engine_pid for w in workers]
    for w in workers:
        w.stop()
    for pid in pids:
        assert pid is None or _gone(pid), f"engine process {pid} left running"


def test_render_end_to_end_with_fake_engine(make_worker, tmp_path: Path) -> None:
    w = make_worker()
    listener = RecordingListener()
    chords = (ChordEvent("C", "C", 0.0, 0.0), ChordEvent("Am", "A:min", 4.0, 2.0))
    req = RenderRequest(prompt="warm lofi piano", model="fake", chords=chords, melody_frames=(60,) * 50,
                        params=RenderParams(seed=42, steps=8, bars=4, sample_rate=48000))
    job = w.submit(req, listener)
    name, args = listener.final(job)
    assert name == "done", args
    path, seconds, bpm, seed = args
    assert seed == 42  # the seed the clip was rendered with
    assert (seconds, bpm) == (8.0, 120.0)
    assert Path(path).parent == tmp_path / "clips" and Path(path).name.endswith("_warm-lofi-piano_s42.wav")
    assert sf.info(path).frames == 384000
    events = [n for n, _ in listener.of(job)]
    assert events[:2] == ["queued", "started"] and events[-2:] == ["progress", "done"]
    assert listener.of(job)[0] == ("queued", (0,))
    side = json.loads(Path(path).with_suffix(".json").read_text())
    assert side["model_id"] == "fake" and side["model_revision"] == "fake-revision" and side["nfe"] == 8
    assert side["engine_version"] == "fake-1" and side["job_id"] == job
    assert side["timings"]["engine_s"] > 0 and side["timings"]["queued_s"] >= 0
    status = w.status()
    assert isinstance(status, WorkerStatus) and (status.state, status.queued, status.device) == ("idle", 0, "cpu")
    assert w.job_state(job) == "done"


def test_queue_bound_and_positions(make_worker) -> None:
    w = make_worker(SLOW, max_queue=2)
    listener = RecordingListener()
    first = w.submit(_request(model=SLOW, steps=400), listener)
    listener.wait_for(first, "started")
    second = w.submit(_request(model=SLOW), listener)
    third = w.submit(_request(model=SLOW), listener)
    with pytest.raises(QueueFull) as err:
        w.submit(_request(model=SLOW), listener)
    assert err.value.code == "queue_full"
    assert listener.of(second)[0] == ("queued", (1,)) and listener.of(third)[0] == ("queued", (2,))
    status = w.status()
    assert (status.state, status.queued, status.running) == ("rendering", 2, first)
    for job in (third, second, first):
        assert w.cancel(job)
    for job in (first, second, third):
        assert listener.final(job)[0] == "cancelled"


def test_cancel_queued_and_running_between_evaluations(make_worker) -> None:
    w = make_worker(SLOW)
    listener = RecordingListener()
    running = w.submit(_request(model=SLOW, steps=500), listener)  # 10 s if not cancelled
    queued = w.submit(_request(model=SLOW), listener)
    assert w.cancel(queued) is True
    assert listener.of(queued)[-1] == ("cancelled", ())  # before cancel() returned
    listener.wait_for(running, "progress")
    pid = w.engine_pid
    assert w.cancel(running) is True
    assert listener.final(running, timeout=5.0) == ("cancelled", ())
    fractions = [a[0] for n, a in listener.of(running) if n == "progress"]
    assert fractions and max(fractions) < 0.9  # stopped early, not at the end
    assert w.engine_pid == pid  # the sampler stopped; nothing was killed
    assert w.cancel(running) is False  # already finished
    with pytest.raises(UnknownJob):
        w.cancel("no-such-job")
    after = w.submit(_request(model=SLOW), listener)
    assert listener.final(after)[0] == "done"
    clips = [p for p in (w.clip_dir).iterdir() if p.suffix == ".wav"]
    assert len(clips) == 1  # cancelled jobs wrote nothing


def test_failing_jobs_do_not_stop_the_worker(make_worker, tmp_path: Path) -> None:
    w = make_worker()
    listener = RecordingListener()

    class Broken(RecordingListener):
        def progress(self, job_id: str, fraction: float) -> None:
            raise RuntimeError("listener bug")

    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + os.urandom(3000))
    jobs = {
        "explode": w.submit(_request("explode"), listener),
        "bad_chord": w.submit(_request("coded-bad-chord"), listener),
        "missing": w.submit(RenderRequest(prompt="x", model="fake", drums_path=str(tmp_path / "none.wav"),
                                          params=RenderParams(steps=2)), listener),
        "corrupt": w.submit(RenderRequest(prompt="x", model="fake", drums_path=str(corrupt),
                                          params=RenderParams(steps=2)), listener),
    }
    broken = Broken()
    ok = w.submit(_request("fine"), broken)
    assert listener.final(jobs["explode"]) == ("error", ("render_failed", "RuntimeError: the fake engine exploded on purpose"))
    assert listener.final(jobs["bad_chord"])[1][0] == "bad_chord"
    assert listener.final(jobs["missing"])[1][0] == "not_found"
    assert listener.final(jobs["corrupt"])[1][0] == "bad_audio"
    assert broken.final(ok)[0] == "done"
    assert all(w.job_state(j) == "failed" for j in jobs.values())


def test_drums_reach_the_engine(make_worker, tmp_path: Path) -> None:
    w = make_worker()
    listener = RecordingListener()
    loop = tmp_path / "loop.flac"
    t = np.arange(44100 * 2) / 44100
    sf.write(loop, np.stack([np.sign(np.sin(2 * np.pi * 3 * t))] * 2, axis=1) * 0.5, 44100)
    req = RenderRequest(prompt="beat", model="fake", drums_path=str(loop),
                        params=RenderParams(steps=2, normalize="none", sample_rate=32000))
    job = w.submit(req, listener)
    name, args = listener.final(job)
    assert name == "done", args
    side = json.loads(Path(args[0]).with_suffix(".json").read_text())
    assert side["drums_file"] == str(loop) and len(side["drums_sha256"]) == 64
    data, _ = sf.read(args[0])
    plain = 0.3 * np.sin(2 * np.pi * 220.0 * np.arange(data.size) / 32000)
    assert np.abs(data - plain).max() > 0.05  # the square-wave "drums" are in the mix


def test_progress_is_throttled_monotonic_and_ends_at_one(make_worker) -> None:
    w = make_worker("fake?delay=0.005", progress_interval=0.1)
    listener = RecordingListener()
    job = w.submit(_request(model="fake?delay=0.005", steps=200), listener)  # >= 1 s of evaluations
    assert listener.final(job)[0] == "done"
    stamps = [(a[0], ts) for n, jid, a, ts in listener.events if jid == job and n == "progress"]
    fractions = [f for f, _ in stamps]
    assert fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert all(0.0 < f < 1.0 for f in fractions[:-1])
    assert fractions == sorted(fractions) and len(set(fractions)) == len(fractions)
    # Emission is spaced >= 0.1 s apart; the listener's own timestamps jitter with scheduling,
    # so check the spacing loosely and the count strictly (200 evaluations -> a handful of messages).
    gaps = [b - a for (_, a), (_, b) in zip(stamps[:-2], stamps[1:-1])]
    span = stamps[-2][1] - stamps[0][1]
    assert len(stamps) >= 4 and all(g >= 0.05 for g in gaps)
    assert len(stamps) - 1 <= span / 0.1 + 2


def test_engine_sigkill_mid_render_then_next_job_succeeds(make_worker) -> None:
    w = make_worker(SLOW)
    listener = RecordingListener()
    job = w.submit(_request(model=SLOW, steps=500), listener)
    listener.wait_for(job, "progress")
    pid = w.engine_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    name, (code, message) = listener.final(job, timeout=10)
    assert (name, code) == ("error", "engine_died") and "SIGKILL" in message
    assert w.status().state in ("loading", "idle")  # still answering
    nxt = w.submit(_request(model=SLOW), listener)
    assert listener.final(nxt)[0] == "done"
    assert w.engine_pid not in (None, pid)
    assert _gone(pid)


def test_model_that_fails_to_load(make_worker) -> None:
    bad = "fake?fail_load=model_unavailable"
    w = make_worker(bad)
    listener = RecordingListener()
    first = w.submit(_request(model=bad), listener)
    second = w.submit(_request(model=bad), listener)
    for job in (first, second):  # each job retries loading and reports the engine's own message
        name, (code, message) = listener.final(job)
        assert (name, code) == ("error", "model_unavailable") and "cannot be loaded (on purpose)" in message
    status = w.status()
    assert status.state == "error" and "on purpose" in status.error and status.error_code == "model_unavailable"
    crash = w.submit(_request(model="fake?crash_load=1"), listener)
    name, (code, message) = listener.final(crash)
    assert code == "model_load_failed" and "RuntimeError" in message
    good = w.submit(_request(model="fake"), listener)  # another model loads fine: the worker lives on
    assert listener.final(good)[0] == "done"
    assert w.status().state == "idle" and w.status().model == "fake"


def test_cancel_grace_kills_an_engine_that_ignores_cancel(make_worker) -> None:
    w = make_worker(SLOW, cancel_grace=0.3)
    listener = RecordingListener()
    job = w.submit(_request("ignore-cancel", model=SLOW, steps=500), listener)
    listener.wait_for(job, "progress")
    pid = w.engine_pid
    w.cancel(job)
    assert listener.final(job, timeout=5) == ("cancelled", ())
    assert _gone(pid)
    nxt = w.submit(_request(model=SLOW, steps=2), listener)
    assert listener.final(nxt)[0] == "done"


def test_stall_watchdog_kills_a_frozen_engine(make_worker, tmp_path: Path) -> None:
    """A SIGSTOPped engine (as a deadlock would) fails the job without anyone cancelling it."""
    for bad in (0, -1.0, float("nan"), "soon"):
        with pytest.raises(BadConfig, match="stall_timeout must be a positive number"):
            RenderWorker(model="fake", clip_dir=tmp_path / "unused", stall_timeout=bad)  # type: ignore[arg-type]
    w = make_worker(SLOW, stall_timeout=1.5)
    listener = RecordingListener()
    job = w.submit(_request(model=SLOW, steps=500), listener)  # 10 s if it ran to the end
    listener.wait_for(job, "progress")
    pid = w.engine_pid
    assert pid is not None
    frozen = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    name, (code, message) = listener.final(job, timeout=15)
    assert time.monotonic() - frozen >= 1.5  # not before the stall timeout
    assert (name, code) == ("error", "engine_died"), message
    assert "stalled for 1.5 s without progress" in message and "restarted" in message
    assert _gone(pid)  # SIGKILLed although stopped
    assert w.job_state(job) == "failed"
    assert [p.name for p in w.clip_dir.iterdir() if not p.name.startswith(".jasco-journal")] == []
    nxt = w.submit(_request(model=SLOW, steps=2), listener)
    assert listener.final(nxt)[0] == "done"
    assert w.engine_pid not in (None, pid)


def test_stall_watchdog_spares_a_slow_render_that_progresses(make_worker) -> None:
    """Each progress message resets the watchdog: a render longer than stall_timeout is not killed."""
    slow = "fake?delay=0.05"
    w = make_worker(slow, stall_timeout=0.8)
    listener = RecordingListener()
    job = w.submit(_request(model=slow, steps=24), listener)  # 1.2 s, a progress message every 0.05 s
    listener.wait_for(job, "started")
    pid = w.engine_pid
    name, args = listener.final(job)
    assert name == "done", args
    side = json.loads(Path(args[0]).with_suffix(".json").read_text())
    assert side["timings"]["engine_s"] > 0.8  # it did outlast the stall timeout
    assert w.engine_pid == pid  # nothing was killed


def test_stop_interrupts_jobs_and_kills_the_engine(tmp_path: Path) -> None:
    w = RenderWorker(model=SLOW, clip_dir=tmp_path, engine_factory=FACTORY)
    w.start()
    listener = RecordingListener()
    running = w.submit(_request(model=SLOW, steps=500), listener)
    queued = w.submit(_request(model=SLOW), listener)
    listener.wait_for(running, "progress")
    pid = w.engine_pid
    w.stop()
    w.stop()  # idempotent
    for job in (running, queued):
        assert listener.final(job)[1][0] == "interrupted"
    assert _gone(pid) and w.engine_pid is None
    assert not any(t.name == "jasco-worker" for t in __import__("threading").enumerate())
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".jasco-journal")] == []


_SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.requests import RenderParams, RenderRequest
    from bridge.worker import RenderWorker
    from jasco_fake_engine import RecordingListener
    clips = Path(sys.argv[1])
    w = RenderWorker(model="fake?delay=0.05", clip_dir=clips, engine_factory="jasco_fake_engine:make")
    w.start()
    lis = RecordingListener()
    req = RenderRequest(prompt="lost", model="fake?delay=0.05", client="127.0.0.1:9001", tag="t",
                        params=RenderParams(steps=1000))
    running = w.submit(req, lis)
    queued = w.submit(req, lis)
    lis.wait_for(running, "progress")
    (clips / ".jasco-tmp-999999999-half.wav").write_bytes(b"half a file")  # as if killed mid-write
    print(running, queued, w.engine_pid, flush=True)
    time.sleep(60)
    """
)


def test_restart_after_the_server_is_killed(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(clips)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        running, queued, engine_pid = line.split()
    finally:
        proc.kill()
        proc.wait(10)
    assert _gone(int(engine_pid)), "the orphaned engine process must exit when the server dies"
    w = RenderWorker(model="fake", clip_dir=clips, engine_factory=FACTORY)
    w.start()
    try:
        lost = w.reported_interrupted()
        assert [(j.job_id, j.state, j.client, j.tag) for j in lost] == [
            (running, "running", "127.0.0.1:9001", "t"), (queued, "queued", "127.0.0.1:9001", "t")]
        assert lost[0].request["params"]["steps"] == 1000
        assert not [p for p in clips.iterdir() if p.name.startswith(fileio.TEMP_PREFIX)]
        listener = RecordingListener()
        assert listener.final(w.submit(_request(steps=2), listener))[0] == "done"
    finally:
        w.stop()
    w2 = RenderWorker(model="fake", clip_dir=clips, engine_factory=FACTORY)
    w2.start()
    assert w2.reported_interrupted() == []  # reported once
    w2.stop()


def test_corrupt_journal_does_not_stop_rendering(make_worker, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / ".jasco-journal.sqlite3").write_bytes(b"garbage" * 1000)
    w = make_worker(clip_dir=clips)
    path = w.render(_request(steps=2), timeout=30)  # the blocking form, as `render --from` uses it
    assert Path(path).exists()
    assert len(list(clips.glob(".jasco-journal.sqlite3.corrupt-*"))) == 1  # kept aside for inspection
    assert w._journal is not None and w._journal.get(w.status().running or "") is None
    assert w._journal.states()["done"] == 1  # a fresh journal is in use
    with pytest.raises(Exception) as err:
        w.render(_request("explode", steps=2), timeout=30)
    assert getattr(err.value, "code", None) == "render_failed"


def test_unwritable_clip_folder_fails_the_job_not_the_worker(make_worker, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    w = make_worker(clip_dir=blocker / "clips")
    listener = RecordingListener()
    job = w.submit(_request(steps=2), listener)
    assert listener.final(job)[1][0] == "clip_dir_unwritable"
    assert w.status().state == "idle"


def test_melody_frames_to_one_hot() -> None:
    m = melody_from_frames((0, 43, 60, 95, 96, 30, 127))
    assert m.shape == (53, 7) and m.dtype == np.float32
    assert m[:, 0].sum() == 0  # no note
    assert [int(np.argmax(m[:, k])) for k in range(1, 7)] == [0, 17, 52, 41, 11, 48]  # 30 (F#1) -> F#3, 127 (G9) -> G6
    assert (m.sum(axis=0) == [0, 1, 1, 1, 1, 1, 1]).all()
    assert melody_from_frames(()).shape == (53, 0)


def test_real_engine_end_to_end(fixture_dir: Path, tmp_path: Path) -> None:
    """The real engine (engine.JascoPipeline) on the conformance fixture, through the worker."""
    w = RenderWorker(model=str(fixture_dir), clip_dir=tmp_path)  # default factory: JascoPipeline.from_pretrained
    w.start()
    try:
        listener = RecordingListener()
        req = RenderRequest(prompt="warm lofi piano", model=str(fixture_dir),
                            chords=(ChordEvent("C", "C", 0.0, 0.0), ChordEvent("Am", "Am", 4.0, 2.0)),
                            params=RenderParams(seed=3, solver="euler", steps=4, bars=2, sample_rate=48000))
        job = w.submit(req, listener)
        name, args = listener.final(job, timeout=180)
        assert name == "done", args
        info = sf.info(args[0])
        assert (info.frames, info.samplerate, info.subtype) == (192000, 48000, "PCM_24")
        data, _ = sf.read(args[0])
        assert np.isfinite(data).all() and np.abs(data).max() > 0
        side = json.loads(Path(args[0]).with_suffix(".json").read_text())
        assert side["nfe"] and side["engine_sample_rate"] == 32000
    finally:
        w.stop()


def test_many_clients_submitting_and_cancelling_at_once(make_worker) -> None:
    """Every accepted job gets exactly one final callback; done jobs have complete files."""
    import random
    import threading

    w = make_worker(max_queue=6)
    listener = RecordingListener()
    accepted: list[str] = []
    refused = []
    lock = threading.Lock()

    def client(k: int) -> None:
        rng = random.Random(k)
        for i in range(12):
            try:
                job = w.submit(_request(f"client {k} take {i}", steps=1, seed=i, bars=1), listener)
            except QueueFull:
                with lock:
                    refused.append((k, i))
                time.sleep(0.02)
                continue
            with lock:
                accepted.append(job)
            if rng.random() < 0.3:
                w.cancel(job)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(accepted) + len(refused) == 48 and accepted
    for job in accepted:
        listener.final(job)
        finals = [n for n, _ in listener.of(job) if n in ("done", "error", "cancelled")]
        assert len(finals) == 1, (job, listener.of(job))
        assert finals[0] in ("done", "cancelled")
        if finals[0] == "done":
            path = listener.of(job)[-1][1][0]
            assert sf.info(path).frames == 96000  # one 4/4 bar at 120 bpm, 48 kHz
    done = [j for j in accepted if listener.of(j)[-1][0] == "done"]
    assert done
    wavs = [p for p in w.clip_dir.iterdir() if p.suffix == ".wav"]
    assert len(wavs) == len(done)
    assert not [p for p in w.clip_dir.iterdir() if p.name.startswith(fileio.TEMP_PREFIX)]


# --- issue 15: every step of a job that can block has a deadline and is covered by cancel -------------------
def test_a_drum_name_swapped_to_a_fifo_never_stalls_the_worker(make_worker, tmp_path: Path) -> None:
    w = make_worker()
    wav = tmp_path / "loop.wav"
    sf.write(wav, np.zeros((44100, 2), np.float32) + 0.1, 44100)
    with fifo_swapping_link(wav, tmp_path) as link:
        listener = RecordingListener()
        finals = []
        for _ in range(12):
            req = RenderRequest(prompt="beat", model="fake", drums_path=str(link),
                                params=RenderParams(steps=1, normalize="none", sample_rate=32000))
            finals.append(listener.final(w.submit(req, listener), timeout=20))
    assert {name for name, _ in finals} <= {"done", "error"}
    assert all(args[0] == "bad_audio" for name, args in finals if name == "error"), finals


def _blocking_read(fifo: Path):  # noqa: ANN202 - a render_message that blocks like a hung file system
    from bridge import engine_input

    def render_message(job_id: str, requests: tuple) -> object:
        with open(fifo, "rb") as f:  # a blocking open of a FIFO: waits for a writer
            f.read(1)
        return engine_input.render_message(job_id, requests)

    return render_message


def test_a_blocking_read_has_a_deadline_and_can_be_cancelled(make_worker, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "hung"
    os.mkfifo(fifo)
    monkeypatch.setattr("bridge.worker.render_message", _blocking_read(fifo))
    w = make_worker(read_timeout=1.0)
    listener = RecordingListener()
    try:
        start = time.monotonic()
        name, args = listener.final(w.submit(_request(steps=1), listener), timeout=10)
        assert name == "error" and args[0] == "render_failed" and "longer than 1 s" in args[1]
        assert time.monotonic() - start > 0.9  # the deadline, not the read: a FIFO without a writer never ends
        job = w.submit(_request(steps=1), listener)
        deadline = time.monotonic() + 5
        while w.status().state != "rendering" and time.monotonic() < deadline:
            time.sleep(0.01)
        w.cancel(job)
        assert listener.final(job, timeout=3)[0] == "cancelled"  # the blocked step does not hold the cancel
        monkeypatch.undo()
        assert listener.final(w.submit(_request(steps=1), listener), timeout=20)[0] == "done"  # the worker goes on
    finally:
        for _ in range(3):  # let the abandoned reads end
            os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
