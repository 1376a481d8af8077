"""The device JavaScript <-> a real ``jasco-bridge serve --model tiny`` <-> a clip file.

Skipped (with the reason) until the bridge server exists: ``bridge/server.py``
importable and ``jasco-bridge serve --help`` working.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.proc_util import stop

from .livesets import PROMPT, SETTINGS, live_set
from .oscpeer import Listener, build

STARTUP_TIMEOUT_S = 90.0
RENDER_TIMEOUT_S = 240.0


def bridge_unavailable(cli_exe: str) -> str | None:
    """Why the real bridge cannot be used yet, or None."""
    # In a fresh interpreter, as the server runs: inside pytest, tests/ on sys.path
    # makes tests/bridge/ a namespace package that can hide the real bridge/.
    probe = subprocess.run([sys.executable, "-c", "import bridge.server"], capture_output=True, text=True,
                           timeout=60, check=False, cwd=Path(cli_exe).parent)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"bridge/server.py is not importable yet ({last})"
    try:
        proc = subprocess.run([cli_exe, "serve", "--help"], capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "'jasco-bridge serve --help' did not finish in 60 s"
    if proc.returncode != 0:
        return f"'jasco-bridge serve --help' failed ({proc.returncode}): {proc.stderr.strip()[-300:]}"
    return None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bridge_server(cli_exe: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    reason = bridge_unavailable(cli_exe)
    if reason is not None:
        pytest.fail(reason)  # a broken bridge is a failure, never a skip
    clip_dir = tmp_path / "clips"
    clip_dir.mkdir()
    port, reply_port = free_udp_port(), free_udp_port()
    log = (tmp_path / "bridge.log").open("w")
    proc = subprocess.Popen(
        [cli_exe, "serve", "--model", "tiny", "--port", str(port), "--reply-port", str(reply_port),
         "--clip-dir", str(clip_dir)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until_answering(proc, port, tmp_path / "bridge.log")
        yield {"port": port, "clip_dir": clip_dir, "log": tmp_path / "bridge.log"}
    finally:
        stop(proc, signal.SIGINT, 15, group=True)
        log.close()


def wait_until_answering(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the server answers /jasco/hello and its worker reports idle (model loaded)."""
    probe = Listener()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"jasco-bridge serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            probe.send(build("/jasco/hello", ("i", probe.port)), port)
            probe.send(build("/jasco/status"), port)
            time.sleep(0.25)
            states = [p.values[0] for p in probe.packets if p.address == "/jasco/status"]
            if states and states[-1] == "idle":
                return
        pytest.fail(f"jasco-bridge serve was not idle after {STARTUP_TIMEOUT_S} s "
                    f"({[(p.address, p.values) for p in probe.packets][-4:]}):\n{log.read_text()[-3000:]}")
    finally:
        probe.close()


@pytest.mark.slow
def test_two_takes_in_live_with_the_real_bridge(bridge_server: dict[str, Any], run_device, tmp_path: Path) -> None:
    """One press with Takes 2 and no locked seed: the generated patcher, through a real
    ``jasco-bridge serve --model tiny``, places two different takes in two free slots."""
    drums = tmp_path / "drum loop.wav"
    rate = 44100
    t = np.arange(int(rate * 2.0)) / rate
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-((t % 0.5) * 30))).astype(np.float32)
    sf.write(drums, np.stack([kick, kick], axis=1) * 0.5, rate, subtype="PCM_16")

    live = live_set()
    live["tracks"][1]["slots"][0]["file_path"] = str(drums)
    live.pop("default_file_seconds")          # the mock reads each clip's length from its file
    settings = [s for s in SETTINGS if s[0] not in ("lock_seed", "seed")] + [["model", 0], ["steps", 4], ["takes", 2]]
    out = run_device({"mode": "glue", "live": live, "bridge_port": bridge_server["port"], "settings": settings,
                      "commands": [["generate"]], "wait_terminal": 2,
                      "timeout_ms": int(RENDER_TIMEOUT_S * 1000)}, timeout=RENDER_TIMEOUT_S + 30)
    log = bridge_server["log"].read_text()[-3000:]
    assert out["errors"] == [], log
    assert out["live"]["console"] == [], out["live"]["console"]
    done = [s for s in out["status"] if s.startswith("Done")]
    assert len(done) == 2, (out["status"], log)
    errors = [[a["value"] for a in r["args"]] for r in out["replies"] if r["address"] == "/jasco/error"]
    assert errors == [], errors
    replies = [r["address"] for r in out["replies"]]
    assert "/jasco/hello" in replies
    assert replies.index("/jasco/queued") < replies.index("/jasco/started") < replies.index("/jasco/done")

    slots = out["live"]["tracks"][2]["slots"]
    assert slots[0]["name"] == "old take" and slots[0]["file_path"] == "/tmp/old.wav"      # untouched
    takes = slots[1:3]
    assert all(c is not None for c in takes), slots
    paths = [Path(c["file_path"]) for c in takes]
    assert paths[0] != paths[1]
    sidecars = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in paths]
    seeds = [sc["seed"] for sc in sidecars]
    assert seeds[1] == seeds[0] + 1, seeds                   # one fresh random base per press
    for k, (clip, path, sidecar) in enumerate(zip(takes, paths, sidecars), start=1):
        assert clip["name"] == f"{PROMPT} · take {k} · seed {sidecar['seed']}"
        assert path.is_file() and path.resolve().parent == bridge_server["clip_dir"].resolve()
        info = sf.info(path)
        # two 4/4 bars (the chord clip's loop) at the song's 96.5 bpm, looped over those bars
        assert abs(info.duration - 8 * 60 / 96.5) < 0.01, info.duration
        assert (clip["looping"], clip["warping"], clip["loop_start"], clip["loop_end"]) == (1, 1, 0, 8.0)
        # what the bridge rendered is what the device read from Live and the UI
        assert (sidecar["prompt"], sidecar["tag"].split(".")[0], sidecar["bpm"], sidecar["bars"]) == \
            (PROMPT, f"m4l-{k}", 96.5, 2)
        assert (sidecar["solver"], sidecar["steps"]) == ("euler", 4)
        assert sidecar["cfg_all"] == 4.5 and sidecar["cfg_txt"] == 1.5
        assert Path(sidecar["drums_file"]).resolve() == drums.resolve()
        # chords recognised from the clip's notes, in beats from its loop start
        starts = {c["start_beat"]: c["label"] for c in sidecar["chords"]}
        assert 0.0 in starts and starts[0.0] != "N" and 7.0 in starts, sidecar["chords"]
    audio = [sf.read(p, dtype="float32")[0] for p in paths]
    assert audio[0].shape == audio[1].shape and not np.array_equal(audio[0], audio[1]), "the two takes are identical"
    # the takes menu offers both seeds for recall
    listed = [a[2] for a in out["ui"] if a[:2] == ["take_list", "append"]][-2:]
    assert listed == [f"#2 seed {seeds[1]} → 'JASCO' slot 3", f"#1 seed {seeds[0]} → 'JASCO' slot 2"]
