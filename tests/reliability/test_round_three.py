"""Issue 24 (round three): each attack against a real ``jasco-bridge serve`` process or the real
function it reached, held to the rule that stops it (a bound on the work an input causes, a start
that always ends, a journal that never stops the server, a fair queue).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reliability_rig import Peer, Server, fake_args


# --- 2. a FIFO named like a name reservation in the clip folder ------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_in_the_clip_folder_never_hangs_the_start(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    fifo = clips / ".jasco-name-attack.wav"
    os.mkfifo(fifo)
    server = Server(*fake_args(clips), start_timeout=30)  # old code: blocked in open() at the start cleanup
    try:
        with Peer(server.address, timeout=10) as peer:
            peer.ping()
        assert fifo.exists()  # not ours: left alone
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=20)
        assert time.monotonic() - started < 20
    finally:
        server.kill()


_BLOCKED_START = """
import sys
import bridge.clips
from bridge.cli import main

def blocked(folder, **kw):  # any start-up step that blocks in a system call (here: a FIFO with no writer)
    print("start blocked", flush=True)
    with open(sys.argv[1], "rb") as f:
        f.read()
    return []

bridge.clips.cleanup_temp_files = blocked
sys.exit(main(["serve", "--port", "0", "--model", "tiny", "--clip-dir", sys.argv[2]]))
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_sigterm_while_the_start_is_blocked_stops_the_server(tmp_path: Path) -> None:
    """SIGTERM while a start-up step is blocked in a system call: the server stops (old code: the handler
    only set a flag, the open was retried (PEP 475) and the server never ended)."""
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
                                                                  os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKED_START, str(fifo), str(tmp_path / "clips")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    writer = -1
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start blocked"
        # Wait until the child holds the FIFO open for reading: a non-blocking open for writing fails (ENXIO)
        # until then. It then waits in read() for data that never comes (the write end stays open, empty).
        deadline = time.monotonic() + 30
        while writer < 0:
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:
                assert err.errno == errno.ENXIO and time.monotonic() < deadline, err
                time.sleep(0.01)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=25)
        assert time.monotonic() - started < 25
        assert proc.returncode == 0 and "Traceback" not in out, out
    finally:
        if writer >= 0:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- 4/5. the OSC path has the bound of MIDI files on the notes' total length ------------------------------------
def test_osc_notes_have_the_same_work_bound_as_a_midi_file(tmp_path: Path) -> None:
    """20,000 notes of up to 16,384 beats each passed every per-argument range; now the notes' total length
    (midi.limits.MAX_NOTE_BEATS, the bound of a MIDI file) answers too_large and nothing is kept."""
    from midi.limits import MAX_NOTE_BEATS

    per_note = 16000.0
    fits = int(MAX_NOTE_BEATS // per_note)
    server = Server(*fake_args(tmp_path / "clips"))
    try:
        with Peer(server.address, timeout=10) as peer:
            args: list[object] = []
            for k in range(fits):
                args += [48 + k % 24, 0.0, per_note, 100]
            mark = peer.mark()
            peer.send("/jasco/notes/add", *args)
            peer.ping()
            assert not [r for r in peer.between(mark) if r.address == "/jasco/error"]
            mark = peer.mark()
            peer.send("/jasco/notes/add", 60, 0.0, per_note, 100, 64, 0.0, per_note, 100)
            err = peer.expect("/jasco/error", since=mark)
            assert err.args[1] == "too_large" and f"the limit is {MAX_NOTE_BEATS:.0f}" in err.args[2], err
    finally:
        server.kill()


# --- 7. one client's extreme jobs and a flood of generates -------------------------------------------------------
def test_a_job_of_weeks_is_refused_up_front_naming_what_to_lower(tmp_path: Path) -> None:
    """999 bpm in 32/4, 93 bars (178.7 s), hop 1 beat (2,979 windows), rk4 x 1000 steps: every value in
    range, ~30 h per job on the tiny model. The estimated cost passes the server's ceiling: too_large."""
    server = Server(*fake_args(tmp_path / "clips"))
    try:
        with Peer(server.address, timeout=10) as peer:
            peer.wait_state(["idle"], timeout=60)
            peer.send("/jasco/tempo", 999.0, 32, 4)
            for name, value in (("bars", 93), ("hop", 1), ("solver", "rk4"), ("steps", 1000)):
                peer.send("/jasco/set", name, value)
            mark = peer.mark()
            peer.send("/jasco/generate", "weeks")
            err = peer.expect("/jasco/error", since=mark)
            assert err.args[1] == "too_large", err
            assert "2979 windows" in err.args[2] and "lower steps" in err.args[2], err
            assert not [r for r in peer.between(mark) if r.address == "/jasco/queued"]
            peer.send("/jasco/set", "steps", 2)  # what the message says to lower
            peer.send("/jasco/set", "hop", 8)
            mark = peer.mark()
            peer.send("/jasco/generate", "fine")
            peer.expect("/jasco/queued", since=mark)
    finally:
        server.kill()


def test_one_client_never_makes_another_wait_behind_all_its_jobs(tmp_path: Path) -> None:
    """20 generates from one client (17 were accepted and every other client got queue_full): now one
    client holds at most its share of the queue, and clients take turns, so another client's job starts next."""
    server = Server(*fake_args(tmp_path / "clips", "--max-queue", "16", model="fake?delay=0.5"))
    try:
        with Peer(server.address, timeout=30) as hog, Peer(server.address, timeout=30) as other:
            hog.wait_state(["idle"], timeout=60)
            hog.send("/jasco/set", "bars", 1)
            mark = hog.mark()
            for k in range(20):
                hog.send("/jasco/generate", f"hog{k}")
            answers = hog.wait_count(20, lambda r: r.address == "/jasco/queued" or (
                r.address == "/jasco/error" and r.args[0] == ""), since=mark)  # each generate's answer
            accepted = [r for r in answers if r.address == "/jasco/queued"]
            refused = [r for r in answers if r.address == "/jasco/error" and r.args[1] == "queue_full"]
            assert len(accepted) <= 13 and refused and "most one client may have" in refused[0].args[2]
            other.send("/jasco/set", "bars", 1)
            queued = other.generate("mine")
            assert queued.args[1] <= 1, queued  # only the job now running is ahead of it
            done = other.wait_final(queued.args[0], timeout=30)
            assert done.address == "/jasco/done"
    finally:
        server.kill()
