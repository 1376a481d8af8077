"""The engine process: loads the model once and serves render commands over a socket.

``bridge.worker.RenderWorker`` starts ``python -m engine.service --fd N --model M …``
as a child process, so a crash, a hang or an out-of-memory kill of the model can
never take the server with it. The messages are declared once in ``core.wire``
(``Render``/``Cancel``/``Stop`` in, ``Ready``/``LoadFailed``/``Progress``/``Result``/
``Failed``/``Cancelled`` out), encoded and decoded there, on one socket pair
(``multiprocessing.connection.Connection`` framing). A reader thread takes commands
off the socket while the main thread renders, so ``Cancel`` reaches the sampler's
``cancelled`` callback (polled between function evaluations) at once. When the
server dies the socket closes and this process exits immediately.

The engine object comes from a factory named by a dotted path (``"module:attr"``),
``engine:JascoPipeline.from_pretrained`` by default, called as
``factory(model, device=..., dtype=..., **overrides)`` (``t5``, ``compression``, ``vocab``
paths when given); tests pass a small numpy engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import multiprocessing.connection
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

from core import wire
from core.errors import BadArguments, Cancelled, JascoError, ModelLoadError, ModelUnavailable, RenderFailed
from core.grid import SAMPLE_RATE, WINDOW_SECONDS

log = logging.getLogger(__name__)

DEFAULT_FACTORY = "engine:JascoPipeline.from_pretrained"
OVERRIDES = ("t5", "compression", "vocab")  # factory keyword arguments the render command may pass
PROGRESS_MIN_INTERVAL = 0.02  # seconds between progress messages on the pipe


def resolve(spec: str) -> Callable[..., Any]:
    """``"pkg.module:Class.method"`` (or ``"pkg.module.func"``) → the object."""
    if ":" in spec:
        module_name, attr_path = spec.split(":", 1)
    else:
        module_name, _, attr_path = spec.rpartition(".")
    if not module_name or not attr_path:
        raise ModelLoadError(f"engine factory {spec!r} is not a dotted path like 'package.module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def input_types(engine: Any) -> tuple[type, type]:
    """The engine's GenerationInput / SamplingParams classes (a test engine may bring its own)."""
    gi = getattr(engine, "GenerationInput", None)
    sp = getattr(engine, "SamplingParams", None)
    if isinstance(gi, type) and isinstance(sp, type):
        return gi, sp
    import engine as engine_pkg

    return engine_pkg.GenerationInput, engine_pkg.SamplingParams


def engine_info(engine: Any, model: str, device: str, dtype: str | None, compile: bool = False) -> dict[str, Any]:
    version = getattr(engine, "engine_version", None)
    if version is None:
        try:
            version = getattr(importlib.import_module("engine"), "__version__", None)
        except ImportError:
            version = None
    if version is None:
        from core import __version__ as version
    return {
        "model": model,
        "model_id": str(getattr(engine, "model_id", model)),
        "model_revision": getattr(engine, "model_revision", None),
        "sample_rate": int(getattr(engine, "sample_rate", SAMPLE_RATE)),
        "supports_melody": bool(getattr(engine, "supports_melody", False)),
        "segment_duration": float(getattr(engine, "segment_duration", WINDOW_SECONDS)),
        "device": str(getattr(engine, "device", device)),
        "dtype": _dtype_name(engine, dtype),
        "dtype_asked": dtype,  # what --dtype said (None: the engine's default); "dtype" is what runs
        "compiled": bool(getattr(engine, "compiled", compile)),
        "engine_version": str(version),
        "pid": os.getpid(),
    }


def _dtype_name(engine: Any, asked: str | None) -> str | None:
    """The precision the engine runs in (``float32``, ``bfloat16``, ``float16``, ``int8``), else what was asked."""
    value = getattr(engine, "precision", None) or getattr(engine, "dtype", None) or asked
    return None if value is None else str(value).replace("torch.", "")


def load_error(err: BaseException, model: str) -> JascoError:
    if isinstance(err, JascoError):
        return err
    if isinstance(err, (FileNotFoundError, ImportError)):
        return ModelUnavailable(f"model {model!r} is not available: {err}")
    return ModelLoadError(f"model {model!r} failed to load: {type(err).__name__}: {err}")


class _Commands:
    """Reads commands off the socket in a thread: renders queue up, cancels take effect at once."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.renders: queue.Queue[wire.Render | None] = queue.Queue()
        self.cancelled: set[str] = set()
        self._thread = threading.Thread(target=self._read, name="engine-commands", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                raw = self.conn.recv()
            except (EOFError, OSError):
                # The server is gone (killed or closed): nothing left to render for.
                os._exit(0)
            try:
                msg = wire.decode(raw)
            except BadArguments as err:
                log.error("ignoring a malformed command: %s", err)
                continue
            if isinstance(msg, wire.Render):
                self.renders.put(msg)
            elif isinstance(msg, wire.Cancel):
                self.cancelled.add(msg.job_id)
            elif isinstance(msg, wire.Stop):
                self.renders.put(None)
                return
            else:
                log.error("ignoring %s: not a command", wire.kind_of(msg))


def serve(conn: Any, model: str, device: str = "cpu", dtype: str | None = None,
          factory: str | None = None, overrides: dict[str, str] | None = None, compile: bool = False) -> None:
    """Load, say ready (or why not), then render until told to stop or the server goes away.

    ``compile`` is passed to the factory only when asked for (a test engine need not know it)."""
    commands = _Commands(conn)
    try:
        build = resolve(factory or DEFAULT_FACTORY)
        extra: dict[str, Any] = {"compile": True} if compile else {}
        engine = build(model, device=device, dtype=dtype, **extra, **(overrides or {}))
        types = input_types(engine)
        info = engine_info(engine, model, device, dtype, compile)
    except BaseException as err:  # noqa: BLE001 - every load failure becomes a coded message
        coded = load_error(err, model)
        log.debug("loading %r failed: %s", model, coded)  # the bridge logs it once, from LoadFailed
        log.debug("%s", traceback.format_exc())
        _send(conn, wire.LoadFailed(coded.code, str(coded)))
        return
    if not _send(conn, wire.Ready(info)):
        return
    while True:
        job = commands.renders.get()
        if job is None:
            return
        commands.cancelled.difference_update(commands.cancelled - {job.job_id})  # late cancels of finished jobs
        if job.job_id in commands.cancelled:
            commands.cancelled.discard(job.job_id)
            if not _send(conn, wire.Cancelled(job.job_id)):
                return
            continue
        if not _render(conn, commands, engine, types, job):
            return
        commands.cancelled.discard(job.job_id)


def _render(conn: Any, commands: _Commands, engine: Any, types: tuple[type, type], job: wire.Render) -> bool:
    """One render; False when the server is gone and the process should end."""
    last = [0.0]
    job_id = job.job_id

    def progress(nfe: int, t: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_MIN_INTERVAL:
            return
        last[0] = now
        _send(conn, wire.Progress(job_id, int(nfe), float(t)), raise_on_error=True)

    try:
        outcome = execute(engine, types, job, progress, lambda: job_id in commands.cancelled)
    except (BrokenPipeError, EOFError, ConnectionError):
        return False
    return _send(conn, outcome)


def execute(engine: Any, types: tuple[type, type], job: wire.Render, progress: Callable[[int, float], None],
            cancelled: Callable[[], bool]) -> wire.Result | wire.Cancelled | wire.Failed:
    """One render on a loaded engine: its ``Result``, or ``Cancelled`` / ``Failed``.

    The one render path of the local engine process and the remote engine (``engine.remote_serve``).
    ``progress(nfe, t)`` may raise ``BrokenPipeError``/``EOFError``/``ConnectionError`` (the peer
    is gone): those propagate; every other failure becomes a coded ``Failed``.
    """
    gen_input_cls, params_cls = types
    job_id = job.job_id
    try:
        inputs = [gen_input_cls(**{f: getattr(item, f) for f in _ITEM_FIELDS}) for item in job.items]
        params = params_cls(**job.sampling)
        began = time.perf_counter()
        out = engine.generate(inputs, params, progress=progress, cancelled=cancelled)
        elapsed = time.perf_counter() - began
        audio = np.asarray(out.audio, dtype=np.float32)
        if audio.ndim == 2:
            audio = audio[None]  # [C, S] -> [1, C, S]
        latents = None
        if job.want_latents and getattr(out, "latents", None) is not None:
            latents = np.ascontiguousarray(np.asarray(out.latents, dtype=np.float32))
        nfe = getattr(out, "nfe", None)
        timeline = getattr(out, "timeline", None)
        result = wire.Result(job_id, np.ascontiguousarray(audio), int(engine.sample_rate),
                             int(nfe) if nfe is not None else None, elapsed, latents,
                             _plain(timeline) if timeline is not None else None)
    except (BrokenPipeError, EOFError, ConnectionError):
        raise
    except Cancelled:
        return wire.Cancelled(job_id)
    except JascoError as err:
        return wire.Failed(job_id, err.code, str(err))
    except MemoryError:
        return wire.Failed(job_id, RenderFailed.code, "the engine ran out of memory")
    except Exception as err:  # noqa: BLE001 - isolate the job, report it, keep serving
        log.error("render %s failed:\n%s", job_id, traceback.format_exc())
        return wire.Failed(job_id, RenderFailed.code, f"{type(err).__name__}: {err}")
    if cancelled():
        return wire.Cancelled(job_id)
    return result


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(wire.RenderItem))


def _plain(info: Any) -> dict[str, Any]:
    """The engine's timeline description as JSON-ready builtins."""
    return {str(k): (list(v) if isinstance(v, (tuple, list)) else v) for k, v in dict(info).items()}


def _send(conn: Any, msg: Any, *, raise_on_error: bool = False) -> bool:
    try:
        conn.send(wire.encode(msg))
        return True
    except (BrokenPipeError, EOFError, OSError):
        if raise_on_error:
            raise BrokenPipeError("the server is gone")
        return False


def _connect(address: str) -> multiprocessing.connection.Connection:
    """``--connect HOST:PORT``: connect, present the one-time token read from stdin, wrap as a Connection."""
    host, _, port = address.rpartition(":")
    token = bytes.fromhex(sys.stdin.buffer.readline().decode("ascii").strip())
    if not token:
        raise ValueError("no token on stdin")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(token)
    sock.settimeout(None)
    return multiprocessing.connection.Connection(sock.detach())


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.service --fd N --model M``: started by the render worker, not by hand."""
    parser = argparse.ArgumentParser(prog="python -m engine.service",
                                     description="jasco-bridge engine process (started by the render worker)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--fd", type=int, help="inherited socket to the server (POSIX)")
    where.add_argument("--connect", metavar="HOST:PORT",
                       help="connect to the server's one-time listener; the token comes on stdin (Windows)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model's transformer")
    parser.add_argument("--factory", default=None, help="engine factory 'module:attr'")
    for name in OVERRIDES:
        parser.add_argument(f"--{name}", default=None, help=f"{name} path (overrides the checkpoint's)")
    parser.add_argument("--log-level", type=int, default=logging.WARNING)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s %(levelname)s engine[{os.getpid()}] %(name)s: %(message)s")
    if args.device.startswith("mps"):
        # An op without an MPS kernel runs on the CPU (PyTorch warns once) instead of failing the render;
        # must be set before torch is imported (by the factory, below).
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's business; it stops us
    if hasattr(signal, "SIGBREAK"):  # Windows: Ctrl-Break reaches every process of the console too
        signal.signal(signal.SIGBREAK, signal.SIG_IGN)
    try:
        conn = _connect(args.connect) if args.connect else multiprocessing.connection.Connection(args.fd)
    except (OSError, ValueError) as err:
        print(f"engine.service: cannot reach the server ({args.connect or f'--fd {args.fd}'}): {err}",
              file=sys.stderr)
        return 2
    overrides = {name: getattr(args, name) for name in OVERRIDES if getattr(args, name) is not None}
    serve(conn, args.model, args.device, args.dtype, args.factory, overrides, compile=args.compile)
    # Skip interpreter teardown (torch's thread pools can make it slow): nothing is left to flush.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
