"""``jasco-bridge download [MODEL ...]``: fetch checkpoints and what they name into the hub cache.

    jasco-bridge download                                   # the default model, T5 and EnCodec
    jasco-bridge download facebook/jasco-chords-drums-melody-1B
    jasco-bridge download --all                             # the four official checkpoints

Each checkpoint is fetched with huggingface_hub's ``snapshot_download`` with the file
filters of the engine's loader (``core.hubfiles``), followed by the models every JASCO
checkpoint names (``t5-base``, ``facebook/encodec_32khz``; a legacy name falls back to its
canonical repo, as the loader does). huggingface_hub draws the progress bars, reads
``HF_ENDPOINT``, ``HF_HOME``/``HF_HUB_CACHE`` and ``HF_TOKEN``, and resumes: a dropped
connection continues with an HTTP Range request, and a run that was stopped keeps every
file it finished, so running the command again fetches only the rest. With
``HF_HUB_OFFLINE=1`` nothing is fetched: the command says what is cached and what is not.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.defaults import DEFAULT_MODEL, OFFICIAL_MODELS
from core.errors import BadValue, EnvironmentProblem, HubRefused, ModelUnavailable
from core.hubfiles import (
    CHECKPOINT_FILES,
    COMPONENT_FILES,
    HUB_ALIASES,
    INSECURE_ENDPOINT_ENV,
    check_endpoint,
    check_remote,
    JASCO_COMPONENTS,
    candidates,
    download_command,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wanted:
    """One thing to fetch: a name, the hub repos tried for it, its file filter."""

    name: str
    repos: tuple[str, ...]
    allow_patterns: tuple[str, ...] | None
    role: str


@dataclass(frozen=True)
class Fetched:
    name: str
    repo: str
    folder: Path
    new_files: int
    new_bytes: int
    total_files: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        f"  jasco-bridge download                 # {DEFAULT_MODEL} + {' + '.join(JASCO_COMPONENTS)}\n"
        "  jasco-bridge download facebook/jasco-chords-drums-melody-1B\n"
        "  jasco-bridge download --all           # the four official checkpoints\n"
        "HF_HOME / HF_HUB_CACHE (where), HF_ENDPOINT (a mirror), HF_TOKEN and HF_HUB_OFFLINE are honoured.\n"
        "Interrupted? Run the same command again: finished files are kept, the rest is fetched."
    )
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help=f"hub ids of JASCO checkpoints (default {DEFAULT_MODEL}); the text encoder and "
                        f"compression model they name ({', '.join(JASCO_COMPONENTS)}) come along")
    parser.add_argument("--all", action="store_true", help=f"the four official checkpoints: {', '.join(OFFICIAL_MODELS)}")
    parser.add_argument("--no-components", action="store_true",
                        help=f"only the checkpoints, not {' and '.join(JASCO_COMPONENTS)}")
    parser.add_argument("--allow-insecure-endpoint", action="store_true",
                        help=f"accept a plain-http HF_ENDPOINT on another machine (or set {INSECURE_ENDPOINT_ENV}=1); "
                             "anyone on the way could answer for the hub")


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
# names fetched with the component filter (text encoders, compression models), not as checkpoints
COMPONENT_NAMES = frozenset(JASCO_COMPONENTS) | frozenset(HUB_ALIASES) | frozenset(
    alias for aliases in HUB_ALIASES.values() for alias in aliases)


def plan(models: list[str], *, all_official: bool, components: bool) -> list[Wanted]:
    """What to fetch, in order, without duplicates: checkpoints, then the models they name."""
    names = list(OFFICIAL_MODELS) if all_official else []
    names += [m for m in dict.fromkeys(models) if m not in names]
    if not names:
        names = [DEFAULT_MODEL]
    for name in names:
        if name == "tiny" or name.startswith("tiny:"):
            raise BadValue(f"{name!r} is the embedded test model: it is built locally (jasco-bridge build-tiny), "
                           "never downloaded")
        if not _HUB_ID.match(name) or ".." in name:
            raise BadValue(f"{name!r} is not a hub id: pass one such as {DEFAULT_MODEL}")
    checkpoints = [n for n in names if n not in COMPONENT_NAMES]
    named = [n for n in names if n in COMPONENT_NAMES]
    if components and checkpoints:
        named += [c for c in JASCO_COMPONENTS if c not in named]
    return ([Wanted(n, (n,), CHECKPOINT_FILES, "checkpoint") for n in checkpoints]
            + [Wanted(c, candidates(c), COMPONENT_FILES, "named by the checkpoints") for c in named])


def _files(folder: Path) -> dict[Path, int]:
    """Blob -> size of every file in a snapshot folder (hub cache entries are links to blobs)."""
    if not folder.is_dir():
        return {}
    return {p.resolve(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def _blobs_in_cache(repo: str) -> set[Path]:
    """Every blob the hub cache already holds for ``repo``, complete snapshot or not."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        return set()
    return {f.blob_path.resolve() for r in info.repos if r.repo_id == repo and r.repo_type == "model"
            for rev in r.revisions for f in rev.files}


def _cached(repo: str, patterns: tuple[str, ...] | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, local_files_only=True,
                                      allow_patterns=list(patterns) if patterns else None))
    except Exception as exc:  # huggingface_hub raises several types for "not (completely) cached"
        log.debug("%s is not cached: %s", repo, exc)
        return None


def _explain(repo: str, exc: Exception) -> str:
    from huggingface_hub import errors

    if isinstance(exc, errors.GatedRepoError):
        return (f"{repo} is gated: accept its licence at https://huggingface.co/{repo} while logged in, then "
                "`hf auth login` (or set HF_TOKEN) and run this again")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return f"{repo} does not exist on the hub ({os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'})"
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{repo}: revision not found"
    return f"{repo}: {type(exc).__name__}: {exc}"


def fetch(item: Wanted, offline: bool) -> Fetched:
    """Fetch one item (first repo that works); raises ModelUnavailable naming every repo tried."""
    from huggingface_hub import snapshot_download

    problems: list[str] = []
    for repo in item.repos:
        if offline:
            folder = _cached(repo, item.allow_patterns)
            if folder is not None:
                return Fetched(item.name, repo, folder, 0, 0, len(_files(folder)))
            problems.append(f"{repo}: not in the cache")
            continue
        before = _blobs_in_cache(repo)
        try:
            check_remote(repo, item.allow_patterns)  # what would be written, checked first
            folder = Path(snapshot_download(repo, allow_patterns=list(item.allow_patterns)
                                            if item.allow_patterns else None))
        except HubRefused:
            raise
        except Exception as exc:  # huggingface_hub raises many types (HTTP, gated, offline, disk, validation)
            problems.append(_explain(repo, exc))
            continue
        after = _files(folder)
        new = {k: v for k, v in after.items() if k not in before}
        return Fetched(item.name, repo, folder, len(new), sum(new.values()), len(after))
    if offline:
        raise ModelUnavailable(
            f"{item.name} is not cached and HF_HUB_OFFLINE is set, so nothing was fetched "
            f"({'; '.join(problems)}): run `{download_command(item.name)}` with network access "
            "(HF_HUB_OFFLINE unset)")
    raise ModelUnavailable(f"could not fetch {item.name} ({'; '.join(problems)}); finished files are kept: "
                           f"run `{download_command(item.name)}` again to resume")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def run(args: argparse.Namespace) -> int:
    try:
        importlib.import_module("huggingface_hub")
    except ImportError as exc:
        raise EnvironmentProblem("huggingface_hub is not installed: python3 scripts/dev.py setup") from exc
    if args.allow_insecure_endpoint:
        os.environ[INSECURE_ENDPOINT_ENV] = "1"
    wanted = plan(list(args.models), all_official=args.all, components=not args.no_components)
    offline = _offline()
    if not offline:
        check_endpoint()  # a plain-http HF_ENDPOINT: refused before any request
    results: list[Fetched] = []
    failed: list[str] = []
    for item in wanted:
        print(f"{item.name} ({item.role}){': checking the cache (HF_HUB_OFFLINE is set)' if offline else ''}",
              flush=True)
        try:
            got = fetch(item, offline)
        except ModelUnavailable as err:
            print(f"  not fetched: {err}", flush=True)
            failed.append(item.name)
            continue
        results.append(got)
        via = f" as {got.repo}" if got.repo != item.name else ""
        if got.new_files:
            print(f"  fetched {item.name}{via}: {got.new_files} file(s), {_size(got.new_bytes)} -> {got.folder}",
                  flush=True)
        else:
            print(f"  {item.name}{via} is already cached ({got.total_files} file(s)) in {got.folder}", flush=True)
    if failed:
        hint = ("unset HF_HUB_OFFLINE and run" if offline else "run") + f" `{download_command(*failed)}`"
        raise ModelUnavailable(f"{len(failed)} of {len(wanted)} not fetched ({', '.join(failed)}): {hint} "
                               "again with network access; finished files are kept")
    print(f"done: {len(results)} model(s) in the Hugging Face cache; the engine finds them there "
          "(set HF_HUB_OFFLINE=1 to make sure nothing else is fetched)", flush=True)
    return 0
