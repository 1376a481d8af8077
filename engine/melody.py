"""Melody conditioner (melody checkpoints): a ``[53, T]`` salience / one-hot matrix -> ``output_proj``.

The matrix has one row per pitch bin and one column per latent frame; ``[T, 53]``
is accepted too. It is cut or zero-padded to the model's frame count. No melody
(and the nulled melody of the CFG terms) is the all-zero matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from core.errors import BadMelody


class MelodyConditioner(nn.Module):
    def __init__(self, card: int, out_dim: int) -> None:
        super().__init__()
        self.card = card  # number of pitch bins (53)
        self.output_proj = nn.Linear(card, out_dim)  # [out_dim, card]

    def forward(self, melody: torch.Tensor) -> torch.Tensor:
        """melody [N, card, T] -> [N, T, out_dim]."""
        return self.output_proj(melody.permute(0, 2, 1).to(self.output_proj.weight))


def prepare_melody(melody: Any, *, bins: int, num_frames: int) -> np.ndarray:
    """Validate and shape a melody matrix to float32 ``[bins, num_frames]``."""
    if isinstance(melody, torch.Tensor):
        melody = melody.detach().cpu().numpy()
    try:
        arr = np.asarray(melody, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise BadMelody(f"melody must be a numeric matrix [{bins}, frames] ({exc})") from exc
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise BadMelody(f"melody must be a 2-D matrix [{bins}, frames] or [frames, {bins}], got shape {list(arr.shape)}")
    if arr.shape[0] != bins:
        if arr.shape[1] == bins:
            arr = arr.T
        else:
            raise BadMelody(f"melody must have {bins} pitch bins on one axis, got shape {list(arr.shape)}")
    if arr.shape[1] == 0:
        raise BadMelody("melody has no frames")
    if not np.isfinite(arr).all():
        raise BadMelody("melody contains NaN or infinite values")
    arr = arr[:, :num_frames]
    if arr.shape[1] < num_frames:
        arr = np.concatenate([arr, np.zeros((bins, num_frames - arr.shape[1]), dtype=np.float32)], axis=1)
    return np.ascontiguousarray(arr)
