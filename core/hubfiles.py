"""What is fetched from the Hugging Face hub for a JASCO checkpoint: one table for the
engine's loader (``engine.hub``) and ``jasco-bridge download`` (``bridge.commands.download``).

Of a checkpoint repository (``facebook/jasco-*``) only what the loader reads is fetched: the two
audiocraft files (``state_dict.bin``, ``compression_state_dict.bin``) and small metadata, whatever
else the repository holds.
The checkpoint names two more models, the text encoder (``xp.cfg``:
``conditioners.description.t5.name`` = ``t5-base``) and the compression model
(``compression_state_dict.bin``: ``pretrained`` = ``facebook/encodec_32khz``), the same
for all four published checkpoints. Of those only what transformers reads is fetched:
their repos also hold TF, Flax, Rust and ONNX copies worth gigabytes. A legacy
name such as ``t5-base`` is tried first, then its canonical repo (``google-t5/t5-base``).
"""

from __future__ import annotations

STATE_DICT = "state_dict.bin"
COMPRESSION_STATE_DICT = "compression_state_dict.bin"

# allow_patterns: what the loader reads of a referenced component (T5, EnCodec) and of a checkpoint
COMPONENT_FILES: tuple[str, ...] = ("*.json", "*.safetensors", "*.model", "*.txt")
CHECKPOINT_FILES: tuple[str, ...] = (STATE_DICT, COMPRESSION_STATE_DICT, "*.json", "*.md")

HUB_ALIASES: dict[str, tuple[str, ...]] = {
    "t5-small": ("google-t5/t5-small",),
    "t5-base": ("google-t5/t5-base",),
    "t5-large": ("google-t5/t5-large",),
    "t5-3b": ("google-t5/t5-3b",),
    "t5-11b": ("google-t5/t5-11b",),
}

# the models every published JASCO checkpoint names (text encoder, compression model)
JASCO_COMPONENTS: tuple[str, ...] = ("t5-base", "facebook/encodec_32khz")


def candidates(name: str) -> tuple[str, ...]:
    """Hub repos tried for ``name``, in order: the name itself, then its canonical aliases."""
    return (name,) + HUB_ALIASES.get(name, ())


def download_command(*names: str) -> str:
    """The command a user runs to fetch ``names`` (what every error and ``doctor`` point to)."""
    return "jasco-bridge download" + "".join(f" {n}" for n in names)
