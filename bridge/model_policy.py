"""Which models a client may pick with ``/jasco/set model``.

One engine serves every client, so a model a client picks is loaded for all;
what a message may make the server do is therefore bounded:

* the server's own model (``serve --model``) and the embedded ``tiny`` model always;
* a local folder only when it holds the checkpoint files (``state_dict.bin`` and
  ``compression_state_dict.bin``, regular files);
* a hub id only when its checkpoint is already in the local Hugging Face cache,
  unless the server was started with ``--allow-model-download`` (then the engine
  may download it, with the loader's file filters, ``engine.hub``).

Everything else is refused at once with ``model_unavailable``, to that client
only, before anything is downloaded or loaded. Only metadata is looked at
(``stat``), never a file's contents, so this is safe on the OSC thread.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from bridge.session import looks_like_hub_id, validate_model
from core.errors import ModelUnavailable
from core.hubfiles import COMPRESSION_STATE_DICT, STATE_DICT

log = logging.getLogger(__name__)

CHECKPOINT_FILES = (STATE_DICT, COMPRESSION_STATE_DICT)  # the weights a checkpoint folder must hold


def hub_cache_dir() -> Path:
    """The hub cache folder, as huggingface_hub finds it (``HF_HUB_CACHE``, ``HF_HOME``/hub, ~/.cache),
    read at each call so the server follows its environment."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def cached_on_hub(repo_id: str) -> bool:
    """Whether the hub cache holds ``repo_id``'s checkpoint (``huggingface_hub.try_to_load_from_cache``)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for name in CHECKPOINT_FILES:
        try:
            found = try_to_load_from_cache(repo_id, name, cache_dir=str(hub_cache_dir()))
        except Exception as err:  # noqa: BLE001 - a malformed id or cache is "not cached"
            log.debug("hub cache lookup of %s/%s failed: %s", repo_id, name, err)
            return False
        if not isinstance(found, str) or not _regular(Path(found)):
            return False
    return True


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


class ModelPolicy:
    def __init__(self, server_model: str, *, allow_download: bool = False) -> None:
        self.server_model = server_model
        self.allow_download = allow_download

    def check(self, value: str) -> str:
        """The model name to use, or ``BadValue`` / ``ModelUnavailable`` saying why not."""
        model = validate_model(value)
        if model in ("tiny", self.server_model):
            return model
        folder = Path(model).expanduser()
        if folder.is_dir():
            missing = [n for n in CHECKPOINT_FILES if not _regular(folder / n)]
            if missing:
                raise ModelUnavailable(f"model folder {model!r} lacks {' and '.join(missing)}")
            return model
        if looks_like_hub_id(model):
            if self.allow_download or cached_on_hub(model):
                return model
            raise ModelUnavailable(
                f"model {model!r} is not in this machine's model cache, and this server does not download "
                "models for clients; download it once (`hf download ID`) or start the "
                "server with --allow-model-download")
        raise ModelUnavailable(f"model {model!r} is not available here")
