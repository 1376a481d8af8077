"""``jasco-bridge doctor``: check the environment and say what to fix.

Each check is a small function returning a ``Check`` (ok / warn / fail, what was
found, what to do). torch is probed in a child interpreter so that ``bridge``
itself never imports it. Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ctypes.util
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from core.cpu import cpu_flags, cpu_has_native_bf16
from core.defaults import (
    DEFAULT_HOST,
    DEFAULT_MODEL,
    DEFAULT_PORT,
    DEFAULT_REPLY_PORT,
    ENGINE_DTYPES,
    OFFICIAL_MODELS,
    default_clip_dir,
)

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    found: str
    fix: str = ""


def check_python() -> Check:
    v = sys.version_info
    found = f"Python {v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v < (3, 11):
        return Check("python", FAIL, found, "install Python 3.11 or newer")
    return Check("python", OK, found)


_TORCH_PROBE = """
import json, torch
info = {"version": torch.__version__, "cuda": torch.cuda.is_available(), "devices": []}
if info["cuda"]:
    info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    info["bf16"] = torch.cuda.is_bf16_supported()
print(json.dumps(info))
"""


def check_torch() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("torch", FAIL, "not installed", "pip install torch==2.13.0 (python3 scripts/dev.py setup does it)")
    try:
        out = subprocess.run(
            [sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True, timeout=120, check=True
        ).stdout
        info = json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return Check("torch", FAIL, f"import failed: {exc}", "reinstall torch: pip install --force-reinstall torch==2.13.0")
    if info["cuda"]:
        dev = ", ".join(info["devices"])
        return Check("torch", OK, f"torch {info['version']}, CUDA: {dev} (bf16: {info.get('bf16')})")
    return Check(
        "torch",
        WARN,
        f"torch {info['version']}, CPU only",
        "renders work on CPU but slowly with the real models; a CUDA GPU and a CUDA build of torch are much faster",
    )


_MPS_PROBE = """
import json, platform, torch
mps = getattr(torch.backends, "mps", None)
built = bool(mps and mps.is_built())
info = {"machine": platform.machine(), "mac_ver": platform.mac_ver()[0], "built": built,
        "available": bool(built and mps.is_available()),
        "bf16": bool(built and hasattr(mps, "is_macos_or_newer") and mps.is_macos_or_newer(14, 0))}
print(json.dumps(info))
"""


def mps_check(info: dict[str, object]) -> Check:
    """What ``--device mps`` will do, from the probe's facts (see engine.pipeline: it falls back to CPU)."""
    where = f"macOS {info.get('mac_ver') or '?'} on {info.get('machine') or '?'}"
    if not info.get("built"):
        return Check("apple gpu", WARN, f"{where}: this torch has no MPS support; --device mps runs on the CPU",
                     "install the macOS torch wheel from PyPI (python3 scripts/dev.py setup)")
    if not info.get("available"):
        return Check("apple gpu", WARN, f"{where}: MPS is not available; --device mps runs on the CPU",
                     "MPS needs Apple silicon (or a Metal GPU) and a recent macOS")
    bf16 = "float32 and float16" + (", bfloat16" if info.get("bf16") else " (bfloat16 needs macOS 14)")
    return Check("apple gpu", OK, f"{where}: MPS available: serve --device mps ({bf16}; no float64 on the device)")


def check_apple_gpu() -> Check:
    """macOS only: whether the engine can run on the Apple GPU (MPS), probed in a child interpreter."""
    if importlib.util.find_spec("torch") is None:
        return Check("apple gpu", WARN, "torch not installed", "python3 scripts/dev.py setup")
    try:
        out = subprocess.run([sys.executable, "-c", _MPS_PROBE], capture_output=True, text=True, timeout=120,
                             check=True).stdout
        info = json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return Check("apple gpu", WARN, f"probe failed: {exc}", "reinstall torch")
    return mps_check(info)


# The packages the engine needs and what each is for; a missing one fails (fix: pip install NAME).
REQUIRED_MODULES: tuple[tuple[str, str], ...] = (
    ("transformers", "T5 text encoder, EnCodec"),
    ("torchdiffeq", "dopri5 solver"),
    ("soundfile", "audio files"),
    ("soxr", "resampling"),
    ("pyloudnorm", "loudness normalisation"),
    ("mido", "MIDI files"),
)


def check_module(name: str, purpose: str) -> Callable[[], Check]:
    def run() -> Check:
        if importlib.util.find_spec(name) is None:
            return Check(name, FAIL, "not installed", f"pip install {name}")
        return Check(name, OK, f"importable ({purpose})")

    return run


def check_portaudio() -> Check:
    lib = ctypes.util.find_library("portaudio")
    if importlib.util.find_spec("sounddevice") is None:
        return Check("audition", WARN, "sounddevice not installed", "pip install 'jasco-bridge[audition]' to hear clips (optional)")
    if lib is None:
        return Check("audition", WARN, "PortAudio library not found", "apt-get install libportaudio2 (optional: only --audition needs it)")
    return Check("audition", OK, f"sounddevice + {lib}")


def check_midi() -> Check:
    try:
        import rtmidi
    except ImportError:
        return Check("midi", FAIL, "python-rtmidi not installed", "pip install python-rtmidi")
    names = {getattr(rtmidi, a): a for a in dir(rtmidi) if a.startswith("API_")}
    apis = [names.get(a, str(a)) for a in rtmidi.get_compiled_api()]
    usable = []
    if "API_LINUX_ALSA" in apis and os.path.exists("/dev/snd/seq"):
        usable.append("ALSA")
    if "API_UNIX_JACK" in apis and ctypes.util.find_library("jack"):
        usable.append("JACK (needs a running jackd)")
    if "API_MACOSX_CORE" in apis:
        usable.append("CoreMIDI")
    if "API_WINDOWS_MM" in apis:
        usable.append("WinMM")
    found = f"compiled: {', '.join(apis) or 'none'}; usable: {', '.join(usable) or 'none'}"
    if not usable:
        return Check(
            "midi",
            WARN,
            found,
            "live MIDI input (--midi-in) needs ALSA (/dev/snd/seq) or JACK (apt-get install jackd2; jackd -d dummy); OSC works without it",
        )
    return Check("midi", OK, found)


def _cached_file(repos: tuple[str, ...], filenames: tuple[str, ...]) -> str | None:
    """The first of ``repos`` whose hub cache holds every one of ``filenames`` (no network)."""
    from huggingface_hub import try_to_load_from_cache

    for repo in repos:
        if all(isinstance(try_to_load_from_cache(repo, f), str) for f in filenames):
            return repo
    return None


def check_models() -> Check:
    """Which official checkpoints, and the T5/EnCodec they name, are in the Hugging Face cache."""
    try:
        importlib.import_module("huggingface_hub")
    except ImportError:
        return Check("models", FAIL, "huggingface_hub not installed", "python3 scripts/dev.py setup")
    from core.hubfiles import COMPRESSION_STATE_DICT, JASCO_COMPONENTS, STATE_DICT, candidates, download_command

    cached = [m for m in OFFICIAL_MODELS if _cached_file((m,), (STATE_DICT, COMPRESSION_STATE_DICT))]
    parts = {c: _cached_file(candidates(c), ("config.json", "model.safetensors")) for c in JASCO_COMPONENTS}
    missing_parts = [c for c, repo in parts.items() if repo is None]
    found = (f"checkpoints cached: {', '.join(cached) or 'none'}; "
             + "; ".join(f"{c}: {'cached' + (f' ({r})' if r != c else '') if r else 'missing'}"
                         for c, r in parts.items()))
    if cached and not missing_parts:
        others = [m for m in OFFICIAL_MODELS if m not in cached]
        return Check("models", OK, found + (f" (others: {download_command(*others)})" if others else ""))
    wanted = ([] if cached else [DEFAULT_MODEL]) + missing_parts
    return Check(
        "models",
        WARN,
        found,
        f"{download_command(*wanted)} (the -1B and -melody- checkpoints: name them too, or --all); "
        "until then --model tiny runs the embedded noise-making test model",
    )


def check_vocabulary() -> Check:
    """The chord vocabulary shipped for the official models (works offline) and the tiny model's."""
    from core.errors import VocabularyError
    from midi.tiny_vocab import chord_vocabulary_mapping
    from midi.vocab import ChordVocabulary

    try:
        official = ChordVocabulary.official()
    except VocabularyError as err:
        return Check("chord vocabulary", FAIL, str(err),
                     "reinstall jasco-bridge (pip install --force-reinstall --no-deps jasco-bridge; in a checkout: git checkout assets/), or pass --vocab PATH")
    sha = (official.sha256 or "?")[:12]
    return Check("chord vocabulary", OK,
                 f"official: {len(official)} labels from {official.source} (upstream chord_to_index_mapping.pkl, "
                 f"sha256 {sha}...); tiny model: {len(chord_vocabulary_mapping())} labels by rule; no download needed")


def check_clip_dir(clip_dir: Path) -> Callable[[], Check]:
    def run() -> Check:
        try:
            clip_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=clip_dir, prefix=".doctor-"):
                pass
        except OSError as exc:
            return Check("clip folder", FAIL, f"{clip_dir}: {exc.strerror or exc}", "pass --clip-dir to a writable folder")
        free = shutil.disk_usage(clip_dir).free
        if free < 200 * 2**20:
            return Check("clip folder", WARN, f"{clip_dir}: only {free // 2**20} MiB free", "free some disk space")
        return Check("clip folder", OK, f"{clip_dir} is writable ({free // 2**30} GiB free)")

    return run


def check_port(host: str, port: int, role: str) -> Callable[[], Check]:
    def run() -> Check:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return Check(f"{role} port", FAIL, f"udp {host}:{port} is busy ({exc.strerror})", "stop the other program or pass " + ("--port" if role == "listen" else "--reply-port"))
        finally:
            sock.close()
        return Check(f"{role} port", OK, f"udp {host}:{port} is free")

    return run


def check_tool(name: str, purpose: str, fix: str) -> Callable[[], Check]:
    def run() -> Check:
        path = shutil.which(name)
        if path is None:
            return Check(name, WARN, "not found", fix)
        return Check(name, OK, f"{path} ({purpose})")

    return run


def check_remote_engine(url: str, token_file: str | None) -> Callable[[], Check]:
    """A configured remote engine (``serve --engine``): reachable, token accepted, model and device."""

    def run() -> Check:
        from bridge.engines.remote import NotReady, RemoteOptions, fetch_info
        from core.errors import JascoError

        try:
            info = fetch_info(RemoteOptions.from_args(url, Path(token_file) if token_file else None))
        except JascoError as err:
            fix = {"engine_auth": "give --engine-token-file the file engine-serve's --token-file reads",
                   "engine_unreachable": "start jasco-bridge engine-serve there (and open its port to this machine)",
                   }.get(err.code, "see the message")
            return Check("remote engine", FAIL, f"{url}: [{err.code}] {err}", fix)
        except NotReady as err:
            return Check("remote engine", WARN, f"{url}: not ready yet ({err})",
                         "wait for engine-serve to say it is ready, then run doctor again")
        return Check("remote engine", OK, f"{url}: model {info.get('model')} on {info.get('device')} "
                     f"(engine {info.get('engine_version')}, token {'accepted' if token_file else 'not used'})")

    return run


def check_precision(dtype: str | None, compile: bool) -> Callable[[], Check]:
    """What ``serve --dtype`` (and ``--compile``) will run with on this CPU (the engine decides the same way:
    engine.precision.auto_precision; on CUDA auto keeps float16, audiocraft's setting there)."""

    def run() -> Check:
        native = cpu_has_native_bf16()
        flags = cpu_flags()
        if flags is None:
            cpu = "CPU flags unknown"
        else:
            cpu = "native bf16 (AVX512-BF16/AMX)" if native else "no native bf16" + (" (AVX2)" if "avx2" in flags else "")
        auto = "bfloat16" if native else "float32"
        chosen = dtype or "float32 (default, audiocraft's)"
        if dtype == "auto":
            chosen = f"auto -> {auto} on CPU"
        found = f"{cpu}; serve --dtype {chosen}{' --compile' if compile else ''}; --dtype auto here: {auto}"
        if dtype == "float16":
            return Check("precision", WARN, found, "float16 needs a CUDA device (serve --device cuda); on CPU use "
                         "bfloat16 or int8")
        return Check("precision", OK, found)

    return run


def all_checks(args: argparse.Namespace) -> list[Callable[[], Check]]:
    remote = [check_remote_engine(args.engine, args.engine_token_file)] if getattr(args, "engine", None) else []
    return remote + [
        check_python,
        check_torch,
        check_precision(getattr(args, "dtype", None), bool(getattr(args, "compile", False))),
        *([check_apple_gpu] if sys.platform == "darwin" else []),
        *(check_module(name, purpose) for name, purpose in REQUIRED_MODULES),
        check_portaudio,
        check_midi,
        check_models,
        check_vocabulary,
        check_clip_dir(Path(args.clip_dir)),
        check_port(args.host, args.port, "listen"),
        check_port(args.host, args.reply_port, "reply"),
        check_tool("node", "runs the device's tests", "apt-get install nodejs (tests only)"),
        check_tool("oscsend", "liblo peer used by tests", "apt-get install liblo-tools (tests only)"),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--reply-port", type=int, default=DEFAULT_REPLY_PORT)
    parser.add_argument("--clip-dir", default=str(default_clip_dir()))
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--engine", metavar="URL", default=None, help="also check this remote engine (serve --engine)")
    parser.add_argument("--dtype", choices=ENGINE_DTYPES, default=None, help="the precision serve will use (serve --dtype)")
    parser.add_argument("--compile", action="store_true", help="serve --compile")
    parser.add_argument("--engine-token-file", default=None, metavar="FILE", help="its token file (serve --engine-token-file)")


def run_checks(args: argparse.Namespace) -> list[Check]:
    results = []
    for check in all_checks(args):
        try:
            results.append(check())
        except Exception as exc:  # a broken check is itself a finding, never a crash
            results.append(Check(getattr(check, "__name__", "check"), FAIL, f"check crashed: {exc!r}", "report this"))
    return results


def format_table(results: Sequence[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        lines.append(f"[{r.status:>4}] {r.name:<{width}}  {r.found}")
        if r.fix and r.status != OK:
            lines.append(f"       {'':<{width}}  -> {r.fix}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    results = run_checks(args)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=1))
    else:
        print(format_table(results))
        fails = sum(r.status == FAIL for r in results)
        warns = sum(r.status == WARN for r in results)
        print(f"\n{fails} problem(s) to fix, {warns} warning(s)")
    return 1 if any(r.status == FAIL for r in results) else 0
