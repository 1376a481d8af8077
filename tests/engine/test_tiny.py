"""The embedded tiny model: deterministic, official layout, loads and generates, safe to build concurrently."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import tiny
from midi.vocab import ChordVocabulary

REPO = Path(__file__).resolve().parents[2]


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.ensure_tiny_model(tmp_path_factory.mktemp("models"))


# --- building ------------------------------------------------------------------
def test_builds_the_same_bytes_twice(tiny_dir: Path, tmp_path: Path) -> None:
    again = tiny.build_tiny_model(tmp_path / "again")
    first, second = digest(tiny_dir), digest(again)
    assert set(first) >= set(tiny.REQUIRED_FILES)
    assert first == second
    total = sum(p.stat().st_size for p in tiny_dir.rglob("*") if p.is_file())
    assert total < 12 * 1024 * 1024, f"tiny model is {total / 1e6:.1f} MB"


def test_folder_name_and_readme_label(tiny_dir: Path) -> None:
    assert tiny_dir.name == "tiny-chords_drums-v1"
    first = (tiny_dir / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert "RANDOM" in first and "MAKES NOISE" in first
    assert tiny.is_tiny_folder(tiny_dir)


def test_ensure_reuses_a_complete_folder(tiny_dir: Path) -> None:
    before = (tiny_dir / "state_dict.bin").stat().st_mtime_ns
    assert tiny.ensure_tiny_model(tiny_dir.parent) == tiny_dir
    assert (tiny_dir / "state_dict.bin").stat().st_mtime_ns == before


def test_default_location_is_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JASCO_BRIDGE_CACHE", str(tmp_path / "cache"))
    assert tiny.tiny_model_dir() == tmp_path / "cache" / "models" / "tiny-chords_drums-v1"
    assert tiny.tiny_model_dir(variant="chords_drums_melody").name == "tiny-chords_drums_melody-v1"


def test_unknown_variant_is_a_coded_error() -> None:
    from core.errors import BadValue

    with pytest.raises(BadValue, match="unknown tiny model variant 'drums_only'"):
        tiny.tiny_model_dir(variant="drums_only")


def test_broken_folder_is_rebuilt(tmp_path: Path, tiny_dir: Path) -> None:
    import shutil

    root = tmp_path / "models"
    broken = tiny.tiny_model_dir(root)
    shutil.copytree(tiny_dir, broken)
    (broken / "state_dict.bin").unlink()  # e.g. a user deleted files
    (broken / "README.md").unlink()
    assert tiny.ensure_tiny_model(root) == broken
    assert digest(broken) == digest(tiny_dir)
    assert [p.name for p in root.iterdir() if p.name.startswith(".") and p.is_dir()] == []


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    from core.errors import OutputError

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "song.wav").write_bytes(b"keep me")
    with pytest.raises(OutputError, match="not a tiny model"):
        tiny.build_tiny_model(foreign, replace=True)
    assert (foreign / "song.wav").read_bytes() == b"keep me"


_CONCURRENT = """
import sys
import torch, transformers  # pay the imports first so that all builders really race
from engine import tiny
print("ready", flush=True)
sys.stdin.readline()
print(tiny.ensure_tiny_model(sys.argv[1]), flush=True)
"""


def test_concurrent_builders_do_not_corrupt(tmp_path: Path, tiny_dir: Path) -> None:
    root = tmp_path / "models"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(root)], env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results: list[Path] = []
    outs: list[Path] = []
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        thread = threading.Thread(target=lambda: results.append(tiny.ensure_tiny_model(root)))
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        thread.start()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outs.append(Path(out.strip().splitlines()[-1]))
        thread.join(timeout=120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    final = tiny.tiny_model_dir(root)
    assert outs == [final, final] and results == [final]
    assert digest(final) == digest(tiny_dir)
    leftovers = [p.name for p in root.iterdir() if p.is_dir() and p != final]
    assert leftovers == []


# --- layout ----------------------------------------------------------------------
def _normalise_keys(keys: list[str]) -> set[str]:
    return {re.sub(r"\.layers\.\d+\.", ".layers.L.", k) for k in keys}


def test_layout_matches_the_official_exports(tiny_dir: Path, fixture_dir: Path) -> None:
    from safetensors import safe_open

    from engine.config import config_from_yaml

    ours = torch.load(tiny_dir / "state_dict.bin", map_location="cpu", weights_only=True)
    ref = torch.load(fixture_dir / "state_dict.bin", map_location="cpu", weights_only=True)
    assert set(ours) == set(ref) == {"best_state", "xp.cfg", "version", "exported"}
    assert ours["exported"] is True and isinstance(ours["version"], str)
    assert _normalise_keys(list(ours["best_state"])) == _normalise_keys(list(ref["best_state"]))
    assert all(t.dtype == torch.float32 for t in ours["best_state"].values())
    assert "${" in ours["xp.cfg"] and "${oc.env:USER}" in ours["xp.cfg"]  # unresolved, like the exports
    cfg = config_from_yaml(ours["xp.cfg"])
    vocab = ChordVocabulary.load(tiny_dir / "chord_to_index_mapping.json")
    assert cfg.chords is not None and cfg.chords.card == len(vocab)
    assert ours["best_state"]["condition_provider.conditioners.chords.emb.weight"].shape[0] == len(vocab) + 1
    assert cfg.compression_name == tiny.ENCODEC_DIRNAME
    comp = torch.load(tiny_dir / "compression_state_dict.bin", map_location="cpu", weights_only=True)
    assert comp["pretrained"] == tiny.ENCODEC_DIRNAME and comp["exported"] is True
    with safe_open(str(tiny_dir / tiny.ENCODEC_DIRNAME / "model.safetensors"), "pt") as fh:
        names = list(fh.keys())
        enc = {k: fh.get_tensor(k) for k in names}
    assert any(n.endswith(".weight_g") for n in names) and any(n.endswith(".weight_v") for n in names)
    assert not any("parametrizations" in n for n in names)
    # the copy inside the checkpoint is the same EnCodec, under the HF parametrisation names
    prefix = "condition_provider.conditioners.self_wav.compression_model.model."
    for name, value in ours["best_state"].items():
        if name.startswith(prefix):
            legacy = name[len(prefix):].replace(".parametrizations.weight.original0", ".weight_g")
            legacy = legacy.replace(".parametrizations.weight.original1", ".weight_v")
            assert torch.equal(enc[legacy], value), name
    # no trivially 0/1 parameter in the flow model
    for name, value in ours["best_state"].items():
        if not name.startswith(prefix):
            assert not torch.all(value == 0) and not torch.all(value == 1), name


def test_chord_vocabulary_is_our_own_rule(tiny_dir: Path, chords_pkl: Path) -> None:
    vocab = ChordVocabulary.load(tiny_dir / "chord_to_index_mapping.json")
    labels = vocab.labels
    assert labels[0] == "N" and labels[-1] == "UNK"
    assert len(labels) == 1 + 12 * 10 + 24 + 1
    for label in ("C", "Am", "F", "G", "Cmaj7", "Ebm7b5", "F#dim", "Abaug", "Bb6", "C/E", "C/G", "C#/E#", "Eb/Bb", "B/D#"):
        assert label in vocab, label
    assert labels[1:11] == ("C", "Cm", "C7", "Cmaj7", "Cm7", "C6", "Cm6", "Cm7b5", "Cdim", "Caug")
    official = ChordVocabulary.load(chords_pkl)
    assert dict(vocab.mapping) != dict(official.mapping)
    # the bridge serves this very vocabulary from its first message, without building the model
    from bridge.vocabulary import resolve_vocabulary

    for name in ("tiny", "tiny:chords_drums_melody"):
        assert dict(resolve_vocabulary(None, name).mapping) == dict(vocab.mapping)


def test_tokenizer_and_t5_load_offline(tiny_dir: Path) -> None:
    from transformers import AutoTokenizer, T5EncoderModel, T5TokenizerFast

    folder = tiny_dir / tiny.T5_DIRNAME
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    fast = T5TokenizerFast.from_pretrained(str(folder), local_files_only=True)
    ids = tok(["a warm lofi hip hop beat", ""])["input_ids"]
    assert ids[0][-1] == 1 and ids[1] == [1]
    assert len(ids[0]) == 7  # whole words are single pieces, then </s>
    assert fast("Zebra 42!")["input_ids"] == tok("Zebra 42!")["input_ids"]
    assert 2 not in tok("Zebra 42!")["input_ids"]  # rare words fall back to characters, not <unk>
    enc = T5EncoderModel.from_pretrained(str(folder), local_files_only=True)
    assert enc.config.d_model == 768
    out = enc(**tok(["warm piano"], return_tensors="pt")).last_hidden_state
    assert out.shape == (1, 3, 768) and torch.isfinite(out).all()


# --- loading and generating ----------------------------------------------------
def test_loads_and_generates_through_from_pretrained(tiny_dir: Path) -> None:
    from engine import GenerationInput, JascoPipeline, SamplingParams

    pipe = JascoPipeline.from_pretrained(tiny_dir)
    assert pipe.sample_rate == 32000 and pipe.frame_rate == 50.0 and pipe.segment_duration == 10.0
    assert not pipe.supports_melody
    assert len(pipe.vocab) == 146
    drums = np.sin(np.linspace(0, 400, 48000 * 3)).astype(np.float32)[None].repeat(2, 0)  # stereo, 3 s, 48 kHz
    inputs = [
        GenerationInput(prompt="warm lofi piano", chords=(("C", 0.0), ("Am", 2.5), ("F/C", 5.0))),
        GenerationInput(prompt="", drums=drums, drums_sample_rate=48000),
    ]
    seen: list[int] = []
    out = pipe.generate(inputs, SamplingParams(seed=3, solver="euler", steps=2), progress=lambda n, t: seen.append(n))
    assert out.audio.shape == (2, 1, 320000) and out.audio.dtype == np.float32
    assert out.latents.shape == (2, 500, 16)
    assert out.nfe == 2 and seen == [1, 2]
    assert np.isfinite(out.audio).all() and float(np.abs(out.audio).max()) > 0
    z0 = torch.randn((2, 500, 16), generator=torch.Generator().manual_seed(3))
    assert not np.allclose(out.latents, z0.numpy())


def test_tiny_name_builds_into_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_dir: Path) -> None:
    from engine import JascoPipeline

    monkeypatch.setenv("JASCO_BRIDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = JascoPipeline.from_pretrained("tiny")
    folder = tmp_path / "cache" / "models" / "tiny-chords_drums-v1"
    assert tiny.is_complete(folder)
    assert digest(folder) == digest(tiny_dir)
    assert len(pipe.vocab) == 146


def test_melody_variant(tmp_path: Path, reference_melody_dir: Path) -> None:
    from engine import GenerationInput, JascoPipeline, SamplingParams

    folder = tiny.ensure_tiny_model(tmp_path, variant="chords_drums_melody")
    state = torch.load(folder / "state_dict.bin", map_location="cpu", weights_only=True)["best_state"]
    assert state["condition_provider.conditioners.melody.output_proj.weight"].shape == (16, 53)
    assert state["emb.weight"].shape == (64, 16 + 16 + 2 + 16)
    pipe = JascoPipeline.from_pretrained(folder)
    assert pipe.supports_melody
    melody = torch.load(reference_melody_dir / "salience_1.th", weights_only=True).numpy()  # [500, 53] view
    params = SamplingParams(seed=1, solver="euler", steps=2)
    with_melody = pipe.generate([GenerationInput(prompt="x", melody=melody)], params)
    without = pipe.generate([GenerationInput(prompt="x")], params)
    assert with_melody.audio.shape == (1, 1, 320000)
    assert not np.allclose(with_melody.latents, without.latents)


# --- the command ----------------------------------------------------------------
def test_build_tiny_command(tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch,
                            capfd: pytest.CaptureFixture[str]) -> None:
    """Through ``bridge.cli.main``: the bridge runs the builder in a child process (it never imports torch)."""
    from bridge.cli import main as cli_main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("JASCO_BRIDGE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "here"
    capfd.readouterr()
    assert cli_main(["build-tiny", "--out", str(out)]) == 0
    res = capfd.readouterr()
    assert res.out.strip() == str(out) and "MAKES NOISE" in res.err
    assert digest(out) == digest(tiny_dir)
    meta = json.loads((out / tiny.T5_DIRNAME / "tokenizer_config.json").read_text())
    assert meta["tokenizer_class"] == "T5Tokenizer"
    assert cli_main(["build-tiny", "--out", str(out)]) == 0
    assert "already" in capfd.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("mine")
    assert cli_main(["build-tiny", "--out", str(foreign), "--force"]) == 2
    assert "error [io_error]" in capfd.readouterr().err
    assert (foreign / "x.txt").read_text() == "mine"
    assert cli_main(["build-tiny", "--variant", "chords_drums_melody"]) == 0
    assert capfd.readouterr().out.strip() == str(tmp_path / "cache" / "models" / "tiny-chords_drums_melody-v1")
