"""bridge.audio.read_audio: every readable format, and a coded error for everything else."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.audio import probe_audio, read_audio, supported_extensions
from core.errors import BadAudio, NotFound, TooLarge, UnsupportedFormat


def _loop(seconds: float = 2.0, sr: int = 44100, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-((t * 2) % 1.0) * 20)
    return np.stack([0.5 * kick * (0.8 + 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype", "tol"),
    [("wav", "WAV", "PCM_16", 1e-4), ("wav", "WAV", "FLOAT", 0.0), ("flac", "FLAC", "PCM_24", 1e-6),
     ("aiff", "AIFF", "PCM_16", 1e-4), ("ogg", "OGG", "VORBIS", None)],
)
def test_reads_formats_as_channels_first_float32(tmp_path: Path, ext: str, fmt: str, subtype: str,
                                                 tol: float | None) -> None:
    data = _loop()
    path = tmp_path / f"loop.{ext}"
    sf.write(path, data, 44100, format=fmt, subtype=subtype)
    audio = read_audio(path)
    assert audio.samples.dtype == np.float32 and audio.samples.shape[0] == 2
    assert audio.sample_rate == 44100 and audio.format == fmt
    assert audio.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    if tol is not None:
        assert audio.samples.shape[1] == data.shape[0]
        assert np.abs(audio.samples - data.T).max() <= tol
    else:  # lossy: same length give or take a frame, similar energy
        assert abs(audio.samples.shape[1] - data.shape[0]) < 2048
        assert np.std(audio.samples) == pytest.approx(np.std(data), rel=0.1)


def test_reads_mp3_when_libsndfile_has_it(tmp_path: Path) -> None:
    if ".mp3" not in supported_extensions():
        pytest.skip("this libsndfile has no MP3 support")
    path = tmp_path / "loop.mp3"
    sf.write(path, _loop(channels=1), 44100, format="MP3", subtype="MPEG_LAYER_III")
    audio = read_audio(path)
    assert audio.samples.shape[0] == 1 and audio.sample_rate == 44100 and audio.seconds > 1.5


def test_mono_file_is_one_channel(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, _loop(channels=1)[:, 0], 32000)
    audio = read_audio(path)
    assert audio.samples.shape == (1, 88200) and audio.sample_rate == 32000  # rate as stored, no resampling


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        read_audio(tmp_path / "nope.wav")
    assert err.value.code == "not_found" and "nope.wav" in str(err.value)


def test_empty_and_corrupt_files_are_bad_audio(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(BadAudio, match="empty"):
        read_audio(empty)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(np.random.default_rng(1).bytes(5000))
    with pytest.raises(BadAudio):
        read_audio(garbage)
    # A valid header cut short: RIFF says 1 s of audio, the file holds a few samples.
    good = tmp_path / "good.wav"
    sf.write(good, _loop(seconds=1.0), 44100, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:50])
    with pytest.raises(BadAudio):
        read_audio(truncated)
    with pytest.raises(BadAudio, match="not a file"):
        read_audio(tmp_path)


def test_header_only_wav_has_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 2), np.float32), 44100, subtype="PCM_16")
    with pytest.raises(BadAudio):
        read_audio(path)


def test_non_finite_samples_are_bad_audio(tmp_path: Path) -> None:
    data = _loop(seconds=0.5)
    data[100, 0] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, data, 44100, subtype="FLOAT")
    with pytest.raises(BadAudio, match="NaN"):
        read_audio(path)


def test_other_file_types_are_unsupported(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n" * 100)
    with pytest.raises(UnsupportedFormat) as err:
        read_audio(text)
    assert err.value.code == "unsupported_format"
    midi = tmp_path / "drums.mid"
    midi.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", 4) + b"\x00\xff\x2f\x00")
    with pytest.raises(UnsupportedFormat):
        read_audio(midi)


def test_too_long_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros((8000 * 61, 1), np.float32), 8000, subtype="PCM_16")
    with pytest.raises(TooLarge) as err:
        read_audio(path)
    assert err.value.code == "too_large" and "60" in str(err.value)
    assert read_audio(path, max_seconds=120).seconds == pytest.approx(61.0)


def test_probe_checks_the_header_without_decoding(tmp_path: Path) -> None:
    good = tmp_path / "loop.flac"
    sf.write(good, _loop(), 44100, format="FLAC")
    info = probe_audio(good)
    assert (info.path, info.sample_rate, info.channels, info.frames, info.format) == (str(good), 44100, 2, 88200, "FLAC")
    assert info.seconds == pytest.approx(2.0)
    # what the header shows is refused with the same codes as read_audio ...
    wav = tmp_path / "loop.wav"
    sf.write(wav, _loop(), 44100, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(wav.read_bytes()[:3000])
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros((8000 * 61, 1), np.float32), 8000, subtype="PCM_16")
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n" * 100)
    for path, error, words in [(truncated, BadAudio, "truncated"), (long, TooLarge, "60 s"),
                               (text, UnsupportedFormat, ".txt"), (tmp_path / "none.wav", NotFound, "does not exist"),
                               (tmp_path, BadAudio, "not a file")]:
        with pytest.raises(error, match=words):
            probe_audio(path)
        with pytest.raises(error, match=words):
            read_audio(path)
    # ... and what only the samples show is left to read_audio
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full((8000, 1), np.nan, np.float32), 8000, subtype="FLOAT")
    assert probe_audio(nan).frames == 8000
    with pytest.raises(BadAudio, match="NaN"):
        read_audio(nan)


# --- issue 24.3: the work a file causes is bounded from its header, before decoding ------------------------------
def test_a_sample_rate_beyond_any_interface_is_refused_from_the_header(tmp_path: Path) -> None:
    """The attack: a small FLAC of silence at 655,350 Hz (FLAC's highest rate), 8 channels, 60 s, decoded to
    2.5 GB. The rate alone is refused here, from the header, before a sample is decoded."""
    from bridge.audio import MAX_SAMPLE_RATE

    path = tmp_path / "fast.flac"
    sf.write(path, np.zeros((65535, 2), np.float32), 655350, format="FLAC")
    for check in (probe_audio, read_audio):
        with pytest.raises(TooLarge, match="sample rate of 655350 Hz"):
            check(path)
    assert MAX_SAMPLE_RATE >= 384000  # DXD recordings still read


def test_the_decoded_size_is_bounded_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rate x channels x seconds from the header, before decoding; the message names what to lower."""
    import bridge.audio as audio

    path = tmp_path / "wide.wav"
    sf.write(path, np.zeros((48000, 8), np.float32), 48000)  # 384,000 samples decoded
    monkeypatch.setattr(audio, "MAX_DECODED_SAMPLES", 300_000)
    decoded: list[int] = []
    monkeypatch.setattr(audio, "_decode", lambda *a: decoded.append(1))  # never reached
    with pytest.raises(TooLarge, match="fewer channels, a lower sample rate or a shorter loop"):
        audio.read_audio(path)
    assert decoded == []
    monkeypatch.undo()
    assert audio.read_audio(path).samples.shape == (8, 48000)


def test_a_file_is_decoded_once_into_the_array_kept(tmp_path: Path) -> None:
    """Peak memory of a read is the decoded [C, S] array plus one block, not the array twice (plus a mask)."""
    import tracemalloc

    path = tmp_path / "loop.wav"
    frames = 48000 * 10
    sf.write(path, np.zeros((frames, 4), np.float32), 48000)  # 7.7 MB decoded
    tracemalloc.start()
    try:
        audio = read_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    decoded = audio.samples.nbytes
    assert audio.samples.shape == (4, frames) and audio.samples.flags.c_contiguous
    assert peak < 1.25 * decoded, (peak, decoded)
