"""Where the jam's audio goes. Both sinks pull blocks from :meth:`PhrasePlayer.fill` stamped with the
monotonic time at which their first sample *sounds*, so the player places boundaries the same way:

- :class:`SoundDeviceSink`: PortAudio through sounddevice. The callback's ``outputBufferDacTime``
  (PortAudio's time when the buffer reaches the DAC) minus ``currentTime`` is added to now, so the
  output latency is compensated.
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


class SoundDeviceSink:
    def __init__(self, device: str | int | None, sample_rate: int, fill: Fill, *, block: int = 512) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise EnvironmentProblem(f"audio output needs sounddevice and PortAudio ({exc})") from exc
        self._fill = fill
        self.sample_rate = int(sample_rate)
        try:
            self._stream = sounddevice.OutputStream(samplerate=self.sample_rate, channels=1, dtype="float32",
                                                    blocksize=block, device=device or None, latency="low",
                                                    callback=self._callback)
        except Exception as exc:  # PortAudioError, bad device names
            raise EnvironmentProblem(f"cannot open the audio output {device or '(default)'}: {exc}") from exc
        log.info("jam audio: %s, output latency %.1f ms", self._stream.device, 1000 * self._stream.latency)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            log.warning("audio output: %s", status)
        dac = time.monotonic() + max(0.0, time_info.outputBufferDacTime - time_info.currentTime)
        outdata[:, 0] = self._fill(frames, dac)

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
