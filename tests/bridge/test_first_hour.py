"""A newcomer's first hour, on a fresh machine without network (issue 13's "done when").

``serve --model tiny`` in an empty HOME, ``HF_HUB_OFFLINE=1``: chords sent the moment the
server answers are accepted (the tiny model's vocabulary is rule data, known before the
engine has built the model), and two presses of Generate give two different takes whose
seeds are reported in ``/jasco/done`` (5th argument), the file name (``_s<seed>``) and
the sidecar; ``/jasco/set seed N`` fixes the seed and ``-1`` makes it random again.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from osc_helpers import OscClient, ServeProcess


def _fresh_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "JASCO_", "XDG_"))}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    return env


@pytest.mark.slow
def test_fresh_machine_chords_at_once_and_two_takes_with_their_seeds(cli_exe: str, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    env = _fresh_env(tmp_path)
    server = ServeProcess(cli_exe, "--model", "tiny", "--clip-dir", str(clips), "--reply-port", "0", env=env)
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            c.send("/jasco/ping", 1)
            c.expect("/jasco/pong")
            c.send("/jasco/chords", "C", 0, "Am7", 4, "Fmaj9", 8, "G", 12)  # at once: the engine is still starting
            mapped = c.expect("/jasco/chords/mapped", timeout=5)
            assert mapped.args[1::4] == ("C", "Am7", "Fmaj7", "G")
            c.send("/jasco/status")
            assert c.expect("/jasco/status").args[0] == "loading"  # the race of the issue was really there
            assert not [r for r in c.drain(0.1) if r.address == "/jasco/error"]

            c.send("/jasco/prompt", "warm keys")
            c.send("/jasco/tempo", 120.0, 4, 4)
            for name, value in (("bars", 1), ("steps", 2), ("solver", "euler")):
                c.send("/jasco/set", name, value)

            def take() -> tuple[Path, int]:
                c.send("/jasco/generate")
                job = c.expect("/jasco/queued").args[0]
                done = c.expect("/jasco/done", timeout=240, where=lambda r: r.args[0] == job)
                return Path(done.args[1]), int(done.args[4])

            (first, seed1), (second, seed2) = take(), take()
            assert seed1 != seed2
            for path, seed in ((first, seed1), (second, seed2)):
                assert path.stem.endswith(f"_s{seed}") and path.parent == clips
                sidecar = json.loads(path.with_suffix(".json").read_text())
                assert sidecar["seed"] == seed and sidecar["request"]["params"]["seed"] == seed
            a, _ = sf.read(str(first), dtype="float32")
            b, _ = sf.read(str(second), dtype="float32")
            assert a.shape == b.shape and not np.array_equal(a, b)  # two different takes

            c.send("/jasco/set", "seed", 7)
            path, seed = take()
            assert seed == 7 and path.stem.endswith("_s7")
            c.send("/jasco/set", "seed", -1)  # random again
            _, again = take()
            assert again != 7
    finally:
        assert server.stop() == 0
    log = server.output()
    ready = [ln for ln in server.lines if "model 'tiny' ready" in ln]
    assert len(ready) == 1 and "makes noise" in ready[0], log
    jobs = [ln for ln in server.lines if " done: client " in ln]
    assert len(jobs) == 4, log  # one line per job: id, client, prompt, bars, seed, engine time, path
    assert f"seed {seed1}," in jobs[0] and str(first) in jobs[0] and "'warm keys'" in jobs[0] and "1 bars" in jobs[0]
    assert "vocab_unavailable" not in log and "chord vocabulary: 146 labels" in log  # the tiny model's, by rule
    assert not (tmp_path / "home" / ".cache" / "huggingface").exists()  # nothing was fetched
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ")
    assert [ln for ln in server.lines if not stamp.match(ln)] == [], log  # one format, with timestamps
