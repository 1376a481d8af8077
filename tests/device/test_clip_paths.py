"""A real ``jasco-bridge serve`` (its engine the worker tests' fake, numpy only) <-> the device.

- The clip folder given as a relative ``--clip-dir`` or through a symlink: the bridge says
  ``/jasco/done`` with the absolute, resolved path, and the device recognises the clip Live
  made from it (the mock reports a clip's file by its real path, as another spelling of the
  same file would come back), so the clip is named, timed and counted as the device's.
- A float-only client (every number a 32-bit OSC float, as Pure Data and Max send them) recalls
  the seed a render reported and gets the same clip: random seeds are 0..2^24-1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from core.params import MAX_RANDOM_SEED

from .livesets import SETTINGS, live_set
from .oscpeer import Listener, build
from tests.proc_util import stop

from .test_end_to_end import free_udp_port, wait_until_answering

BRIDGE_TESTS = Path(__file__).resolve().parents[1] / "bridge"   # jasco_fake_engine.py
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(cli_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server (starting one takes seconds) whose --clip-dir is both: relative to its working
    folder, and through a symlink (link -> real)."""
    tmp_path = tmp_path_factory.mktemp("served")
    real = tmp_path / "real"
    (real / "clips").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    clip_dir = "link/clips"
    port, reply_port = free_udp_port(), free_udp_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(BRIDGE_TESTS)]))
    log_path = tmp_path / "bridge.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [cli_exe, "serve", "--model", "fake", "--engine-factory", "jasco_fake_engine:make", "--port", str(port),
             "--reply-port", str(reply_port), "--clip-dir", clip_dir],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path, env=env)
        try:
            wait_until_answering(proc, port, log_path)
            yield {"port": port, "real": (real / "clips").resolve(), "log": log_path}
        finally:
            stop(proc, signal.SIGINT, 15, group=True)


def test_the_clip_is_recognised_through_a_relative_or_symlinked_clip_dir(served: dict[str, Any], run_device) -> None:
    live = live_set(real_paths=True)
    live.pop("default_file_seconds")              # the mock reads each clip's length from its file
    out = run_device({"mode": "glue", "live": live, "bridge_port": served["port"], "settings": SETTINGS + [["drums_track", 0]],
                      "commands": [["generate"]], "wait_terminal": 1, "timeout_ms": 30000, "linger_ms": 700},
                     timeout=60)
    log = served["log"].read_text()[-2000:]
    assert out["errors"] == [], log
    done = [r for r in out["replies"] if r["address"] == "/jasco/done"]
    assert done, (out["status"], log)
    path = Path(done[0]["args"][1]["value"])
    assert path.is_absolute() and path.parent == served["real"], path      # absolute, symlinks resolved
    clip = out["live"]["tracks"][2]["slots"][1]
    assert clip is not None and Path(clip["file_path"]) == path.resolve()
    assert clip["name"].endswith(" · take 1 · seed 1234")                 # recognised: named ...
    assert (clip["warping"], clip["looping"], clip["loop_end"]) == (1, 1, 8.0)   # ... and timed
    assert not any("Live did not create" in s for s in out["status"]), out["status"]
    assert out["live"]["console"] == []


def test_a_seed_recalled_through_a_32_bit_float_gives_the_same_clip(served: dict[str, Any]) -> None:
    client = Listener()

    def render(*seed: tuple[str, Any]) -> tuple[Path, int]:
        client.packets.clear()
        for message in (build("/jasco/hello", ("f", float(client.port))), build("/jasco/prompt", ("s", "warm"), ("s", "rhodes")),
                        build("/jasco/tempo", ("f", 120.0)), build("/jasco/set", ("s", "bars"), ("f", 1.0)),
                        build("/jasco/set", ("s", "seed"), *seed), build("/jasco/generate", ("s", "pd"))):
            client.send(message, served["port"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for p in list(client.packets):
                if p.address == "/jasco/done":
                    return Path(p.values[1]), int(p.values[4])
                if p.address == "/jasco/error":
                    pytest.fail(f"bridge error: {p.values}")
            time.sleep(0.05)
        pytest.fail(f"no /jasco/done: {[p.address for p in client.packets]}")

    try:
        first, seed = render(("f", -1.0))                 # a random seed, as Pd sends -1
        assert 0 <= seed <= MAX_RANDOM_SEED
        as_float = float(np.float32(seed))                # what a float-only client holds and sends back
        assert as_float == seed
        again, seed2 = render(("f", as_float))
        other, _ = render(("f", float(np.float32(seed + 1 if seed < MAX_RANDOM_SEED else seed - 1))))
    finally:
        client.close()
    assert seed2 == seed and again != first
    a, b, c = (sf.read(p, dtype="float32")[0] for p in (first, again, other))
    assert np.array_equal(a, b)                           # the same clip
    assert not np.array_equal(a, c)                       # (another seed is another clip)
