"""``jasco-bridge engine-serve``: the engine as a Ray Serve application, for bridges elsewhere.

Runs ``python -m engine.remote_serve`` (``engine/remote_serve.py``) in a child process, so the
``bridge`` package never imports torch, Ray or the engine; Ctrl-C / SIGTERM reach the child,
which shuts Serve and its Ray instance down. Needs the optional extra:
``pip install "jasco-bridge[remote]"``. Bridges connect with ``serve --engine URL``.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.errors import EnvironmentProblem

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0  # how long the child may take to shut Serve and Ray down after SIGTERM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="hub id, local folder, or 'tiny'; every replica loads it once")
    parser.add_argument("--device", default="cpu", help="torch device of each replica: cuda (one GPU per replica) or cpu")
    parser.add_argument("--dtype", default=None, help="model dtype (default: the engine's choice for the device)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address of the HTTP endpoint (default 127.0.0.1; any other needs --token-file)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--token-file", type=Path, default=None,
                        help="file with the bearer token bridges must send (required for a non-loopback --host)")
    parser.add_argument("--replicas", type=int, default=1, help="model replicas (default 1; one GPU each with cuda)")
    parser.add_argument("--max-replicas", type=int, default=None,
                        help="autoscale from --replicas up to this many on queue length")
    parser.add_argument("--address", default=None,
                        help="join this Ray cluster (e.g. auto or HEAD:6379) instead of starting a private one")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the private Ray instance (default: all)")
    parser.add_argument("--temp-dir", default=None, help="session folder of the private Ray instance")
    parser.add_argument("--engine-factory", default=None, help=argparse.SUPPRESS)  # tests


def command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "engine.remote_serve", "--model", args.model, "--device", args.device,
           "--host", args.host, "--port", str(args.port), "--replicas", str(args.replicas),
           "--log-level", str(logging.getLogger().getEffectiveLevel())]
    optional: dict[str, Any] = {"--dtype": args.dtype, "--token-file": args.token_file,
                                "--max-replicas": args.max_replicas, "--address": args.address,
                                "--num-cpus": args.num_cpus, "--temp-dir": args.temp_dir,
                                "--factory": args.engine_factory}
    for flag, value in optional.items():
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("ray") is None:
        raise EnvironmentProblem('engine-serve needs Ray Serve: pip install "jasco-bridge[remote]"')
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]  # the child imports what we can (a checkout)
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    # Its own session: a terminal's Ctrl-C reaches only us (and we stop the child with SIGTERM), not
    # every Ray process at once; the child stops by itself when we die (it watches its parent).
    child = subprocess.Popen(command(args), stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def forward(signum: int, frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    old_int = signal.signal(signal.SIGINT, forward)
    old_term = signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.error("engine-serve did not stop within %.0f s; killing it", STOP_GRACE_S)
                child.kill()
                child.wait()
