"""Reading drum files (and any other audio a request names) with soundfile.

``read_audio(path)`` returns the samples as float32 ``[C, S]`` at the file's own
rate, with the file's sha256 so a clip's sidecar can name exactly what was used.
Down-mixing, resampling to 32 kHz and repeating/padding to the model's window
happen in the engine (``GenerationInput.drums_fill``), not here.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bridge.errors import BadAudio, NotFound, TooLarge, UnsupportedFormat

log = logging.getLogger(__name__)

MAX_SECONDS = 60.0  # longest drum loop accepted (the model window is 10 s)
MAX_FILE_BYTES = 200 * 1024 * 1024  # a 60 s 8-channel 192 kHz float file is ~370 MB; refuse anything this big
MAX_CHANNELS = 8
MIN_SECONDS = 0.05  # anything shorter is a broken or truncated file, not a loop


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


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_audio(path: str | os.PathLike[str], *, max_seconds: float = MAX_SECONDS) -> AudioData:
    """Read an audio file as float32 ``[C, S]``.

    Raises ``NotFound`` (no such file), ``UnsupportedFormat`` (a file type
    libsndfile does not read), ``BadAudio`` (corrupt, empty, or not finite) and
    ``TooLarge`` (longer than ``max_seconds`` or too many channels).
    """
    try:
        p = Path(path).expanduser()
    except RuntimeError as err:  # "~user/..." of a user this machine does not have
        raise NotFound(f"drum file {str(path)!r} does not exist ({err})") from err
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError) as err:
        raise NotFound(f"drum file {str(p)!r} does not exist") from err
    except OSError as err:  # name too long, symlink loop, no permission: never an uncoded error
        if err.errno == errno.ELOOP:
            raise NotFound(f"drum file {str(p)!r} does not exist (a symlink loop)") from err
        raise BadAudio(f"cannot read {str(p)!r}: {err.strerror or err}") from err
    except ValueError as err:  # an embedded NUL character
        raise BadAudio(f"{str(p)!r} is not a usable file name: {err}") from err
    if not stat.S_ISREG(st.st_mode):
        raise BadAudio(f"{str(p)!r} is not a file")
    size = st.st_size
    if size == 0:
        raise BadAudio(f"{p.name!r} is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise TooLarge(f"{p.name!r} is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
    try:
        info = sf.info(str(p))
    except sf.LibsndfileError as err:
        raise _classify(p, err) from err
    except OSError as err:
        raise BadAudio(f"cannot read {str(p)!r}: {err.strerror or err}") from err
    if info.samplerate <= 0 or info.channels <= 0:
        raise BadAudio(f"{p.name!r} has no audio (rate {info.samplerate}, {info.channels} channels)")
    if info.channels > MAX_CHANNELS:
        raise TooLarge(f"{p.name!r} has {info.channels} channels; the limit is {MAX_CHANNELS}")
    # info.frames can be unknown/huge for some formats (mp3, ogg streams): bound the read itself.
    limit = int(max_seconds * info.samplerate)
    try:
        with sf.SoundFile(str(p)) as f:
            data = f.read(frames=limit + 1, dtype="float32", always_2d=True)  # [S, C]
    except sf.LibsndfileError as err:
        raise BadAudio(f"{p.name!r} is corrupt or truncated: {_sf_message(err)}") from err
    except (OSError, RuntimeError, ValueError) as err:
        raise BadAudio(f"{p.name!r} could not be decoded: {err}") from err
    if data.shape[0] > limit:
        raise TooLarge(f"{p.name!r} is longer than {max_seconds:g} s; trim the loop (the model uses 10 s)")
    if data.shape[0] == 0:
        raise BadAudio(f"{p.name!r} contains no samples")
    if data.shape[0] < MIN_SECONDS * info.samplerate:
        raise BadAudio(f"{p.name!r} holds only {data.shape[0]} samples ({1000 * data.shape[0] / info.samplerate:.1f} ms); "
                       "the file is truncated or not a drum loop")
    if not np.all(np.isfinite(data)):
        raise BadAudio(f"{p.name!r} contains NaN or infinite samples")
    samples = np.ascontiguousarray(data.T, dtype=np.float32)  # [C, S]
    return AudioData(samples=samples, sample_rate=int(info.samplerate), sha256=file_sha256(p),
                     path=str(p), format=str(info.format))


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
