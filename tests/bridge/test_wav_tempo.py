"""Tempo chunks in the WAV clips the bridge writes, read back by a second reader: libsndfile.

libsndfile parses the ACID chunk into ``SF_LOOP_INFO`` (``sf_command(SFC_GET_LOOP_INFO)``)
and the ``smpl`` chunk into ``SF_INSTRUMENT`` (``SFC_GET_INSTRUMENT``); see its API
documentation, http://libsndfile.github.io/libsndfile/command.html (SFC_GET_LOOP_INFO,
SFC_GET_INSTRUMENT). It is called here through ctypes, so none of the writer's code
(bridge/wav_tempo.py) reads what it wrote. Layouts cited in bridge/wav_tempo.py.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.clips import write_clip
from bridge.encoding import encode
from bridge.wav_tempo import WavTempo
from core.params import RenderParams
from core.requests import RenderRequest

SFM_READ = 0x10
SFC_GET_INSTRUMENT = 0x10D0
SFC_GET_LOOP_INFO = 0x10E0
SF_LOOP_NONE, SF_LOOP_FORWARD = 800, 801


class SF_INFO(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


class SF_LOOP_INFO(ctypes.Structure):
    _fields_ = [("time_sig_num", ctypes.c_short), ("time_sig_den", ctypes.c_short), ("loop_mode", ctypes.c_int),
                ("num_beats", ctypes.c_int), ("bpm", ctypes.c_float), ("root_key", ctypes.c_int),
                ("future", ctypes.c_int * 6)]


class _Loop(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("start", ctypes.c_uint32), ("end", ctypes.c_uint32),
                ("count", ctypes.c_uint32)]


class SF_INSTRUMENT(ctypes.Structure):
    _fields_ = [("gain", ctypes.c_int), ("basenote", ctypes.c_char), ("detune", ctypes.c_char),
                ("velocity_lo", ctypes.c_char), ("velocity_hi", ctypes.c_char), ("key_lo", ctypes.c_char),
                ("key_hi", ctypes.c_char), ("loop_count", ctypes.c_int), ("loops", _Loop * 16)]


@pytest.fixture(scope="module")
def libsndfile() -> ctypes.CDLL:
    name = ctypes.util.find_library("sndfile")
    if name is None:
        pytest.skip("the system's libsndfile is not installed (the second reader of the tempo chunks)")
    lib = ctypes.CDLL(name)
    lib.sf_open.restype = ctypes.c_void_p
    lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(SF_INFO)]
    lib.sf_command.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    lib.sf_close.argtypes = [ctypes.c_void_p]
    return lib


def read_chunks(lib: ctypes.CDLL, path: Path) -> tuple[SF_LOOP_INFO | None, SF_INSTRUMENT | None, int]:
    info = SF_INFO()
    handle = lib.sf_open(str(path).encode(), SFM_READ, ctypes.byref(info))
    assert handle, f"libsndfile cannot open {path}"
    try:
        loop, inst = SF_LOOP_INFO(), SF_INSTRUMENT()
        has_loop = lib.sf_command(handle, SFC_GET_LOOP_INFO, ctypes.byref(loop), ctypes.sizeof(loop)) == 1
        has_inst = lib.sf_command(handle, SFC_GET_INSTRUMENT, ctypes.byref(inst), ctypes.sizeof(inst)) == 1
        return (loop if has_loop else None), (inst if has_inst else None), int(info.frames)
    finally:
        lib.sf_close(handle)


def _tone(seconds: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)]).astype(np.float32) * 0.3


def test_a_loop_carries_tempo_beats_and_a_smpl_loop(libsndfile: ctypes.CDLL, tmp_path: Path) -> None:
    """3 bars of 4/4 at 96 bpm as a seamless loop: ACID tempo 96, 12 beats, looping; smpl loop over all frames."""
    seconds = 12 * 60 / 96
    path = tmp_path / "loop.wav"
    path.write_bytes(encode(_tone(seconds), 48000, "wav", 24, tempo=WavTempo(96.0, 4, 4, loop=True)))
    loop, inst, frames = read_chunks(libsndfile, path)
    assert loop is not None and inst is not None
    assert (loop.bpm, loop.num_beats, loop.loop_mode) == (96.0, 12, SF_LOOP_FORWARD)
    assert (loop.time_sig_num, loop.time_sig_den) == (4, 4)
    assert inst.loop_count == 1 and inst.loops[0].start == 0
    # smpl's end is the last sample played; libsndfile reports the index after it
    assert inst.loops[0].end in (frames - 1, frames)
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 48000 and audio.shape == (frames, 2)      # the audio is untouched by the extra chunks


def test_a_ten_second_window_is_a_one_shot_with_its_tempo(libsndfile: ctypes.CDLL, tmp_path: Path) -> None:
    """The model's 10 s window at 100 bpm is 16.67 beats: one-shot, tempo 100, no beat count, no smpl loop."""
    path = tmp_path / "window.wav"
    path.write_bytes(encode(_tone(10.0), 48000, "wav", 16, tempo=WavTempo(100.0, 3, 4, loop=False)))
    loop, inst, _ = read_chunks(libsndfile, path)
    assert loop is not None and inst is None
    assert (loop.bpm, loop.num_beats, loop.loop_mode) == (100.0, 0, SF_LOOP_NONE)
    assert (loop.time_sig_num, loop.time_sig_den) == (3, 4)


def test_write_clip_writes_the_tempo_of_the_request(libsndfile: ctypes.CDLL, tmp_path: Path) -> None:
    """What the bridge writes for a loop request (float WAV too): the request's tempo and bars."""
    request = RenderRequest(prompt="p", bpm=120.0, time_signature=(4, 4),
                            params=RenderParams(bars=2, loop=True, seed=3, normalize="none"))
    clip = write_clip(_tone(4.0, 32000), 32000, request, tmp_path)
    loop, inst, frames = read_chunks(libsndfile, Path(clip.path))
    assert loop is not None and (loop.bpm, loop.num_beats, loop.loop_mode) == (120.0, 8, SF_LOOP_FORWARD)
    assert inst is not None and inst.loop_count == 1
    assert sf.info(clip.path).subtype == "FLOAT"
