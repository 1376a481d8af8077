"""Benchmark the remote engine path: overhead per job of ``serve --engine URL`` over the local engine.

    .venv/bin/python bench/remote.py [--jobs 8] [--steps 2]

Starts ``jasco-bridge engine-serve --model tiny`` (a private Ray instance, one replica, loopback,
a token), a bridge on it (``serve --engine URL``) and a bridge with its local engine process
(``serve --model tiny``), all at once. ``--jobs`` identical small renders on each, interleaved
(remote, local, remote, ...) so both see the same machine load, over real OSC/UDP; per job
the overhead is the time from sending ``/jasco/generate`` to receiving ``/jasco/done`` minus the
engine's own time (the sidecar's ``timings.engine_s``, measured around ``generate`` in the engine).
What is left: OSC, queue, journal, the engine transport (socket pair + pickle locally; HTTP through
Serve's proxy + JSON/raw frames remotely), post-processing, the write and the replies.
Prints medians and the remote/local ratio measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_REPO))
sys.path.insert(1, str(_REPO / "tests" / "bridge"))  # osc_helpers: the tests' real-UDP peers
sys.path.insert(2, str(_REPO / "tests" / "remote"))  # remote_rig: engine-serve as a child process

from osc_helpers import OscClient, ServeProcess  # noqa: E402
from remote_rig import EngineServe  # noqa: E402


def wait_idle(c: OscClient, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.send("/jasco/status")
        if c.expect("/jasco/status").args[0] == "idle":
            return
        time.sleep(0.2)
    raise SystemExit("the bridge did not become idle")


def prepare(server: ServeProcess, steps: int) -> OscClient:
    c = OscClient(("127.0.0.1", server.port))
    wait_idle(c)
    c.send("/jasco/prompt", "bench")
    c.send("/jasco/chords", "C", 0, "Am", 4)
    c.expect("/jasco/chords/mapped", timeout=10)
    for name, value in [("bars", 2), ("steps", steps), ("solver", "euler"), ("seed", 5), ("sample_rate", 32000)]:
        c.send("/jasco/set", name, value)
    c.sync()
    return c


def one_job(c: OscClient, tag: str) -> float:
    """generate -> done wall time minus the engine's own time (seconds)."""
    c.drain(0.01)
    t0 = time.perf_counter()
    c.send("/jasco/generate", tag)
    done = c.expect("/jasco/done", timeout=300)
    wall = time.perf_counter() - t0
    return wall - json.loads(Path(done.args[1]).with_suffix(".json").read_text())["timings"]["engine_s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    args = ap.parse_args()
    cli = str(Path(sys.executable).with_name("jasco-bridge"))
    local_s: list[float] = []
    remote_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        token = Path(tmp) / "token"
        token.write_text(secrets.token_urlsafe(32))
        engine = EngineServe(cli, "--model", "tiny", token_file=token)
        remote = local = None
        try:
            remote = ServeProcess(cli, "--model", "tiny", "--engine", engine.url, "--engine-token-file", str(token),
                                  "--clip-dir", f"{tmp}/remote", "--reply-port", "0")
            local = ServeProcess(cli, "--model", "tiny", "--clip-dir", f"{tmp}/local", "--reply-port", "0")
            rc, lc = prepare(remote, args.steps), prepare(local, args.steps)
            one_job(rc, "warm"), one_job(lc, "warm")  # first jobs warm caches and connections: not counted
            for k in range(args.jobs):  # interleaved, so both paths see the same machine load
                remote_s.append(one_job(rc, f"r{k}"))
                local_s.append(one_job(lc, f"l{k}"))
            rc.close(), lc.close()
        finally:
            for server in (remote, local):
                if server is not None:
                    server.stop()
            engine.stop()
    lm, rm = statistics.median(local_s) * 1e3, statistics.median(remote_s) * 1e3
    print(f"overhead per job (generate -> done minus engine time), tiny model, {args.jobs} jobs, loopback:")
    print(f"  local engine process : median {lm:7.1f} ms  (min {min(local_s) * 1e3:.1f}, max {max(local_s) * 1e3:.1f})")
    print(f"  remote (Ray Serve)   : median {rm:7.1f} ms  (min {min(remote_s) * 1e3:.1f}, max {max(remote_s) * 1e3:.1f})")
    print(f"  remote - local       : {rm - lm:+7.1f} ms per job; ratio remote/local {rm / lm:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
