"""Finding and reading model files: local folders and the Hugging Face hub cache.

A model is a folder with ``state_dict.bin`` + ``compression_state_dict.bin`` (the
layout of ``facebook/jasco-*``), or a hub id resolved through huggingface_hub's
cache (``local_files_only`` / ``HF_HUB_OFFLINE`` honoured). Names the checkpoint
refers to (``t5-base``, ``facebook/encodec_32khz``) resolve to a folder of that
name beside the checkpoint first, then to the hub cache.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelLoadError, ModelUnavailable
from core.hubfiles import (
    CHECKPOINT_FILES,
    COMPONENT_FILES,
    COMPRESSION_STATE_DICT,
    STATE_DICT,
    candidates,
    check_remote,
    download_command,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedModel:
    path: Path  # folder holding state_dict.bin + compression_state_dict.bin
    model_id: str  # what the user asked for (hub id or folder)
    revision: str | None  # hub commit of the snapshot, None for a plain folder


def offline_mode(local_files_only: bool | None) -> bool:
    if local_files_only is not None:
        return bool(local_files_only)
    return any(os.environ.get(v, "") not in ("", "0", "false", "False") for v in ("HF_HUB_OFFLINE", "JASCO_OFFLINE"))


_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


def _looks_like_path(spec: str) -> bool:
    """True unless ``spec`` has the shape of a hub id (``name`` or ``owner/name``)."""
    return not _HUB_NAME.match(spec) or ".." in spec


def _snapshot(repo_id: str, local_files_only: bool, allow_patterns: tuple[str, ...] | None = None) -> Path:
    from huggingface_hub import snapshot_download

    patterns = list(allow_patterns) if allow_patterns else None
    if not local_files_only:
        check_remote(repo_id, allow_patterns)  # before anything is written
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns))




def resolve_model_dir(spec: str | os.PathLike[str], local_files_only: bool | None = None) -> ResolvedModel:
    """A local folder or a hub id -> the folder with the checkpoint files."""
    text = os.fspath(spec)
    if not text:
        raise ModelUnavailable("no model given: pass a hub id (facebook/jasco-chords-drums-400M) or a folder")
    path = Path(text).expanduser()
    if path.is_dir():
        _require_files(path)
        return ResolvedModel(path.resolve(), text, None)
    if path.exists():
        raise ModelUnavailable(f"{path} is a file; pass the folder that holds {STATE_DICT} and {COMPRESSION_STATE_DICT}")
    if _looks_like_path(text) or "/" not in text:
        raise ModelUnavailable(
            f"model folder {path} does not exist (pass a folder with {STATE_DICT} + {COMPRESSION_STATE_DICT}, "
            "or a hub id such as facebook/jasco-chords-drums-400M)"
        )
    offline = offline_mode(local_files_only)
    try:
        folder = _snapshot(text, offline, CHECKPOINT_FILES)
    except Exception as exc:  # huggingface_hub raises many types (offline, HTTP, validation)
        raise ModelUnavailable(
            f"model {text} is not available{' offline' if offline else ''} ({type(exc).__name__}): "
            f"download it once with `{download_command(text)}`, "
            f"or pass a local folder that holds {STATE_DICT} and {COMPRESSION_STATE_DICT}"
        ) from exc
    _require_files(folder)
    return ResolvedModel(folder, text, folder.name if folder.parent.name == "snapshots" else None)


def _require_files(folder: Path) -> None:
    missing = [n for n in (STATE_DICT, COMPRESSION_STATE_DICT) if not (folder / n).is_file()]
    if missing:
        raise ModelUnavailable(f"model folder {folder} lacks {' and '.join(missing)}")


def resolve_named(
    name: str,
    beside: Path,
    *,
    override: str | os.PathLike[str] | None,
    local_files_only: bool | None,
    what: str,
    required: tuple[str, ...] = ("config.json",),
) -> Path:
    """Folder for a name the checkpoint refers to: override, folder beside the checkpoint, hub cache."""
    if override is not None:
        p = Path(os.fspath(override)).expanduser()
        if p.is_dir():
            return _check_named(p, what, required)
        name = os.fspath(override)
        if p.exists() or _looks_like_path(name):
            raise ModelUnavailable(f"{what} folder {p} does not exist")
    beside_dirs = [beside / name, beside / name.rsplit("/", 1)[-1]]
    for c in beside_dirs:
        if c.is_dir():
            return _check_named(c, what, required)
    offline = offline_mode(local_files_only)
    errors: list[str] = []
    for repo in candidates(name):
        try:
            return _check_named(_snapshot(repo, offline, COMPONENT_FILES), what, required)
        except ModelUnavailable:
            raise
        except Exception as exc:  # any hub failure: try the next alias, then explain
            errors.append(f"{repo}: {type(exc).__name__}")
    raise ModelUnavailable(
        f"{what} {name!r} not found: no folder {beside_dirs[0]} beside the checkpoint and not in the hub cache "
        f"({'; '.join(errors)}). Download it once with `{download_command(name)}`, put a folder "
        f"named {name.rsplit('/', 1)[-1]} next to the checkpoint, or pass its folder explicitly"
    )


def _check_named(folder: Path, what: str, required: tuple[str, ...]) -> Path:
    missing = [r for r in required if not (folder / r).is_file()]
    if missing:
        raise ModelUnavailable(f"{what} folder {folder} lacks {', '.join(missing)}")
    return folder


def load_torch_file(path: Path, mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)``; any failure -> ModelLoadError naming the file.

    ``mmap``: map the tensors from the file instead of reading them (pages are read when first
    touched, and shared with the page cache); files in torch's legacy (pre-zip) format cannot be
    mapped and are read as before.
    """
    import torch

    if not path.is_file():
        raise ModelUnavailable(f"checkpoint file {path} does not exist")
    if mmap and zipfile.is_zipfile(path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
                AttributeError, ImportError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            AttributeError, ImportError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
