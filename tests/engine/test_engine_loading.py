"""Loading: folders, hub cache, overrides, and clear errors for broken checkpoints (copies in tmp_path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from core.errors import BadConfig, ModelLoadError, ModelUnavailable, VocabularyError
from engine import JascoPipeline
from engine.hub import resolve_model_dir, resolve_named
from engine.pipeline import load_model

PREFIX = "condition_provider.conditioners"


@pytest.fixture()
def model_copy(fixture_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the fixture model (reference.pt left out)."""
    dst = tmp_path / "model"
    shutil.copytree(fixture_dir, dst, ignore=shutil.ignore_patterns("reference.pt", "README.md"))
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    dst.chmod(0o755)
    return dst


def _edit_state(folder: Path, fn) -> None:
    path = folder / "state_dict.bin"
    pkg = torch.load(path, weights_only=True)
    fn(pkg)
    torch.save(pkg, path)


def _edit_cfg(folder: Path, fn) -> None:
    def edit(pkg: dict) -> None:
        tree = yaml.safe_load(pkg["xp.cfg"])
        fn(tree)
        pkg["xp.cfg"] = yaml.safe_dump(tree)

    _edit_state(folder, edit)


def test_loads_from_folder_with_metadata(tiny_fixture, fixture_dir: Path) -> None:
    pipe = tiny_fixture
    assert pipe.sample_rate == 32000 and pipe.frame_rate == 50.0 and pipe.segment_duration == 10.0
    assert pipe.model_revision is None and pipe.device == "cpu" and not pipe.supports_melody
    assert len(pipe.vocab) == 194 and pipe.vocab.null_index == 194
    # the EnCodec used for decoding is the checkpoint's copy (same object as the drum encoder)
    assert pipe.model.compression is pipe.model.conditioners["self_wav"].compression_model
    sd = torch.load(fixture_dir / "state_dict.bin", weights_only=True)["best_state"]
    own = pipe.model.state_dict()
    assert set(own) == set(sd) and all(torch.equal(own[k], sd[k]) for k in sd)


def test_missing_file(model_copy: Path) -> None:
    (model_copy / "compression_state_dict.bin").unlink()
    with pytest.raises(ModelUnavailable, match="compression_state_dict.bin"):
        JascoPipeline.from_pretrained(model_copy, local_files_only=True)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        JascoPipeline.from_pretrained(tmp_path / "nowhere", local_files_only=True)


def test_missing_and_unexpected_keys(model_copy: Path) -> None:
    def edit(pkg: dict) -> None:
        del pkg["best_state"]["transformer.layers.1.norm2.bias"]
        pkg["best_state"]["transformer.layers.9.extra"] = torch.zeros(3)

    _edit_state(model_copy, edit)
    with pytest.raises(ModelLoadError) as err:
        load_model(model_copy, local_files_only=True)
    msg = str(err.value)
    assert "state_dict.bin" in msg
    assert "missing keys (1): transformer.layers.1.norm2.bias" in msg
    assert "unexpected keys (1): transformer.layers.9.extra" in msg


def test_wrong_shape(model_copy: Path) -> None:
    _edit_state(model_copy, lambda pkg: pkg["best_state"].__setitem__("emb.weight", torch.zeros(64, 33)))
    with pytest.raises(ModelLoadError, match=r"emb.weight: checkpoint \[64, 33\] vs model \[64, 34\]"):
        load_model(model_copy, local_files_only=True)


def test_config_sizes_must_match_weights(model_copy: Path) -> None:
    _edit_cfg(model_copy, lambda t: t["transformer_lm"].__setitem__("num_layers", 2))
    with pytest.raises(ModelLoadError, match="unexpected keys .*transformer.layers.2"):
        load_model(model_copy, local_files_only=True)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t["transformer_lm"].__setitem__("num_heads", 5), "transformer_lm.num_heads"),
        (lambda t: t["transformer_lm"].pop("dim"), "transformer_lm.dim"),
        (lambda t: t["transformer_lm"].__setitem__("dim", "big"), "transformer_lm.dim"),
        (lambda t: t["transformer_lm"].__setitem__("activation", "relu"), "transformer_lm.activation"),
        (lambda t: t.__setitem__("compression_model_latent_dim", "${nowhere.at_all}"), "nowhere.at_all"),
        (lambda t: t["conditioners"]["chords"].__setitem__("model", "mystery"), "conditioners.chords.model"),
        (lambda t: t.pop("compression_model_latent_std"), "compression_model_latent_std"),
    ],
)
def test_bad_config_names_the_key(model_copy: Path, edit, key: str) -> None:
    _edit_cfg(model_copy, edit)
    with pytest.raises(BadConfig, match=key.replace(".", r"\.")):
        load_model(model_copy, local_files_only=True)


def test_config_not_yaml(model_copy: Path) -> None:
    _edit_state(model_copy, lambda pkg: pkg.__setitem__("xp.cfg", "a: [unclosed"))
    with pytest.raises(BadConfig, match="not valid YAML"):
        load_model(model_copy, local_files_only=True)


def test_not_a_jasco_checkpoint(model_copy: Path) -> None:
    torch.save({"weights": {}}, model_copy / "state_dict.bin")
    with pytest.raises(ModelLoadError, match="best_state"):
        load_model(model_copy, local_files_only=True)


def test_corrupt_file(model_copy: Path) -> None:
    data = (model_copy / "state_dict.bin").read_bytes()
    (model_copy / "state_dict.bin").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelLoadError, match="cannot read checkpoint .*state_dict.bin"):
        load_model(model_copy, local_files_only=True)
    (model_copy / "state_dict.bin").write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError, match="state_dict.bin"):
        load_model(model_copy, local_files_only=True)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_code_is_refused(model_copy: Path) -> None:
    torch.save({"pretrained": _Evil()}, model_copy / "compression_state_dict.bin")
    with pytest.raises(ModelLoadError, match="compression_state_dict.bin"):
        load_model(model_copy, local_files_only=True)


def test_missing_text_encoder_then_override(model_copy: Path, fixture_dir: Path) -> None:
    shutil.rmtree(model_copy / "t5-base")
    with pytest.raises(ModelUnavailable, match="t5-base") as err:
        load_model(model_copy, local_files_only=True)
    assert "jasco-bridge download t5-base" in str(err.value)
    model = load_model(model_copy, t5=fixture_dir / "t5-base", local_files_only=True)
    assert model.conditioners["description"].ready


def test_missing_compression_then_override(model_copy: Path, fixture_dir: Path) -> None:
    shutil.rmtree(model_copy / "encodec_32khz_tiny")
    with pytest.raises(ModelUnavailable, match="encodec_32khz_tiny"):
        load_model(model_copy, local_files_only=True)
    load_model(model_copy, compression=fixture_dir / "encodec_32khz_tiny", local_files_only=True)


def test_wrong_vocabulary_size(model_copy: Path, tmp_path: Path) -> None:
    vocab = tmp_path / "small.json"
    vocab.write_text('{"N": 0, "C": 1}')
    with pytest.raises(VocabularyError, match="2 labels but the model expects 194"):
        JascoPipeline.from_pretrained(model_copy, vocab=vocab, local_files_only=True)


def test_hub_id_not_cached_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelUnavailable) as err:
        resolve_model_dir("facebook/jasco-chords-drums-400M", local_files_only=True)
    assert "jasco-bridge download facebook/jasco-chords-drums-400M" in str(err.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="offline"):
        resolve_model_dir("facebook/jasco-chords-drums-400M")


def test_hub_cache_snapshot(model_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model in the huggingface_hub cache layout resolves offline, with its revision."""
    import huggingface_hub.constants as hc

    cache = tmp_path / "hub"
    rev = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--facebook--jasco-test"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(rev)
    shutil.copytree(model_copy, repo / "snapshots" / rev)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    resolved = resolve_model_dir("facebook/jasco-test", local_files_only=True)
    assert resolved.revision == rev and resolved.path.name == rev
    # a name the checkpoint refers to resolves through the same cache when no folder is beside it
    t5_repo = cache / "models--t5-base"
    (t5_repo / "refs").mkdir(parents=True)
    (t5_repo / "refs" / "main").write_text(rev)
    shutil.copytree(model_copy / "t5-base", t5_repo / "snapshots" / rev)
    found = resolve_named("t5-base", tmp_path / "elsewhere", override=None, local_files_only=True, what="t5")
    assert found.name == rev


def test_path_like_names_are_not_hub_ids(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model_dir("./models/jasco", local_files_only=True)
    f = tmp_path / "file.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match="is a file"):
        resolve_model_dir(f, local_files_only=True)


def test_half_precision_checkpoint_loads_as_float32(model_copy: Path, fixture_dir: Path) -> None:
    """Exported audiocraft checkpoints may store float16 tensors: they load (cast) into the float32 model."""
    _edit_state(model_copy, lambda pkg: pkg.__setitem__("best_state", {k: v.half() for k, v in pkg["best_state"].items()}))
    model = load_model(model_copy, local_files_only=True)
    sd = torch.load(fixture_dir / "state_dict.bin", weights_only=True)["best_state"]
    own = model.state_dict()
    assert all(v.dtype == torch.float32 for v in own.values())
    assert all(torch.equal(own[k], sd[k].half().float()) for k in sd)
