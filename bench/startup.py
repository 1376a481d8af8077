"""Benchmark ``jasco-bridge serve`` start-up: time from process start to the first ``/jasco/pong``.

    .venv/bin/python bench/startup.py [--runs 5] [--model tiny]

Each run starts ``jasco-bridge serve --model tiny`` as a new process (empty HOME, offline, a fresh
clip folder) and sends ``/jasco/ping`` every 5 ms from the reply port until the first pong comes
back. Two variants are measured in this one run, interleaved:

- ``as shipped``: the command as a user runs it;
- ``eager DSP``: the same command with the heavy DSP modules (scipy.signal, pyloudnorm, soxr)
  imported before the CLI starts, i.e. what start-up cost while ``bridge.dsp`` imported them at
  module level.

Prints the median of each and their ratio (no absolute claims elsewhere).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(_REPO))

from pythonosc.osc_message import OscMessage  # noqa: E402
from pythonosc.osc_message_builder import OscMessageBuilder  # noqa: E402

EAGER = "import scipy.signal, pyloudnorm, soxr\nfrom bridge.cli import main\nraise SystemExit(main())"
SHIPPED = "from bridge.cli import main\nraise SystemExit(main())"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_to_first_pong(code: str, model: str, tmp: Path, timeout: float = 120.0) -> float:
    """Seconds from starting a ``serve`` process to its first ``/jasco/pong``."""
    port = _free_udp_port()
    home = Path(tempfile.mkdtemp(dir=tmp))
    env = {**os.environ, "HOME": str(home), "HF_HUB_OFFLINE": "1", "JASCO_BRIDGE_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(_REPO)}
    ping = OscMessageBuilder("/jasco/ping")
    ping.add_arg("startup")
    dgram = ping.build().dgram
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        reply = sock.getsockname()[1]
        sock.settimeout(0.005)
        argv = [sys.executable, "-c", code, "serve", "--model", model, "--port", str(port),
                "--reply-port", str(reply), "--clip-dir", str(home / "clips")]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"serve exited {proc.returncode} before answering")
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError("no pong in time")
                sock.sendto(dgram, ("127.0.0.1", port))
                try:
                    data, _ = sock.recvfrom(65536)
                except (socket.timeout, ConnectionRefusedError):
                    continue
                if OscMessage(data).address == "/jasco/pong":
                    return time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs per variant (default 5)")
    ap.add_argument("--model", default="tiny", help="serve --model (default tiny)")
    args = ap.parse_args(argv)
    times: dict[str, list[float]] = {"as shipped": [], "eager DSP": []}
    with tempfile.TemporaryDirectory(prefix="jasco-startup-") as tmp:
        time_to_first_pong(SHIPPED, args.model, Path(tmp))  # warm the OS file cache once
        for _ in range(args.runs):
            times["as shipped"].append(time_to_first_pong(SHIPPED, args.model, Path(tmp)))
            times["eager DSP"].append(time_to_first_pong(EAGER, args.model, Path(tmp)))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"serve --model {args.model}: process start -> first /jasco/pong ({os.cpu_count()} CPUs, "
          f"{args.runs} runs each, interleaved)")
    for k, v in times.items():
        print(f"  {k:10s}: median {med[k]:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    print(f"  as shipped / eager DSP = {med['as shipped'] / med['eager DSP']:.3f} "
          f"({med['eager DSP'] - med['as shipped']:+.3f} s sooner)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
