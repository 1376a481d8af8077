"""Reading drum files (and any other audio a request names) with soundfile.

Every file is opened once (``open_regular``: non-blocking, so a FIFO or a device
never blocks the open; then ``fstat`` on that descriptor: only regular files), and
that descriptor is what is checked, hashed and decoded: a name swapped for a FIFO
or another file between a check and a read changes nothing. ``probe_audio(path)``
checks a file from its metadata and header alone; ``read_audio(path)`` decodes it
as float32 ``[C, S]`` at the file's own rate, with the sha256 of its bytes so a
clip's sidecar can name exactly what was used (the server's drum checker thread
and the render worker call it; never the OSC thread). Down-mixing, resampling to
32 kHz and repeating/padding to the model's window happen in the engine
(``GenerationInput.drums_fill``), not here.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf

from core.errors import BadAudio, JascoError, NotFound, TooLarge, UnsupportedFormat

log = logging.getLogger(__name__)

MAX_SECONDS = 60.0  # longest drum loop accepted (the model window is 10 s)
MAX_AUDIO_BYTES = 200 * 1024 * 1024  # a 60 s 8-channel 192 kHz float file is ~370 MB; refuse anything this big
MAX_CHANNELS = 8
MIN_SECONDS = 0.05  # anything shorter is a broken or truncated file, not a loop
MAX_SAMPLE_RATE = 384_000  # the highest rate audio interfaces record (DXD); a header saying more is an attack
# Decoded size, from the header before decoding (rate x channels x seconds): 60 s of 8 channels at 96 kHz
# or of stereo at 384 kHz, 192 MB as float32; decoded once, straight into the [C, S] array that is kept.
MAX_DECODED_SAMPLES = 48 * 2**20
_BLOCK_FRAMES = 1 << 16  # frames decoded per block (a block's [S, C] copy is all the extra memory)
_UNKNOWN_FRAMES = 2**62  # libsndfile says SF_COUNT_MAX when a stream does not know its length


@dataclass(frozen=True)
class AudioData:
    samples: np.ndarray  # float32 [C, S]
    sample_rate: int
    sha256: str
    path: str
    format: str  # soundfile's major format name, e.g. "WAV", "FLAC"

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.sample_rate


def supported_extensions() -> tuple[str, ...]:
    """File extensions this libsndfile build reads (lower case, with the dot)."""
    return tuple(sorted("." + ext.lower() for ext in sf.available_formats()))


@dataclass(frozen=True)
class AudioInfo:
    """What ``probe_audio`` learns from a file's header, without decoding it."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str  # soundfile's major format name, e.g. "WAV", "FLAC"

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def _not_found(p: Path) -> NotFound:
    return NotFound(f"drum file {str(p)!r} does not exist")


def _open_error(p: Path, err: OSError) -> JascoError:
    """The coded error for a failed ``open`` of a file a request names."""
    if isinstance(err, (FileNotFoundError, NotADirectoryError)):
        return _not_found(p)
    if err.errno == errno.ELOOP:
        return BadAudio(f"cannot read {str(p)!r}: too many levels of symbolic links (a symlink loop)")
    if err.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV):  # a folder, a socket, a device
        return BadAudio(f"{str(p)!r} is not a file")
    return BadAudio(f"cannot read {str(p)!r}: {err.strerror or err}")


def open_flags() -> tuple[int, bool]:
    """Flags for opening a file a request names, and whether the open itself cannot block.

    ``O_NONBLOCK`` makes opening a FIFO (or a device) return at once instead of waiting
    for a writer; the type is then checked on the open descriptor (``fstat``), so a
    name swapped between a check and the open can never make us read something else.
    Where ``os.O_NONBLOCK`` does not exist (Windows, which has no FIFOs in the file
    system) the caller checks the type by name before opening instead.
    """
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    nonblock = getattr(os, "O_NONBLOCK", None)
    if nonblock is None:
        return flags, False
    return flags | nonblock, True


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, os.stat_result, Path]]:
    """Open ``path`` once, for reading, as a regular file: ``(file, fstat of it, path)``.

    Never blocks in ``open`` (see ``open_flags``) and never reads anything but a
    regular file: the check is made on the descriptor that is then read, not on
    the name. Raises ``NotFound`` or ``BadAudio`` (not a file, a symlink loop,
    no permission).
    """
    try:
        p = Path(path).expanduser()
    except RuntimeError as err:  # "~user/..." of a user this machine does not have
        raise NotFound(f"drum file {str(path)!r} does not exist ({err})") from err
    flags, nonblocking = open_flags()
    try:
        if not nonblocking:
            _check_regular(p, os.stat(p))  # no O_NONBLOCK: no FIFO to block on either (Windows)
        fd = os.open(p, flags)
    except OSError as err:
        raise _open_error(p, err) from err
    except ValueError as err:  # an embedded NUL character
        raise BadAudio(f"{str(p)!r} is not a usable file name: {err}") from err
    try:
        st = os.fstat(fd)
        _check_regular(p, st)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f, st, p


def _check_regular(p: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise BadAudio(f"{str(p)!r} is not a file")


def probe_audio(path: str | os.PathLike[str], *, max_seconds: float = MAX_SECONDS) -> AudioInfo:
    """Check an audio file from its metadata and header only (fast at any file size).

    Raises the same coded errors as ``read_audio`` for everything the header
    shows: ``NotFound``, ``UnsupportedFormat``, ``BadAudio`` (not a regular file,
    empty, corrupt header, no or too few samples) and ``TooLarge``. What only
    decoding shows (damaged data, NaN samples) is left to ``read_audio``.
    """
    with open_regular(path) as (f, st, p):
        return _probe_open(f, st, p, max_seconds)


def _probe_open(f: BinaryIO, st: os.stat_result, p: Path, max_seconds: float) -> AudioInfo:
    size = st.st_size
    if size == 0:
        raise BadAudio(f"{p.name!r} is empty (0 bytes)")
    if size > MAX_AUDIO_BYTES:
        raise TooLarge(f"{p.name!r} is larger than the limit of {MAX_AUDIO_BYTES / 1e6:.0f} MB")
    try:
        f.seek(0)
        info = sf.info(f)
    except sf.LibsndfileError as err:
        raise _classify(p, err) from err
    except (OSError, RuntimeError, TypeError) as err:
        raise BadAudio(f"cannot read {str(p)!r}: {getattr(err, 'strerror', None) or err}") from err
    if info.samplerate <= 0 or info.channels <= 0:
        raise BadAudio(f"{p.name!r} has no audio (rate {info.samplerate}, {info.channels} channels)")
    if info.channels > MAX_CHANNELS:
        raise TooLarge(f"{p.name!r} has {info.channels} channels; the limit is {MAX_CHANNELS}")
    if info.samplerate > MAX_SAMPLE_RATE:
        raise TooLarge(f"{p.name!r} has a sample rate of {info.samplerate} Hz; the limit is {MAX_SAMPLE_RATE} Hz "
                       "(resample it)")
    frames = int(info.frames)
    if 0 <= frames < _UNKNOWN_FRAMES:  # some streams (mp3, ogg) may not say; read_audio bounds the read
        _check_length(p.name, frames, int(info.samplerate), max_seconds)
    decoded = info.channels * _frames_to_read(frames, int(info.samplerate), max_seconds)
    if decoded > MAX_DECODED_SAMPLES:
        raise TooLarge(f"{p.name!r} decodes to {decoded / 1e6:.0f} M samples ({info.channels} channels x "
                       f"{min(frames, int(max_seconds * info.samplerate)) / info.samplerate:.1f} s at "
                       f"{info.samplerate} Hz); the limit is {MAX_DECODED_SAMPLES / 1e6:.0f} M: use fewer "
                       "channels, a lower sample rate or a shorter loop")
    return AudioInfo(path=str(p), sample_rate=int(info.samplerate), channels=int(info.channels),
                     frames=frames, format=str(info.format))


def _frames_to_read(frames: int, rate: int, max_seconds: float) -> int:
    """Frames ``read_audio`` decodes at most: the header's count, or the length bound when it does not say."""
    limit = int(max_seconds * rate) + 1
    return min(frames, limit) if 0 <= frames < _UNKNOWN_FRAMES else limit


def _check_length(name: str, frames: int, rate: int, max_seconds: float) -> None:
    if frames > int(max_seconds * rate):
        raise TooLarge(f"{name!r} is longer than {max_seconds:g} s; trim the loop (the model uses 10 s)")
    if frames == 0:
        raise BadAudio(f"{name!r} contains no samples")
    if frames < MIN_SECONDS * rate:
        raise BadAudio(f"{name!r} holds only {frames} samples ({1000 * frames / rate:.1f} ms); "
                       "the file is truncated or not a drum loop")


def read_audio(path: str | os.PathLike[str], *, max_seconds: float = MAX_SECONDS) -> AudioData:
    """Read an audio file as float32 ``[C, S]``, with the sha256 of its bytes.

    Raises ``NotFound`` (no such file), ``UnsupportedFormat`` (a file type
    libsndfile does not read), ``BadAudio`` (corrupt, empty, not a regular file,
    or not finite) and ``TooLarge`` (longer than ``max_seconds`` or too many
    channels). The file is opened once (``open_regular``) and that descriptor is
    what is checked, hashed and decoded. This decodes and hashes the whole file:
    call it off the OSC thread.
    """
    with open_regular(path) as (f, st, p):
        info = _probe_open(f, st, p, max_seconds)
        name = p.name
        # info.frames can be unknown/huge for some formats (mp3, ogg streams): bound the read itself.
        capacity = _frames_to_read(info.frames, info.sample_rate, max_seconds)
        try:
            f.seek(0)
            sha = _sha256(f)
            f.seek(0)
            with sf.SoundFile(f) as snd:
                samples, count = _decode(snd, info.channels, capacity, name)
        except sf.LibsndfileError as err:
            raise BadAudio(f"{name!r} is corrupt or truncated: {_sf_message(err)}") from err
        except (OSError, RuntimeError, ValueError, TypeError) as err:
            raise BadAudio(f"{name!r} could not be decoded: {err}") from err
    _check_length(name, count, info.sample_rate, max_seconds)
    if count < samples.shape[1]:
        samples = np.ascontiguousarray(samples[:, :count])  # the header said more than the data holds
    return AudioData(samples=samples, sample_rate=info.sample_rate, sha256=sha, path=info.path, format=info.format)


def _decode(snd: sf.SoundFile, channels: int, capacity: int, name: str) -> tuple[np.ndarray, int]:
    """Decode at most ``capacity`` frames once, block by block, into the ``[C, S]`` float32 array kept."""
    samples = np.empty((channels, capacity), np.float32)
    block = np.empty((min(_BLOCK_FRAMES, capacity), channels), np.float32)
    count = 0
    while count < capacity:
        n = snd.read(frames=min(len(block), capacity - count), dtype="float32", always_2d=True, out=block)
        got = len(n)
        if got == 0:
            break
        if not np.isfinite(block[:got]).all():
            raise BadAudio(f"{name!r} contains NaN or infinite samples")
        samples[:, count:count + got] = block[:got].T
        count += got
    return samples, count


def _sha256(f: BinaryIO) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def _sf_message(err: Exception) -> str:
    msg = getattr(err, "error_string", None) or str(err)
    return str(msg).strip()


def _classify(p: Path, err: Exception) -> Exception:
    """Unsupported type vs. a supported type that is broken, from libsndfile's open error."""
    ext = p.suffix.lower()
    msg = _sf_message(err)
    if ext and ext not in supported_extensions() and ext not in (".aif", ".oga", ".opus"):
        return UnsupportedFormat(
            f"{p.name!r}: {ext} files cannot be read here; use one of "
            f"{', '.join(e for e in ('.wav', '.flac', '.ogg', '.aiff', '.mp3') if e in supported_extensions())}"
        )
    if "unknown format" in msg.lower() or "format not recognised" in msg.lower():
        if ext in supported_extensions():
            return BadAudio(f"{p.name!r} is not a valid {ext} file ({msg})")
        return UnsupportedFormat(f"{p.name!r} is not in an audio format this build can read ({msg})")
    return BadAudio(f"{p.name!r} could not be opened: {msg}")
