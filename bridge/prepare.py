"""The thread ``jasco-prepare``: turns frozen sessions into render requests and submits them.

A ``/jasco/generate`` freezes its session in constant time on the OSC thread and its handler
queues it here (``MAX_PENDING_GENERATES`` at most; more answer ``queue_full`` at once). This
thread resolves the chord vocabulary, recognises chords from notes and turns the melody into
frames (both cached per session, ``bridge.session``), then submits the request to the render
worker with a listener for its client (``bridge.replies.ClientListener``), which answers
``/jasco/queued`` and so on; a request that cannot be built is answered ``/jasco/error``.
So a bundle of generates over a 20,000-note session costs the OSC thread nothing, and a
generate travels handler -> preparer -> worker without going back through the server.
Live MIDI and ``serve --demo`` submit on their own threads through :meth:`RequestPreparer.submit_now`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from bridge.backlog import Backlog
from bridge.jobs import JobListener
from bridge.session import SessionSnapshot
from core.errors import Interrupted, JascoError
from core.requests import RenderRequest

log = logging.getLogger(__name__)

Address = tuple[str, int]
ReplyTo = Address | Callable[[], Address | None]
PREPARE_THREAD = "jasco-prepare"
MAX_PENDING_GENERATES = 32


@dataclass(frozen=True)
class PendingGenerate:
    snapshot: SessionSnapshot
    reply_to: Address  # the owner: the session's key, where its replies go
    tag: str


class Worker(Protocol):
    """What the preparer uses of the render worker (``bridge.worker.RenderWorker``)."""

    def submit(self, request: RenderRequest, listener: JobListener) -> str: ...
    def status(self) -> Any: ...


class RequestPreparer:
    """Frozen sessions -> requests -> the worker.

    ``listener(reply_to, label, owner, tag)`` makes the job's listener; ``vocab()`` gives the chord
    vocabulary (only called when chords must be recognised from notes); ``model`` is the server's
    default model; ``send_error(address, err)`` answers a generate whose request cannot be built.
    """

    def __init__(self, worker: Worker, listener: Callable[[ReplyTo, str, Address, str], JobListener], *,
                 vocab: Callable[[], Any], model: str, send_error: Callable[[Address, JascoError], None],
                 max_pending: int = MAX_PENDING_GENERATES) -> None:
        self._worker = worker
        self._listener = listener
        self._vocab = vocab
        self._model = model
        self._send_error = send_error
        self._backlog: Backlog[PendingGenerate] = Backlog(
            PREPARE_THREAD, self._prepare, max_pending=max_pending,
            full_message=f"{max_pending} generates are already waiting to be queued; try again in a moment")

    def start(self) -> None:
        self._backlog.start()

    def stop(self, timeout: float) -> None:
        for item in self._backlog.stop(timeout):
            self._send_error(item.reply_to, Interrupted("the server stopped before this generate was queued"))

    def submit(self, item: PendingGenerate) -> None:
        """Queue a frozen session (OSC thread; ``QueueFull`` when too many wait)."""
        self._backlog.submit(item)

    def _prepare(self, item: PendingGenerate) -> None:
        try:
            self.submit_now(item.snapshot, item.reply_to, item.reply_to, item.tag, item.snapshot.client)
        except JascoError as err:
            self._send_error(item.reply_to, err)

    def submit_now(self, snapshot: SessionSnapshot, owner: Address, reply_to: ReplyTo, tag: str, label: str) -> str:
        """Build the request of ``snapshot`` and submit it on this thread; returns the job id."""
        vocab = self._vocab() if not snapshot.chords and snapshot.audible_notes else None
        request, notes = snapshot.build(vocab=vocab, default_model=self._model, tag=tag, client=snapshot.client)
        st = self._worker.status()
        if st.state == "error" and getattr(st, "error", ""):
            log.debug("generate while the model is unavailable: %s", st.error)  # the job's failure is logged once
        listener = self._listener(reply_to, label, owner, tag)
        job_id = self._worker.submit(request, listener)
        for note in notes:  # e.g. a shorter progression repeats to fill the loop
            listener.note(str(job_id), note)
        log.info("job %s submitted for %s: %r, %d chords, %g bpm", job_id, label, request.prompt[:60],
                 len(request.chords), request.bpm)
        return str(job_id)
