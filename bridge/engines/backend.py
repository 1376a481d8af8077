"""The engine contract: what the render worker (and ``jasco-bridge render``) asks of an engine backend.

Two backends implement it: :class:`bridge.engines.local.EngineSupervisor` (one ``python -m
engine.service`` child process on this machine) and :class:`bridge.engines.remote.RemoteEngines`
(``jasco-bridge engine-serve`` elsewhere, over HTTP). The worker is typed with :class:`EngineBackend`
and never looks behind it; ``tests/bridge/test_engine_contract.py`` checks that both backends (and
both engine handles) have every member with the same signature.

A backend keeps one engine for one model at a time:

- ``start(model)`` begins loading in the background; ``ensure(model, check=..., wait_s=...)``
  returns a ready :class:`Engine` (reusing, switching or restarting it), calling ``check`` while it
  waits (it raises to give up: a cancel, a shutdown); with ``wait_s`` it returns after that long even
  while loading. A failed load is remembered (:class:`LoadFailures`) so the jobs queued behind it fail
  at once with the same coded error.
- ``run(engine, render, control)`` sends one ``core.wire.Render`` and returns its ``wire.Result``;
  every message on the way is handled by :func:`settle` (progress, a cancel, a coded failure), and
  :class:`RunControl` is how the job's owner is asked about a cancel or a shutdown. A silence longer
  than ``stall_timeout`` kills the engine (``EngineDied``).
- ``engine``, ``load_error``, ``load_failed_model`` answer ``status()`` from other threads;
  ``shutdown(graceful)`` ends it.

This module is torch-free, like all of ``bridge``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, Protocol, TypeVar

from core import wire
from core.errors import BadConfig, Cancelled, JascoError, RenderFailed, all_codes

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often waiting loops look at cancel/stop flags
# Seconds of engine silence mid-render before the watchdog kills it: generous, because one function
# evaluation of the 1B model on a CPU can take tens of seconds.
DEFAULT_STALL_TIMEOUT = 600.0


def positive_seconds(name: str, value: object) -> float:
    """``value`` as a positive number of seconds (``inf`` = never), else ``BadConfig`` naming ``name``."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadConfig(f"{name} must be a positive number of seconds, got {value!r}") from None
    if seconds != seconds or seconds <= 0:
        raise BadConfig(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def coded(code: str, message: str) -> JascoError:
    """The project's error class for a stable code (a code we do not know is kept for the client)."""
    cls = all_codes().get(code, RenderFailed)
    err = cls(message)
    if err.code != code:
        err.code = code  # type: ignore[misc]
    return err


def settle(msg: Any, job_id: str, control: "RunControl", fraction: float) -> tuple[wire.Result | None, float]:
    """One engine message while ``job_id`` runs (local or remote engine alike): its result, or None and
    the progress so far. Progress is reported (never backwards), a cancel or failure is raised as its
    coded error, a message for another job is ignored."""
    if getattr(msg, "job_id", job_id) != job_id:
        log.debug("ignoring a stale %s for %r", wire.kind_of(msg), getattr(msg, "job_id", None))
        return None, fraction
    if isinstance(msg, wire.Progress):
        fraction = max(fraction, min(max(float(msg.t), 0.0), 1.0))
        control.progress(fraction, int(msg.nfe))
        return None, fraction
    if isinstance(msg, wire.Result):
        return msg, fraction
    if isinstance(msg, wire.Cancelled):
        raise Cancelled("cancelled")
    if isinstance(msg, wire.Failed):
        raise coded(msg.code, msg.message)
    log.warning("unexpected engine message %s", wire.kind_of(msg))
    return None, fraction


class LoadFailures:
    """The last failed load of an engine backend (local process or remote): its error, model and time.

    Jobs queued right behind a failure (within ``retry_s``, same model) fail at once with that error
    instead of each starting a loader; ``record`` says whether a failure is new, so it is logged once.
    """

    def __init__(self, retry_s: float) -> None:
        self.retry_s = float(retry_s)
        self._lock = threading.Lock()
        self._error: JascoError | None = None
        self._model: str | None = None
        self._at = 0.0

    @property
    def error(self) -> JascoError | None:
        with self._lock:
            return self._error

    @property
    def model(self) -> str | None:
        """The model ``error`` is about (None while nothing failed)."""
        with self._lock:
            return self._model if self._error is not None else None

    def recent(self, model: str) -> JascoError | None:
        """A copy of the failure of ``model`` when it is younger than ``retry_s``, else None."""
        with self._lock:
            err = self._error
            if err is None or self._model != model or time.monotonic() - self._at >= self.retry_s:
                return None
        return coded(err.code, str(err))

    def record(self, err: JascoError, model: str | None) -> bool:
        """Remember ``err``; True when it differs from the failure already remembered (log it)."""
        with self._lock:
            repeated = (self._error is not None and self._model == model and self._error.code == err.code
                        and str(self._error) == str(err))
            self._error, self._model, self._at = err, model, time.monotonic()
        return not repeated

    def clear(self) -> None:
        with self._lock:
            self._error = None


@dataclass
class RunControl:
    """What a running job asks its owner, polled every ``POLL_S``."""

    cancel_time: Callable[[], float | None]  # monotonic time of a cancel request, or None
    stopping: Callable[[], bool]  # the owner is shutting down
    progress: Callable[[float, int], None]  # fraction 0..1 along the trajectory, function evaluations


E = TypeVar("E")


class BackendState(Generic[E]):
    """What both backends keep: the current engine (under ``_lock``) and the last failed load
    (``failures``); it answers the contract's ``engine``, ``load_error`` and ``load_failed_model``
    from other threads (``status()``)."""

    def __init__(self, load_retry_s: float) -> None:
        self._lock = threading.Lock()
        self._engine: E | None = None
        self.failures = LoadFailures(load_retry_s)

    @property
    def engine(self) -> E | None:
        with self._lock:
            return self._engine

    @property
    def load_error(self) -> JascoError | None:
        return self.failures.error

    @property
    def load_failed_model(self) -> str | None:
        """The model ``load_error`` is about."""
        return self.failures.model

    def _new_engine(self, model: str, make: Callable[[], E], *, after_failure: bool = True) -> E:
        """``make()`` as the current engine for ``model``. With ``after_failure``, a load of ``model``
        that failed within ``retry_s`` is raised instead: the jobs queued behind a failed load fail at
        once rather than each starting a loader."""
        recent = self.failures.recent(model) if after_failure else None
        if recent is not None:
            raise recent
        engine = make()
        with self._lock:
            self._engine = engine
        return engine


class Engine(Protocol):
    """One loaded (or loading) engine, as the worker sees it."""

    model: str
    info: dict[str, Any] | None  # what the engine reported when it was ready (model_id, sample_rate, ...)

    @property
    def ready(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...  # a local process's id; None for a remote engine

    def alive(self) -> bool: ...

    def cancel(self, job_id: str) -> None: ...  # ask the engine to stop ``job_id`` (returns at once)


class EngineBackend(Protocol):
    """Where the worker's renders run: see the module docstring."""

    stall_timeout: float

    @property
    def engine(self) -> Engine | None: ...

    @property
    def load_error(self) -> JascoError | None: ...

    @property
    def load_failed_model(self) -> str | None: ...

    def start(self, model: str) -> None: ...

    def ensure(self, model: str, *, check: Callable[[], None], wait_s: float | None = None) -> Engine: ...

    def run(self, engine: Any, render: wire.Render, control: RunControl) -> wire.Result: ...

    def shutdown(self, graceful: float = 0.0) -> None: ...
