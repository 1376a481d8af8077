"""The model's chord vocabulary: label <-> index, obtained at run time like weights.

The official vocabulary is audiocraft's ``chord_to_index_mapping.pkl``: a pickled
``dict[str, int]`` of 194 Chordino-style labels (``N`` = 0 ... ``UNK`` = 193).
Its indices are the order labels first appeared in training data, so they
cannot be derived by rule and the product does not ship a copy. Sources, in
order: an explicit path, a file in the model folder, a cached download checked
against its sha256. Pickles are read with a restricted unpickler that admits
only dict/str/int (a pickle that names any global is refused), and a plain JSON
object ``{label: index}`` is accepted too.

The null index (``len(vocab)``) means "no chord condition"; the embedding table
of a model has ``len(vocab) + 1`` rows.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import os
import pickle
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from core.errors import BadChord, OutputError, VocabularyError
from core.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

OFFICIAL_FILENAME = "chord_to_index_mapping.pkl"
JSON_FILENAME = "chord_to_index_mapping.json"
OFFICIAL_SHA256 = "c8c1558db674b85d62eb73a6a2bb0fa5ed1af2c1ea787509829616710b994828"
OFFICIAL_URL = (
    "https://raw.githubusercontent.com/facebookresearch/audiocraft/main/assets/"
    "chord_to_index_mapping.pkl"
)
MAX_VOCAB_BYTES = 1 << 20  # a vocabulary is a few KB; refuse anything absurd


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only pickle's native dict/str/int opcodes: any global is refused."""

    def find_class(self, module: str, name: str) -> object:  # noqa: D401
        raise VocabularyError(
            f"refusing to load a chord vocabulary pickle that references {module}.{name}: "
            "only a plain dict of str -> int is allowed"
        )


def _check_mapping(obj: object, source: str) -> dict[str, int]:
    if not isinstance(obj, dict):
        raise VocabularyError(f"{source}: expected a mapping of chord label -> index, got {type(obj).__name__}")
    out: dict[str, int] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not key:
            raise VocabularyError(f"{source}: chord labels must be non-empty strings, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise VocabularyError(f"{source}: index of {key!r} must be an int, got {value!r}")
        out[key] = value
    indices = sorted(out.values())
    if indices != list(range(len(indices))):
        raise VocabularyError(f"{source}: indices must be unique and run 0..{len(out) - 1}")
    if "N" not in out:
        raise VocabularyError(f"{source}: the vocabulary has no 'N' (no chord) label")
    return out


def load_mapping_bytes(data: bytes, source: str) -> dict[str, int]:
    """Parse a pickle (restricted) or JSON vocabulary from bytes."""
    if len(data) > MAX_VOCAB_BYTES:
        raise VocabularyError(f"{source}: {len(data)} bytes is too large for a chord vocabulary")
    stripped = data.lstrip()
    if stripped[:1] == b"{":
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VocabularyError(f"{source}: not valid JSON ({exc})") from exc
    else:
        try:
            obj = _RestrictedUnpickler(io.BytesIO(data)).load()
        except VocabularyError:
            raise
        except Exception as exc:  # any unpickling failure is a bad file, never a crash
            raise VocabularyError(f"{source}: not a readable chord vocabulary pickle ({exc})") from exc
    return _check_mapping(obj, source)


@dataclass(frozen=True)
class ChordVocabulary:
    """Immutable label <-> index table. ``null_index == len(self)``."""

    mapping: Mapping[str, int]
    source: str = "<memory>"
    sha256: str | None = None
    _by_index: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checked = _check_mapping(dict(self.mapping), self.source)
        object.__setattr__(self, "mapping", checked)
        by_index = [""] * len(checked)
        for label, idx in checked.items():
            by_index[idx] = label
        object.__setattr__(self, "_by_index", tuple(by_index))

    # --- construction -------------------------------------------------------
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, int], source: str = "<memory>") -> "ChordVocabulary":
        return cls(dict(mapping), source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ChordVocabulary":
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise VocabularyError(f"cannot read chord vocabulary {p}: {exc.strerror or exc}") from exc
        mapping = load_mapping_bytes(data, str(p))
        return cls(mapping, source=str(p), sha256=hashlib.sha256(data).hexdigest())

    @classmethod
    def resolve(
        cls,
        explicit: str | os.PathLike[str] | None = None,
        model_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        download: bool = True,
    ) -> "ChordVocabulary":
        """Find the vocabulary: explicit path, model folder, cache, then a pinned download."""
        if explicit is not None:
            return cls.load(explicit)
        if model_dir is not None:
            for name in (OFFICIAL_FILENAME, JSON_FILENAME):
                candidate = Path(model_dir) / name
                if candidate.is_file():
                    return cls.load(candidate)
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cached = cache / OFFICIAL_FILENAME
        if cached.is_file():
            try:
                data = cached.read_bytes()
            except OSError as exc:
                raise VocabularyError(f"cannot read the cached chord vocabulary {cached}: "
                                      f"{exc.strerror or exc}") from exc
            if hashlib.sha256(data).hexdigest() == OFFICIAL_SHA256:
                return cls(load_mapping_bytes(data, str(cached)), source=str(cached), sha256=OFFICIAL_SHA256)
            logger.warning("cached chord vocabulary %s has the wrong sha256; ignoring it", cached)
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get(
            "JASCO_OFFLINE", ""
        ) not in ("", "0")
        if not download or offline:
            raise VocabularyError(
                "no chord vocabulary found: pass its path (--vocab), put "
                f"{OFFICIAL_FILENAME} in the model folder, or allow the one-time download "
                f"(sha256 {OFFICIAL_SHA256[:12]}...) into {cache}"
            )
        data = _download(OFFICIAL_URL)
        digest = hashlib.sha256(data).hexdigest()
        if digest != OFFICIAL_SHA256:
            raise VocabularyError(
                f"downloaded chord vocabulary has sha256 {digest}, expected {OFFICIAL_SHA256}: refusing it"
            )
        mapping = load_mapping_bytes(data, OFFICIAL_URL)
        source = str(cached)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cached, data)
        except (OutputError, OSError) as exc:  # a read-only cache costs a download next time, nothing more
            logger.warning("cannot cache the chord vocabulary in %s: %s", cache, exc)
            source = OFFICIAL_URL
        return cls(mapping, source=source, sha256=digest)

    # --- queries ----------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """Labels in index order."""
        return self._by_index

    @property
    def null_index(self) -> int:
        return len(self._by_index)

    def index(self, label: str) -> int:
        try:
            return self.mapping[label]
        except KeyError:
            raise BadChord(f"chord label {label!r} is not in the model's vocabulary ({self.source})") from None

    def label(self, index: int) -> str:
        if not 0 <= index < len(self._by_index):
            raise BadChord(f"chord index {index} is outside the vocabulary (0..{len(self._by_index) - 1})")
        return self._by_index[index]

    def __contains__(self, label: object) -> bool:
        return label in self.mapping

    def __len__(self) -> int:
        return len(self._by_index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_index)

    def to_json(self) -> str:
        return json.dumps(dict(sorted(self.mapping.items(), key=lambda kv: kv[1])), indent=1)


def default_cache_dir() -> Path:
    base = os.environ.get("JASCO_BRIDGE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "jasco-bridge"
    )
    return Path(base)


def _download(url: str) -> bytes:
    logger.info("downloading chord vocabulary from %s", url)
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (https, pinned by sha256)
            data = resp.read(MAX_VOCAB_BYTES + 1)
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is an OSError
        raise VocabularyError(
            f"could not download the chord vocabulary from {url} ({exc}); "
            f"pass --vocab PATH or put {OFFICIAL_FILENAME} in the model folder"
        ) from exc
    return data
