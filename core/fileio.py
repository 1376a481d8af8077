"""Writing a file so that nobody ever sees half of it (torch-free, numpy-free).

``atomic_write(path, writer)`` lets ``writer`` fill a temporary file in the same
folder and renames it onto ``path`` only when complete; on any failure the
temporary file is removed and a coded ``OutputError`` names the file. The clip
folder has its own, stricter variant in ``bridge.output`` (fsync, clip-folder
codes, a temp prefix the journal cleans up after a crash).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

from core.errors import DiskFull, OutputError

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _error(exc: BaseException, what: str) -> OutputError:
    reason = getattr(exc, "strerror", None) or str(exc)
    if getattr(exc, "errno", None) in _FULL:
        return DiskFull(f"cannot write {what}: {reason}")
    return OutputError(f"cannot write {what}: {reason}")


def atomic_write(path: str | os.PathLike[str], writer: Callable[[str], None], *, mkdir: bool = False) -> Path:
    """Run ``writer(tmp_path)``, then rename the temporary file onto ``path``.

    ``mkdir`` creates missing parent folders first. OSError and RuntimeError (soundfile's
    LibsndfileError, e.g. a full disk) become ``OutputError``/``DiskFull``; nothing is left behind.
    """
    target = Path(path).expanduser()
    folder = target.resolve().parent
    try:
        if mkdir:
            folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _error(exc, f"into {str(folder)!r}") from exc
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, target)
    except (OSError, RuntimeError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _error(exc, repr(str(target))) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mkdir: bool = False) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, write, mkdir=mkdir)
