"""Which chord vocabulary a model uses, found the same way by ``serve`` and ``render``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from bridge.session import looks_like_hub_id
from core.errors import VocabularyError

log = logging.getLogger(__name__)


def _tiny_vocab_candidates() -> list[Path]:
    from midi.vocab import JSON_FILENAME, default_cache_dir

    root = default_cache_dir() / "models"
    return sorted(root.glob(f"tiny-*/{JSON_FILENAME}")) if root.is_dir() else []


class VocabProvider:
    """Resolves the chord vocabulary once it can: at start, or (tiny model) when built."""

    def __init__(self, explicit: Path | None, model: str) -> None:
        self.explicit = explicit
        self.model = model
        self._vocab: Any = None
        self._lock = threading.Lock()
        self.error = ""

    def startup(self) -> Any:
        from midi.vocab import ChordVocabulary

        if self.explicit is not None:
            self._vocab = ChordVocabulary.load(self.explicit)  # an unreadable --vocab is fatal
            return self._vocab
        try:
            folder = Path(self.model).expanduser()
            if folder.is_dir():
                self._vocab = ChordVocabulary.resolve(model_dir=folder, download=False)
            elif looks_like_hub_id(self.model):
                self._vocab = ChordVocabulary.resolve()  # cache, else the pinned one-time download
            else:
                self.error = (f"no chord vocabulary for model {self.model!r}: start the server with --vocab PATH")
        except VocabularyError as err:
            self.error = str(err)
            log.warning("%s", err)
        return self._vocab

    def get(self) -> Any:
        with self._lock:
            if self._vocab is None and self.model.split(":")[0] == "tiny":
                from midi.vocab import ChordVocabulary

                for path in _tiny_vocab_candidates():
                    try:
                        self._vocab = ChordVocabulary.load(path)
                        break
                    except VocabularyError as err:
                        log.warning("%s", err)
            if self._vocab is None:
                raise VocabularyError(
                    self.error
                    or "no chord vocabulary yet (the model is still loading?): try again, or start the "
                    "server with --vocab PATH"
                )
            return self._vocab

    __call__ = get

    @property
    def pending(self) -> bool:
        """True while the vocabulary may still appear (the tiny model is built by the engine)."""
        return self._vocab is None and self.model.split(":")[0] == "tiny"
