"""The job journal: one SQLite table beside the clips, so a killed server loses nothing.

Every job is written when it is queued and updated when it starts and ends. When
the server starts again, ``Journal.recover()`` marks the jobs a killed server left
``queued``/``running`` as ``interrupted`` and returns them, so the OSC side can tell
their clients (``/jasco/error <job> interrupted …``).

One connection guarded by a lock (the worker thread writes, the OSC thread may
write on submit/cancel); every statement is its own transaction.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bridge.jobs import ACTIVE_STATES, INTERRUPTED, STATES, InterruptedJob, pid_alive

log = logging.getLogger(__name__)

JOURNAL_NAME = ".jasco-journal.sqlite3"
KEEP_FINISHED = 5000  # finished jobs kept; older ones are pruned on open

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id        TEXT PRIMARY KEY,
    owner_pid     INTEGER NOT NULL DEFAULT 0,
    client        TEXT NOT NULL DEFAULT '',
    tag           TEXT NOT NULL DEFAULT '',
    request_json  TEXT NOT NULL,
    state         TEXT NOT NULL,
    created       REAL NOT NULL,
    started       REAL,
    finished      REAL,
    output_path   TEXT,
    error_code    TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
"""


class Journal:
    """SQLite journal of render jobs (``<clip_dir>/.jasco-journal.sqlite3`` by default)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None,
                                     check_same_thread=False)
        try:
            try:
                # WAL: commits without an fsync each (fast submits); not available on every
                # filesystem (network shares), where the default rollback journal is kept.
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as err:
                log.info("journal %s: WAL mode unavailable (%s); using the default journal", self.path, err)
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error:
            self._conn.close()
            raise

    @classmethod
    def in_memory(cls) -> "Journal":
        """A journal that forgets everything (used when the clip folder is unusable)."""
        return cls(":memory:")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- writes ---------------------------------------------------------------------------------------
    def add(self, job_id: str, request: dict[str, Any], *, client: str = "", tag: str = "",
            created: float | None = None) -> None:
        self._execute(
            "INSERT INTO jobs(job_id, owner_pid, client, tag, request_json, state, created) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
            (job_id, os.getpid(), client, tag, json.dumps(request, allow_nan=False), created or time.time()),
        )

    def mark_running(self, job_id: str) -> None:
        self._execute("UPDATE jobs SET state='running', started=? WHERE job_id=?", (time.time(), job_id))

    def mark_done(self, job_id: str, output_path: str) -> None:
        self._execute("UPDATE jobs SET state='done', finished=?, output_path=? WHERE job_id=?",
                      (time.time(), output_path, job_id))

    def mark_failed(self, job_id: str, code: str, message: str) -> None:
        self._execute("UPDATE jobs SET state='failed', finished=?, error_code=?, error_message=? WHERE job_id=?",
                      (time.time(), code, message[:2000], job_id))

    def mark_cancelled(self, job_id: str) -> None:
        self._execute("UPDATE jobs SET state='cancelled', finished=? WHERE job_id=?", (time.time(), job_id))

    def mark_interrupted(self, job_id: str, message: str) -> None:
        self._execute("UPDATE jobs SET state='interrupted', finished=?, error_code='interrupted', error_message=? "
                      "WHERE job_id=?", (time.time(), message[:2000], job_id))

    def recover(self) -> list[InterruptedJob]:
        """Mark jobs a dead server left queued/running as interrupted and return them (oldest first).

        Jobs of a server that is still running (another server sharing this clip
        folder) are left alone.
        """
        marks = ",".join("?" for _ in ACTIVE_STATES)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT job_id, owner_pid, client, tag, state, created, request_json FROM jobs "
                f"WHERE state IN ({marks}) ORDER BY created", ACTIVE_STATES,
            ).fetchall()
            me = os.getpid()
            rows = [r for r in rows if r[1] == me or r[1] <= 0 or not pid_alive(r[1])]
            now = time.time()
            self._conn.executemany(
                "UPDATE jobs SET state=?, finished=?, error_code='interrupted', "
                "error_message='the server stopped before this job finished' WHERE job_id=?",
                [(INTERRUPTED, now, r[0]) for r in rows],
            )
            self._prune()
        out = []
        for job_id, _owner, client, tag, state, created, request_json in rows:
            try:
                request = json.loads(request_json)
            except json.JSONDecodeError:
                request = {}
            out.append(InterruptedJob(job_id=job_id, client=client, tag=tag, state=state,
                                      created=float(created), request=request))
        if out:
            log.warning("%d job(s) were interrupted by the last shutdown", len(out))
        return out

    def _prune(self) -> None:
        self._conn.execute(
            "DELETE FROM jobs WHERE state NOT IN ('queued','running') AND job_id NOT IN "
            "(SELECT job_id FROM jobs ORDER BY created DESC LIMIT ?)", (KEEP_FINISHED,),
        )

    # --- reads ------------------------------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,))
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            return None
        out = dict(zip(names, row))
        out["request"] = json.loads(out.pop("request_json"))
        return out

    def states(self) -> dict[str, int]:
        """Count of jobs per state."""
        with self._lock:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        counts = {s: 0 for s in STATES}
        counts.update({state: int(n) for state, n in rows})
        return counts

    def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        try:
            with self._lock:
                self._conn.execute(sql, args)
        except sqlite3.Error as err:
            # The journal is for recovery; a failing journal must never fail a render.
            log.error("journal %s: %s", self.path, err)
