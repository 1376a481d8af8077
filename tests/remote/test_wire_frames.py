"""``core.wire_frames``: engine messages as JSON + raw arrays for the network, never pickle."""

from __future__ import annotations

import io
import json
import pickle
import struct

import numpy as np
import pytest

from core import wire, wire_frames
from core.errors import BadArguments, TooLarge


def roundtrip(message: object) -> object:
    return wire_frames.unpack(wire_frames.pack(message))


def test_render_roundtrips_exactly() -> None:
    rng = np.random.default_rng(0)
    item = wire.RenderItem(prompt="lo-fi ♪", chords=(("C", 0.0), ("A:min", 2.0)),
                           drums=rng.standard_normal((2, 1000)).astype(np.float32), drums_sample_rate=44100,
                           melody=(rng.random((53, 500)) > 0.9).astype(np.float32))
    render = wire.Render("j1", (item, wire.RenderItem()), {"seed": 3, "solver": "euler", "steps": 4,
                                                           "rtol": 1e-5, "cfg_all": 5.0, "guidance": None})
    back = roundtrip(render)
    assert isinstance(back, wire.Render) and back.job_id == "j1" and back.sampling == render.sampling
    got = back.items[0]
    assert got.prompt == item.prompt and got.chords == item.chords and got.drums_sample_rate == 44100
    np.testing.assert_array_equal(got.drums, item.drums)
    np.testing.assert_array_equal(got.melody, item.melody)
    assert got.drums.dtype == np.float32 and got.drums.flags.writeable
    assert back.items[1] == wire.RenderItem()


def test_result_and_the_small_messages_roundtrip() -> None:
    audio = np.linspace(-1, 1, 2 * 3 * 7, dtype=np.float32).reshape(1, 2, 21)
    res = roundtrip(wire.Result("j", audio, 32000, 12, 1.25))
    assert isinstance(res, wire.Result) and res.sample_rate == 32000 and res.nfe == 12 and res.latents is None
    assert res.audio.tobytes() == audio.tobytes()
    for msg in (wire.Progress("j", 3, 0.25), wire.Failed("j", "render_failed", "boom"), wire.Cancelled("j"),
                wire.Ready({"model": "tiny", "sample_rate": 32000})):
        assert roundtrip(msg) == msg


def test_a_stream_of_frames_ends_cleanly_or_says_it_was_cut() -> None:
    data = wire_frames.pack(wire.Progress("j", 1, 0.1)) + wire_frames.pack(wire.Cancelled("j"))
    stream = io.BytesIO(data)
    assert wire_frames.read_frame(stream.read) == wire.Progress("j", 1, 0.1)
    assert wire_frames.read_frame(stream.read) == wire.Cancelled("j")
    assert wire_frames.read_frame(stream.read) is None
    cut = wire_frames.pack(wire.Result("j", np.zeros((1, 1, 100), np.float32), 32000, 1, 0.1))[:-10]
    with pytest.raises(EOFError):
        wire_frames.read_frame(io.BytesIO(cut).read)


def frame(header: object, tail: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + tail


@pytest.mark.parametrize("data", [
    pickle.dumps(("progress", "j", 1, 0.5)),  # a pickle is not a frame
    frame({"v": ["progress", "j", 1, 0.5, "extra", "extra"]}),  # wrong arity
    frame({"v": ["os.system", "echo"]}),  # not a declared message
    frame({"v": ["result", "j", {"$nd": 0}, 32000, 1, 0.1], "nd": [{"dtype": "|O", "shape": [1]}]}),  # objects
    frame({"v": ["result", "j", {"$nd": 3}, 32000, 1, 0.1], "nd": []}),  # a dangling array reference
    frame({"v": ["cancelled", "j"]}, b"stray"),
    b"\x00\x00\x00\x05nope!",
], ids=["pickle", "arity", "undeclared", "object-dtype", "dangling", "stray-bytes", "not-json"])
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises((BadArguments, TooLarge, EOFError)):
        wire_frames.unpack(data)


def test_sizes_are_bounded_before_allocating() -> None:
    with pytest.raises(TooLarge):
        wire_frames.unpack(struct.pack(">I", wire_frames.MAX_HEADER_BYTES + 1))
    huge = frame({"v": ["cancelled", "j"], "nd": [{"dtype": "<f4", "shape": [1 << 20, 1 << 20]}]})
    with pytest.raises(TooLarge):
        wire_frames.unpack(huge)


def test_only_numeric_arrays_travel() -> None:
    with pytest.raises(BadArguments):
        wire_frames.pack(wire.Result("j", np.array([object()]), 32000, 1, 0.1))


@pytest.mark.parametrize("depth", [40, 200_000])
def test_a_deeply_nested_header_is_a_coded_error(depth: int) -> None:
    """Issue 24: a frame whose header nests lists thousands deep reached RecursionError (the engine's HTTP 500)."""
    header = json.dumps({"v": None}).replace("null", "[" * depth + "]" * depth).encode()
    if len(header) > wire_frames.MAX_HEADER_BYTES:
        header = ("{\"v\":" + "[" * 400_000).encode()[: wire_frames.MAX_HEADER_BYTES]  # cut: still too deep first
    frame = struct.pack(">I", len(header)) + header
    with pytest.raises(BadArguments):
        wire_frames.unpack(frame)
