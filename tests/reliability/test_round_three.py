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
