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
from core.errors import ClipDirUnwritable
from core.fileio import TEMP_PREFIX, fsync_dir, replace_into, unlink_quietly, write_temp
from core.requests import RenderRequest

log = logging.getLogger(__name__)

MAX_SLUG_CHARS = 40


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
    """Remove temporary files left in the clip folder by a server that was killed mid-write.

    A temp name carries the writer's pid (``.jasco-tmp-<pid>-…``); a file is removed
    when that process no longer exists, or when it is older than ``min_age_s``.
    """
    removed: list[Path] = []
    path = Path(clip_dir)
    try:
        entries = list(path.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        m = re.match(re.escape(TEMP_PREFIX) + r"(\d+)-", entry.name)
        pid = int(m.group(1)) if m else None
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
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


def ignore_sigxfsz() -> None:
    """Make a file-size limit (``RLIMIT_FSIZE``) an EFBIG error instead of killing the process.

    Call once from the main thread of the server (signal handlers can only be set there).
    """
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def slugify(text: str, max_chars: int = MAX_SLUG_CHARS) -> str:
    """ASCII, lower case, ``[a-z0-9-]`` only; ``"clip"`` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_chars:
        slug = slug[:max_chars].rsplit("-", 1)[0] if "-" in slug[:max_chars] else slug[:max_chars]
    return slug.strip("-") or "clip"


def clip_stem(prompt: str, seed: int, when: _dt.datetime | None = None) -> str:
    """``20261121-103501_warm-lofi-piano_s42`` (local time)."""
    when = when or _dt.datetime.now()
    return f"{when:%Y%m%d-%H%M%S}_{slugify(prompt)}_s{int(seed)}"


def unique_stem(clip_dir: Path, stem: str, ext: str) -> str:
    """``stem`` or ``stem-2``, ``stem-3``… so neither the clip nor its sidecar exists yet."""
    candidate = stem
    n = 1
    while (clip_dir / f"{candidate}.{ext}").exists() or (clip_dir / f"{candidate}.json").exists():
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


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
    data = encode(processed.audio, processed.sample_rate, fmt, p.bit_depth, raw=p.normalize == "none")
    local = when or _dt.datetime.now()
    if target is None:
        stem = unique_stem(folder, clip_stem(request.prompt, p.seed, local), fmt)
        audio_path = folder / f"{stem}.{fmt}"
    else:
        audio_path = folder / Path(target).name
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
