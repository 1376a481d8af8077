"""``jasco-bridge render``: render one clip (or a batch of prompts) from the command line.

Examples::

    jasco-bridge render --model tiny --prompt "lofi beat" --bpm 96 --chords "C@0 Am@4 F@8 G@12" --out clip.wav
    jasco-bridge render --from clip.json --seed 7 --out again.wav

The same path as a clip from the server: the options become frozen ``RenderRequest``s
(parameters from the one table, ``core.params``), the engine runs in its supervised
child process (``bridge.engines.local``), and ``bridge.clips.write_clip`` post-processes
and writes the clip with its sidecar (``<stem>.json``), so ``--from SIDECAR`` reproduces a
server clip and a CLI clip alike. Chords are ``SYMBOL@BEAT`` items at ``--bpm`` (``--chord-unit
seconds`` for times in seconds); every symbol is mapped to the model's vocabulary, with a
note for each inexact mapping. Everything that can be checked is checked before the model
loads. Never imports torch (the engine process does).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from bridge.engines.backend import EngineBackend
from core import params as P
from core.defaults import DEFAULT_MODEL
from core.errors import BadChord, BadMelody, BadValue, ModelUnavailable, OutputError, UnsupportedFormat
from core.grid import FRAME_RATE, MELODY_BINS
from core.requests import RenderRequest

OUT_FORMATS = (".wav", ".flac", ".ogg")
_CHORD_ITEM = re.compile(r"^(?P<label>[^@\s]+)@(?P<time>[^@\s]+)$")
# Parameters the render command takes from the table (`--NAME VALUE`); `model`, `bpm` and the
# time signature have their own options below.
RENDER_OPTIONS = P.RENDER


# =============================================================================
# arguments
# =============================================================================
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        '  jasco-bridge render --model tiny --prompt "lofi beat" --bpm 96 --chords "C@0 Am@4 F@8 G@12" --out clip.wav\n'
        "  jasco-bridge render --from clip.json --out again.wav\n"
        "options left out take the sidecar's value (with --from), else the defaults shown."
    )
    m = parser.add_argument_group("model")
    m.add_argument("--model", default=None,
                   help=f"hub id, local folder, or 'tiny' / 'tiny:chords_drums_melody' (embedded random models "
                        f"that make noise); default {DEFAULT_MODEL}")
    m.add_argument("--vocab", type=Path, default=None, help="chord vocabulary file (.pkl, .json or .tsv)")
    m.add_argument("--t5", type=Path, default=None, help="folder of the T5 text encoder (overrides the checkpoint's)")
    m.add_argument("--compression", type=Path, default=None, help="folder of the EnCodec compression model")
    m.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps or auto (default auto)")
    m.add_argument("--dtype", metavar="{float32,bfloat16,float16,int8}", default=None,
                   help="precision (default: float32 on CPU, audiocraft's float16 layout on CUDA); bfloat16 is "
                        "fast on CPUs with native bf16 and on GPUs, int8 = dynamic quantisation on CPU")

    c = parser.add_argument_group("conditions")
    c.add_argument("--from", dest="from_sidecar", type=Path, default=None, metavar="SIDECAR.json",
                   help="re-render from a clip's sidecar (<clip>.json; explicit options override its values)")
    c.add_argument("--prompt", action="append", default=None,
                   help="text description; repeat for a batch (one output file per prompt)")
    c.add_argument("--chords", default=None, metavar='"C@0 Am@4 ..."',
                   help="chords as SYMBOL@TIME items (any chord symbol; mapped to the vocabulary); "
                        "TIME in beats at --bpm, or in seconds with --chord-unit seconds")
    c.add_argument("--chord-unit", choices=("beats", "seconds"), default="beats",
                   help="unit of the --chords times (default beats; seconds for reference parity)")
    c.add_argument("--drums", type=Path, default=None, metavar="FILE", help="drum loop or stem (any soundfile format)")
    c.add_argument("--melody", type=Path, default=None, metavar="FILE",
                   help="melody: .mid (a monophonic line) or .npy ([53, T] or [T, 53] matrix, e.g. from "
                        "`jasco-bridge melody`)")
    bpm = P.param("bpm")
    c.add_argument("--bpm", default=None, help=f"tempo for chords, --melody .mid and --bars ({bpm.describe()})")
    c.add_argument("--time-signature", default=None, metavar="N/D", help="metre for --bars (default 4/4)")

    s = parser.add_argument_group("parameters (one table with the server's /jasco/set)")
    for p in RENDER_OPTIONS:
        s.add_argument(p.flag, dest=p.name, default=None, metavar=p.type_name.upper(),
                       help=f"{p.help} ({p.describe()})")

    o = parser.add_argument_group("output")
    o.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="output audio .wav/.flac/.ogg (default jasco-seed<SEED>.<format>); its sidecar is "
                        "<stem>.json beside it")
    o.add_argument("--latents-out", type=Path, default=None, metavar="FILE.npy",
                   help="also save the final latents [B, T, D] float32 (before denormalisation)")


# =============================================================================
# the resolved job
# =============================================================================
@dataclass(frozen=True)
class RenderJob:
    requests: tuple[RenderRequest, ...]
    outs: tuple[Path, ...]
    latents_out: Path | None
    melody_path: Path | None  # a .npy matrix, sent to the engine as it is
    typed_chords: tuple[tuple[str, float], ...] | None  # (symbol, beat), mapped once the vocabulary is known


def parse_chords(text: str) -> tuple[tuple[str, float], ...]:
    """``"C@0 Am@2.5, F@5"`` -> ``(("C", 0.0), ("Am", 2.5), ("F", 5.0))``; BadChord names the bad item."""
    items = [item for item in re.split(r"[\s,]+", text.strip()) if item]
    if not items:
        raise BadChord("--chords is empty; give items like \"C@0 Am@4 F@8 G@12\" (symbol@time)")
    out: list[tuple[str, float]] = []
    for item in items:
        match = _CHORD_ITEM.match(item)
        if not match:
            raise BadChord(f"chord item {item!r} is not SYMBOL@TIME (e.g. \"Am@4\")")
        try:
            start = float(match.group("time"))
        except ValueError:
            raise BadChord(f"chord item {item!r}: {match.group('time')!r} is not a number") from None
        if start != start or start in (float("inf"), float("-inf")) or start < 0:
            raise BadChord(f"chord item {item!r}: the start must be a finite number >= 0")
        out.append((match.group("label"), start))
    return tuple(out)


def _check_symbols(chords: Sequence[tuple[str, float]]) -> None:
    """Refuse what is not a chord symbol at all, before any model loads."""
    from midi.symbol_grammar import parse_symbol

    for text, _ in chords:
        if text not in ("N", "UNK"):
            parse_symbol(text)  # BadChord names it


def _time_signature(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise BadValue(f"--time-signature must look like 4/4 or 6/8, got {text!r}")
    num, den = P.param("numerator").parse(m.group(1)), P.param("denominator").parse(m.group(2))
    return (num, den)


def resolve_job(args: argparse.Namespace) -> RenderJob:
    """Merge table defaults < sidecar (--from) < explicit options, and check everything cheap."""
    base = RenderRequest(model=DEFAULT_MODEL)
    if args.from_sidecar is not None:
        from bridge.sidecar import load_sidecar, request_from_sidecar

        sidecar_path = Path(args.from_sidecar).expanduser()
        base = request_from_sidecar(load_sidecar(sidecar_path))
        if base.drums_path and not Path(base.drums_path).is_absolute():
            base = replace(base, drums_path=str(sidecar_path.parent / base.drums_path))
    explicit = {}
    for p in RENDER_OPTIONS:
        if getattr(args, p.name) is not None:
            try:
                explicit[p.name] = p.parse(getattr(args, p.name))
            except BadValue as err:
                raise BadValue(f"{p.flag}: {err}") from None
    params = base.params.replace(**explicit)
    changes: dict[str, Any] = {"params": params}
    if args.model is not None:
        changes["model"] = args.model
    if args.bpm is not None:
        changes["bpm"] = P.param("bpm").parse(args.bpm)
    ts = _time_signature(args.time_signature)
    if ts is not None:
        changes["time_signature"] = ts
    if args.drums is not None:
        drums = Path(args.drums).expanduser()
        if not drums.is_file():
            from core.errors import NotFound

            raise NotFound(f"drum file {str(args.drums)!r} does not exist")
        changes["drums_path"] = str(drums.absolute())
        changes["drums_sha256"] = None
    request = replace(base, **changes)

    typed = None
    if args.chords is not None:
        parsed = parse_chords(args.chords)
        _check_symbols(parsed)
        spb = 60.0 / request.bpm
        typed = tuple((sym, t / spb if args.chord_unit == "seconds" else t) for sym, t in parsed)
        request = replace(request, chords=())

    melody_path = None
    if args.melody is not None:
        request, melody_path = _melody(request, Path(args.melody).expanduser(), bpm_given=args.bpm is not None)

    prompts = tuple(args.prompt) if args.prompt is not None else (request.prompt,)
    requests = tuple(replace(request, prompt=p) for p in prompts)
    ext = "." + params.format
    out = Path(args.out).expanduser() if args.out is not None else Path(f"jasco-seed{requests[0].params.seed}{ext}")
    if out.suffix.lower() not in OUT_FORMATS:
        raise UnsupportedFormat(f"--out {str(out)!r}: the file name must end in {', '.join(OUT_FORMATS)} "
                                "(the format follows it)")
    outs = (out,) if len(requests) == 1 else tuple(out.with_name(f"{out.stem}-{i}{out.suffix}")
                                                  for i in range(len(requests)))
    latents_out = Path(args.latents_out).expanduser() if args.latents_out is not None else None
    if latents_out is not None and latents_out.suffix.lower() != ".npy":
        raise UnsupportedFormat(f"--latents-out {str(latents_out)!r} must end in .npy")
    for path in (*outs, *( [latents_out] if latents_out else [])):
        _check_writable(path)
    return RenderJob(requests, outs, latents_out, melody_path, typed)


def _melody(request: RenderRequest, path: Path, *, bpm_given: bool) -> tuple[RenderRequest, Path | None]:
    """A .mid line becomes melody frames in the request (one path with OSC); a .npy matrix goes as is."""
    if not path.is_file():
        from core.errors import NotFound

        raise NotFound(f"melody file {str(path)!r} does not exist")
    ext = path.suffix.lower()
    if ext in (".mid", ".midi"):
        from midi.melody import frames_from_midi_file

        count = request.condition_frames()  # the window, or the clip's timeline when it loops or is longer
        frames = frames_from_midi_file(path, bpm=request.bpm if bpm_given else None, frames=count)
        if not frames.any():
            raise BadMelody(f"{path.name!r} has no notes in the first {count / FRAME_RATE:g} s")
        return replace(request, melody_frames=tuple(int(v) for v in frames)), None
    if ext == ".npy":
        _load_matrix(path)  # checked now, sent to the engine as it is
        return replace(request, melody_frames=None), path
    raise UnsupportedFormat(f"--melody {path.name!r}: use a .mid file or a .npy matrix (`jasco-bridge melody` "
                            "writes one from a MIDI line)")


def _load_matrix(path: Path) -> Any:
    import numpy as np

    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadMelody(f"{path.name!r} is not a readable .npy array ({exc})") from exc
    if matrix.ndim != 2 or MELODY_BINS not in matrix.shape or not np.all(np.isfinite(matrix)):
        raise BadMelody(f"{path.name!r}: a melody matrix is [{MELODY_BINS}, T] or [T, {MELODY_BINS}] of finite "
                        f"numbers, got shape {list(matrix.shape)}")
    return matrix.astype(np.float32)


def _check_writable(path: Path) -> None:
    import os

    folder = path.absolute().parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {str(path)!r}: the folder {str(folder)!r} is not writable")
    if path.exists() and not path.is_file():
        raise OutputError(f"cannot write {str(path)!r}: it exists and is not a regular file")
    from core.fileio import probe_writable

    probe_writable(folder)  # /proc, a read-only mount: refused now, not after the render


# =============================================================================
# progress
# =============================================================================
class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, fraction: float, nfe: int) -> None:
        if not self.enabled:
            return
        frac = min(max(float(fraction), 0.0), 1.0)
        width = 30
        filled = int(round(frac * width))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {frac * 100:5.1f}%  evaluations {nfe}  {time.monotonic() - self.started:5.1f} s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# =============================================================================
# run
# =============================================================================
def _map_chords(job: RenderJob, vocab: Any) -> tuple[RenderRequest, ...]:
    """Map the typed symbols to the vocabulary (the server's path); a note on stderr for each inexact one."""
    if job.typed_chords is None:
        return job.requests
    from bridge.chord_events import fill_loop, map_chords, typed_events

    typed = map_chords(job.typed_chords, vocab)
    for c in typed:
        if not c.exact:
            why = f" ({c.reason})" if c.reason else ""
            print(f"note: chord {c.given!r} at beat {c.start_beat:g} -> {c.label!r}{why}", file=sys.stderr)
    first = job.requests[0]
    chords = typed_events(typed, first.bpm)
    if first.is_loop:  # a shorter progression repeats to fill the loop, as over OSC
        num, den = first.time_signature
        chords, notes = fill_loop(chords, bars=first.params.bars, beats_per_bar=num * 4.0 / den,
                                  seconds_per_beat=60.0 / first.bpm)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return tuple(replace(r, chords=chords) for r in job.requests)


def _engine_options(args: argparse.Namespace) -> Any:
    from bridge.engines.local import EngineOptions

    overrides = {name: str(Path(getattr(args, name)).expanduser()) for name in ("t5", "compression", "vocab")
                 if getattr(args, name) is not None}
    device = args.device if args.device not in (None, "") else "auto"
    return EngineOptions(device=device, dtype=args.dtype, overrides=overrides or None)


def run(args: argparse.Namespace, *, engines: Callable[[Any], EngineBackend] | None = None) -> int:
    """Render the job ``args`` describe. ``engines(options)`` gives the engine backend for these engine
    options and keeps it running afterwards (a warm engine shared by several renders: the tests); by
    default an engine process is started for this render and shut down after it."""
    job = resolve_job(args)
    import numpy as np

    from bridge.clips import write_clip
    from bridge.engine_input import render_message
    from bridge.engines.backend import RunControl
    from bridge.engines.local import EngineSupervisor
    from bridge.vocabulary import VocabProvider
    from core import wire
    from core.fileio import atomic_write

    request = job.requests[0]
    if job.typed_chords is not None:  # mapped before the model loads: every model's vocabulary is known here
        job = replace(job, requests=_map_chords(job, VocabProvider(args.vocab, request.model).get()))
    matrix = _load_matrix(job.melody_path) if job.melody_path is not None else None
    render, shas = render_message("cli", job.requests, want_latents=job.latents_out is not None, melody=matrix)

    supervisor: EngineBackend = (engines or EngineSupervisor)(_engine_options(args))
    bar = ProgressBar(enabled=sys.stderr.isatty())
    started = time.monotonic()
    try:
        try:
            engine = supervisor.ensure(request.model, check=lambda: None)
        except ModelUnavailable as err:
            if "--model tiny" in str(err):
                raise
            raise ModelUnavailable(f"{str(err).rstrip('.')}. To try jasco-bridge without the weights, use "
                                   "--model tiny (a random model that makes noise).") from err
        info = engine.info or {}
        if (job.melody_path is not None or request.melody_frames) and not info.get("supports_melody"):
            # The engine ignores a melody it cannot use (as for a server job); the sidecar records none.
            print(f"note: model {request.model!r} has no melody conditioner; --melody is ignored", file=sys.stderr)
            job = replace(job, requests=tuple(replace(r, melody_frames=None) for r in job.requests))
        requests = job.requests
        control = RunControl(cancel_time=lambda: None, stopping=lambda: False, progress=bar)
        try:
            result: wire.Result = supervisor.run(engine, render, control)
            bar(1.0, result.nfe or 0)
        finally:
            bar.close()
        elapsed = time.monotonic() - started
        seconds, rate = 0.0, 0
        for out, req, audio, sha in zip(job.outs, requests, result.audio, shas):
            clip = write_clip(audio, result.sample_rate, req, out.parent, engine_info=info, nfe=result.nfe,
                              job_id="cli", drums_sha256=sha, target=out, timeline=result.timeline,
                              timings={"engine_s": round(float(result.seconds), 4)})
            for note in (clip.sidecar["trim"].get("note", ""), clip.sidecar["normalization"].get("note", "")):
                if note:
                    print(f"note: {out.name}: {note}", file=sys.stderr)
            seconds, rate = clip.seconds, clip.sample_rate
            print(clip.path)
        if job.latents_out is not None and result.latents is not None:
            latents = np.ascontiguousarray(result.latents, dtype=np.float32)

            def save(tmp: str) -> None:
                with open(tmp, "wb") as fh:
                    np.save(fh, latents, allow_pickle=False)

            atomic_write(job.latents_out, save)
            print(job.latents_out)
    finally:
        if engines is None:
            supervisor.shutdown(graceful=0.5)
    print(f"rendered {len(job.outs)} x {seconds:.2f} s at {rate} Hz in {elapsed:.2f} s; "
          f"function evaluations: {result.nfe}")
    return 0
