"""Engine speed and memory: time per function evaluation, per 10 s clip, real-time factor, peak memory.

Two models:

* ``fixture``: the conformance fixture (``../shared/conformance/tiny_jasco_chords_drums``),
  or the embedded tiny model when the fixture is absent;
* ``400m``: a model with the real 400M dimensions (dim 1024, 16 heads, 24 layers,
  flow_dim 128, chords_dim 16, drums_dim 2, T5 width 768) built IN MEMORY with random
  weights (no download), with a random EnCodec of the real ``encodec_32khz`` sizes.
  The text encoder is the tiny T5 stand-in: T5 runs once per prompt (then cached),
  never per function evaluation, so it does not change the per-NFE numbers.

Sections (``--sections``, default all, in this order, one process):

* ``table``: per NFE / per 10 s clip / peak memory for both models (CPU: per-NFE only for the 400M).
* ``precision``: per-evaluation time at the 400M size for float32, bfloat16 and int8, measured
  interleaved (round robin) in this run, as ratios to float32, with the field's error vs float32;
  and dopri5's evaluation count per precision on the conformance fixture.
* ``presets``: latent error vs the dopri5 1e-5 solution (float32) and sampling time, at 4/8/16/32
  evaluations (400M: ``--evals-400m``), per solver and time grid, on the fixture and the 400M model;
  the named presets' rows are marked.
* ``load``: load time and peak RSS of a 400M checkpoint folder (written to a temp dir), the old way
  (random init + read + copy) vs now (meta device + memory-mapped + assign), fresh processes,
  interleaved.
* ``render``: through ``jasco-bridge render`` (the engine child process) on that folder:
  time(6 Euler steps) - time(2) = 4 evaluations, per precision, interleaved.
* ``loop`` (issue 22): the musician's case -- 4 bars at 120 bpm (8 s), a seamless loop, chords + text,
  at the 400M size -- as a warm ``serve`` runs it (``engine.service.execute`` then
  ``bridge.clips.write_clip``: the engine process's render and the worker's clip writing, without the
  OSC/socket hops), second press with the same inputs; generate-to-done time per precision
  (``--loop-precisions``) and preset (``--loop-presets``), the latent error of each vs the dopri5 1e-5
  float32 render of the same loop, and a table of where the time goes (conditions, evaluations,
  decoder, DSP, WAV encoding, file + sidecar), also for a press with changed chords (cache miss).
  On a GPU machine (``--device cuda``) the same section runs in float32/bfloat16/float16.
* ``decoder``: the EnCodec decoder at the real sizes, whole vs in pieces (engine.encodec.ChunkedDecoder) per
  piece size, for a 10 s window and for the loop's decode with circular context; interleaved rounds.

Usage::

    python bench/engine.py                          # everything (CPU: ~15 min at 400M on 2 cores)
    python bench/engine.py --sections precision,render
    python bench/engine.py --device cuda            # GPU table (per NFE, per clip per preset, peak memory)
    python bench/engine.py --sections loop          # the 4-bar loop, warm, per precision and preset
    python bench/engine.py --device cuda --sections loop,table   # the GPU section (for the device tool)

Peak memory (absolute, weights included): on CUDA ``torch.cuda.max_memory_allocated`` after a
reset; on CPU the process's resident set size sampled every 2 ms during the measurement
(``/proc/self/statm``; ``resource`` maxrss as a fallback). tracemalloc cannot see torch's buffers.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

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
    from engine.tiny import T5_DIRNAME, chord_vocabulary_mapping, ensure_tiny_model
    from midi.vocab import ChordVocabulary

    mapping = chord_vocabulary_mapping()
    cfg = config_from_yaml(_400m_yaml(), source="400M (in memory)")
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


# --- precision ----------------------------------------------------------------------------------------
def precision_variants(pipe: Any, names: list[str], emulated_bf16: bool = False) -> dict[str, Any]:
    """Pipelines sharing nothing: a deep copy of the float32 model prepared for each precision.
    ``emulated_bf16``: measure bfloat16 also on a CPU without native bf16 (AVX2: still ~0.5x float32)."""
    import copy

    from engine import JascoPipeline
    from engine.precision import Precision, apply_precision, cpu_has_native_bf16

    out: dict[str, Any] = {}
    for name in names:
        if name == "bfloat16" and pipe._device.type == "cpu" and not cpu_has_native_bf16() and not emulated_bf16:
            print("(bfloat16 skipped: no native bf16 on this CPU)")
            continue
        if name == "int8" and pipe._device.type != "cpu":
            continue
        # conditioners and the decoder are never cast: shared, only the flow part is copied
        shared = [pipe.model.condition_provider, pipe.model.compression]
        memo = {id(m): m for m in shared if m is not None}
        model = pipe.model if name == "float32" else copy.deepcopy(pipe.model, memo)
        prec = Precision(name)
        apply_precision(model, prec)
        out[name] = JascoPipeline(model, pipe.vocab, device=pipe._device, dtype=prec.compute_dtype,
                                  model_id=pipe.model_id, precision=prec)
    return out


def precision_table(pipe: Any, names: list[str], rounds: int, out: Callable[[str], None]) -> None:
    from engine import SamplingParams

    variants = precision_variants(pipe, names)
    dev = pipe._device
    fields, times, fields_out = {}, {n: [] for n in variants}, {}
    z = pipe.noise(0, 1).to(dev)
    t = torch.full((1,), 0.25, device=dev)
    for name, p in variants.items():
        cond, terms = p.conditions(inputs(p), SamplingParams(cfg_all=5.0, cfg_txt=0.0))
        fields[name] = p.field(cond, terms)
        with torch.inference_mode():
            fields_out[name] = fields[name](t, z).float()  # warm-up (and the value for the error column)
    sync(dev)
    with torch.inference_mode():
        for _ in range(rounds):  # round robin: every precision sees the same machine load
            for name, f in fields.items():
                start = time.perf_counter()
                f(t, z)
                sync(dev)
                times[name].append(time.perf_counter() - start)
    base = min(times["float32"])
    ref = fields_out["float32"]
    out(f"{'precision':<12}{'per NFE (min)':>15}{'ratio to fp32':>15}{'field rel. L2 err':>19}")
    for name in variants:
        err = float((fields_out[name] - ref).norm() / ref.norm())
        best = min(times[name])
        out(f"{name:<12}{best * 1e3:>12.0f} ms{best / base:>15.2f}{err:>19.4f}")


def dopri5_evaluations(device: str, out: Callable[[str], None]) -> None:
    """dopri5 (default 1e-5) evaluations per precision on the conformance fixture (tolerance floor applied)."""
    from engine import SamplingParams
    from engine.precision import cpu_has_native_bf16

    names = ["float32", "bfloat16"] + (["int8"] if device == "cpu" else [])
    if device == "cpu" and not cpu_has_native_bf16():
        names.remove("bfloat16")
    base = None
    for name in names:
        pipe, _ = load_fixture(device, name)
        nfe = pipe.generate(inputs(pipe), SamplingParams(seed=1)).nfe
        base = base or nfe
        out(f"dopri5 1e-5 on the fixture, {name:<9}: {nfe:4d} evaluations ({nfe / base:.2f}x float32; "
            f"rtol/atol used {pipe.precision.tolerance(1e-5):g})")


# --- presets ----------------------------------------------------------------------------------------------
METHODS = (("euler", "uniform"), ("heun", "uniform"), ("heun", "cosine"), ("rk4", "uniform"), ("rk4", "cosine"))


def preset_table(pipe: Any, label: str, evals: list[int], methods: tuple[tuple[str, str], ...],
                 out: Callable[[str], None]) -> None:
    from engine import SamplingParams
    from engine.presets import PRESETS
    from engine.samplers import EVALS_PER_STEP, get_sampler

    cond, terms = pipe.conditions(inputs(pipe), SamplingParams(cfg_all=5.0, cfg_txt=0.0))
    dev = pipe._device
    z0 = pipe.noise(7, 1).to(dev)

    def solve(solver: str, steps: int, schedule: str, interval: tuple[float, float] | None = None
              ) -> tuple[torch.Tensor, int, float]:
        field = pipe.field(cond, terms, interval)
        sync(dev)
        start = time.perf_counter()
        with torch.inference_mode():
            res = get_sampler(solver)(field, z0, steps=steps, rtol=1e-5, atol=1e-5, schedule=schedule)
        sync(dev)
        return res.latents, res.nfe, time.perf_counter() - start

    ref, ref_nfe, ref_sec = solve("dopri5", 1, "uniform")
    out(f"\n### {label}: error = ||z - z_ref|| / ||z_ref|| vs dopri5 rtol=atol=1e-5 "
        f"({ref_nfe} evaluations, {ref_sec:.1f} s), 2-term CFG 5/0, seed 7")
    marks = {(p.solver, p.schedule, p.evaluations, p.guidance_interval): name for name, p in PRESETS.items()}
    out(f"{'solver':<8}{'grid':<9}{'NFE':>5}{'rel. error':>12}{'sampling':>11}  preset")
    for solver, schedule in methods:
        for n in evals:
            per = EVALS_PER_STEP[solver]
            if n % per:
                continue
            z, nfe, sec = solve(solver, n // per, schedule)
            err = float((z - ref).norm() / ref.norm())
            mark = marks.get((solver, schedule, nfe, None), "")
            out(f"{solver:<8}{schedule:<9}{nfe:>5}{err:>12.5f}{sec:>9.1f} s  {mark}")
    for name, p in PRESETS.items():
        if p.guidance_interval is not None:
            z, nfe, sec = solve(p.solver, p.steps, p.schedule, p.guidance_interval)
            out(f"{p.solver:<8}{p.schedule:<9}{nfe:>5}{float((z - ref).norm() / ref.norm()):>12.5f}{sec:>9.1f} s  "
                f"{name} (guidance interval {p.guidance_interval})")
    for interval in ((0.0, 0.8), (0.2, 1.0)):
        z, nfe, sec = solve("rk4", 2, "uniform", interval)
        out(f"{'rk4':<8}{'uniform':<9}{nfe:>5}{float((z - ref).norm() / ref.norm()):>12.5f}{sec:>9.1f} s  "
            f"(guidance interval {interval}: the 'all' term alone outside)")


# --- a 400M checkpoint folder, loading, render -------------------------------------------------------------
def write_400m_folder(folder: Path) -> Path:
    """The 400M-size random model in the checkpoint layout (state_dict.bin + compression_state_dict.bin,
    EnCodec config of the real sizes, the tiny T5 stand-in, the chord vocabulary)."""
    import shutil

    from engine.tiny import ENCODEC_DIRNAME, EXPORT_VERSION, JSON_FILENAME, T5_DIRNAME, ensure_tiny_model

    pipe, _ = build_400m("cpu", "float32")
    tiny = ensure_tiny_model()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tiny / T5_DIRNAME, folder / T5_DIRNAME)
    shutil.copy(tiny / JSON_FILENAME, folder / JSON_FILENAME)
    pipe.model.compression.model.save_pretrained(str(folder / ENCODEC_DIRNAME))
    torch.save({"pretrained": ENCODEC_DIRNAME, "exported": True, "version": EXPORT_VERSION},
               folder / "compression_state_dict.bin")
    state = {k: v.contiguous() for k, v in pipe.model.state_dict().items()}
    torch.save({"best_state": state, "xp.cfg": _400m_yaml(), "version": EXPORT_VERSION, "exported": True},
               folder / "state_dict.bin")
    return folder


def _400m_yaml() -> str:
    from engine.tiny import VARIANTS, chord_vocabulary_mapping, xp_cfg_yaml

    spec = dataclasses.replace(VARIANTS["chords_drums"], dim=1024, num_heads=16, num_layers=24, flow_dim=128,
                               chords_dim=16, drums_dim=2, latent_mean=-0.0074, latent_std=4.0102)
    return xp_cfg_yaml(spec, card=len(chord_vocabulary_mapping()))


LOAD_CHILD = r"""
import os, resource, sys, time
sys.path.insert(0, {repo!r})
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from pathlib import Path
folder, how = Path({folder!r}), {how!r}
start = time.perf_counter()
if how == "after":
    from engine.pipeline import load_model
    model = load_model(folder, local_files_only=True)
else:  # the previous path: build with random init, read the whole file, copy into the model
    from engine.config import config_from_yaml
    from engine.encodec import CompressionModel
    from engine.hub import resolve_named
    from engine.jasco import JascoModel
    pkg = torch.load(folder / "state_dict.bin", map_location="cpu", weights_only=True)
    cfg = config_from_yaml(pkg["xp.cfg"])
    comp = CompressionModel.from_folder(folder / "encodec_32khz_tiny", load_weights=False)
    model = JascoModel(cfg, comp)
    model.load_state_dict(pkg["best_state"], strict=True)
    del pkg
    model.conditioners["description"].load_t5(folder / "t5-base")
loaded = time.perf_counter() - start
# read every weight once (as the first evaluation does): mapped pages become resident and count too
sum(float(p.sum()) for p in model.parameters())
print(loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def load_table(folder: Path, rounds: int, out: Callable[[str], None]) -> None:
    import subprocess

    res: dict[str, list[tuple[float, int]]] = {"before": [], "after": []}
    for _ in range(rounds):
        for how in ("before", "after"):
            code = LOAD_CHILD.format(repo=str(REPO), folder=str(folder), how=how)
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            sec, peak = proc.stdout.strip().splitlines()[-1].split()
            res[how].append((float(sec), int(peak)))
    out(f"{'load 400M folder':<40}{'time (min)':>12}{'peak RSS (max)':>16}")
    labels = {"before": "before (init + read + copy)", "after": "after (meta + mmap + assign)"}
    for how, rows in res.items():
        out(f"{labels[how]:<40}{min(r[0] for r in rows):>10.1f} s{mib(max(r[1] for r in rows)):>16}")


def render_table(folder: Path, precisions: list[str], out: Callable[[str], None]) -> None:
    """Per-evaluation time through ``jasco-bridge render``: (time of 6 Euler steps - time of 2) / 4."""
    import subprocess
    import tempfile

    exe = Path(sys.executable).with_name("jasco-bridge")
    cmd0 = [str(exe)] if exe.exists() else [sys.executable, "-m", "bridge.cli"]
    times: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="jasco-bench-render-") as tmp:
        for prec in precisions:  # interleaved: every precision runs 6 then 2 before the next one
            for steps in (6, 2):
                cmd = cmd0 + ["render", "--model", str(folder), "--prompt", PROMPT, "--solver", "euler",
                              "--steps", str(steps), "--seed", "1", "--device", "cpu", "--dtype", prec,
                              "--out", str(Path(tmp) / f"{prec}_{steps}.wav")]
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, text=True)
                times[(prec, steps)] = time.perf_counter() - start
    base = (times[("float32", 6)] - times[("float32", 2)]) / 4
    out(f"{'render --dtype':<16}{'6 steps':>10}{'2 steps':>10}{'per NFE':>11}{'ratio to fp32':>15}")
    for prec in precisions:
        per = (times[(prec, 6)] - times[(prec, 2)]) / 4
        out(f"{prec:<16}{times[(prec, 6)]:>8.1f} s{times[(prec, 2)]:>8.1f} s{per:>9.2f} s{per / base:>15.2f}")


def gpu_presets(pipe: Any, out: Callable[[str], None]) -> None:
    """Per 10 s clip for each preset (with peak memory): the GPU table."""
    from engine import SamplingParams
    from engine.presets import NAMES

    for name in NAMES[1:]:
        params = SamplingParams(seed=0, preset=name)
        dev = pipe.model.emb.weight.device
        pipe.generate(inputs(pipe), SamplingParams(seed=0, solver="euler", steps=1))
        sync(dev)
        with PeakMemory(dev) as mem:
            start = time.perf_counter()
            res = pipe.generate(inputs(pipe), params)
            sync(dev)
            sec = time.perf_counter() - start
        out(f"10 s clip, preset {name:<10}{sec:>8.2f} s{res.nfe:>6} NFE{CLIP_SECONDS / sec:>9.1f} x realtime"
            f"{mib(mem.peak):>14}")


# --- loop: the musician's case, warm, generate to done ------------------------------------------------------
LOOP_BPM, LOOP_BARS = 120.0, 4
LOOP_CHORDS = ("C", "Am", "F", "G")  # one a bar


def loop_request(preset: str, seed: int = 1, chords: tuple[str, ...] = LOOP_CHORDS) -> Any:
    """The issue-22 case: 4 bars at 120 bpm (8 s), a seamless loop, chords + text, ``preset``."""
    from core.requests import ChordEvent, RenderParams, RenderRequest

    bar = 4 * 60.0 / LOOP_BPM
    events = tuple(ChordEvent(given=c, label=c, start_beat=4.0 * k, start_seconds=bar * k)
                   for k, c in enumerate(chords))
    return RenderRequest(prompt=PROMPT, bpm=LOOP_BPM, chords=events, model="random-400M",
                         params=RenderParams(bars=LOOP_BARS, loop=True, seed=seed, preset=preset))


class StageClock:
    """Wall time spent in named functions during a block (patched on their modules, restored after)."""

    def __init__(self, targets: dict[str, tuple[Any, str]]) -> None:
        self.targets = targets
        self.seconds: dict[str, float] = {name: 0.0 for name in targets}
        self.calls: dict[str, int] = {name: 0 for name in targets}
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> "StageClock":
        for name, (owner, attr) in self.targets.items():
            original = getattr(owner, attr)
            self._saved.append((owner, attr, original))

            def timed(*a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
                began = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    self.seconds[_n] += time.perf_counter() - began
                    self.calls[_n] += 1

            setattr(owner, attr, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)


def _warm_path(pipe: Any, request: Any, clip_dir: Path) -> tuple[float, Any, StageClock]:
    """One press as the warm ``serve`` runs it: the engine process's render (engine.service.execute: conditions,
    sampling, decoding) then the worker's clip writing (bridge.clips.write_clip: DSP, encoding, file + sidecar).
    The OSC and socket hops are left out (a few ms for an 8 s clip)."""
    import bridge.clips
    import engine.pipeline
    import engine.timeline
    import engine.windows
    from bridge.clips import write_clip
    from bridge.engine_input import render_message
    from engine import service

    clock = StageClock({
        "conditions (prepare + cached build)": (engine.timeline, "prepare_on_timeline"),
        "condition tensors (cache lookup/build)": (engine.pipeline.JascoPipeline, "cached_conditions"),
        "field evaluations": (engine.windows.WindowedField, "__call__"),
        "decoder (EnCodec, loop context)": (engine.pipeline.JascoPipeline, "decode"),
        "DSP (resample, bars, loudness)": (bridge.clips, "process_audio"),
        "encode WAV": (bridge.clips, "encode"),
    })
    info = service.engine_info(pipe, pipe.model_id, str(pipe.device), str(pipe.precision))
    job, _ = render_message("bench", (request,), want_latents=True)
    with clock:
        began = time.perf_counter()
        result = service.execute(pipe, service.input_types(pipe), job, lambda n, t: None, lambda: False)
        engine_done = time.perf_counter()
        if not hasattr(result, "audio"):
            raise RuntimeError(f"render failed: {result}")
        write_clip(result.audio[0], result.sample_rate, request, clip_dir, engine_info=info, nfe=result.nfe,
                   job_id="bench", timings={"engine_s": result.seconds}, timeline=result.timeline)
        done = time.perf_counter()
    clock.seconds["engine total"] = engine_done - began
    clock.seconds["write_clip total"] = done - engine_done
    return done - began, result, clock


@contextlib.contextmanager
def previous_sketch(pipe: Any) -> Iterator[None]:
    """The sketch path as the previous round shipped it, for a before/after row in one run: the loop in the
    model's 500-frame window (rolled layout) and the EnCodec decoder run whole over the loop and its context."""
    import engine.presets

    comp = pipe.model.compression
    saved_preset, saved_chunked = engine.presets.PRESETS["sketch"], comp.chunked
    engine.presets.PRESETS["sketch"] = dataclasses.replace(saved_preset, loop_layout="rolled")
    comp.chunked = None
    try:
        yield
    finally:
        engine.presets.PRESETS["sketch"], comp.chunked = saved_preset, saved_chunked


def loop_table(big: Any, precisions: list[str], presets: list[str], reference: bool,
               out: Callable[[str], None], before: bool = True) -> None:
    import tempfile

    variants = precision_variants(big, precisions, emulated_bf16=True)
    with tempfile.TemporaryDirectory(prefix="jasco-bench-loop-") as tmp:
        clip_dir = Path(tmp)
        rows = []
        profiles = {}
        for name, pipe in variants.items():
            _warm_path(pipe, loop_request(presets[0], seed=99), clip_dir)  # warm-up: T5, condition cache, allocator
            if before and "sketch" in presets:
                with previous_sketch(pipe):
                    sec, res, clock = _warm_path(pipe, loop_request("sketch"), clip_dir)
                rows.append((name, "sketch (previous round)", res.nfe, res.timeline.get("layout"),
                             res.timeline.get("windows"), sec, res.latents))
                profiles[(name, "sketch (previous round)")] = clock
                out(f"  ... {name} sketch as the previous round: {sec:.2f} s")
            for preset in presets:
                sec, res, clock = _warm_path(pipe, loop_request(preset), clip_dir)
                rows.append((name, preset, res.nfe, res.timeline.get("layout"), res.timeline.get("windows"), sec,
                             res.latents))
                profiles[(name, preset)] = clock
                out(f"  ... {name} {preset}: {sec:.2f} s, {res.nfe} evaluations, layout {res.timeline.get('layout')}"
                    f", load average {os.getloadavg()[0]:.1f}")
        # a changed chord: the condition cache misses (the cost of a new press with new inputs)
        name0 = next(iter(variants))
        miss_sec, _, miss_clock = _warm_path(variants[name0], loop_request(presets[0], chords=("Dm", "G", "C", "A")),
                                             clip_dir)
        ref = None
        if reference:  # last: the slowest part (dopri5 needs the cycle layout: two windows per evaluation)
            ref_sec, ref_res, _ = _warm_path(variants["float32"], loop_request("reference"), clip_dir)
            ref = ref_res.latents
            out(f"reference: dopri5 rtol=atol=1e-5 float32, {ref_res.nfe} evaluations, layout "
                f"{ref_res.timeline.get('layout')} ({ref_res.timeline.get('windows')} windows), {ref_sec:.1f} s")
    out("")
    out("| precision | preset | evaluations | layout | windows | generate -> done | latent error vs dopri5 1e-5 fp32 |")
    out("|---|---|---:|---|---:|---:|---:|")
    for name, preset, nfe, layout, windows, sec, lat in rows:
        err = f"{float(np.linalg.norm(lat - ref) / np.linalg.norm(ref)):.4f}" if ref is not None else "-"
        out(f"| {name} | {preset} | {nfe} | {layout} | {windows} | {sec:.2f} s | {err} |")
    out("")
    out("where the time goes (warm press, same inputs: condition cache hit):")
    stages = list(next(iter(profiles.values())).seconds)
    out("| stage | " + " | ".join(f"{n} {p}" for n, p in profiles) + f" | {name0} {presets[0]}, new chords |")
    out("|---|" + "---:|" * (len(profiles) + 1))
    for stage in stages:
        cells = [f"{c.seconds[stage]:.3f} s" + (f" ({c.calls[stage]}x)" if c.calls.get(stage, 0) > 1 else "")
                 for c in (*profiles.values(), miss_clock)]
        out(f"| {stage} | " + " | ".join(cells) + " |")


def decoder_table(rounds: int, out: Callable[[str], None]) -> None:
    """The EnCodec decoder at the real ``encodec_32khz`` sizes: the whole decode vs the chunked one
    (engine.encodec.ChunkedDecoder) per piece size, for a 10 s window and for the 4-bar loop (400 frames with
    2 x 100 frames of circular context: before, decoded whole and cut; now, the upsampling run on the kept
    frames only). Interleaved rounds; best of the rounds; the difference to the whole decode as a check."""
    import engine.encodec as enc

    comp = enc.CompressionModel(real_encodec(), source="random encodec_32khz sizes")
    hop = comp.hop_length
    cases = {"10 s window (500 frames)": (500, None), "4-bar loop (400 + 2 x 100 context)": (600, (100, 500))}
    chunks = (32, 64, 128, 256)
    saved = enc.DECODE_CHUNK
    best: dict[tuple[str, str], float] = {}
    errors: dict[tuple[str, str], float] = {}

    def decode_whole(lat: torch.Tensor, keep: tuple[int, int] | None) -> torch.Tensor:  # the previous round's way
        audio = comp.model.decoder(lat)
        return audio if keep is None else audio[..., keep[0] * hop:keep[1] * hop]

    try:
        with torch.inference_mode():
            for case, (frames, keep) in cases.items():
                lat = torch.randn(1, comp.latent_dim, frames, generator=torch.Generator().manual_seed(0))
                whole = decode_whole(lat, keep)  # the reference (and a warm-up)
                for _ in range(rounds):
                    for how in ("whole", *(f"chunked {c}" for c in chunks)):
                        began = time.perf_counter()
                        if how == "whole":
                            audio = decode_whole(lat, keep)
                        else:
                            enc.DECODE_CHUNK = int(how.split()[1])
                            audio = comp.decode(lat, keep)
                        sec = time.perf_counter() - began
                        best[(case, how)] = min(sec, best.get((case, how), float("inf")))
                        errors[(case, how)] = float((audio - whole).abs().max() / whole.abs().max())
    finally:
        enc.DECODE_CHUNK = saved
    out(f"\n## decoder: EnCodec at the encodec_32khz sizes (random weights), best of {rounds} interleaved rounds; "
        f"engine's piece size {saved} frames, margin {comp.chunked.margin if comp.chunked else '-'} frames")
    out("| case | how | time | vs whole | max difference (relative) |")
    out("|---|---|---:|---:|---:|")
    for (case, how), sec in best.items():
        ratio = sec / best[(case, "whole")]
        out(f"| {case} | {how} | {sec:.2f} s | {ratio:.2f}x | {errors[(case, how)]:.1e} |")


SECTIONS = ("table", "precision", "presets", "load", "render", "loop", "decoder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--dtype", default=None, help="table section: float32, bfloat16, float16, int8 (default: engine's)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    parser.add_argument("--models", default="fixture,400m", help="comma list of fixture, 400m")
    parser.add_argument("--reps", type=int, default=10, help="forward passes per NFE timing (fixture)")
    parser.add_argument("--reps-400m", type=int, default=3, help="forward passes per NFE timing (400M)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (precision, load sections)")
    parser.add_argument("--evals", default="4,8,16,32", help="evaluation counts of the presets table (fixture)")
    parser.add_argument("--evals-400m", default="4,8,16", help="evaluation counts of the presets table (400M)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--full-400m", action="store_true", help="clip table for the 400M model on CPU too")
    parser.add_argument("--loop-precisions", default=None,
                        help="loop section: comma list (default: float32,bfloat16,int8 on CPU; float32,bfloat16,float16 "
                        "on CUDA)")
    parser.add_argument("--loop-presets", default="sketch,draft,normal", help="loop section: comma list of presets")
    parser.add_argument("--no-before", action="store_true",
                        help="loop section: skip the row of sketch as the previous round ran it (500-frame window, "
                        "whole decode)")
    parser.add_argument("--no-reference", action="store_true",
                        help="loop section: skip the dopri5 1e-5 float32 reference (no error column)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    if device.startswith("cuda"):
        info += f", {torch.cuda.get_device_name(0)}"
    if hasattr(os, "getloadavg"):
        info += ", load average %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count() or 0)
    print(f"# jasco-bridge engine bench ({info})")
    if "table" in sections:
        print("RTF = wall time / audio duration (lower is better); x realtime = its inverse; clip times include "
              "conditioning (T5 cached), sampling and EnCodec decoding; CFG 5/0 for clips.")
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
            if device.startswith("cuda"):
                gpu_presets(pipe, print)
            del pipe
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
    if "decoder" in sections:
        decoder_table(max(args.rounds, 3), print)
    big = None
    if "loop" in sections:
        big, big_label = build_400m(device, "float32")
        default = "float32,bfloat16,float16" if device.startswith("cuda") else "float32,bfloat16,int8"
        precisions = [p.strip() for p in (args.loop_precisions or default).split(",") if p.strip()]
        print(f"\n## loop: {LOOP_BARS} bars at {LOOP_BPM:g} bpm (8 s), chords + text, {big_label}, warm "
              "(second press, same inputs), generate -> done = engine render + clip and sidecar written")
        loop_table(big, precisions, [p.strip() for p in args.loop_presets.split(",") if p.strip()],
                   not args.no_reference, print, before=not args.no_before)
    if ("precision" in sections or "presets" in sections) and big is None:
        big, big_label = build_400m(device, "float32")
    if "precision" in sections:
        names = ["float32", "bfloat16", "float16", "int8"] if device.startswith("cuda") else ["float32", "bfloat16", "int8"]
        print(f"\n## precision: one guided evaluation (2-term CFG) at the 400M size, {big_label}; "
              f"{args.rounds} interleaved rounds")
        precision_table(big, [n for n in names if not (n == "float16" and device == "cpu")], args.rounds, print)
        dopri5_evaluations(device, print)
    if "presets" in sections:
        print("\n## presets: latent error vs the dopri5 1e-5 solution, and sampling time (float32)")
        fixture, flabel = load_fixture(device, "float32")
        preset_table(fixture, flabel, [int(n) for n in args.evals.split(",")], METHODS, print)
        preset_table(big, big_label, [int(n) for n in args.evals_400m.split(",")],
                     (("euler", "uniform"), ("heun", "cosine"), ("rk4", "uniform")), print)
    del big
    if "load" in sections or "render" in sections:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="jasco-bench-400m-") as tmp:
            started = time.perf_counter()
            folder = write_400m_folder(Path(tmp) / "jasco-400m-random")
            print(f"\n(wrote a 400M-size checkpoint folder in {time.perf_counter() - started:.1f} s)")
            if "load" in sections:
                print("\n## load: fresh process each, interleaved; time = until the model is built and loaded; "
                      "peak = max resident set size of the process, after every weight was read once")
                load_table(folder, args.rounds, print)
            if "render" in sections and device == "cpu":
                print("\n## render: `jasco-bridge render --solver euler --steps 6` minus `--steps 2` (= 4 evaluations)")
                render_table(folder, ["float32", "bfloat16", "int8"], print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
