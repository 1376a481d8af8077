"""The model's chord vocabulary: label <-> index.

The official vocabulary (audiocraft's ``chord_to_index_mapping.pkl``: 194
Chordino-style labels, ``N`` = 0 ... ``UNK`` = 193) is a set of facts about the
published checkpoints: the rows of their chord embedding. Its indices are the
order labels first appeared in training data, so they cannot be derived by rule;
the product ships them as a plain table, ``assets/chord_vocabulary.tsv``, whose
header names the upstream file and its sha256 (a test checks the table against
that pickle entry by entry). Sources, in order: an explicit path, a file in the
model folder, the shipped table. Nothing is downloaded. Pickles are read with a
restricted unpickler that admits only dict/str/int (a pickle that names any
global is refused); a plain JSON object ``{label: index}`` and a table in the shipped
table's format (``.tsv``) are accepted too.

The shipped table is package data of the ``assets`` package, found through
``importlib.resources`` wherever jasco-bridge is installed (a checkout, a wheel, pipx).

The null index (``len(vocab)``) means "no chord condition"; the embedding table
of a model has ``len(vocab) + 1`` rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterator, Mapping

from core.errors import BadChord, VocabularyError

logger = logging.getLogger(__name__)

OFFICIAL_FILENAME = "chord_to_index_mapping.pkl"
JSON_FILENAME = "chord_to_index_mapping.json"
OFFICIAL_SHA256 = "c8c1558db674b85d62eb73a6a2bb0fa5ed1af2c1ea787509829616710b994828"
OFFICIAL_URL = (
    "https://raw.githubusercontent.com/facebookresearch/audiocraft/main/assets/"
    "chord_to_index_mapping.pkl"
)
ASSETS_PACKAGE = "assets"  # a data package: chord table, example MIDI files
TABLE_NAME = "chord_vocabulary.tsv"
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


def shipped_table() -> Traversable:
    """The official table shipped with jasco-bridge (package data of ``assets``)."""
    try:
        return resources.files(ASSETS_PACKAGE).joinpath(TABLE_NAME)
    except ModuleNotFoundError as exc:
        raise VocabularyError(f"the '{ASSETS_PACKAGE}' package holding {TABLE_NAME} is not installed; "
                              "reinstall jasco-bridge or pass --vocab PATH") from exc


def _looks_like_table(data: bytes) -> bool:
    """The shipped table's format: ``#`` provenance lines, then the ``index<TAB>label`` header."""
    return data.startswith((b"#", b"index\t"))


def load_mapping_bytes(data: bytes, source: str) -> dict[str, int]:
    """Parse a pickle (restricted), JSON or table (``.tsv``, the shipped format) vocabulary from bytes."""
    if len(data) > MAX_VOCAB_BYTES:
        raise VocabularyError(f"{source}: {len(data)} bytes is too large for a chord vocabulary")
    stripped = data.lstrip()
    if _looks_like_table(stripped):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VocabularyError(f"{source}: a chord table must be UTF-8 text ({exc})") from exc
        return parse_table(text, source)[0]
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
        from core.fileio import read_regular

        try:
            data = read_regular(p, MAX_VOCAB_BYTES)  # a FIFO or a 16 GB file is refused, not read
        except OSError as exc:
            raise VocabularyError(f"cannot read chord vocabulary {p}: {exc.strerror or exc}") from exc
        mapping = load_mapping_bytes(data, str(p))
        return cls(mapping, source=str(p), sha256=hashlib.sha256(data).hexdigest())

    @classmethod
    def official(cls, table: str | os.PathLike[str] | None = None) -> "ChordVocabulary":
        """The official checkpoints' vocabulary, from the table shipped in ``assets/``."""
        path: Traversable = Path(table) if table is not None else shipped_table()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise VocabularyError(f"cannot read the shipped chord vocabulary {path}: {exc.strerror or exc}; "
                                  "reinstall jasco-bridge or pass --vocab PATH") from exc
        mapping, provenance = parse_table(text, str(path))
        return cls(mapping, source=str(path), sha256=provenance.get("upstream-sha256"))

    @classmethod
    def resolve(
        cls,
        explicit: str | os.PathLike[str] | None = None,
        model_dir: str | os.PathLike[str] | None = None,
    ) -> "ChordVocabulary":
        """Find the vocabulary: explicit path, then the model folder, then the shipped official table."""
        if explicit is not None:
            return cls.load(explicit)
        if model_dir is not None:
            for name in (OFFICIAL_FILENAME, JSON_FILENAME):
                candidate = Path(model_dir) / name
                if candidate.is_file():
                    return cls.load(candidate)
        return cls.official()

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
    """``$JASCO_BRIDGE_CACHE``, else the system's cache folder for jasco-bridge (platformdirs):
    ``$XDG_CACHE_HOME/jasco-bridge`` or ``~/.cache/jasco-bridge`` on Linux,
    ``~/Library/Caches/jasco-bridge`` on macOS, ``%LOCALAPPDATA%\\jasco-bridge\\Cache`` on Windows."""
    explicit = os.environ.get("JASCO_BRIDGE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("jasco-bridge", appauthor=False))


def parse_table(text: str, source: str) -> tuple[dict[str, int], dict[str, str]]:
    """Read a vocabulary table: ``# key: value`` provenance lines, an ``index<TAB>label`` header, rows."""
    provenance: dict[str, str] = {}
    rows: dict[str, int] = {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep and key.strip() and " " not in key.strip():
                provenance[key.strip()] = value.strip()
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != ["index", "label"]:
                raise VocabularyError(f"{source}:{number}: expected the header 'index<TAB>label', got {line!r}")
            header_seen = True
            continue
        if len(fields) != 2 or not fields[0].isdigit() or not fields[1]:
            raise VocabularyError(f"{source}:{number}: expected 'index<TAB>label', got {line!r}")
        if fields[1] in rows:
            raise VocabularyError(f"{source}:{number}: label {fields[1]!r} appears twice")
        rows[fields[1]] = int(fields[0])
    return _check_mapping(rows, source), provenance

