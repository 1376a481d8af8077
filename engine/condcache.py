"""The condition tensors of a batch, kept across renders: a take or a press with the same inputs reuses them.

``build_conditions`` (text encoder output, chord embeddings, drum latents and projections, melody
projection, for every CFG row) depends only on the prepared items (prompt, frame chords, drum
samples, melody matrix), the CFG terms, the guidance modes and the clip's frame count; the key
is exactly these, the arrays by a digest of their bytes, shape and dtype. A changed chord,
prompt, drum sample or weight is another key, so the cache can never serve a stale condition.
The pipeline's model and precision are fixed for its life (one cache per pipeline). Cached
tensors are never modified afterwards (every consumer slices or gathers into new tensors).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .guidance import CfgTerm, ItemConditions
from .jasco import ConditionTensors

logger = logging.getLogger(__name__)

DEFAULT_ENTRIES = 8  # distinct condition sets kept (least recently used goes first)


def _digest(a: np.ndarray | None) -> tuple[Any, ...] | None:
    if a is None:
        return None
    arr = np.ascontiguousarray(a)
    return (arr.shape, arr.dtype.str, hashlib.blake2b(arr.tobytes(), digest_size=16).hexdigest())


def item_key(item: ItemConditions) -> tuple[Hashable, ...]:
    """Everything of one prepared item that the condition tensors depend on."""
    return (item.prompt, item.chords, _digest(item.drums), _digest(item.melody))


def conditions_key(items: Sequence[ItemConditions], terms: Sequence[CfgTerm], mode: str, melody_guidance: str,
                   num_frames: int | None) -> tuple[Hashable, ...]:
    return (tuple(item_key(i) for i in items), tuple((t.name, t.weight) for t in terms), mode, melody_guidance,
            num_frames)


class ConditionCache:
    """A small LRU of ``ConditionTensors`` by :func:`conditions_key`; ``hits``/``misses`` count lookups."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        if isinstance(entries, bool) or not isinstance(entries, int) or entries < 0:
            raise ValueError(f"entries must be a whole number >= 0, got {entries!r}")
        self.entries = entries
        self.hits = 0
        self.misses = 0
        self._store: OrderedDict[tuple[Hashable, ...], ConditionTensors] = OrderedDict()

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: tuple[Hashable, ...], build: Callable[[], ConditionTensors]) -> ConditionTensors:
        found = self._store.get(key)
        if found is not None:
            self._store.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        value = build()
        if self.entries:
            self._store[key] = value
            while len(self._store) > self.entries:
                self._store.popitem(last=False)
        return value

    def clear(self) -> None:
        self._store.clear()
