"""``jasco-bridge render``: render one clip (or a batch of prompts) with the engine.

Examples::

    jasco-bridge render --model tiny --prompt "lofi beat" --chords "C@0 Am@2.5 F@5 G@7.5" --out clip.wav
    jasco-bridge render --from clip.wav.json --seed 7 --out again.wav

Chords are ``LABEL@SECONDS`` items separated by spaces or commas; every label
goes through the chord-symbol mapper (``Cmaj9`` -> the nearest vocabulary
label, with a note on stderr). ``--normalize none`` writes the decoded float
samples untouched as a 32-bit float WAV; ``loudness``/``peak`` go through the
bridge's own clip post-processing (``bridge.output``: resample, bars, fade-out,
normalise, encode), so ``--from CLIP.json`` reproduces a bridge clip. Files are
written under a temporary name and renamed when complete. The last stdout line
reports the number of function evaluations. No torch import at module level.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from core.defaults import DEFAULT_MODEL
from core.fileio import atomic_write, atomic_write_bytes
from core.errors import (
    BadChord,
    BadMelody,
    BadValue,
    ModelUnavailable,
    NotFound,
    OutputError,
    UnsupportedFormat,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

logger = logging.getLogger(__name__)

SOLVERS = ("euler", "midpoint", "dopri5")
NORMALIZE = ("loudness", "peak", "none")
OUT_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
LOUDNESS_LUFS = -14.0
PEAK_DBFS = -1.0
MELODY_BINS = 53
MAX_STEPS = 1000
_CHORD_ITEM = re.compile(r"^(?P<label>[^@\s]+)@(?P<time>[^@\s]+)$")


# =============================================================================
# arguments
# =============================================================================
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        '  jasco-bridge render --model tiny --prompt "lofi beat" --chords "C@0 Am@2.5 F@5 G@7.5" --out clip.wav\n'
        "  jasco-bridge render --from clip.wav.json --out again.wav\n"
        "options left out take the sidecar's value (with --from), else the defaults shown."
    )
    m = parser.add_argument_group("model")
    m.add_argument("--model", default=None,
                   help=f"hub id, local folder, or 'tiny' / 'tiny:chords_drums_melody' (embedded random models "
                        f"that make noise); default {DEFAULT_MODEL}")
    m.add_argument("--vocab", type=Path, default=None, help="chord vocabulary file (.pkl or .json)")
    m.add_argument("--t5", type=Path, default=None, help="folder of the T5 text encoder (overrides the checkpoint's)")
    m.add_argument("--compression", type=Path, default=None, help="folder of the EnCodec compression model")
    m.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default auto)")
    m.add_argument("--dtype", metavar="{float32,bfloat16,float16}", default=None,
                   help="compute dtype (default: float32 on CPU, bfloat16 autocast on CUDA)")

    c = parser.add_argument_group("conditions")
    c.add_argument("--from", dest="from_sidecar", type=Path, default=None, metavar="SIDECAR.json",
                   help="re-render from a bridge sidecar (explicit options override its values)")
    c.add_argument("--prompt", action="append", default=None,
                   help="text description; repeat for a batch (one output file per prompt)")
    c.add_argument("--chords", default=None, metavar='"C@0 Am@2.5 ..."',
                   help="chords as LABEL@SECONDS items (any chord symbol; mapped to the vocabulary)")
    c.add_argument("--drums", type=Path, default=None, metavar="FILE", help="drum loop or stem (any soundfile format)")
    c.add_argument("--drums-fill", metavar="{repeat,pad}", default=None,
                   help="fill a short drum loop by repeating it (default) or zero-padding (reference parity)")
    sep = c.add_mutually_exclusive_group()
    sep.add_argument("--separate", dest="separate", action="store_true", default=None,
                     help="extract the drum stem with demucs first (when installed)")
    sep.add_argument("--no-separate", dest="separate", action="store_false",
                     help="treat --drums as an already separated drum stem (default)")
    c.add_argument("--melody", type=Path, default=None, metavar="FILE",
                   help="melody: .mid (a monophonic line), .npy or .th/.pt ([53, T] or [T, 53] matrix)")
    c.add_argument("--bpm", default=None, help="tempo for --melody .mid and --bars (default: the file's, else 120)")

    s = parser.add_argument_group("sampling")
    s.add_argument("--seed", default=None, help="random seed (default 0)")
    s.add_argument("--solver", metavar="{euler,midpoint,dopri5}", default=None, help="ODE solver (default dopri5)")
    s.add_argument("--steps", default=None, help="euler/midpoint steps (default 16)")
    s.add_argument("--rtol", default=None, help="dopri5 relative tolerance (default 1e-5)")
    s.add_argument("--atol", default=None, help="dopri5 absolute tolerance (default 1e-5)")
    s.add_argument("--cfg-all", default=None, help="guidance weight of all conditions (default 5)")
    s.add_argument("--cfg-txt", default=None, help="guidance weight of the text alone (default 0)")
    s.add_argument("--guidance", metavar="{independent,audiocraft}", default=None,
                   help="independent (default: an item never depends on its batch mates) or audiocraft "
                        "(bit-compatible with the reference, including its batch padding effects)")

    o = parser.add_argument_group("output")
    o.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="output audio .wav/.flac/.ogg (default jasco-seed<SEED>.wav)")
    o.add_argument("--normalize", metavar="{loudness,peak,none}", default=None,
                   help="loudness (-14 LUFS, default), peak (-1 dBFS) or none (raw float samples, float WAV)")
    o.add_argument("--sample-rate", default=None, help="output sample rate (default: the model's)")
    o.add_argument("--bars", default=None, help="keep only this many bars (needs --bpm; 0 = all)")
    o.add_argument("--latents-out", type=Path, default=None, metavar="FILE.npy",
                   help="also save the final latents [B, T, D] float32 (before denormalisation)")


# =============================================================================
# the resolved job
# =============================================================================
@dataclass(frozen=True)
class RenderJob:
    model: str
    prompts: tuple[str, ...]
    chords: tuple[tuple[str, float], ...] | None  # as typed (symbol, seconds); mapped after loading
    drums: Path | None
    drums_fill: str
    separate: bool
    melody: Path | None
    melody_frames: tuple[int, ...] | None  # from a sidecar: MIDI note per 50 Hz frame (0 = none)
    bpm: float | None
    seed: int
    solver: str
    steps: int
    rtol: float
    atol: float
    cfg_all: float
    cfg_txt: float
    guidance: str
    out: Path
    normalize: str
    sample_rate: int | None
    bars: int
    time_signature: tuple[int, int]
    latents_out: Path | None
    bit_depth: int = 24  # wav/flac PCM depth when normalising (raw float with --normalize none)
    loudness_lufs: float = LOUDNESS_LUFS


def parse_chords(text: str) -> tuple[tuple[str, float], ...]:
    """``"C@0 Am@2.5, F@5"`` -> ``(("C", 0.0), ("Am", 2.5), ("F", 5.0))``; BadChord names the bad item."""
    items = [item for item in re.split(r"[\s,]+", text.strip()) if item]
    if not items:
        raise BadChord("--chords is empty; give items like \"C@0 Am@2.5 F@5 G@7.5\" (label@seconds)")
    out: list[tuple[str, float]] = []
    for item in items:
        match = _CHORD_ITEM.match(item)
        if not match:
            raise BadChord(f"chord item {item!r} is not LABEL@SECONDS (e.g. \"Am@2.5\")")
        try:
            start = float(match.group("time"))
        except ValueError:
            raise BadChord(f"chord item {item!r}: {match.group('time')!r} is not a time in seconds") from None
        if not math.isfinite(start) or start < 0:
            raise BadChord(f"chord item {item!r}: the start time must be a finite number >= 0 seconds")
        out.append((match.group("label"), start))
    return tuple(out)


def sidecar_values(path: Path) -> dict[str, Any]:
    """Job fields from a bridge clip sidecar (``bridge.output``: schema checked, request re-validated)."""
    from bridge.output import load_sidecar, request_from_sidecar

    sidecar_path = Path(path).expanduser()
    request = request_from_sidecar(load_sidecar(sidecar_path))
    p = request.params
    drums = None
    if request.drums_path:
        drums = Path(request.drums_path).expanduser()
        if not drums.is_absolute():
            drums = sidecar_path.parent / drums
    return {
        "model": request.model, "prompts": (request.prompt,),
        "chords": request.engine_chords() or None,  # vocabulary labels and seconds, as rendered
        "drums": drums, "drums_fill": p.drums_fill, "separate": p.separate_drums,
        "melody_frames": request.melody_frames, "bpm": request.bpm, "time_signature": request.time_signature,
        "seed": p.seed, "solver": p.solver, "steps": p.steps, "rtol": p.rtol, "atol": p.atol,
        "cfg_all": p.cfg_all, "cfg_txt": p.cfg_txt, "normalize": p.normalize, "sample_rate": p.sample_rate,
        "bars": p.bars, "bit_depth": p.bit_depth, "loudness_lufs": p.loudness_lufs,
        "default_ext": f".{p.format}",
    }


def resolve_job(args: argparse.Namespace) -> RenderJob:
    """Merge defaults < sidecar (--from) < explicit options, and validate everything cheap."""
    values: dict[str, Any] = {
        "model": DEFAULT_MODEL, "prompts": ("",), "chords": None, "drums": None, "drums_fill": "repeat",
        "separate": False, "melody": None, "melody_frames": None, "bpm": None, "seed": 0,
        "solver": "dopri5", "steps": 16, "rtol": 1e-5, "atol": 1e-5, "cfg_all": 5.0, "cfg_txt": 0.0,
        "guidance": "independent", "out": None, "normalize": "loudness", "sample_rate": None, "bars": 0, "time_signature": (4, 4),
        "latents_out": None,
    }
    default_ext = ".wav"
    if args.from_sidecar is not None:
        from_sidecar = sidecar_values(args.from_sidecar)
        default_ext = from_sidecar.pop("default_ext")
        values.update(from_sidecar)
    explicit = {
        "model": args.model, "chords": parse_chords(args.chords) if args.chords is not None else None,
        "drums": args.drums, "drums_fill": args.drums_fill, "separate": args.separate, "melody": args.melody,
        "bpm": _number_arg("bpm", args.bpm, float), "seed": _number_arg("seed", args.seed, int),
        "solver": args.solver, "steps": _number_arg("steps", args.steps, int),
        "rtol": _number_arg("rtol", args.rtol, float), "atol": _number_arg("atol", args.atol, float),
        "cfg_all": _number_arg("cfg-all", args.cfg_all, float), "cfg_txt": _number_arg("cfg-txt", args.cfg_txt, float),
        "guidance": args.guidance, "out": args.out, "normalize": args.normalize,
        "sample_rate": _number_arg("sample-rate", args.sample_rate, int), "bars": _number_arg("bars", args.bars, int),
        "latents_out": args.latents_out,
    }
    if args.prompt is not None:
        explicit["prompts"] = tuple(args.prompt)
    if args.melody is not None:
        values["melody_frames"] = None
    values.update({k: v for k, v in explicit.items() if v is not None})
    if values["out"] is None:
        values["out"] = Path(f"jasco-seed{values['seed']}{default_ext}")
    job = RenderJob(**values)
    _validate(job)
    return job


def _number_arg(name: str, text: str | None, kind: type) -> Any:
    """Parse a numeric option ourselves so a bad value is a coded BadValue (argparse's is not)."""
    if text is None:
        return None
    try:
        return kind(text)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise BadValue(f"--{name} must be {what}, got {text!r}") from None


def _validate(job: RenderJob) -> None:
    def number(name: str, value: Any, lo: float, hi: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadValue(f"--{name} must be a finite number, got {value!r}")
        if not lo <= value <= hi:
            raise BadValue(f"--{name} must be between {lo:g} and {hi:g}, got {value:g}")

    if isinstance(job.seed, bool) or not isinstance(job.seed, int) or not 0 <= job.seed < 2**63:
        raise BadValue(f"--seed must be an integer >= 0, got {job.seed!r}")
    if job.solver not in SOLVERS:
        raise BadValue(f"--solver must be one of {', '.join(SOLVERS)}, got {job.solver!r}")
    if isinstance(job.steps, bool) or not isinstance(job.steps, int) or not 1 <= job.steps <= MAX_STEPS:
        raise BadValue(f"--steps must be an integer between 1 and {MAX_STEPS}, got {job.steps!r}")
    number("rtol", job.rtol, 1e-12, 1.0)
    number("atol", job.atol, 1e-12, 1.0)
    number("cfg-all", job.cfg_all, -100.0, 100.0)
    number("cfg-txt", job.cfg_txt, -100.0, 100.0)
    if job.guidance not in ("independent", "audiocraft"):
        raise BadValue(f"--guidance must be 'independent' or 'audiocraft', got {job.guidance!r}")
    if job.normalize not in NORMALIZE:
        raise BadValue(f"--normalize must be one of {', '.join(NORMALIZE)}, got {job.normalize!r}")
    if job.drums_fill not in ("repeat", "pad"):
        raise BadValue(f"--drums-fill must be 'repeat' or 'pad', got {job.drums_fill!r}")
    if job.sample_rate is not None and (isinstance(job.sample_rate, bool) or not 8000 <= job.sample_rate <= 192000):
        raise BadValue(f"--sample-rate must be between 8000 and 192000 Hz, got {job.sample_rate!r}")
    if isinstance(job.bars, bool) or not isinstance(job.bars, int) or job.bars < 0:
        raise BadValue(f"--bars must be an integer >= 0, got {job.bars!r}")
    if job.bpm is not None:
        number("bpm", job.bpm, 20.0, 999.0)
    if job.out.suffix.lower() not in OUT_FORMATS:
        raise UnsupportedFormat(
            f"--out {str(job.out)!r}: the file name must end in {', '.join(OUT_FORMATS)} (the format follows it)"
        )
    if job.latents_out is not None and job.latents_out.suffix.lower() != ".npy":
        raise UnsupportedFormat(f"--latents-out {str(job.latents_out)!r} must end in .npy")
    if not job.prompts:
        raise BadValue("no prompt given")
    for path, what in ((job.drums, "drum file"), (job.melody, "melody file")):
        if path is not None and not Path(path).expanduser().is_file():
            raise NotFound(f"{what} {str(path)!r} does not exist")
    for path in (job.out, job.latents_out):
        if path is not None:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise OutputError(f"cannot write {str(path)!r}: the folder {str(parent)!r} does not exist")


# =============================================================================
# inputs
# =============================================================================
def map_chords(chords: Sequence[tuple[str, float]], vocab: Any) -> tuple[tuple[str, float], ...]:
    """Map typed chord symbols to vocabulary labels; print a note for each non-exact mapping."""
    from midi.symbols import map_symbol

    out: list[tuple[str, float]] = []
    for text, start in chords:
        mapping = map_symbol(text, vocab)
        if not mapping.exact:
            why = f" ({mapping.reason})" if getattr(mapping, "reason", "") else ""
            print(f"note: chord {text!r} at {start:g} s -> {mapping.label!r}{why}", file=sys.stderr)
        out.append((mapping.label, start))
    return tuple(out)


def load_melody(path: Path, *, bpm: float | None, frames: int, frame_rate: float) -> "np.ndarray":
    """A [53, T] float32 melody matrix from .mid, .npy or .th/.pt (accepts [T, 53] too)."""
    import numpy as np

    p = Path(path).expanduser()
    ext = p.suffix.lower()
    if ext in (".mid", ".midi"):
        matrix = _melody_from_midi(p, bpm=bpm, frames=frames, frame_rate=frame_rate)
    elif ext == ".npy":
        try:
            matrix = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadMelody(f"{p.name!r} is not a readable .npy array ({exc})") from exc
    elif ext in (".th", ".pt"):
        import torch

        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # any unpickling failure is a bad file, never a crash
            raise BadMelody(f"{p.name!r} is not a readable torch tensor file ({exc})") from exc
        if not isinstance(obj, torch.Tensor):
            raise BadMelody(f"{p.name!r} holds a {type(obj).__name__}, expected one tensor")
        matrix = obj.detach().to(torch.float32).contiguous().clone().numpy()  # .th files are views
    else:
        raise UnsupportedFormat(f"--melody {p.name!r}: use a .mid, .npy or .th file")
    from engine.melody import prepare_melody

    try:  # the engine's own validation: [53, T] or [T, 53], finite, cut/padded to the model's frames
        return prepare_melody(matrix, bins=MELODY_BINS, num_frames=frames)
    except BadMelody as exc:
        raise BadMelody(f"{p.name!r}: {exc}") from exc


def _melody_from_midi(p: Path, *, bpm: float | None, frames: int, frame_rate: float) -> "np.ndarray":
    try:
        from midi.melody import melody_from_midi_file
    except ImportError as exc:
        raise UnsupportedFormat(f"--melody {p.name!r}: MIDI melody input is not available here ({exc})") from exc
    return melody_from_midi_file(p, bpm=bpm, frames=frames, frame_rate=frame_rate)


# =============================================================================
# output
# =============================================================================


def write_raw_float(path: Path, audio: "np.ndarray", sample_rate: int) -> None:
    """``--normalize none``: the samples untouched (float WAV; FLAC/OGG cannot hold floats, so they clip)."""
    import numpy as np
    import soundfile as sf

    path = Path(path).expanduser()
    fmt = OUT_FORMATS[path.suffix.lower()]
    subtype = {"WAV": "FLOAT", "FLAC": "PCM_24", "OGG": "VORBIS"}[fmt]
    data = np.ascontiguousarray(audio.T, dtype=np.float32)  # [S, C]
    if subtype != "FLOAT":
        data = np.clip(data, -1.0, 1.0)
    atomic_write(path, lambda tmp: sf.write(tmp, data, sample_rate, format=fmt, subtype=subtype))


def postprocess(job: RenderJob, audio: "np.ndarray", source_rate: int, path: Path) -> tuple[bytes | None, "np.ndarray", int, str]:
    """One clip [C, S] -> (encoded bytes or None for raw float, samples, rate, note).

    ``--normalize none``: resample/trim only when asked, samples otherwise untouched.
    Otherwise the bridge's own post-processing (``bridge.output.process_audio``:
    resample, bars, fade-out, loudness/peak) and encoder, so a clip re-rendered
    ``--from`` its sidecar is processed exactly like the original.
    """
    from bridge import output
    from core.requests import RenderParams, RenderRequest

    rate = job.sample_rate or source_rate
    fmt = path.suffix.lower().lstrip(".")
    if job.normalize == "none":
        x = output.resample(audio, source_rate, rate) if rate != source_rate else audio
        if job.bars:
            x, trim = output.trim_to_bars(x, rate, job.bars, _bar_seconds(job))
            return None, x, rate, trim.get("note", "")
        return None, x, rate, ""
    params = RenderParams(sample_rate=rate, bars=job.bars, normalize=job.normalize, format=fmt,
                          bit_depth=job.bit_depth, loudness_lufs=job.loudness_lufs)
    request = RenderRequest(bpm=job.bpm or 120.0, time_signature=job.time_signature, params=params)
    processed = output.process_audio(audio, source_rate, request)
    notes = [n for n in (processed.trim.get("note", ""), processed.normalization.get("note", "")) if n]
    return output.encode(processed.audio, rate, fmt, job.bit_depth), processed.audio, rate, "; ".join(notes)


def _bar_seconds(job: RenderJob) -> float:
    num, den = job.time_signature
    return num * (4.0 / den) * 60.0 / (job.bpm or 120.0)


def write_latents(path: Path, latents: "np.ndarray") -> None:
    import numpy as np

    arr = np.ascontiguousarray(latents, dtype=np.float32)

    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)

    atomic_write(path, save)


def output_paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(count)]


# =============================================================================
# progress
# =============================================================================
class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, job: RenderJob, enabled: bool) -> None:
        self.enabled = enabled
        self.total = job.steps * (2 if job.solver == "midpoint" else 1) if job.solver != "dopri5" else None
        self.started = time.monotonic()

    def __call__(self, nfe: int, t: float) -> None:
        if not self.enabled:
            return
        frac = min(max(float(t), 0.0), 1.0)
        if self.total:
            frac = max(frac, min(nfe / self.total, 1.0))
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
def _device(name: str | None) -> str:
    if name in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def load_pipeline(job: RenderJob, args: argparse.Namespace) -> Any:
    from engine import JascoPipeline

    kwargs: dict[str, Any] = {"device": _device(args.device)}
    if args.dtype is not None:
        kwargs["dtype"] = args.dtype
    for name in ("t5", "compression", "vocab"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = str(Path(value).expanduser())
    try:
        return JascoPipeline.from_pretrained(job.model, **kwargs)
    except ModelUnavailable as err:
        if "--model tiny" in str(err):
            raise
        raise ModelUnavailable(
            f"{str(err).rstrip('.')}. To try jasco-bridge without the weights, use --model tiny "
            "(a random model that makes noise)."
        ) from err


def run(args: argparse.Namespace) -> int:
    job = resolve_job(args)
    import numpy as np

    from bridge.audio import read_audio
    from engine import GenerationInput, SamplingParams

    drums = drums_rate = None
    if job.drums is not None:
        data = read_audio(job.drums)
        drums, drums_rate = data.samples, data.sample_rate

    pipe = load_pipeline(job, args)
    frames = int(round(pipe.segment_duration * pipe.frame_rate))
    chords = map_chords(job.chords, pipe.vocab) if job.chords else None
    melody = None
    if job.melody is not None:
        melody = load_melody(job.melody, bpm=job.bpm, frames=frames, frame_rate=pipe.frame_rate)
    elif job.melody_frames:
        from bridge.worker import melody_from_frames

        melody = melody_from_frames(job.melody_frames)
    if melody is not None and not pipe.supports_melody:
        print(f"note: model {job.model!r} has no melody conditioner; --melody is ignored", file=sys.stderr)
        melody = None

    base = GenerationInput(
        prompt="",
        chords=chords,
        drums=drums,
        drums_sample_rate=int(drums_rate or pipe.sample_rate),
        drums_fill=job.drums_fill,
        separate_drums=job.separate,
        melody=melody,
    )
    inputs = [replace(base, prompt=p) for p in job.prompts]
    params = SamplingParams(seed=job.seed, solver=job.solver, steps=job.steps, rtol=job.rtol, atol=job.atol,
                            cfg_all=job.cfg_all, cfg_txt=job.cfg_txt, guidance=job.guidance)
    bar = ProgressBar(job, enabled=sys.stderr.isatty())
    started = time.monotonic()
    try:
        result = pipe.generate(inputs, params, progress=bar)
    finally:
        bar.close()
    elapsed = time.monotonic() - started

    audio = np.asarray(result.audio, dtype=np.float32)  # [B, 1, S]
    if job.latents_out is not None:
        write_latents(job.latents_out, np.asarray(result.latents, dtype=np.float32))
    paths = output_paths(job.out, audio.shape[0])
    seconds, rate = 0.0, int(pipe.sample_rate)
    for path, item in zip(paths, audio):
        data, clip, rate, note = postprocess(job, item, int(pipe.sample_rate), path)
        if note:
            print(f"note: {path.name}: {note}", file=sys.stderr)
        if data is None:
            write_raw_float(path, clip, rate)
        else:
            atomic_write_bytes(path, data)
        seconds = clip.shape[-1] / rate
        print(path)
    if job.latents_out is not None:
        print(job.latents_out)
    print(f"rendered {len(paths)} x {seconds:.2f} s at {rate} Hz in {elapsed:.2f} s; "
          f"function evaluations: {int(result.nfe)}")
    return 0
