"""Encoding a processed clip in memory: wav/flac PCM 16 or 24 bit, ogg vorbis, or float WAV.

``normalize none`` promises the samples as decoded, so a WAV clip is then written as
32-bit float (FLAC and OGG cannot hold floats: they clip to [-1, 1] and quantise).
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from bridge.wav_tempo import WavTempo, add_tempo_chunks
from core.errors import BadValue, OutputError

_SUBTYPES = {("wav", 16): "PCM_16", ("wav", 24): "PCM_24", ("flac", 16): "PCM_16", ("flac", 24): "PCM_24"}
_SF_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}


def encode(audio: np.ndarray, rate: int, fmt: str, bit_depth: int = 24, *, raw: bool = False,
           tempo: WavTempo | None = None) -> bytes:
    """Encode ``[C, S]`` float32 in memory (``raw``: float WAV, samples untouched; ``tempo``: a WAV
    file's ACID and ``smpl`` chunks)."""
    if fmt not in _SF_FORMATS:
        raise BadValue(f"format must be wav, flac or ogg, got {fmt!r}")
    if raw and fmt == "wav":
        subtype = "FLOAT"
    else:
        subtype = "VORBIS" if fmt == "ogg" else _SUBTYPES.get((fmt, int(bit_depth)))
        if subtype is None:
            raise BadValue(f"bit depth must be 16 or 24, got {bit_depth!r}")
        audio = np.clip(audio, -1.0, 1.0)
    buf = io.BytesIO()
    try:
        sf.write(buf, np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T), rate,
                 format=_SF_FORMATS[fmt], subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise OutputError(f"could not encode {fmt}: {err}") from err
    if tempo is not None and fmt == "wav":
        return add_tempo_chunks(buf.getvalue(), tempo)
    return buf.getvalue()
