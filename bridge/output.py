"""Clip output: post-processing in numpy, atomic writes, and the JSON sidecar.

The engine gives mono float32 audio at 32 kHz for its whole window. ``write_clip``
turns it into the file the DAW picks up:

1. resample to the session's rate with soxr (``params.sample_rate``),
2. with ``params.bars`` set, cut to exactly ``bars * bar_seconds`` samples at that
   rate (sample-accurate, so the clip loops at the session tempo),
3. a short fade-out (``FADE_MS``) so the loop point does not click,
4. normalise: integrated loudness to ``params.loudness_lufs`` (pyloudnorm,
   ITU-R BS.1770) or peak to ``PEAK_DBFS`` or none,
5. encode (wav 16/24-bit, flac 16/24-bit, ogg vorbis) and write to a hidden
   temporary name inside the clip folder, fsync, ``os.replace`` into place; the
   sidecar (``<stem>.json``) is placed first, then the audio, so a visible clip
   always has its sidecar and never is partial.

The same function serves ``jasco-bridge render --from SIDECAR.json`` so a re-render
goes through identical post-processing (see ``docs/sidecar.md``).
"""

from __future__ import annotations

import datetime as _dt
import errno
import functools
import io
import json
import logging
import math
import os
import re
import signal
import tempfile
import time
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pyloudnorm
import scipy.signal
import soundfile as sf
import soxr

from core import __version__
from core.errors import BadValue, ClipDirUnwritable, DiskFull, JascoError, OutputError
from bridge.jobs import pid_alive
from core.requests import ChordEvent, RenderParams, RenderRequest

log = logging.getLogger(__name__)

SIDECAR_SCHEMA = "jasco-bridge.sidecar/1"
TEMP_PREFIX = ".jasco-tmp-"
FADE_MS = 10.0
PEAK_DBFS = -1.0
MELODY_FRAME_RATE = 50.0
MAX_SLUG_CHARS = 40
_SUBTYPES = {("wav", 16): "PCM_16", ("wav", 24): "PCM_24", ("flac", 16): "PCM_16", ("flac", 24): "PCM_24"}
_SF_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR}


# --- the clip folder -----------------------------------------------------------------------------
def default_clip_dir() -> Path:
    """The default clip folder (``core.defaults.default_clip_dir``: ``$JASCO_CLIP_DIR``,
    else ``$XDG_MUSIC_DIR/jasco-bridge``, else ``~/Music/jasco-bridge``)."""
    from core.defaults import default_clip_dir as _default

    return _default()


def ensure_clip_dir(clip_dir: str | os.PathLike[str]) -> Path:
    """Create the clip folder if missing and check it is a writable directory."""
    path = Path(clip_dir).expanduser()
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


# --- names -----------------------------------------------------------------------------------------
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


# --- signal processing (numpy, [C, S] float) --------------------------------------------------------
def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """soxr (HQ: 20-bit precision, linear phase) resampling of ``[C, S]``; identity when the rates are equal."""
    audio = np.asarray(audio, dtype=np.float32)
    if src_rate == dst_rate:
        return audio.copy()
    out = soxr.resample(np.ascontiguousarray(audio.T), src_rate, dst_rate, quality="HQ")  # [S', C]
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[0]).T)


def bars_samples(bars: int, bar_seconds: float, rate: int) -> int:
    """Samples in ``bars`` bars at ``rate``: ``round(bars * bar_seconds * rate)``."""
    return int(round(bars * bar_seconds * rate))


def trim_to_bars(audio: np.ndarray, rate: int, bars: int, bar_seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Cut ``[C, S]`` to exactly ``bars`` bars; keep everything when the window is shorter."""
    available = int(audio.shape[-1])
    info: dict[str, Any] = {"bars": bars, "available_samples": available, "short": False, "note": ""}
    if bars <= 0:
        info.update(requested_samples=None, kept_samples=available)
        return audio, info
    want = bars_samples(bars, bar_seconds, rate)
    info["requested_samples"] = want
    if want <= available:
        info["kept_samples"] = want
        return audio[..., :want], info
    full_bars = int(available // max(1, round(bar_seconds * rate)))
    info.update(
        kept_samples=available,
        short=True,
        note=(
            f"{bars} bars at this tempo are {want / rate:.3f} s but the model window is "
            f"{available / rate:.3f} s; kept the whole window ({full_bars} full bars)"
        ),
    )
    return audio, info


def fade_out(audio: np.ndarray, rate: int, ms: float = FADE_MS) -> np.ndarray:
    """Linear fade to zero over the last ``ms`` milliseconds (the last sample is exactly 0)."""
    n = min(int(round(rate * ms / 1000.0)), int(audio.shape[-1]))
    out = np.array(audio, dtype=np.float32, copy=True)
    if n > 0:
        ramp = np.linspace(1.0, 0.0, n, dtype=np.float32)
        out[..., -n:] *= ramp
    return out


def _peak_db(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def normalize(audio: np.ndarray, rate: int, mode: str, *, target_lufs: float = -14.0,
              peak_dbfs: float = PEAK_DBFS) -> tuple[np.ndarray, dict[str, Any]]:
    """Loudness (LUFS), peak (dBFS) or no normalisation; returns the audio and what was done.

    Loudness falls back to peak normalisation for silence and for clips shorter than
    pyloudnorm's 400 ms gating block; a loudness gain that would push the peak above
    ``peak_dbfs`` is reduced to that peak (the sidecar says so).
    """
    info: dict[str, Any] = {"requested": mode, "applied": mode, "measured_lufs": None,
                            "gain_db": 0.0, "peak_dbfs": None, "note": ""}
    audio = np.asarray(audio, dtype=np.float32)
    if mode == "none":
        info["peak_dbfs"] = _finite_or_none(_peak_db(audio))
        return audio.copy(), info
    peak_db = _peak_db(audio)
    if not math.isfinite(peak_db):
        info.update(applied="none", note="silent output: nothing to normalise")
        return audio.copy(), info
    gain_db: float
    if mode == "loudness":
        measured = _integrated_loudness(audio, rate)
        if measured is None or not math.isfinite(measured):
            info["applied"] = "peak"
            info["note"] = ("too short for a loudness measurement (< 0.4 s); peak-normalised instead"
                            if measured is None else "no measurable loudness (near silence); peak-normalised instead")
            gain_db = peak_dbfs - peak_db
        else:
            info["measured_lufs"] = round(measured, 3)
            gain_db = target_lufs - measured
            if peak_db + gain_db > peak_dbfs:
                limited = peak_dbfs - peak_db
                info["note"] = (f"reaching {target_lufs:g} LUFS would peak at {peak_db + gain_db:+.1f} dBFS; "
                                f"gain limited to a {peak_dbfs:g} dBFS peak "
                                f"(loudness {measured + limited:.1f} LUFS)")
                gain_db = limited
    elif mode == "peak":
        gain_db = peak_dbfs - peak_db
    else:
        raise BadValue(f"normalize must be loudness, peak or none, got {mode!r}")
    out = audio * np.float32(10.0 ** (gain_db / 20.0))
    np.clip(out, -1.0, 1.0, out=out)
    info["gain_db"] = round(gain_db, 4)
    info["peak_dbfs"] = round(min(peak_db + gain_db, 0.0), 3)
    return out, info


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _integrated_loudness(audio: np.ndarray, rate: int) -> float | None:
    """BS.1770-4 integrated loudness (LUFS) of ``[C, S]``; None when shorter than one 400 ms block.

    pyloudnorm's algorithm and K-weighting coefficients, vectorised: one ``sosfilt``
    pass and one segmented sum for the overlapping gating blocks instead of per-block
    loops (several times faster; equal to ``pyloudnorm.Meter.integrated_loudness`` within 1e-9 LU, see
    tests). Falls back to pyloudnorm itself if its internals ever change.
    """
    if audio.shape[-1] < 0.4 * rate:  # pyloudnorm needs one whole 400 ms block
        return None
    x = np.asarray(audio, dtype=np.float64)
    sos = _k_weighting_sos(int(rate))
    if sos is None or x.shape[0] > 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyloudnorm warns on silence; -inf is handled by the caller
            return float(pyloudnorm.Meter(rate).integrated_loudness(x.T))
    y = scipy.signal.sosfilt(sos, x, axis=-1)
    channels, samples = y.shape
    block, step = 0.4, 0.25  # 400 ms blocks, 75 % overlap
    n = int(np.round((samples / rate - block) / (block * step))) + 1
    j = np.arange(n)
    lo = (block * (j * step) * rate).astype(np.int64)
    hi = (block * (j * step + 1) * rate).astype(np.int64)
    # The block count is rounded (as pyloudnorm does), so the last block may reach past the end:
    # its sum then stops at the last sample, exactly like pyloudnorm's clamped slice data[l:u].
    lo = np.minimum(lo, samples)
    hi = np.minimum(hi, samples)
    # Sum of squares between consecutive block edges (one pass), then per block from their running sum.
    edges = np.unique(np.concatenate([[0], lo, hi]))
    edges = edges[edges < samples]
    segments = np.add.reduceat(np.square(y), edges, axis=-1)  # [C, len(edges)]
    running = np.concatenate([np.zeros((channels, 1)), np.cumsum(segments, axis=-1)], axis=-1)
    at = np.append(edges, samples)
    z = (running[:, np.searchsorted(at, hi)] - running[:, np.searchsorted(at, lo)]) / (block * rate)  # [C, n]
    gains = np.array([1.0, 1.0, 1.0, 1.41, 1.41])[:channels]
    with np.errstate(divide="ignore"):
        blocks = -0.691 + 10.0 * np.log10(gains @ z)
        gated = blocks >= -70.0
        if not gated.any():
            return -math.inf
        relative = -0.691 + 10.0 * np.log10(gains @ z[:, gated].mean(axis=1)) - 10.0
        gated = (blocks > relative) & (blocks > -70.0)
        if not gated.any():
            return -math.inf
        return float(-0.691 + 10.0 * np.log10(gains @ z[:, gated].mean(axis=1)))


@functools.lru_cache(maxsize=16)
def _k_weighting_sos(rate: int) -> np.ndarray | None:
    """pyloudnorm's two K-weighting stages at ``rate`` as second-order sections."""
    try:
        stages = list(pyloudnorm.Meter(rate)._filters.values())
        rows = [np.concatenate([np.asarray(f.b) * f.passband_gain, np.asarray(f.a)]) for f in stages]
    except (AttributeError, TypeError, ValueError):
        return None
    sos = np.array(rows, dtype=np.float64)
    if sos.shape != (2, 6):
        return None
    return sos / sos[:, 3:4]


@dataclass(frozen=True)
class Processed:
    audio: np.ndarray  # float32 [C, S] at sample_rate, ready to encode
    sample_rate: int
    trim: dict[str, Any]
    normalization: dict[str, Any]

    @property
    def samples(self) -> int:
        return int(self.audio.shape[-1])

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate


def process_audio(audio: np.ndarray, source_rate: int, request: RenderRequest) -> Processed:
    """Resample → trim to bars → fade-out → normalise (see the module docstring)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[-1] == 0:
        raise OutputError(f"the engine returned audio of shape {tuple(np.shape(audio))}; expected [C, S]")
    if not np.all(np.isfinite(x)):
        raise OutputError("the engine returned NaN or infinite samples")
    p = request.params
    rate = int(p.sample_rate)
    x = resample(x, int(source_rate), rate)
    x, trim = trim_to_bars(x, rate, int(p.bars), request.bar_seconds)
    x = fade_out(x, rate, FADE_MS)
    x, norm = normalize(x, rate, p.normalize, target_lufs=float(p.loudness_lufs), peak_dbfs=PEAK_DBFS)
    return Processed(audio=x, sample_rate=rate, trim=trim, normalization=norm)


def encode(audio: np.ndarray, rate: int, fmt: str, bit_depth: int = 24) -> bytes:
    """Encode ``[C, S]`` float32 in memory (wav/flac PCM 16 or 24, ogg vorbis)."""
    if fmt not in _SF_FORMATS:
        raise BadValue(f"format must be wav, flac or ogg, got {fmt!r}")
    subtype = "VORBIS" if fmt == "ogg" else _SUBTYPES.get((fmt, int(bit_depth)))
    if subtype is None:
        raise BadValue(f"bit depth must be 16 or 24, got {bit_depth!r}")
    buf = io.BytesIO()
    try:
        sf.write(buf, np.ascontiguousarray(audio.T), rate, format=_SF_FORMATS[fmt], subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise OutputError(f"could not encode {fmt}: {err}") from err
    return buf.getvalue()


# --- atomic writes -------------------------------------------------------------------------------------
def _os_error(err: OSError, what: str, clip_dir: Path) -> JascoError:
    if err.errno in _DISK_FULL:
        return DiskFull(f"no space left for {what} in {str(clip_dir)!r} ({err.strerror or err}); "
                        "free some space or choose another clip folder")
    if err.errno in _UNWRITABLE:
        return ClipDirUnwritable(f"cannot write {what} in {str(clip_dir)!r}: {err.strerror or err}")
    return OutputError(f"writing {what} in {str(clip_dir)!r} failed: {err.strerror or err}")


def write_temp(clip_dir: Path, data: bytes, suffix: str) -> Path:
    """Write ``data`` to a hidden temporary file in ``clip_dir`` (fsynced); removed on any error."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=clip_dir)
    except OSError as err:
        raise _os_error(err, "a temporary file", clip_dir) from err
    tmp = Path(name)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
    except OSError as err:
        _unlink_quietly(tmp)
        raise _os_error(err, f"the {suffix} file", clip_dir) from err
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes, *, sync_dir: bool = True) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    tmp = write_temp(path.parent, data, path.suffix)
    try:
        os.replace(tmp, path)
    except OSError as err:
        _unlink_quietly(tmp)
        raise _os_error(err, path.name, path.parent) from err
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if sync_dir:
        _fsync_dir(path.parent)
    return path


def _fsync_dir(path: Path) -> None:
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


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as err:
        log.warning("could not remove temporary file %s: %s", path, err)


# --- the sidecar -----------------------------------------------------------------------------------------
def build_sidecar(request: RenderRequest, processed: Processed, *, audio_file: str,
                  engine_info: Mapping[str, Any], nfe: int | None, job_id: str = "",
                  drums_sha256: str | None = None, created: _dt.datetime | None = None,
                  timings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to render the clip again bit for bit (schema: ``docs/sidecar.md``)."""
    p = request.params
    created = created or _dt.datetime.now(_dt.timezone.utc)
    req = request.to_dict()
    if drums_sha256 is not None:
        req["drums_sha256"] = drums_sha256
    return {
        "schema": SIDECAR_SCHEMA,
        "audio_file": audio_file,
        "created": created.isoformat(timespec="seconds"),
        "job_id": job_id,
        "tag": request.tag,
        "client": request.client,
        "prompt": request.prompt,
        "bpm": request.bpm,
        "time_signature": list(request.time_signature),
        "bars": p.bars,
        "bar_seconds": request.bar_seconds,
        "chords": [
            {"given": c.given, "label": c.label, "start_beat": c.start_beat,
             "start_seconds": c.start_seconds, "exact": c.exact, "reason": c.reason}
            for c in request.chords
        ],
        "drums_file": request.drums_path,
        "drums_sha256": drums_sha256 if drums_sha256 is not None else request.drums_sha256,
        "drums_fill": p.drums_fill,
        "separate_drums": p.separate_drums,
        "melody_frames": list(request.melody_frames) if request.melody_frames is not None else None,
        "melody_frame_rate": MELODY_FRAME_RATE,
        "seed": p.seed,
        "solver": p.solver,
        "steps": p.steps,
        "rtol": p.rtol,
        "atol": p.atol,
        "cfg_all": p.cfg_all,
        "cfg_txt": p.cfg_txt,
        "sample_rate": p.sample_rate,
        "format": p.format,
        "bit_depth": p.bit_depth,
        "normalize": p.normalize,
        "loudness_lufs": p.loudness_lufs,
        "fade_ms": FADE_MS,
        "model": request.model,
        "model_id": engine_info.get("model_id"),
        "model_revision": engine_info.get("model_revision"),
        "device": engine_info.get("device"),
        "dtype": engine_info.get("dtype"),
        "engine_version": engine_info.get("engine_version"),
        "engine_sample_rate": engine_info.get("sample_rate"),
        "bridge_version": __version__,
        "nfe": nfe,
        "seconds": processed.seconds,
        "samples": processed.samples,
        "channels": int(processed.audio.shape[0]),
        "trim": processed.trim,
        "normalization": processed.normalization,
        "timings": dict(timings or {}),
        "request": req,
    }


def load_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a sidecar; ``BadConfig`` when it is not one of ours."""
    from core.errors import BadConfig, NotFound

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise NotFound(f"sidecar {str(p)!r} does not exist") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadConfig(f"{p.name!r} is not a readable JSON sidecar: {err}") from err
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("jasco-bridge.sidecar/"):
        raise BadConfig(f"{p.name!r} is not a jasco-bridge sidecar (no 'schema' field)")
    if not isinstance(data.get("request"), dict):
        raise BadConfig(f"{p.name!r} has no 'request' object")
    return data


def request_from_sidecar(sidecar: Mapping[str, Any]) -> RenderRequest:
    """Rebuild the exact ``RenderRequest`` stored in a sidecar's ``request`` field."""
    from core.errors import BadConfig

    raw = dict(sidecar["request"]) if "request" in sidecar else dict(sidecar)
    try:
        params = RenderParams(**raw.pop("params", {}))
        chords = tuple(ChordEvent(**c) for c in raw.pop("chords", ()))
        ts = raw.pop("time_signature", (4, 4))
        melody = raw.pop("melody_frames", None)
        return RenderRequest(
            params=params, chords=chords, time_signature=(int(ts[0]), int(ts[1])),
            melody_frames=tuple(int(v) for v in melody) if melody is not None else None, **raw,
        )
    except JascoError:
        raise
    except (TypeError, ValueError, IndexError) as err:
        raise BadConfig(f"the sidecar's request does not describe a render: {err}") from err


# --- all together ------------------------------------------------------------------------------------------
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
               before_commit: Callable[[], None] | None = None) -> ClipResult:
    """Post-process ``audio`` (float32 ``[C, S]`` at ``source_rate``) and write clip + sidecar atomically.

    ``before_commit`` is called once the audio is written to its hidden temporary
    file and before anything becomes visible; whatever it raises (the render
    worker raises ``Cancelled`` for a job cancelled meanwhile) aborts the write
    with nothing left behind. Raises ``ClipDirUnwritable``, ``DiskFull`` or
    ``OutputError``; never leaves a partial or temporary file behind.
    """
    folder = ensure_clip_dir(clip_dir)
    processed = process_audio(audio, source_rate, request)
    p = request.params
    data = encode(processed.audio, processed.sample_rate, p.format, p.bit_depth)
    local = when or _dt.datetime.now()
    stem = unique_stem(folder, clip_stem(request.prompt, p.seed, local), p.format)
    audio_path = folder / f"{stem}.{p.format}"
    sidecar_path = folder / f"{stem}.json"
    sidecar = build_sidecar(request, processed, audio_file=audio_path.name, engine_info=engine_info or {},
                            nfe=nfe, job_id=job_id, drums_sha256=drums_sha256,
                            created=local.astimezone(_dt.timezone.utc), timings=timings)
    side_bytes = (json.dumps(sidecar, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    tmp_audio = write_temp(folder, data, f".{p.format}")
    try:
        if before_commit is not None:
            before_commit()
        atomic_write_bytes(sidecar_path, side_bytes, sync_dir=False)  # one folder sync below
        try:
            os.replace(tmp_audio, audio_path)
        except OSError as err:
            _unlink_quietly(sidecar_path)
            raise _os_error(err, audio_path.name, folder) from err
    finally:
        _unlink_quietly(tmp_audio)  # no-op once replaced
    _fsync_dir(folder)
    log.info("wrote %s (%.3f s, %d Hz, %s)", audio_path, processed.seconds, processed.sample_rate, p.format)
    return ClipResult(path=audio_path, sidecar_path=sidecar_path, seconds=processed.seconds,
                      samples=processed.samples, sample_rate=processed.sample_rate, sidecar=sidecar)
