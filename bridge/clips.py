"""The clip folder: its checks, clip names, and committing a clip with its sidecar atomically.

``write_clip`` is the one way a clip reaches the disk, for the server's render worker
and for ``jasco-bridge render`` alike: post-process (``bridge.dsp``), encode
(``bridge.encoding``), build the sidecar (``bridge.sidecar``), write both to hidden
temporary files (``core.fileio``), then make them visible: the sidecar first, then
the audio, so a visible clip always has its sidecar and never is partial.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import signal
import stat
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from bridge.dsp import process_audio
from bridge.encoding import encode
from bridge.jobs import pid_alive
from bridge.sidecar import build_sidecar
from bridge.wav_tempo import WavTempo
from core.errors import ClipDirUnwritable
from core.fileio import TEMP_PREFIX, fsync_dir, os_error, replace_into, unlink_quietly, write_temp
from core.requests import RenderRequest

log = logging.getLogger(__name__)

MAX_SLUG_CHARS = 40
NAME_PREFIX = ".jasco-name-"  # a clip name's reservation (see reserve_stem)


def ensure_clip_dir(clip_dir: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Check the clip folder is a writable directory (created first when missing and ``create``)."""
    path = Path(clip_dir).expanduser()
    if not create and not path.is_dir():
        raise ClipDirUnwritable(f"the folder {str(path)!r} does not exist")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise ClipDirUnwritable(f"clip folder {str(path)!r} exists but is not a folder") from err
    except OSError as err:
        raise ClipDirUnwritable(
            f"cannot create the clip folder {str(path)!r}: {err.strerror or err}; "
            "choose another with --clip-dir"
        ) from err
    if not path.is_dir():
        raise ClipDirUnwritable(f"clip folder {str(path)!r} is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ClipDirUnwritable(f"clip folder {str(path)!r} is read-only; choose another with --clip-dir")
    return path


def cleanup_temp_files(clip_dir: str | os.PathLike[str], *, min_age_s: float = 3600.0) -> list[Path]:
    """Remove temporary files and name reservations left in the clip folder by a server that was killed mid-write.

    A temp name carries the writer's pid (``.jasco-tmp-<pid>-…``), a reservation
    (``.jasco-name-<stem>``) holds it; a file is removed when that process no longer
    exists, or when it is older than ``min_age_s``.
    """
    removed: list[Path] = []
    path = Path(clip_dir)
    try:
        entries = list(path.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith((NAME_PREFIX, TEMP_PREFIX)):
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):  # a FIFO, a link, a folder named like ours: not ours, left alone
            log.warning("left %s alone: named like a temporary file of ours but not a regular file", entry)
            continue
        if entry.name.startswith(NAME_PREFIX):
            pid = _reservation_pid(entry)  # a name reservation holds its writer's pid
        else:
            m = re.match(re.escape(TEMP_PREFIX) + r"(\d+)-", entry.name)
            pid = int(m.group(1)) if m else None
        age = now - st.st_mtime
        if pid is not None and pid != os.getpid() and pid_alive(pid) and age < min_age_s:
            continue
        if pid == os.getpid() and age < min_age_s:
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError as err:
            log.warning("cannot remove leftover temporary file %s: %s", entry, err)
    if removed:
        log.info("removed %d leftover temporary file(s) from %s", len(removed), path)
    return removed


def _reservation_pid(entry: Path) -> int | None:
    """The pid a name reservation holds; None when it is not a regular file of a few bytes.

    Opened without blocking and without following a link (a FIFO swapped in after the
    ``lstat`` cannot hold up the start), and checked with ``fstat`` on that descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(entry, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, 32).decode("ascii", "replace").strip()  # our own hidden file: a few bytes
    except OSError:
        return None
    finally:
        os.close(fd)
    return int(text) if text.isdigit() else None


def ignore_sigxfsz() -> None:
    """Make a file-size limit (``RLIMIT_FSIZE``) an EFBIG error instead of killing the process.

    Call once from the main thread of the server (signal handlers can only be set there).
    """
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# File names every system accepts (Windows has the most rules: "Naming Files, Paths, and Namespaces",
# https://learn.microsoft.com/windows/win32/fileio/naming-a-file): none of <>:"/\|?* or control
# characters, no trailing dot or space, not a reserved device name (CON, PRN, AUX, NUL, COM0-9,
# LPT0-9), with or without an extension, in any case; at most 255 characters (NTFS, APFS, ext4).
MAX_NAME_CHARS = 255
_FORBIDDEN_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                             *(f"lpt{i}" for i in range(10))})


def portable_name_problem(name: str) -> str | None:
    """Why ``name`` is not a file name every system accepts (None: it is)."""
    if not name or name in (".", ".."):
        return "empty or a folder reference"
    bad = _FORBIDDEN_CHARS.search(name)
    if bad:
        return f"contains {bad.group()!r}"
    if name[-1] in ". ":
        return "ends with a dot or a space"
    if name.split(".", 1)[0].rstrip(" ").lower() in _RESERVED_NAMES:
        return "a reserved device name on Windows"
    if len(name) > MAX_NAME_CHARS:
        return f"longer than {MAX_NAME_CHARS} characters"
    return None


def slugify(text: str, max_chars: int = MAX_SLUG_CHARS) -> str:
    """ASCII, lower case, ``[a-z0-9-]`` only; ``"clip"`` when nothing is left; never a Windows device name
    (``con`` becomes ``con-clip``), so a slug is a portable file name on its own (portable_name_problem)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    max_chars = max(1, min(int(max_chars), MAX_NAME_CHARS - len("-clip")))
    if len(slug) > max_chars:
        slug = slug[:max_chars].rsplit("-", 1)[0] if "-" in slug[:max_chars] else slug[:max_chars]
    slug = slug.strip("-") or "clip"
    return f"{slug}-clip" if slug in _RESERVED_NAMES else slug


def clip_stem(prompt: str, seed: int, when: _dt.datetime | None = None) -> str:
    """``20261121-103501_warm-lofi-piano_s42`` (local time): a portable file name on every system,
    at most 16 + 1 + MAX_SLUG_CHARS + 22 characters, to which ``unique_stem`` and the extension add."""
    when = when or _dt.datetime.now()
    return f"{when:%Y%m%d-%H%M%S}_{slugify(prompt)}_s{int(seed)}"


def unique_stem(clip_dir: Path, stem: str, ext: str) -> str:
    """``stem`` or ``stem-2``, ``stem-3``… so neither the clip nor its sidecar exists yet (a check only:
    ``reserve_stem`` is what makes a name this writer's)."""
    candidate = stem
    n = 1
    while (clip_dir / f"{candidate}.{ext}").exists() or (clip_dir / f"{candidate}.json").exists():
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def reserve_stem(clip_dir: Path, stem: str, ext: str) -> tuple[str, Path]:
    """Make a clip name this writer's: ``(stem or stem-N, its reservation file)``.

    The reservation is a hidden file created with ``O_CREAT | O_EXCL`` (atomic on every
    local file system), ``.jasco-name-<stem>``, holding the writer's pid; a name is taken
    only when its reservation could be created and neither its clip nor its sidecar exists.
    So any number of servers (and ``render`` commands) can share one clip folder without
    ever writing to the same name. Remove the reservation (``release_stem``) once the
    clip is visible or the write failed; a killed writer's is removed by
    ``cleanup_temp_files``. Raises ``ClipDirUnwritable`` or ``DiskFull``.
    """
    n = 1
    candidate = stem
    while True:
        marker = clip_dir / f"{NAME_PREFIX}{candidate}"
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            pass
        except OSError as err:
            raise os_error(err, f"the name {candidate!r}", clip_dir, ClipDirUnwritable) from err
        else:
            try:
                os.write(fd, str(os.getpid()).encode("ascii"))
            finally:
                os.close(fd)
            if not (clip_dir / f"{candidate}.{ext}").exists() and not (clip_dir / f"{candidate}.json").exists():
                return candidate, marker
            release_stem(marker)
        n += 1
        candidate = f"{stem}-{n}"


def release_stem(marker: Path) -> None:
    unlink_quietly(marker)


@dataclass(frozen=True)
class ClipResult:
    path: Path  # the audio file
    sidecar_path: Path
    seconds: float
    samples: int
    sample_rate: int
    sidecar: dict[str, Any]


def write_clip(audio: np.ndarray, source_rate: int, request: RenderRequest,
               clip_dir: str | os.PathLike[str], *, engine_info: Mapping[str, Any] | None = None,
               nfe: int | None = None, job_id: str = "", drums_sha256: str | None = None,
               when: _dt.datetime | None = None, timings: Mapping[str, Any] | None = None,
               before_commit: Callable[[], None] | None = None, target: Path | None = None,
               timeline: Mapping[str, Any] | None = None) -> ClipResult:
    """Post-process ``audio`` (float32 ``[C, S]`` at ``source_rate``) and write clip + sidecar atomically.

    The clip is named after the prompt and seed in ``clip_dir``, or is exactly ``target``
    (``render --out``; its sidecar is ``target`` with ``.json``). ``before_commit`` is
    called once the audio is written to its hidden temporary file and before anything
    becomes visible; whatever it raises (the render worker raises ``Cancelled`` for a job
    cancelled meanwhile) aborts the write with nothing left behind. Raises
    ``ClipDirUnwritable``, ``DiskFull`` or ``OutputError``; never leaves a partial or
    temporary file behind.
    """
    folder = ensure_clip_dir(clip_dir if target is None else Path(target).expanduser().absolute().parent,
                             create=target is None)
    processed = process_audio(audio, source_rate, request)
    p = request.params
    fmt = p.format if target is None else target.suffix.lower().lstrip(".")
    num, den = request.time_signature
    data = encode(processed.audio, processed.sample_rate, fmt, p.bit_depth, raw=p.normalize == "none",
                  tempo=WavTempo(request.bpm, num, den, loop=request.is_loop))
    local = when or _dt.datetime.now()
    reservation: Path | None = None
    if target is None:
        stem, reservation = reserve_stem(folder, clip_stem(request.prompt, p.seed, local), fmt)
        audio_path = folder / f"{stem}.{fmt}"
    else:
        audio_path = folder / Path(target).name
    try:
        return _commit(folder, data, fmt, processed, request, audio_path, engine_info=engine_info, nfe=nfe,
                       job_id=job_id, drums_sha256=drums_sha256, local=local, timings=timings,
                       before_commit=before_commit, timeline=timeline)
    finally:
        if reservation is not None:
            release_stem(reservation)


def _commit(folder: Path, data: bytes, fmt: str, processed: Any, request: RenderRequest, audio_path: Path, *,
            engine_info: Mapping[str, Any] | None, nfe: int | None, job_id: str, drums_sha256: str | None,
            local: _dt.datetime, timings: Mapping[str, Any] | None,
            before_commit: Callable[[], None] | None, timeline: Mapping[str, Any] | None = None) -> ClipResult:
    """Write the sidecar (naming ``audio_path``, its own clip) and the audio, both atomically."""
    sidecar_path = audio_path.with_suffix(".json")
    sidecar = build_sidecar(request, processed, audio_file=audio_path.name, engine_info=engine_info or {},
                            nfe=nfe, job_id=job_id, drums_sha256=drums_sha256,
                            created=local.astimezone(_dt.timezone.utc), timings=timings, timeline=timeline)
    side_bytes = (json.dumps(sidecar, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    tmp_audio = write_temp(folder, data, f".{fmt}", unwritable=ClipDirUnwritable)
    try:
        tmp_side = write_temp(folder, side_bytes, ".json", unwritable=ClipDirUnwritable)
        try:
            if before_commit is not None:
                before_commit()
            replace_into(tmp_side, sidecar_path, unwritable=ClipDirUnwritable)
        finally:
            unlink_quietly(tmp_side)  # no-op once replaced
        try:
            replace_into(tmp_audio, audio_path, unwritable=ClipDirUnwritable)
        except BaseException:
            unlink_quietly(sidecar_path)
            raise
    finally:
        unlink_quietly(tmp_audio)  # no-op once replaced
    fsync_dir(folder)
    log.info("wrote %s (%.3f s, %d Hz, %s)", audio_path, processed.seconds, processed.sample_rate, fmt)
    return ClipResult(path=audio_path, sidecar_path=sidecar_path, seconds=processed.seconds,
                      samples=processed.samples, sample_rate=processed.sample_rate, sidecar=sidecar)
