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


def sin_positions_in(length: int, dim: int, max_period: float, device: torch.device,
                     dtype: torch.dtype) -> torch.Tensor:
    """The same embedding with every step in ``dtype``: audiocraft's ``create_sin_embedding(...,
    dtype=x.dtype)`` op for op. Used for float16 (audiocraft's CUDA layout), so that autocast
    gives exactly audiocraft's precision per op (CUDA autocast runs ``pow`` in float32, the
    rest in the dtype of its inputs)."""
    half = dim // 2
    pos = torch.arange(length, device=device).view(1, -1, 1).to(dtype)  # [1, T, 1]
    idx = torch.arange(half, device=device, dtype=dtype).view(1, 1, -1)  # [1, 1, half]
    period = torch.full([], max_period, device=device, dtype=dtype)
    phase = pos / (period ** (idx / (half - 1)))  # [1, T, half]
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)


class Attention(nn.Module):
    """Multi-head attention with one packed ``in_proj_weight`` [3*dim, dim] (q, k, v rows).

    ``split_projections()`` turns the packed weight into ``nn.Linear`` modules with the same
    values (self-attention: one [3*dim, dim] ``qkv``; cross-attention: ``q`` [dim, dim] and ``kv``
    [2*dim, dim]), so module-level tools such as dynamic int8 quantisation can replace them.
    """

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
        self.qkv: nn.Module | None = None  # set by split_projections (self-attention)
        self.q: nn.Module | None = None  # (cross-attention)
        self.kv: nn.Module | None = None

    def split_projections(self) -> None:
        """Replace ``in_proj_weight``/``in_proj_bias`` by linears holding the same tensors (no copy)."""
        if self.in_proj_weight is None:
            return
        d = self.dim
        w, b = self.in_proj_weight.detach(), self.in_proj_bias
        b = None if b is None else b.detach()

        def linear(rows: slice) -> nn.Linear:
            weight = w[rows]
            lin = nn.Linear(d, weight.shape[0], bias=b is not None, device="meta")
            lin.weight = nn.Parameter(weight, requires_grad=False)
            if b is not None:
                lin.bias = nn.Parameter(b[rows], requires_grad=False)
            return lin

        if self.cross:
            self.q, self.kv = linear(slice(0, d)), linear(slice(d, 3 * d))
        else:
            self.qkv = linear(slice(0, 3 * d))
        del self.in_proj_weight, self.in_proj_bias
        self.in_proj_weight = None
        self.in_proj_bias = None

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
            if self.q is not None and self.kv is not None:
                q = self.q(x)  # [B, T, dim]
                k, v = self.kv(src).split(d, dim=-1)  # [B, S, dim] each
            else:
                bq, bk, bv = (None, None, None) if bias is None else (bias[:d], bias[d:2 * d], bias[2 * d:])
                q = F.linear(x, w[:d], bq)  # [B, T, dim]
                k = F.linear(src, w[d:2 * d], bk)  # [B, S, dim]
                v = F.linear(src, w[2 * d:], bv)  # [B, S, dim]
        else:
            qkv = self.qkv(x) if self.qkv is not None else F.linear(x, w, bias)  # [B, T, 3*dim]
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
        """x: [B, T, dim] (positions added here); src: [B, S, dim]; key_mask: [B, S] bool or None.

        float16 input (audiocraft's CUDA layout under float16 autocast): positions computed in
        x's dtype exactly as audiocraft does, so the residual stream has audiocraft's dtype.
        Otherwise (float32, bfloat16): float32 positions, and under bfloat16 autocast the residual
        stream is float32 (bfloat16 cannot even represent the frame indices above 256).
        """
        length, dim = x.shape[1], x.shape[2]
        if x.dtype == torch.float16:
            pos = sin_positions_in(length, dim, self.cfg.max_period, x.device, x.dtype)  # [1, T, dim]
        else:
            pos = sin_positions(length, dim, self.cfg.max_period, x.device, torch.float32)  # [1, T, dim]
        x = x + self.cfg.positional_scale * pos
        for layer in self.layers:
            x = layer(x, src, key_mask)
        return x


def compile_transformer(transformer: Transformer, device: torch.device) -> None:
    """Opt-in ``torch.compile`` of the transformer, in place (``nn.Module.compile``).

    Fixed shapes (``dynamic=False``: rows = windows x terms x items, 500 frames; a new shape compiles
    once more); on CUDA ``mode="reduce-overhead"`` adds CUDA graphs. Attention stays SDPA.
    """
    mode = "reduce-overhead" if device.type == "cuda" else None
    transformer.compile(dynamic=False, mode=mode)


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
