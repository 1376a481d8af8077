"""``jasco-bridge render --bpm B --bars N --loop 0|1``: loops and one-shot phrases longer than the window.

In-process through ``bridge.cli.main`` on the conformance fixture (the same path as the
console script; the engine stays loaded between renders, ``engine_testlib.WARM``), with one Euler step so each render stays short. (``render --from`` of a loop:
tests/bridge/test_e2e_loops.py.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine_testlib import WARM

cli_main = WARM.render  # jasco-bridge ARGV in-process (bridge.cli.main), on warm engines shared with test_render_cli

FAST = ["--solver", "euler", "--steps", "1", "--normalize", "none", "--sample-rate", "48000", "--seed", "4"]


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("JASCO_BRIDGE_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("loop", ["1", "0"])
def test_eight_bars_at_90_bpm_as_one_clip(fixture_dir: Path, tmp_path: Path, offline: None, loop: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"loop{loop}.wav"
    argv = ["render", "--model", str(fixture_dir), "--prompt", "slow keys", "--bpm", "90", "--bars", "8",
            "--loop", loop, "--chords", "C@0 Am@4 F@8 G@12", "--out", str(out), *FAST]
    assert cli_main(argv) == 0
    err = capsys.readouterr().err
    info = sf.info(str(out))
    assert (info.frames, info.samplerate) == (1_024_000, 48000)  # 21.333 s exactly, not the 10 s window
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["timeline"]["frames"] == 1067 and side["timeline"]["loop"] is (loop == "1")
    audio, _ = sf.read(str(out), dtype="float64")
    if loop == "1":
        assert "plays 2 times to fill the 8-bar loop" in err
        assert [c["start_beat"] for c in side["request"]["chords"]] == [0, 4, 8, 12, 16, 20, 24, 28]
        assert side["timeline"]["windows"] == 4 and side["fade_ms"] == 0.0
        assert abs(audio[0] - audio[-1]) <= np.percentile(np.abs(np.diff(audio)), 99.9)
    else:  # a one-shot phrase: chords as given, windows on a line, cut and faded
        assert [c["start_beat"] for c in side["request"]["chords"]] == [0, 4, 8, 12]
        assert side["timeline"]["offsets"][-1] + 500 == 1067 and audio[-1] == 0.0


def test_clip_beyond_the_cap_exits_2_with_too_large(tmp_path: Path, offline: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["render", "--model", "tiny", "--bpm", "40", "--bars", "64", "--out", str(tmp_path / "x.wav")]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "too_large" in err and "180 s" in err
    assert not os.listdir(tmp_path) or os.listdir(tmp_path) == ["cache"]
