"""Writing a file so that nobody ever sees half of it (torch-free, numpy-free).

One mechanism for every file the product writes (clips, sidecars, CLI outputs, the
vocabulary cache): the bytes go to a hidden temporary file in the target's folder
(``TEMP_PREFIX`` + the writer's pid, so a crashed writer's leftovers can be found
and removed), are fsynced, get the mode a normally created file would get
(``0o666`` minus the umask), and are renamed onto the target only when complete.
On any failure the temporary file is removed and a coded error names the file:
``DiskFull`` for a full disk or a size limit, else ``OutputError`` (or the
``unwritable`` class the caller passes, e.g. the clip folder's own code).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Callable

from core.errors import DiskFull, OutputError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".jasco-tmp-"
# Windows refuses to replace a file another program has open without FILE_SHARE_DELETE (a player,
# Live reading the clip, a virus scanner, Explorer's preview): os.replace raises PermissionError
# (ERROR_ACCESS_DENIED / ERROR_SHARING_VIOLATION) until it is closed. Such holds are usually
# brief, so the rename is retried for this long before the error is reported.
REPLACE_RETRY_S = 2.0
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


def os_error(err: BaseException, what: str, folder: Path | str,
             unwritable: type[OutputError] = OutputError) -> OutputError:
    """A coded error for an OSError (or libsndfile's RuntimeError) while writing ``what`` in ``folder``."""
    reason = getattr(err, "strerror", None) or str(err)
    code = getattr(err, "errno", None)
    if code in _DISK_FULL:
        return DiskFull(f"no space left for {what} in {str(folder)!r} ({reason}); free some space "
                        "or choose another folder")
    if code in _UNWRITABLE:
        return unwritable(f"cannot write {what} in {str(folder)!r}: {reason}")
    return OutputError(f"writing {what} in {str(folder)!r} failed: {reason}")


def unlink_quietly(path: Path | str) -> None:
    """Remove a temporary file; a missing one is fine, any other failure is logged."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return
    except OSError as err:
        log.warning("could not remove temporary file %s: %s", path, err)


def write_temp(folder: Path, writer: Callable[[str], None] | bytes, suffix: str, *,
               unwritable: type[OutputError] = OutputError) -> Path:
    """A complete, fsynced hidden temporary file in ``folder`` (removed again on any error)."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)
    except OSError as err:
        raise os_error(err, "a temporary file", folder, unwritable) from err
    tmp = Path(name)
    try:
        try:
            if isinstance(writer, (bytes, bytearray, memoryview)):
                view = memoryview(writer)
                while view:
                    view = view[os.write(fd, view):]
            else:
                writer(name)
            os.fsync(fd)
            os.fchmod(fd, FILE_MODE) if hasattr(os, "fchmod") else os.chmod(name, FILE_MODE)
        finally:
            os.close(fd)
    except (OSError, RuntimeError) as err:
        unlink_quietly(tmp)
        raise os_error(err, f"the {suffix or 'temporary'} file", folder, unwritable) from err
    except BaseException:
        unlink_quietly(tmp)
        raise
    return tmp


def probe_writable(folder: Path, *, unwritable: type[OutputError] = OutputError) -> None:
    """Refuse ``folder`` unless a file can really be created in it (before any long work).

    ``os.access`` is not enough: it says yes to root in a read-only bind mount's parent rules,
    and to every folder of /proc; creating and removing a temporary file is the honest test.
    """
    try:
        tmp = write_temp(Path(folder), b"", ".probe", unwritable=unwritable)
    except DiskFull:
        raise
    except OutputError as err:
        cause = err.__cause__
        reason = getattr(cause, "strerror", None) or str(cause or err)
        raise unwritable(f"the folder {str(folder)!r} does not accept new files ({reason}): "
                         "choose a writable folder") from err
    unlink_quietly(tmp)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        log.debug("fsync of %s failed: %s", path, err)
    finally:
        os.close(fd)


def replace_retrying(src: Path, dst: Path, *, retry_s: float = REPLACE_RETRY_S, windows: bool = os.name == "nt",
                     replace: Callable[[Path, Path], None] | None = None,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> None:
    """``os.replace(src, dst)``; on Windows a PermissionError (the target is open elsewhere) is retried
    with growing pauses for up to ``retry_s`` seconds. Elsewhere it is a real permission problem: at once."""
    replace = replace or os.replace  # looked up at call time
    deadline = clock() + retry_s
    pause = 0.01
    while True:
        try:
            replace(src, dst)
            return
        except PermissionError:
            if not windows or clock() >= deadline:
                raise
            log.debug("%s is in use; retrying the rename in %.2f s", dst, pause)
            sleep(pause)
            pause = min(pause * 2, 0.2)


def replace_into(tmp: Path, target: Path, *, unwritable: type[OutputError] = OutputError,
                 windows: bool = os.name == "nt", replace: Callable[[Path, Path], None] | None = None) -> None:
    """Rename a complete temporary file onto ``target`` (the temporary file is gone either way)."""
    try:
        replace_retrying(tmp, target, windows=windows, replace=replace)
    except PermissionError as err:
        unlink_quietly(tmp)
        if windows:
            raise unwritable(f"cannot replace {target.name!r} in {str(target.parent)!r}: another program has it "
                             f"open (a player, Live, a virus scanner?) for more than {REPLACE_RETRY_S:g} s; "
                             "close it or choose another name") from err
        raise os_error(err, target.name, target.parent, unwritable) from err
    except OSError as err:
        unlink_quietly(tmp)
        raise os_error(err, target.name, target.parent, unwritable) from err


def atomic_write(path: str | os.PathLike[str], writer: Callable[[str], None] | bytes, *,
                 sync_dir: bool = True, unwritable: type[OutputError] = OutputError) -> Path:
    """Write ``path`` atomically: ``writer(tmp_path)`` (or the bytes) into a temporary file, then rename.

    The folder must exist (a missing one is an error, never created silently).
    """
    target = Path(path).expanduser()
    folder = target.absolute().parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(target)!r}: the folder {str(folder)!r} does not exist")
    tmp = write_temp(folder, writer, target.suffix, unwritable=unwritable)
    try:
        replace_into(tmp, target, unwritable=unwritable)
    except BaseException:
        unlink_quietly(tmp)
        raise
    if sync_dir:
        fsync_dir(folder)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, **kwargs: object) -> Path:
    return atomic_write(path, data, **kwargs)  # type: ignore[arg-type]


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a regular file, opened without blocking (a FIFO or a device
    is refused with ``OSError``, never waited on); a caller compares the length with ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
