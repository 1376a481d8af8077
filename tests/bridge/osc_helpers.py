"""Real-UDP test peers for the OSC server, and a fake render worker.

``OscClient`` is a python-osc client with its own socket (replies come back to
it after ``hello``); packets are built and parsed with python-osc, an
implementation independent of ``bridge.osc``. ``FakeWorker`` honours the
``RenderWorker`` contract (bounded queue, one named thread, listener events,
cancellation) and writes real audio files, without an engine process.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import soundfile as sf
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from core.errors import QueueFull, UnknownJob
from bridge.jobs import InterruptedJob, WorkerStatus, new_job_id
from bridge.jobs import JobListener
from core.requests import RenderRequest

TIMEOUT = 5.0
HERE = Path(__file__).resolve().parent
FAKE = "jasco_fake_engine:make"  # the fake engine factory of the worker tests (this folder)


def type_tags(dgram: bytes) -> str:
    end = dgram.index(b"\x00")
    start = (end + 4) & ~3
    tags_end = dgram.index(b"\x00", start)
    return dgram[start + 1 : tags_end].decode("ascii")


@dataclass(frozen=True)
class Reply:
    address: str
    tags: str
    args: tuple[Any, ...]
    size: int


def build(address: str, *args: Any) -> bytes:
    """python-osc message; ``("d", 1.0)`` tuples give explicit tags, else inferred."""
    b = OscMessageBuilder(address)
    for a in args:
        if isinstance(a, tuple):
            b.add_arg(a[1], a[0])
        elif isinstance(a, bool):
            b.add_arg(a)
        elif isinstance(a, int):
            b.add_arg(a, "i")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            b.add_arg(a)
    return b.build().dgram


class OscClient:
    """A python-osc peer on its own UDP socket (send and receive on one port)."""

    def __init__(self, server: tuple[str, int], *, hello: bool = True) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.inbox: list[Reply] = []
        self.hello_reply: Reply | None = None
        if hello:
            self.send("/jasco/hello", self.port)
            self.hello_reply = self.expect("/jasco/hello")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "OscClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(build(address, *args), self.server)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def _pump(self, timeout: float) -> bool:
        try:
            data, _ = self.sock.recvfrom(65536)
        except (socket.timeout, TimeoutError):
            return False
        msg = OscMessage(data)
        self.inbox.append(Reply(msg.address, type_tags(data), tuple(msg.params), len(data)))
        return True

    def expect(self, address: str, *, timeout: float = TIMEOUT, where: Any = None) -> Reply:
        """The first reply at ``address`` (removed from the inbox), matching ``where(reply)``."""
        deadline = time.monotonic() + timeout
        while True:
            for k, r in enumerate(self.inbox):
                if r.address == address and (where is None or where(r)):
                    return self.inbox.pop(k)
            if time.monotonic() > deadline:
                raise AssertionError(f"no {address} within {timeout} s; got {[(r.address, r.args) for r in self.inbox]}")
            self._pump(0.05)

    def expect_error(self, code: str | None = None, *, job: str = "", timeout: float = TIMEOUT) -> Reply:
        r = self.expect("/jasco/error", timeout=timeout, where=lambda r: r.args[0] == job)
        assert r.tags == "sss", r
        if code is not None:
            assert r.args[1] == code, r
        return r

    def sync(self) -> None:
        """Round-trip a ping: everything sent before it has been handled."""
        token = f"sync-{time.monotonic_ns()}"
        self.send("/jasco/ping", token)
        self.expect("/jasco/pong", where=lambda r: r.args == (token,))

    def drain(self, seconds: float = 0.1) -> list[Reply]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._pump(0.02)
        out, self.inbox = self.inbox, []
        return out


# --- a fake worker ---------------------------------------------------------------------
class FakeWorker:
    """The ``RenderWorker`` contract without an engine: writes a wav of the requested length."""

    def __init__(
        self,
        clip_dir: Path,
        *,
        max_queue: int = 4,
        steps: int = 5,
        step_seconds: float = 0.02,
        model: str = "fake",
        interrupted: list[InterruptedJob] | None = None,
        state: str = "idle",
        error: str = "",
        error_model: str = "",
    ) -> None:
        self.clip_dir = Path(clip_dir)
        self.max_queue = max_queue
        self.steps = steps
        self.step_seconds = step_seconds
        self.model = model
        self.hold = threading.Event()  # jobs wait on this while "running" when gated
        self.hold.set()
        self.requests: list[RenderRequest] = []
        self._interrupted = list(interrupted or [])
        self._state = state
        self._error = error
        self._error_model = error_model
        self._queue: list[tuple[str, RenderRequest, JobListener]] = []
        self._cond = threading.Condition()
        self._running: str | None = None
        self._cancel_running = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="jasco-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self.hold.set()
        self._thread.join(timeout)

    def submit(self, request: RenderRequest, listener: JobListener) -> str:
        with self._cond:
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} jobs are waiting; the limit is {self.max_queue}")
            job_id = new_job_id()
            ahead = len(self._queue) + (1 if self._running else 0)
            self._queue.append((job_id, request, listener))
            self.requests.append(request)
            listener.queued(job_id, ahead)
            self._cond.notify_all()
        return job_id

    def cancel(self, job_id: str) -> bool:
        with self._cond:
            for k, (jid, _, listener) in enumerate(self._queue):
                if jid == job_id:
                    del self._queue[k]
                    listener.cancelled(job_id)
                    return True
            if self._running == job_id:
                self._cancel_running = True
                return True
        raise UnknownJob(f"no job {job_id!r}")

    def status(self) -> WorkerStatus:
        with self._cond:
            state = self._state if self._state != "idle" else ("rendering" if self._running else "idle")
            extra = {"error_model": self._error_model} if self._error_model else {}
            return WorkerStatus(state, len(self._queue), self.model, "cpu", self._running, None, self._error, **extra)

    def reported_interrupted(self) -> list[InterruptedJob]:
        out, self._interrupted = self._interrupted, []
        return out

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job_id, request, listener = self._queue.pop(0)
                self._running = job_id
                self._cancel_running = False
            try:
                self._render(job_id, request, listener)
            except Exception as err:  # each job isolated
                listener.error(job_id, "render_failed", str(err))
            finally:
                with self._cond:
                    self._running = None

    def _render(self, job_id: str, request: RenderRequest, listener: JobListener) -> None:
        listener.started(job_id)
        self.hold.wait()
        for step in range(self.steps):
            time.sleep(self.step_seconds)
            if self._cancel_running:
                listener.cancelled(job_id)
                return
            listener.progress(job_id, (step + 1) / self.steps)
        p = request.params
        seconds = p.bars * request.bar_seconds if p.bars else 10.0
        frames = int(round(seconds * p.sample_rate))
        audio = (0.1 * np.sin(np.arange(frames) * 2 * np.pi * 220 / p.sample_rate)).astype(np.float32)
        path = self.clip_dir / f"{job_id}.{p.format}"
        sf.write(str(path), np.stack([audio, audio], 1), p.sample_rate, subtype="PCM_24" if p.format == "wav" else None)
        listener.done(job_id, str(path), frames / p.sample_rate, request.bpm, p.seed)


def bundle(*messages: bytes) -> bytes:
    out = b"#bundle\x00" + struct.pack(">Q", 1)
    for m in messages:
        out += struct.pack(">i", len(m)) + m
    return out


def collect(q: "queue.Queue[Any]", n: int, timeout: float = TIMEOUT) -> list[Any]:
    return [q.get(timeout=timeout) for _ in range(n)]


# --- the CLI server as a child process ---------------------------------------------------------
REPO = HERE.parents[1]


class ServeProcess:
    """``jasco-bridge serve --port PORT ARGS`` in a child process; ``stop``/``kill`` always reap it.

    Its output is collected line by line (``lines``, ``wait_for``); its engine child is
    found through ``/proc`` and made sure to end with it. ``prefix`` runs the CLI under
    another command (``unshare ...``); ``preexec_fn`` sets rlimits. A server that does
    not say it is listening within ``start_timeout`` is killed before the error is raised.
    """

    def __init__(self, cli_exe: str, *args: str, prefix: Sequence[str] = (),
                 preexec_fn: Callable[[], None] | None = None, env: dict[str, str] | None = None,
                 wait: bool = True, start_timeout: float = 60.0, port: int = 0, cwd: str | None = None) -> None:
        full_env = dict(os.environ, **(env or {}))
        full_env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        full_env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self.cmd = [*prefix, cli_exe, "-v", "serve", "--port", str(port), *args]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=full_env, preexec_fn=preexec_fn, cwd=cwd)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = 0
        self.host = "127.0.0.1"
        self.engine_pids_seen: set[int] = set()
        if wait:
            try:
                line = self.wait_for("jasco-bridge listening on", timeout=start_timeout)
            except BaseException:
                self.kill()
                raise
            host_port = line.split("listening on ", 1)[1].split(" ", 1)[0]
            host, _, port_text = host_port.rpartition(":")
            self.host = host
            self.port = int(port_text)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        if self.proc.stdout is None:
            return
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {text!r} in the server output:\n" + "\n".join(self.lines[-40:]))
                self._cond.wait(min(left, 0.2))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def engine_pids(self) -> list[int]:
        """The server's child processes (the engine)."""
        pids = children(self.proc.pid)
        self.engine_pids_seen.update(pids)
        return pids

    def wait_engine(self, timeout: float = 30.0, exclude: Iterable[int] = ()) -> int:
        skip = set(exclude)
        deadline = time.monotonic() + timeout
        while True:
            pids = [p for p in self.engine_pids() if p not in skip]
            if pids:
                return pids[0]
            if time.monotonic() > deadline:
                raise AssertionError("the server has no engine process")
            time.sleep(0.05)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGINT (a clean shutdown), then SIGKILL if it does not end; always reaps."""
        if self.proc.poll() is None:
            self.engine_pids()
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the server (as a crash would) and reap it."""
        if self.proc.poll() is None:
            self.engine_pids()
            self.proc.kill()
        self.proc.wait(10)
        self._reap()

    def _reap(self) -> None:
        self._reader.join(5)
        # The engine exits by itself when the server's socket closes; make sure of it.
        deadline = time.monotonic() + 10.0
        for pid in list(self.engine_pids_seen):
            while pid_exists(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_exists(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue  # it ended between the check and the kill
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def orphans(self) -> list[int]:
        """Engine processes of this server still alive (after it ended)."""
        return [p for p in self.engine_pids_seen if pid_exists(p)]


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out.extend(int(p) for p in text.split())
    return sorted(set(out))


def pid_exists(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def fifo_swapping_link(wav: Path, folder: Path) -> Iterator[Path]:
    """The FIFO race attacker: a symlink ``folder/drums.wav`` that flips between ``wav`` and a FIFO
    as fast as it can while the block runs. Afterwards the swapping stops, the link points at ``wav``
    again, and any reader an old server or worker left blocked in ``open()`` of the FIFO is released."""
    fifo = folder / "pipe.wav"
    os.mkfifo(fifo)
    link = folder / "drums.wav"
    link.symlink_to(wav)
    stop = threading.Event()

    def swap() -> None:
        k = 0
        while not stop.is_set():
            tmp = folder / f"swap-{k % 2}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(fifo if k % 2 else wav)
            os.replace(tmp, link)
            k += 1

    swapper = threading.Thread(target=swap, name="fifo-swapper", daemon=True)
    swapper.start()
    try:
        yield link
    finally:
        stop.set()
        swapper.join(5)
        link.unlink(missing_ok=True)
        link.symlink_to(wav)
        os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
