"""The chord vocabulary: official pickle, JSON, resolution order, and pickles that try to run code."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from core.errors import BadChord, VocabularyError
import midi.vocab
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


@pytest.fixture
def vocab_server(chords_pkl: Path) -> Iterator[tuple[str, list[str]]]:
    """A real local HTTP server: /good is the official pickle, /tampered a different one."""
    bodies = {"/good": chords_pkl.read_bytes(), "/tampered": pickle.dumps({"N": 0, "C": 1, "UNK": 2})}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            body = bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="vocab-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_is_checked_against_the_sha256_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocab_server: tuple[str, list[str]]
) -> None:
    base, hits = vocab_server
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("JASCO_OFFLINE", raising=False)
    for var in ("no_proxy", "NO_PROXY"):  # a proxy in the environment must not see the local server
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    cache = tmp_path / "cache"
    # a download whose hash differs is refused and nothing is cached
    monkeypatch.setattr(midi.vocab, "OFFICIAL_URL", f"{base}/tampered")
    with pytest.raises(VocabularyError, match="sha256"):
        ChordVocabulary.resolve(cache_dir=cache)
    assert not (cache / OFFICIAL_FILENAME).exists()
    # a missing file (HTTP 404) is a VocabularyError naming the address
    monkeypatch.setattr(midi.vocab, "OFFICIAL_URL", f"{base}/missing")
    with pytest.raises(VocabularyError, match="/missing"):
        ChordVocabulary.resolve(cache_dir=cache)
    # the official file is accepted, cached, and read from the cache afterwards (no second request)
    monkeypatch.setattr(midi.vocab, "OFFICIAL_URL", f"{base}/good")
    v = ChordVocabulary.resolve(cache_dir=cache)
    assert len(v) == 194 and v.sha256 == OFFICIAL_SHA256
    assert hashlib.sha256((cache / OFFICIAL_FILENAME).read_bytes()).hexdigest() == OFFICIAL_SHA256
    assert [p for p in hits if p == "/good"] == ["/good"]
    assert ChordVocabulary.resolve(cache_dir=cache).labels == v.labels
    assert [p for p in hits if p == "/good"] == ["/good"]
    assert sorted(os.listdir(cache)) == [OFFICIAL_FILENAME]  # no temporary file left behind
    # offline: no request at all
    monkeypatch.setenv("JASCO_OFFLINE", "1")
    with pytest.raises(VocabularyError, match="no chord vocabulary"):
        ChordVocabulary.resolve(cache_dir=tmp_path / "empty")


def test_a_cache_that_cannot_be_written_still_gives_the_vocabulary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocab_server: tuple[str, list[str]]
) -> None:
    base, _ = vocab_server
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("JASCO_OFFLINE", raising=False)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.setattr(midi.vocab, "OFFICIAL_URL", f"{base}/good")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    v = ChordVocabulary.resolve(cache_dir=blocker / "cache")  # the cache folder cannot be made
    assert len(v) == 194 and v.sha256 == OFFICIAL_SHA256
    assert v.source == f"{base}/good"
    assert blocker.read_text() == "x"
