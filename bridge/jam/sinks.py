"""Where the jam's audio goes. Both sinks pull blocks from :meth:`PhrasePlayer.fill` stamped with the
monotonic time at which their first sample *sounds*, so the player places boundaries the same way:

- :class:`SoundDeviceSink`: PortAudio through sounddevice, at the model's rate when the device takes it,
  else at the device's default rate resampled with soxr (:class:`RateAdapter`). Blocks are stamped with
  PortAudio's ``outputBufferDacTime`` (when the buffer reaches the DAC, in the stream's time) mapped to the
  monotonic clock (:class:`StreamClock`), so the output latency is compensated.
- :class:`FileSink`: a WAV file written in real time by a thread that wakes ``lead`` seconds before
  each block is due (the stand-in for an output latency); sample ``i`` of the file sounds at
  ``start_time + i / sample_rate``. Used where no audio device is reachable (tests, CI, servers).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.errors import EnvironmentProblem

log = logging.getLogger(__name__)
Fill = Callable[[int, float], np.ndarray]


class FileSink:
    def __init__(self, path: Path, sample_rate: int, fill: Fill, *, block: int = 1024, lead: float = 0.05) -> None:
        import soundfile

        self.path, self.sample_rate, self.block, self.lead = Path(path), int(sample_rate), int(block), float(lead)
        self._fill = fill
        self._file = soundfile.SoundFile(str(self.path), "w", samplerate=self.sample_rate, channels=1,
                                         subtype="FLOAT")
        self._stop = threading.Event()
        self.start_time = 0.0
        self.frames = 0  # written so far: the file sounds until start_time + frames / sample_rate
        self._thread = threading.Thread(target=self._run, name="jasco-jam-file", daemon=True)

    def start(self) -> None:
        self.start_time = time.monotonic() + self.lead
        self._thread.start()

    def _run(self) -> None:
        k = 0
        try:
            while not self._stop.is_set():
                due = self.start_time + k * self.block / self.sample_rate
                wait = due - self.lead - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                self._file.write(self._fill(self.block, due))
                k += 1
                self.frames = k * self.block
        except Exception:  # the jam goes on; the recording says where it stopped
            log.exception("the file sink stopped")

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self._file.close()


class StreamClock:
    """PortAudio's stream time (``currentTime``, ``outputBufferDacTime``) on the monotonic clock.

    The offset ``monotonic - currentTime`` is measured at every callback; a callback that runs late (a busy
    machine, the GIL) only makes it larger, so the smallest one seen is kept (the lower envelope). The DAC time
    of a buffer is then PortAudio's own ``outputBufferDacTime`` plus that offset: consecutive buffers are as far
    apart as the stream says, whatever the callback's wake-up jitter. Some host APIs report no times (0): then
    the DAC time runs on the samples delivered from the first callback, plus the stream's stated latency.
    """

    def __init__(self, sample_rate: int, latency: float) -> None:
        self.sample_rate, self.latency = int(sample_rate), float(latency)
        self._offset: float | None = None
        self._origin: float | None = None  # (no stream times) monotonic time of the first sample
        self._frames = 0

    def dac_time(self, output_dac: float, current: float, now: float, frames: int) -> float:
        """The monotonic time at which the first sample of this callback's buffer sounds."""
        if output_dac <= 0.0 and current <= 0.0:
            if self._origin is None:
                self._origin = now + self.latency
            at = self._origin + self._frames / self.sample_rate
        else:
            offset = now - current
            if self._offset is None or offset < self._offset:
                self._offset = offset
            at = output_dac + self._offset
        self._frames += frames
        return at


class RateAdapter:
    """The player's blocks (at ``source_rate``) for a device at ``device_rate``: streamed through soxr, each
    source block asked for with the time its first sample sounds (device sample ``j`` of a callback sounds at
    its DAC time + ``j / device_rate``; soxr's stream keeps input and output aligned)."""

    def __init__(self, fill: Fill, source_rate: int, device_rate: int, *, block: int = 512) -> None:
        self._fill, self.source_rate, self.device_rate, self.block = fill, int(source_rate), int(device_rate), block
        self._resampler: Any = None
        if self.source_rate != self.device_rate:
            import soxr

            self._resampler = soxr.ResampleStream(self.source_rate, self.device_rate, 1, dtype="float32")
        self._fifo = np.zeros(0, np.float32)
        self._pulled = 0  # source samples asked for
        self._written = 0  # device samples handed out

    def pull(self, frames: int, dac_time: float) -> np.ndarray:
        if self._resampler is None:
            return self._fill(frames, dac_time)
        parts = [self._fifo]
        have = len(self._fifo)
        while have < frames:
            # time of source sample ``pulled`` = time of device sample ``written`` + the difference in seconds
            at = dac_time + self._pulled / self.source_rate - self._written / self.device_rate
            out = self._resampler.resample_chunk(np.asarray(self._fill(self.block, at), np.float32))
            self._pulled += self.block
            parts.append(out)
            have += len(out)
        buf = np.concatenate(parts)
        self._fifo = buf[frames:]
        self._written += frames
        return buf[:frames]


def device_rate(sounddevice: Any, device: str | int | None, wanted: int) -> int:
    """``wanted`` when the output takes it as it is, else the device's default rate (resampled to)."""
    try:
        sounddevice.check_output_settings(device=device, samplerate=wanted, channels=1, dtype="float32")
        return int(wanted)
    except Exception:  # PortAudioError: rate not supported
        info = sounddevice.query_devices(device, "output")
        return int(round(float(info["default_samplerate"])))


class SoundDeviceSink:
    """PortAudio through sounddevice: at the model's rate when the output takes it, else at the device's
    default rate through :class:`RateAdapter`; boundaries scheduled on the stream's time (:class:`StreamClock`)."""

    def __init__(self, device: str | int | None, sample_rate: int, fill: Fill, *, block: int = 512) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise EnvironmentProblem(f"audio output needs sounddevice and PortAudio ({exc})") from exc
        self.sample_rate = int(sample_rate)
        try:
            rate = device_rate(sounddevice, device or None, self.sample_rate)
            self._stream = sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32",
                                                    blocksize=block, device=device or None, latency="low",
                                                    callback=self._callback)
        except Exception as exc:  # PortAudioError, bad device names
            raise EnvironmentProblem(f"cannot open the audio output {device or '(default)'}: {exc}") from exc
        self.device_rate = rate
        self._adapter = RateAdapter(fill, self.sample_rate, rate, block=block)
        self._clock = StreamClock(rate, self._stream.latency)
        log.info("jam audio: %s at %d Hz%s, output latency %.1f ms", self._stream.device, rate,
                 "" if rate == self.sample_rate else f" (resampled from {self.sample_rate} Hz)",
                 1000 * self._stream.latency)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            log.warning("audio output: %s", status)
        dac = self._clock.dac_time(time_info.outputBufferDacTime, time_info.currentTime, time.monotonic(), frames)
        outdata[:, 0] = self._adapter.pull(frames, dac)

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
