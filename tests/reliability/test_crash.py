"""Crashes: the engine process killed mid-render, and the server itself killed with jobs in flight.

Engine death: the render runs in the engine child process; SIGKILL it while it renders
(found as the server's child process). The server keeps answering, the job fails with
``engine_died``, a new engine starts, and the next job succeeds: with the numpy fake
engine and with the real embedded tiny model.

Engine stall: SIGSTOP the engine mid-render and cancel nothing; the worker's watchdog
(``--stall-timeout``) kills it, the job fails with ``engine_died``, and the next job renders.

Server death: SIGKILL the server with one job running and others queued for two
clients, leaving a half-written temporary file in the clip folder as a write cut short
would. The engine child exits by itself; a new server on the same clip folder reports
every interrupted job to its client (``/jasco/error <job> interrupted``), removes the
temporary file, and renders again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Callable

import soundfile as sf

from bridge.journal import JOURNAL_NAME
from core.fileio import TEMP_PREFIX
from reliability_rig import FolderWatch, Peer, Server, fake_args, pid_exists, temp_files, visible_files


def _kill_engine_mid_render(server: Server, peer: Peer, *, steps: int, tag: str, timeout: float) -> tuple[int, int]:
    old = server.wait_engine()
    peer.send("/jasco/set", "steps", steps)
    answer = peer.generate(tag)
    assert answer.address == "/jasco/queued", answer
    job = answer.args[0]
    peer.expect("/jasco/started", where=lambda r: r.args[0] == job, timeout=timeout)
    peer.expect("/jasco/progress", where=lambda r: r.args[0] == job, timeout=timeout)  # it is rendering
    assert server.engine_pids() == [old]
    os.kill(old, signal.SIGKILL)
    final = peer.wait_final(job, timeout=timeout)
    assert final.address == "/jasco/error", final
    assert final.args[1] == "engine_died", final
    assert "SIGKILL" in final.args[2]
    # the server itself never stopped answering
    for k in range(5):
        peer.ping(f"after-kill-{k}", timeout=5)
    assert server.alive()
    new = server.wait_engine(exclude=[old], timeout=timeout)
    assert new != old and not pid_exists(old)
    peer.wait_state(["idle"], timeout=timeout)
    return old, new


def test_engine_killed_mid_render_fake(serve: Callable[..., Server], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, model="fake?delay=0.1"))
    watch = FolderWatch(clips)
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        p.send("/jasco/set", "bars", 1)
        _kill_engine_mid_render(server, p, steps=300, tag="doomed", timeout=30)
        # a job queued behind the dying one, and the next one, both succeed on the new engine
        p.send("/jasco/set", "steps", 2)
        jobs = [p.generate(f"next-{k}").args[0] for k in range(2)]
        for job in jobs:
            final = p.wait_final(job, timeout=60)
            assert final.address == "/jasco/done", final
            assert sf.info(final.args[1]).frames == 96000
        assert len([n for n in visible_files(clips) if n.endswith(".wav")]) == 2
    assert watch.stop() == []
    assert temp_files(clips) == []


def test_engine_killed_mid_render_real_tiny_model(serve: Callable[..., Server], tmp_path: Path, chords_pkl: Path) -> None:
    """The real thing: the embedded tiny JASCO model (torch) in the engine process."""
    clips = tmp_path / "clips"
    server = serve("--model", "tiny", "--clip-dir", str(clips), "--reply-port", "0", "--vocab", str(chords_pkl))
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=240)
        p.send("/jasco/prompt", "dusty drums")
        p.send("/jasco/chords", "C", 0, "G", 4)
        p.expect("/jasco/chords/mapped")
        p.send("/jasco/set", "solver", "euler")
        p.send("/jasco/set", "bars", 1)
        _kill_engine_mid_render(server, p, steps=200, tag="doomed", timeout=240)
        p.send("/jasco/set", "steps", 1)
        job = p.generate("after").args[0]
        final = p.wait_final(job, timeout=240)
        assert final.address == "/jasco/done", final
        assert sf.info(final.args[1]).frames == 96000
    assert temp_files(clips) == []


def freeze_engine_mid_render(p: Peer, server: Server, tag: str) -> tuple[str, int]:
    """Start a long 1-bar render, wait for its first progress, SIGSTOP the engine: (job, engine pid)."""
    p.wait_state(["idle"], timeout=60)
    p.send("/jasco/set", "bars", 1)
    p.send("/jasco/set", "steps", 400)
    job = p.generate(tag).args[0]
    p.expect("/jasco/progress", where=lambda r: r.args[0] == job, timeout=30)
    engine = server.wait_engine()
    os.kill(engine, signal.SIGSTOP)
    return job, engine


def test_hung_engine_is_killed_on_cancel(serve: Callable[..., Server], tmp_path: Path) -> None:
    """An engine that stops responding mid-render (SIGSTOP: a deadlock, a swap storm) does not
    leave the job stuck: cancel stops it within the worker's grace period by killing and
    restarting the engine, and the next job renders."""
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, model="fake?delay=0.05"))
    with Peer(server.address) as p:
        job, engine = freeze_engine_mid_render(p, server, "hung")
        try:
            p.ping()  # the OSC side does not care
            assert p.status()[0] == "rendering"
            p.send("/jasco/cancel", job)
            final = p.wait_final(job, timeout=30)  # grace period (5 s) then kill
            assert final.address == "/jasco/cancelled", final
        finally:
            if pid_exists(engine):
                os.kill(engine, signal.SIGCONT)
        assert server.wait_engine(exclude=[engine], timeout=30) != engine
        p.send("/jasco/set", "steps", 2)
        final = p.wait_final(p.generate("after-hang").args[0], timeout=60)
        assert final.address == "/jasco/done", final
    assert temp_files(clips) == []


def test_stalled_engine_is_killed_without_a_cancel(serve: Callable[..., Server], tmp_path: Path) -> None:
    """A frozen engine (SIGSTOP) and nobody cancels: after --stall-timeout seconds without
    progress the watchdog kills it, the job fails engine_died, and the next job renders."""
    bad = Server("--stall-timeout", "0", "--clip-dir", str(tmp_path / "never"), wait=False)
    assert bad.proc.wait(30) == 2
    bad.kill()
    assert "error [bad_config]: --stall-timeout must be a positive number" in bad.output()
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, "--stall-timeout", "1.5", model="fake?delay=0.05"))
    watch = FolderWatch(clips)
    with Peer(server.address) as p:
        job, engine = freeze_engine_mid_render(p, server, "frozen")
        final = p.wait_final(job, timeout=30)
        assert final.address == "/jasco/error", final
        assert final.args[1] == "engine_died" and "stalled for 1.5 s without progress" in final.args[2], final
        assert not pid_exists(engine)
        assert server.wait_engine(exclude=[engine], timeout=30) != engine
        p.send("/jasco/set", "steps", 2)
        final = p.wait_final(p.generate("after-stall").args[0], timeout=60)
        assert final.address == "/jasco/done", final
        assert [n for n in visible_files(clips) if n.endswith(".wav")] == [Path(final.args[1]).name]
    assert watch.stop() == []
    assert temp_files(clips) == []


def test_clean_shutdown_reports_jobs_in_flight(serve: Callable[..., Server], tmp_path: Path) -> None:
    """SIGTERM (Ctrl-C, a service manager): jobs in flight are reported at once, and not again
    by the next server on the same folder."""
    clips = tmp_path / "clips"
    args = fake_args(clips, model="fake?delay=0.1")
    server = serve(*args)
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        p.send("/jasco/set", "steps", 300)
        running = p.generate("running").args[0]
        p.expect("/jasco/started", where=lambda r: r.args[0] == running, timeout=30)
        queued = p.generate("queued").args[0]
        engine = server.wait_engine()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
        for job in (running, queued):
            assert p.expect_error("interrupted", job=job, timeout=10).args[2]
        assert not pid_exists(engine)
        again = serve(*args, port=server.port)
        p.hello()
        p.ping()  # the restarted server told its interrupted jobs before it said it listens: they came first
        reported = [r.args[0] for r in p.between(0) if r.address == "/jasco/error" and r.args[1] == "interrupted"]
        assert sorted(reported) == sorted([running, queued]), reported  # once each, by the first server
        assert again.stop() == 0
    assert temp_files(clips) == [] and visible_files(clips) == []


def test_server_killed_with_jobs_in_flight(serve: Callable[..., Server], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    args = fake_args(clips, model="fake?delay=0.1")
    first = serve(*args)
    with Peer(first.address) as a, Peer(first.address) as b:
        a.wait_state(["idle"], timeout=60)
        for peer in (a, b):
            peer.send("/jasco/set", "steps", 300)  # 30 s: still running when the server dies
            peer.send("/jasco/set", "bars", 1)
        running = a.generate("running").args[0]
        a.expect("/jasco/started", where=lambda r: r.args[0] == running, timeout=30)
        queued = [a.generate("queued-a").args[0], b.generate("queued-b1").args[0], b.generate("queued-b2").args[0]]
        engine = first.wait_engine()
        # a write cut short by the crash: the temp name carries the writer's pid
        partial = clips / f"{TEMP_PREFIX}{first.pid}-abcd1234.wav"
        partial.write_bytes(b"RIFF\x00\x00\x00\x00WAVE half a clip")
        first.kill()  # SIGKILL: no goodbye to anyone
        deadline = time.monotonic() + 10
        while pid_exists(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_exists(engine), "the engine outlived its killed server"
        assert partial.exists()

        with sqlite3.connect(clips / JOURNAL_NAME) as db:  # what the journal knew at the crash
            states = dict(db.execute("SELECT job_id, state FROM jobs").fetchall())
        assert states[running] == "running" and all(states[j] == "queued" for j in queued), states

        # restart on the same port so the clients' next messages reach it
        second = serve(*args, port=first.port)
        assert second.port == first.port
        a_err = {a.expect_error("interrupted", job=j, timeout=30).args[0] for j in (running, queued[0])}
        b_err = {b.expect_error("interrupted", job=j, timeout=30).args[0] for j in queued[1:]}
        assert a_err == {running, queued[0]} and b_err == set(queued[1:])
        assert not partial.exists(), "the half-written temporary file was left behind"
        assert temp_files(clips) == [] and visible_files(clips) == []
        with sqlite3.connect(clips / JOURNAL_NAME) as db:
            states = dict(db.execute("SELECT job_id, state FROM jobs").fetchall())
        assert all(states[j] == "interrupted" for j in [running, *queued]), states
        # the new server renders for the same clients (their hello is needed again: new process)
        a.hello()
        a.wait_state(["idle"], timeout=60)
        a.send("/jasco/set", "steps", 2)
        a.send("/jasco/set", "bars", 1)
        job = a.generate("after-restart").args[0]
        assert a.wait_final(job, timeout=60).address == "/jasco/done"
        # the interrupted jobs are reported once, not again on a second restart
        assert second.stop() == 0
        third = serve(*args, port=first.port)
        a.hello()
        a.ping()  # the reports (of which there must be none now) precede "listening", hence these pongs
        b.ping()
        for peer, jobs in ((a, [running, queued[0]]), (b, queued[1:])):
            reported = [r.args[0] for r in peer.between(0) if r.address == "/jasco/error" and r.args[1] == "interrupted"]
            assert sorted(reported) == sorted(jobs), reported  # each exactly once
        assert third.stop() == 0
    assert temp_files(clips) == []
