"""JascoPipeline: load a checkpoint, turn requests into conditions, sample, decode.

``JascoPipeline.from_pretrained(model)`` takes a hub id, a local folder
(``state_dict.bin`` + ``compression_state_dict.bin``) or ``"tiny"`` (the embedded
random model, built on demand). ``generate(inputs, params)`` returns audio
``[B, 1, S]`` at 32 kHz, the latents ``[B, T, D]`` before denormalisation, and
the number of vector-field evaluations.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from core import params as P
from core.errors import BadValue, Cancelled, ModelLoadError, TooLarge, VocabularyError
from core.grid import SAMPLE_RATE
from core.requests import MAX_CHORDS, MAX_PROMPT_CHARS  # one limit per name: the front ends' (OSC, CLI)
from midi.vocab import ChordVocabulary

from .chords import CHORD_ORDERS, frame_chords
from .condcache import ConditionCache, conditions_key
from .config import JascoConfig, config_from_yaml
from .drums import FILLS, prepare_waveform, separate_drums
from .encodec import CompressionModel
from .guidance import MELODY_GUIDANCE, MODES, CfgTerm, GuidedField, ItemConditions, build_conditions, cfg_terms
from .hub import COMPRESSION_STATE_DICT, STATE_DICT, load_torch_file, resolve_model_dir, resolve_named
from .jasco import ConditionTensors, JascoModel
from .melody import prepare_melody
from .precision import Precision, apply_precision, resolve_precision
from .presets import NAMES as PRESET_NAMES, get_preset
from .samplers import SAMPLERS, SCHEDULES, get_sampler
from .timeline import generate_on_timeline, single_window, timeline_for
from .transformer import compile_transformer

logger = logging.getLogger(__name__)

MAX_BATCH = 64


def _num(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadValue(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one batch; defaults and ranges are the parameter table's (``core.params``)."""

    seed: int = 0  # a concrete seed: "random" (-1) is resolved by the front end, which records it
    solver: str = P.param("solver").default  # "euler" | "midpoint" | "dopri5"
    steps: int = P.param("steps").default  # euler / midpoint
    rtol: float = P.param("rtol").default  # dopri5
    atol: float = P.param("atol").default
    cfg_all: float = P.param("cfg_all").default
    cfg_txt: float = P.param("cfg_txt").default
    guidance: str = P.param("guidance").default  # "independent" | "audiocraft" (see engine.guidance)
    melody_guidance: str = P.param("melody_guidance").default  # "with_chords" (audiocraft) | "always"
    preset: str = P.param("preset").default  # "none" = the settings above; else engine.presets replaces them
    schedule: str = "uniform"  # time grid of the fixed-step solvers (engine.samplers.SCHEDULES)
    guidance_interval: tuple[float, float] | None = None  # multi-term CFG only for lo <= t <= hi

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= P.MAX_SEED:
            raise BadValue(f"seed must be an integer in 0..{P.MAX_SEED}, got {self.seed!r}")
        for p in P.SAMPLING:  # the seed is concrete here (no "random"), checked above
            if p.name != "seed":
                p.check(getattr(self, p.name))
        if self.preset not in PRESET_NAMES:
            raise BadValue(f"preset must be one of {', '.join(PRESET_NAMES)}, got {self.preset!r}")
        if self.schedule not in SCHEDULES:
            raise BadValue(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.guidance_interval is not None:
            gi = self.guidance_interval
            if (not isinstance(gi, (tuple, list)) or len(gi) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in gi)
                    or not 0.0 <= gi[0] <= gi[1] <= 1.0):
                raise BadValue(f"guidance_interval must be (lo, hi) with 0 <= lo <= hi <= 1, got {gi!r}")
            object.__setattr__(self, "guidance_interval", (float(gi[0]), float(gi[1])))
        if self.solver not in SAMPLERS:
            raise BadValue(f"unknown solver {self.solver!r}; choose one of {', '.join(SAMPLERS)}")
        if self.guidance not in MODES:
            raise BadValue(f"guidance must be one of {', '.join(MODES)}, got {self.guidance!r}")
        if self.melody_guidance not in MELODY_GUIDANCE:
            raise BadValue(f"melody_guidance must be one of {', '.join(MELODY_GUIDANCE)}, "
                           f"got {self.melody_guidance!r}")

    def resolved(self) -> "SamplingParams":
        """The settings that run: a preset other than ``none`` replaces the solver settings."""
        preset = get_preset(self.preset)
        if preset is None:
            return self
        return dataclasses.replace(self, solver=preset.solver, steps=preset.steps, rtol=preset.rtol,
                                   atol=preset.atol, schedule=preset.schedule,
                                   guidance_interval=preset.guidance_interval)


@dataclass(frozen=True, eq=False)
class GenerationInput:
    prompt: str = ""
    chords: tuple[tuple[str, float], ...] | None = None  # vocabulary labels, start seconds
    chord_order: str = P.param("chord_order").default  # "list" (audiocraft) | "sorted" (by start time)
    drums: np.ndarray | None = None  # float32 [C, S] or [S]
    drums_sample_rate: int = SAMPLE_RATE
    drums_fill: str = P.param("drums_fill").default  # "pad" (audiocraft: zeros) | "repeat" (loop the drums)
    separate_drums: bool = False  # demucs when installed
    melody: np.ndarray | None = None  # [MELODY_BINS, T] or [T, MELODY_BINS]
    # the clip's timeline (engine.timeline): length (0 = the model's window), loop, window hop
    seconds: float = 0.0
    loop: bool = False
    hop_beats: int = 0  # 0 = half the window rounded to whole beats
    beat_seconds: float = 0.0  # the tempo, for the hop in beats (0 = unknown)
    context: np.ndarray | None = None  # jam: latents [F, D] held as the first F frames (engine.continuation)
    loop_layout: str = "auto"  # a loop that fits in one window: "auto" | "cycle" | "rolled" | "fitted" (engine.timeline)

    def __post_init__(self) -> None:
        if self.prompt is None:
            object.__setattr__(self, "prompt", "")
        if not isinstance(self.prompt, str):
            raise BadValue(f"prompt must be a string, got {type(self.prompt).__name__}")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise TooLarge(f"prompt has {len(self.prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
        if self.chords is not None:
            if isinstance(self.chords, (str, bytes)) or not isinstance(self.chords, (tuple, list)):
                raise BadValue("chords must be a sequence of (label, start_seconds) pairs")
            if len(self.chords) > MAX_CHORDS:
                raise TooLarge(f"{len(self.chords)} chords is more than the limit of {MAX_CHORDS}")
            object.__setattr__(self, "chords", tuple(tuple(c) if isinstance(c, list) else c for c in self.chords))
        if self.chord_order not in CHORD_ORDERS:
            raise BadValue(f"chord_order must be one of {', '.join(CHORD_ORDERS)}, got {self.chord_order!r}")
        if self.drums_fill not in FILLS:
            raise BadValue(f"drums_fill must be one of {', '.join(FILLS)}, got {self.drums_fill!r}")
        if not isinstance(self.separate_drums, bool):
            raise BadValue("separate_drums must be true or false")


@dataclass(frozen=True, eq=False)
class GenerationOutput:
    audio: np.ndarray  # float32 [B, 1, S] at sample_rate
    latents: np.ndarray  # float32 [B, T, D], before denormalisation
    nfe: int  # vector-field evaluations (each one batched over CFG terms and items)
    sample_rate: int = SAMPLE_RATE
    eval_times: tuple[float, ...] = field(default=())
    timeline: Mapping[str, Any] | None = None  # frames, windows, hop, loop (engine.timeline)


# Apple silicon (``--device mps``), per PyTorch's MPS notes (https://docs.pytorch.org/docs/stable/notes/mps.html):
# no float64 on the device (the only float64 in the pipeline is torchdiffeq's time arithmetic, made float32
# there: samplers.ode_options); float16 autocast works; bfloat16 needs macOS 14 or newer. The pipeline's
# ops (Linear, LayerNorm, Embedding, scaled_dot_product_attention, GELU, pad, sin/cos/exp, cat; T5's
# matmul/softmax/ReLU/RMS norm; EnCodec's Conv1d/ConvTranspose1d/LSTM/ELU) all have MPS kernels; any that
# does not in a given torch runs on the CPU because the engine process sets PYTORCH_ENABLE_MPS_FALLBACK=1.
# The noise z0 is drawn on the CPU generator on every device, so a seed gives the same start everywhere.


def mps_problem() -> str | None:
    """Why the MPS device cannot be used here (None: it can), in PyTorch's documented terms."""
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_built():
        return "this torch build has no MPS support (Apple silicon needs the macOS wheel from PyPI)"
    if not mps.is_available():
        return "MPS is not available: it needs Apple silicon (or a Metal GPU) and a recent macOS"
    return None


def mps_bf16_supported() -> bool:
    """bfloat16 on MPS needs macOS 14 (Sonoma) or newer."""
    check = getattr(torch.backends.mps, "is_macos_or_newer", None)
    return bool(check(14, 0)) if check is not None else False


def _resolve_dtype(device: torch.device, dtype: object) -> torch.dtype:
    """The compute dtype (audiocraft's loader by default: float32 on CPU, float16 on CUDA, and generate
    under float16 autocast). See engine.precision. bfloat16 on MPS needs macOS 14: float32 before."""
    resolved = resolve_precision(device, dtype).compute_dtype
    if device.type == "mps" and resolved == torch.bfloat16 and not mps_bf16_supported():
        logger.warning("bfloat16 on MPS needs macOS 14 or newer: using float32")
        return torch.float32
    return resolved


def _resolve_device(device: object) -> torch.device:
    if device in ("auto", ""):
        device = "cuda" if torch.cuda.is_available() else ("mps" if mps_problem() is None else "cpu")
    try:
        dev = torch.device(device if device is not None else "cpu")  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as exc:
        raise BadValue(f"not a torch device: {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BadValue("device cuda was requested but no CUDA GPU is available")
    if dev.type == "mps":
        problem = mps_problem()
        if problem is not None:
            logger.warning("--device mps: %s; running on the CPU instead", problem)
            return torch.device("cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise BadValue(f"unsupported device {device!r} (cpu, cuda, mps)")
    return dev


def load_state_strict(model: torch.nn.Module, state: Mapping[str, Any], source: str, assign: bool = False) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what is wrong and names the file.

    ``assign``: the model's tensors BECOME the checkpoint's (no copy; the model may be built on the meta
    device). Floating tensors of another dtype are converted to the model's dtype first (exported
    checkpoints may store float16), so the loaded model has the dtypes it was built with.
    """
    if not isinstance(state, Mapping):
        raise ModelLoadError(f"{source}: best_state is not a mapping of tensors")
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    bad = [k for k in state if k in own and not isinstance(state[k], torch.Tensor)]
    shapes = [f"{k}: checkpoint {list(state[k].shape)} vs model {list(own[k].shape)}"
              for k in state if k in own and isinstance(state[k], torch.Tensor) and state[k].shape != own[k].shape]
    if missing or unexpected or shapes or bad:
        def listing(title: str, items: list[str]) -> str:
            shown = ", ".join(items[:12]) + (f", ... ({len(items) - 12} more)" if len(items) > 12 else "")
            return f"{title} ({len(items)}): {shown}"
        parts = [listing(t, i) for t, i in (("missing keys", missing), ("unexpected keys", unexpected),
                                            ("wrong shapes", shapes), ("not tensors", bad)) if i]
        raise ModelLoadError(f"checkpoint {source} does not match the model built from its xp.cfg: " + "; ".join(parts))
    state = dict(state)
    if assign:
        for k, v in state.items():
            want = own[k].dtype
            if v.dtype != want and v.is_floating_point() and want.is_floating_point:
                state[k] = v.to(want)
    try:
        model.load_state_dict(state, strict=True, assign=assign)
    except RuntimeError as exc:
        raise ModelLoadError(f"checkpoint {source}: {exc}") from exc
    if assign:
        left = [n for n, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
        if left:
            raise ModelLoadError(f"checkpoint {source} left {len(left)} tensor(s) without values: {', '.join(left[:8])}")


class JascoPipeline:
    """A loaded JASCO model ready to render. Thread-compatible, not thread-safe: one generate at a time."""

    def __init__(self, model: JascoModel, vocab: ChordVocabulary | None, *, device: torch.device,
                 dtype: torch.dtype, model_id: str = "<memory>", model_revision: str | None = None,
                 model_dir: Path | None = None, precision: Precision | None = None,
                 compile: bool = False) -> None:
        """``precision``: how ``from_pretrained`` prepared the weights (default: the plain ``dtype``; weights
        left as they are are cast by autocast per evaluation). ``compile``: compile the model's transformer
        IN PLACE with ``torch.compile`` (engine.transformer.compile_transformer; CUDA graphs on CUDA)."""
        self.model = model.eval()
        self.cfg: JascoConfig = model.cfg
        self.vocab = vocab
        self._device = device
        self.dtype = dtype
        self.precision = precision if precision is not None else Precision.of_dtype(dtype)
        self.compiled = bool(compile)
        self.condition_cache = ConditionCache()  # condition tensors across takes and presses (engine.condcache)
        if compile:
            compile_transformer(self.model.transformer, device)
        self.model_id = model_id
        self.model_revision = model_revision
        self.model_dir = model_dir
        if self.cfg.chords is not None:
            if vocab is None:
                raise VocabularyError("a model with chord conditioning needs its chord vocabulary")
            if len(vocab) != self.cfg.chords.card:
                raise VocabularyError(
                    f"the chord vocabulary {vocab.source} has {len(vocab)} labels but the model expects "
                    f"{self.cfg.chords.card} (conditioners.chords.chords_emb.card)"
                )

    # --- properties of the architecture contract ---------------------------------
    @property
    def sample_rate(self) -> int:
        return self.cfg.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.cfg.frame_rate

    @property
    def segment_duration(self) -> float:
        return self.cfg.segment_duration

    @property
    def supports_melody(self) -> bool:
        return self.cfg.supports_melody

    @property
    def device(self) -> str:
        return str(self._device)

    # --- loading ---------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model: str | os.PathLike[str], *, device: object = "cpu", dtype: object = None,
                        t5: str | os.PathLike[str] | None = None,
                        compression: str | os.PathLike[str] | None = None,
                        vocab: str | os.PathLike[str] | None = None,
                        local_files_only: bool | None = None, compile: bool = False) -> "JascoPipeline":
        """``dtype``: float32, bfloat16, float16 (CUDA) or int8 (CPU); see engine.precision. Weights are cast
        for it once, here. ``compile``: opt-in ``torch.compile`` of the model."""
        dev = _resolve_device(device)
        precision = resolve_precision(dev, dtype)
        dt = precision.compute_dtype
        if not isinstance(model, (str, os.PathLike)):
            raise BadValue(f"model must be a hub id, a folder or 'tiny', got {type(model).__name__}")
        spec = os.fspath(model)
        from . import tiny as _tiny  # lazy: engine-tools' builder

        if _tiny.is_tiny_name(spec):
            folder = _tiny.ensure_tiny_model(variant=_tiny.variant_from_name(spec))
            resolved_dir, model_id, revision = Path(folder), spec, None
        else:
            resolved = resolve_model_dir(spec, local_files_only)
            resolved_dir, model_id, revision = resolved.path, resolved.model_id, resolved.revision
        jasco = load_model(resolved_dir, t5=t5, compression=compression, local_files_only=local_files_only)
        chord_vocab = None
        if jasco.cfg.chords is not None:
            chord_vocab = ChordVocabulary.resolve(explicit=vocab, model_dir=resolved_dir)
        jasco.to(dev)
        if jasco.compression is not None:  # the decoder, also when no drums conditioner holds it
            jasco.compression.to(dev)
        if "description" in jasco.conditioners:
            jasco.conditioners["description"].move_encoder(dev)
        apply_precision(jasco, precision)
        logger.info("loaded %s from %s (%s, %s)", model_id, resolved_dir, dev, precision)
        return cls(jasco, chord_vocab, device=dev, dtype=dt, model_id=model_id, model_revision=revision,
                   model_dir=resolved_dir, precision=precision, compile=compile)

    # --- inputs -> conditions --------------------------------------------------------
    def prepare(self, inp: GenerationInput) -> ItemConditions:
        if not isinstance(inp, GenerationInput):
            raise BadValue(f"expected a GenerationInput, got {type(inp).__name__}")
        cfg = self.cfg
        T = cfg.sequence_length
        chords = None
        if inp.chords:
            if cfg.chords is None or self.vocab is None:
                raise BadValue(f"model {self.model_id} has no chord conditioning")
            fc = frame_chords(inp.chords, self.vocab, frame_rate=cfg.frame_rate, num_frames=T,
                              order=inp.chord_order)
            chords = tuple(fc) if fc is not None else None
        drums = None
        if inp.drums is not None:
            if cfg.drums is None:
                raise BadValue(f"model {self.model_id} has no drums conditioning")
            n = int(round(cfg.segment_duration * cfg.sample_rate))
            drums = prepare_waveform(inp.drums, inp.drums_sample_rate, target_rate=cfg.sample_rate,
                                     num_samples=n, fill=inp.drums_fill)
            if inp.separate_drums:
                drums = separate_drums(drums, cfg.sample_rate)
        melody = None
        if inp.melody is not None:
            if cfg.melody is None:
                logger.info("model %s has no melody conditioning: the melody is ignored", self.model_id)
            else:
                melody = prepare_melody(inp.melody, bins=cfg.melody.card, num_frames=T)
        return ItemConditions(prompt=inp.prompt, chords=chords, drums=drums, melody=melody)

    def conditions(self, inputs: Sequence[GenerationInput], params: SamplingParams
                   ) -> tuple[ConditionTensors, list[CfgTerm]]:
        items = [self.prepare(i) for i in self._check_batch(inputs)]
        terms = cfg_terms(params.cfg_all, params.cfg_txt, params.guidance)
        return self.cached_conditions(items, terms, params), terms

    def cached_conditions(self, items: Sequence[ItemConditions], terms: Sequence[CfgTerm], params: SamplingParams,
                          num_frames: int | None = None) -> ConditionTensors:
        """``build_conditions`` through the pipeline's cache (the same inputs reuse the same tensors)."""
        def build() -> ConditionTensors:
            with torch.inference_mode(), self._conditioning_autocast():
                return build_conditions(self.model, items, terms, params.guidance, params.melody_guidance,
                                        num_frames=num_frames)

        key = conditions_key(items, terms, params.guidance, params.melody_guidance, num_frames)
        return self.condition_cache.get(key, build)

    def _conditioning_autocast(self) -> contextlib.AbstractContextManager[Any]:
        """In float16, conditions are computed under float16 autocast, as audiocraft computes them inside
        generate's autocast (models/jasco.py _generate_tokens -> FlowMatchingModel.generate ->
        _multi_source_cfg_preprocess): text/drums/melody projections and the drum encoder in float16, T5
        in float32 (its own autocast is disabled), chord embeddings in float32. bfloat16 (not an audiocraft
        setting) keeps float32 conditions."""
        if self.dtype == torch.float16:
            return torch.autocast(device_type=self._device.type, dtype=torch.float16)
        return contextlib.nullcontext()

    def noise(self, seed: int, batch: int) -> torch.Tensor:
        """z0 = ``torch.manual_seed(seed); torch.randn(B, T, D)`` on CPU (without touching the global RNG)."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn((batch, self.cfg.sequence_length, self.cfg.latent_dim), generator=gen)

    def field(self, cond: ConditionTensors, terms: Sequence[CfgTerm],
              interval: tuple[float, float] | None = None) -> GuidedField:
        """The guided vector field; reduced precision = autocast to ``dtype`` (weights cast at load)."""
        autocast = None if self.dtype == torch.float32 else self.dtype
        return GuidedField(self.model, cond, terms, autocast, interval)

    @staticmethod
    def _check_batch(inputs: Sequence[GenerationInput]) -> list[GenerationInput]:
        if isinstance(inputs, GenerationInput):
            inputs = [inputs]
        items = list(inputs)
        if not items:
            raise BadValue("generate needs at least one GenerationInput")
        if len(items) > MAX_BATCH:
            raise TooLarge(f"batch of {len(items)} is larger than the limit of {MAX_BATCH}")
        return items

    # --- generation ------------------------------------------------------------------
    def generate(self, inputs: Sequence[GenerationInput], params: SamplingParams | None = None, *,
                 progress: Callable[[int, float], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 z0: torch.Tensor | np.ndarray | None = None) -> GenerationOutput:
        """Render a batch. ``z0`` overrides the seeded noise (tests, reproductions)."""
        params = params if params is not None else SamplingParams()
        if not isinstance(params, SamplingParams):
            raise BadValue(f"expected SamplingParams, got {type(params).__name__}")
        params = params.resolved()
        items = self._check_batch(inputs)
        if any(i.context is not None for i in items):  # a jam phrase continuing the previous one
            from .continuation import generate_continuation

            return GenerationOutput(**generate_continuation(self, items, params, progress=progress,
                                                            cancelled=cancelled, z0=z0))
        preset = get_preset(params.preset)
        prefer = preset.loop_layout if preset is not None else "rolled"
        plan = timeline_for(self, items, params.solver, prefer)  # a clip that loops or outgrows the window: engine.timeline
        if plan is not None:
            return GenerationOutput(**generate_on_timeline(self, items, params, plan, progress=progress,
                                                           cancelled=cancelled, z0=z0))
        if z0 is None:
            z0 = self.noise(params.seed, len(items))
        elif not isinstance(z0, torch.Tensor):
            try:
                z0 = torch.as_tensor(np.asarray(z0, dtype=np.float32))
            except (TypeError, ValueError) as exc:
                raise BadValue(f"z0 must be a float array [B, T, D] ({exc})") from exc
        expected = (len(items), self.cfg.sequence_length, self.cfg.latent_dim)
        if tuple(z0.shape) != expected:
            raise BadValue(f"z0 must have shape {list(expected)}, got {list(z0.shape)}")
        cond, terms = self.conditions(items, params)
        sampler = get_sampler(params.solver)
        rtol, atol = self.precision.tolerance(params.rtol), self.precision.tolerance(params.atol)
        if params.solver == "dopri5" and (rtol, atol) != (params.rtol, params.atol):
            logger.info("dopri5 tolerances raised to the %s floor: rtol %g, atol %g", self.precision, rtol, atol)
        with torch.inference_mode():
            result = sampler(self.field(cond, terms, params.guidance_interval), z0.to(self._device, torch.float32),
                             steps=params.steps, rtol=rtol, atol=atol, schedule=params.schedule,
                             callback=progress, cancelled=cancelled)
            if cancelled is not None and cancelled():
                raise Cancelled(f"generation cancelled after {result.nfe} function evaluations")
            latents = result.latents.float()
            audio = self.decode(latents)
        return GenerationOutput(
            audio=np.ascontiguousarray(audio.cpu().numpy(), dtype=np.float32),
            latents=np.ascontiguousarray(latents.cpu().numpy(), dtype=np.float32),
            nfe=result.nfe, sample_rate=self.sample_rate, eval_times=tuple(result.times),
            timeline={**single_window(self).describe(), "window_evaluations": result.nfe * len(items)},
        )

    def decode(self, latents: torch.Tensor | np.ndarray, keep: tuple[int, int] | None = None) -> torch.Tensor:
        """Normalised latents [B, T, D] -> audio [B, 1, S] (denormalise, EnCodec decoder, float32); ``keep`` =
        (first, stop): only the audio of those latent frames, the others decoded as context (engine.encodec)."""
        comp = self.model.compression
        if comp is None:
            raise ModelLoadError("this model has no compression model to decode with")
        z = torch.as_tensor(latents, dtype=torch.float32).to(self._device)
        if z.dim() != 3 or z.shape[-1] != self.cfg.latent_dim:
            raise BadValue(f"latents must have shape [B, T, {self.cfg.latent_dim}], got {list(z.shape)}")
        with torch.inference_mode(), torch.autocast(device_type=self._device.type, enabled=False):
            z = z * self.cfg.latent_std + self.cfg.latent_mean
            return comp.decode(z.permute(0, 2, 1), keep).float()


def load_model(folder: Path, *, t5: str | os.PathLike[str] | None = None,
               compression: str | os.PathLike[str] | None = None,
               local_files_only: bool | None = None) -> JascoModel:
    """Build and load a JascoModel from a checkpoint folder (T5 attached, EnCodec from the checkpoint)."""
    folder = Path(folder)
    sd_path = folder / STATE_DICT
    pkg = load_torch_file(sd_path, mmap=True)  # weights stay in the file's pages until used
    if not isinstance(pkg, Mapping) or "best_state" not in pkg or "xp.cfg" not in pkg:
        keys = list(pkg)[:8] if isinstance(pkg, Mapping) else type(pkg).__name__
        raise ModelLoadError(f"{sd_path} is not an exported JASCO checkpoint (needs best_state and xp.cfg; has {keys})")
    cfg = config_from_yaml(pkg["xp.cfg"], source=f"{sd_path} (xp.cfg)")
    comp_path = folder / COMPRESSION_STATE_DICT
    comp_pkg = load_torch_file(comp_path)
    name = comp_pkg.get("pretrained") if isinstance(comp_pkg, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ModelLoadError(
            f"{comp_path} does not name a pretrained compression model ('pretrained' key); "
            "only exported checkpoints that refer to a transformers EnCodec are supported"
        )
    comp_dir = resolve_named(name, folder, override=compression, local_files_only=local_files_only,
                             what="compression model")
    comp = CompressionModel.from_folder(comp_dir, load_weights=cfg.drums is None)
    if comp.sample_rate != cfg.sample_rate or abs(comp.frame_rate - cfg.frame_rate) > 1e-6:
        raise ModelLoadError(
            f"compression model {comp_dir} runs at {comp.sample_rate} Hz / {comp.frame_rate} frames/s but the "
            f"checkpoint expects {cfg.sample_rate} Hz / {cfg.frame_rate} frames/s"
        )
    if comp.latent_dim != cfg.latent_dim:
        raise ModelLoadError(f"compression model {comp_dir} has latent width {comp.latent_dim}, "
                             f"the checkpoint expects {cfg.latent_dim}")
    try:
        with torch.device("meta"):  # no memory and no random init for weights the checkpoint replaces
            model = JascoModel(cfg, comp)
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot build the model described by {sd_path}: {exc}") from exc
    load_state_strict(model, pkg["best_state"], str(sd_path), assign=True)
    model.eval().requires_grad_(False)
    if cfg.text is not None:
        t5_dir = resolve_named(cfg.text.name, folder, override=t5, local_files_only=local_files_only,
                               what="text encoder")
        model.conditioners["description"].load_t5(t5_dir)
    return model
