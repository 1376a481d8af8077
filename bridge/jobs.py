"""Jobs: what the render worker tracks for each request, and what it reports.

Plain data, no torch. ``Job`` is the worker's mutable record of one request
(guarded by the worker's lock); ``WorkerStatus`` and ``InterruptedJob`` are the
frozen views the OSC side reads.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from core.requests import RenderRequest

# Job states, as stored in the journal.
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED)
ACTIVE_STATES = (QUEUED, RUNNING)

# Worker states (``/jasco/status <state> ...``).
IDLE = "idle"
RENDERING = "rendering"
LOADING = "loading"
ERROR = "error"
WORKER_STATES = (IDLE, RENDERING, LOADING, ERROR)



class JobListener(Protocol):
    """What the worker tells a front end about a job (called from the worker thread)."""

    def queued(self, job_id: str, position: int) -> None: ...
    def started(self, job_id: str) -> None: ...
    def progress(self, job_id: str, fraction: float) -> None: ...
    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int) -> None: ...
    def error(self, job_id: str, code: str, message: str) -> None: ...
    def cancelled(self, job_id: str) -> None: ...


def new_job_id() -> str:
    """A short, unguessable id, unique across restarts of the server.

    ``j`` + base36 seconds (ids sort roughly by time) + 80 random bits in base36
    (``secrets``): ASCII, no spaces, < 32 characters, so it fits any OSC string and
    any file name, and no client can guess another client's job id.
    """
    return f"j{_b36(int(time.time()))}{_b36(secrets.randbits(80)).rjust(16, '0')}"


def _windows_pid_alive(pid: int) -> bool:
    """OpenProcess + GetExitCodeProcess: a process that exists and has not exited (Windows only)."""
    import ctypes
    from ctypes import wintypes

    query_limited_information, still_active, access_denied = 0x1000, 259, 5
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied  # exists, but belongs to someone else
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def pid_alive(pid: int, *, windows: bool = os.name == "nt",
              windows_query: Callable[[int], bool] = _windows_pid_alive) -> bool:
    """Whether a process with this pid exists (ours or another user's).

    Never ``os.kill(pid, 0)`` on Windows: there any signal other than CTRL_C_EVENT/CTRL_BREAK_EVENT
    makes os.kill call TerminateProcess, i.e. it would KILL that process
    (https://docs.python.org/3/library/os.html#os.kill).
    """
    if windows:
        return windows_query(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass(frozen=True)
class WorkerStatus:
    """What ``/jasco/status`` answers: ``state queued model device`` (+ details)."""

    state: str  # "idle" | "rendering" | "loading" | "error"
    queued: int  # jobs waiting (not counting the one rendering)
    model: str
    device: str
    running: str | None = None  # id of the job rendering now
    engine_pid: int | None = None
    error: str = ""  # last model-load error message when state == "error"
    error_code: str = ""  # its code: "model_unavailable" | "model_load_failed" | ...
    error_model: str = ""  # the model that failed to load (the error concerns the clients that use it)
    precision: str = ""  # the loaded engine's precision ("bfloat16", "float32+compile"; "" before it is loaded)


@dataclass(frozen=True)
class InterruptedJob:
    """A job the journal found queued or running when the worker started."""

    job_id: str
    client: str  # "host:port" of the client that asked for it
    tag: str
    state: str  # what it was when the previous server died: "queued" | "running"
    created: float  # unix time
    request: dict[str, Any]  # RenderRequest.to_dict() as journaled


@dataclass
class Job:
    """The worker's record of one request (mutable; guarded by the worker lock)."""

    job_id: str
    request: RenderRequest
    listener: JobListener
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    cancel_requested: bool = False
    cancel_time: float | None = None
    closed: bool = False  # the final callback (done/error/cancelled) is claimed; set under the lock
    finished: threading.Event = field(default_factory=threading.Event)  # set after that callback
    output_path: str | None = None
    engine_seconds: float | None = None  # wall time of the engine's generate() call
    error_code: str | None = None
    error_message: str | None = None
