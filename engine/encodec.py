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

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """continuous latents [B, D, T] -> audio [B, C, S] (decoder only, no quantisation)."""
        return self.model.decoder(latents)
