"""``jasco-bridge render``: reference parity on the conformance fixture, outputs, and coded errors.

The parity matrix (every case x Euler-8 cfg 5/2, Euler-8 cfg 5/0, dopri5) runs the
render command in-process through ``bridge.cli.main`` (same argument parsing,
same code path, without paying the torch import twelve times) on warm engines: one
engine process per set of engine options for the session (``engine_testlib.WARM``), so
the model loads once instead of once per render; one case runs through the installed console
script in a subprocess (its own engine, loaded and shut down as a user's), and so do
the error cases.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from engine_testlib import WARM

CASES = ("text_only", "text_chords", "text_chords_drums", "batch2_text_chords")
SETTINGS = {  # name -> (render options, reference getter)
    "euler8_all5_txt2": (["--solver", "euler", "--steps", "8", "--cfg-all", "5", "--cfg-txt", "2"], 1e-4),
    "euler8_all5_txt0": (["--solver", "euler", "--steps", "8", "--cfg-all", "5", "--cfg-txt", "0"], 1e-4),
    "dopri5": (["--solver", "dopri5", "--rtol", "1e-4", "--atol", "1e-4", "--cfg-all", "5", "--cfg-txt", "0"], 1e-3),
}
AUDIO_TOL = 1e-3  # audio decoded from our own latents (fixture README §8)


cli_main = WARM.render  # jasco-bridge ARGV in-process, on the warm engines


@pytest.fixture(scope="module")
def reference(fixture_dir: Path) -> dict[str, Any]:
    return torch.load(fixture_dir / "reference.pt", map_location="cpu", weights_only=True)


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("JASCO_BRIDGE_CACHE", str(tmp_path / "cache"))
    return {**os.environ, "HF_HUB_OFFLINE": "1", "JASCO_BRIDGE_CACHE": str(tmp_path / "cache")}


def case_args(case: dict[str, Any], tmp_path: Path) -> list[str]:
    """Render options equal to the reference inputs of one case."""
    inputs = case["inputs"]
    args = ["--seed", str(case["seed"]), "--sample-rate", "32000"]
    for prompt in inputs["descriptions"]:
        args += ["--prompt", prompt]
    if inputs["chords"]:
        args += ["--chords", " ".join(f"{label}@{float(start):g}" for label, start in inputs["chords"]),
                 "--chord-unit", "seconds"]
    if inputs.get("drums_wav_int16") is not None:
        wav = inputs["drums_wav_int16"][0].numpy().T  # [S, C] int16
        path = tmp_path / "drums.wav"
        sf.write(path, wav, int(inputs["drums_sample_rate"]), subtype="PCM_16")
        args += ["--drums", str(path), "--drums-fill", "pad", "--separate-drums", "0"]
    if len(inputs["descriptions"]) > 1:
        args += ["--guidance", "audiocraft"]  # the reference batches prompts with padding leaking across rows
    return args


def expected(case: dict[str, Any], setting: str) -> tuple[torch.Tensor, int | None]:
    if setting == "dopri5":
        return case["dopri5"]["z1"], int(case["dopri5"]["nfe"])
    key = "all5_txt2" if setting.endswith("txt2") else "all5_txt0"
    return case["cfg"][key]["euler8_z1"], int(case["cfg"][key]["euler8_nfe"])


def read_float_wav(path: Path) -> np.ndarray:
    info = sf.info(str(path))
    assert info.subtype == "FLOAT" and info.samplerate == 32000 and info.channels == 1
    data, _ = sf.read(str(path), dtype="float32")
    return data


def check_audio(case: dict[str, Any], outs: list[Path]) -> None:
    ref = case["cfg"]["all5_txt0"]
    for b, path in enumerate(outs):
        audio = read_float_wav(path)
        assert audio.shape == (int(ref["audio_shape"][-1]),)
        if "audio" in ref:
            np.testing.assert_allclose(audio, ref["audio"][b, 0].numpy(), atol=AUDIO_TOL, rtol=0)
        else:
            np.testing.assert_allclose(audio[:4000], ref["audio_head"][b, 0].numpy(), atol=AUDIO_TOL, rtol=0)
            np.testing.assert_allclose(audio[-4000:], ref["audio_tail"][b, 0].numpy(), atol=AUDIO_TOL, rtol=0)


def out_paths(out: Path, batch: int) -> list[Path]:
    return [out] if batch == 1 else [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(batch)]


# --- parity ------------------------------------------------------------------------
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("case_name", CASES)
def test_render_matches_the_reference(case_name: str, setting: str, fixture_dir: Path, reference: dict[str, Any],
                                      tmp_path: Path, offline: dict[str, str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    case = reference["cases"][case_name]
    options, tol = SETTINGS[setting]
    out, latents = tmp_path / "clip.wav", tmp_path / "z1.npy"
    argv = ["render", "--model", str(fixture_dir), *case_args(case, tmp_path), *options,
            "--normalize", "none", "--latents-out", str(latents), "--out", str(out), "--device", "cpu"]
    assert cli_main(argv) == 0
    captured = capsys.readouterr()
    assert "\r[" not in captured.err  # no progress bar when stderr is not a terminal
    lines = captured.out.strip().splitlines()
    want, nfe = expected(case, setting)
    assert lines[-1].endswith(f"function evaluations: {nfe}")
    z1 = np.load(latents)
    assert z1.dtype == np.float32 and z1.shape == tuple(want.shape)
    np.testing.assert_allclose(z1, want.numpy(), atol=tol, rtol=0)
    outs = out_paths(out, z1.shape[0])
    assert [str(p) for p in outs] == lines[: len(outs)]
    if setting == "euler8_all5_txt0":
        check_audio(case, outs)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # temp files were renamed into place


def _read_all(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the child closed the terminal
            return
        if not chunk:
            return
        sink.append(chunk)


def test_console_script_parity_with_a_progress_bar_on_a_terminal(
    cli_exe: str, fixture_dir: Path, reference: dict[str, Any], tmp_path: Path, offline: dict[str, str]
) -> None:
    import pty
    import threading

    case = reference["cases"]["text_chords_drums"]
    out, latents = tmp_path / "main.wav", tmp_path / "main.npy"
    cmd = [cli_exe, "render", "--model", str(fixture_dir), *case_args(case, tmp_path), "--solver", "euler",
           "--steps", "8", "--cfg-all", "5", "--cfg-txt", "0", "--normalize", "none",
           "--latents-out", str(latents), "--out", str(out)]
    master, slave = pty.openpty()  # stderr is a terminal: the progress bar must show there, not on stdout
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, chunks), daemon=True)
    try:
        proc = subprocess.Popen(cmd, env=offline, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        slave = -1
        reader.start()
        try:
            stdout, _ = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, terminal
    assert "\r[" in terminal and "evaluations 8" in terminal
    assert "\r" not in stdout and stdout.strip().splitlines()[-1].endswith("function evaluations: 8")
    np.testing.assert_allclose(np.load(latents), case["cfg"]["all5_txt0"]["euler8_z1"].numpy(), atol=1e-4, rtol=0)
    check_audio(case, [out])


# --- outputs -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["peak", "loudness"])
def test_normalize_modes_and_formats(mode: str, fixture_dir: Path, tmp_path: Path, offline: dict[str, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import pyloudnorm

    out = tmp_path / ("clip.flac" if mode == "peak" else "clip.wav")
    argv = ["render", "--model", str(fixture_dir), "--prompt", "funk groove", "--chords", "Cmaj7@0 Am7@5",
            "--solver", "euler", "--steps", "2", "--normalize", mode, "--out", str(out)]
    assert cli_main(argv) == 0
    info = sf.info(str(out))
    assert info.format == ("FLAC" if mode == "peak" else "WAV") and info.subtype == "PCM_24"
    audio, rate = sf.read(str(out), dtype="float64")
    peak = float(np.abs(audio).max())
    if mode == "peak":
        assert peak == pytest.approx(10 ** (-1 / 20), abs=1e-4)
    else:
        lufs = pyloudnorm.Meter(rate).integrated_loudness(audio)
        assert lufs == pytest.approx(-14.0, abs=0.2) or peak == pytest.approx(10 ** (-1 / 20), abs=1e-4)


def test_symbols_are_mapped_with_a_note(fixture_dir: Path, tmp_path: Path, offline: dict[str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.wav"
    argv = ["render", "--model", str(fixture_dir), "--chords", "Cmaj9@0 G@5", "--solver", "euler", "--steps", "1",
            "--normalize", "none", "--out", str(out), "--sample-rate", "48000"]
    assert cli_main(argv) == 0
    captured = capsys.readouterr()
    assert "Cmaj9" in captured.err and "note:" in captured.err
    assert "'G'" not in captured.err  # exact labels get no note
    assert sf.info(str(out)).samplerate == 48000


def test_rerender_from_a_sidecar(fixture_dir: Path, reference: dict[str, Any], tmp_path: Path,
                                 offline: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.clips import write_clip
    from core.requests import ChordEvent, RenderParams, RenderRequest

    case = reference["cases"]["text_chords"]
    chords = tuple(ChordEvent(given=label, label=label, start_beat=float(start) * 2, start_seconds=float(start))
                   for label, start in case["inputs"]["chords"])
    request = RenderRequest(
        prompt=case["inputs"]["descriptions"][0], chords=chords, model=str(fixture_dir),
        params=RenderParams(seed=case["seed"], solver="euler", steps=8, cfg_all=5.0, cfg_txt=2.0,
                            sample_rate=44100, bars=4, loop=False, format="flac", normalize="peak"),
    )
    # a one-shot clip cut from the window (loop 0): the reference's own latents
    clip = write_clip(np.zeros((1, 320000), np.float32), 32000, request, tmp_path / "clips")  # a real sidecar
    latents = tmp_path / "z.npy"
    assert cli_main(["render", "--from", str(clip.sidecar_path), "--latents-out", str(latents),
                     "--out", str(tmp_path / "a.flac")]) == 0
    np.testing.assert_allclose(np.load(latents), case["cfg"]["all5_txt2"]["euler8_z1"].numpy(), atol=1e-4, rtol=0)
    info = sf.info(str(tmp_path / "a.flac"))
    assert info.samplerate == 44100 and info.frames == round(4 * 2.0 * 44100)  # 4 bars of 4/4 at 120 bpm
    audio, _ = sf.read(str(tmp_path / "a.flac"))
    assert float(np.abs(audio).max()) == pytest.approx(10 ** (-1 / 20), abs=1e-4) and audio[-1] == 0.0  # fade
    # explicit options override the sidecar
    assert cli_main(["render", "--from", str(clip.sidecar_path), "--cfg-txt", "0", "--normalize", "none",
                     "--sample-rate", "32000", "--bars", "0", "--latents-out", str(latents),
                     "--out", str(tmp_path / "b.wav")]) == 0
    np.testing.assert_allclose(np.load(latents), case["cfg"]["all5_txt0"]["euler8_z1"].numpy(), atol=1e-4, rtol=0)
    check_audio(case, [tmp_path / "b.wav"])
    not_ours = tmp_path / "other.json"
    not_ours.write_text('{"prompt": "x"}')
    assert cli_main(["render", "--from", str(not_ours)]) == 2
    assert "error [bad_config]" in capsys.readouterr().err


def _melody_npy(reference_melody_dir: Path, tmp_path: Path, name: str) -> Path:
    """A published melody matrix as .npy (the bridge never imports torch, so .th files are converted)."""
    melody = torch.load(reference_melody_dir / f"{name}.th", weights_only=True)  # [500, 53] view
    npy = tmp_path / f"{name}.npy"
    np.save(npy, melody.numpy().T.copy())  # [53, 500]
    return npy


def test_melody_file_on_a_model_without_melody_is_ignored_with_a_note(
    fixture_dir: Path, reference_melody_dir: Path, tmp_path: Path, offline: dict[str, str],
    capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.wav"
    argv = ["render", "--model", str(fixture_dir), "--melody", str(_melody_npy(reference_melody_dir, tmp_path,
            "salience_1")), "--solver", "euler", "--steps", "1", "--out", str(out)]
    assert cli_main(argv) == 0
    assert "no melody conditioner" in capsys.readouterr().err


def test_melody_file_on_the_tiny_melody_model(reference_melody_dir: Path, tmp_path: Path, offline: dict[str, str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    npy = _melody_npy(reference_melody_dir, tmp_path, "salience_2")
    transposed = tmp_path / "t.npy"
    np.save(transposed, np.load(npy).T.copy())  # [500, 53]: both layouts are accepted
    z = {}
    for name, path in (("bins_first", npy), ("frames_first", transposed)):
        latents = tmp_path / f"{name}.out.npy"
        argv = ["render", "--model", "tiny:chords_drums_melody", "--melody", str(path), "--solver", "euler",
                "--steps", "2", "--seed", "3", "--latents-out", str(latents), "--out", str(tmp_path / f"{name}.wav")]
        assert cli_main(argv) == 0
        z[name] = np.load(latents)
    np.testing.assert_array_equal(z["bins_first"], z["frames_first"])
    argv = ["render", "--model", "tiny:chords_drums_melody", "--melody", str(reference_melody_dir / "salience_2.th"),
            "--out", str(tmp_path / "th.wav")]
    assert cli_main(argv) == 2
    assert "error [unsupported_format]" in capsys.readouterr().err


# --- errors ----------------------------------------------------------------------------
ERROR_CASES = {
    "missing_drums": (["--drums", "no/such/loop.wav"], "not_found", "does not exist"),
    "bad_chord_string": (["--chords", "C@0 Am@later"], "bad_chord", "Am@later"),
    "chord_without_time": (["--chords", "C Am"], "bad_chord", "SYMBOL@TIME"),
    "steps_zero": (["--steps", "0"], "bad_value", "--steps"),
    "steps_not_a_number": (["--steps", "many"], "bad_value", "--steps"),
    "bad_solver": (["--solver", "rk45"], "bad_value", "--solver"),
    "bad_extension": (["--out", "clip.mp3"], "unsupported_format", ".mp3"),
    "missing_sidecar": (["--from", "nowhere.json"], "not_found", "nowhere.json"),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_bad_input_exits_2_with_a_code(name: str, tmp_path: Path, offline: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (same parser, same handler as the console script; the next test runs the script itself)."""
    args, code, words = ERROR_CASES[name]
    monkeypatch.chdir(tmp_path)
    assert cli_main(["render", "--model", "tiny", *args]) == 2
    err = capsys.readouterr().err
    assert f"error [{code}]" in err and words in err
    assert list(tmp_path.glob("*.wav")) == []


def test_console_script_bad_input_exits_2_without_a_traceback(cli_exe: str, tmp_path: Path,
                                                              offline: dict[str, str]) -> None:
    res = subprocess.run([cli_exe, "render", "--model", "tiny", "--steps", "0"], env=offline, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "error [bad_value]" in res.stderr and "--steps" in res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_label_after_loading_is_coded(fixture_dir: Path, tmp_path: Path, offline: dict[str, str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["render", "--model", str(fixture_dir), "--chords", "H#zz@0", "--out", str(tmp_path / "x.wav")]
    assert cli_main(argv) == 2
    assert "error [bad_chord]" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_official_model_missing_offline_says_what_to_do(cli_exe: str, tmp_path: Path,
                                                         offline: dict[str, str]) -> None:
    env = {**offline, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    res = subprocess.run([cli_exe, "render", "--prompt", "x", "--out", str(tmp_path / "x.wav")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "error [model_unavailable]" in res.stderr
    assert "facebook/jasco-chords-drums-400M" in res.stderr and "--model tiny" in res.stderr
    assert not (tmp_path / "x.wav").exists()


def test_chords_are_mapped_with_the_official_vocabulary_before_the_model_loads(
    cli_exe: str, tmp_path: Path, offline: dict[str, str]
) -> None:
    """The shipped table maps chords for the official models offline, before any weights are looked for."""
    env = {**offline, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
           "HOME": str(tmp_path / "home")}
    res = subprocess.run([cli_exe, "render", "--prompt", "x", "--chords", "Cmaj9@0 Hm7@4", "--out",
                          str(tmp_path / "x.wav")], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "error [bad_chord]" in res.stderr and "Hm7" in res.stderr, res.stderr
    assert "model_unavailable" not in res.stderr  # refused before the model was looked for
    res = subprocess.run([cli_exe, "render", "--prompt", "x", "--chords", "Cmaj9@0 F#m7b5/A@4", "--out",
                          str(tmp_path / "x.wav")], env=env, capture_output=True, text=True, timeout=120)
    assert "note: chord 'Cmaj9' at beat 0 -> 'Cmaj7'" in res.stderr and "-> 'F#m7b5'" in res.stderr, res.stderr
    assert res.stderr.index("note: chord") < res.stderr.index("error [model_unavailable]")
    assert "jasco-bridge download facebook/jasco-chords-drums-400M" in res.stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc: a folder that takes no new files")
def test_an_output_folder_that_takes_no_files_is_refused_before_the_model(cli_exe: str, tmp_path: Path,
                                                                          offline: dict[str, str]) -> None:
    """The issue's case: `--out /proc/clip.wav` failed after 24 s of rendering with ENOENT."""
    env = {**offline, "HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path / "home")}
    for out in ("/proc/clip.wav", "/proc/self/clip.wav"):
        res = subprocess.run([cli_exe, "render", "--prompt", "x", "--out", out], env=env, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 2 and "error [io_error]" in res.stderr, res.stderr
        assert "model_unavailable" not in res.stderr  # refused before the (uncached) model was looked for
