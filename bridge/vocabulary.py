"""Which chord vocabulary a model uses, found the same way by ``serve`` and ``render``.

Everything here is known without the engine, so chords are mapped from the first
message on: ``--vocab PATH`` wins; then a vocabulary in the model's folder (a local
folder, or the hub snapshot of a hub id when it holds one); the embedded tiny model
uses its rule-generated vocabulary (``midi.tiny_vocab``, the mapping the engine
writes into the model it builds); every other model uses the official table shipped
in ``assets/`` (``midi.vocab.ChordVocabulary.official``), as the engine does.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from bridge.session import looks_like_hub_id
from core.errors import VocabularyError

log = logging.getLogger(__name__)

TINY_SOURCE = "the embedded tiny model's vocabulary (midi/tiny_vocab.py)"


def is_tiny(model: str) -> bool:
    """``tiny`` or ``tiny:<variant>``: the embedded noise model."""
    return model.split(":", 1)[0] == "tiny"


def _hub_snapshot_vocabulary(model: str) -> Path | None:
    """A vocabulary file inside a cached hub snapshot of ``model`` (official repos hold none)."""
    from midi.vocab import JSON_FILENAME, OFFICIAL_FILENAME

    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for name in (OFFICIAL_FILENAME, JSON_FILENAME):
        found = try_to_load_from_cache(model, name)
        if isinstance(found, str):
            return Path(found)
    return None


def resolve_vocabulary(explicit: Path | None, model: str) -> Any:
    """The ``midi.vocab.ChordVocabulary`` for ``model``; raises ``VocabularyError`` for a bad file."""
    from midi.vocab import ChordVocabulary

    if explicit is not None:
        return ChordVocabulary.load(explicit)
    if is_tiny(model):
        from midi.tiny_vocab import chord_vocabulary_mapping

        return ChordVocabulary.from_mapping(chord_vocabulary_mapping(), source=TINY_SOURCE)
    folder = Path(model).expanduser()
    if folder.is_dir():
        return ChordVocabulary.resolve(model_dir=folder)
    if looks_like_hub_id(model):
        cached = _hub_snapshot_vocabulary(model)
        if cached is not None:
            return ChordVocabulary.load(cached)
    return ChordVocabulary.official()


class VocabProvider:
    """Resolves the chord vocabulary at start; ``get()`` answers from the first message on."""

    def __init__(self, explicit: Path | None, model: str) -> None:
        self.explicit = explicit
        self.model = model
        self._vocab: Any = None
        self._lock = threading.Lock()
        self.error = ""

    def startup(self) -> Any:
        """Resolve now. An unreadable ``--vocab`` is fatal; any other problem is kept as ``error``."""
        if self.explicit is not None:
            self._vocab = resolve_vocabulary(self.explicit, self.model)
            return self._vocab
        try:
            self._vocab = resolve_vocabulary(None, self.model)
        except VocabularyError as err:
            self.error = str(err)
            log.warning("%s", err)
        return self._vocab

    def get(self) -> Any:
        with self._lock:
            if self._vocab is None and not self.error:
                self.startup()
            if self._vocab is None:
                raise VocabularyError(self.error or f"no chord vocabulary for model {self.model!r}")
            return self._vocab

    __call__ = get
