"""The job journal: SQLite beside the clips, so a killed server loses nothing.

Every job is written when it is queued and updated when it starts and ends. When
the server starts again, ``Journal.recover()`` marks the jobs a killed server left
``queued``/``running`` as ``interrupted`` and returns them, so the OSC side can tell
their clients (``/jasco/error <job> interrupted …``).

Bounded while the server runs, not only at start:

* a request is stored once (``payloads``, keyed by its sha256: a client that
  renders the same 512-chord session a hundred times stores it once), and not at
  all beyond ``MAX_PAYLOAD_BYTES`` (then only its small fields are kept, with a
  note of what was left out);
* at most ``KEEP_FINISHED`` finished jobs and ``MAX_PAYLOAD_TOTAL`` bytes of
  requests; every ``PRUNE_EVERY`` jobs the oldest finished ones (and the requests
  no job names any more) are deleted. Queued and running jobs are never pruned
  (the render queue bounds them).

It also notices its file being deleted or replaced while the server runs (the
clip folder removed, or moved away and made again): SQLite would go on writing
to the deleted file and a restart would find nothing. Before each write the file
is compared (device, inode) with the one that was opened; when it changed, a new
journal is made at the same path (its folder created again) and the jobs still
queued or running are copied into it.

Damage found at any time (a page overwritten by a bad sector or a sync tool: SQLite's
"database disk image is malformed" on recover, a write or a read) moves the file aside
(``<name>.corrupt-<time>``, with its -wal/-shm files) with one logged line, and the
journal starts fresh at the same path with this server's queued and running jobs: never
a traceback, never a server that cannot start.

One connection guarded by a lock (the worker thread writes, the OSC side may
write on submit/cancel); every statement is its own transaction.
"""

from __future__ import annotations

import hashlib
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
KEEP_FINISHED = 2000  # finished jobs kept
MAX_PAYLOAD_BYTES = 64 * 1024  # a request larger than this is journaled without its large fields
MAX_PAYLOAD_TOTAL = 8 * 1024 * 1024  # bytes of stored requests, all jobs together
PRUNE_EVERY = 50  # jobs added between two prunes
MEMORY = ":memory:"

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
CREATE TABLE IF NOT EXISTS payloads (
    sha   TEXT PRIMARY KEY,
    json  TEXT NOT NULL,
    bytes INTEGER NOT NULL
);
"""
_COLUMNS = ("job_id", "owner_pid", "client", "tag", "request_json", "state", "created", "started", "finished",
            "output_path", "error_code", "error_message", "payload_sha")


def is_damage(err: BaseException) -> bool:
    """A damaged or foreign file (SQLITE_CORRUPT, SQLITE_NOTADB), not a busy or read-only one."""
    return isinstance(err, sqlite3.DatabaseError) and not isinstance(
        err, (sqlite3.OperationalError, sqlite3.IntegrityError))


def move_aside(path: Path) -> Path:
    """Move a damaged journal (and its -wal/-shm files, which SQLite would replay into a new one) aside."""
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            os.replace(part, aside.with_name(aside.name + suffix))
    return aside


def _summary(request: dict[str, Any], size: int) -> dict[str, Any]:
    """A request too large to journal: its scalar fields, and what was left out."""
    out: dict[str, Any] = {}
    left_out = []
    for key, value in request.items():
        if isinstance(value, (list, tuple, dict)) and len(json.dumps(value)) > 256:
            left_out.append(f"{key} ({len(value)} items)")
        else:
            out[key] = value
    out["journal_note"] = f"request of {size} bytes; not journaled: {', '.join(left_out)}"
    return out


class Journal:
    """SQLite journal of render jobs (``<clip_dir>/.jasco-journal.sqlite3`` by default)."""

    def __init__(self, path: str | os.PathLike[str], *, keep_finished: int = KEEP_FINISHED,
                 max_payload_bytes: int = MAX_PAYLOAD_BYTES, max_payload_total: int = MAX_PAYLOAD_TOTAL) -> None:
        self.path = Path(path)
        self.keep_finished = keep_finished
        self.max_payload_bytes = max_payload_bytes
        self.max_payload_total = max_payload_total
        self._lock = threading.Lock()
        self._adds = 0
        # This server's queued and running jobs (the render queue bounds them), to carry them over
        # into a new file when the journal's file is deleted or replaced under us.
        self._active: dict[str, dict[str, Any]] = {}
        self._payloads: dict[str, tuple[str, str, int]] = {}
        self._identity: tuple[int, int] | None = None
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            try:
                # WAL: commits without an fsync each (fast submits); not available on every
                # filesystem (network shares), where the default rollback journal is kept.
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA journal_size_limit=1048576")  # the WAL file shrinks back after a checkpoint
            except sqlite3.OperationalError as err:
                log.info("journal %s: WAL mode unavailable (%s); using the default journal", self.path, err)
            conn.executescript(_SCHEMA)
            names = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
            if "payload_sha" not in names:  # a journal of an older version
                conn.execute("ALTER TABLE jobs ADD COLUMN payload_sha TEXT")
        except sqlite3.Error:
            conn.close()
            raise
        self._identity = self._file_identity()
        return conn

    def _file_identity(self) -> tuple[int, int] | None:
        if str(self.path) == MEMORY:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    @classmethod
    def in_memory(cls) -> "Journal":
        """A journal that forgets everything (used when the clip folder is unusable)."""
        return cls(MEMORY)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- the file being replaced under us ----------------------------------------------------------
    def _check_file(self) -> None:
        """Lock held: reopen at ``path`` when the file we write is no longer the one there."""
        if self._identity is None or self._file_identity() == self._identity:
            return
        log.warning("journal %s was deleted or replaced while the server ran; starting it again there "
                    "(with the jobs still queued or running)", self.path)
        self._reopen()

    def _start_fresh(self, err: BaseException) -> None:
        """Lock held: the file is damaged; move it aside and start again with this server's active jobs."""
        try:
            self._conn.close()
        except sqlite3.Error as close_err:  # closing a damaged connection: the new one replaces it either way
            log.debug("journal %s: close: %s", self.path, close_err)
        try:
            aside = move_aside(self.path) if self._identity is not None else None
        except OSError as err2:
            aside = None
            log.error("journal %s is damaged (%s) and cannot be moved aside (%s)", self.path, err, err2)
        else:
            log.error("journal %s is damaged (%s); moved it to %s and started a fresh one", self.path, err,
                      aside.name if aside is not None else "(memory)")
        self._reopen()

    def _reopen(self) -> None:
        """Lock held: connect again at ``path`` and copy in this server's queued and running jobs."""
        # What this server still has queued or running comes from memory: the old file may be
        # gone, or (moved away while WAL files stay at the path) unreadable.
        rows = [tuple(row.get(c) for c in _COLUMNS) for row in self._active.values()]
        payloads = [self._payloads[row["payload_sha"]] for row in self._active.values()
                    if row.get("payload_sha") in self._payloads]
        try:
            self._conn.close()
        except sqlite3.Error as close_err:  # replaced below either way
            log.debug("journal %s: close: %s", self.path, close_err)
        try:
            if self._identity is None:
                raise sqlite3.OperationalError("an in-memory journal")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as err:
            log.error("cannot start the journal again at %s (%s); jobs will not survive a restart", self.path, err)
            self._conn = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)
            self._conn.executescript(_SCHEMA)
            self._conn.execute("ALTER TABLE jobs ADD COLUMN payload_sha TEXT")
            self._identity = None
        self._conn.executemany("INSERT OR IGNORE INTO payloads(sha, json, bytes) VALUES (?, ?, ?)",
                               payloads)
        self._conn.executemany(f"INSERT OR IGNORE INTO jobs({', '.join(_COLUMNS)}) "
                               f"VALUES ({', '.join('?' for _ in _COLUMNS)})", rows)

    # --- writes ---------------------------------------------------------------------------------------
    def add(self, job_id: str, request: dict[str, Any], *, client: str = "", tag: str = "",
            created: float | None = None) -> None:
        text = json.dumps(request, allow_nan=False, sort_keys=True, separators=(",", ":"))
        size = len(text.encode("utf-8"))
        sha: str | None = None
        if size > self.max_payload_bytes:
            inline = json.dumps(_summary(request, size), allow_nan=False)  # not at all: its small fields
        else:
            sha, inline = hashlib.sha256(text.encode("utf-8")).hexdigest(), ""

        def write() -> None:
            if sha is not None:
                self._conn.execute("INSERT OR IGNORE INTO payloads(sha, json, bytes) VALUES (?, ?, ?)",
                                   (sha, text, size))
            self._conn.execute(
                "INSERT INTO jobs(job_id, owner_pid, client, tag, request_json, state, created, payload_sha) "
                "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (job_id, os.getpid(), client, tag, inline, when, sha))
            self._adds += 1
            if self._adds % PRUNE_EVERY == 0:
                self._prune()

        when = created or time.time()
        self._write(write)
        with self._lock:
            self._active[job_id] = {"job_id": job_id, "owner_pid": os.getpid(), "client": client, "tag": tag,
                                    "request_json": inline, "state": "queued", "created": when, "payload_sha": sha}
            if sha is not None:
                self._payloads[sha] = (sha, text, size)

    def mark_running(self, job_id: str) -> None:
        now = time.time()
        self._execute("UPDATE jobs SET state='running', started=? WHERE job_id=?", (now, job_id))
        with self._lock:
            row = self._active.get(job_id)
            if row is not None:
                row.update(state="running", started=now)

    def _finished(self, job_id: str) -> None:
        with self._lock:
            row = self._active.pop(job_id, None)
            sha = row.get("payload_sha") if row is not None else None
            if sha and not any(r.get("payload_sha") == sha for r in self._active.values()):
                self._payloads.pop(sha, None)

    def mark_done(self, job_id: str, output_path: str) -> None:
        self._finished(job_id)
        self._execute("UPDATE jobs SET state='done', finished=?, output_path=? WHERE job_id=?",
                      (time.time(), output_path, job_id))

    def mark_failed(self, job_id: str, code: str, message: str) -> None:
        self._finished(job_id)
        self._execute("UPDATE jobs SET state='failed', finished=?, error_code=?, error_message=? WHERE job_id=?",
                      (time.time(), code, message[:2000], job_id))

    def mark_cancelled(self, job_id: str) -> None:
        self._finished(job_id)
        self._execute("UPDATE jobs SET state='cancelled', finished=? WHERE job_id=?", (time.time(), job_id))

    def mark_interrupted(self, job_id: str, message: str) -> None:
        self._finished(job_id)
        self._execute("UPDATE jobs SET state='interrupted', finished=?, error_code='interrupted', error_message=? "
                      "WHERE job_id=?", (time.time(), message[:2000], job_id))

    def recover(self) -> list[InterruptedJob]:
        """Mark jobs a dead server left queued/running as interrupted and return them (oldest first).

        Jobs of a server that is still running (another server sharing this clip
        folder) are left alone.
        """
        with self._lock:
            try:
                out = self._recover()
            except sqlite3.DatabaseError as err:
                if not is_damage(err):
                    raise
                self._start_fresh(err)
                out = []
        if out:
            log.warning("%d job(s) were interrupted by the last shutdown", len(out))
        return out

    def _recover(self) -> list[InterruptedJob]:
        """Lock held: the work of ``recover``."""
        marks = ",".join("?" for _ in ACTIVE_STATES)
        self._check_file()
        rows = self._conn.execute(
            f"SELECT job_id, owner_pid, client, tag, state, created, request_json, payload_sha FROM jobs "
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
        out = [InterruptedJob(job_id=job_id, client=client, tag=tag, state=state, created=float(created),
                              request=self._request(request_json, sha))
               for job_id, _owner, client, tag, state, created, request_json, sha in rows]
        return out

    def _request(self, inline: str, sha: str | None) -> dict[str, Any]:
        """Lock held: a job's request as journaled ({} when it cannot be read)."""
        text = inline
        if sha:
            row = self._conn.execute("SELECT json FROM payloads WHERE sha=?", (sha,)).fetchone()
            text = row[0] if row is not None else ""
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def _prune(self) -> None:
        """Lock held: at most ``keep_finished`` finished jobs and ``max_payload_total`` bytes of requests."""
        self._conn.execute(
            "DELETE FROM jobs WHERE state NOT IN ('queued','running') AND job_id NOT IN "
            "(SELECT job_id FROM jobs ORDER BY created DESC LIMIT ?)", (self.keep_finished,),
        )
        self._drop_orphans()
        while True:
            total = self._conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM payloads").fetchone()[0]
            if total <= self.max_payload_total:
                return
            finished = self._conn.execute("SELECT COUNT(*) FROM jobs WHERE state NOT IN ('queued','running') "
                                          "AND payload_sha IS NOT NULL").fetchone()[0]
            if finished == 0:
                return  # only active jobs' requests are left: the render queue bounds them
            self._conn.execute(
                "DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM jobs WHERE state NOT IN ('queued','running') "
                "AND payload_sha IS NOT NULL ORDER BY created LIMIT ?)", (max(1, finished // 4),))
            self._drop_orphans()

    def _drop_orphans(self) -> None:
        self._conn.execute("DELETE FROM payloads WHERE sha NOT IN "
                           "(SELECT payload_sha FROM jobs WHERE payload_sha IS NOT NULL)")

    # --- reads ------------------------------------------------------------------------------------------
    def _read(self, query: Any, empty: Any) -> Any:
        """A read; damage found by it moves the file aside (``empty`` is the answer then)."""
        with self._lock:
            try:
                return query()
            except sqlite3.DatabaseError as err:
                if not is_damage(err):
                    raise
                self._start_fresh(err)
                return empty

    def get(self, job_id: str) -> dict[str, Any] | None:
        return self._read(lambda: self._get(job_id), None)

    def _get(self, job_id: str) -> dict[str, Any] | None:
        cur = self._conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,))
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
        if row is None:
            return None
        out = dict(zip(names, row))
        out["request"] = self._request(out.pop("request_json"), out.get("payload_sha"))
        return out

    def states(self) -> dict[str, int]:
        """Count of jobs per state."""
        rows = self._read(lambda: self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall(), [])
        counts = {s: 0 for s in STATES}
        counts.update({state: int(n) for state, n in rows})
        return counts

    def size(self) -> tuple[int, int]:
        """(jobs, bytes of stored requests)."""
        jobs, total = self._read(lambda: (
            self._conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0],
            self._conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM payloads").fetchone()[0]), (0, 0))
        return int(jobs), int(total)

    def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        self._write(lambda: self._conn.execute(sql, args))

    def _write(self, action: Any) -> None:
        try:
            with self._lock:
                self._check_file()
                try:
                    action()
                except sqlite3.DatabaseError as err:
                    if not is_damage(err):
                        raise
                    self._start_fresh(err)  # this server's active jobs are carried over ...
                    action()  # ... and the write is made again in the fresh file
        except sqlite3.Error as err:
            # The journal is for recovery; a failing journal must never fail a render.
            log.error("journal %s: %s", self.path, err)
