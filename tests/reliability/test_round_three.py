"""Issue 24 (round three): each attack against a real ``jasco-bridge serve`` process or the real
function it reached, held to the rule that stops it (a bound on the work an input causes, a start
that always ends, a journal that never stops the server, a fair queue).
"""

from __future__ import annotations

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
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start blocked"
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=25)
        assert time.monotonic() - started < 25
        assert proc.returncode == 0 and "Traceback" not in out, out
    finally:
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
