"""The render worker: one named thread, a bounded queue, a supervised engine process.

In the style of sentry-python's background worker: ``RenderWorker.submit`` puts a
frozen ``RenderRequest`` on a bounded queue (``QueueFull`` beyond ``max_queue``
waiting jobs); the thread "jasco-worker" takes one job at a time, and every job runs
inside its own try/except so one failure never stops the worker.

The model itself lives in a child process (``python -m engine.service``, started
with ``subprocess`` and one socket pair) that loads it once and serves render
commands, so a crash, a hang or a SIGKILL of the engine cannot take the server with
it (and a killed server's engine exits by itself when the socket closes):

* progress comes back from the sampler's per-evaluation callback and is throttled
  here (at most one ``progress`` per ``progress_interval``, strictly increasing,
  below 1.0 until the file is written; then exactly one 1.0);
* ``cancel`` reaches the engine at once (a reader thread there) and the sampler's
  ``cancelled`` callback stops it between function evaluations; an engine that does
  not stop within ``cancel_grace`` seconds is killed and restarted;
* an engine that dies mid-render fails the job with ``engine_died`` and is
  restarted at once; so does one that sends nothing (no progress, no result) for
  ``stall_timeout`` seconds while a job runs (frozen, deadlocked, SIGSTOPped): the
  watchdog SIGKILLs it (loading has its own ``load_timeout``);
* a model that fails to load fails the job with the engine's own code
  (``model_unavailable`` / ``model_load_failed``) and message, and loading is
  retried on the next job (jobs within ``load_retry_s`` of a failure get the same
  error without a new attempt);
* ``request.model`` picks the model: a different one restarts the engine with it.

Listener callbacks: ``queued`` is called in the submitting thread before ``submit``
returns; ``cancelled`` for a job that was still queued is called in the cancelling
thread before ``cancel`` returns; everything else (``started``, ``progress``,
``done``, ``error``, ``cancelled`` of a running job) comes from the worker thread.
A listener that raises is logged and ignored. Every job gets exactly one final
callback: ``done``, ``error`` or ``cancelled``.

Jobs are journaled in SQLite (``bridge/journal.py``); at ``start`` the jobs a
killed server left behind are marked ``interrupted`` (``reported_interrupted``) and
leftover temporary files in the clip folder are removed.

This module never imports torch; only the child process does.
"""

from __future__ import annotations

import collections
import logging
import math
import multiprocessing.connection
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bridge import output
from bridge.audio import read_audio
from core.errors import (
    BadConfig,
    BadMelody,
    Cancelled,
    EngineDied,
    Interrupted,
    JascoError,
    ModelLoadError,
    QueueFull,
    RenderFailed,
    UnknownJob,
    all_codes,
)
from bridge.jobs import (
    CANCELLED,
    DONE,
    ERROR,
    FAILED,
    IDLE,
    INTERRUPTED,
    LOADING,
    QUEUED,
    RENDERING,
    RUNNING,
    InterruptedJob,
    Job,
    WorkerStatus,
    new_job_id,
)
from bridge.journal import JOURNAL_NAME, Journal
from core.requests import JobListener, RenderRequest

log = logging.getLogger(__name__)

__all__ = ["RenderWorker", "WorkerStatus", "InterruptedJob", "melody_from_frames", "engine_payload",
           "positive_seconds", "DEFAULT_STALL_TIMEOUT"]

THREAD_NAME = "jasco-worker"
POLL_S = 0.05  # how often the worker thread looks at cancel/stop flags while waiting on the engine
# Seconds of engine silence mid-render before the watchdog kills it: generous, because one function
# evaluation of the 1B model on a CPU can take tens of seconds.
DEFAULT_STALL_TIMEOUT = 600.0
KEEP_FINISHED_JOBS = 1000  # finished jobs remembered for cancel() -> False instead of UnknownJob
MELODY_BINS = 53
MELODY_LOWEST = 43  # MIDI note of bin 0 (G2); 53 bins up to B6 (95)

EngineFactory = Callable[..., Any]


# --- request -> engine payload (numpy only) ----------------------------------------------------------
def melody_from_frames(frames: tuple[int, ...] | list[int], *, bins: int = MELODY_BINS,
                       lowest: int = MELODY_LOWEST) -> np.ndarray:
    """MIDI note per 50 Hz frame (0 = no note) → one-hot float32 ``[bins, T]``.

    Bin = note − ``lowest``; notes outside the range are folded by octaves into it.
    """
    arr = np.asarray(frames, dtype=np.int64).reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() > 127):
        raise BadMelody("melody frames must be MIDI notes 0..127 (0 = no note)")
    out = np.zeros((bins, arr.size), dtype=np.float32)
    voiced = np.nonzero(arr > 0)[0]
    if voiced.size:
        rel = arr[voiced] - lowest
        rel = np.where(rel < 0, rel % 12, rel)  # below range: lowest octave
        top = bins - 12  # start of the highest complete octave in range
        high = rel >= bins
        rel = np.where(high, top + (rel - top) % 12, rel)  # above range: highest octave
        out[rel, voiced] = 1.0
    return out


def engine_payload(request: RenderRequest) -> tuple[dict[str, Any], str | None]:
    """Plain data the engine process turns into ``GenerationInput`` / ``SamplingParams``.

    Reads the drum file (``bridge.audio.read_audio``) and returns its sha256 too.
    """
    p = request.params
    drums = None
    drums_rate = 32000
    sha = None
    if request.drums_path:
        audio = read_audio(request.drums_path)
        drums, drums_rate, sha = audio.samples, audio.sample_rate, audio.sha256
        if request.drums_sha256 and request.drums_sha256 != sha:
            log.warning("drum file %s changed since it was chosen; using its current contents", request.drums_path)
    melody = melody_from_frames(request.melody_frames) if request.melody_frames else None
    payload = {
        "prompt": request.prompt,
        "chords": request.engine_chords() or None,
        "drums": drums,
        "drums_sample_rate": drums_rate,
        "drums_fill": p.drums_fill,
        "separate_drums": p.separate_drums,
        "melody": melody,
        "params": {"seed": p.seed, "solver": p.solver, "steps": p.steps, "rtol": p.rtol, "atol": p.atol,
                   "cfg_all": p.cfg_all, "cfg_txt": p.cfg_txt},
    }
    return payload, sha


def _factory_spec(factory: str | EngineFactory | None) -> str | None:
    """The engine factory as a dotted path the child process can import."""
    if factory is None or isinstance(factory, str):
        return factory
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        raise BadConfig("engine_factory must be importable by dotted path (a module-level function or "
                        "classmethod), because the engine runs in a separate process")
    return f"{module}:{qualname}"


def positive_seconds(name: str, value: object) -> float:
    """``value`` as a positive number of seconds (``inf`` = never), else ``BadConfig`` naming ``name``."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadConfig(f"{name} must be a positive number of seconds, got {value!r}") from None
    if math.isnan(seconds) or seconds <= 0:
        raise BadConfig(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def _coded(code: str, message: str) -> JascoError:
    cls = all_codes().get(code, RenderFailed)
    err = cls(message)
    if err.code != code:  # a code we do not know: keep it for the client anyway
        err.code = code  # type: ignore[misc]
    return err


# --- the engine process, seen from the worker thread --------------------------------------------------
class _EngineProcess:
    """The engine child (``python -m engine.service``) and our end of its socket pair."""

    def __init__(self, model: str, device: str, dtype: str | None, factory: str | None) -> None:
        self.model = model
        ours, theirs = socket.socketpair()
        cmd = [sys.executable, "-m", "engine.service", "--fd", str(theirs.fileno()), "--model", model,
               "--device", device, "--log-level", str(logging.getLogger().getEffectiveLevel())]
        if dtype:
            cmd += ["--dtype", dtype]
        if factory:
            cmd += ["--factory", factory]
        env = dict(os.environ)
        # The child imports what we can import (a test's engine factory, an uninstalled checkout).
        paths = [p for p in sys.path if p and os.path.isdir(p)]
        env["PYTHONPATH"] = os.pathsep.join(paths + [env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
        try:
            self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        except OSError as err:
            ours.close()
            raise ModelLoadError(f"cannot start the engine process: {err}") from err
        finally:
            theirs.close()  # so EOF on our end means the child is gone
        self.conn = multiprocessing.connection.Connection(ours.detach())
        self._send_lock = threading.Lock()
        self.info: dict[str, Any] | None = None
        self.started = time.monotonic()
        log.info("engine process %s started for model %r", self.proc.pid, model)

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    @property
    def ready(self) -> bool:
        return self.info is not None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exitcode(self) -> int | None:
        try:
            return self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, timeout: float) -> tuple[str, Any]:
        """One message: ("msg", message), ("dead", exit code) or ("timeout", None)."""
        try:
            ready = multiprocessing.connection.wait([self.conn], timeout)
            if not ready:
                return "timeout", None
            return "msg", self.conn.recv()
        except (EOFError, OSError):
            return "dead", self.exitcode()

    def send(self, msg: tuple[Any, ...]) -> bool:
        try:
            with self._send_lock:
                self.conn.send(msg)
            return True
        except (BrokenPipeError, EOFError, OSError):
            return False

    def cancel(self, job_id: str) -> None:
        """Ask the sampler to stop ``job_id`` at its next function evaluation (any thread)."""
        self.send(("cancel", job_id))

    def kill(self, graceful: float = 0.0) -> None:
        if self.alive() and graceful > 0:
            self.send(("stop",))
            try:
                self.proc.wait(graceful)
            except subprocess.TimeoutExpired:
                # Still busy (or stopped, or hung): the SIGKILL just below ends it.
                log.debug("engine process %s did not stop within %.1f s of 'stop'; killing it",
                          self.proc.pid, graceful)
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(10.0)
        except subprocess.TimeoutExpired:
            log.error("engine process %s did not exit after SIGKILL", self.proc.pid)
        try:
            self.conn.close()
        except OSError as err:
            # The child is gone and nothing is buffered on our side, so there is nothing to flush
            # or to report; the descriptor is released either way.
            log.debug("closing the socket of engine process %s: %s", self.proc.pid, err)
        log.info("engine process %s ended (exit code %s)", self.proc.pid, self.proc.returncode)


def _death_message(exitcode: int | None) -> str:
    if exitcode is None:
        return "the engine process stopped responding"
    if exitcode < 0:
        import signal

        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the engine process was killed by {name}{hint}; it is being restarted"
    return f"the engine process exited with code {exitcode}; it is being restarted"


class _WaitingListener:
    """A JobListener that lets a caller block until the job's final callback."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.path: str | None = None
        self.failure: JascoError | None = None

    def queued(self, job_id: str, position: int) -> None:
        log.debug("%s queued at %d", job_id, position)

    def started(self, job_id: str) -> None:
        log.debug("%s started", job_id)

    def progress(self, job_id: str, fraction: float) -> None:
        log.debug("%s %.0f %%", job_id, 100 * fraction)

    def done(self, job_id: str, path: str, seconds: float, bpm: float) -> None:
        self.path = path
        self.event.set()

    def error(self, job_id: str, code: str, message: str) -> None:
        self.failure = _coded(code, message)
        self.event.set()

    def cancelled(self, job_id: str) -> None:
        self.event.set()


# --- the worker ------------------------------------------------------------------------------------------
class RenderWorker:
    """One render thread and one engine process; see the module docstring."""

    def __init__(self, *, model: str, clip_dir: Path, max_queue: int = 16, device: str = "cpu",
                 dtype: str | None = None, engine_factory: str | EngineFactory | None = None,
                 journal_path: Path | None = None, progress_interval: float = 0.1,
                 cancel_grace: float = 5.0, load_timeout: float = 900.0, load_retry_s: float = 2.0,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> None:
        if max_queue < 1:
            raise BadConfig(f"max_queue must be at least 1, got {max_queue}")
        self.stall_timeout = positive_seconds("stall_timeout", stall_timeout)
        self.model = model
        self.device = device
        self.dtype = dtype
        self.clip_dir = Path(clip_dir).expanduser()
        self.max_queue = int(max_queue)
        self.progress_interval = float(progress_interval)
        self.cancel_grace = float(cancel_grace)
        self.load_timeout = float(load_timeout)
        self.load_retry_s = float(load_retry_s)
        self._factory = _factory_spec(engine_factory)
        self._journal_path = Path(journal_path) if journal_path is not None else None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._submit_lock = threading.RLock()
        self._queue: collections.deque[Job] = collections.deque()
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._running: Job | None = None
        self._engine: _EngineProcess | None = None
        self._load_error: JascoError | None = None
        self._load_failed_model: str | None = None
        self._load_failed_at = 0.0
        self._stopping = False
        self._started = False
        self._thread: threading.Thread | None = None
        self._journal: Journal | None = None
        self._interrupted: list[InterruptedJob] = []

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the journal, recover a killed server's jobs, start the thread and the engine."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if threading.current_thread() is threading.main_thread():
            output.ignore_sigxfsz()  # a file-size limit becomes disk_full, not a dead server
        self._journal = self._open_journal()
        self._interrupted = self._journal.recover()
        output.cleanup_temp_files(self.clip_dir)
        try:
            engine = _EngineProcess(self.model, self.device, self.dtype, self._factory)
        except JascoError as err:
            self._load_failed(err, self.model)
        else:
            with self._lock:
                self._engine = engine  # loads while the thread starts; status() says "loading"
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and kill the engine; queued/running jobs get ``interrupted``. Idempotent."""
        with self._lock:
            if self._stopping:
                already = True
            else:
                already = False
                self._stopping = True
                engine = self._engine
                self._wake.notify_all()
        if not already:
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
                if thread.is_alive():
                    log.error("render worker did not stop within %.1f s; killing the engine", timeout)
            with self._lock:
                engine, self._engine = self._engine, None
            if engine is not None:
                engine.kill()
            self._interrupt_remaining()
        if self._journal is not None and (self._thread is None or not self._thread.is_alive()):
            self._journal.close()
            self._journal = None

    def __enter__(self) -> "RenderWorker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the public API used by the OSC side -------------------------------------------------------------
    def submit(self, request: RenderRequest, listener: JobListener) -> str:
        """Queue a render; returns the job id. ``QueueFull`` when ``max_queue`` jobs are waiting.

        ``listener.queued(job_id, position)`` is called before this returns;
        ``position`` is the number of jobs ahead (0: it starts now).
        ``request.model`` picks the model; a different one from the loaded model
        restarts the engine with it (set it to ``worker.model`` for the default).
        """
        if not isinstance(request, RenderRequest):
            raise BadConfig(f"submit() needs a RenderRequest, got {type(request).__name__}")
        with self._submit_lock:
            with self._lock:
                if self._stopping:
                    raise Interrupted("the server is shutting down; the job was not queued")
                if len(self._queue) >= self.max_queue:
                    raise QueueFull(f"the render queue is full ({len(self._queue)} jobs waiting); "
                                    "try again when one has finished")
                position = len(self._queue) + (1 if self._running is not None else 0)
                job = Job(job_id=new_job_id(), request=request, listener=listener)
            if self._journal is not None:
                self._journal.add(job.job_id, request.to_dict(), client=request.client, tag=request.tag,
                                  created=job.created)
            self._notify(job, "queued", position)
            with self._lock:
                self._remember(job)
                self._queue.append(job)
                self._wake.notify_all()
        log.debug("queued %s at position %d", job.job_id, position)
        return job.job_id

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job: True when ``listener.cancelled`` follows (or was called).

        A queued job is cancelled at once (``listener.cancelled`` before this returns); a
        running one stops at the sampler's next function evaluation (the engine is
        killed and restarted if it does not stop within ``cancel_grace``); a result that
        arrives after the cancel is discarded. False when the job already finished;
        ``UnknownJob`` for an id never seen.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UnknownJob(f"no job {job_id!r}")
            if job.state == RUNNING:
                if job.cancel_requested:
                    return True
                job.cancel_requested = True
                job.cancel_time = time.monotonic()
                engine = self._engine
                self._wake.notify_all()
            elif job.state == QUEUED and job in self._queue and not job.closed:
                self._queue.remove(job)
                job.state = CANCELLED
                job.closed = True
                engine = None
            else:
                return False
        if job.state == RUNNING:
            if engine is not None:
                engine.cancel(job_id)
            return True
        if self._journal is not None:
            self._journal.mark_cancelled(job_id)
        self._notify(job, "cancelled")
        job.finished.set()
        return True

    def status(self) -> WorkerStatus:
        with self._lock:
            engine = self._engine
            if self._running is not None:
                state = RENDERING
            elif engine is not None and not engine.ready:
                state = LOADING
            elif self._load_error is not None:
                state = ERROR
            else:
                state = IDLE
            return WorkerStatus(
                state=state,
                queued=len(self._queue),
                model=engine.model if engine is not None else self.model,
                device=self.device,
                running=self._running.job_id if self._running is not None else None,
                engine_pid=engine.pid if engine is not None else None,
                error=str(self._load_error) if state == ERROR and self._load_error else "",
                error_code=self._load_error.code if state == ERROR and self._load_error else "",
            )

    def reported_interrupted(self) -> list[InterruptedJob]:
        """Jobs the journal found queued/running at ``start`` (a killed server's leftovers)."""
        return list(self._interrupted)

    def job_state(self, job_id: str) -> str:
        """``queued`` / ``running`` / ``done`` / ``failed`` / ``cancelled`` / ``interrupted``."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UnknownJob(f"no job {job_id!r}")
            return job.state

    def wait(self, job_id: str, timeout: float | None = None) -> str:
        """Block until the job has its final callback; returns its state (for scripts and tests)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no job {job_id!r}")
        job.finished.wait(timeout)
        return job.state

    def render(self, request: RenderRequest, timeout: float | None = None) -> str:
        """Render one request and wait: the clip's path (``str``), or raise its coded error.

        The same path as a job from the OSC side (engine process, post-processing,
        sidecar, journal), for ``jasco-bridge render --from SIDECAR.json`` and scripts.
        """
        listener = _WaitingListener()
        job_id = self.submit(request, listener)
        if not listener.event.wait(timeout):
            self.cancel(job_id)
            raise RenderFailed(f"the render did not finish within {timeout:g} s")
        if listener.failure is not None:
            raise listener.failure
        if listener.path is None:
            raise Cancelled("the render was cancelled")
        return listener.path

    @property
    def engine_pid(self) -> int | None:
        """pid of the engine child process (None while none runs)."""
        with self._lock:
            return self._engine.pid if self._engine is not None else None

    @property
    def engine_info(self) -> dict[str, Any] | None:
        """What the loaded engine reported (model_id, model_revision, sample_rate, …)."""
        with self._lock:
            engine = self._engine
            return dict(engine.info) if engine is not None and engine.info else None

    # --- the worker thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        log.info("render worker started (model %r on %s)", self.model, self.device)
        try:
            try:
                self._ensure_engine(self.model, None)
            except Interrupted:
                # stop() came while the model was still loading: _take() below sees _stopping and
                # returns None, so the thread goes straight to killing the engine and ending.
                log.debug("stopped while the model %r was loading at start", self.model)
            except JascoError as err:
                log.error("the model could not be loaded at start: [%s] %s", err.code, err)
            while True:
                job = self._take()
                if job is None:
                    break
                try:
                    self._process(job)
                except BaseException as err:  # noqa: BLE001 - nothing may kill the worker thread
                    log.exception("job %s: unexpected failure in the worker", job.job_id)
                    self._finish(job, FAILED, error=RenderFailed(f"internal error: {type(err).__name__}: {err}"))
                    if not isinstance(err, Exception):
                        raise
        finally:
            with self._lock:
                engine, self._engine = self._engine, None
                self._running = None
            if engine is not None:
                engine.kill(graceful=0.5)
            log.info("render worker stopped")

    def _take(self) -> Job | None:
        while True:
            with self._lock:
                if self._stopping:
                    return None
                if self._queue:
                    job = self._queue.popleft()
                    job.state = RUNNING
                    self._running = job
                    return job
                engine = self._engine
                if engine is None or engine.ready:
                    self._wake.wait()
                    continue
            # An engine is loading (restarted after a death) and nothing is queued: watch it
            # so status() turns from "loading" to "idle"/"error" without waiting for a job.
            try:
                self._ensure_engine(engine.model, None, wait_s=POLL_S)
            except JascoError as err:
                log.debug("engine not ready: [%s] %s", err.code, err)

    def _process(self, job: Job) -> None:
        started = time.time()
        if self._journal is not None:
            self._journal.mark_running(job.job_id)
        self._notify(job, "started")
        try:
            payload, drums_sha = engine_payload(job.request)
            model = job.request.model or self.model
            engine = self._ensure_engine(model, job)
            audio, rate, nfe = self._render(engine, job, payload)
            self._check_cancel(job)
            timings = {"queued_s": round(started - job.created, 4),
                       "engine_s": round(job.engine_seconds, 4) if job.engine_seconds is not None else None}
            wrote = time.perf_counter()
            clip = output.write_clip(audio, rate, job.request, self.clip_dir, engine_info=engine.info or {},
                                     nfe=nfe, job_id=job.job_id, drums_sha256=drums_sha, timings=timings,
                                     before_commit=lambda: self._check_cancel(job))  # nothing visible once cancelled
            log.info("job %s: engine %.2f s, %s nfe, output %.0f ms, %.1f s in all", job.job_id,
                     job.engine_seconds or 0.0, nfe, 1000 * (time.perf_counter() - wrote), time.time() - started)
            with self._lock:
                late_cancel = job.cancel_requested
            if late_cancel:
                for path in (clip.path, clip.sidecar_path):
                    output._unlink_quietly(path)
                raise Cancelled("cancelled")
        except Cancelled:
            self._finish(job, CANCELLED)
            return
        except JascoError as err:
            self._finish(job, FAILED, error=err)
            return
        except Exception as err:  # noqa: BLE001 - one job's failure never stops the worker
            log.exception("job %s failed", job.job_id)
            self._finish(job, FAILED, error=RenderFailed(f"{type(err).__name__}: {err}"))
            return
        job.output_path = str(clip.path)
        self._notify(job, "progress", 1.0)
        self._finish(job, DONE, clip=clip)

    def _check_cancel(self, job: Job) -> None:
        with self._lock:
            if job.cancel_requested:
                raise Cancelled("cancelled")
            if self._stopping:
                raise Interrupted("the server is shutting down")

    def _ensure_engine(self, model: str, job: Job | None, wait_s: float | None = None) -> _EngineProcess:
        """A ready engine for ``model``: reuse, or (re)start and wait for it to load.

        With ``wait_s``, return after that long even when it is still loading.
        """
        with self._lock:
            engine = self._engine
        if engine is not None and (engine.model != model or not engine.alive()):
            if engine.model != model:
                log.info("switching model %r -> %r", engine.model, model)
            engine.kill(graceful=0.5 if engine.alive() else 0.0)
            with self._lock:
                self._engine = engine = None
        if engine is None:
            with self._lock:
                recent = (self._load_error is not None and self._load_failed_model == model
                          and time.monotonic() - self._load_failed_at < self.load_retry_s)
                err = self._load_error
            if recent and err is not None:
                # Jobs queued behind a failed load fail at once instead of each spawning a loader.
                raise _coded(err.code, str(err))
            engine = _EngineProcess(model, self.device, self.dtype, self._factory)
            with self._lock:
                self._engine = engine
        if engine.ready:
            return engine
        deadline = engine.started + self.load_timeout
        give_up = time.monotonic() + wait_s if wait_s is not None else None
        while True:
            if give_up is not None and time.monotonic() >= give_up:
                return engine
            if job is not None:
                self._check_cancel(job)  # leave the engine loading for the next job
            elif self._stopping:
                raise Interrupted("the server is shutting down")
            kind, msg = engine.wait(POLL_S)
            if kind == "timeout":
                if time.monotonic() > deadline:
                    self._drop_engine(engine)
                    raise self._load_failed(ModelLoadError(
                        f"model {model!r} did not load within {self.load_timeout:g} s"), model)
                continue
            if kind == "dead":
                self._drop_engine(engine)
                raise self._load_failed(ModelLoadError(
                    f"the engine process died while loading model {model!r} ({_death_message(msg)})"), model)
            if msg[0] == "ready":
                engine.info = dict(msg[1])
                with self._lock:
                    self._load_error = None
                log.info("model %r loaded in %.1f s (engine pid %s)", model,
                         time.monotonic() - engine.started, engine.pid)
                return engine
            if msg[0] == "load_failed":
                self._drop_engine(engine)
                raise self._load_failed(_coded(msg[1], msg[2]), model)
            log.warning("unexpected engine message while loading: %r", msg[0])

    def _load_failed(self, err: JascoError, model: str | None = None) -> JascoError:
        with self._lock:
            self._load_error = err
            self._load_failed_model = model
            self._load_failed_at = time.monotonic()
        log.error("model load failed: [%s] %s", err.code, err)
        return err

    def _drop_engine(self, engine: _EngineProcess) -> None:
        engine.kill()
        with self._lock:
            if self._engine is engine:
                self._engine = None

    def _restart_engine(self, model: str) -> None:
        """Start a fresh engine right away (it loads while the worker reports the failure)."""
        with self._lock:
            if self._stopping or self._engine is not None:
                return
        try:
            engine = _EngineProcess(model, self.device, self.dtype, self._factory)
        except Exception as err:  # noqa: BLE001 - spawning can fail (fds, memory); retried on next job
            log.error("could not restart the engine process: %s", err)
            return
        with self._lock:
            self._engine = engine  # it loads in the child; _take/_ensure_engine watch for "ready"

    def _render(self, engine: _EngineProcess, job: Job, payload: dict[str, Any]) -> tuple[np.ndarray, int, int | None]:
        self._check_cancel(job)
        if not engine.send(("render", job.job_id, payload)):
            self._drop_engine(engine)
            self._restart_engine(engine.model)
            raise EngineDied(_death_message(engine.proc.exitcode))
        last_emit = -1e9
        last_fraction = 0.0
        cancel_sent = False
        last_heard = time.monotonic()  # the stall watchdog's clock: reset by every engine message
        while True:
            with self._lock:
                stopping = self._stopping
                cancel_time = job.cancel_time if job.cancel_requested else None
            if cancel_time is not None and not cancel_sent:
                engine.cancel(job.job_id)  # again: cancel() may have seen no engine yet
                cancel_sent = True
            if stopping:
                self._drop_engine(engine)
                raise Interrupted("the server is shutting down")
            if cancel_time is not None and time.monotonic() - cancel_time > self.cancel_grace:
                log.warning("engine did not stop job %s within %.1f s of cancel; restarting it",
                            job.job_id, self.cancel_grace)
                self._drop_engine(engine)
                self._restart_engine(engine.model)
                raise Cancelled("cancelled")
            kind, msg = engine.wait(POLL_S)
            if kind == "timeout":
                silent = time.monotonic() - last_heard
                if silent > self.stall_timeout:
                    log.warning("job %s: engine process %s sent nothing for %.1f s (stall timeout %g s); "
                                "killing and restarting it", job.job_id, engine.pid, silent, self.stall_timeout)
                    self._drop_engine(engine)  # SIGKILL: a frozen or stopped process cannot stop itself
                    self._restart_engine(engine.model)
                    if cancel_time is not None:
                        raise Cancelled("cancelled")
                    raise EngineDied(f"the engine stalled for {self.stall_timeout:g} s without progress "
                                     f"(at {100 * last_fraction:.0f} %); it was killed and is being restarted")
                continue
            last_heard = time.monotonic()
            if kind == "dead":
                self._drop_engine(engine)
                self._restart_engine(engine.model)
                if cancel_time is not None:
                    raise Cancelled("cancelled")
                raise EngineDied(_death_message(msg))
            tag = msg[0]
            if len(msg) > 1 and msg[1] != job.job_id:
                log.debug("ignoring stale engine message %r for %r", tag, msg[1])
                continue
            if tag == "progress":
                fraction = min(max(float(msg[3]), 0.0), 0.99)
                now = time.monotonic()
                if fraction > last_fraction and now - last_emit >= self.progress_interval:
                    last_emit, last_fraction = now, fraction
                    self._notify(job, "progress", fraction)
            elif tag == "result":
                job.engine_seconds = float(msg[5]) if len(msg) > 5 else None
                return msg[2], int(msg[3]), msg[4]
            elif tag == "cancelled":
                raise Cancelled("cancelled")
            elif tag == "error":
                raise _coded(msg[2], msg[3])
            else:
                log.warning("unexpected engine message %r", tag)

    def _finish(self, job: Job, state: str, *, error: JascoError | None = None,
                clip: output.ClipResult | None = None) -> None:
        with self._lock:
            if job.closed:
                return
            job.closed = True
            if error is not None and error.code == Interrupted.code:
                state = INTERRUPTED
            job.state = state
            if self._running is job:
                self._running = None
            if error is not None:
                job.error_code, job.error_message = error.code, str(error)
        journal = self._journal
        if state == DONE and clip is not None:
            if journal is not None:
                journal.mark_done(job.job_id, str(clip.path))
            self._notify(job, "done", str(clip.path), float(clip.seconds), float(job.request.bpm))
        elif state == CANCELLED:
            if journal is not None:
                journal.mark_cancelled(job.job_id)
            self._notify(job, "cancelled")
        else:
            err = error or RenderFailed("the render failed")
            if journal is not None:
                if err.code == Interrupted.code:
                    journal.mark_interrupted(job.job_id, str(err))
                else:
                    journal.mark_failed(job.job_id, err.code, str(err))
            log.warning("job %s failed: [%s] %s", job.job_id, err.code, err)
            self._notify(job, "error", err.code, str(err))
        job.finished.set()

    def _interrupt_remaining(self) -> None:
        with self._lock:
            remaining = list(self._queue)
            self._queue.clear()
            if self._running is not None:
                remaining.append(self._running)
        for job in remaining:
            self._finish(job, FAILED, error=Interrupted("the server stopped before this job finished"))

    # --- helpers ---------------------------------------------------------------------------------------------
    def _remember(self, job: Job) -> None:
        """Keep every active job and the last KEEP_FINISHED_JOBS finished ones (lock held)."""
        self._jobs[job.job_id] = job
        while len(self._jobs) > KEEP_FINISHED_JOBS + self.max_queue + 1:
            oldest_id, oldest = next(iter(self._jobs.items()))
            if not oldest.finished.is_set():
                self._jobs.move_to_end(oldest_id)
                break
            del self._jobs[oldest_id]

    def _notify(self, job: Job, event: str, *args: Any) -> None:
        try:
            getattr(job.listener, event)(job.job_id, *args)
        except Exception:  # noqa: BLE001 - a broken listener must not break the worker
            log.exception("listener.%s(%s) raised", event, job.job_id)

    def _open_journal(self) -> Journal:
        path = self._journal_path or self.clip_dir / JOURNAL_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return Journal(path)
        except sqlite3.OperationalError as err:  # locked by another server, read-only, ...
            log.error("cannot open the job journal %s (%s); jobs will not survive a restart", path, err)
        except sqlite3.DatabaseError as err:
            # Not a database (or damaged beyond use): keep it for inspection, start a fresh one.
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            log.error("job journal %s is damaged (%s); moved it to %s", path, err, aside.name)
            try:
                os.replace(path, aside)
                return Journal(path)
            except (OSError, sqlite3.Error) as err2:
                log.error("cannot start a fresh journal (%s); jobs will not survive a restart", err2)
        except (OSError, sqlite3.Error) as err:
            log.error("cannot open the job journal %s (%s); jobs will not survive a restart", path, err)
        return Journal.in_memory()
