"""Melody models: a random chords+drums+melody model in the official on-disk layout, loaded and run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from core.errors import BadMelody
from engine import GenerationInput, JascoModel, JascoPipeline, SamplingParams, config_from_yaml
from engine.melody import prepare_melody
from engine.pipeline import load_state_strict


def _melody_yaml(fixture_dir: Path) -> str:
    tree = yaml.safe_load(torch.load(fixture_dir / "state_dict.bin", weights_only=True)["xp.cfg"])
    tree["conditioners"]["melody"] = {"model": "melody", "melody": {"card": 53, "out_dim": 16}}
    tree["transformer_lm"]["melody_dim"] = "${conditioners.melody.melody.out_dim}"
    tree["attribute_dropout"]["symbolic"]["melody"] = 0.5
    tree["fuser"]["ignore"].append("melody")
    # as in audiocraft's melody conditioner config: mandatory-but-unset keys we never read
    tree["conditioners"]["self_wav"]["drum_latents"]["cache_path"] = "???"
    tree["conditioners"]["self_wav"]["drum_latents"]["read_only_cache"] = True
    return yaml.safe_dump(tree)


@pytest.fixture(scope="module")
def melody_dir(fixture_dir: Path, tmp_path_factory: pytest.TempPathFactory, tiny_fixture) -> Path:
    """Checkpoint folder of a random melody model (EnCodec copy and T5 shared with the fixture)."""
    out = tmp_path_factory.mktemp("melody") / "jasco-melody"
    out.mkdir()
    text = _melody_yaml(fixture_dir)
    model = JascoModel.from_config(config_from_yaml(text), tiny_fixture.model.compression, seed=5)
    torch.save({"best_state": model.state_dict(), "xp.cfg": text, "version": "1.4.0a2", "exported": True},
               out / "state_dict.bin")
    shutil.copy(fixture_dir / "compression_state_dict.bin", out)
    shutil.copy(fixture_dir / "chord_to_index_mapping.pkl", out)
    for sub in ("t5-base", "encodec_32khz_tiny"):
        (out / sub).symlink_to(fixture_dir / sub, target_is_directory=True)
    return out


@pytest.fixture(scope="module")
def melody_pipe(melody_dir: Path) -> JascoPipeline:
    return JascoPipeline.from_pretrained(melody_dir, local_files_only=True)


def _melody(frames: int = 500, pitch: int = 20) -> np.ndarray:
    m = np.zeros((53, frames), np.float32)
    m[pitch, :] = 1.0
    m[pitch + 5, frames // 2 :] = 1.0
    return m


def test_melody_model_layout(melody_pipe: JascoPipeline) -> None:
    sd = melody_pipe.model.state_dict()
    assert sd["condition_provider.conditioners.melody.output_proj.weight"].shape == (16, 53)
    assert sd["emb.weight"].shape == (64, 16 + 16 + 2 + 16)
    assert melody_pipe.supports_melody and melody_pipe.model.temporal_names == ("chords", "self_wav", "melody")
    assert melody_pipe.cfg.text_term_drops == ("chords", "melody", "self_wav")


def test_melody_changes_output_and_orientation(melody_pipe: JascoPipeline) -> None:
    p = SamplingParams(solver="euler", steps=1)
    mel = _melody()
    with_mel = melody_pipe.generate([GenerationInput(prompt="x", melody=mel)], p)
    transposed = melody_pipe.generate([GenerationInput(prompt="x", melody=mel.T.copy())], p)
    without = melody_pipe.generate([GenerationInput(prompt="x")], p)
    assert np.array_equal(with_mel.latents, transposed.latents)
    assert np.abs(with_mel.latents - without.latents).max() > 1e-3


def test_melody_null_rows(melody_pipe: JascoPipeline) -> None:
    proj = melody_pipe.model.conditioners["melody"]
    bias = proj.output_proj.bias
    items = [GenerationInput(prompt="x", melody=_melody()),
             GenerationInput(prompt="y", melody=_melody(), chords=(("C", 0.0),))]
    # default (audiocraft): symbolic dropout only acts on an item that has chords
    cond, terms = melody_pipe.conditions(items, SamplingParams(cfg_all=5.0, cfg_txt=2.0))
    mel = cond.temporal["melody"]  # rows: all x2, text x2, null x2
    assert not torch.allclose(mel[0], bias.expand_as(mel[0]))
    assert torch.equal(mel[2], mel[0]) and torch.equal(mel[4], mel[0])  # no chords: melody kept
    for row in (3, 5):  # with chords: text and null terms drop the melody
        assert torch.allclose(mel[row], bias.expand_as(mel[row]))
    # melody_guidance="always": the text and null terms always drop it
    cond_all, _ = melody_pipe.conditions(items, SamplingParams(cfg_all=5.0, cfg_txt=2.0, melody_guidance="always"))
    for row in (2, 3, 4, 5):
        assert torch.allclose(cond_all.temporal["melody"][row], bias.expand_as(mel[row]))


def test_prepare_melody_shapes_and_errors() -> None:
    short = prepare_melody(_melody(100), bins=53, num_frames=500)
    assert short.shape == (53, 100)  # not padded: the projected features are (engine.melody)
    assert prepare_melody(_melody(700), bins=53, num_frames=500).shape == (53, 500)
    assert prepare_melody(_melody(500)[None], bins=53, num_frames=500).shape == (53, 500)
    for bad in (np.zeros((52, 500)), np.zeros(53), np.full((53, 4), np.nan), "melody"):
        with pytest.raises(BadMelody):
            prepare_melody(bad, bins=53, num_frames=500)


def test_state_dict_round_trip(melody_pipe: JascoPipeline, fixture_dir: Path) -> None:
    cfg = config_from_yaml(_melody_yaml(fixture_dir))
    fresh = JascoModel(cfg, melody_pipe.model.compression)
    load_state_strict(fresh, melody_pipe.model.state_dict(), "in-memory")
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), melody_pipe.model.state_dict().values()))
