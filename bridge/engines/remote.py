"""The engine on another machine (``serve --engine URL``): a drop-in for ``EngineSupervisor``.

:class:`RemoteEngines` has the supervisor's surface as the render worker uses it (``start``,
``ensure``, ``run``, ``shutdown``, ``engine``, ``load_error``, ``stall_timeout``) but talks
HTTP (standard library only) to ``jasco-bridge engine-serve`` (``engine.remote_serve``):

* ``ensure`` asks ``GET /info`` until the engine answers (a Serve app still deploying or a
  replica being restarted answers 5xx or not at all: "loading", up to ``load_timeout``);
  connection refused / unknown host is ``engine_unreachable``, a refused token ``engine_auth``,
  another model ``model_unavailable``; a failure is remembered for ``load_retry_s``;
* ``run`` posts one ``core.wire.Render`` frame (``core.wire_frames``: JSON + raw arrays, never
  pickle) on a fresh connection and reads ``Progress`` frames, then the outcome, on a reader
  thread; cancel (and shutdown) closes the connection, which makes Serve cancel the request
  and the replica stop at the next function evaluation; a stream that breaks before its
  outcome is ``engine_died`` (the replica died; Serve restarts it) and the next job asks
  ``/info`` again; silence longer than ``stall_timeout`` is ``engine_died`` too.

Queue, progress, cancel, output, sidecar and journal stay the worker's, unchanged.
"""

from __future__ import annotations

import http.client
import json
import logging
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from bridge.engines.backend import (DEFAULT_STALL_TIMEOUT, POLL_S, BackendState, RunControl, coded,
                                    positive_seconds, settle)
from core import wire, wire_frames
from core.errors import (
    BadConfig,
    Cancelled,
    EngineAuth,
    EngineDied,
    EngineUnreachable,
    Interrupted,
    JascoError,
    ModelLoadError,
    ModelUnavailable,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
INFO_TIMEOUT_S = 5.0  # one /info attempt (a replica being restarted may hold it; cancel waits at most this)
MODEL_HEADER = wire_frames.MODEL_HEADER
PROBE_INTERVAL_S = 1.0  # how often an idle worker asks a (re)starting engine whether it is ready


@dataclass(frozen=True)
class RemoteOptions:
    """Where the engine is: ``url`` (http:// or https://) and the bearer token (None = none)."""

    url: str
    token: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadConfig(f"--engine must be an http:// or https:// URL like http://gpu-box:8000, got {self.url!r}")
        try:
            parts.port
        except ValueError:
            raise BadConfig(f"--engine has a bad port: {self.url!r}") from None

    @classmethod
    def from_args(cls, url: str, token_file: Path | None) -> "RemoteOptions":
        token = None
        if token_file is not None:
            token = wire_frames.read_token(token_file, "--engine-token-file")
        return cls(url, token)

    @property
    def base_path(self) -> str:
        return urlsplit(self.url).path.rstrip("/")

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)

    def headers(self, **extra: str) -> dict[str, str]:
        out = dict(extra)
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out


class NotReady(Exception):
    """The engine is not answering yet (deploying, restarting): ask again."""


def _error_from(status: int, body: bytes, url: str) -> JascoError | None:
    """The coded error for an HTTP error answer (None for 5xx: retry / engine_died)."""
    try:
        payload = json.loads(body.decode("utf-8"))
        code, message = str(payload["code"]), str(payload["message"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        code, message = "", body[:200].decode("utf-8", "replace").strip()
    if status == 401:
        return EngineAuth(f"the engine at {url} refused the token ({message or 'unauthorised'}); "
                          "check --engine-token-file against engine-serve's --token-file")
    if status >= 500:
        return None
    if code:
        return coded(code, message)
    return EngineUnreachable(f"the engine at {url} answered HTTP {status}: {message}")


def fetch_info(options: RemoteOptions, timeout: float = INFO_TIMEOUT_S) -> dict[str, Any]:
    """``GET /info``: the engine's metadata; ``NotReady`` while it is not up; coded errors otherwise."""
    conn = options.connection(timeout)
    try:
        try:
            conn.connect()
        except OSError as err:  # refused, unknown host, no route, connect timeout
            raise EngineUnreachable(f"no engine at {options.url} ({err}); is jasco-bridge engine-serve running "
                                    "there, and is the port open?") from None
        try:
            conn.request("GET", options.base_path + "/info", headers=options.headers())
            resp = conn.getresponse()
            body = resp.read()
        except (http.client.HTTPException, OSError) as err:  # a replica restarting, a proxy still starting
            raise NotReady(f"{type(err).__name__}: {err}") from None
    finally:
        conn.close()
    if resp.status == 200:
        try:
            info = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise EngineUnreachable(f"{options.url} is not a jasco engine (GET /info is not JSON)") from None
        if not isinstance(info, dict) or "model" not in info:
            raise EngineUnreachable(f"{options.url} is not a jasco engine (GET /info has no model)")
        return info
    err = _error_from(resp.status, body, options.url)
    if err is None:
        raise NotReady(f"HTTP {resp.status}")
    raise err


class RemoteEngine:
    """The remote engine as the worker sees one engine: model, info, ready, cancel."""

    def __init__(self, model: str, options: RemoteOptions) -> None:
        self.model = model
        self.options = options
        self.info: dict[str, Any] | None = None
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._job: str | None = None
        self.last_probe = 0.0  # monotonic time of the last GET /info

    @property
    def ready(self) -> bool:
        return self.info is not None

    @property
    def pid(self) -> int | None:
        """No local process: the engine runs elsewhere (its replica is named in ``info``)."""
        return None

    def alive(self) -> bool:
        return True

    def attach(self, job_id: str, conn: http.client.HTTPConnection | None) -> None:
        with self._lock:
            self._job, self._conn = (job_id, conn) if conn is not None else (None, None)

    def cancel(self, job_id: str) -> None:
        """Close the job's connection: Serve cancels the request, the replica stops the sampler."""
        with self._lock:
            conn = self._conn if self._job == job_id else None
        if conn is not None:
            _close(conn)

    def hang_up(self) -> None:
        """Close whatever job's connection is open (shutdown)."""
        with self._lock:
            conn = self._conn
        if conn is not None:
            _close(conn)


def _close(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError as err:
            log.debug("shutting down the engine connection: %s", err)
    conn.close()


class RemoteEngines(BackendState[RemoteEngine]):
    """The remote engine for the render worker: the :class:`bridge.engines.backend.EngineBackend` over HTTP.
    (``load_failed_model``: the model whose connection or check failed last; status errors go to its
    clients only.)"""

    def __init__(self, options: RemoteOptions, *, load_timeout: float = 900.0, load_retry_s: float = 2.0,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> None:
        super().__init__(load_retry_s)
        self.options = options
        self.load_timeout = float(load_timeout)
        self.stall_timeout = positive_seconds("stall_timeout", stall_timeout)

    def start(self, model: str) -> None:
        with self._lock:
            self._engine = RemoteEngine(model, self.options)

    def shutdown(self, graceful: float = 0.0) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.hang_up()

    # --- connecting ------------------------------------------------------------------------------
    def ensure(self, model: str, *, check: Callable[[], None], wait_s: float | None = None) -> RemoteEngine:
        """The remote engine, once ``/info`` answered and it serves ``model``."""
        engine = self.engine
        if engine is None or engine.model != model:
            engine = self._new_engine(model, lambda: RemoteEngine(model, self.options), after_failure=engine is None)
        if engine.ready:
            return engine
        if wait_s is not None and time.monotonic() - engine.last_probe < PROBE_INTERVAL_S:
            time.sleep(wait_s)  # the idle worker looks often; the engine is asked at most every PROBE_INTERVAL_S
            return engine
        give_up = time.monotonic() + wait_s if wait_s is not None else None
        deadline = time.monotonic() + self.load_timeout
        last = ""
        while True:
            check()
            engine.last_probe = time.monotonic()
            try:
                info = fetch_info(self.options)
            except NotReady as why:
                last = str(why)
            except JascoError as err:
                raise self._failed(engine, err)
            else:
                if info.get("model") != model:
                    raise self._failed(engine, ModelUnavailable(
                        f"the engine at {self.options.url} serves model {info.get('model')!r}, not {model!r}; "
                        f"start the bridge with --model {info.get('model')} (or engine-serve with --model {model})"))
                engine.info = info
                self.failures.clear()
                log.info("remote engine %s ready: model %r on %s (%s)", self.options.url, model,
                         info.get("device", "?"), info.get("replica", "?"))
                return engine
            if give_up is not None and time.monotonic() >= give_up:
                return engine
            if time.monotonic() > deadline:
                raise self._failed(engine, ModelLoadError(
                    f"the engine at {self.options.url} did not become ready within {self.load_timeout:g} s ({last})"))
            time.sleep(POLL_S * 4)

    def _failed(self, engine: RemoteEngine, err: JascoError) -> JascoError:
        new = self.failures.record(err, engine.model)
        with self._lock:
            if self._engine is engine:
                self._engine = None
        if new:
            log.error("remote engine %s: [%s] %s", self.options.url, err.code, err)
        return err

    def _lost(self, engine: RemoteEngine) -> None:
        """Forget what we knew: the next job asks /info again (a replica restarts, maybe elsewhere)."""
        engine.info = None

    # --- one render ------------------------------------------------------------------------------
    def run(self, engine: RemoteEngine, render: wire.Render, control: RunControl) -> wire.Result:
        """Post ``render`` and read its progress and result, with cancel, watchdog and progress."""
        job_id = render.job_id
        conn = self.options.connection(CONNECT_TIMEOUT_S)
        engine.attach(job_id, conn)
        frames: queue.Queue[tuple[str, Any]] = queue.Queue()
        exchange = threading.Thread(target=self._exchange, args=(conn, engine.model, wire_frames.pack(render), frames),
                                    name=f"jasco-remote-{job_id}", daemon=True)
        exchange.start()
        try:
            return self._follow(engine, job_id, frames, control)
        finally:
            engine.attach(job_id, None)
            _close(conn)

    def _exchange(self, conn: http.client.HTTPConnection, model: str, body: bytes,
                  out: "queue.Queue[tuple[str, Any]]") -> None:
        """Exchange thread: connect, post, then every frame; failures as ("error", err) / ("lost", why)."""
        url = self.options.url
        try:
            conn.connect()
        except OSError as err:
            out.put(("error", EngineUnreachable(f"no engine at {url} ({err}); is jasco-bridge engine-serve running "
                                                "there, and is the port open?")))
            return
        try:
            conn.sock.settimeout(None)  # a job may wait in Serve's queue; cancel and the watchdog close the socket
            conn.request("POST", self.options.base_path + "/render", body=body, headers=self.options.headers(**{
                "Content-Type": wire_frames.MEDIA_TYPE, MODEL_HEADER: model}))
            resp = conn.getresponse()
        except (http.client.HTTPException, OSError) as err:
            out.put(("lost", f"{type(err).__name__}: {err}"))
            return
        if resp.status != 200:
            try:
                payload = resp.read()
            except (http.client.HTTPException, OSError):
                payload = b""
            out.put(("error", _error_from(resp.status, payload, url) or EngineDied(
                f"the engine at {url} answered HTTP {resp.status} (a replica restarting?); the next job reconnects")))
            return
        _read_frames(resp, out)

    def _follow(self, engine: RemoteEngine, job_id: str, frames: "queue.Queue[tuple[str, Any]]",
                control: RunControl) -> wire.Result:
        last_fraction = 0.0
        last_heard = time.monotonic()
        while True:
            if control.cancel_time() is not None:
                engine.cancel(job_id)
                raise Cancelled("cancelled")
            if control.stopping():
                engine.cancel(job_id)
                raise Interrupted("the server is shutting down")
            try:
                kind, msg = frames.get(timeout=POLL_S)
            except queue.Empty:
                silent = time.monotonic() - last_heard
                if silent > self.stall_timeout:
                    engine.cancel(job_id)
                    self._lost(engine)
                    raise EngineDied(f"the engine at {self.options.url} sent nothing for {silent:.0f} s (stall "
                                     f"timeout {self.stall_timeout:g} s, at {100 * last_fraction:.0f} %)") from None
                continue
            last_heard = time.monotonic()
            if kind == "error":
                self._lost(engine)
                raise msg
            if kind == "lost":
                if control.cancel_time() is not None:
                    raise Cancelled("cancelled")
                self._lost(engine)
                raise EngineDied(f"the connection to the engine at {self.options.url} broke mid-render ({msg}); "
                                 "the engine may have died (Serve restarts it); the next job reconnects")
            result, last_fraction = settle(msg, job_id, control, last_fraction)
            if result is not None:
                return result


def _read_frames(resp: http.client.HTTPResponse, out: "queue.Queue[tuple[str, Any]]") -> None:
    """Reader thread: every frame as ("msg", message); the end as ("lost", why) unless an outcome came."""
    try:
        while True:
            msg = wire_frames.read_frame(resp.read)
            if msg is None:
                out.put(("lost", "the stream ended without a result"))
                return
            out.put(("msg", msg))
            if not isinstance(msg, wire.Progress):
                return
    except (EOFError, OSError, ValueError, http.client.HTTPException) as err:
        out.put(("lost", f"{type(err).__name__}: {err}"))
    except JascoError as err:
        out.put(("lost", f"a malformed frame: {err}"))
