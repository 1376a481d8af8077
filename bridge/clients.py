"""The client registry: who is registered where, each client's session, and who owns which job.

Three bounded tables, guarded by one lock (the server's):

* registrations: source ``(host, port)`` -> the reply port its ``/jasco/hello`` named;
* sessions, keyed by reply address (where a client's replies go);
* job owners: job id -> the session key that submitted it (cancel is the owner's only).

Eviction never lets one client push out another that is in use: an entry is
evicted only when it has been idle for ``ACTIVE_S`` seconds and owns no queued or
running job, least recently active first; each source host may hold at most a
share of each table (so one machine cannot fill it). When no entry may go, the
newcomer is refused with ``too_many_clients`` instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from bridge.session import Session
from core.errors import TooManyClients

log = logging.getLogger(__name__)

Address = tuple[str, int]
V = TypeVar("V")

ACTIVE_S = 300.0  # a client heard from this recently (or with a job in the queue) is never evicted
MAX_REGISTRATIONS = 1024
MAX_REGISTRATIONS_PER_HOST = 256
MAX_SESSIONS = 64  # x MAX_SESSION_NOTES notes each bounds the memory clients can make us hold
MAX_SESSIONS_PER_HOST = 48
MIDI_SESSION: Address = ("midi", 0)  # live MIDI's session: never evicted


@dataclass
class _Entry(Generic[V]):
    value: V
    last_active: float


class BoundedTable(Generic[V]):
    """An ordered table (least recently active first) with the eviction rules above."""

    def __init__(self, what: str, capacity: int, per_host: int, *, busy: Callable[[Address], bool],
                 clock: Callable[[], float] = time.monotonic, pinned: frozenset[Address] = frozenset()) -> None:
        self.what = what
        self.capacity = capacity
        self.per_host = per_host
        self._busy = busy
        self._clock = clock
        self._pinned = pinned
        self._entries: OrderedDict[Address, _Entry[V]] = OrderedDict()
        self._hosts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Address) -> bool:
        return key in self._entries

    def get(self, key: Address) -> V | None:
        entry = self._entries.get(key)
        return entry.value if entry is not None else None

    def touch(self, key: Address) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.last_active = self._clock()
            self._entries.move_to_end(key)

    def put(self, key: Address, value: V) -> None:
        """Insert or replace ``key``; ``TooManyClients`` when no other entry may be evicted for it."""
        now = self._clock()
        if key in self._entries:
            self._entries[key] = _Entry(value, now)
            self._entries.move_to_end(key)
            return
        host = key[0]
        while key not in self._pinned and (self._hosts[host] >= self.per_host or len(self._entries) >= self.capacity):
            same_host = self._hosts[host] >= self.per_host
            victim = self._idle(now, host if same_host else None)
            if victim is None:
                raise TooManyClients(
                    f"too many clients are active ({len(self._entries)} {self.what}, at most {self.capacity}, "
                    f"{self.per_host} per host); an idle one is forgotten after {ACTIVE_S:g} s, try again then")
            self._remove(victim)
            log.info("forgetting the idle %s of %s:%s", self.what.rstrip("s"), *victim)
        self._entries[key] = _Entry(value, now)
        self._hosts[host] += 1

    def _idle(self, now: float, host: str | None) -> Address | None:
        for key, entry in self._entries.items():  # least recently active first
            if now - entry.last_active < ACTIVE_S:
                return None  # everything after this one is more recent still
            if (host is None or key[0] == host) and key not in self._pinned and not self._busy(key):
                return key
        return None

    def _remove(self, key: Address) -> None:
        del self._entries[key]
        self._hosts[key[0]] -= 1
        if self._hosts[key[0]] <= 0:
            del self._hosts[key[0]]


class ClientRegistry:
    """Registrations, sessions and job owners (see the module docstring); thread-safe."""

    def __init__(self, *, default_reply_port: int, lock: threading.RLock | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.default_reply_port = default_reply_port
        self.lock = lock or threading.RLock()
        self._owners: dict[str, Address] = {}
        self._jobs_of: Counter[Address] = Counter()
        self._registrations: BoundedTable[int] = BoundedTable(
            "registrations", MAX_REGISTRATIONS, MAX_REGISTRATIONS_PER_HOST, clock=clock,
            busy=lambda src: self._jobs_of[(src[0], self._registrations.get(src) or 0)] > 0)
        self._sessions: BoundedTable[Session] = BoundedTable(
            "sessions", MAX_SESSIONS, MAX_SESSIONS_PER_HOST, clock=clock,
            busy=lambda key: self._jobs_of[key] > 0, pinned=frozenset({MIDI_SESSION}))
        self._last_client: Address | None = None

    # --- where replies go -------------------------------------------------------------------------
    def reply_address(self, src: Address) -> Address:
        """Where replies to ``src`` go: its registered port, else ``--reply-port`` (0: its own port)."""
        with self.lock:
            port = self._registrations.get(src)
        if port is None:
            port = self.default_reply_port or src[1]
        return (src[0], port)

    def register(self, src: Address, reply_port: int) -> Address:
        """Record ``/jasco/hello``: replies to ``src`` go to ``reply_port`` from now on."""
        reply_to = (src[0], reply_port)
        with self.lock:
            self._registrations.put(src, reply_port)
            try:
                self.session(reply_to)
            except TooManyClients:
                self._registrations._remove(src)
                raise
            self._last_client = reply_to
        return reply_to

    def heard_from(self, src: Address, reply_to: Address) -> None:
        """A message from ``src``: it (and its session) are active now."""
        with self.lock:
            self._registrations.touch(src)
            self._sessions.touch(reply_to)

    @property
    def last_client(self) -> Address | None:
        with self.lock:
            return self._last_client

    # --- sessions --------------------------------------------------------------------------------
    def session(self, key: Address) -> Session:
        """The session at ``key``, created when new (``TooManyClients`` when no room can be made)."""
        with self.lock:
            s = self._sessions.get(key)
            if s is None:
                s = Session(key)
                self._sessions.put(key, s)
            else:
                self._sessions.touch(key)
            s.last_seen = time.monotonic()
            return s

    def existing_session(self, key: Address) -> Session | None:
        with self.lock:
            return self._sessions.get(key)

    def counts(self) -> tuple[int, int]:
        """(registrations, sessions)."""
        with self.lock:
            return len(self._registrations), len(self._sessions)

    # --- job ownership ---------------------------------------------------------------------------
    def own(self, job_id: str, owner: Address) -> None:
        with self.lock:
            if job_id not in self._owners:
                self._owners[job_id] = owner
                self._jobs_of[owner] += 1

    def owner(self, job_id: str) -> Address | None:
        with self.lock:
            return self._owners.get(job_id)

    def release(self, job_id: str) -> None:
        """The job had its final reply: it no longer keeps its owner from being evicted."""
        with self.lock:
            owner = self._owners.pop(job_id, None)
            if owner is not None:
                self._jobs_of[owner] -= 1
                if self._jobs_of[owner] <= 0:
                    del self._jobs_of[owner]
