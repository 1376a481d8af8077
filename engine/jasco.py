"""The JASCO flow model: conditioners + transformer vector field.

State dict keys equal the published checkpoints' ``best_state``:
``condition_provider.conditioners.{description,chords,self_wav,melody}.*``, ``emb``,
``transformer.layers.L.*``, ``out_norm``, ``linear``, ``temb.dense.{0,1}``, ``temb_proj``.

Build a random model from a config: ``JascoModel.from_config(cfg, compression)``
(``compression`` = ``CompressionModel``; needed when the config has drums).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BadConfig

from .chords import ChordsConditioner
from .config import JascoConfig
from .drums import DrumsConditioner
from .encodec import CompressionModel
from .melody import MelodyConditioner
from .text import TextConditioner
from .transformer import Transformer, init_gaussian_

# temporal conditions are concatenated to the latents in this order (audiocraft's JascoCondConst.ALL)
TEMPORAL_ORDER = ("chords", "self_wav", "melody")


@dataclass(frozen=True)
class ConditionTensors:
    """What the vector field sees for N rows (N = CFG terms x batch)."""

    text: torch.Tensor  # [N, L, dim] projected text embeddings (zero where masked)
    text_mask: torch.Tensor  # [N, L] int (1 = real token)
    temporal: dict[str, torch.Tensor]  # name -> [N, T, C] (chords, self_wav, melody)
    key_mask: torch.Tensor | None = None  # [N, L] bool for cross-attention, None = attend to all keys


class ConditionProvider(nn.Module):
    def __init__(self, conditioners: dict[str, nn.Module]) -> None:
        super().__init__()
        self.conditioners = nn.ModuleDict(conditioners)


class TimeEmbedding(nn.Module):
    """``temb.dense.0`` [4d, d] -> swish -> ``temb.dense.1`` [4d, 4d] on a sinusoidal embedding of t (sin first)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.dense = nn.ModuleList([nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, 4 * dim)])

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """t [K] in [0, 1] -> [K, 4*dim]."""
        half = self.dim // 2
        scale = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -scale).to(t.device)  # [half]
        arg = t.float()[:, None] * freqs[None, :]  # [K, half]
        e = torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)  # [K, dim]
        if self.dim % 2:
            e = F.pad(e, (0, 1))
        h = self.dense[0](e)
        h = h * torch.sigmoid(h)
        return self.dense[1](h)


class JascoModel(nn.Module):
    def __init__(self, cfg: JascoConfig, compression: CompressionModel | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        tc = cfg.transformer
        if cfg.text is None:
            raise BadConfig("xp.cfg: JASCO needs a 'description' (t5) conditioner for cross-attention")
        conds: dict[str, nn.Module] = {}
        for name in cfg.conditioner_names or ("description", "chords", "self_wav", "melody"):
            if name == "description" and cfg.text is not None:
                conds[name] = TextConditioner(cfg.text.text_dim, tc.dim)
            elif name == "chords" and cfg.chords is not None:
                conds[name] = ChordsConditioner(cfg.chords.card, cfg.chords.out_dim)
            elif name == "self_wav" and cfg.drums is not None:
                if compression is None:
                    raise BadConfig("a model with drums conditioning needs its compression model")
                if compression.latent_dim != cfg.drums.latent_dim:
                    raise BadConfig(
                        f"compression model latent width {compression.latent_dim} != "
                        f"compression_model_latent_dim {cfg.drums.latent_dim}"
                    )
                conds[name] = DrumsConditioner(cfg.drums.latent_dim, cfg.drums.out_dim, cfg.drums.blurring_factor, compression)
            elif name == "melody" and cfg.melody is not None:
                conds[name] = MelodyConditioner(cfg.melody.card, cfg.melody.out_dim)
        self.condition_provider = ConditionProvider(conds)
        self.emb = nn.Linear(tc.in_dim, tc.dim, bias=False)  # [dim, flow+chords+drums+melody]
        self.transformer = Transformer(tc)
        self.out_norm = nn.LayerNorm(tc.dim, eps=tc.layer_norm_eps)
        self.linear = nn.Linear(tc.dim, tc.flow_dim, bias=tc.bias_proj)  # [flow_dim, dim]
        self.temb = TimeEmbedding(tc.time_embedding_dim)
        self.temb_proj = nn.Linear(4 * tc.time_embedding_dim, tc.dim)  # [dim, 4*temb]
        # the decoder lives in the drums conditioner when there is one (same object, as in audiocraft)
        self.__dict__["compression"] = compression

    @classmethod
    def from_config(cls, cfg: JascoConfig, compression: CompressionModel | None = None,
                    seed: int | None = 0) -> "JascoModel":
        """A randomly initialised model (tiny/bench models); the EnCodec weights are left as given."""
        model = cls(cfg, compression)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        for name, module in model.named_children():
            if name != "condition_provider":
                init_gaussian_(module, gen)
        for name, cond in model.condition_provider.conditioners.items():
            for sub_name, sub in cond.named_children():
                if sub_name != "compression_model":
                    init_gaussian_(sub, gen)
        return model.eval()

    @property
    def compression(self) -> CompressionModel | None:
        return self.__dict__["compression"]

    @property
    def conditioners(self) -> nn.ModuleDict:
        return self.condition_provider.conditioners

    @property
    def temporal_names(self) -> tuple[str, ...]:
        return tuple(n for n in TEMPORAL_ORDER if n in self.conditioners)

    def forward(self, z: torch.Tensor, t: torch.Tensor, cond: ConditionTensors) -> torch.Tensor:
        """z [N, T, flow_dim], t 0-d/[1]/[N], cond for N rows -> vector field [N, T, flow_dim]."""
        _, length, _ = z.shape
        parts = [z]
        for name in self.temporal_names:
            c = cond.temporal[name][:, :length]
            if c.shape[1] < length:
                c = torch.cat([c, c.new_zeros(c.shape[0], length - c.shape[1], c.shape[2])], dim=1)
            parts.append(c.to(z.dtype))
        x = self.emb(torch.cat(parts, dim=-1))  # [N, T, dim]
        temb = self.temb(t.reshape(-1).to(z.device))  # [K, 4*temb]
        src = cond.text.to(x.dtype) + self.temb_proj(temb[:, None, :])  # [N, L, dim]
        out = self.transformer(x, src, cond.key_mask)
        out = self.out_norm(out)
        return self.linear(out)  # [N, T, flow_dim]
