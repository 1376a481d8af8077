"""Unit tests per component: config, transformer, time embedding, chords, drums, text, EnCodec."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import BadAudio, BadChord, BadConfig, BadValue, EnvironmentProblem
from engine import GenerationInput
from engine.chords import frame_chords, suggest
from engine.config import TransformerConfig, XpConfig, config_from_yaml
from engine.drums import prepare_waveform, separate_drums
from engine.jasco import TimeEmbedding
from engine.transformer import Attention, Transformer, sin_positions


# --- config ---------------------------------------------------------------------------
def test_reference_resolution_and_untouched_env() -> None:
    xp = XpConfig.from_yaml("a: ${b.c}\nb:\n  c: ${d}\n  e: x-${d}\nd: 3\ndora:\n  dir: /x/${oc.env:USER}\n")
    assert xp.get("a") == 3 and xp.get("b.e") == "x-3"
    # parsing never touches ${oc.env:...}; only reading that very key reports it
    with pytest.raises(BadConfig, match="resolver"):
        xp.get("dora.dir")
    with pytest.raises(BadConfig, match="circular"):
        XpConfig.from_yaml("a: ${b}\nb: ${a}\n").get("a")
    with pytest.raises(BadConfig, match="'x.y'"):
        XpConfig.from_yaml("x: {}\n").get("x.y")
    with pytest.raises(BadConfig, match="mandatory"):
        XpConfig.from_yaml("x: '???'\n").get("x")
    with pytest.raises(BadConfig, match="mapping"):
        XpConfig.from_yaml("- 1\n- 2\n")


def test_fixture_config_values(tiny_fixture) -> None:
    cfg = tiny_fixture.cfg
    t = cfg.transformer
    assert (t.dim, t.num_heads, t.num_layers, t.flow_dim, t.chords_dim, t.drums_dim, t.melody_dim) == (64, 4, 3, 16, 16, 2, 0)
    assert t.ff_dim == 256 and not (t.bias_ff or t.bias_attn or t.bias_proj)
    assert cfg.sequence_length == 500 and cfg.latent_mean == 0.05 and cfg.latent_std == 1.7
    assert cfg.text_term_drops == ("chords", "self_wav") and cfg.cross == ("description",)
    assert cfg.compression_name == "encodec_32khz_tiny" and cfg.text.name == "t5-base" and cfg.text.text_dim == 768
    assert cfg.drums.blurring_factor == 3 and cfg.chords.card == 194


def test_config_is_frozen(tiny_fixture) -> None:
    with pytest.raises(AttributeError):
        tiny_fixture.cfg.transformer.dim = 3  # type: ignore[misc]


def test_config_from_yaml_rejects_non_string() -> None:
    with pytest.raises(BadConfig):
        config_from_yaml(b"bytes")  # type: ignore[arg-type]


# --- transformer ------------------------------------------------------------------------
def test_sin_positions_cos_first() -> None:
    pos = sin_positions(5, 8, 10000.0, torch.device("cpu"), torch.float32)
    p, i = 3, 2
    w = 10000 ** (-i / 3)
    assert pos.shape == (1, 5, 8)
    assert math.isclose(float(pos[0, p, i]), math.cos(p * w), rel_tol=1e-6)
    assert math.isclose(float(pos[0, p, 4 + i]), math.sin(p * w), rel_tol=1e-6)


def test_time_embedding_sin_first() -> None:
    temb = TimeEmbedding(128)
    with torch.no_grad():
        temb.dense[0].weight.copy_(torch.eye(512, 128))
        temb.dense[0].bias.zero_()
    captured = {}
    temb.dense[1].register_forward_hook(lambda m, i, o: captured.setdefault("x", i[0]))
    temb(torch.tensor([0.3]))
    x = captured["x"][0, :128]
    e = torch.cat([torch.sin(0.3 * torch.exp(-math.log(10000) * torch.arange(64) / 63)),
                   torch.cos(0.3 * torch.exp(-math.log(10000) * torch.arange(64) / 63))])
    assert torch.allclose(x, e * torch.sigmoid(e), atol=1e-6)


def test_sin_positions_precise_in_reduced_precision() -> None:
    """Positions are computed in float32 whatever dtype is asked (bf16 arithmetic is off by up to 2)."""
    exact = sin_positions(500, 1024, 10000.0, torch.device("cpu"), torch.float32)
    for dtype in (torch.bfloat16, torch.float16):
        pos = sin_positions(500, 1024, 10000.0, torch.device("cpu"), dtype)
        assert pos.dtype == dtype
        assert torch.equal(pos, exact.to(dtype))  # rounding of the float32 values, nothing worse


def test_transformer_keeps_float32_positions_under_autocast() -> None:
    torch.manual_seed(2)
    tr = Transformer(TransformerConfig(dim=16, num_heads=2, num_layers=1, flow_dim=4))
    for p in tr.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x, src = torch.zeros(1, 400, 16), torch.randn(1, 3, 16)
    with torch.no_grad():
        ref = tr(x, src)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = tr(x.bfloat16(), src.bfloat16()).float()
    # bf16 matmuls cost ~1e-2; wrong (bf16) positions would cost O(1) on late frames
    assert (low - ref).abs().max() < 0.1 * ref.abs().max()


def _manual_attention(x, src, w, heads):
    d = x.shape[-1]
    q, k, v = F.linear(x, w[:d]), F.linear(src, w[d:2 * d]), F.linear(src, w[2 * d:])
    def split(z):
        return z.view(z.shape[0], z.shape[1], heads, -1).transpose(1, 2)
    q, k, v = split(q), split(k), split(v)
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    return (a @ v).transpose(1, 2).reshape(x.shape)


def test_packed_attention_matches_manual() -> None:
    torch.manual_seed(0)
    for cross in (False, True):
        att = Attention(16, 4, bias=False, cross=cross)
        torch.nn.init.normal_(att.in_proj_weight)
        x, src = torch.randn(2, 7, 16), torch.randn(2, 5, 16)
        src_used = src if cross else x
        out = att(x, src if cross else None)
        assert torch.allclose(out, att.out_proj(_manual_attention(x, src_used, att.in_proj_weight, 4)), atol=1e-5)


def test_key_mask_equals_dropping_keys() -> None:
    torch.manual_seed(1)
    att = Attention(16, 2, bias=True, cross=True)
    torch.nn.init.normal_(att.in_proj_weight)
    x, src = torch.randn(1, 6, 16), torch.randn(1, 9, 16)
    mask = torch.tensor([[True] * 4 + [False] * 5])
    assert torch.allclose(att(x, src, mask), att(x, src[:, :4]), atol=1e-5)


def test_transformer_state_dict_names() -> None:
    tr = Transformer(TransformerConfig(dim=8, num_heads=2, num_layers=1, flow_dim=4))
    assert sorted(tr.state_dict()) == sorted(
        f"layers.0.{k}" for k in [
            "self_attn.in_proj_weight", "self_attn.out_proj.weight", "cross_attention.in_proj_weight",
            "cross_attention.out_proj.weight", "linear1.weight", "linear2.weight", "norm1.weight", "norm1.bias",
            "norm_cross.weight", "norm_cross.bias", "norm2.weight", "norm2.bias"])


# --- chords -------------------------------------------------------------------------------
def test_frame_chords_rules(tiny_fixture) -> None:
    vocab = tiny_fixture.vocab
    fc = frame_chords([("C", 0.0), ("Am", 2.5)], vocab, frame_rate=50.0, num_frames=500)
    assert fc[124] == vocab.index("C") and fc[125] == vocab.index("Am") and len(fc) == 500
    assert frame_chords([("C", 0.02)], vocab, frame_rate=50.0, num_frames=3) == [0, vocab.index("C")] * 1 + [vocab.index("C")]
    for bad in ([("C", -1.0)], [("C", float("nan"))], [("C",)], [("", 0.0)], [(3, 0.0)], ["C"]):
        with pytest.raises(BadChord):
            frame_chords(bad, vocab, frame_rate=50.0, num_frames=10)  # type: ignore[arg-type]


def test_chord_suggestions(tiny_fixture) -> None:
    assert "Am" in suggest("am", tiny_fixture.vocab)
    # the chord-symbol mapper's answer comes first (spelling neighbours alone would say Daug)
    assert suggest("Dsus2", tiny_fixture.vocab)[0] == "D"
    assert suggest("Cmaj9", tiny_fixture.vocab)[0] == "Cmaj7"
    assert suggest("zz", tiny_fixture.vocab) == []  # not a chord, nothing near it
    with pytest.raises(BadChord, match=r"'Cmaj13#11' is not in .*nearest labels: "):
        frame_chords([("Cmaj13#11", 0.0)], tiny_fixture.vocab, frame_rate=50.0, num_frames=10)


# --- drums -----------------------------------------------------------------------------------
def test_prepare_waveform_fill_and_channels() -> None:
    wav = np.arange(1, 5, dtype=np.float32)
    # default: zero-padded, as audiocraft's _prepare_drums_conditions does; repeat is an option
    assert prepare_waveform(wav, 32000, target_rate=32000, num_samples=6).tolist() == [1, 2, 3, 4, 0, 0]
    assert prepare_waveform(wav, 32000, target_rate=32000, num_samples=10, fill="repeat").tolist() == \
        [1, 2, 3, 4] * 2 + [1, 2]
    stereo = np.stack([wav, -wav + 2])
    assert prepare_waveform(stereo, 32000, target_rate=32000, num_samples=4).tolist() == [1, 1, 1, 1]
    assert prepare_waveform(stereo.T.copy(), 32000, target_rate=32000, num_samples=4).tolist() == [1, 1, 1, 1]
    pcm = np.array([16384, -32768], dtype=np.int16)
    assert prepare_waveform(pcm, 32000, target_rate=32000, num_samples=2).tolist() == [0.5, -1.0]
    upcm = np.array([128, 192, 0], dtype=np.uint8)  # 8-bit WAV: unsigned, silence at 128
    assert prepare_waveform(upcm, 32000, target_rate=32000, num_samples=3).tolist() == [0.0, 0.5, -1.0]
    long = np.ones(100, np.float32)
    assert prepare_waveform(long, 32000, target_rate=32000, num_samples=7).shape == (7,)


def test_prepare_waveform_resamples() -> None:
    sr = 44100
    t = np.arange(sr) / sr
    out = prepare_waveform(np.sin(2 * np.pi * 440 * t), sr, target_rate=32000, num_samples=64000, fill="pad")
    assert out.dtype == np.float32 and out.shape == (64000,)
    assert abs(np.abs(out[:32000]).max() - 1.0) < 0.05 and np.abs(out[32100:]).max() == 0.0


@pytest.mark.parametrize(
    ("wav", "sr", "fill", "err"),
    [(np.zeros(0), 32000, "repeat", BadAudio), (np.full(4, np.nan), 32000, "repeat", BadAudio),
     (np.zeros((1, 2, 3)), 32000, "repeat", BadAudio), (np.zeros(4), 0, "repeat", BadValue),
     (np.zeros(4), 32000, "loop", BadValue), ("noise", 32000, "repeat", BadAudio)],
)
def test_prepare_waveform_errors(wav, sr, fill, err) -> None:
    with pytest.raises(err):
        prepare_waveform(wav, sr, target_rate=32000, num_samples=8, fill=fill)


def test_temporal_blur(tiny_fixture) -> None:
    drums = tiny_fixture.model.conditioners["self_wav"]
    z = torch.arange(5, dtype=torch.float32).view(1, 5, 1)  # 5 frames, factor 3 -> reflect pad one
    out = drums.blur(z)[0, :, 0].tolist()
    assert out == pytest.approx([1, 1, 1, (3 + 4 + 3) / 3, (3 + 4 + 3) / 3])


@pytest.mark.skipif(importlib.util.find_spec("demucs") is not None, reason="demucs installed")
def test_separation_without_demucs_is_a_clear_error(tiny_fixture) -> None:
    with pytest.raises(EnvironmentProblem, match="demucs"):
        separate_drums(np.zeros(320000, np.float32), 32000)
    with pytest.raises(EnvironmentProblem):
        tiny_fixture.prepare(GenerationInput(drums=np.zeros(100, np.float32), separate_drums=True))


def test_drum_input_default_pads(tiny_fixture) -> None:
    """audiocraft zero-pads a short drum input to the window (models/jasco.py _prepare_drums_conditions)."""
    loop = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    padded = tiny_fixture.prepare(GenerationInput(drums=loop))
    assert padded.drums.shape == (320000,) and np.array_equal(padded.drums[:32000], loop)
    assert np.all(padded.drums[32000:] == 0)
    item = tiny_fixture.prepare(GenerationInput(drums=loop, drums_fill="repeat"))
    assert item.drums.shape == (320000,) and np.array_equal(item.drums[32000:64000], loop)


# --- text ---------------------------------------------------------------------------------------
def test_text_cache_and_empty_prompt(tiny_fixture) -> None:
    text = tiny_fixture.model.conditioners["description"]
    text.clear_cache()
    emb, mask = text(["hello world", None, ""])
    assert emb.shape[0] == 3 and mask[1].sum() == 0 and emb[1:].abs().sum() == 0
    assert "hello world" in text._cache and "" not in text._cache
    again, _ = text(["hello world"])
    assert torch.equal(again[0], emb[0, : again.shape[1]])
    ids, m = text.tokenize(["hello", None])
    assert m[1].sum() == 0 and ids[0, m[0].sum() - 1] == 1  # ends with </s>


# --- EnCodec ---------------------------------------------------------------------------------------
def test_first_codes_match_transformers_quantizer(tiny_fixture) -> None:
    comp = tiny_fixture.model.compression
    wav = torch.randn(1, 1, 6400) * 0.1
    with torch.inference_mode():
        lat = comp.encode(wav)
        ours = comp.first_codes(lat)
        theirs = comp.model.quantizer.layers[0].encode(lat)
        assert torch.equal(ours, theirs)
        audio = comp.decode(lat)
    assert lat.shape == (1, 16, 10) and audio.shape == (1, 1, 6400)
    assert comp.frame_rate == 50.0 and comp.sample_rate == 32000


def _encodec(**overrides: object) -> "CompressionModel":
    from transformers import EncodecModel

    from engine.encodec import CompressionModel
    from engine.tiny import encodec_config

    cfg = encodec_config()
    for key, value in overrides.items():
        setattr(cfg, key, value)
    torch.manual_seed(0)
    return CompressionModel(EncodecModel(cfg).eval())


@pytest.mark.parametrize("overrides", [
    {},  # the tiny test model's sizes
    {"num_filters": 64, "hidden_size": 128, "codebook_dim": 128, "num_lstm_layers": 2},  # encodec_32khz's sizes
    {"residual_kernel_size": 7, "num_residual_layers": 2, "upsampling_ratios": [6, 5, 4, 2]},  # a wider reach
])
def test_the_chunked_decoder_equals_the_whole_decode(overrides: dict) -> None:
    """The upsampling stack runs in pieces with a margin that covers its receptive field: the audio is the
    whole decode's to float rounding, at piece edges and clip edges alike; ``keep`` is its slice."""
    from engine.encodec import DECODE_CHUNK

    comp = _encodec(**overrides)
    assert comp.chunked is not None and comp.chunked.hop == comp.hop_length
    frames = 2 * DECODE_CHUNK + 9  # three pieces, the last one short
    lat = torch.randn(2, comp.latent_dim, frames)
    with torch.inference_mode():
        whole = comp.model.decoder(lat)
        ours = comp.decode(lat)
        kept = comp.decode(lat, keep=(7, frames - 5))
    scale = float(whole.abs().max())
    assert ours.shape == whole.shape == (2, 1, frames * comp.hop_length)
    assert float((ours - whole).abs().max()) <= 1e-5 * scale
    hop = comp.hop_length
    assert float((kept - whole[..., 7 * hop:(frames - 5) * hop]).abs().max()) <= 1e-5 * scale
    with pytest.raises(ValueError):
        comp.decode(lat, keep=(5, 5))


def test_a_decoder_that_normalises_over_time_is_decoded_whole() -> None:
    """time_group_norm normalises over the whole clip: pieces would change the audio, so no split."""
    comp = _encodec(norm_type="time_group_norm")
    assert comp.chunked is None
    lat = torch.randn(1, comp.latent_dim, 20)
    with torch.inference_mode():
        assert torch.equal(comp.decode(lat, keep=(3, 11)), comp.model.decoder(lat)[..., 3 * 640:11 * 640])


def test_generate_input_validation(tiny_fixture) -> None:
    with pytest.raises(BadValue):
        GenerationInput(prompt=3)  # type: ignore[arg-type]
    with pytest.raises(BadValue):
        GenerationInput(chords="C@0")  # type: ignore[arg-type]
    with pytest.raises(BadValue):
        GenerationInput(drums_fill="loop")
    with pytest.raises(BadValue):
        tiny_fixture.generate([])
    with pytest.raises(BadValue, match="z0"):
        tiny_fixture.generate([GenerationInput()], z0=torch.zeros(1, 3, 16))
    with pytest.raises(BadValue, match="z0"):
        tiny_fixture.generate([GenerationInput()], z0="noise")  # type: ignore[arg-type]
    # a numpy z0 is the same noise as the tensor
    from engine import SamplingParams

    z0 = tiny_fixture.noise(4, 1)
    p = SamplingParams(solver="euler", steps=1)
    a = tiny_fixture.generate([GenerationInput(prompt="x")], p, z0=z0)
    b = tiny_fixture.generate([GenerationInput(prompt="x")], p, z0=z0.numpy().astype(np.float64))
    assert np.array_equal(a.latents, b.latents)
