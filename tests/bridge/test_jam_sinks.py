"""The PortAudio sink's parts that need no sound card: the stream-time clock (PortAudio's
``outputBufferDacTime`` on the monotonic clock, lower envelope of the callback offset) and the rate adapter
(soxr stream from the model's 32 kHz to a device's 44.1 kHz, each source block asked for at the time it sounds).
"""

from __future__ import annotations

import numpy as np

from bridge.jam.sinks import RateAdapter, StreamClock, device_rate

T0 = 500.0
F = 441.0


def tone(rate: int):  # type: ignore[no-untyped-def]
    """A fill whose samples depend only on when they sound: a sine of the monotonic time since T0."""
    asked: list[tuple[int, float]] = []

    def fill(n: int, at: float) -> np.ndarray:
        asked.append((n, at))
        return np.sin(2 * np.pi * F * (at - T0 + np.arange(n) / rate)).astype(np.float32)

    return fill, asked


def test_resampled_blocks_sound_when_the_player_was_told() -> None:
    fill, asked = tone(32000)
    adapter = RateAdapter(fill, 32000, 44100, block=512)
    frames, out, times = 441, [], []
    for k in range(200):  # 2 s of 441-frame callbacks at 44.1 kHz
        dac = T0 + k * frames / 44100
        out.append(adapter.pull(frames, dac))
        times.append(dac + np.arange(frames) / 44100)
    got, t = np.concatenate(out), np.concatenate(times)
    want = np.sin(2 * np.pi * F * (t - T0))
    assert len(got) == 200 * frames
    assert np.abs(got[441:] - want[441:]).max() < 1e-3  # after soxr's first 10 ms
    steps = np.diff([a for _, a in asked])
    assert np.allclose(steps, 512 / 32000)  # source blocks back to back on the song's time


def test_same_rate_is_passed_through() -> None:
    fill, asked = tone(32000)
    adapter = RateAdapter(fill, 32000, 32000)
    block = adapter.pull(300, T0 + 1.0)
    assert asked == [(300, T0 + 1.0)] and len(block) == 300


def test_stream_clock_keeps_the_least_delayed_offset() -> None:
    rng = np.random.default_rng(3)
    clock = StreamClock(48000, 0.01)
    period, base = 256 / 48000, 1000.0  # monotonic = stream time + base, callbacks woken 0..5 ms late
    late = rng.uniform(0.0, 0.005, 100)
    late[10] = 0.0
    errors = []
    for k in range(100):
        current = 3.0 + k * period
        dac = current + 0.012
        errors.append(clock.dac_time(dac, current, current + base + late[k], 256) - (dac + base))
    assert all(0.0 <= e <= 0.005 + 1e-12 for e in errors[:10])
    assert max(abs(e) for e in errors[10:]) < 1e-9  # exact from the first punctual callback on


def test_stream_clock_without_stream_times_counts_samples() -> None:
    clock = StreamClock(48000, 0.01)
    assert clock.dac_time(0.0, 0.0, 50.0, 480) == 50.01
    assert abs(clock.dac_time(0.0, 0.0, 50.3, 480) - 50.02) < 1e-12  # late wake-ups do not move it


class Output:
    """PortAudio's answers for one output device that takes only its own rate (what check_output_settings and
    query_devices return or raise for such a device)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def check_output_settings(self, *, device, samplerate, channels, dtype):  # type: ignore[no-untyped-def]
        if samplerate != self.rate:
            raise ValueError("Invalid sample rate")  # sounddevice raises PortAudioError or ValueError here

    def query_devices(self, device, kind):  # type: ignore[no-untyped-def]
        return {"name": "hw", "default_samplerate": float(self.rate)}


def test_the_model_rate_when_the_device_takes_it_else_its_default() -> None:
    assert device_rate(Output(32000), None, 32000) == 32000
    assert device_rate(Output(44100), None, 32000) == 44100
