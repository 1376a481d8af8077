"""Loops and long clips on the bridge side: exact lengths, seamless wraps, chords over the clip, the cap.

The engine's part (windows, circular decoding) is tested in tests/engine/test_timeline.py; here
the engine's output is synthesised with the length the engine returns: one period of
``ceil(seconds * 50)`` latent frames (640 samples each at 32 kHz) for a loop or a clip longer
than the window, the 10 s window otherwise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge import clips, dsp, sidecar
from bridge.engine_input import render_item
from bridge.session import Session, fill_loop
from core import params as P
from core.errors import OutputError, TooLarge
from core.requests import ChordEvent, RenderParams, RenderRequest

SR = 32000
HOP = 640  # samples per latent frame at 32 kHz (50 Hz)


def _engine_audio(seconds: float, loop: bool, seed: int = 0) -> np.ndarray:
    """What the engine returns for a clip of ``seconds``: a periodic signal of one period for a loop."""
    clip = math.ceil(seconds * 50 - 1e-6)
    frames = clip if loop or clip > 500 else 500
    n = frames * HOP
    k = np.arange(n) / n  # whole cycles per period: the signal is periodic over the period
    rng = np.random.default_rng(seed)
    x = sum(rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * (c * k + rng.uniform())) for c in (37, 101, 263, 911))
    return x.astype(np.float32)[None, :]


def _request(bars: int, bpm: float, ts: tuple[int, int], **params: object) -> RenderRequest:
    return RenderRequest(prompt="p", bpm=bpm, time_signature=ts, model="fake",
                         params=RenderParams(bars=bars, seed=1, **params))  # type: ignore[arg-type]


def _wrap_ratio(x: np.ndarray) -> float:
    """The step from the last sample to the first against the median step inside the clip."""
    x = np.asarray(x, np.float64).reshape(-1)
    return float(abs(x[0] - x[-1]) / np.median(np.abs(np.diff(x))))


def test_loop_is_the_table_default_and_bars_zero_is_the_window() -> None:
    assert P.param("loop").default is True and P.param("bars").default == 0
    req = RenderRequest(params=RenderParams(seed=1))
    assert not req.is_loop and req.clip_seconds == 0.0  # the default: today's 10 s window, never a loop
    item, _ = render_item(req)
    assert (item.seconds, item.loop) == (0.0, False)
    item, _ = render_item(_request(8, 90.0, (4, 4), hop=4))
    assert item.seconds == pytest.approx(8 * 4 * 60 / 90) and item.loop is True
    assert (item.hop_beats, item.beat_seconds) == (4, pytest.approx(60 / 90))


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
@pytest.mark.parametrize("ts", [(3, 4), (4, 4)])
@pytest.mark.parametrize("bars", [1, 4, 8, 16])
@pytest.mark.parametrize("loop", [True, False])
def test_clip_is_sample_exact_for_bars_tempo_and_meter(tmp_path: Path, bpm: float, ts: tuple[int, int],
                                                       bars: int, loop: bool) -> None:
    seconds = bars * ts[0] * 60.0 / bpm  # quarter-note beats
    rate = 48000
    expected = round(seconds * rate)
    req = _request(bars, bpm, ts, loop=loop, sample_rate=rate, normalize="none")
    clip = clips.write_clip(_engine_audio(seconds, loop), SR, req, tmp_path)
    info = sf.info(str(clip.path))
    assert info.frames == expected == clip.samples
    side = json.loads(clip.sidecar_path.read_text())
    assert side["loop"] is loop and side["samples"] == expected
    assert side["seconds"] == pytest.approx(seconds, abs=0.5 / rate)
    data, _ = sf.read(clip.path, dtype="float32")
    if loop:  # no fade: the last sample flows into the first
        assert side["fade_ms"] == 0.0 and side["trim"]["loop"] is True
        assert abs(data[-1]) > 0 and _wrap_ratio(data) < 3.0
    else:
        assert data[-1] == 0.0 and side["fade_ms"] == dsp.FADE_MS


def test_eight_bars_at_90_and_sixteen_at_120_are_21333_and_32000_ms(tmp_path: Path) -> None:
    for bars, bpm, samples in ((8, 90.0, 1_024_000), (16, 120.0, 1_536_000)):
        req = _request(bars, bpm, (4, 4), sample_rate=48000)
        clip = clips.write_clip(_engine_audio(bars * 4 * 60 / bpm, True), SR, req, tmp_path)
        assert clip.samples == samples
    assert 1_024_000 / 48000 == pytest.approx(21.3333333)


def test_loop_wrap_is_as_smooth_as_the_inside_and_a_cut_clip_is_not(tmp_path: Path) -> None:
    """The seam measure of bench/longform.py on a periodic signal: looped vs cut-and-faded."""
    seconds = 4 * 4 * 60 / 90  # 10.667 s: longer than a window, 533.33 frames
    looped = dsp.process_audio(_engine_audio(seconds, True), SR, _request(4, 90.0, (4, 4), normalize="none"))
    cut = dsp.process_audio(_engine_audio(seconds, False), SR, _request(4, 90.0, (4, 4), loop=False, normalize="none"))
    assert looped.samples == cut.samples == 512000
    assert _wrap_ratio(looped.audio) < 3.0
    assert _wrap_ratio(cut.audio) > 10 * _wrap_ratio(looped.audio)


def test_periodic_resampling_keeps_a_period_a_period() -> None:
    n, m = 682_880, 1_024_000  # 1067 frames at 32 kHz -> 8 bars at 90 bpm at 48 kHz
    k = np.arange(n) / n
    x = np.sin(2 * np.pi * 50 * k)[None, :]
    y = dsp.periodic_resample(x, m)
    assert y.shape == (1, m)
    want = np.sin(2 * np.pi * 50 * np.arange(m) / m)
    assert np.abs(y[0] - want).max() < 1e-5


def test_a_loop_period_of_the_wrong_length_is_an_error() -> None:
    req = _request(8, 90.0, (4, 4))
    with pytest.raises(OutputError, match="loop period"):
        dsp.process_audio(_engine_audio(10.0, False), SR, req)  # the 10 s window, not the 21.333 s loop


def test_clip_longer_than_the_cap_is_refused_with_a_code() -> None:
    with pytest.raises(TooLarge, match="longest clip is 180 s") as err:
        _request(128, 60.0, (4, 4))  # 512 s
    assert err.value.code == "too_large" and "at most 45 bars" in str(err.value)
    assert _request(90, 120.0, (4, 4)).clip_seconds == 180.0  # exactly the cap is fine
    assert P.param("bars").hi == 128


# --- chords over the clip ---------------------------------------------------------------------------
def _events(items: list[tuple[str, float]], spb: float = 0.5) -> tuple[ChordEvent, ...]:
    return tuple(ChordEvent(label, label, beat, beat * spb) for label, beat in items)


def test_a_shorter_progression_repeats_to_fill_the_loop() -> None:
    chords, notes = fill_loop(_events([("C", 0), ("A:min", 4), ("F", 8), ("G", 12)]), bars=8, beats_per_bar=4,
                              seconds_per_beat=0.5)
    assert [(c.label, c.start_beat) for c in chords] == [
        ("C", 0), ("A:min", 4), ("F", 8), ("G", 12), ("C", 16), ("A:min", 20), ("F", 24), ("G", 28)]
    assert chords[4].start_seconds == 8.0
    assert notes == ("the 4-bar progression plays 2 times to fill the 8-bar loop",)


def test_the_progression_length_divides_the_loop() -> None:
    chords, _ = fill_loop(_events([("C", 0), ("G", 8)]), bars=8, beats_per_bar=4, seconds_per_beat=0.5)
    assert [c.start_beat for c in chords] == [0, 8, 16, 24]  # 3 bars used -> a 4-bar progression
    chords, notes = fill_loop(_events([("C", 0), ("G", 3)]), bars=4, beats_per_bar=3, seconds_per_beat=0.5)
    assert [c.start_beat for c in chords] == [0, 3, 6, 9]  # 3/4: a 2-bar progression twice
    chords, notes = fill_loop(_events([("C", 0), ("G", 16)]), bars=7, beats_per_bar=4, seconds_per_beat=0.5)
    assert [c.start_beat for c in chords] == [0, 16] and notes == ()  # no divisor of 7 bars: it plays once


def test_a_loop_region_sets_the_period_and_late_chords_are_reported() -> None:
    chords, notes = fill_loop(_events([("C", 0), ("F", 2)]), bars=2, beats_per_bar=4, seconds_per_beat=0.5,
                              period=3.0)
    assert [c.start_beat for c in chords] == [0, 2, 3, 5, 6]
    chords, notes = fill_loop(_events([("C", 0), ("F", 20)]), bars=4, beats_per_bar=4, seconds_per_beat=0.5)
    assert notes == ("1 chord(s) start after the 4-bar loop ends and are not heard",)


def test_session_builds_chords_and_melody_over_the_whole_loop() -> None:
    s = Session(("127.0.0.1", 9))
    s.set_tempo(120.0, 4, 4)
    s.chords = ()
    s.params = RenderParams(bars=16, seed=2)
    s.add_notes(s.melody, [(72, 60.0, 2.0, 100)], "melody")  # beat 60 = 30 s: past the window, inside the loop
    from bridge.session import TypedChord

    s.chords = (TypedChord("C", "C", 0.0, True, ""), TypedChord("G", "G", 8.0, True, ""))
    req, notes = s.build(vocab=None, default_model="tiny")
    assert [c.start_beat for c in req.chords] == [0, 8, 16, 24, 32, 40, 48, 56]
    assert notes and "plays 4 times" in notes[0]
    assert len(req.melody_frames) == 1600 and req.melody_frames[1500] == 72 and req.melody_frames[1499] == 0
    s.params = RenderParams(bars=16, seed=2, loop=False)  # a one-shot phrase: chords as given, no repetition
    req, notes = s.build(vocab=None, default_model="tiny")
    assert [c.start_beat for c in req.chords] == [0, 8] and notes == ()
    s.params, s.melody = RenderParams(bars=2, seed=2, loop=False), []
    req, notes = s.build(vocab=None, default_model="tiny")
    assert notes == ("1 chord(s) start after the 2-bar clip ends and are not heard",)


def test_sidecar_rerenders_a_loop_exactly(tmp_path: Path) -> None:
    req = _request(4, 90.0, (3, 4), hop=6, sample_rate=44100)
    timeline = {"frames": 400, "window": 500, "hop": 267, "loop": True, "windows": 2, "offsets": [0, 267]}
    clip = clips.write_clip(_engine_audio(8.0, True), SR, req, tmp_path, timeline=timeline)
    side = sidecar.load_sidecar(clip.sidecar_path)
    assert side["timeline"] == timeline and side["loop"] is True and side["hop"] == 6
    again = sidecar.request_from_sidecar(side)
    assert again == req and again.params.loop and again.params.hop == 6


def test_timeline_fields_cross_the_engine_wire() -> None:
    from core import wire

    item, _ = render_item(_request(16, 120.0, (4, 4), hop=8))
    render = wire.decode(wire.encode(wire.Render("j", (item,), {"seed": 1})))
    assert render.items[0].seconds == 32.0 and render.items[0].loop is True and render.items[0].hop_beats == 8
    timeline = {"frames": 1600, "windows": 8, "offsets": [0, 200], "loop": True}
    result = wire.decode(wire.encode(wire.Result("j", np.zeros((1, 1, 4), np.float32), 32000, 8, 0.1, None,
                                                 timeline)))
    assert result.timeline == timeline
    old = wire.decode(("result", "j", np.zeros((1, 1, 4), np.float32), 32000, 8, 0.1))  # an engine without it
    assert old.timeline is None
