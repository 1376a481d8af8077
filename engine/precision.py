"""Numeric precision of the vector field: which weights are cast (once, at load) and how it runs.

Precisions (``JascoPipeline.from_pretrained(dtype=...)``, ``render --dtype``):

- ``float32``: everything float32 (the default on CPU, as audiocraft's loader).
- ``float16`` (CUDA only; the default there): audiocraft's own layout -- the transformer layers
  in float16, ``emb``/``linear``/``out_norm``/time embedding/conditioners float32, the field under
  float16 autocast (models/loaders.py ``load_jasco_model`` builds the model with ``dtype=float16``
  on non-CPU devices; models/genmodel.py runs generate under ``torch.autocast``).
- ``bfloat16``: every linear layer of the per-evaluation path (``emb``, transformer, ``linear``,
  time embedding) in bfloat16, LayerNorms and conditioners float32, the field under bfloat16
  autocast with float32 positions and residual stream. Fast on CPUs with native bf16
  (AVX512-BF16 / AMX), and on GPUs; not an audiocraft setting.
- ``int8`` (CPU only): float32 compute with the transformer's linear layers (the packed q/k/v
  projections split into linears first) replaced by dynamically quantised int8 linears.

Weights are cast exactly once, here; the autocast of each evaluation then finds them in its
compute dtype and casts nothing of theirs. The ODE state and the solver stay float32 (the field
returns float32).

dopri5 with a reduced-precision field: the adaptive controller compares two solutions built from
the same rounded evaluations and, with tolerances below the field's rounding noise, shrinks the
step forever (measured on the conformance fixture: 404 evaluations instead of 32 in bfloat16, 620 in
int8, whose activations are quantised anew on every call).
:data:`DOPRI5_TOL_FLOOR` raises rtol/atol to a per-precision floor (measured; bench/engine.py).
float16 has no floor: it is audiocraft's own CUDA setting and the default rule keeps its
behaviour there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from core.cpu import cpu_has_native_bf16
from core.errors import BadValue

from .transformer import Attention

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16", "float16", "int8")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "qint8": "int8"}
_TORCH = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "int8": torch.float32}
# rtol/atol floor of dopri5 per precision (see the module doc; measured in bench/engine.py)
# (conformance fixture, dopri5 1e-5: float32 32 evaluations; bfloat16 404 without a floor, 80 at 1e-4, 50 at
# 3e-4, 38 at 1e-3; int8 620 without, 122 at 1e-4, 44 at 1e-3, 32 at 3e-3. The latent error vs float32 at the
# floor (0.4 % bf16, 0.8 % int8) is that of the precision itself, not of the looser tolerance.)
DOPRI5_TOL_FLOOR = {"bfloat16": 1e-3, "int8": 3e-3}


@dataclass(frozen=True)
class Precision:
    name: str  # one of PRECISIONS

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype of the field's matmuls (int8: float32 activations)."""
        return _TORCH[self.name]

    @property
    def autocast(self) -> torch.dtype | None:
        return None if self.name in ("float32", "int8") else self.compute_dtype

    def tolerance(self, tol: float) -> float:
        return max(tol, DOPRI5_TOL_FLOOR.get(self.name, 0.0))

    def __str__(self) -> str:
        return self.name

    @classmethod
    def of_dtype(cls, dtype: torch.dtype) -> "Precision":
        """The plain precision of a compute dtype (no device checks: pipelines built around a given model)."""
        names = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}
        if dtype not in names:
            raise BadValue(f"dtype must be one of float32, bfloat16, float16, got {dtype!r}")
        return cls(names[dtype])


AUTO = "auto"


def auto_precision(device: torch.device, native_bf16: bool | None = None) -> str:
    """What ``--dtype auto`` picks: bfloat16 on a CPU with native bf16 (AVX512-BF16 / AMX), else the device's
    audiocraft default (float32 on CPU and MPS, float16 on CUDA). Only when the user asks for ``auto``."""
    if device.type == "cpu":
        native = cpu_has_native_bf16() if native_bf16 is None else native_bf16
        return "bfloat16" if native else "float32"
    return "float16" if device.type == "cuda" else "float32"


def resolve_precision(device: torch.device, dtype: object) -> Precision:
    """The precision asked for on ``device`` (None = audiocraft's: float32 on CPU, float16 on CUDA;
    ``auto``: :func:`auto_precision`)."""
    if dtype is None:
        return Precision("float16" if device.type == "cuda" else "float32")
    if isinstance(dtype, str) and dtype.strip().lower() == AUTO:
        name = auto_precision(device)
        logger.info("--dtype auto on %s: %s", device, name)
        return Precision(name)
    if isinstance(dtype, torch.dtype):
        names = {v: k for k, v in _TORCH.items() if k != "int8"}
        name = names.get(dtype)
    elif isinstance(dtype, str):
        key = dtype.strip().lower()
        name = _ALIASES.get(key, key) if _ALIASES.get(key, key) in PRECISIONS else None
    else:
        name = None
    if name is None:
        raise BadValue(f"dtype must be one of {AUTO}, {', '.join(PRECISIONS)}, got {dtype!r}")
    if device.type == "cpu" and name == "float16":
        raise BadValue("float16 needs a CUDA device; use float32, bfloat16 or int8 on CPU")
    if device.type != "cpu" and name == "int8":
        raise BadValue("int8 (dynamic quantisation) runs on the CPU only; use float16 or bfloat16 on a GPU")
    if device.type == "cpu" and name == "bfloat16" and not cpu_has_native_bf16():
        logger.warning("this CPU has no native bfloat16 (AVX512-BF16/AMX): bfloat16 will be slow")
    return Precision(name)


def _flow_parts(model: nn.Module) -> list[nn.Module]:
    """The modules every evaluation runs (not the conditioners, not the decoder)."""
    return [getattr(model, n) for n in ("emb", "transformer", "out_norm", "linear", "temb", "temb_proj")]


def apply_precision(model: nn.Module, precision: Precision) -> None:
    """Cast (or quantise) the loaded model's weights for ``precision``, in place, once."""
    if precision.name == "float16":
        model.transformer.to(torch.float16)  # audiocraft's layout: the layers only (norms included)
    elif precision.name == "bfloat16":
        for part in _flow_parts(model):
            for module in part.modules():
                if isinstance(module, (nn.Linear, Attention)):  # Attention: packed in_proj + out_proj
                    module.to(torch.bfloat16)
    elif precision.name == "int8":
        for module in model.transformer.modules():
            if isinstance(module, Attention):
                module.split_projections()
        _quantize_linears(model.transformer)
    logger.debug("weights prepared for %s", precision)


def _quantize_linears(module: nn.Module) -> None:
    """Dynamic int8 quantisation (per output channel) of every ``nn.Linear`` in ``module``, in place.

    torch.ao.quantization is deprecated in favour of torchao but still ships with torch (2.13) and
    is the dependency-free way to reach fbgemm/oneDNN int8 kernels; its deprecation warnings are
    silenced here and nowhere else.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_.*deprecated", category=UserWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        quantize_dynamic(module, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)


def weight_matrices(model: nn.Module) -> list[torch.Tensor]:
    """The 2-D floating weights of the per-evaluation path (what a cast would copy)."""
    return [p for part in _flow_parts(model) for p in part.parameters() if p.dim() == 2 and p.is_floating_point()]
