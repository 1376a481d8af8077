"""The render worker: one named thread, a bounded queue, a supervised engine process.

In the style of sentry-python's background worker: ``RenderWorker.submit`` puts a
frozen ``RenderRequest`` on a bounded queue (``QueueFull`` beyond ``max_queue``
waiting jobs); the thread "jasco-worker" takes one job at a time, and every job runs
inside its own try/except so one failure never stops the worker.

The model itself lives behind an engine backend (``bridge.engines.backend.EngineBackend``):
by default a child process supervised by ``bridge.engines.local.EngineSupervisor`` (started
with ``subprocess`` and one socket pair, messages from ``core.wire``), so a crash, a hang or a SIGKILL of the engine
cannot take the server with it (and a killed server's engine exits by itself when
the socket closes). The worker owns the queue and the jobs; the supervisor the engine:

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
* reading a job's input files (the drum loop) runs on a helper thread with a deadline
  (``read_timeout``), so a hung file system fails the job (``render_failed``) instead of the
  worker, and cancel and shutdown are answered meanwhile;
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
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from bridge import clips
from bridge.engine_input import render_message
from bridge.engines.backend import DEFAULT_STALL_TIMEOUT, EngineBackend, RunControl, coded
from bridge.engines.local import EngineFactory, EngineOptions, EngineSupervisor, factory_spec
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
    JobListener,
    WorkerStatus,
    new_job_id,
)
from bridge.job_cost import DEFAULT_MAX_COST, check_cost
from bridge.journal import JOURNAL_NAME, Journal, move_aside
from core.errors import (
    BadConfig,
    Cancelled,
    Interrupted,
    JascoError,
    QueueFull,
    RenderFailed,
    UnknownJob,
)
from core.requests import RenderRequest

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["RenderWorker", "WorkerStatus", "InterruptedJob", "DEFAULT_STALL_TIMEOUT"]

THREAD_NAME = "jasco-worker"
STEP_POLL_S = 0.05  # how often a blocking step's wait looks at cancel and shutdown
READ_TIMEOUT_S = 60.0  # reading a job's input files (a 200 MB drum file takes a few seconds)
KEEP_FINISHED_JOBS = 1000  # finished jobs remembered for cancel() -> False instead of UnknownJob


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

    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int = 0) -> None:
        self.path = path
        self.event.set()

    def error(self, job_id: str, code: str, message: str) -> None:
        self.failure = coded(code, message)
        self.event.set()

    def cancelled(self, job_id: str) -> None:
        self.event.set()


def precision_label(info: Mapping[str, Any]) -> str:
    """The engine's precision as ``/jasco/status`` says it: ``bfloat16``, ``float32+compile``."""
    dtype = str(info.get("dtype") or "")
    return dtype + ("+compile" if info.get("compiled") else "") if dtype else ""


# --- the worker ------------------------------------------------------------------------------------------
class RenderWorker:
    """One render thread and one engine process; see the module docstring."""

    def __init__(self, *, model: str, clip_dir: Path, max_queue: int = 16, device: str = "cpu",
                 dtype: str | None = None, compile: bool = False, engine_factory: str | EngineFactory | None = None,
                 journal_path: Path | None = None, progress_interval: float = 0.1,
                 cancel_grace: float = 5.0, load_timeout: float = 900.0, load_retry_s: float = 2.0,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT, engines: EngineBackend | None = None,
                 read_timeout: float = READ_TIMEOUT_S, max_per_client: int | None = None,
                 max_job_cost: float | None = DEFAULT_MAX_COST) -> None:
        if max_queue < 1:
            raise BadConfig(f"max_queue must be at least 1, got {max_queue}")
        # Fairness: one client holds at most ``max_per_client`` waiting jobs (default three quarters of
        # the queue: 12 of 16, so other clients find room), and clients take turns (round robin) when
        # jobs start, so another client's job waits for at most one job of each client, not for all.
        self.max_per_client = (int(max_per_client) if max_per_client is not None
                               else max(1, max_queue - max_queue // 4))
        if self.max_per_client < 1:
            raise BadConfig(f"max_per_client must be at least 1, got {max_per_client}")
        if max_job_cost is not None and not max_job_cost > 0:
            raise BadConfig(f"max_job_cost must be positive, got {max_job_cost}")
        self.max_job_cost = max_job_cost  # None: no ceiling (bridge.job_cost)
        self._turns: dict[str, int] = {}  # client -> when it last had a job started (round robin)
        self._turn = 0
        # ``engines``: where renders run (bridge.engines.backend.EngineBackend): by default a local
        # engine process; bridge.engines.remote.RemoteEngines for ``serve --engine URL``.
        self.engines: EngineBackend = engines if engines is not None else EngineSupervisor(
            EngineOptions(device=device, dtype=dtype, compile=compile, factory=factory_spec(engine_factory)),
            load_timeout=load_timeout, load_retry_s=load_retry_s, cancel_grace=cancel_grace,
            stall_timeout=stall_timeout)
        self.model = model
        self.device = device
        self.dtype = dtype
        self.compile = bool(compile)
        # absolute and without symlinks: /jasco/done always names the file as the file system does, so a
        # client comparing it with what it reads back elsewhere (Live's Clip.file_path) sees one spelling
        self.clip_dir = Path(clip_dir).expanduser().resolve()
        self.max_queue = int(max_queue)
        self.progress_interval = float(progress_interval)
        self.read_timeout = float(read_timeout)
        self._journal_path = Path(journal_path) if journal_path is not None else None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._submit_lock = threading.RLock()
        self._queue: collections.deque[Job] = collections.deque()
        self._jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._running: Job | None = None
        self._stopping = False
        self._started = False
        self._thread: threading.Thread | None = None
        self._journal: Journal | None = None
        self._interrupted: list[InterruptedJob] = []

    @property
    def stall_timeout(self) -> float:
        return self.engines.stall_timeout

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the journal, recover a killed server's jobs, start the thread and the engine."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if threading.current_thread() is threading.main_thread():
            clips.ignore_sigxfsz()  # a file-size limit becomes disk_full, not a dead server
        self._journal = self._open_journal()
        self._interrupted = self._journal.recover()
        clips.cleanup_temp_files(self.clip_dir)
        self.engines.start(self.model)  # loads while the thread starts; status() says "loading"
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
                self._wake.notify_all()
        if not already:
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
                if thread.is_alive():
                    log.error("render worker did not stop within %.1f s; killing the engine", timeout)
            self.engines.shutdown()
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
        if self.max_job_cost is not None:
            check_cost(request, self.max_job_cost)
        with self._submit_lock:
            with self._lock:
                if self._stopping:
                    raise Interrupted("the server is shutting down; the job was not queued")
                if len(self._queue) >= self.max_queue:
                    raise QueueFull(f"the render queue is full ({len(self._queue)} jobs waiting); "
                                    "try again when one has finished")
                mine = sum(1 for j in self._queue if j.request.client == request.client)
                if mine >= self.max_per_client:
                    raise QueueFull(f"you have {mine} jobs waiting, the most one client may have "
                                    f"(of {self.max_queue}); try again when one of yours has started")
                job = Job(job_id=new_job_id(), request=request, listener=listener)
                # Jobs ahead of it in the turns clients take (not only the ones submitted before it).
                position = self._schedule(extra=job).index(job) + (1 if self._running is not None else 0)
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
                self._wake.notify_all()
            elif job.state == QUEUED and job in self._queue and not job.closed:
                self._queue.remove(job)
                job.state = CANCELLED
                job.closed = True
            else:
                return False
        if job.state == RUNNING:
            engine = self.engines.engine
            if engine is not None:
                engine.cancel(job_id)
            return True
        if self._journal is not None:
            self._journal.mark_cancelled(job_id)
        self._notify(job, "cancelled")
        job.finished.set()
        return True

    def status(self) -> WorkerStatus:
        engine = self.engines.engine
        load_error = self.engines.load_error
        failed_model = self.engines.load_failed_model or ""
        with self._lock:
            if self._running is not None:
                state = RENDERING
            elif engine is not None and not engine.ready:
                state = LOADING
            elif load_error is not None:
                state = ERROR
            else:
                state = IDLE
            return WorkerStatus(
                state=state,
                queued=len(self._queue),
                model=engine.model if engine is not None else self.model,
                device=str((engine.info or {}).get("device", self.device)) if engine is not None else self.device,
                running=self._running.job_id if self._running is not None else None,
                engine_pid=engine.pid if engine is not None else None,
                error=str(load_error) if state == ERROR and load_error else "",
                error_code=load_error.code if state == ERROR and load_error else "",
                error_model=failed_model if state == ERROR and load_error else "",
                precision=precision_label(engine.info) if engine is not None and engine.info else "",
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
        engine = self.engines.engine
        return engine.pid if engine is not None else None

    @property
    def engine_info(self) -> dict[str, Any] | None:
        """What the loaded engine reported (model_id, model_revision, sample_rate, …)."""
        engine = self.engines.engine
        return dict(engine.info) if engine is not None and engine.info else None

    # --- the worker thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        log.info("render worker started; loading model %r on %s", self.model, self.device)
        try:
            try:
                self.engines.ensure(self.model, check=self._check_stopping)
            except Interrupted:
                # stop() came while the model was still loading: _take() below sees _stopping and
                # returns None, so the thread goes straight to killing the engine and ending.
                log.debug("stopped while the model %r was loading at start", self.model)
            except JascoError as err:
                log.debug("the model could not be loaded at start: [%s] %s", err.code, err)  # logged once by the supervisor
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
                self._running = None
            self.engines.shutdown(graceful=0.5)
            log.info("render worker stopped")

    def _schedule(self, extra: Job | None = None) -> list[Job]:
        """Lock held: the waiting jobs (and ``extra``) in the order they will start: clients take turns,
        the one whose job started longest ago (or never) first; each client's own jobs in order."""
        per_client: dict[str, collections.deque[Job]] = {}
        for j in (*self._queue, *((extra,) if extra is not None else ())):
            per_client.setdefault(j.request.client, collections.deque()).append(j)
        turns = dict(self._turns)
        tick = self._turn
        order: list[Job] = []
        while per_client:
            client = min(per_client, key=lambda c: turns.get(c, -1))
            order.append(per_client[client].popleft())
            if not per_client[client]:
                del per_client[client]
            tick += 1
            turns[client] = tick
        return order

    def _take(self) -> Job | None:
        while True:
            with self._lock:
                if self._stopping:
                    return None
                if self._queue:
                    job = self._schedule()[0]
                    self._queue.remove(job)
                    self._turn += 1
                    self._turns[job.request.client] = self._turn
                    if len(self._turns) > 4 * self.max_queue:  # forget clients with nothing waiting
                        waiting = {j.request.client for j in self._queue}
                        self._turns = {c: t for c, t in self._turns.items() if c in waiting}
                    job.state = RUNNING
                    self._running = job
                    return job
            engine = self.engines.engine
            with self._lock:
                if self._stopping or self._queue:
                    continue
                if engine is None or engine.ready:
                    self._wake.wait()
                    continue
            # An engine is loading (restarted after a death) and nothing is queued: watch it
            # so status() turns from "loading" to "idle"/"error" without waiting for a job.
            try:
                self.engines.ensure(engine.model, check=self._check_stopping, wait_s=0.05)
            except JascoError as err:
                log.debug("engine not ready: [%s] %s", err.code, err)

    def _process(self, job: Job) -> None:
        started = time.time()
        if self._journal is not None:
            self._journal.mark_running(job.job_id)
        self._notify(job, "started")
        request = job.request
        try:
            # Reading the drum file can block (a slow or hung file system): off this thread, with a
            # deadline, and cancel and shutdown answered meanwhile.
            render, (drums_sha,) = self._bounded(job, lambda: render_message(job.job_id, (request,)),
                                                 self.read_timeout, "reading the job's input files")
            engine = self.engines.ensure(request.model or self.model, check=lambda: self._check_cancel(job))
            self._check_cancel(job)
            result = self.engines.run(engine, render, self._control(job))
            job.engine_seconds = float(result.seconds)
            self._check_cancel(job)
            timings = {"queued_s": round(started - job.created, 4), "engine_s": round(job.engine_seconds, 4)}
            clip = clips.write_clip(result.audio[0], result.sample_rate, request, self.clip_dir,
                                    engine_info=engine.info or {}, nfe=result.nfe, job_id=job.job_id,
                                    drums_sha256=drums_sha, timings=timings, timeline=result.timeline,
                                    before_commit=lambda: self._check_cancel(job))  # nothing visible once cancelled
            with self._lock:
                late_cancel = job.cancel_requested
            if late_cancel:
                for path in (clip.path, clip.sidecar_path):
                    path.unlink(missing_ok=True)
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
        log.info("job %s done: client %s, prompt %r, %s bars, seed %d, engine %.2f s (%s nfe), %.1f s in all, %s",
                 job.job_id, request.client or "-", request.prompt[:60], request.params.bars or "10 s",
                 request.params.seed, job.engine_seconds or 0.0, result.nfe, time.time() - started, clip.path)
        self._notify(job, "progress", 1.0)
        self._finish(job, DONE, clip=clip)

    def _control(self, job: Job) -> RunControl:
        """How a running job's cancel, the shutdown and its throttled progress reach the supervisor."""
        last = {"emit": -1e9, "fraction": 0.0}

        def cancel_time() -> float | None:
            with self._lock:
                return job.cancel_time if job.cancel_requested else None

        def stopping() -> bool:
            with self._lock:
                return self._stopping

        def progress(fraction: float, nfe: int) -> None:
            fraction = min(fraction, 0.99)  # 1.0 only once the file is written
            now = time.monotonic()
            if fraction > last["fraction"] and now - last["emit"] >= self.progress_interval:
                last["emit"], last["fraction"] = now, fraction
                self._notify(job, "progress", fraction)

        return RunControl(cancel_time=cancel_time, stopping=stopping, progress=progress)

    def _bounded(self, job: Job, step: Callable[[], T], deadline_s: float, what: str) -> T:
        """Run one step that may block on another thread: cancel, shutdown and a deadline still end it.

        A step that overruns is left to finish on its (daemon) thread; its result is dropped.
        """
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = step()
            except BaseException as err:  # noqa: BLE001 - handed to the worker thread below
                box["error"] = err
            finally:
                done.set()

        threading.Thread(target=run, name=f"{THREAD_NAME}-io", daemon=True).start()
        give_up = time.monotonic() + deadline_s
        while not done.wait(STEP_POLL_S):
            self._check_cancel(job)
            if time.monotonic() > give_up:
                raise RenderFailed(f"{what} took longer than {deadline_s:g} s (is a file on a slow or "
                                   "unreachable disk?); the job was stopped")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _check_cancel(self, job: Job) -> None:
        with self._lock:
            if job.cancel_requested:
                raise Cancelled("cancelled")
            if self._stopping:
                raise Interrupted("the server is shutting down")

    def _check_stopping(self) -> None:
        if self._stopping:
            raise Interrupted("the server is shutting down")

    def _finish(self, job: Job, state: str, *, error: JascoError | None = None,
                clip: clips.ClipResult | None = None) -> None:
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
            self._notify(job, "done", str(clip.path), float(clip.seconds), float(job.request.bpm),
                         int(job.request.params.seed))
        elif state == CANCELLED:
            if journal is not None:
                journal.mark_cancelled(job.job_id)
            log.info("job %s cancelled: client %s, prompt %r", job.job_id, job.request.client or "-",
                     job.request.prompt[:60])
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
            try:
                aside = move_aside(path)
                log.error("job journal %s is damaged (%s); moved it to %s", path, err, aside.name)
                return Journal(path)
            except (OSError, sqlite3.Error) as err2:
                log.error("cannot start a fresh journal (%s); jobs will not survive a restart", err2)
        except (OSError, sqlite3.Error) as err:
            log.error("cannot open the job journal %s (%s); jobs will not survive a restart", path, err)
        return Journal.in_memory()
