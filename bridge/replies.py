"""What a client hears about its jobs: one ``ClientListener`` per job, and error texts made safe.

The worker calls a job's listener from its thread (queued, started, progress, done, note, error,
cancelled); the listener records the job's owner in the client registry (only the owner may cancel
it) and sends the event to the client's reply address over the server's transport.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

from bridge.clients import ClientRegistry
from bridge.jobs import JobListener
from bridge.transport import OscTransport

log = logging.getLogger(__name__)

Address = tuple[str, int]
# torch's advice to load a refused pickle unsafely must never reach a client (or a user through it)
_UNSAFE = re.compile(r"weights[ _]only", re.IGNORECASE)
_UNPICKLER = re.compile(r"WeightsUnpickler error:\s*(.*)", re.DOTALL)
_SAFE_NOTE = ("the file holds Python objects that a safe load refuses: it is not a plain checkpoint "
              "(it may be damaged, or made to run code)")



def client_text(message: str) -> str:
    """An error message as a client may see it: without torch's advice to load the file unsafely
    (what the safe loader refused is kept)."""
    first = _UNSAFE.search(message)
    if first is None:
        return message
    head = message[: first.start()].rstrip(" .:;,(`")
    if head.lower().endswith("weights"):
        head = head[: -len("weights")].rstrip(" .:;,(`")
    found = _UNPICKLER.search(message)
    detail = ""
    if found is not None:  # "Unsupported global: GLOBAL os.system", without further advice
        detail = " ".join(part for part in re.split(r"(?<=\.)\s+", found.group(1).strip())
                          if not _UNSAFE.search(part)).strip()
    text = f"{head}: {_SAFE_NOTE}" if head else _SAFE_NOTE
    return f"{text} ({detail})" if detail else text


# --- replies to one client about one job ----------------------------------------------------------
@dataclass(eq=False)
class ClientListener(JobListener):
    """Sends a job's events to one reply address (called from the worker thread)."""

    transport: OscTransport
    registry: ClientRegistry
    on_clip: Callable[[str, str], None]  # (job id, path) of each finished clip
    reply_to: Address | Callable[[], Address | None]
    label: str
    owner: Address  # recorded as the job's owner: only it may cancel the job
    tag: str = ""  # the generate's tag, echoed in /jasco/queued (clients sharing a reply port know their jobs)

    def _send(self, address: str, *values: Any) -> None:
        addr = self.reply_to() if callable(self.reply_to) else self.reply_to
        if addr is not None:
            self.transport.send(addr, address, *values)

    def queued(self, job_id: str, position: int) -> None:
        self.registry.own(job_id, self.owner)  # before the client can learn the id
        log.info("job %s queued at %d for %s", job_id, position, self.label)
        self._send("/jasco/queued", job_id, position, self.tag)

    def started(self, job_id: str) -> None:
        log.info("job %s started", job_id)
        self._send("/jasco/started", job_id)

    def progress(self, job_id: str, fraction: float) -> None:
        self._send("/jasco/progress", job_id, min(1.0, max(0.0, float(fraction))))

    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int) -> None:
        self.registry.release(job_id)
        self._send("/jasco/done", job_id, path, seconds, bpm, seed)
        self.on_clip(job_id, path)

    def note(self, job_id: str, text: str) -> None:
        log.info("job %s: %s", job_id, text)
        self._send("/jasco/note", job_id, text)

    def error(self, job_id: str, code: str, message: str) -> None:
        self.registry.release(job_id)
        log.debug("telling %s job %s failed [%s]", self.label, job_id, code)  # the worker logs the failure
        self._send("/jasco/error", job_id, code, client_text(message))

    def cancelled(self, job_id: str) -> None:
        self.registry.release(job_id)
        log.info("job %s cancelled", job_id)
        self._send("/jasco/cancelled", job_id)
