"""The engine on a GPU machine elsewhere: a Ray Serve application (``jasco-bridge engine-serve``).

Each replica (:class:`EngineReplica`, one Ray actor; one GPU each with ``--device cuda``) loads
the model once, the same way the local engine process does (``engine.service``), and answers
over HTTP on the Serve proxy:

* ``GET /info``: the engine's metadata (model, device, sample rate, ...) as JSON;
* ``POST /render``: the body is one ``core.wire.Render`` frame (``core.wire_frames``: a JSON
  header and raw array bytes, never pickle); the answer streams ``Progress`` frames (also as a
  heartbeat every ``HEARTBEAT_S`` while the job waits for the replica or between function
  evaluations) and ends with one ``Result``, ``Failed`` or ``Cancelled`` frame. The header
  ``X-Jasco-Model`` names the model the client expects; another one is ``model_unavailable``.

Renders run one at a time per replica, on one thread, through ``engine.service.execute`` (the
one render path). When the client goes away, Serve cancels the request's asyncio task
(https://docs.ray.io/en/latest/serve/http-guide.html, "Request cancellation"); the stream then
sets the job's cancel flag, which the sampler polls between function evaluations.

Authentication: with a token, every request needs ``Authorization: Bearer <token>``; replicas
get only the token's SHA-256 and compare digests with ``hmac.compare_digest`` (constant time).
``serve_main`` refuses a non-loopback ``--host`` without a token. Ray's own ports (GCS, dashboard,
client server) have no such protection: https://docs.ray.io/en/latest/ray-security/index.html.
A private instance keeps them on 127.0.0.1 except one gRPC port per Serve replica (see serve_main).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from core import wire, wire_frames
from core.errors import (
    BadArguments,
    BadConfig,
    EngineAuth,
    JascoError,
    ModelUnavailable,
    RenderFailed,
    TooLarge,
    all_codes,
)

from . import service

log = logging.getLogger(__name__)

APP_NAME = "jasco-engine"
DEPLOYMENT_NAME = "JascoEngine"
HEARTBEAT_S = 1.0  # a Progress frame at least this often, so the client's stall watchdog sees a live engine
MAX_ONGOING_REQUESTS = 16  # per replica; renders beyond the first wait in the replica (with heartbeats)
MAX_BODY_BYTES = wire_frames.MAX_HEADER_BYTES + (256 << 20)  # a render: conditions and at most 256 MiB of drums
MODEL_HEADER = wire_frames.MODEL_HEADER


@dataclass(frozen=True)
class ReplicaConfig:
    """What every replica needs (plain data: it travels to the Ray actors)."""

    model: str
    device: str = "cpu"
    dtype: str | None = None
    factory: str | None = None  # "module:attr" engine factory (tests); engine:JascoPipeline.from_pretrained
    token_sha256: str | None = None  # hex digest of the bearer token; None = no token (loopback only)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_token_file(path: Path) -> str:
    """The bearer token in ``path`` (``core.wire_frames.read_token``), at least 16 characters of one word;
    ``BadConfig`` if unusable."""
    token = wire_frames.read_token(path, "the token file")
    if len(token) < 16 or any(c.isspace() for c in token):
        raise BadConfig(f"the token in {path} must be one word of at least 16 characters "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE)")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EngineReplica:
    """One loaded engine behind Serve's HTTP proxy (see the module docstring)."""

    def __init__(self, config: ReplicaConfig) -> None:
        self.config = config
        try:
            build = service.resolve(config.factory or service.DEFAULT_FACTORY)
            self.engine = build(config.model, device=config.device, dtype=config.dtype)
            self.types = service.input_types(self.engine)
            self.info = service.engine_info(self.engine, config.model, config.device, config.dtype)
        except BaseException as err:  # noqa: BLE001 - a failed load is reported with its code, then Serve retries
            coded = service.load_error(err, config.model)
            log.error("loading %r failed: [%s] %s", config.model, coded.code, coded)
            raise coded from err
        self.info["replica"] = os.environ.get("RAY_SERVE_REPLICA_ID", "") or f"pid {os.getpid()}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jasco-render")
        self._state_lock = threading.Lock()
        self._rendering: str | None = None  # the job the render thread is on
        self._waiting = 0  # renders waiting for the render thread
        self._counts = {"done": 0, "cancelled": 0, "failed": 0}
        log.info("replica ready: model %r on %s (pid %d)", config.model, self.info.get("device"), os.getpid())

    # --- HTTP ------------------------------------------------------------------------------------
    async def __call__(self, request: Any) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        if not self._authorised(request.headers.get("authorization", "")):
            return JSONResponse({"code": EngineAuth.code, "message": "missing or wrong bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        path = request.url.path.rstrip("/") or "/"
        if path == "/info" and request.method == "GET":
            return JSONResponse(self.info)
        if path == "/status" and request.method == "GET":
            return JSONResponse(self.status())
        if path != "/render" or request.method != "POST":
            return JSONResponse({"code": "bad_address", "message": f"no {request.method} {path}"}, status_code=404)
        expected = request.headers.get(MODEL_HEADER)
        if expected is not None and expected != self.config.model:
            return JSONResponse({"code": ModelUnavailable.code,
                                 "message": f"this engine serves model {self.config.model!r}, not {expected!r}"},
                                status_code=409)
        try:
            body = bytearray()
            async for chunk in request.stream():  # bounded, whatever Content-Length claims
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise TooLarge(f"a render request of more than {MAX_BODY_BYTES} bytes")
            job = wire_frames.unpack(bytes(body))
            if not isinstance(job, wire.Render):
                raise BadArguments(f"expected a render, got {wire.kind_of(job)}")
        except (JascoError, ValueError) as err:
            code = err.code if isinstance(err, JascoError) else BadArguments.code
            return JSONResponse({"code": code, "message": str(err)}, status_code=400)
        return StreamingResponse(self.stream(job), media_type=wire_frames.MEDIA_TYPE)

    def _authorised(self, header: str) -> bool:
        if self.config.token_sha256 is None:
            return True
        scheme, _, token = header.partition(" ")
        given = token_digest(token.strip()) if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(given.encode("ascii"), self.config.token_sha256.encode("ascii"))

    def status(self) -> dict[str, Any]:
        """This replica now: the job it renders, how many wait for it, outcomes so far."""
        with self._state_lock:
            return {"rendering": self._rendering, "waiting": self._waiting, **self._counts,
                    "replica": self.info["replica"], "pid": os.getpid()}

    def _execute(self, job: wire.Render, progress: Any, cancel: threading.Event) -> Any:
        """Render thread: one job through ``engine.service.execute``, counted."""
        with self._state_lock:
            self._waiting -= 1
            if cancel.is_set():
                self._counts["cancelled"] += 1
                return wire.Cancelled(job.job_id)
            self._rendering = job.job_id
        outcome: Any = wire.Failed(job.job_id, RenderFailed.code, "the render thread failed")
        try:
            outcome = service.execute(self.engine, self.types, job, progress, cancel.is_set)
            return outcome
        finally:
            kind = {wire.Result: "done", wire.Cancelled: "cancelled"}.get(type(outcome), "failed")
            with self._state_lock:
                self._rendering = None
                self._counts[kind] += 1

    # --- one render ------------------------------------------------------------------------------
    async def stream(self, job: wire.Render) -> AsyncIterator[bytes]:
        """Progress frames (and heartbeats), then the outcome; cancel the render if the client goes away."""
        loop = asyncio.get_running_loop()
        frames: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        last = {"sent": 0.0, "nfe": 0, "t": 0.0}

        def progress(nfe: int, t: float) -> None:  # render thread
            last["nfe"], last["t"] = int(nfe), float(t)
            now = time.monotonic()
            if now - last["sent"] >= service.PROGRESS_MIN_INTERVAL:
                last["sent"] = now
                loop.call_soon_threadsafe(frames.put_nowait, wire.Progress(job.job_id, int(nfe), float(t)))

        def work() -> None:  # render thread, one job at a time
            outcome: Any = wire.Failed(job.job_id, RenderFailed.code, "the render thread failed")
            try:
                outcome = self._execute(job, progress, cancel)
            finally:
                loop.call_soon_threadsafe(frames.put_nowait, outcome)

        with self._state_lock:
            self._waiting += 1
        self._executor.submit(work)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(frames.get(), HEARTBEAT_S)
                except TimeoutError:
                    message = wire.Progress(job.job_id, last["nfe"], last["t"])
                yield wire_frames.pack(message)
                if not isinstance(message, wire.Progress):
                    return
        except BaseException:
            # asyncio.CancelledError (the client went away) or GeneratorExit: stop at the next evaluation.
            cancel.set()
            log.info("render %s: the client went away; cancelling it", job.job_id)
            raise


def build_app(config: ReplicaConfig, *, replicas: int = 1, max_replicas: int | None = None) -> Any:
    """The Serve application: ``replicas`` copies (autoscaling up to ``max_replicas`` on queue length)."""
    from ray import serve

    gpu = config.device.startswith("cuda")
    options: dict[str, Any] = {
        "name": DEPLOYMENT_NAME,
        "max_ongoing_requests": MAX_ONGOING_REQUESTS,
        "ray_actor_options": {"num_gpus": 1, "num_cpus": 1} if gpu else {"num_cpus": 1},
        "graceful_shutdown_timeout_s": 5,
    }
    if max_replicas is not None and max_replicas > replicas:
        # https://docs.ray.io/en/latest/serve/autoscaling-guide.html: scale on ongoing requests per replica.
        options["autoscaling_config"] = {"min_replicas": replicas, "max_replicas": max_replicas,
                                         "target_ongoing_requests": 1}
    else:
        options["num_replicas"] = replicas
    return serve.deployment(**options)(EngineReplica).bind(config)


# --- the process behind ``jasco-bridge engine-serve`` ----------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m engine.remote_serve",
                                description="the jasco engine as a Ray Serve application (see jasco-bridge engine-serve)")
    p.add_argument("--model", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token-file", type=Path, default=None)
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--max-replicas", type=int, default=None)
    p.add_argument("--address", default=None)
    p.add_argument("--num-cpus", type=int, default=None)
    p.add_argument("--temp-dir", default=None)
    p.add_argument("--factory", default=None)
    p.add_argument("--log-level", type=int, default=logging.WARNING)
    return p.parse_args(argv)


def check_args(args: argparse.Namespace) -> str | None:
    """Refuse a bad configuration before Ray starts; the token's digest (None without a token)."""
    if args.replicas < 1:
        raise BadConfig(f"--replicas must be at least 1, got {args.replicas}")
    if args.max_replicas is not None and args.max_replicas < args.replicas:
        raise BadConfig(f"--max-replicas ({args.max_replicas}) must be at least --replicas ({args.replicas})")
    if not 0 <= args.port <= 65535:
        raise BadConfig(f"--port must be 0..65535, got {args.port}")
    if args.token_file is None:
        if not is_loopback(args.host):
            raise BadConfig(f"--host {args.host} is not loopback: other machines could render on this GPU, so a "
                            "token is required (--token-file FILE)")
        return None
    return token_digest(read_token_file(args.token_file))


def deploy_failure(serve: Any, fallback: str) -> tuple[str, str]:
    """The code and last line of why the replicas could not start (Serve's deployment status message)."""
    try:
        message = serve.status().applications[APP_NAME].deployments[DEPLOYMENT_NAME].message
    except Exception as err:  # noqa: BLE001 - the status is a nicety; the fallback says what Ray said
        log.debug("no deployment status: %s", err)
        return "model_load_failed", fallback
    codes = {cls.__name__: cls.code for cls in all_codes().values()}
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    for line in reversed(lines):
        name, _, text = line.partition(": ")
        if name.rpartition(".")[2] in codes:
            return codes[name.rpartition(".")[2]], text
    return "model_load_failed", lines[-1] if lines else fallback


def serve_main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s %(levelname)s engine-serve[{os.getpid()}] %(name)s: %(message)s")
    try:
        digest = check_args(args)
    except JascoError as err:
        print(f"error [{err.code}]: {err}", file=sys.stderr, flush=True)
        return 2
    if not args.address:  # read by Ray at import, and inherited by every Ray process (see below)
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from ray import serve

    stop = threading.Event()
    init: dict[str, Any] = {"logging_level": args.log_level, "log_to_driver": args.log_level <= logging.INFO}
    if args.address:
        init["address"] = args.address
    else:
        # A cluster of our own, on loopback: no dashboard, its agent's host on loopback, and the
        # node's address 127.0.0.1. ray.init turns _node_ip_address="127.0.0.1" into the machine's
        # reachable address (services.resolve_ip_for_localhost); Ray's documented single-machine
        # switch RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes it keep loopback, and the GCS, raylet,
        # object manager, agents and every worker's gRPC server bind to the node's address. Not
        # loopback: each Serve replica's inter-deployment gRPC server (Ray binds it to "[::]:0",
        # no option moves it). tests/remote/test_remote_engine.py checks this; README "Limits" names it.
        init.update(include_dashboard=False, dashboard_host="127.0.0.1", num_cpus=args.num_cpus,
                    _node_ip_address="127.0.0.1")
        if args.temp_dir:
            init["_temp_dir"] = args.temp_dir
    config = ReplicaConfig(model=args.model, device=args.device, dtype=args.dtype, factory=args.factory,
                           token_sha256=digest)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a studio's engine does not report usage by default
    ray.init(**init)
    # After ray.init: Ray installs its own fatal-signal handlers, ours must win for a clean shutdown.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        serve.run(build_app(config, replicas=args.replicas, max_replicas=args.max_replicas), name=APP_NAME,
                  route_prefix="/")
        print(f"engine-serve ready on http://{args.host}:{args.port} (model {args.model} on {args.device}, "
              f"{args.replicas} replica(s){', token required' if digest else ''})", flush=True)
        print("ENGINE-SERVE-INFO " + json.dumps({**asdict(config), "token_sha256": bool(digest),
                                                 "host": args.host, "port": args.port}), flush=True)
        parent = os.getppid()
        while not stop.wait(0.5):
            if os.getppid() != parent:  # jasco-bridge engine-serve was killed: do not serve on as an orphan
                log.warning("the parent process is gone; stopping")
                break
        return 0
    except JascoError as err:
        print(f"error [{err.code}]: {err}", file=sys.stderr, flush=True)
        return 2
    except Exception as err:  # noqa: BLE001 - Ray's deploy errors (a replica that cannot load) end the command
        code, why = deploy_failure(serve, f"{type(err).__name__}: {err}")
        print(f"error [{code}]: the engine could not be deployed: {why}", file=sys.stderr, flush=True)
        return 2
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
        print("engine-serve stopped", flush=True)


if __name__ == "__main__":
    sys.exit(serve_main())
