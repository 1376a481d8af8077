"""The chord vocabulary: official pickle, JSON, resolution order, and pickles that try to run code."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest

from bridge.errors import BadChord, VocabularyError
from midi.vocab import OFFICIAL_FILENAME, OFFICIAL_SHA256, ChordVocabulary


def test_official_vocabulary(vocab: ChordVocabulary, chords_pkl: Path) -> None:
    assert len(vocab) == 194
    assert vocab.null_index == 194
    assert vocab.index("N") == 0 and vocab.index("UNK") == 193
    assert vocab.label(vocab.index("A7/C#")) == "A7/C#"
    assert "Cmaj7" in vocab and "Cmaj9" not in vocab
    assert vocab.sha256 == OFFICIAL_SHA256 == hashlib.sha256(chords_pkl.read_bytes()).hexdigest()
    with pytest.raises(BadChord, match="Cmaj9"):
        vocab.index("Cmaj9")
    with pytest.raises(BadChord):
        vocab.label(194)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"N": 0, "C": _Evil(str(marker))}))
    # the payload is real: plain pickle would run it
    with pytest.raises(VocabularyError, match="system"):
        ChordVocabulary.load(evil)
    assert not marker.exists()
    # the same through resolve(): explicit path and model folder
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / OFFICIAL_FILENAME).write_bytes(evil.read_bytes())
    with pytest.raises(VocabularyError):
        ChordVocabulary.resolve(model_dir=tmp_path / "model", cache_dir=tmp_path / "cache", download=False)
    assert not marker.exists()


def test_json_vocabulary_and_resolution_order(tmp_path: Path, chords_pkl: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"N": 0, "C": 1, "Am": 2, "UNK": 3}))
    v = ChordVocabulary.load(path)
    assert v.labels == ("N", "C", "Am", "UNK")
    assert ChordVocabulary.resolve(explicit=path).labels == v.labels
    model = tmp_path / "model"
    model.mkdir()
    (model / OFFICIAL_FILENAME).write_bytes(chords_pkl.read_bytes())
    assert len(ChordVocabulary.resolve(model_dir=model, download=False)) == 194
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / OFFICIAL_FILENAME).write_bytes(chords_pkl.read_bytes())
    assert len(ChordVocabulary.resolve(cache_dir=cache, download=False)) == 194
    (cache / OFFICIAL_FILENAME).write_bytes(pickle.dumps({"N": 0, "C": 1}))  # wrong hash: ignored
    with pytest.raises(VocabularyError, match="no chord vocabulary"):
        ChordVocabulary.resolve(cache_dir=cache, download=False)


@pytest.mark.parametrize("payload", [b"", b"not a pickle", pickle.dumps([1, 2]), pickle.dumps({"C": 0}),
                                     pickle.dumps({"N": 0, "C": "1"}), b"{broken json"])
def test_bad_vocabulary_files(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(payload)
    with pytest.raises(VocabularyError):
        ChordVocabulary.load(path)
