"""The thread ``jasco-drums``: checks, reads and hashes the drum files clients choose.

``/jasco/drums`` never touches the file on the OSC thread (a FIFO, a slow disk or a
huge file must not hold up a ping): the OSC thread only records the choice and
queues it here. This thread opens the file once (``bridge.audio.read_audio``:
non-blocking open, ``fstat`` of that descriptor, only regular files), decodes it
and hashes it, then reports ``(check, audio, None)`` or ``(check, None, error)``
to ``on_checked`` (the server stores the sha256 in the session and answers
``/jasco/drums/loaded``, or returns the session to its last good loop and answers
``/jasco/error``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from bridge.engine_input import drum_region
from bridge.audio import AudioData, read_audio
from bridge.backlog import Backlog
from core.errors import JascoError

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_DRUM_CHECKS = 16  # drum files waiting for their check; more answer queue_full
DRUMS_THREAD = "jasco-drums"


@dataclass(frozen=True)
class DrumCheck:
    """One ``/jasco/drums``: the file is checked, read and hashed off the OSC thread."""

    client: Address  # the session's key, which is also where its replies go
    path: str
    token: int
    epoch: int
    region: tuple[float, float] | None = None  # seconds of the file (an Arrangement clip's markers)


class DrumChecker:
    def __init__(self, on_checked: Callable[[DrumCheck, AudioData | None, JascoError | None], None],
                 max_pending: int = MAX_DRUM_CHECKS) -> None:
        self._on_checked = on_checked
        self._backlog: Backlog[DrumCheck] = Backlog(
            DRUMS_THREAD, self._check, max_pending=max_pending,
            full_message=f"{max_pending} drum files are already being checked; send /jasco/drums again in a moment")

    def start(self) -> None:
        self._backlog.start()

    def stop(self, timeout: float) -> None:
        self._backlog.stop(timeout)

    def submit(self, check: DrumCheck) -> None:
        self._backlog.submit(check)

    def _check(self, check: DrumCheck) -> None:
        try:
            audio = read_audio(check.path)
            if check.region is not None:
                drum_region(audio.samples, audio.sample_rate, check.region, check.path)
        except Exception as err:  # noqa: BLE001 - a decoder surprise is still a coded answer
            if not isinstance(err, JascoError):
                log.exception("reading drum file %r failed", check.path)
            failure = err if isinstance(err, JascoError) else JascoError(
                f"internal error reading {check.path!r}: {type(err).__name__}: {err}")
            self._on_checked(check, None, failure)
            return
        self._on_checked(check, audio, None)
