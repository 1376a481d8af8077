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


# --- what the hub may say, as it documents it ("Hub Local Cache", https://huggingface.co/docs/hub/local-cache):
# a file's ETag is its git blob id (40 hex digits) or, for an LFS file, the sha256 of its content (64 hex
# digits, X-Linked-Etag); a revision resolves to a 40-hex commit; huggingface_hub names the cache's blob
# ``blobs/<etag>`` and its snapshot folder ``snapshots/<commit>``, so anything else in those fields would
# name a path outside the cache. A file name is a relative POSIX path inside the repository.
import os as _os  # noqa: E402
import re as _re  # noqa: E402

from core.errors import HubRefused  # noqa: E402

_ETAG = _re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_COMMIT = _re.compile(r"[0-9a-f]{40}")
INSECURE_ENDPOINT_ENV = "JASCO_ALLOW_INSECURE_ENDPOINT"


def etag_problem(etag: object) -> str | None:
    """Why ``etag`` (quotes and a weak ``W/`` prefix removed) is not one the hub sends; None when it is."""
    if not isinstance(etag, str) or not _ETAG.fullmatch(etag):
        return f"ETag {str(etag)[:80]!r} is neither a git blob id nor a sha256"
    return None


def commit_problem(commit: object) -> str | None:
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        return f"commit {str(commit)[:80]!r} is not a 40-hex git commit"
    return None


def filename_problem(name: object) -> str | None:
    """Why a repository file name would leave its snapshot folder; None when it stays inside."""
    if not isinstance(name, str) or not name or len(name) > 1024:
        return f"file name {str(name)[:80]!r} is empty or too long"
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or "\0" in name or ":" in parts[0] or \
            any(p in ("", ".", "..") for p in parts):
        return f"file name {name[:80]!r} is not a relative path inside the repository"
    return None


def check_endpoint() -> str:
    """The hub endpoint (``HF_ENDPOINT``); a plain-http one is refused unless on this machine or allowed
    explicitly (``JASCO_ALLOW_INSECURE_ENDPOINT=1``, ``download --allow-insecure-endpoint``): anyone on
    the path of plain http could answer for the hub."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    endpoint = str(constants.ENDPOINT)
    parts = urlsplit(endpoint)
    if parts.scheme == "https":
        return endpoint
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    allowed = _os.environ.get(INSECURE_ENDPOINT_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    if parts.scheme == "http" and (loopback or allowed):
        return endpoint
    raise HubRefused(f"HF_ENDPOINT {endpoint!r} is not https: anyone on the way could answer for the hub; "
                     f"use an https mirror, or set {INSECURE_ENDPOINT_ENV}=1 (download --allow-insecure-endpoint) "
                     "if you trust every network in between")


def check_remote(repo_id: str, allow_patterns: tuple[str, ...] | None = None) -> str:
    """Ask the hub what a download of ``repo_id`` would write, and check it before anything is written.

    huggingface_hub (2.4.0) builds cache paths from the commit, the file names and each file's ETag
    without checking them (an ETag ``../../x`` or ``/home/u/.bashrc`` becomes a path outside the cache).
    This fetches the same metadata first through the public API (``HfApi.model_info``,
    ``HfApi.list_repo_tree``, ``get_hf_file_metadata``) and refuses (``hub_refused``) anything the hub never sends: a commit that
    is not 40 hex digits, a file name that leaves the repository, an ETag that is neither a git blob id
    nor a sha256. Returns the commit ``main`` resolved to. (The download that follows asks again: an
    endpoint that answers differently the second time is not caught here; that needs the library's fix.)
    """
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import filter_repo_objects

    check_endpoint()
    api = HfApi()
    info = api.model_info(repo_id, revision="main")  # what snapshot_download asks first
    problem = commit_problem(info.sha)
    if problem is not None:
        raise HubRefused(f"{repo_id}: the hub's answer would write outside the cache ({problem}); nothing was written")
    names = [e.path for e in api.list_repo_tree(repo_id, revision=info.sha, recursive=True)
             if type(e).__name__ == "RepoFile"]
    for name in names:
        problem = problem or filename_problem(name)
    if problem is not None:
        raise HubRefused(f"{repo_id}: the hub's answer would write outside the cache ({problem}); nothing was written")
    wanted = list(filter_repo_objects(names, allow_patterns=list(allow_patterns) if allow_patterns else None))
    for name in wanted:
        meta = get_hf_file_metadata(hf_hub_url(repo_id, name, revision=info.sha))
        problem = etag_problem(meta.etag) or (commit_problem(meta.commit_hash) if meta.commit_hash else None)
        if problem is not None:
            raise HubRefused(f"{repo_id}/{name}: the hub's answer would write outside the cache ({problem}); "
                             "nothing was written")
    return str(info.sha)
