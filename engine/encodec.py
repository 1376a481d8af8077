"""The compression model: transformers' ``EncodecModel`` used as a continuous autoencoder.

``CompressionModel.model`` is the ``EncodecModel`` itself, so the checkpoint keys
``condition_provider.conditioners.self_wav.compression_model.model.encoder...`` load
into it directly (weight-normed convolutions as ``parametrizations.weight.original0/1``).
JASCO uses the encoder output (continuous latents), the first codebook of the
residual quantizer (drum conditioning) and the decoder (latents -> audio).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from core.errors import ModelLoadError

logger = logging.getLogger(__name__)


class CompressionModel(nn.Module):
    def __init__(self, model: nn.Module, source: str = "<memory>") -> None:
        super().__init__()
        self.model = model  # transformers.EncodecModel
        self.source = source
        cfg = model.config
        self.sample_rate = int(cfg.sampling_rate)
        self.channels = int(cfg.audio_channels)
        self.hop_length = int(math.prod(cfg.upsampling_ratios))
        self.frame_rate = self.sample_rate / self.hop_length
        self.latent_dim = int(cfg.hidden_size)
        self.chunked = ChunkedDecoder.of(model.decoder, cfg, self.hop_length)  # None: decode whole (cannot split)

    @classmethod
    def from_config_dict(cls, config: dict, source: str = "<memory>") -> "CompressionModel":
        """An EncodecModel with the architecture of ``config`` (weights are loaded later)."""
        from transformers import EncodecConfig, EncodecModel

        try:
            econf = EncodecConfig.from_dict(dict(config))
            model = EncodecModel(econf)
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(f"{source}: not a usable EnCodec config ({exc})") from exc
        model.eval()
        return cls(model, source)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], load_weights: bool) -> "CompressionModel":
        """From a transformers folder (config.json [+ model.safetensors])."""
        folder = Path(folder)
        cfg_path = folder / "config.json"
        try:
            config = json.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelLoadError(f"compression model folder {folder} has no config.json") from exc
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"cannot read {cfg_path}: {exc}") from exc
        if not isinstance(config, dict) or config.get("model_type", "encodec") != "encodec":
            raise ModelLoadError(f"{cfg_path} is not an EnCodec config")
        if not load_weights:
            return cls.from_config_dict(config, str(folder))
        from transformers import EncodecModel

        try:
            model = EncodecModel.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load the EnCodec weights in {folder}: {exc}") from exc
        model.eval()
        return cls(model, str(folder))

    # --- the three operations JASCO needs -------------------------------------
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, C, S] at sample_rate -> continuous encoder latents [B, D, T]."""
        return self.model.encoder(wav)

    def first_codes(self, latents: torch.Tensor) -> torch.Tensor:
        """latents [B, D, T] -> indices [B, T] of the nearest first-codebook vectors.

        Distance as audiocraft/transformers compute it, -(|x|^2 - 2 x.e + |e|^2),
        so that near-ties resolve identically.
        """
        b, d, t = latents.shape
        x = latents.permute(0, 2, 1).reshape(-1, d)  # [B*T, D]
        embed = self.codebook(0).t()  # [D, K]
        dist = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed + embed.pow(2).sum(0, keepdim=True))  # [B*T, K]
        return dist.max(dim=-1).indices.view(b, t)

    def codebook(self, index: int) -> torch.Tensor:
        """[K, D] codeword vectors of quantizer layer ``index``."""
        return self.model.quantizer.layers[index].codebook.embed

    def codes_to_latents(self, codes: torch.Tensor, index: int = 0) -> torch.Tensor:
        """codes [B, T] of one codebook -> codeword vectors [B, T, D]."""
        return nn.functional.embedding(codes, self.codebook(index))

    def decode(self, latents: torch.Tensor, keep: tuple[int, int] | None = None) -> torch.Tensor:
        """continuous latents [B, D, T] -> audio [B, C, S] (decoder only, no quantisation).

        ``keep`` = (first, stop): only the audio of latent frames first..stop-1 ([B, C, (stop - first) * hop]);
        every frame is still context for the decoder's recurrent part. The result equals the whole decode
        cut to those frames (to float rounding), see :class:`ChunkedDecoder`.
        """
        t = latents.shape[-1]
        first, stop = (0, t) if keep is None else keep
        if not 0 <= first < stop <= t:
            raise ValueError(f"keep must be 0 <= first < stop <= {t}, got {keep!r}")
        if self.chunked is None:
            audio = self.model.decoder(latents)
            return audio[..., first * self.hop_length:stop * self.hop_length]
        return self.chunked(latents, first, stop)


DECODE_CHUNK = 64  # latent frames per piece of the upsampling stack (bench/engine.py --sections decoder)


class ChunkedDecoder:
    """The EnCodec decoder run the way its layers allow: the latent-rate layers (the first convolution and
    the LSTM) over the whole sequence, the upsampling stack (transposed convolutions, residual blocks,
    ELUs: nothing recurrent, nothing that normalises over time) in pieces of :data:`DECODE_CHUNK` frames
    with ``margin`` frames of overlap on each side, which cover the stack's receptive field.

    The arithmetic per output sample is the decoder's own, so the audio equals the whole decode to float
    rounding (tests/engine/test_engine_components.py). It is faster because a piece's activations
    (64 channels x 32 kHz x 1.3 s at the last stage) stay in the CPU's cache where the whole clip's
    (100 MB per tensor for 12 s) do not; and a caller that keeps only some frames (a loop decoded with
    circular context) runs the upsampling stack on those frames alone. On a GPU the kept frames are one piece.
    """

    def __init__(self, head: Sequence[nn.Module], tail: Sequence[nn.Module], margin: int, hop: int) -> None:
        self.head = list(head)  # at the latent frame rate, whole sequence
        self.tail = list(tail)  # upsampling to audio, in pieces
        self.margin = margin  # latent frames of overlap each side (>= the tail's receptive field)
        self.hop = hop  # audio samples per latent frame after the tail (the config's upsampling ratios)

    @classmethod
    def of(cls, decoder: nn.Module, config: object, hop: int) -> "ChunkedDecoder | None":
        """The split of a transformers ``EncodecDecoder`` (its ``layers``, named as in the checkpoint), or None
        when it cannot be split exactly: a norm over time (``time_group_norm``), a recurrent layer after the
        first upsampling, or no upsampling at all."""
        layers = getattr(decoder, "layers", None)
        if getattr(config, "norm_type", None) != "weight_norm" or not isinstance(layers, nn.ModuleList):
            return None
        split = next((i for i, layer in enumerate(layers)
                      if any(isinstance(m, nn.ConvTranspose1d) for m in layer.modules())), None)
        if split is None:
            return None
        head, tail = list(layers[:split]), list(layers[split:])
        if any(isinstance(m, (nn.RNNBase, nn.GroupNorm, nn.LayerNorm, nn.BatchNorm1d))
               for layer in tail for m in layer.modules()):
            return None
        return cls(head, tail, receptive_margin(tail), hop)

    def __call__(self, latents: torch.Tensor, first: int, stop: int) -> torch.Tensor:
        x = latents
        for layer in self.head:
            x = layer(x)  # [B, C, T]
        t = x.shape[-1]
        chunk = DECODE_CHUNK if x.device.type == "cpu" else stop - first  # a GPU's memory is fast: one piece
        pieces = []
        for start in range(first, stop, chunk):
            end = min(stop, start + chunk)
            lo, hi = max(0, start - self.margin), min(t, end + self.margin)
            y = x[..., lo:hi]
            for layer in self.tail:
                y = layer(y)  # [B, C', (hi - lo) * hop]
            pieces.append(y[..., (start - lo) * self.hop:(end - lo) * self.hop])
        return torch.cat(pieces, dim=-1)


def receptive_margin(layers: Sequence[nn.Module]) -> int:
    """Latent frames each side that an output sample of ``layers`` (convolutions and transposed convolutions in
    order, at the latent rate at the start) can depend on, rounded up, plus one for the edges' padding: the
    sum over the layers of each one's reach, converted from its input rate to latent frames."""
    rate = 1  # samples per latent frame at the current layer's input
    reach = 0.0  # latent frames, one side
    for layer in layers:
        for m in layer.modules():
            if isinstance(m, nn.ConvTranspose1d):
                reach += math.ceil(m.kernel_size[0] / m.stride[0]) / rate
                rate *= int(m.stride[0])
            elif isinstance(m, nn.Conv1d):
                reach += (m.kernel_size[0] - 1) * m.dilation[0] / rate
    return int(math.ceil(reach)) + 1
