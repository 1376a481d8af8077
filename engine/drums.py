"""Drums conditioner: waveform -> first-codebook EnCodec codes -> blurred codeword vectors -> ``output_proj``.

The input is treated as a drum stem (optionally separated with demucs when it is
installed). It is brought to the model rate and to mono the way audiocraft's
``JASCO.generate_music`` does it (``convert_audio``: julius ``resample_frac`` with its
default filter on every channel, then the mean over channels), cut to the segment
and, when shorter, zero-padded to fill it (audiocraft's ``_prepare_drums_conditions``;
the default) or repeated (``fill="repeat"``, an option).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from core.errors import BadAudio, BadValue, EnvironmentProblem
from core.params import param

from .encodec import CompressionModel

logger = logging.getLogger(__name__)

FILLS = param("drums_fill").choices  # ("pad", "repeat"); default "pad" (audiocraft zero-pads)
MAX_INPUT_SECONDS = 600.0
# julius.resample_frac's defaults, which audiocraft's convert_audio uses (audiocraft/data/audio_utils.py)
JULIUS_ZEROS = 24
JULIUS_ROLLOFF = 0.945
# julius builds one windowed-sinc kernel row per output phase: [new/gcd, old/gcd + 2*width]. Rates
# whose ratio does not reduce (e.g. 44101 -> 32000) would need gigabytes; those use soxr instead.
MAX_KERNEL_ELEMENTS = 16_000_000
CACHE_SIZE = 16  # encoded drum loops kept (re-rendering a loop with new seeds is the common case)


def _julius_width(old: int, new: int) -> int:
    """Half-length of julius's resampling kernel for the reduced rates ``old`` -> ``new``."""
    return math.ceil(JULIUS_ZEROS * old / (min(old, new) * JULIUS_ROLLOFF))


def to_model_rate(wav: torch.Tensor, sample_rate: int, target_rate: int, num_samples: int) -> torch.Tensor:
    """float32 ``[C, S]`` at ``sample_rate`` -> mono ``[S']`` at ``target_rate``, as audiocraft converts drums.

    audiocraft (``models/jasco.py`` ``generate_music`` -> ``data/audio_utils.py`` ``convert_audio``):
    ``julius.resample_frac(wav, int(from_rate), int(to_rate))`` on every channel, then
    ``wav.mean(dim=-2)``. Only the first ``num_samples`` output samples are used later, so the input
    is first cut a safe margin past the last sample the kernel reads for them (julius pads the end by
    replicating the last sample; beyond the margin the outputs do not depend on the cut).
    """
    if sample_rate != target_rate:
        g = math.gcd(sample_rate, target_rate)
        old, new = sample_rate // g, target_rate // g
        width = _julius_width(old, new)
        if new * (old + 2 * width) > MAX_KERNEL_ELEMENTS:
            import soxr

            logger.warning("drums at %d Hz: the ratio to %d Hz does not reduce, so julius (audiocraft's "
                           "resampler) would need a huge kernel; resampling with soxr instead", sample_rate, target_rate)
            out = soxr.resample(np.ascontiguousarray(wav.numpy().T), sample_rate, target_rate, quality="HQ")
            wav = torch.from_numpy(np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, wav.shape[0]).T))
        else:
            import julius

            frames = -(-num_samples // new)  # conv frames (of ``new`` outputs each) that cover num_samples
            keep = frames * old + 2 * width + old + 64
            wav = julius.resample_frac(wav[:, :keep], sample_rate, target_rate)
    return wav.mean(dim=0)


def prepare_waveform(
    wav: Any, sample_rate: int, *, target_rate: int, num_samples: int, fill: str = "pad"
) -> np.ndarray:
    """Any ``[S]`` / ``[C, S]`` float waveform -> mono float32 ``[num_samples]`` at ``target_rate``."""
    if fill not in FILLS:
        raise BadValue(f"drums_fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise BadValue(f"drums sample rate must be a positive integer, got {sample_rate!r}")
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    try:
        raw = np.asarray(wav)
        arr = raw.astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise BadAudio(f"drums must be a float array [channels, samples] or [samples] ({exc})") from exc
    if np.issubdtype(raw.dtype, np.integer):  # PCM integers (e.g. int16; uint8 is offset by 128) -> [-1, 1)
        half = float(2 ** (8 * raw.dtype.itemsize - 1))
        if np.issubdtype(raw.dtype, np.unsignedinteger):
            arr = raw.astype(np.float64) - half  # float32 cannot hold uint32 offsets exactly
        arr = (arr / half).astype(np.float32)
    elif not np.issubdtype(raw.dtype, np.floating):
        raise BadAudio(f"drums must be numeric samples, got dtype {raw.dtype}")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise BadAudio(f"drums must have shape [channels, samples] or [samples], got {list(arr.shape)}")
    if arr.shape[0] > arr.shape[1] and arr.shape[1] <= 16:
        arr = arr.T  # [S, C] as soundfile returns it
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise BadAudio("drums audio is empty")
    if arr.shape[1] > MAX_INPUT_SECONDS * sample_rate:
        raise BadAudio(f"drums audio is longer than {MAX_INPUT_SECONDS:.0f} s")
    if not np.isfinite(arr).all():
        raise BadAudio("drums audio contains NaN or infinite samples")
    with torch.inference_mode():
        mono_t = to_model_rate(torch.from_numpy(np.ascontiguousarray(arr)), int(sample_rate), target_rate, num_samples)
    mono = np.ascontiguousarray(mono_t.numpy()[:num_samples], dtype=np.float32)
    if mono.shape[0] == 0:
        raise BadAudio("drums audio is empty after resampling")
    if mono.shape[0] < num_samples:
        if fill == "repeat":
            mono = np.tile(mono, -(-num_samples // mono.shape[0]))[:num_samples]
        else:
            mono = np.concatenate([mono, np.zeros(num_samples - mono.shape[0], dtype=np.float32)])
    return mono


def separate_drums(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Keep the drum stem of a mix with demucs (htdemucs); EnvironmentProblem if it is unavailable."""
    try:
        from demucs.apply import apply_model
        from demucs.audio import convert_audio
        from demucs.pretrained import get_model
    except ImportError as exc:
        raise EnvironmentProblem("drum separation needs the optional package demucs (pip install demucs)") from exc
    try:
        sep = get_model("htdemucs")
    except Exception as exc:  # demucs raises several types when weights are missing offline
        raise EnvironmentProblem(f"could not load the demucs model htdemucs ({exc})") from exc
    sep.eval()
    x = torch.from_numpy(mono)[None, None]  # [1, 1, S]
    with torch.inference_mode():
        x = convert_audio(x, sample_rate, sep.samplerate, sep.audio_channels)
        stems = apply_model(sep, x, device="cpu")  # [1, sources, C, S]
        drum = stems[:, sep.sources.index("drums")]
        drum = convert_audio(drum, sep.samplerate, sample_rate, 1)
    out = drum[0, 0].float().numpy()
    return np.ascontiguousarray(out[: mono.shape[0]])


class DrumsConditioner(nn.Module):
    def __init__(self, latent_dim: int, out_dim: int, blurring_factor: int, compression: CompressionModel) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.blurring_factor = blurring_factor
        self.output_proj = nn.Linear(latent_dim, out_dim)  # [out_dim, latent_dim]
        self.compression_model = compression  # the checkpoint's EnCodec copy (also the decoder)
        self._cache: OrderedDict[tuple[str, int, str], torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def blur(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, T, C]: each group of ``blurring_factor`` frames replaced by its mean (reflect-padded tail)."""
        b, t, c = z.shape
        f = self.blurring_factor
        if t % f:
            z = nn.functional.pad(z, (0, 0, 0, f - t % f), mode="reflect")
        z = z.reshape(b, -1, f, c).sum(dim=2) / f  # [B, T/f, C]
        z = z.unsqueeze(2).repeat(1, 1, f, 1).reshape(b, -1, c)  # [B, T', C]
        return z[:, :t]

    def latents(self, wav: torch.Tensor, num_frames: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """wav [B, 1, S] -> (encoder latents [B, D, T'], codes [B, T'], blurred [B, T, D])."""
        enc = self.compression_model.encode(wav)  # [B, D, T']
        codes = self.compression_model.first_codes(enc)  # [B, T']
        vecs = self.compression_model.codes_to_latents(codes)  # [B, T', D]
        blurred = self.blur(vecs)
        return enc, codes, _align(blurred, num_frames)

    def blurred_cached(self, wavs: Sequence[np.ndarray], num_frames: int) -> list[torch.Tensor]:
        """Blurred latents [T, D] of mono waveforms (full segment), encoding only those not cached."""
        # codes computed under float16 autocast (audiocraft's GPU path) may differ: the precision is in the key
        device_type = self.output_proj.weight.device.type
        amp = str(torch.get_autocast_dtype(device_type)) if torch.is_autocast_enabled(device_type) else "off"
        keys = [(hashlib.sha1(np.ascontiguousarray(w, dtype=np.float32).tobytes()).hexdigest(), num_frames, amp)
                for w in wavs]
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
            for k in found:
                self._cache.move_to_end(k)
        todo = [i for i, k in enumerate(keys) if k not in found and keys.index(k) == i]
        if todo:
            device = self.output_proj.weight.device
            batch = torch.from_numpy(np.stack([np.asarray(wavs[i], dtype=np.float32) for i in todo]))[:, None]
            _, _, blurred = self.latents(batch.to(device), num_frames)  # [U, T, D]
            with self._lock:
                for j, i in enumerate(todo):
                    found[keys[i]] = blurred[j]
                    self._cache[keys[i]] = blurred[j]
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def forward(self, blurred: torch.Tensor) -> torch.Tensor:
        """blurred latents [N, T, D] (zeros = no drums) -> [N, T, out_dim]."""
        return self.output_proj(blurred.to(self.output_proj.weight))


def _align(x: torch.Tensor, length: int) -> torch.Tensor:
    """Cut or zero-pad [B, T, C] to T = length."""
    x = x[:, :length]
    if x.shape[1] < length:
        x = torch.cat([x, x.new_zeros(x.shape[0], length - x.shape[1], x.shape[2])], dim=1)
    return x
