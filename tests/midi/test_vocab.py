"""The chord vocabulary: the shipped official table, pickle, JSON, resolution order, pickles that try to run code."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
from pathlib import Path
from typing import Callable

import pytest

from core.errors import BadChord, VocabularyError
from midi.vocab import JSON_FILENAME, OFFICIAL_FILENAME, OFFICIAL_SHA256, ChordVocabulary, parse_table, shipped_table


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

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
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
        ChordVocabulary.resolve(model_dir=tmp_path / "model")
    assert not marker.exists()


def test_json_vocabulary_and_resolution_order(tmp_path: Path, chords_pkl: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"N": 0, "C": 1, "Am": 2, "UNK": 3}))
    v = ChordVocabulary.load(path)
    assert v.labels == ("N", "C", "Am", "UNK")
    model = tmp_path / "model"
    model.mkdir()
    # an empty model folder: the shipped official table
    assert ChordVocabulary.resolve(model_dir=model).source == str(shipped_table())
    # a vocabulary in the model folder overrides it, and an explicit path overrides both
    (model / JSON_FILENAME).write_text(json.dumps({"N": 0, "C": 1, "UNK": 2}))
    assert ChordVocabulary.resolve(model_dir=model).labels == ("N", "C", "UNK")
    (model / OFFICIAL_FILENAME).write_bytes(chords_pkl.read_bytes())
    assert len(ChordVocabulary.resolve(model_dir=model)) == 194
    assert ChordVocabulary.resolve(explicit=path, model_dir=model).labels == v.labels


@pytest.mark.parametrize("payload", [b"", b"not a pickle", pickle.dumps([1, 2]), pickle.dumps({"C": 0}),
                                     pickle.dumps({"N": 0, "C": "1"}), b"{broken json"])
def test_bad_vocabulary_files(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(payload)
    with pytest.raises(VocabularyError):
        ChordVocabulary.load(path)




def test_the_shipped_table_is_the_upstream_pickle_entry_by_entry(chords_pkl: Path, vocab: ChordVocabulary) -> None:
    """assets/chord_vocabulary.tsv: every label and index of audiocraft's pickle, with its provenance."""
    mapping, provenance = parse_table(shipped_table().read_text(encoding="utf-8"), str(shipped_table()))
    upstream = dict(vocab.mapping)  # the pickle, read by the restricted unpickler
    assert len(mapping) == len(upstream) == 194
    for label, index in upstream.items():
        assert mapping[label] == index, label
    assert mapping == upstream
    assert provenance["upstream-file"] == OFFICIAL_FILENAME == chords_pkl.name
    assert provenance["upstream-sha256"] == OFFICIAL_SHA256 == hashlib.sha256(chords_pkl.read_bytes()).hexdigest()
    # rows are in index order, one per line, exactly as a person reads them
    rows = [line for line in shipped_table().read_text(encoding="utf-8").splitlines() if line[:1].isdigit()]
    assert rows == [f"{i}\t{label}" for i, label in enumerate(vocab.labels)]


def test_the_default_needs_no_network(monkeypatch: pytest.MonkeyPatch, chords_pkl: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the chord vocabulary must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    v = ChordVocabulary.resolve()
    assert v.source == str(shipped_table()) and v.sha256 == OFFICIAL_SHA256
    assert v.labels == ChordVocabulary.load(chords_pkl).labels
    assert v.index("N") == 0 and v.index("UNK") == 193 and v.null_index == 194


@pytest.mark.parametrize("text, match", [
    ("0\tN\n", "header"),
    ("index\tlabel\n0\tN\n0\tC\n", "unique"),
    ("index\tlabel\n0\tN\nx\tC\n", "expected 'index<TAB>label'"),
    ("index\tlabel\n0\tN\n1\tN\n", "twice"),
    ("index\tlabel\n0\tC\n", "no 'N'"),
])
def test_a_damaged_table_is_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "t.tsv"
    path.write_text(text)
    with pytest.raises(VocabularyError, match=match):
        ChordVocabulary.official(path)
    with pytest.raises(VocabularyError, match="cannot read"):
        ChordVocabulary.official(tmp_path / "missing.tsv")


def test_the_shipped_table_format_is_accepted_as_a_vocabulary_file(tmp_path: Path) -> None:
    """``--vocab`` takes the project's own ``.tsv`` table (a copy, or an edited one), not only .pkl/.json."""
    copy = tmp_path / "my_vocabulary.tsv"
    copy.write_bytes(shipped_table().read_bytes())
    v = ChordVocabulary.load(copy)
    assert dict(v.mapping) == dict(ChordVocabulary.official().mapping) and v.source == str(copy)
    small = tmp_path / "small.tsv"
    small.write_text("index\tlabel\n0\tN\n1\tC\n2\tUNK\n", encoding="utf-8")
    assert ChordVocabulary.load(small).labels == ("N", "C", "UNK")
    for bad in ("index\tlabel\n0\tN\n0\tC\n", "# only a comment\n", "index\tlabel\nzero\tN\n"):
        small.write_text(bad, encoding="utf-8")
        with pytest.raises(VocabularyError):
            ChordVocabulary.load(small)
    small.write_bytes(b"index\tlabel\n0\t\xff\n")
    with pytest.raises(VocabularyError, match="UTF-8"):
        ChordVocabulary.load(small)
