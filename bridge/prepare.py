"""The thread ``jasco-prepare``: turns frozen sessions into render requests and submits them.

A ``/jasco/generate`` freezes its session in constant time on the OSC thread and
queues it here (``MAX_PENDING_GENERATES`` at most; more answer ``queue_full`` at
once). This thread resolves the chord vocabulary, recognises chords from notes and
turns the melody into frames (both cached per session, ``bridge.session``), then
submits the request to the render worker, whose listener answers the client
(``/jasco/queued`` and so on, or ``/jasco/error`` when the request cannot be built).
So a bundle of generates over a 20,000-note session costs the OSC thread nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from bridge.backlog import Backlog
from bridge.session import SessionSnapshot

log = logging.getLogger(__name__)

Address = tuple[str, int]
PREPARE_THREAD = "jasco-prepare"
MAX_PENDING_GENERATES = 32


@dataclass(frozen=True)
class PendingGenerate:
    snapshot: SessionSnapshot
    reply_to: Address  # the owner: the session's key, where its replies go
    tag: str


class RequestPreparer:
    def __init__(self, prepare: Callable[[PendingGenerate], None], on_dropped: Callable[[PendingGenerate], None],
                 max_pending: int = MAX_PENDING_GENERATES) -> None:
        self._on_dropped = on_dropped
        self._backlog: Backlog[PendingGenerate] = Backlog(
            PREPARE_THREAD, prepare, max_pending=max_pending,
            full_message=f"{max_pending} generates are already waiting to be queued; try again in a moment")

    def start(self) -> None:
        self._backlog.start()

    def stop(self, timeout: float) -> None:
        for item in self._backlog.stop(timeout):
            self._on_dropped(item)

    def submit(self, item: PendingGenerate) -> None:
        self._backlog.submit(item)
