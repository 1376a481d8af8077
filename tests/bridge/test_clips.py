"""bridge.output: exact bar lengths, formats, loudness, safe names, atomic writes, disk full."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from bridge import clips, dsp, sidecar
from core import fileio
from core.errors import ClipDirUnwritable, OutputError
from core.requests import ChordEvent, RenderParams, RenderRequest

REPO = Path(__file__).resolve().parents[2]
SR = 32000


def _music(seconds: float = 10.0, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    """A chord-like signal (three partials) as the engine would return it: [1, S] float32."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate((220.0, 277.2, 329.6)))
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t) ** 2
    return (amp * x * env / 1.8).astype(np.float32)[None, :]


def _request(**params: object) -> RenderRequest:
    """A one-shot clip (cut from one engine window) unless ``loop`` is given; loops: test_loops.py."""
    params.setdefault("loop", False)
    bpm = float(params.pop("bpm", 120.0))  # type: ignore[arg-type]
    ts = params.pop("time_signature", (4, 4))
    return RenderRequest(prompt="warm lofi piano", bpm=bpm, time_signature=ts,  # type: ignore[arg-type]
                         params=RenderParams(**params), model="fake")  # type: ignore[arg-type]


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("bars", "bpm", "ts", "rate", "expected"),
    [
        (4, 120.0, (4, 4), 48000, 384000),  # 8.000 s
        (2, 90.0, (3, 4), 44100, 176400),  # 2 x 3 beats x 0.6667 s = 4 s
        (1, 137.0, (7, 8), 48000, round(3.5 * 60 / 137 * 48000)),  # off-grid tempo: rounded once
        (4, 174.0, (4, 4), 96000, round(16 * 60 / 174 * 96000)),
    ],
)
def test_bars_cut_is_sample_exact_at_output_rate(tmp_path: Path, bars: int, bpm: float, ts: tuple[int, int],
                                                 rate: int, expected: int) -> None:
    req = _request(bars=bars, bpm=bpm, time_signature=ts, sample_rate=rate)
    clip = clips.write_clip(_music(), SR, req, tmp_path, engine_info={"model_id": "fake"}, nfe=16)
    data, sr = sf.read(clip.path, dtype="float32", always_2d=True)
    assert sr == rate
    assert data.shape[0] == expected == clip.samples
    assert abs(data[-1]).max() == 0.0  # the fade-out ends on silence so the loop does not click
    assert abs(data[-int(rate * 0.02)]).max() > 0.0  # ... and only the last few ms are faded
    side = json.loads(clip.sidecar_path.read_text())
    assert side["samples"] == expected and side["trim"]["short"] is False
    assert side["seconds"] == pytest.approx(expected / rate)


def test_engine_audio_shorter_than_the_bars_is_an_error_not_a_short_clip(tmp_path: Path) -> None:
    req = _request(bars=8, bpm=60.0, sample_rate=48000)  # 32 s wanted, the engine returned 10 s
    with pytest.raises(OutputError, match="cut short"):
        clips.write_clip(_music(), SR, req, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


def test_no_bars_keeps_full_window(tmp_path: Path) -> None:
    clip = clips.write_clip(_music(), SR, _request(bars=0, sample_rate=44100), tmp_path)
    assert sf.info(str(clip.path)).frames == 441000


@pytest.mark.parametrize(
    ("fmt", "depth", "subtype"),
    [("wav", 24, "PCM_24"), ("wav", 16, "PCM_16"), ("flac", 24, "PCM_24"), ("flac", 16, "PCM_16"),
     ("ogg", 24, "VORBIS")],
)
def test_formats_and_bit_depth_read_back(tmp_path: Path, fmt: str, depth: int, subtype: str) -> None:
    req = _request(format=fmt, bit_depth=depth, bars=2, sample_rate=48000)
    clip = clips.write_clip(_music(), SR, req, tmp_path)
    assert clip.path.suffix == f".{fmt}"
    info = sf.info(str(clip.path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == (fmt.upper(), subtype, 48000, 1)
    if fmt != "ogg":  # vorbis does not store an exact length
        assert info.frames == 192000
    data, _ = sf.read(clip.path, dtype="float32")
    assert np.isfinite(data).all() and np.abs(data).max() > 0.05


@pytest.mark.parametrize("target", [-14.0, -20.0])
def test_loudness_within_half_lu(tmp_path: Path, target: float) -> None:
    req = _request(bars=4, normalize="loudness", loudness_lufs=target)
    clip = clips.write_clip(_music(amp=0.05), SR, req, tmp_path)
    data, sr = sf.read(clip.path, dtype="float64")
    measured = pyloudnorm.Meter(sr).integrated_loudness(data)
    assert abs(measured - target) < 0.5
    norm = json.loads(clip.sidecar_path.read_text())["normalization"]
    assert norm["applied"] == "loudness" and norm["gain_db"] > 0


def test_loudness_limited_by_peak_is_reported() -> None:
    # A few loud clicks in near-silence: reaching -14 LUFS would clip, so the gain stops at -1 dBFS.
    x = np.zeros((1, 5 * 48000), dtype=np.float32)
    x[0, ::48000] = 0.5
    x += 1e-4 * np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    y, info = dsp.normalize(x, 48000, "loudness", target_lufs=-14.0)
    assert np.abs(y).max() == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    assert "limited" in info["note"]


def test_peak_and_none_normalisation() -> None:
    x = _music(seconds=2.0, sr=48000, amp=0.2)
    y, info = dsp.normalize(x, 48000, "peak")
    assert 20 * np.log10(np.abs(y).max()) == pytest.approx(-1.0, abs=1e-3)
    assert info["applied"] == "peak"
    z, info = dsp.normalize(x, 48000, "none")
    assert np.array_equal(z, x) and info["applied"] == "none"


def test_loudness_falls_back_for_silence_and_short_clips() -> None:
    silent, info = dsp.normalize(np.zeros((1, 48000), np.float32), 48000, "loudness")
    assert not silent.any() and info["applied"] == "none" and "silent" in info["note"]
    short = _music(seconds=0.2, sr=48000)
    y, info = dsp.normalize(short, 48000, "loudness")
    assert info["applied"] == "peak" and "too short" in info["note"]
    assert 20 * np.log10(np.abs(y).max()) == pytest.approx(-1.0, abs=1e-3)


def test_one_very_short_bar_writes_a_peak_normalised_clip(tmp_path: Path) -> None:
    req = _request(bars=1, bpm=999.0, time_signature=(1, 4), sample_rate=48000)  # 60 ms
    clip = clips.write_clip(_music(), SR, req, tmp_path)
    assert clip.samples == round(60 / 999 * 48000)
    assert json.loads(clip.sidecar_path.read_text())["normalization"]["applied"] == "peak"


def test_safe_unique_names(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 21, 10, 35, 1)
    assert clips.clip_stem("Warm  Lo-Fi piano!", 42, when) == "20261121-103501_warm-lo-fi-piano_s42"
    weird = "../../etc/passwd \\ Café ☃ 日本 " + "x" * 300
    stem = clips.clip_stem(weird, 7, when)
    assert stem.isascii() and "/" not in stem and "\\" not in stem and ".." not in stem
    assert len(stem) <= 16 + 1 + clips.MAX_SLUG_CHARS + 10
    assert clips.clip_stem("☃☃☃", 1, when) == "20261121-103501_clip_s1"
    req = RenderRequest(prompt=weird[:900], params=RenderParams(seed=7))
    paths = {clips.write_clip(_music(seconds=1.0), SR, req, tmp_path, when=when).path for _ in range(3)}
    assert len(paths) == 3 and all(p.parent == tmp_path for p in paths)
    assert sorted(p.name for p in paths) == [  # cut at a word boundary, then numbered
        "20261121-103501_etc-passwd-cafe_s7-2.wav", "20261121-103501_etc-passwd-cafe_s7-3.wav",
        "20261121-103501_etc-passwd-cafe_s7.wav"]


def test_sidecar_has_everything_to_rerender(tmp_path: Path) -> None:
    chords = (ChordEvent("Cmaj7", "C:maj7", 0.0, 0.0), ChordEvent("A-7", "A:min7", 4.0, 2.0, False, "approx"))
    req = RenderRequest(prompt="p", bpm=120.0, chords=chords, drums_path="/x/loop.wav",
                        drums_sha256="ab" * 32, melody_frames=(60, 60, 0, 62), tag="t", client="127.0.0.1:9",
                        params=RenderParams(seed=5, solver="midpoint", steps=8, bars=2, loop=False), model="tiny")
    info = {"model_id": "tiny-id", "model_revision": "rev1", "engine_version": "0.1", "sample_rate": 32000}
    clip = clips.write_clip(_music(), SR, req, tmp_path, engine_info=info, nfe=16, job_id="j1",
                             drums_sha256="cd" * 32)
    side = sidecar.load_sidecar(clip.sidecar_path)
    for key in ("prompt", "bpm", "time_signature", "bars", "loop", "hop", "timeline", "chords", "drums_file",
                "drums_sha256", "drums_fill",
                "melody_frames", "seed", "solver", "steps", "rtol", "atol", "cfg_all", "cfg_txt", "sample_rate",
                "format", "normalize", "model", "model_id", "model_revision", "engine_version", "bridge_version",
                "nfe", "created", "audio_file"):
        assert key in side, key
    assert side["chords"][1] == {"given": "A-7", "label": "A:min7", "start_beat": 4.0, "start_seconds": 2.0,
                                 "exact": False, "reason": "approx"}
    assert side["drums_sha256"] == "cd" * 32  # the hash of what was actually used
    assert (side["model_id"], side["model_revision"], side["nfe"]) == ("tiny-id", "rev1", 16)
    again = sidecar.request_from_sidecar(side)
    assert again == RenderRequest(**{**req.__dict__, "drums_sha256": "cd" * 32})
    # Same input audio through the same post-processing: identical samples.
    clip2 = clips.write_clip(_music(), SR, again, tmp_path, engine_info=info, nfe=16)
    a, _ = sf.read(clip.path, dtype="int32")
    b, _ = sf.read(clip2.path, dtype="int32")
    assert np.array_equal(a, b)


def test_failure_mid_write_leaves_nothing_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the audio temp file has its bytes, then the "disk" fails
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError) as err:
        clips.write_clip(_music(), SR, _request(bars=2), tmp_path)
    assert err.value.code == "io_error"
    assert _visible(tmp_path) == []


def test_failed_rename_of_audio_removes_its_sidecar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if str(dst).endswith(".wav"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError) as err:
        clips.write_clip(_music(), SR, _request(bars=2), tmp_path)
    assert err.value.code == "disk_full"
    assert _visible(tmp_path) == []


def test_missing_clip_folder_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "clips"
    clip = clips.write_clip(_music(seconds=1.0), SR, _request(), folder)
    assert clip.path.parent == folder and clip.path.exists()


def test_clip_folder_that_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ClipDirUnwritable) as err:
        clips.write_clip(_music(seconds=1.0), SR, _request(), blocker / "clips")
    assert err.value.code == "clip_dir_unwritable"
    with pytest.raises(ClipDirUnwritable):
        clips.write_clip(_music(seconds=1.0), SR, _request(), blocker)


_CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    import numpy as np
    from bridge import clips, dsp, sidecar
    from core import fileio
    from core.errors import JascoError
    from core.requests import RenderParams, RenderRequest
    folder = sys.argv[1]
    if sys.argv[2] == "fsize":
        clips.ignore_sigxfsz()
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))
    audio = (0.3 * np.sin(np.arange(320000) / 32000 * 2 * np.pi * 330)).astype(np.float32)[None]
    try:
        clips.write_clip(audio, 32000, RenderRequest(prompt="full", params=RenderParams(bars=0)), folder)
        print(json.dumps({"code": None}))
    except JascoError as err:
        print(json.dumps({"code": err.code, "message": str(err)}))
    """
)


def _run_child(folder: Path, mode: str, prefix: list[str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*(prefix or []), sys.executable, "-c", _CHILD, str(folder), mode],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_full_disk_is_disk_full_and_leaves_nothing(tmp_path: Path) -> None:
    result = _run_child(tmp_path, "fsize")
    assert result["code"] == "disk_full", result
    assert "no space left" in result["message"]
    assert _visible(tmp_path) == []


def test_read_only_clip_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            with pytest.raises(ClipDirUnwritable):
                clips.write_clip(_music(seconds=1.0), SR, _request(), folder)
        finally:
            folder.chmod(0o755)
        assert _visible(folder) == []
        return
    # root ignores permission bits: make a real read-only bind mount in a private mount namespace.
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without user namespaces: cannot make a read-only folder")
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"exec \"$@\"")
    result = _run_child(folder, "plain", prefix=[unshare, "-rm", "sh", "-c", script, "sh"])
    assert result["code"] == "clip_dir_unwritable", result
    assert _visible(folder) == []


def test_cleanup_removes_only_dead_writers_temp_files(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"{fileio.TEMP_PREFIX}{dead.pid}-abc.wav").write_bytes(b"partial")
    (tmp_path / f"{fileio.TEMP_PREFIX}{os.getppid()}-def.wav").write_bytes(b"live writer")
    (tmp_path / "song.wav").write_bytes(b"keep")
    removed = clips.cleanup_temp_files(tmp_path)
    assert [p.name for p in removed] == [f"{fileio.TEMP_PREFIX}{dead.pid}-abc.wav"]
    assert _visible(tmp_path) == sorted([f"{fileio.TEMP_PREFIX}{os.getppid()}-def.wav", "song.wav"])


def test_engine_audio_that_is_not_audio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        clips.write_clip(np.full((1, 1000), np.nan, np.float32), SR, _request(), tmp_path)
    with pytest.raises(OutputError):
        clips.write_clip(np.zeros((1, 0), np.float32), SR, _request(), tmp_path)
    assert _visible(tmp_path) == []


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_fast_loudness_equals_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(rate)
    t = np.arange(int(7.7 * rate)) / rate
    signals = {
        "chord": _music(7.7, rate)[0].astype(np.float64),
        "noise": 0.1 * rng.standard_normal(t.size),
        "gated": 0.3 * np.sin(2 * np.pi * 80 * t) * (t % 1 < 0.3),  # the relative gate matters here
    }
    meter = pyloudnorm.Meter(rate)
    for name, x in signals.items():
        stereo = np.stack([x, 0.5 * x])
        ours = dsp._integrated_loudness(stereo, rate)
        theirs = meter.integrated_loudness(stereo.T)
        assert ours == pytest.approx(theirs, abs=1e-9), name
    assert dsp._integrated_loudness(np.zeros((1, rate)), rate) == -np.inf


@pytest.mark.parametrize("seconds", [0.4, 0.45, 0.5, 0.56, 1.0, 1.06, 2.1, 7.95, 8.0, 9.99, 10.0])
def test_fast_loudness_equals_pyloudnorm_for_any_length(seconds: float) -> None:
    """The rounded block count can put the last block past the end (a regression: IndexError)."""
    rate = 48000
    rng = np.random.default_rng(int(seconds * 100))
    x = 0.2 * rng.standard_normal((1, int(seconds * rate)))
    theirs = pyloudnorm.Meter(rate).integrated_loudness(x.T)
    assert dsp._integrated_loudness(x, rate) == pytest.approx(theirs, abs=1e-9)


# --- issue 15: any number of writers share one clip folder --------------------------------------------------
def _writer(folder: str, k: int, clips_each: int, start: object, out: object) -> None:
    """One "server" (a process of its own) writing clips of the same prompt, seed and second as the others."""
    import datetime as dt

    start.wait(30)  # type: ignore[attr-defined]
    when = dt.datetime(2026, 11, 30, 12, 0, 0)
    request = _request(seed=7, bars=1, normalize="none")
    audio = _music(seconds=2.0, amp=0.1 + 0.01 * k)
    written = []
    for n in range(clips_each):
        r = clips.write_clip(audio, SR, request, folder, job_id=f"w{k}-{n}", when=when)
        written.append((r.path.name, r.sidecar_path.name, f"w{k}-{n}"))
    out.put(written)  # type: ignore[attr-defined]


def test_writers_sharing_a_folder_never_overwrite_each_other(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    writers, each = 4, 5
    start, out = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), k, each, start, out)) for k in range(writers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    written = [w for r in results for w in r]
    names = [audio for audio, _, _ in written]
    assert len(set(names)) == writers * each, sorted(names)  # every writer got names of its own
    on_disk = [p for p in tmp_path.iterdir() if p.suffix == ".wav"]
    assert len(on_disk) == writers * each
    for audio, side, job in written:
        meta = json.loads((tmp_path / side).read_text())
        assert meta["audio_file"] == audio  # a sidecar names its own clip ...
        assert meta["job_id"] == job  # ... and the job that made it
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".jasco-")]  # no reservation left


def test_a_killed_writers_name_reservation_is_cleaned_up(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".jasco-name-20261130-120000_x_s1").write_text(str(dead.pid))
    (tmp_path / ".jasco-name-20261130-120000_y_s1").write_text(str(os.getppid()))  # a live writer's
    removed = clips.cleanup_temp_files(tmp_path)
    assert [p.name for p in removed] == [".jasco-name-20261130-120000_x_s1"]
    stem, marker = clips.reserve_stem(tmp_path, "20261130-120000_y_s1", "wav")
    assert stem == "20261130-120000_y_s1-2"  # the live reservation is respected
    clips.release_stem(marker)
