"""JASCO's flow-matching transformer: pre-norm layers with self- and cross-attention.

Attribute names equal the checkpoint keys under ``transformer.``:
``layers.L.self_attn.in_proj_weight`` (packed q/k/v rows), ``layers.L.cross_attention.*``,
``linear1``, ``linear2``, ``norm1``, ``norm_cross``, ``norm2``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TransformerConfig


def sin_positions(length: int, dim: int, max_period: float, device: torch.device,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[1, T, dim] sinusoidal positions, ``[cos(p*w_i), sin(p*w_i)]`` (cos first), w_i = P^(-i/(dim/2-1)).

    Always computed in float32 (then cast to ``dtype``): in bfloat16 the frame index and the
    phase lose so much precision (positions above 256 are not even representable) that the
    embedding is wrong by up to 2 -- under autocast the caller asks for float32.
    """
    half = dim // 2
    pos = torch.arange(length, device=device, dtype=torch.float32).view(1, -1, 1)  # [1, T, 1]
    idx = torch.arange(half, device=device, dtype=torch.float32).view(1, 1, -1)  # [1, 1, half]
    period = torch.full([], max_period, device=device, dtype=torch.float32)
    phase = pos / (period ** (idx / (half - 1)))  # [1, T, half]
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1).to(dtype)


class Attention(nn.Module):
    """Multi-head attention with one packed ``in_proj_weight`` [3*dim, dim] (q, k, v rows)."""

    def __init__(self, dim: int, num_heads: int, bias: bool, cross: bool) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.cross = cross
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))  # [3*dim, dim]
        if bias:
            self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))  # [3*dim]
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(dim, dim, bias=bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, -1).transpose(1, 2)  # [B, H, T, d]

    def forward(self, x: torch.Tensor, src: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B, T, dim]; src: [B, S, dim] for cross-attention; key_mask: [B, S] bool (True = attend)."""
        d = self.dim
        w, bias = self.in_proj_weight, self.in_proj_bias
        if self.cross:
            if src is None:
                raise TypeError("cross-attention needs the source sequence src [B, S, dim]")
            bq, bk, bv = (None, None, None) if bias is None else (bias[:d], bias[d:2 * d], bias[2 * d:])
            q = F.linear(x, w[:d], bq)  # [B, T, dim]
            k = F.linear(src, w[d:2 * d], bk)  # [B, S, dim]
            v = F.linear(src, w[2 * d:], bv)  # [B, S, dim]
        else:
            qkv = F.linear(x, w, bias)  # [B, T, 3*dim]
            b, t, _ = qkv.shape
            qkv = qkv.view(b, t, 3, self.num_heads, -1)  # [B, T, 3, H, d]
            q, k, v = (qkv[:, :, i] for i in range(3))  # [B, T, H, d]
            q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, d]
        if self.cross:
            q, k, v = self._heads(q), self._heads(k), self._heads(v)
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]  # [B, 1, 1, S]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, T, d]
        out = out.transpose(1, 2).reshape(x.shape[0], x.shape[1], d)  # [B, T, dim]
        return self.out_proj(out)


class TransformerLayer(nn.Module):
    """Pre-norm: x += SA(norm1 x); x += CA(norm_cross x, src); x += FF(norm2 x)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        dim = cfg.dim
        self.self_attn = Attention(dim, cfg.num_heads, cfg.bias_attn, cross=False)
        self.cross_attention = Attention(dim, cfg.num_heads, cfg.bias_attn, cross=True)
        self.linear1 = nn.Linear(dim, cfg.ff_dim, bias=cfg.bias_ff)  # [ff, dim]
        self.linear2 = nn.Linear(cfg.ff_dim, dim, bias=cfg.bias_ff)  # [dim, ff]
        self.norm1 = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.norm_cross = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.norm2 = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, src: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x))
        x = x + self.cross_attention(self.norm_cross(x), src, key_mask)
        x = x + self.linear2(F.gelu(self.linear1(self.norm2(x))))  # exact (erf) GELU
        return x


class Transformer(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.layers = nn.ModuleList([TransformerLayer(cfg) for _ in range(cfg.num_layers)])

    def forward(self, x: torch.Tensor, src: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B, T, dim] (positions added here); src: [B, S, dim]; key_mask: [B, S] bool or None."""
        # float32 positions: under reduced-precision autocast the residual stream becomes float32 here
        pos = sin_positions(x.shape[1], x.shape[2], self.cfg.max_period, x.device, torch.float32)  # [1, T, dim]
        x = x + self.cfg.positional_scale * pos
        for layer in self.layers:
            x = layer(x, src, key_mask)
        return x


def init_gaussian_(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Random init for models built from a config without weights (tiny/bench models)."""
    for name, p in module.named_parameters():
        if p.dim() >= 2:
            std = 1.0 / math.sqrt(p.shape[-1])
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator) * std)
        elif name.endswith("weight"):  # LayerNorm scale
            with torch.no_grad():
                p.fill_(1.0)
        else:
            with torch.no_grad():
                p.zero_()
