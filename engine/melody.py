"""Melody conditioner (melody checkpoints): a ``[53, T]`` salience / one-hot matrix -> ``output_proj``.

The matrix has one row per pitch bin and one column per latent frame; ``[T, 53]``
is accepted too. As in audiocraft, the matrix is projected at its own length and
the *projected* features are cut or zero-padded to the model's frame count
(``FlowMatchingModel._align_seq_length`` in audiocraft/models/flow_matching.py), so
frames past a short melody carry zeros, not the projection's bias. A nulled melody
(CFG terms) is the all-zero matrix of the same length (``nullify_melody``: zeros_like).
"No melody" is an all-zero ``[53, 500]`` matrix (audiocraft's ``_prepare_melody_conditions``
uses ``int(segment_duration * frame_rate)`` with generate_music's defaults 10.0 and 50.0),
and a matrix of at most one frame counts as no melody (``_collate_symbolic`` in
audiocraft/modules/jasco_conditioners.py replaces it).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from core.errors import BadMelody
from core.grid import WINDOW_FRAMES

logger = logging.getLogger(__name__)

# frames of audiocraft's "no melody" matrix: int(segment_duration * frame_rate) at generate_music's
# defaults (10 s at 50 Hz), which is the window of the grid
NO_MELODY_FRAMES = WINDOW_FRAMES


class MelodyConditioner(nn.Module):
    def __init__(self, card: int, out_dim: int) -> None:
        super().__init__()
        self.card = card  # number of pitch bins (53)
        self.output_proj = nn.Linear(card, out_dim)  # [out_dim, card]

    def forward(self, melody: torch.Tensor) -> torch.Tensor:
        """melody [N, card, T] -> [N, T, out_dim]."""
        return self.output_proj(melody.permute(0, 2, 1).to(self.output_proj.weight))

    def project(self, melodies: Sequence[np.ndarray], num_frames: int, device: torch.device) -> torch.Tensor:
        """Matrices ``[card, T_i]`` (any lengths) -> ``[N, num_frames, out_dim]``: each projected at its own
        length, then cut or zero-padded (padded frames are 0, not the bias)."""
        n = len(melodies)
        longest = max([1] + [m.shape[1] for m in melodies])
        batch = np.zeros((n, self.card, longest), np.float32)
        valid = torch.zeros(n, max(longest, num_frames), 1, device=device)  # [N, T', 1]
        for i, m in enumerate(melodies):
            batch[i, :, : m.shape[1]] = m
            valid[i, : m.shape[1]] = 1.0
        out = self(torch.from_numpy(batch).to(device))  # [N, longest, out_dim]
        if longest < num_frames:
            out = torch.cat([out, out.new_zeros(n, num_frames - longest, out.shape[2])], dim=1)
        return out[:, :num_frames] * valid[:, :num_frames].to(out.dtype)


def prepare_melody(melody: Any, *, bins: int, num_frames: int) -> np.ndarray | None:
    """Validate a melody matrix -> float32 ``[bins, min(T, num_frames)]`` (not padded), or None when it has at
    most one frame (audiocraft treats such a matrix as no melody)."""
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
    if not np.isfinite(arr).all():
        raise BadMelody("melody contains NaN or infinite values")
    if arr.shape[1] <= 1:
        logger.info("melody has %d frame(s): treated as no melody (as audiocraft does)", arr.shape[1])
        return None
    return np.ascontiguousarray(arr[:, :num_frames])
