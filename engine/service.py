"""The engine process: loads the model once and serves render commands over a socket.

``bridge.worker.RenderWorker`` starts ``python -m engine.service --fd N --model M …``
as a child process, so a crash, a hang or an out-of-memory kill of the model can
never take the server with it. The protocol is a few pickled tuples
(``multiprocessing.connection.Connection`` framing) on one socket pair:

parent → child                                   child → parent
``("render", job_id, payload)``                   ``("ready", info)`` once the model is loaded
``("cancel", job_id)``                            ``("load_failed", code, message)`` then exit
``("stop",)``                                     ``("progress", job_id, nfe, t)`` (t in [0, 1])
                                                  ``("result", job_id, audio, rate, nfe, seconds)``
                                                  ``("error", job_id, code, message)``
                                                  ``("cancelled", job_id)``

``payload`` is plain data (see ``bridge.worker.engine_payload``): prompt, chords as
``((label, start_s), ...)``, drums float32 ``[C, S]`` + rate + fill mode, melody
``[53, T]``, and the sampling parameters. A reader thread takes commands off the
socket while the main thread renders, so ``cancel`` reaches the sampler's
``cancelled`` callback (polled between function evaluations) at once. When the
server dies the socket closes and this process exits immediately.

The engine object comes from a factory named by a dotted path (``"module:attr"``),
``engine:JascoPipeline.from_pretrained`` by default, called as
``factory(model, device=..., dtype=...)``; tests pass a small numpy engine.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing.connection
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

from core.errors import Cancelled, JascoError, ModelLoadError, ModelUnavailable, RenderFailed

log = logging.getLogger(__name__)

DEFAULT_FACTORY = "engine:JascoPipeline.from_pretrained"
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


def _input_types(engine: Any) -> tuple[type, type]:
    """The engine's GenerationInput / SamplingParams classes (a test engine may bring its own)."""
    gi = getattr(engine, "GenerationInput", None)
    sp = getattr(engine, "SamplingParams", None)
    if isinstance(gi, type) and isinstance(sp, type):
        return gi, sp
    import engine as engine_pkg

    return engine_pkg.GenerationInput, engine_pkg.SamplingParams


def engine_info(engine: Any, model: str, device: str, dtype: str | None) -> dict[str, Any]:
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
        "sample_rate": int(getattr(engine, "sample_rate", 32000)),
        "supports_melody": bool(getattr(engine, "supports_melody", False)),
        "segment_duration": float(getattr(engine, "segment_duration", 10.0)),
        "device": str(getattr(engine, "device", device)),
        "dtype": str(getattr(engine, "dtype", None) or dtype) if (getattr(engine, "dtype", None) or dtype) else None,
        "engine_version": str(version),
        "pid": os.getpid(),
    }


def _load_error(err: BaseException, model: str) -> JascoError:
    if isinstance(err, JascoError):
        return err
    if isinstance(err, (FileNotFoundError, ImportError)):
        return ModelUnavailable(f"model {model!r} is not available: {err}")
    return ModelLoadError(f"model {model!r} failed to load: {type(err).__name__}: {err}")


class _Commands:
    """Reads commands off the socket in a thread: renders queue up, cancels take effect at once."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.renders: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self.cancelled: set[str] = set()
        self._thread = threading.Thread(target=self._read, name="engine-commands", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                # The server is gone (killed or closed): nothing left to render for.
                os._exit(0)
            if not isinstance(msg, tuple) or not msg:
                log.error("ignoring malformed command %r", msg)
            elif msg[0] == "render" and len(msg) == 3:
                self.renders.put((msg[1], msg[2]))
            elif msg[0] == "cancel" and len(msg) == 2:
                self.cancelled.add(msg[1])
            elif msg[0] == "stop":
                self.renders.put(None)
                return
            else:
                log.error("ignoring unknown command %r", msg[0])


def serve(conn: Any, model: str, device: str = "cpu", dtype: str | None = None,
          factory: str | None = None) -> None:
    """Load, say ready (or why not), then render until told to stop or the server goes away."""
    commands = _Commands(conn)
    try:
        build = resolve(factory or DEFAULT_FACTORY)
        engine = build(model, device=device, dtype=dtype)
        types = _input_types(engine)
        info = engine_info(engine, model, device, dtype)
    except BaseException as err:  # noqa: BLE001 - every load failure becomes a coded message
        coded = _load_error(err, model)
        log.error("loading %r failed: %s", model, coded)
        log.debug("%s", traceback.format_exc())
        _send(conn, ("load_failed", coded.code, str(coded)))
        return
    if not _send(conn, ("ready", info)):
        return
    while True:
        item = commands.renders.get()
        if item is None:
            return
        job_id, payload = item
        commands.cancelled.difference_update(commands.cancelled - {job_id})  # late cancels of finished jobs
        if job_id in commands.cancelled:
            commands.cancelled.discard(job_id)
            if not _send(conn, ("cancelled", job_id)):
                return
            continue
        if not _render(conn, commands, engine, types, job_id, payload):
            return
        commands.cancelled.discard(job_id)


def _render(conn: Any, commands: _Commands, engine: Any, types: tuple[type, type], job_id: str,
            payload: dict[str, Any]) -> bool:
    """One render; False when the server is gone and the process should end."""
    gen_input_cls, params_cls = types
    last = [0.0]

    def progress(nfe: int, t: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_MIN_INTERVAL:
            return
        last[0] = now
        _send(conn, ("progress", job_id, int(nfe), float(t)), raise_on_error=True)

    def cancelled() -> bool:
        return job_id in commands.cancelled

    try:
        inputs = gen_input_cls(
            prompt=payload["prompt"],
            chords=payload["chords"],
            drums=payload["drums"],
            drums_sample_rate=payload["drums_sample_rate"],
            drums_fill=payload["drums_fill"],
            separate_drums=payload["separate_drums"],
            melody=payload["melody"],
        )
        params = params_cls(**payload["params"])
        began = time.perf_counter()
        out = engine.generate([inputs], params, progress=progress, cancelled=cancelled)
        elapsed = time.perf_counter() - began
        audio = np.asarray(out.audio, dtype=np.float32)
        if audio.ndim == 3:
            audio = audio[0]  # [B, C, S] -> [C, S]
        result = ("result", job_id, np.ascontiguousarray(audio), int(engine.sample_rate), getattr(out, "nfe", None),
                  elapsed)
    except (BrokenPipeError, EOFError, ConnectionError):
        return False
    except Cancelled:
        return _send(conn, ("cancelled", job_id))
    except JascoError as err:
        return _send(conn, ("error", job_id, err.code, str(err)))
    except MemoryError:
        return _send(conn, ("error", job_id, RenderFailed.code, "the engine ran out of memory"))
    except Exception as err:  # noqa: BLE001 - isolate the job, report it, keep serving
        log.error("render %s failed:\n%s", job_id, traceback.format_exc())
        return _send(conn, ("error", job_id, RenderFailed.code, f"{type(err).__name__}: {err}"))
    if cancelled():
        return _send(conn, ("cancelled", job_id))
    return _send(conn, result)


def _send(conn: Any, msg: tuple[Any, ...], *, raise_on_error: bool = False) -> bool:
    try:
        conn.send(msg)
        return True
    except (BrokenPipeError, EOFError, OSError):
        if raise_on_error:
            raise BrokenPipeError("the server is gone")
        return False


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.service --fd N --model M``: started by the render worker, not by hand."""
    parser = argparse.ArgumentParser(prog="python -m engine.service",
                                     description="jasco-bridge engine process (started by the render worker)")
    parser.add_argument("--fd", type=int, required=True, help="inherited socket to the server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--factory", default=None, help="engine factory 'module:attr'")
    parser.add_argument("--log-level", type=int, default=logging.WARNING)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s %(levelname)s engine[{os.getpid()}] %(name)s: %(message)s")
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's business; it stops us
    try:
        conn = multiprocessing.connection.Connection(args.fd)
    except OSError as err:
        print(f"engine.service: bad --fd {args.fd}: {err}", file=sys.stderr)
        return 2
    serve(conn, args.model, args.device, args.dtype, args.factory)
    # Skip interpreter teardown (torch's thread pools can make it slow): nothing is left to flush.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
