"""``jasco-bridge download`` against a local stand-in for the hub (no network).

The command runs as a real process with ``HF_ENDPOINT`` pointing at ``hub_standin`` and
``HF_HOME`` in a fresh folder, so what is tested is what a user runs. Resuming follows
huggingface_hub's documented behaviour (``file_download.http_get``: "If ConnectionError ...
happen while streaming data from the server ... we log a warning message and try to resume
the download a few times" with an HTTP Range request; since huggingface_hub PR 4228 a failed
transfer's partial file is not kept, so across runs the unit of resumption is the file:
finished files stay in the cache and are not fetched again).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from hub_standin import HubStandIn, Repo, serve

REPO = Path(__file__).resolve().parents[2]

CHECKPOINT = "facebook/jasco-chords-drums-400M"
BIG = bytes(range(256)) * 4096  # 1 MiB: several chunks, so a transfer can be cut in the middle


def _hub() -> HubStandIn:
    return HubStandIn(repos={
        CHECKPOINT: Repo({"state_dict.bin": BIG, "compression_state_dict.bin": b"c" * 5000, "README.md": b"# jasco\n",
                          ".gitattributes": b"*.bin filter=lfs\n"},
                         lfs=frozenset({"state_dict.bin", "compression_state_dict.bin"})),
        # only the canonical name exists here: "t5-base" must fall back to it, as the loader does
        "google-t5/t5-base": Repo({"config.json": b'{"d_model": 768}', "model.safetensors": b"s" * 3000,
                                   "spiece.model": b"sp", "tokenizer.json": b"{}", "tf_model.h5": b"T" * 9000,
                                   "flax_model.msgpack": b"F" * 9000, "rust_model.ot": b"R" * 9000},
                                  commit="1" * 40, lfs=frozenset({"model.safetensors", "tf_model.h5"})),
        "facebook/encodec_32khz": Repo({"config.json": b'{"model_type": "encodec"}', "model.safetensors": b"e" * 4000,
                                        "preprocessor_config.json": b"{}"}, commit="2" * 40,
                                       lfs=frozenset({"model.safetensors"})),
    })


@pytest.fixture
def hub() -> Iterator[tuple[HubStandIn, str]]:
    h = _hub()
    for url in serve(h):
        yield h, url


def _env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=endpoint,
               HF_HUB_DISABLE_TELEMETRY="1", no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _download(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge.cli", "download", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _snapshot(tmp_path: Path, repo: str, commit: str) -> Path:
    return tmp_path / "hf" / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / commit


def test_download_fetches_the_checkpoint_and_what_it_names(tmp_path: Path, hub: tuple[HubStandIn, str]) -> None:
    h, url = hub
    res = _download(_env(tmp_path, url))
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert f"fetched {CHECKPOINT}: 3 file(s)" in out  # the two checkpoints and the README: what the loader reads
    assert "fetched t5-base as google-t5/t5-base: 4 file(s)" in out  # config, safetensors, spiece, tokenizer; no TF/Flax/Rust
    assert "fetched facebook/encodec_32khz: 3 file(s)" in out
    assert "Fetching 4 files" in res.stderr and "100%" in res.stderr  # huggingface_hub's progress bars
    snap = _snapshot(tmp_path, CHECKPOINT, Repo({}).commit)
    assert hashlib.sha256((snap / "state_dict.bin").read_bytes()).digest() == hashlib.sha256(BIG).digest()
    t5 = _snapshot(tmp_path, "google-t5/t5-base", "1" * 40)
    assert sorted(p.name for p in t5.iterdir()) == ["config.json", "model.safetensors", "spiece.model", "tokenizer.json"]
    assert not h.gets("tf_model.h5") and not h.gets("flax_model.msgpack") and not h.gets("rust_model.ot")
    assert not (snap / ".gitattributes").exists()  # nothing of a checkpoint repo beyond the loader's filter

    # the engine's loader finds all three offline, through the very same cache
    probe = ("from pathlib import Path; from engine.hub import resolve_model_dir, resolve_named\n"
             f"m = resolve_model_dir({CHECKPOINT!r})\n"
             "print(m.path)\n"
             "print(resolve_named('t5-base', m.path, override=None, local_files_only=None, what='T5'))\n"
             "print(resolve_named('facebook/encodec_32khz', m.path, override=None, local_files_only=None, what='EnCodec'))\n")
    env = _env(tmp_path, "http://127.0.0.1:9", HF_HUB_OFFLINE="1")
    found = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [str(snap), str(t5), str(_snapshot(tmp_path, "facebook/encodec_32khz", "2" * 40))]

    # a second run fetches nothing and says so
    before = len(h.transfers())
    again = _download(_env(tmp_path, url))
    assert again.returncode == 0, again.stderr
    assert f"{CHECKPOINT} is already cached (3 file(s))" in again.stdout
    assert "t5-base as google-t5/t5-base is already cached" in again.stdout
    assert len(h.transfers()) == before  # no file transfer (only metadata requests)


def test_a_dropped_connection_resumes_with_a_range_request(tmp_path: Path, hub: tuple[HubStandIn, str]) -> None:
    from huggingface_hub import constants

    h, url = hub
    chunk = constants.DOWNLOAD_CHUNK_SIZE  # http_get writes (and so can resume) whole chunks of this size
    big = bytes(range(256)) * ((2 * chunk + chunk // 2) // 256)
    h.repos[CHECKPOINT].files["state_dict.bin"] = big
    h.cut_after[f"{CHECKPOINT}/state_dict.bin"] = chunk + chunk // 5  # the connection drops inside chunk 2
    res = _download(_env(tmp_path, url), "--no-components")
    assert res.returncode == 0, res.stdout + res.stderr
    gets = h.gets("/state_dict.bin")
    assert [g.range for g in gets] == [None, f"bytes={chunk}-"], gets
    assert "Trying to resume download" in res.stderr  # huggingface_hub says so
    data = (_snapshot(tmp_path, CHECKPOINT, Repo({}).commit) / "state_dict.bin").read_bytes()
    assert data == big


def test_an_interrupted_run_keeps_finished_files_and_the_next_run_fetches_the_rest(
    tmp_path: Path, hub: tuple[HubStandIn, str]
) -> None:
    h, url = hub
    h.stall_after[f"{CHECKPOINT}/state_dict.bin"] = 100_000
    env = _env(tmp_path, url)
    proc = subprocess.Popen([sys.executable, "-m", "bridge.cli", "download"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    snap = _snapshot(tmp_path, CHECKPOINT, Repo({}).commit)
    try:
        deadline = time.monotonic() + 60
        while not ((snap / "compression_state_dict.bin").is_file() and (snap / "README.md").is_file()
                   and h.gets("/state_dict.bin")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # stopped mid-file, as by a crash or a closed laptop
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    h.release()
    assert not (snap / "state_dict.bin").exists()

    res = _download(env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"fetched {CHECKPOINT}: 1 file(s)" in res.stdout  # only the file that was cut off
    assert len(h.gets("/compression_state_dict.bin")) == 1 and len(h.gets("/README.md")) == 1
    assert (snap / "state_dict.bin").read_bytes() == BIG
    assert "fetched facebook/encodec_32khz" in res.stdout


def test_offline_fetches_nothing_and_names_the_command(tmp_path: Path, hub: tuple[HubStandIn, str]) -> None:
    h, url = hub
    res = _download(_env(tmp_path, url, HF_HUB_OFFLINE="1"))
    assert res.returncode == 2
    assert h.requests == []
    assert "error [model_unavailable]" in res.stderr
    assert f"jasco-bridge download {CHECKPOINT} t5-base facebook/encodec_32khz" in res.stderr
    # once cached, offline says so without a request
    assert _download(_env(tmp_path, url)).returncode == 0
    count = len(h.requests)
    res = _download(_env(tmp_path, url, HF_HUB_OFFLINE="1"))
    assert res.returncode == 0, res.stderr
    assert f"{CHECKPOINT} is already cached" in res.stdout and len(h.requests) == count


def test_a_component_alone_is_fetched_with_the_component_filter(tmp_path: Path, hub: tuple[HubStandIn, str]) -> None:
    h, url = hub
    res = _download(_env(tmp_path, url), "t5-base")  # what the loader's error message tells a user to run
    assert res.returncode == 0, res.stdout + res.stderr
    assert "fetched t5-base as google-t5/t5-base: 4 file(s)" in res.stdout
    assert not h.gets("/state_dict.bin") and not h.gets("tf_model.h5")


def test_unknown_repo_and_bad_names(tmp_path: Path, hub: tuple[HubStandIn, str]) -> None:
    _, url = hub
    res = _download(_env(tmp_path, url), "facebook/no-such-model", "--no-components")
    assert res.returncode == 2
    assert "facebook/no-such-model does not exist on the hub" in res.stdout
    assert "jasco-bridge download facebook/no-such-model" in res.stderr
    for bad in ("tiny", "tiny:chords_drums", "./folder", "a/b/c", "../x"):
        res = _download(_env(tmp_path, url), bad)
        assert res.returncode == 2 and "error [bad_value]" in res.stderr, (bad, res.stderr)


def test_help_names_the_command_and_its_defaults(cli_exe: str) -> None:
    res = subprocess.run([cli_exe, "download", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert CHECKPOINT in res.stdout and "t5-base" in res.stdout and "--all" in res.stdout
    top = subprocess.run([cli_exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "download" in top
    render = subprocess.run([cli_exe, "render", "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--from clip.json" in render and "clip.wav.json" not in render  # sidecars are <stem>.json


# --- issue 24.8: what the hub says is checked before anything is written ----------------------------------------
@pytest.mark.parametrize("etag", ["/ABSOLUTE/planted", "../../../../planted"])
def test_an_etag_that_is_a_path_is_refused_and_nothing_is_written_outside(tmp_path: Path, etag: str) -> None:
    """huggingface_hub 2.4.0 builds ``blobs/<etag>`` unchecked: an endpoint answering an absolute path or
    ``../`` as a file's ETag made ``download`` write outside HF_HOME and say success."""
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = str(outside / "planted") if etag.startswith("/ABSOLUTE") else etag
    hub = HubStandIn(repos={CHECKPOINT: Repo({"state_dict.bin": b"s" * 3000, "README.md": b"# x\n"},
                                             lfs=frozenset({"state_dict.bin"}), etags={"state_dict.bin": planted})})
    for url in serve(hub):
        res = _download(_env(tmp_path, url), CHECKPOINT, "--no-components")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "error [hub_refused]" in res.stderr and "nothing was written" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    hf = (tmp_path / "hf").resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and hf not in p.resolve().parents]
    assert written == [], written  # nothing outside the cache (the old code wrote .../planted)
    assert not hub.transfers()  # refused before any file was fetched


def test_a_plain_http_endpoint_elsewhere_needs_an_explicit_yes(tmp_path: Path) -> None:
    env = _env(tmp_path, "http://192.0.2.1:9")  # TEST-NET-1: never reached, refused before any request
    res = _download(env, CHECKPOINT, "--no-components", timeout=60)
    assert res.returncode == 2 and "error [hub_refused]" in res.stderr and "--allow-insecure-endpoint" in res.stderr
