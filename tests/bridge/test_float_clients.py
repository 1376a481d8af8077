"""What float-only and word-splitting clients (Max, Pure Data, Live parameters) send, and drum regions.

Max and Pure Data hold numbers as 32-bit floats and split a message's text at spaces; IEEE 754
binary32 has a 24-bit significand, so every integer up to 2^24 survives it and 2^24 + 1 does not
(``numpy.float32(16777217) == 16777216``). Real UDP to a real ``BridgeServer``; packets built by
python-osc (an implementation independent of ``bridge.osc``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from core.params import FLOAT32_EXACT_INT, MAX_RANDOM_SEED, RANDOM_SEED, RenderParams
from core.requests import RenderRequest
from bridge.engine_input import render_item
from midi.vocab import ChordVocabulary

from test_server import Rig, make_rig


@pytest.fixture(scope="module")
def vocab(chords_pkl: Path) -> ChordVocabulary:
    return ChordVocabulary.load(chords_pkl)


@pytest.fixture
def rig(tmp_path: Path, vocab: ChordVocabulary) -> Iterator[Rig]:
    yield from make_rig(tmp_path, vocab)


def test_random_seeds_survive_a_32_bit_float() -> None:
    seeds = {RenderRequest(params=RenderParams(seed=RANDOM_SEED)).params.seed for _ in range(2000)}
    assert len(seeds) > 1900 and max(seeds) <= MAX_RANDOM_SEED
    assert all(int(np.float32(s)) == s for s in seeds)
    assert MAX_RANDOM_SEED + 1 == FLOAT32_EXACT_INT and int(np.float32(FLOAT32_EXACT_INT + 1)) != FLOAT32_EXACT_INT + 1


def test_an_int_setting_as_a_float(rig: Rig) -> None:
    """A whole float up to 2^24 is the int; a fraction or a float above 2^24 is refused with bad_value
    (the float may already be another number); an int above 2^24 is exact and accepted."""
    with rig.client() as c:
        seed = secrets.randbelow(MAX_RANDOM_SEED + 1)
        c.send("/jasco/set", "seed", ("f", float(np.float32(seed))))
        c.send("/jasco/set", "seed", ("f", 7.5))
        assert "whole number" in c.expect_error("bad_value").args[2]
        c.send("/jasco/set", "seed", ("f", float(FLOAT32_EXACT_INT + 2)))
        err = c.expect_error("bad_value").args[2]
        assert "send it as an int" in err and str(FLOAT32_EXACT_INT) in err
        c.send("/jasco/generate", "a")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].params.seed == seed      # the refused ones changed nothing
        c.send("/jasco/set", "seed", ("i", FLOAT32_EXACT_INT + 3))
        c.send("/jasco/set", "steps", ("f", 12.0))
        c.send("/jasco/generate", "b")
        c.expect("/jasco/done")
        assert (rig.worker.requests[-1].params.seed, rig.worker.requests[-1].params.steps) == (FLOAT32_EXACT_INT + 3, 12)


def test_a_prompt_in_words_is_joined(rig: Rig) -> None:
    with rig.client() as c:
        c.send("/jasco/prompt", "warm", "rhodes", ("i", 808), ("f", 1.5), "drums")
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].prompt == "warm rhodes 808 1.5 drums"
        c.send("/jasco/prompt", *(["x" * 100] * 11))               # 1110 characters with the spaces
        assert "limit is 1000" in c.expect_error("too_large").args[2]


def _drums(path: Path, seconds: float = 4.0, rate: int = 8000) -> Path:
    ramp = np.linspace(-0.5, 0.5, int(seconds * rate), dtype=np.float32)
    sf.write(path, ramp, rate, subtype="FLOAT")
    return path


def test_a_drum_region_is_sent_and_used(rig: Rig, tmp_path: Path) -> None:
    """/jasco/drums PATH START END: the loop is that region of the file (an Arrangement clip's start and
    end markers); a region after the file's end, or with its end before its start, is refused."""
    path = _drums(tmp_path / "loop.wav")
    with rig.client() as c:
        c.send("/jasco/drums", str(path), ("f", 1.0), ("f", 3.0))
        loaded = c.expect("/jasco/drums/loaded")
        assert loaded.args[1] == pytest.approx(2.0)
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        request = rig.worker.requests[-1]
        assert request.drums_region == (1.0, 3.0)
        item, _ = render_item(request)
        full, rate = sf.read(path, dtype="float32")
        assert item.drums is not None and np.array_equal(np.ravel(item.drums), full[rate:3 * rate])
        c.send("/jasco/drums", str(path), ("f", 3.0), ("f", 1.0))
        assert "must be after" in c.expect_error("bad_value").args[2]
        c.send("/jasco/drums", str(path), ("f", 1.0), ("f", 9.0))
        assert "ends after the file does" in c.expect_error("bad_value").args[2]
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].drums_region == (1.0, 3.0)    # the last good region stays
        c.send("/jasco/drums", str(path), ("f", 1.0))
        c.expect_error("bad_args")


def test_queued_names_the_generate_tag(rig: Rig) -> None:
    """Two devices may share a reply port (Ableton/m4l-connection-kit issue 9): /jasco/queued
    carries the tag of the generate it answers, so each knows its own jobs."""
    with rig.client() as c:
        c.send("/jasco/generate", "m4l-1.abc")
        q = c.expect("/jasco/queued")
        assert q.tags == "sis" and q.args[2] == "m4l-1.abc"
        c.send("/jasco/generate")
        assert c.expect("/jasco/queued").args[2] == ""
