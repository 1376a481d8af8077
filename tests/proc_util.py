"""Stopping the child processes the tests start (servers, jackd): ask, wait, then kill."""

from __future__ import annotations

import os
import signal
import subprocess


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30.0, *, group: bool = False) -> None:
    """Send ``sig`` and wait ``timeout`` s for the exit; SIGKILL after that. ``group``: signal the child's whole
    process group (a child started with ``start_new_session=True``: a server and the engine process it starts).
    A child that has already exited is left as it is (its ``returncode`` is set)."""
    if proc.poll() is not None:
        return
    send = (lambda s: os.killpg(proc.pid, s)) if group else proc.send_signal
    send(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=10)
