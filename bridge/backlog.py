"""A bounded queue served by one named thread: work that must not run on the OSC thread.

The OSC thread only puts an item on the queue (``submit``: ``QueueFull`` when
``max_pending`` wait already); the thread hands each item to ``handle``, one at a
time, each inside its own try/except so one failure never stops the thread.
Used for drum file checks (``bridge.drum_check``) and for turning a session into
a render request (``bridge.prepare``).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Generic, TypeVar

from core.errors import QueueFull

log = logging.getLogger(__name__)

T = TypeVar("T")


class Backlog(Generic[T]):
    def __init__(self, name: str, handle: Callable[[T], None], *, max_pending: int, full_message: str) -> None:
        self.name = name
        self.max_pending = max_pending
        self._handle = handle
        self._full_message = full_message
        self._queue: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> list[T]:
        """Stop the thread; returns the items still waiting (dropped, for the caller to answer)."""
        thread, self._thread = self._thread, None
        dropped: list[T] = []
        if thread is None:
            return dropped
        while True:  # make room for the sentinel: items still waiting are dropped
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    continue
                if item is not None:
                    dropped.append(item[0])
        thread.join(timeout)
        return dropped

    def submit(self, item: T) -> None:
        try:
            self._queue.put_nowait((item,))
        except queue.Full:
            raise QueueFull(self._full_message) from None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._handle(item[0])
            except Exception:  # noqa: BLE001 - one bad item never stops the thread
                log.exception("%s: handling an item failed", self.name)
