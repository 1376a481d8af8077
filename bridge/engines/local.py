"""The engine child process, seen from the bridge: start, load, render one job, supervise.

:class:`EngineProcess` is one ``python -m engine.service`` child and our end of its
socket; it speaks only the declared messages of ``core.wire``. The child gets its end as an
inherited descriptor on POSIX (``pass_fds``), or, where descriptors cannot be inherited that
way (Windows), by connecting to a one-time listener on 127.0.0.1 with a random token.
:class:`EngineSupervisor` keeps one engine for a model: it (re)starts it, waits for
it to load (``load_timeout``), remembers a failed load for ``load_retry_s`` so jobs
queued behind it fail at once, and runs one render on it (:meth:`EngineSupervisor.run`)
with the stall watchdog (``stall_timeout`` seconds of silence: kill and restart; a kill is SIGKILL on POSIX,
TerminateProcess on Windows), cancellation (``Cancel`` at once, kill after ``cancel_grace``) and progress.
The render worker (``bridge.worker``) and ``jasco-bridge render`` both use it, so a
clip is rendered the same way from OSC and from the command line.

This module never imports torch; only the child process does.
"""

from __future__ import annotations

import hmac
import logging
import multiprocessing.connection
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from bridge.engines.backend import (
    DEFAULT_STALL_TIMEOUT,
    POLL_S,
    BackendState,
    RunControl,
    coded,
    positive_seconds,
    settle,
)
from core import wire
from core.errors import (
    BadArguments,
    BadConfig,
    Cancelled,
    EngineDied,
    Interrupted,
    JascoError,
    ModelLoadError,
)

log = logging.getLogger(__name__)

TINY_LABEL = " (the embedded RANDOM TEST MODEL: it makes noise, not music)"

EngineFactory = Callable[..., Any]


def factory_spec(factory: str | EngineFactory | None) -> str | None:
    """The engine factory as a dotted path the child process can import."""
    if factory is None or isinstance(factory, str):
        return factory
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        raise BadConfig("engine_factory must be importable by dotted path (a module-level function or "
                        "classmethod), because the engine runs in a separate process")
    return f"{module}:{qualname}"


def death_message(exitcode: int | None) -> str:
    if exitcode is None:
        return "the engine process stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the engine process was killed by {name}{hint}; it is being restarted"
    return f"the engine process exited with code {exitcode}; it is being restarted"


HANDOFFS = ("fd", "tcp")
TOKEN_BYTES = 32
TOKEN_READ_TIMEOUT_S = 5.0


def default_handoff() -> str:
    """How the engine gets its socket: an inherited descriptor (POSIX: ``pass_fds``) or, where
    descriptors cannot be handed down (Windows), a one-time loopback connection (see EngineProcess).
    ``JASCO_ENGINE_HANDOFF=tcp`` chooses the Windows way anywhere (to test it on Linux and macOS)."""
    chosen = os.environ.get("JASCO_ENGINE_HANDOFF", "").strip().lower()
    if chosen in HANDOFFS and (chosen == "tcp" or os.name == "posix"):
        return chosen
    return "fd" if os.name == "posix" else "tcp"


@dataclass(frozen=True)
class EngineOptions:
    """How to start an engine process (everything but the model)."""

    device: str = "cpu"
    dtype: str | None = None  # core.defaults.ENGINE_DTYPES; None = the engine's default (audiocraft's)
    compile: bool = False  # torch.compile the model's transformer (engine.transformer.compile_transformer)
    factory: str | None = None
    overrides: Mapping[str, str] | None = None  # t5 / compression / vocab paths (render command)
    handoff: str | None = None  # "fd" | "tcp" | None = default_handoff()


class EngineProcess:
    """The engine child (``python -m engine.service``) and our end of its socket pair."""

    def __init__(self, model: str, options: EngineOptions) -> None:
        self.model = model
        handoff = options.handoff or default_handoff()
        if handoff not in HANDOFFS:
            raise BadConfig(f"engine handoff must be one of {', '.join(HANDOFFS)}, got {handoff!r}")
        cmd = [sys.executable, "-m", "engine.service", "--model", model,
               "--device", options.device, "--log-level", str(logging.getLogger().getEffectiveLevel())]
        if options.dtype:
            cmd += ["--dtype", options.dtype]
        if options.compile:
            cmd.append("--compile")
        if options.factory:
            cmd += ["--factory", options.factory]
        for name, value in (options.overrides or {}).items():
            cmd += [f"--{name}", str(value)]
        env = dict(os.environ)
        # The child imports what we can import (a test's engine factory, an uninstalled checkout).
        paths = [p for p in sys.path if p and os.path.isdir(p)]
        env["PYTHONPATH"] = os.pathsep.join(paths + [env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
        self.conn: multiprocessing.connection.Connection | None = None
        self._listener: socket.socket | None = None
        self._token = b""
        if handoff == "fd":
            self._start_with_fd(cmd, env)
        else:
            self._start_with_loopback(cmd, env)
        self.handoff = handoff
        self._send_lock = threading.Lock()
        self.info: dict[str, Any] | None = None
        self.started = time.monotonic()
        log.debug("engine process %s started for model %r (%s handoff)", self.proc.pid, model, handoff)

    def _start_with_fd(self, cmd: list[str], env: dict[str, str]) -> None:
        """POSIX: one end of a socket pair is inherited by the child (``--fd N``)."""
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(cmd + ["--fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                                         stdin=subprocess.DEVNULL, env=env)
        except OSError as err:
            ours.close()
            raise ModelLoadError(f"cannot start the engine process: {err}") from err
        finally:
            theirs.close()  # so EOF on our end means the child is gone
        self.conn = multiprocessing.connection.Connection(ours.detach())

    def _start_with_loopback(self, cmd: list[str], env: dict[str, str]) -> None:
        """Everywhere (Windows): the child connects to a one-connection listener on 127.0.0.1 and proves
        with a one-time random token (given on its stdin, never on the command line) that it is our child;
        any other local connection is closed. The connection is taken in ``wait``."""
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=4)
        port = self._listener.getsockname()[1]
        self._token = secrets.token_bytes(TOKEN_BYTES)
        try:
            self.proc = subprocess.Popen(cmd + ["--connect", f"127.0.0.1:{port}"], stdin=subprocess.PIPE, env=env)
        except OSError as err:
            self._listener.close()
            raise ModelLoadError(f"cannot start the engine process: {err}") from err
        try:
            if self.proc.stdin is not None:  # always, with stdin=PIPE
                self.proc.stdin.write(self._token.hex().encode("ascii") + b"\n")
                self.proc.stdin.close()
        except OSError as err:  # the child died at once; wait() reports it
            log.debug("could not give engine process %s its token: %s", self.proc.pid, err)

    def _accept(self, timeout: float) -> bool:
        """Take the child's loopback connection when it has come (``--connect``); False while waiting."""
        listener = self._listener
        if listener is None:
            return self.conn is not None
        readable, _, _ = select.select([listener], [], [], max(timeout, 0.0))
        if not readable:
            return False
        sock, peer = listener.accept()
        try:
            sock.settimeout(TOKEN_READ_TIMEOUT_S)
            got = b""
            while len(got) < TOKEN_BYTES:
                chunk = sock.recv(TOKEN_BYTES - len(got))
                if not chunk:
                    break
                got += chunk
        except OSError as err:
            log.warning("engine connection from %s failed before its token: %s", peer, err)
            sock.close()
            return False
        if not hmac.compare_digest(got, self._token):
            log.warning("refused a connection to the engine port from %s: wrong token", peer)
            sock.close()
            return False
        sock.settimeout(None)
        self.conn = multiprocessing.connection.Connection(sock.detach())
        listener.close()
        self._listener = None
        return True

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
        if self.conn is None:
            started = time.monotonic()
            try:
                connected = self._accept(timeout)
            except OSError as err:
                log.warning("engine process %s: accepting its connection failed: %s", self.pid, err)
                connected = False
            if not connected:
                if not self.alive():
                    return "dead", self.exitcode()
                return "timeout", None
            timeout = max(0.0, timeout - (time.monotonic() - started))
        try:
            if self.conn is None or not multiprocessing.connection.wait([self.conn], timeout):
                return "timeout", None
            raw = self.conn.recv()
        except (EOFError, OSError):
            return "dead", self.exitcode()
        try:
            return "msg", wire.decode(raw)
        except BadArguments as err:
            log.warning("engine process %s sent a malformed message: %s", self.pid, err)
            return "timeout", None

    def send(self, msg: Any) -> bool:
        if self.conn is None:  # not connected yet: nothing can be listening for it
            return False
        try:
            with self._send_lock:
                self.conn.send(wire.encode(msg))
            return True
        except (BrokenPipeError, EOFError, OSError):
            return False

    def cancel(self, job_id: str) -> None:
        """Ask the sampler to stop ``job_id`` at its next function evaluation (any thread)."""
        self.send(wire.Cancel(job_id))

    def kill(self, graceful: float = 0.0) -> None:
        if self.alive() and graceful > 0:
            self.send(wire.Stop())
            try:
                self.proc.wait(graceful)
            except subprocess.TimeoutExpired:
                log.debug("engine process %s did not stop within %.1f s; killing it", self.proc.pid, graceful)
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(10.0)
        except subprocess.TimeoutExpired:
            log.error("engine process %s did not exit after being killed", self.proc.pid)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        try:
            if self.conn is not None:
                self.conn.close()
        except OSError as err:
            log.debug("closing the socket of engine process %s: %s", self.proc.pid, err)
        log.debug("engine process %s ended (exit code %s)", self.proc.pid, self.proc.returncode)


class EngineSupervisor(BackendState[EngineProcess]):
    """One engine process for one model at a time: (re)start, load, run jobs, watchdog.

    The local :class:`bridge.engines.backend.EngineBackend`."""

    def __init__(self, options: EngineOptions, *, load_timeout: float = 900.0, load_retry_s: float = 2.0,
                 cancel_grace: float = 5.0, stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> None:
        super().__init__(load_retry_s)
        self.options = options
        self.load_timeout = float(load_timeout)
        self.cancel_grace = float(cancel_grace)
        self.stall_timeout = positive_seconds("stall_timeout", stall_timeout)

    def start(self, model: str) -> None:
        """Start loading ``model`` in the background (a failure to spawn is remembered)."""
        try:
            engine = EngineProcess(model, self.options)
        except JascoError as err:
            self._load_failed(err, model)
            return
        with self._lock:
            self._engine = engine

    def shutdown(self, graceful: float = 0.0) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.kill(graceful)

    # --- loading ---------------------------------------------------------------------------------
    def ensure(self, model: str, *, check: Callable[[], None], wait_s: float | None = None) -> EngineProcess:
        """A ready engine for ``model``: reuse, or (re)start and wait for it to load.

        ``check`` is called while waiting and may raise (a cancelled job, a shutdown).
        With ``wait_s``, return after that long even when it is still loading.
        """
        engine = self.engine
        if engine is not None and (engine.model != model or not engine.alive()):
            if engine.model != model:
                log.info("switching model %r -> %r", engine.model, model)
            engine.kill(graceful=0.5 if engine.alive() else 0.0)
            with self._lock:
                self._engine = engine = None
        if engine is None:
            engine = self._new_engine(model, lambda: EngineProcess(model, self.options))
        if engine.ready:
            return engine
        deadline = engine.started + self.load_timeout
        give_up = time.monotonic() + wait_s if wait_s is not None else None
        while True:
            if give_up is not None and time.monotonic() >= give_up:
                return engine
            check()
            kind, msg = engine.wait(POLL_S)
            if kind == "timeout":
                if time.monotonic() > deadline:
                    self.drop(engine)
                    raise self._load_failed(ModelLoadError(
                        f"model {model!r} did not load within {self.load_timeout:g} s"), model)
                continue
            if kind == "dead":
                self.drop(engine)
                raise self._load_failed(ModelLoadError(
                    f"the engine process died while loading model {model!r} ({death_message(msg)})"), model)
            if isinstance(msg, wire.Ready):
                engine.info = dict(msg.info)
                self.failures.clear()
                log.info("model %r ready on %s (loaded in %.1f s, engine pid %s)%s", model,
                         engine.info.get("device", "?"), time.monotonic() - engine.started, engine.pid,
                         TINY_LABEL if model.split(":", 1)[0] == "tiny" else "")
                return engine
            if isinstance(msg, wire.LoadFailed):
                self.drop(engine)
                raise self._load_failed(coded(msg.code, msg.message), model)
            log.warning("unexpected engine message while loading: %s", wire.kind_of(msg))

    def _load_failed(self, err: JascoError, model: str | None = None) -> JascoError:
        if self.failures.record(err, model):
            log.error("model %r failed to load: [%s] %s", model, err.code, err)
        return err

    def drop(self, engine: EngineProcess) -> None:
        engine.kill()
        with self._lock:
            if self._engine is engine:
                self._engine = None

    def restart(self, model: str, *, stopping: bool = False) -> None:
        """Start a fresh engine right away (it loads while the owner reports the failure)."""
        with self._lock:
            if stopping or self._engine is not None:
                return
        try:
            engine = EngineProcess(model, self.options)
        except Exception as err:  # noqa: BLE001 - spawning can fail (fds, memory); retried on next job
            log.error("could not restart the engine process: %s", err)
            return
        with self._lock:
            self._engine = engine

    # --- one render ------------------------------------------------------------------------------
    def run(self, engine: EngineProcess, render: wire.Render, control: RunControl) -> wire.Result:
        """Send ``render`` and wait for its result, with cancel, watchdog and progress."""
        if not engine.send(render):
            self.drop(engine)
            self.restart(engine.model)
            raise EngineDied(death_message(engine.proc.exitcode))
        job_id = render.job_id
        cancel_sent = False
        last_fraction = 0.0
        last_heard = time.monotonic()  # the stall watchdog's clock: reset by every engine message
        while True:
            cancel_time = control.cancel_time()
            if cancel_time is not None and not cancel_sent:
                engine.cancel(job_id)
                cancel_sent = True
            if control.stopping():
                self.drop(engine)
                raise Interrupted("the server is shutting down")
            if cancel_time is not None and time.monotonic() - cancel_time > self.cancel_grace:
                log.warning("engine did not stop job %s within %.1f s of cancel; restarting it",
                            job_id, self.cancel_grace)
                self.drop(engine)
                self.restart(engine.model)
                raise Cancelled("cancelled")
            kind, msg = engine.wait(POLL_S)
            if kind == "timeout":
                silent = time.monotonic() - last_heard
                if silent > self.stall_timeout:
                    log.warning("job %s: engine process %s sent nothing for %.1f s (stall timeout %g s); "
                                "killing and restarting it", job_id, engine.pid, silent, self.stall_timeout)
                    self.drop(engine)  # SIGKILL: a frozen or stopped process cannot stop itself
                    self.restart(engine.model)
                    if cancel_time is not None:
                        raise Cancelled("cancelled")
                    raise EngineDied(f"the engine stalled for {self.stall_timeout:g} s without progress "
                                     f"(at {100 * last_fraction:.0f} %); it was killed and is being restarted")
                continue
            last_heard = time.monotonic()
            if kind == "dead":
                self.drop(engine)
                self.restart(engine.model)
                if cancel_time is not None:
                    raise Cancelled("cancelled")
                raise EngineDied(death_message(msg))
            result, last_fraction = settle(msg, job_id, control, last_fraction)
            if result is not None:
                return result
