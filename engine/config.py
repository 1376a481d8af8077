"""The checkpoint's ``xp.cfg`` read as plain data into frozen dataclasses.

The exported audiocraft checkpoints store their hydra config as an unresolved
YAML string. We parse it with ``yaml.safe_load`` and resolve OmegaConf-style
``${a.b.c}`` references ourselves, only in the sub-trees we read (the ``dora``
section holds ``${oc.env:USER}``, which is never touched). Every size comes
from here; nothing is hard-coded for the 400M or 1B models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from core.errors import BadConfig
from core.grid import FRAME_RATE, MELODY_BINS, SAMPLE_RATE, WINDOW_SECONDS

_REF = re.compile(r"\$\{([^}]*)\}")
_MISSING = object()

# Width of the T5 encoder output for the names audiocraft knows (its conditioner
# derives the output_proj input width from the name, not from the weights).
T5_DIMS: dict[str, int] = {
    "t5-small": 512,
    "t5-base": 768,
    "t5-large": 1024,
    "t5-3b": 1024,
    "t5-11b": 1024,
    "google/flan-t5-small": 512,
    "google/flan-t5-base": 768,
    "google/flan-t5-large": 1024,
    "google/flan-t5-xl": 2048,
    "google/flan-t5-xxl": 4096,
}


class XpConfig:
    """A parsed ``xp.cfg`` with lazy ``${a.b.c}`` resolution."""

    def __init__(self, tree: Mapping[str, Any], source: str = "xp.cfg") -> None:
        if not isinstance(tree, Mapping):
            raise BadConfig(f"{source}: expected a YAML mapping at the top level, got {type(tree).__name__}")
        self.tree = tree
        self.source = source

    @classmethod
    def from_yaml(cls, text: str, source: str = "xp.cfg") -> "XpConfig":
        if not isinstance(text, str):
            raise BadConfig(f"{source}: expected a YAML string, got {type(text).__name__}")
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadConfig(f"{source}: not valid YAML ({exc})") from exc
        return cls(tree if tree is not None else {}, source)

    def has(self, key: str) -> bool:
        return self._lookup(key, _MISSING, ()) is not _MISSING

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """Value at dotted ``key``, references resolved recursively."""
        value = self._lookup(key, default, ())
        if value is _MISSING:
            raise BadConfig(f"{self.source}: missing key {key!r}")
        return value

    def keys(self, key: str) -> list[str]:
        """Keys of the mapping at ``key`` without resolving its values (they may hold '???')."""
        node: Any = self.tree
        for part in key.split("."):
            if not (isinstance(node, Mapping) and part in node):
                raise BadConfig(f"{self.source}: missing key {key!r}")
            node = node[part]
        if not isinstance(node, Mapping) or not node:
            raise BadConfig(f"{self.source}: key {key!r} must be a non-empty mapping")
        return [str(k) for k in node]

    def _lookup(self, key: str, default: Any, stack: tuple[str, ...]) -> Any:
        if key in stack:
            raise BadConfig(f"{self.source}: circular reference through {' -> '.join(stack + (key,))}")
        node: Any = self.tree
        for part in key.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                return default
        return self._resolve(node, key, stack + (key,))

    def _resolve(self, value: Any, key: str, stack: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            if value == "???":
                raise BadConfig(f"{self.source}: key {key!r} is mandatory but has no value ('???')")
            whole = _REF.fullmatch(value)
            if whole:
                return self._ref(whole.group(1), key, stack)
            if _REF.search(value):
                return _REF.sub(lambda m: str(self._ref(m.group(1), key, stack)), value)
            return value
        if isinstance(value, Mapping):
            return {k: self._resolve(v, f"{key}.{k}", stack) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v, f"{key}[{i}]", stack) for i, v in enumerate(value)]
        return value

    def _ref(self, target: str, key: str, stack: tuple[str, ...]) -> Any:
        target = target.strip()
        if ":" in target:
            raise BadConfig(f"{self.source}: key {key!r} uses the resolver ${{{target}}}, which is not supported")
        value = self._lookup(target, _MISSING, stack)
        if value is _MISSING:
            raise BadConfig(f"{self.source}: key {key!r} refers to ${{{target}}}, which does not exist")
        return value

    # typed getters ---------------------------------------------------------
    def int_(self, key: str, default: Any = _MISSING) -> int:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
            raise BadConfig(f"{self.source}: key {key!r} must be an integer, got {v!r}")
        return int(v)

    def float_(self, key: str, default: Any = _MISSING) -> float:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BadConfig(f"{self.source}: key {key!r} must be a number, got {v!r}")
        return float(v)

    def bool_(self, key: str, default: Any = _MISSING) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            raise BadConfig(f"{self.source}: key {key!r} must be true or false, got {v!r}")
        return v

    def str_(self, key: str, default: Any = _MISSING) -> str:
        v = self.get(key, default)
        if not isinstance(v, str):
            raise BadConfig(f"{self.source}: key {key!r} must be a string, got {v!r}")
        return v

    def str_list(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        v = self.get(key, default)
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise BadConfig(f"{self.source}: key {key!r} must be a list of names, got {v!r}")
        return tuple(v)


@dataclass(frozen=True)
class TransformerConfig:
    dim: int
    num_heads: int
    num_layers: int
    hidden_scale: float = 4.0
    flow_dim: int = 128
    chords_dim: int = 0
    drums_dim: int = 0
    melody_dim: int = 0
    norm_first: bool = True
    bias_ff: bool = False
    bias_attn: bool = False
    bias_proj: bool = False
    positional_scale: float = 1.0
    max_period: float = 10000.0
    time_embedding_dim: int = 128
    layer_norm_eps: float = 1e-5

    @property
    def ff_dim(self) -> int:
        return int(self.hidden_scale * self.dim)

    @property
    def in_dim(self) -> int:
        return self.flow_dim + self.chords_dim + self.drums_dim + self.melody_dim


@dataclass(frozen=True)
class TextConfig:
    name: str = "t5-base"
    text_dim: int = 768  # T5 d_model (input width of output_proj)
    out_dim: int = 0  # = transformer dim
    normalize_text: bool = False


@dataclass(frozen=True)
class ChordsConfig:
    card: int = 194  # vocabulary size; card is the null chord
    out_dim: int = 16


@dataclass(frozen=True)
class DrumsConfig:
    sample_rate: int = SAMPLE_RATE
    out_dim: int = 2
    blurring_factor: int = 3
    latent_dim: int = 128
    frame_rate: float = FRAME_RATE
    segment_duration: float = WINDOW_SECONDS


@dataclass(frozen=True)
class MelodyConfig:
    card: int = MELODY_BINS
    out_dim: int = 16


@dataclass(frozen=True)
class JascoConfig:
    transformer: TransformerConfig
    text: TextConfig | None
    chords: ChordsConfig | None
    drums: DrumsConfig | None
    melody: MelodyConfig | None
    cross: tuple[str, ...] = ("description",)
    # conditions the text-CFG term nulls (attribute_dropout.symbolic / .wav keys)
    text_term_drops: tuple[str, ...] = ("chords", "self_wav")
    sample_rate: int = SAMPLE_RATE
    segment_duration: float = WINDOW_SECONDS
    frame_rate: float = FRAME_RATE
    latent_dim: int = 128
    latent_mean: float = 0.0
    latent_std: float = 1.0
    compression_name: str = "facebook/encodec_32khz"
    conditioner_names: tuple[str, ...] = field(default=())

    @property
    def sequence_length(self) -> int:
        return int(self.segment_duration * self.frame_rate)

    @property
    def supports_melody(self) -> bool:
        return self.melody is not None


# settings of transformer_lm that our transformer does not implement
_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "causal": (False, None),
    "past_context": (None,),
    "layer_scale": (None,),
    "xpos": (False, None),
    "qk_layer_norm": (False, None),
    "qk_layer_norm_cross": (False, None),
    "kv_repeat": (1, None),
    "skip_connections": (False, None),
    "activation": ("gelu", None),
    "norm": ("layer_norm", None),
    "positional_embedding": ("sin", None),
    "cross_attention_pos_emb": (False, None),
}


def parse_config(xp: XpConfig) -> JascoConfig:
    """Build the frozen model config from a parsed ``xp.cfg``; BadConfig names the key."""
    lm = "transformer_lm"
    for name, allowed in _UNSUPPORTED.items():
        key = f"fuser.{name}" if name == "cross_attention_pos_emb" else f"{lm}.{name}"
        value = xp.get(key, None)
        if value not in allowed:
            raise BadConfig(f"{xp.source}: {key} = {value!r} is not supported by this engine (expected {allowed[0]!r})")
    if not xp.bool_(f"{lm}.norm_first", True):
        raise BadConfig(f"{xp.source}: {lm}.norm_first = false (post-norm) is not supported by this engine")

    kinds: dict[str, str] = {}
    for name in xp.keys("conditioners"):
        kinds[name] = xp.str_(f"conditioners.{name}.model")

    text = chords = drums = melody = None
    dim = xp.int_(f"{lm}.dim")
    for name, kind in kinds.items():
        base = f"conditioners.{name}.{kind}"
        if kind == "t5":
            if name != "description":
                raise BadConfig(f"{xp.source}: the t5 conditioner must be named 'description', got {name!r}")
            t5_name = xp.str_(f"{base}.name")
            if xp.bool_(f"{base}.normalize_text", False):
                raise BadConfig(f"{xp.source}: {base}.normalize_text = true is not supported (needs spacy)")
            if t5_name not in T5_DIMS:
                raise BadConfig(f"{xp.source}: {base}.name = {t5_name!r} is not a known T5 model ({', '.join(T5_DIMS)})")
            text = TextConfig(name=t5_name, text_dim=T5_DIMS[t5_name], out_dim=dim)
        elif kind == "chords_emb":
            if name != "chords":
                raise BadConfig(f"{xp.source}: the chords conditioner must be named 'chords', got {name!r}")
            chords = ChordsConfig(card=xp.int_(f"{base}.card"), out_dim=xp.int_(f"{base}.out_dim"))
        elif kind == "drum_latents":
            if name != "self_wav":
                raise BadConfig(f"{xp.source}: the drums conditioner must be named 'self_wav', got {name!r}")
            drums = DrumsConfig(
                sample_rate=xp.int_(f"{base}.sample_rate"),
                out_dim=xp.int_(f"{base}.out_dim"),
                blurring_factor=xp.int_(f"{base}.blurring_factor", 3),
                latent_dim=xp.int_(f"{base}.compression_model_latent_dim", xp.get("compression_model_latent_dim", 128)),
                frame_rate=xp.float_(f"{base}.compression_model_framerate", xp.get("compression_model_framerate", FRAME_RATE)),
                segment_duration=xp.float_(f"{base}.segment_duration", xp.get("dataset.segment_duration", WINDOW_SECONDS)),
            )
        elif kind == "melody":
            if name != "melody":
                raise BadConfig(f"{xp.source}: the melody conditioner must be named 'melody', got {name!r}")
            melody = MelodyConfig(card=xp.int_(f"{base}.card"), out_dim=xp.int_(f"{base}.out_dim"))
        else:
            raise BadConfig(f"{xp.source}: conditioners.{name}.model = {kind!r} is not a JASCO conditioner")

    cross = xp.str_list("fuser.cross", ["description"])
    for key in ("sum", "prepend", "input_interpolate"):
        if xp.str_list(f"fuser.{key}", []):
            raise BadConfig(f"{xp.source}: fuser.{key} must be empty for JASCO, got {xp.get(f'fuser.{key}')!r}")
    if text is not None and tuple(cross) != ("description",):
        raise BadConfig(f"{xp.source}: fuser.cross must be [description], got {list(cross)!r}")

    drops: list[str] = []
    for group in ("symbolic", "wav"):
        if xp.get(f"attribute_dropout.{group}", None):  # absent / null / {} -> nothing dropped
            drops.extend(xp.keys(f"attribute_dropout.{group}"))

    def dim_of(key: str, present: bool) -> int:
        if not present:
            return xp.int_(f"{lm}.{key}", 0)
        return xp.int_(f"{lm}.{key}")

    tcfg = TransformerConfig(
        dim=dim,
        num_heads=xp.int_(f"{lm}.num_heads"),
        num_layers=xp.int_(f"{lm}.num_layers"),
        hidden_scale=xp.float_(f"{lm}.hidden_scale", 4),
        flow_dim=xp.int_(f"{lm}.flow_dim"),
        chords_dim=dim_of("chords_dim", chords is not None),
        drums_dim=dim_of("drums_dim", drums is not None),
        melody_dim=dim_of("melody_dim", melody is not None),
        norm_first=True,
        bias_ff=xp.bool_(f"{lm}.bias_ff", True),
        bias_attn=xp.bool_(f"{lm}.bias_attn", True),
        bias_proj=xp.bool_(f"{lm}.bias_proj", True),
        positional_scale=xp.float_(f"{lm}.positional_scale", 1.0),
        max_period=xp.float_(f"{lm}.max_period", 10000.0),
        time_embedding_dim=xp.int_(f"{lm}.time_embedding_dim", 128),
    )
    _check_transformer(tcfg, xp.source)
    if chords is not None and chords.out_dim != tcfg.chords_dim:
        raise BadConfig(f"{xp.source}: {lm}.chords_dim ({tcfg.chords_dim}) != chords out_dim ({chords.out_dim})")
    if drums is not None and drums.out_dim != tcfg.drums_dim:
        raise BadConfig(f"{xp.source}: {lm}.drums_dim ({tcfg.drums_dim}) != self_wav out_dim ({drums.out_dim})")
    if melody is not None and melody.out_dim != tcfg.melody_dim:
        raise BadConfig(f"{xp.source}: {lm}.melody_dim ({tcfg.melody_dim}) != melody out_dim ({melody.out_dim})")
    if xp.bool_("interleave_stereo_codebooks.use", False):
        raise BadConfig(f"{xp.source}: interleave_stereo_codebooks.use = true is not supported")

    latent_std = xp.float_("compression_model_latent_std")
    if latent_std <= 0:
        raise BadConfig(f"{xp.source}: compression_model_latent_std must be > 0, got {latent_std}")
    segment = xp.float_("dataset.segment_duration")
    frame_rate = xp.float_("compression_model_framerate")
    if segment <= 0 or frame_rate <= 0:
        raise BadConfig(f"{xp.source}: dataset.segment_duration and compression_model_framerate must be > 0")
    latent_dim = xp.int_("compression_model_latent_dim", tcfg.flow_dim)
    if latent_dim != tcfg.flow_dim:
        raise BadConfig(f"{xp.source}: {lm}.flow_dim ({tcfg.flow_dim}) != compression_model_latent_dim ({latent_dim})")
    ckpt = xp.get("compression_model_checkpoint", "//pretrained/facebook/encodec_32khz")
    comp_name = str(ckpt).removeprefix("//pretrained/") if ckpt else "facebook/encodec_32khz"
    return JascoConfig(
        transformer=tcfg,
        text=text,
        chords=chords,
        drums=drums,
        melody=melody,
        cross=tuple(cross),
        text_term_drops=tuple(drops),
        sample_rate=xp.int_("sample_rate"),
        segment_duration=segment,
        frame_rate=frame_rate,
        latent_dim=latent_dim,
        latent_mean=xp.float_("compression_model_latent_mean"),
        latent_std=latent_std,
        compression_name=comp_name,
        conditioner_names=tuple(kinds),
    )


def _check_transformer(t: TransformerConfig, source: str) -> None:
    lm = "transformer_lm"
    for key in ("dim", "num_heads", "num_layers", "flow_dim", "time_embedding_dim"):
        if getattr(t, key) <= 0:
            raise BadConfig(f"{source}: {lm}.{key} must be > 0, got {getattr(t, key)}")
    if t.dim % t.num_heads:
        raise BadConfig(f"{source}: {lm}.dim ({t.dim}) is not a multiple of {lm}.num_heads ({t.num_heads})")
    if t.dim % 2:
        raise BadConfig(f"{source}: {lm}.dim ({t.dim}) must be even for the sinusoidal positions")
    if t.hidden_scale <= 0:
        raise BadConfig(f"{source}: {lm}.hidden_scale must be > 0, got {t.hidden_scale}")


def config_from_yaml(text: str, source: str = "xp.cfg") -> JascoConfig:
    return parse_config(XpConfig.from_yaml(text, source))
