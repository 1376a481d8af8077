"""Clip post-processing in numpy: resample, cut to bars, fade, normalise (``[C, S]`` float32).

``process_audio`` applies them in that order to what the engine returned, as the
request's parameters say (``core.params``): soxr resampling to ``sample_rate``,
a sample-exact cut to ``bars`` at the session tempo, a short fade-out, and
loudness (pyloudnorm, ITU-R BS.1770) or peak normalisation.

A loop (``loop`` with ``bars``) is different: the engine returns exactly one period of
``L`` latent frames (the bars rounded up to whole frames), and ``loop_to_bars`` resamples
that period as a periodic signal (FFT, ``scipy.signal.resample``) to exactly the bars'
samples at ``sample_rate``: no cut, no fade, and the last sample flows into the first.
The period is at most one frame (20 ms) longer than the bars, so the content is sped up by
at most ``1/L`` (0.03 % for 8 bars at 90 bpm).

soxr, scipy and pyloudnorm are imported where they are used: ``serve`` imports this module
before it answers its first ping, and scipy.signal alone takes about a second to import
(``bench/startup.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import BadValue, OutputError
from core.requests import RenderRequest

FADE_MS = 10.0
PEAK_DBFS = -1.0


def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """soxr (HQ: 20-bit precision, linear phase) resampling of ``[C, S]``; identity when the rates are equal."""
    import soxr  # the DSP libraries load at the first clip, not before serve answers its first ping

    audio = np.asarray(audio, dtype=np.float32)
    if src_rate == dst_rate:
        return audio.copy()
    out = soxr.resample(np.ascontiguousarray(audio.T), src_rate, dst_rate, quality="HQ")  # [S', C]
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[0]).T)


def bars_samples(bars: int, bar_seconds: float, rate: int) -> int:
    """Samples in ``bars`` bars at ``rate``: ``round(bars * bar_seconds * rate)``."""
    return int(round(bars * bar_seconds * rate))


def trim_to_bars(audio: np.ndarray, rate: int, bars: int, bar_seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Cut ``[C, S]`` to exactly ``bars`` bars; ``OutputError`` when the engine returned less (never a
    silently shorter clip)."""
    available = int(audio.shape[-1])
    info: dict[str, Any] = {"bars": bars, "available_samples": available, "short": False, "loop": False, "note": ""}
    if bars <= 0:
        info.update(requested_samples=None, kept_samples=available)
        return audio, info
    want = bars_samples(bars, bar_seconds, rate)
    info["requested_samples"] = want
    if want > available:
        raise OutputError(f"{bars} bars at this tempo are {want / rate:.3f} s but the engine returned "
                          f"{available / rate:.3f} s; the clip would be cut short")
    info["kept_samples"] = want
    return audio[..., :want], info


def periodic_resample(audio: np.ndarray, samples: int) -> np.ndarray:
    """One period ``[C, S]`` -> ``[C, samples]`` of the same period (band-limited FFT resampling)."""
    x = np.asarray(audio, dtype=np.float64)
    if samples == x.shape[-1]:
        return np.asarray(audio, dtype=np.float32).copy()
    import scipy.signal  # ~1 s of imports: at the first looped clip, not at start

    return np.ascontiguousarray(scipy.signal.resample(x, samples, axis=-1), dtype=np.float32)


def loop_to_bars(period: np.ndarray, source_rate: int, rate: int, bars: int,
                 bar_seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """One loop period at ``source_rate`` -> exactly ``bars`` bars at ``rate`` (see the module docstring)."""
    available = int(period.shape[-1])
    want = bars_samples(bars, bar_seconds, rate)
    period_s = available / source_rate
    if period_s + 1e-9 < bars * bar_seconds or period_s > bars * bar_seconds + 0.05:
        raise OutputError(f"{bars} bars at this tempo are {bars * bar_seconds:.3f} s but the engine returned a "
                          f"loop period of {period_s:.3f} s")
    info = {"bars": bars, "available_samples": int(round(available * rate / source_rate)), "short": False,
            "loop": True, "requested_samples": want, "kept_samples": want,
            "stretch": round(bars * bar_seconds / period_s, 9),
            "note": ""}
    return periodic_resample(period, want), info


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
    """BS.1770-4 integrated loudness (LUFS) of ``[C, S]`` with pyloudnorm's public ``Meter``;
    None when shorter than one 400 ms gating block."""
    if audio.shape[-1] < 0.4 * rate:  # pyloudnorm needs one whole 400 ms block
        return None
    import pyloudnorm  # pulls in scipy.signal: at the first loudness measure, not at start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyloudnorm warns on silence; -inf is handled by the caller
        return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(audio, dtype=np.float64).T))



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
    if request.is_loop:  # one period, resampled as a periodic signal to exactly the bars: no cut, no fade
        x, trim = loop_to_bars(x, int(source_rate), rate, int(p.bars), request.bar_seconds)
    else:
        x = resample(x, int(source_rate), rate)
        x, trim = trim_to_bars(x, rate, int(p.bars), request.bar_seconds)
        if p.bars:  # a cut clip fades out so its end does not click; the whole window stays as decoded
            x = fade_out(x, rate, FADE_MS)
    x, norm = normalize(x, rate, p.normalize, target_lufs=float(p.loudness_lufs), peak_dbfs=PEAK_DBFS)
    return Processed(audio=x, sample_rate=rate, trim=trim, normalization=norm)
