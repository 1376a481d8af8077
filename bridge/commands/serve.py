"""``jasco-bridge serve``: run the OSC/MIDI server until Ctrl-C.

Starts the render worker (which loads the model in its engine process), the
OSC server, and optionally live MIDI input (``--midi-in``), audition of
finished clips (``--audition``) and a demo render (``--demo``). No torch here:
the model lives in the worker's engine process.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from core.defaults import (DEFAULT_HOST, DEFAULT_MODEL, DEFAULT_PORT, DEFAULT_REPLY_PORT, ENGINE_DTYPES,
                           default_clip_dir)
from bridge.vocabulary import VocabProvider
from core.errors import BadConfig, EnvironmentProblem, JascoError, VocabularyError
from core.requests import RenderParams

log = logging.getLogger(__name__)

DEMO_PROMPT = "warm lo-fi hip hop with dusty drums and mellow electric piano"
DEMO_CHORDS = (("C", 0.0), ("Am", 4.0), ("F", 8.0), ("G", 12.0))
DEMO_BPM = 120.0
DEMO_BARS = 4
# the loggers whose INFO lines are the server's log: where it listens, the model ready or failed
# (once, with its code and fix), one line per job (id, client, prompt, bars, seed, engine time, path)
SERVE_LOGGERS = ("bridge.commands.serve", "bridge.engines.local", "bridge.worker")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}; "
                        "anything but loopback needs --allow)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"UDP port to listen on (default {DEFAULT_PORT}; 0 = any free port)")
    parser.add_argument("--reply-port", type=int, default=DEFAULT_REPLY_PORT,
                        help=f"where replies go for clients that did not send /jasco/hello (default {DEFAULT_REPLY_PORT}; "
                        "0 = back to the sender's own port)")
    parser.add_argument("--clip-dir", type=Path, default=None, help=f"folder for rendered clips (default {default_clip_dir()})")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"hub id, local folder, or 'tiny' (the embedded noise model); default {DEFAULT_MODEL}")
    parser.add_argument("--vocab", type=Path, default=None, help="chord vocabulary (chord_to_index_mapping.pkl, .json, or a .tsv table like the shipped one)")
    parser.add_argument("--allow", nargs="+", default=[], metavar="IP",
                        help="client addresses or networks allowed to connect (needed with a non-loopback --host)")
    parser.add_argument("--allow-model-download", action="store_true",
                        help="let clients pick (/jasco/set model) hub models that are not downloaded yet; "
                             "without it they may pick only models already on this machine")
    parser.add_argument("--max-queue", type=int, default=16, help="jobs that may wait (default 16); more answer queue_full")
    parser.add_argument("--max-per-client", type=int, default=None, metavar="N",
                        help="jobs one client may have waiting (default three quarters of --max-queue); clients "
                             "take turns")
    parser.add_argument("--max-job-cost", type=float, default=None, metavar="COST",
                        help="refuse a render estimated above COST window evaluations of the 400M model "
                             "(windows x function evaluations x model size) with too_large (default 50000)")
    parser.add_argument("--device", default="cpu", help="torch device for the engine: cpu, cuda, cuda:1, mps (default cpu)")
    parser.add_argument("--dtype", choices=ENGINE_DTYPES, default=None,
                        help="the engine's precision (default: audiocraft's, float32 on CPU, float16 on CUDA); "
                        "bfloat16 is fast on GPUs and on CPUs with native bf16 (AVX512-BF16/AMX) only -- slower "
                        "than float32 on AVX2 CPUs; auto = bfloat16 where it is native, else the default; int8 = "
                        "CPU only; recorded in every sidecar (bench/engine.py --sections loop measures them)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model's transformer (slow first render; recorded in every sidecar)")
    parser.add_argument("--stall-timeout", default="600", metavar="SECONDS",
                        help="kill and restart an engine that sends no progress for this long mid-render; the job "
                        "fails with engine_died (default 600; inf = never)")
    parser.add_argument("--midi-in", metavar="PORT", default=None,
                        help="MIDI input port (name or part of it): played chords become the progression, "
                        "a mapped note/CC triggers a generation")
    parser.add_argument("--midi-map", type=Path, default=None, help='JSON file mapping notes/CCs to actions, e.g. {"trigger": {"note": 36}, "record": {"cc": 20, "bars": 4}, "params": {"cfg_all": {"cc": 21, "min": 0, "max": 10}}} (with --midi-in)')
    parser.add_argument("--midi-api", choices=("alsa", "jack", "coremidi", "winmm"), default=None,
                        help="MIDI backend for --midi-in (default: the system's; midi.ports.APIS)")
    parser.add_argument("--audition", nargs="?", const="", default=None, metavar="DEVICE",
                        help="play finished clips through this audio output (default device if none is named)")
    parser.add_argument("--demo", action="store_true",
                        help=f"render one demo clip at start ({', '.join(c for c, _ in DEMO_CHORDS)}, {DEMO_BARS} bars "
                        f"at {DEMO_BPM:g} bpm), print its path, keep serving")
    parser.add_argument("--engine", metavar="URL", default=None,
                        help="render on a remote engine (jasco-bridge engine-serve on a GPU machine), e.g. "
                        "http://gpu-box:8000; --model must name the model it serves")
    parser.add_argument("--engine-token-file", type=Path, default=None, metavar="FILE",
                        help="file holding the remote engine's bearer token (with --engine)")
    parser.add_argument("--engine-factory", default=None, help=argparse.SUPPRESS)  # tests and benchmarks


# --- audition ------------------------------------------------------------------------------------
class Auditioner:
    """Plays finished clips through sounddevice on its own thread (never blocks the server)."""

    def __init__(self, device: str | None) -> None:
        try:
            importlib.import_module("sounddevice")  # PortAudio is loaded here
        except (OSError, ImportError) as err:
            raise EnvironmentProblem(
                f"--audition needs PortAudio and the sounddevice package ({err}); "
                "install libportaudio2 (Debian/Ubuntu) or portaudio (Homebrew); the server runs on without it"
            ) from err
        self.device: str | int | None = int(device) if device and device.isdigit() else (device or None)

    def play(self, path: str) -> None:
        threading.Thread(target=self._play, args=(path,), name="jasco-audition", daemon=True).start()

    def _play(self, path: str) -> None:
        try:
            import sounddevice as sd
            import soundfile as sf

            data, rate = sf.read(path, dtype="float32", always_2d=True)
            sd.play(data, rate, device=self.device, blocking=True)
        except Exception as err:  # a missing output device must not disturb rendering
            log.warning("could not play %s: %s", path, err)


# --- demo -----------------------------------------------------------------------------------------
class _DemoListener:
    """Logs where the demo clip went (the serve log)."""

    def __init__(self) -> None:
        self.finished = threading.Event()

    def queued(self, job_id: str, position: int) -> None:
        log.info("demo: job %s queued", job_id)

    def started(self, job_id: str) -> None:
        log.info("demo: rendering %s", job_id)

    def progress(self, job_id: str, fraction: float) -> None:
        log.debug("demo %s %.0f%%", job_id, fraction * 100)

    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int) -> None:
        from bridge.demo_clip import replace_previous_demo

        try:
            replaced = replace_previous_demo(path)
        except JascoError as err:
            log.warning("could not record the demo clip [%s]: %s", err.code, err)
            replaced = []
        note = f"; replaced the previous demo clip {replaced[0].name}" if replaced else ""
        print(f"demo clip: {path} ({seconds:.2f} s at {bpm:g} bpm, seed {seed}){note}", flush=True)
        self.finished.set()

    def error(self, job_id: str, code: str, message: str) -> None:
        log.error("demo failed [%s]: %s", code, message)
        self.finished.set()

    def cancelled(self, job_id: str) -> None:
        log.info("demo %s cancelled", job_id)
        self.finished.set()


def demo_request(vocab: Any, model: str) -> Any:
    from bridge.chord_events import TypedChord, map_chords
    from bridge.session import Session

    s = Session(("demo", 0))
    s.prompt = DEMO_PROMPT
    s.set_tempo(DEMO_BPM, 4, 4)
    if vocab is not None:
        s.chords = map_chords(DEMO_CHORDS, vocab)
    else:
        s.chords = tuple(TypedChord(c, c, b, True, "demo") for c, b in DEMO_CHORDS)
    s.params = RenderParams(bars=DEMO_BARS, seed=1)
    return s.build_request(vocab=vocab, default_model=model, tag="demo", client="")


# --- main -------------------------------------------------------------------------------------------
def _writable_clip_dir(clip_dir: Path) -> Path:
    """The clip folder, created when missing; a read-only one is refused at start, not at each generate."""
    from bridge.clips import ensure_clip_dir
    from core.errors import ClipDirUnwritable
    from core.fileio import probe_writable

    folder = ensure_clip_dir(clip_dir)
    probe_writable(folder, unwritable=ClipDirUnwritable)
    return folder


def _vocab_source(vocab: VocabProvider) -> str:
    try:
        v = vocab.get()
    except JascoError as err:
        return f"none ({err})"
    return f"{len(v)} labels from {v.source}"


def _log_at_info() -> None:
    """serve's own lines (listening, model ready or failed, one per job) show without -v, in the log format."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        for name in SERVE_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)


def run(args: argparse.Namespace) -> int:
    from bridge.server import BridgeServer, check_bind
    from bridge.engines.backend import positive_seconds
    from bridge.worker import RenderWorker

    _log_at_info()
    check_bind(args.host, args.allow)  # refuse before loading anything
    if args.max_queue < 1:
        raise BadConfig(f"--max-queue must be at least 1, got {args.max_queue}")
    stall_timeout = positive_seconds("--stall-timeout", args.stall_timeout)
    if args.midi_map is not None and args.midi_in is None:
        raise BadConfig("--midi-map needs --midi-in PORT")
    clip_dir = _writable_clip_dir((args.clip_dir or default_clip_dir()).expanduser())
    vocab = VocabProvider(args.vocab, args.model)
    vocab.startup()

    auditioner: Auditioner | None = None
    if args.audition is not None:
        try:
            auditioner = Auditioner(args.audition)
        except EnvironmentProblem as err:
            log.warning("[%s] %s", err.code, err)

    worker_kwargs: dict[str, Any] = {"model": args.model, "clip_dir": clip_dir, "max_queue": args.max_queue,
                                     "device": args.device, "dtype": args.dtype, "compile": args.compile}
    if args.max_per_client is not None:
        if args.max_per_client < 1:
            raise BadConfig(f"--max-per-client must be at least 1, got {args.max_per_client}")
        worker_kwargs["max_per_client"] = args.max_per_client
    if args.max_job_cost is not None:
        if not args.max_job_cost > 0:
            raise BadConfig(f"--max-job-cost must be positive, got {args.max_job_cost}")
        worker_kwargs["max_job_cost"] = args.max_job_cost
    if args.engine_factory:
        worker_kwargs["engine_factory"] = args.engine_factory
    if args.engine is not None:
        from bridge.engines.remote import RemoteEngines, RemoteOptions

        worker_kwargs["engines"] = RemoteEngines(RemoteOptions.from_args(args.engine, args.engine_token_file),
                                                 stall_timeout=stall_timeout)
        print(f"rendering on the remote engine at {args.engine}", flush=True)
        if args.dtype is not None or args.compile:
            raise BadConfig("--dtype and --compile choose the local engine's precision; with --engine set them "
                            "on the remote engine (jasco-bridge engine-serve --dtype ...)")
    elif args.engine_token_file is not None:
        raise BadConfig("--engine-token-file needs --engine URL")
    worker = RenderWorker(**worker_kwargs, stall_timeout=stall_timeout)
    server = BridgeServer(
        worker,
        host=args.host,
        port=args.port,
        reply_port=args.reply_port,
        vocab=vocab,
        allow=args.allow,
        model=args.model,
        on_clip=auditioner.play if auditioner is not None else None,
        allow_model_download=args.allow_model_download,
    )
    stop = threading.Event()
    serving = threading.Event()

    def _signal(signum: int, frame: Any) -> None:
        stop.set()
        if not serving.is_set():
            # Still starting (the journal, the clip folder, the engine): whatever the start is
            # waiting in stops now, so a signal always ends the server within the stop timeout.
            raise _StopRequested(signum)

    # Ctrl-C everywhere, SIGTERM on POSIX (Windows never delivers it: TerminateProcess just kills),
    # Ctrl-Break on Windows (SIGBREAK).
    stop_signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
    old_handlers = {sig: signal.signal(sig, _signal) for sig in stop_signals}
    live = None
    try:
        worker.start()
        server.start()
        server.report_interrupted()  # before the line below: a client that waits for it has heard them
        log.info("jasco-bridge listening on %s:%d (OSC/UDP), replies to port %s, clips in %s, chord vocabulary: %s",
                 server.host, server.port, args.reply_port or "of the sender", clip_dir, _vocab_source(vocab))
        if args.midi_in is not None:
            from bridge.midi_input import start_live_input

            chord_vocab = _vocab_or_none(vocab)
            if chord_vocab is None:
                raise VocabularyError(f"--midi-in needs a chord vocabulary: {vocab.error or 'pass --vocab PATH'}")
            live = start_live_input(server, args.midi_in, midi_map=args.midi_map, api=args.midi_api, vocab=chord_vocab)
            log.info("live MIDI input from %s", live.port_name)
        if args.demo:
            threading.Thread(target=_submit_demo, args=(vocab, worker, args.model, stop), name="jasco-demo",
                             daemon=True).start()
        serving.set()
        while not stop.wait(0.5):  # a timeout keeps Ctrl-C prompt on every platform
            continue
        return 0
    except _StopRequested as sig:
        log.info("stopped by signal %s while starting", sig.args[0])
        return 0
    finally:
        serving.set()  # a second signal during the stop below sets ``stop`` only
        for sig, old in old_handlers.items():
            signal.signal(sig, old)
        if live is not None:
            live.close()
        worker.stop()  # queued/running jobs are told "interrupted" while the socket is still open
        server.stop()
        log.info("jasco-bridge stopped")


class _StopRequested(Exception):
    """A stop signal that arrived while the server was still starting."""


def _vocab_or_none(vocab: VocabProvider) -> Any:
    """The vocabulary (known from the start for every model), or None when it could not be read."""
    try:
        return vocab.get()
    except JascoError:
        return None


def _submit_demo(vocab: VocabProvider, worker: Any, model: str, stop: threading.Event) -> None:
    try:
        request = demo_request(_vocab_or_none(vocab), model)
        if not stop.is_set():
            worker.submit(request, _DemoListener())
    except JascoError as err:
        log.error("demo failed [%s]: %s", err.code, err)


__all__ = ["add_arguments", "run", "VocabProvider", "Auditioner", "demo_request"]
