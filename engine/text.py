"""Text conditioner: a frozen T5 encoder (kept out of the module tree) + learned ``output_proj``.

Only ``output_proj`` [dim, t5_dim] is in the checkpoint. The tokenizer and
``T5EncoderModel`` are attached after loading. T5 outputs of recent prompts are
kept in a small LRU cache (they depend only on the prompt: padded positions are
masked inside T5 and zeroed after the projection).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from core.errors import ModelLoadError

logger = logging.getLogger(__name__)

CACHE_SIZE = 64


class TextConditioner(nn.Module):
    def __init__(self, text_dim: int, out_dim: int) -> None:
        super().__init__()
        self.output_proj = nn.Linear(text_dim, out_dim)  # [dim, t5_dim]
        self.text_dim = text_dim
        # frozen encoder and tokenizer live outside the module tree (not in the state dict)
        self.__dict__["t5"] = None
        self.__dict__["tokenizer"] = None
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    # --- T5 -------------------------------------------------------------------
    def attach(self, tokenizer: Any, encoder: nn.Module) -> None:
        width = int(getattr(encoder.config, "d_model", -1))
        if width != self.text_dim:
            raise ModelLoadError(
                f"the T5 encoder has width {width} but the checkpoint's text projection expects {self.text_dim}"
            )
        encoder.eval().requires_grad_(False)
        self.__dict__["t5"] = encoder
        self.__dict__["tokenizer"] = tokenizer
        self._cache.clear()

    def load_t5(self, folder: str | os.PathLike[str]) -> None:
        """Tokenizer + T5EncoderModel from a transformers folder (or hub snapshot)."""
        from transformers import AutoTokenizer, T5EncoderModel
        from transformers.utils import logging as hf_logging

        folder = Path(folder)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"cannot load the T5 tokenizer from {folder}: {exc}") from exc
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal
        try:
            encoder = T5EncoderModel.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load the T5 encoder from {folder}: {exc}") from exc
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        self.attach(tokenizer, encoder.float())

    def move_encoder(self, device: torch.device) -> None:
        """Put the frozen T5 on ``device`` (it is outside the module tree, so ``.to`` does not move it)."""
        if self.__dict__["t5"] is not None:
            self.__dict__["t5"].to(device)

    @property
    def ready(self) -> bool:
        return self.__dict__["t5"] is not None

    def token_ids(self, text: str) -> list[int]:
        """Token ids of one prompt (with the final ``</s>``)."""
        tok = self.__dict__["tokenizer"]
        if tok is None:
            raise ModelLoadError("the text encoder (T5) is not loaded")
        return list(tok(text)["input_ids"])

    def tokenize(self, texts: Sequence[str | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch tokenization as audiocraft does it: ids [N, L], mask [N, L] (zero rows for empty text)."""
        tok = self.__dict__["tokenizer"]
        if tok is None:
            raise ModelLoadError("the text encoder (T5) is not loaded")
        entries = [t if t else "" for t in texts]
        enc = tok(entries, return_tensors="pt", padding=True)
        ids, mask = enc["input_ids"], enc["attention_mask"].clone()
        for i, e in enumerate(entries):
            if e == "":
                mask[i] = 0
        return ids, mask

    def _hidden(self, text: str, device: torch.device) -> torch.Tensor:
        """T5 last hidden state [L, t5_dim] of one non-empty prompt (cached, CPU float32)."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit.to(device)
        t5 = self.__dict__["t5"]
        if t5 is None:
            raise ModelLoadError("the text encoder (T5) is not loaded")
        ids = torch.tensor([self.token_ids(text)], dtype=torch.long)  # [1, L]
        p = next(t5.parameters())
        with torch.autocast(device_type=p.device.type, enabled=False):
            hidden = t5(input_ids=ids.to(p.device), attention_mask=torch.ones_like(ids).to(p.device)).last_hidden_state
        hidden = hidden[0].float().detach()  # [L, t5_dim]
        with self._lock:
            self._cache[text] = hidden.cpu()
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return hidden.to(device)

    def forward(self, texts: Sequence[str | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """texts (None/"" = no text) -> embeddings [N, L, dim] (zero where masked), mask [N, L] int."""
        w = self.output_proj.weight
        rows: list[torch.Tensor | None] = []
        for t in texts:
            rows.append(self.output_proj(self._hidden(t, w.device).to(w)) if t else None)
        length = max([1] + [r.shape[0] for r in rows if r is not None])
        out = torch.zeros(len(rows), length, w.shape[0], device=w.device, dtype=w.dtype)  # [N, L, dim]
        mask = torch.zeros(len(rows), length, dtype=torch.long, device=w.device)  # [N, L]
        for i, r in enumerate(rows):
            if r is not None:
                out[i, : r.shape[0]] = r
                mask[i, : r.shape[0]] = 1
        return out, mask

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
