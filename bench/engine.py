"""Engine speed and memory: time per function evaluation, per 10 s clip, real-time factor, peak memory.

Two models:

* ``fixture``: the conformance fixture (``../shared/conformance/tiny_jasco_chords_drums``),
  or the embedded tiny model when the fixture is absent;
* ``400m``: a model with the real 400M dimensions (dim 1024, 16 heads, 24 layers,
  flow_dim 128, chords_dim 16, drums_dim 2, T5 width 768) built IN MEMORY with random
  weights (no download), with a random EnCodec of the real ``encodec_32khz`` sizes.
  The text encoder is the tiny T5 stand-in: T5 runs once per prompt (then cached),
  never per function evaluation, so it does not change the per-NFE numbers.

Usage::

    python bench/engine.py                     # CPU: full table for the fixture, per-NFE for the 400M
    python bench/engine.py --device cuda       # full table for both
    python bench/engine.py --full-400m         # also the clip table for the 400M on CPU (slow)

Peak memory (absolute, weights included): on CUDA ``torch.cuda.max_memory_allocated`` after a
reset; on CPU the process's resident set size sampled every 2 ms during the measurement
(``/proc/self/statm``; ``resource`` maxrss as a fallback). tracemalloc cannot see torch's buffers.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

FIXTURE = REPO.parent / "shared" / "conformance" / "tiny_jasco_chords_drums"
CLIP_SECONDS = 10.0
PROMPT = "a warm lofi hip hop beat with mellow electric piano chords"
CHORDS = (("C", 0.0), ("Am", 2.5), ("F", 5.0), ("G", 7.5))


# --- memory ------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory during a block (bytes): CUDA allocator peak, or sampled peak RSS of the process on CPU.

    ``peak`` is absolute (weights included); ``growth`` is the part above the level before the block.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * self._page
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, self._rss())
            self._stop.wait(0.002)

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = self._max = self._rss()
            self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            self._max = max(self._max, self._rss())
            self.peak = self._max
        self.growth = self.peak - self._base


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def mib(n: float) -> str:
    return f"{n / 2**20:8.1f} MiB"


# --- models --------------------------------------------------------------------------------
def load_fixture(device: str, dtype: str | None) -> tuple[Any, str]:
    from engine import JascoPipeline

    if FIXTURE.is_dir():
        return JascoPipeline.from_pretrained(FIXTURE, device=device, dtype=dtype, local_files_only=True), "fixture"
    from engine.tiny import ensure_tiny_model

    return JascoPipeline.from_pretrained(ensure_tiny_model(), device=device, dtype=dtype), "tiny (no fixture)"


def real_encodec() -> Any:
    """A random EnCodec with the sizes of ``facebook/encodec_32khz`` (4 codebooks of 2048, hidden 128)."""
    from transformers import EncodecConfig, EncodecModel

    from engine.tiny import encodec_config

    cfg = encodec_config().to_dict()
    cfg.update(num_filters=64, hidden_size=128, codebook_dim=128, codebook_size=2048, num_lstm_layers=2,
               target_bandwidths=[2.2])
    for key in ("architectures", "model_type", "transformers_version"):
        cfg.pop(key, None)
    torch.manual_seed(0)
    model = EncodecModel(EncodecConfig(**cfg)).eval()
    with torch.no_grad():
        for layer in model.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.inited.fill_(1)
    return model


def build_400m(device: str, dtype: str | None) -> tuple[Any, str]:
    """The 400M architecture in memory: config from the tiny model's xp.cfg with the real sizes."""
    from engine import JascoPipeline
    from engine.config import config_from_yaml
    from engine.encodec import CompressionModel
    from engine.jasco import JascoModel
    from engine.pipeline import _resolve_dtype
    from engine.tiny import T5_DIRNAME, VARIANTS, chord_vocabulary_mapping, ensure_tiny_model, xp_cfg_yaml
    from midi.vocab import ChordVocabulary

    mapping = chord_vocabulary_mapping()
    spec = dataclasses.replace(VARIANTS["chords_drums"], dim=1024, num_heads=16, num_layers=24, flow_dim=128,
                               chords_dim=16, drums_dim=2, latent_mean=-0.0074, latent_std=4.0102)
    cfg = config_from_yaml(xp_cfg_yaml(spec, card=len(mapping)), source="400M (in memory)")
    comp = CompressionModel(real_encodec(), source="random encodec_32khz sizes")
    model = JascoModel.from_config(cfg, comp, seed=0)
    model.conditioners["description"].load_t5(ensure_tiny_model() / T5_DIRNAME)
    dev = torch.device(device)
    model.to(dev)
    model.conditioners["description"].move_encoder(dev)
    vocab = ChordVocabulary.from_mapping(mapping, source="jasco-bridge rule vocabulary")
    dt = _resolve_dtype(dev, dtype)  # the engine's own rule (and its error for a bad name)
    pipe = JascoPipeline(model, vocab, device=dev, dtype=dt, model_id="random-400M")
    flow = sum(p.numel() for n, p in model.named_parameters() if ".compression_model." not in n)
    return pipe, f"400M dims, random ({flow / 1e6:.0f} M flow parameters)"


# --- measurements ----------------------------------------------------------------------------
def inputs(pipe: Any) -> list[Any]:
    from engine import GenerationInput

    rate = pipe.sample_rate
    t = np.arange(int(4 * rate)) / rate
    drums = (np.sin(2 * np.pi * 60 * t) * np.exp(-(t % 0.5) * 30)).astype(np.float32)  # a 120 bpm "kick"
    return [GenerationInput(prompt=PROMPT, chords=CHORDS, drums=drums, drums_sample_rate=rate)]


def time_nfe(pipe: Any, cfg_txt: float, reps: int) -> tuple[float, int, int]:
    """Seconds per guided function evaluation (one batched forward over all CFG terms)."""
    from engine import SamplingParams

    params = SamplingParams(seed=0, solver="euler", steps=1, cfg_all=5.0, cfg_txt=cfg_txt)
    cond, terms = pipe.conditions(inputs(pipe), params)
    field = pipe.field(cond, terms)
    dev = pipe.model.emb.weight.device
    z = pipe.noise(0, 1).to(dev)
    t = torch.full((1,), 0.25, device=dev)
    with torch.inference_mode():
        for _ in range(1 if reps < 5 else 2):  # warm-up
            field(t, z)
        sync(dev)
        with PeakMemory(dev) as mem:
            start = time.perf_counter()
            for _ in range(reps):
                field(t, z)
            sync(dev)
            elapsed = (time.perf_counter() - start) / reps
    return elapsed, len(terms), mem.peak


def time_clip(pipe: Any, solver: str, steps: int) -> tuple[float, int, int]:
    from engine import SamplingParams

    params = SamplingParams(seed=0, solver=solver, steps=steps, cfg_all=5.0, cfg_txt=0.0)
    dev = pipe.model.emb.weight.device
    pipe.generate(inputs(pipe), dataclasses.replace(params, solver="euler", steps=1))  # warm-up (T5 cache too)
    sync(dev)
    with PeakMemory(dev) as mem:
        start = time.perf_counter()
        out = pipe.generate(inputs(pipe), params)
        sync(dev)
        elapsed = time.perf_counter() - start
    return elapsed, out.nfe, mem.peak


def report(name: str, pipe: Any, *, clips: bool, reps: int, out: Callable[[str], None]) -> None:
    out(f"\n## {name}  (device {pipe.device}, dtype {str(pipe.dtype).replace('torch.', '')})")
    out(f"{'measure':<34}{'time':>12}{'NFE':>6}{'RTF':>9}{'x realtime':>12}{'peak mem (abs)':>16}")
    two_term = 0.0
    for cfg_txt, label in ((2.0, "per NFE, 3-term CFG (5/2)"), (0.0, "per NFE, 2-term CFG (5/0)")):
        sec, n_terms, peak = time_nfe(pipe, cfg_txt, reps)
        two_term = sec
        out(f"{label:<34}{sec * 1e3:>9.1f} ms{'':>6}{'':>9}{'':>12}{mib(peak):>16}")
    if not clips:
        sec = two_term
        for steps in (16, 32, 64):
            est = steps * sec
            out(f"{f'euler {steps} (estimate: {steps} x NFE)':<34}{est:>10.2f} s{steps:>6}"
                f"{est / CLIP_SECONDS:>9.3f}{CLIP_SECONDS / est:>12.2f}{'':>16}")
        return
    for solver, steps in (("euler", 16), ("euler", 32), ("euler", 64), ("dopri5", 0)):
        sec, nfe, peak = time_clip(pipe, solver, max(steps, 1))
        label = f"10 s clip, {solver}{' ' + str(steps) if steps else ' (rtol=atol=1e-5)'}"
        out(f"{label:<34}{sec:>10.2f} s{nfe:>6}{sec / CLIP_SECONDS:>9.3f}{CLIP_SECONDS / sec:>12.2f}{mib(peak):>16}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: engine's)")
    parser.add_argument("--models", default="fixture,400m", help="comma list of fixture, 400m")
    parser.add_argument("--reps", type=int, default=10, help="forward passes per NFE timing (fixture)")
    parser.add_argument("--reps-400m", type=int, default=3, help="forward passes per NFE timing (400M)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--full-400m", action="store_true", help="clip table for the 400M model on CPU too")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    if device.startswith("cuda"):
        info += f", {torch.cuda.get_device_name(0)}"
    print(f"# jasco-bridge engine bench ({info})")
    print("RTF = wall time / audio duration (lower is better); x realtime = its inverse; clip times include "
          "conditioning (T5 cached), sampling and EnCodec decoding; CFG 5/0 for clips.")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in models:
        started = time.perf_counter()
        if name == "fixture":
            pipe, label = load_fixture(device, args.dtype)
            clips = True
        elif name == "400m":
            pipe, label = build_400m(device, args.dtype)
            clips = device.startswith("cuda") or args.full_400m
        else:
            parser.error(f"unknown model {name!r}")
        print(f"\n(loaded {label} in {time.perf_counter() - started:.1f} s)")
        report(label, pipe, clips=clips, reps=args.reps if name == "fixture" else args.reps_400m, out=print)
        del pipe
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
