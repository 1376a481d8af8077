"""Long clips and loops: window evaluations and wall time per clip, as ratios to one 10 s window; seams.

For 4, 8 and 16 bars of 4/4 at 90, 120 and 150 bpm, rendered as seamless loops
(``engine.timeline``: windows at the default hop, half a window in whole beats), the table
gives the clip's latent frames, its windows, the window evaluations (function evaluations x
windows) and the wall time of the whole render (conditions, sampling, decoding), each as a
ratio to one single-window 10 s render with the same solver, measured in the same run.

The seam table compares, for the same clips, the discontinuity at the loop's wrap (the step
from the last sample to the first, as Live plays the clip in a loop) with the typical step
inside the clip (median absolute sample-to-sample difference), after the bridge's
post-processing at 48 kHz (``bridge.dsp.process_audio``, no normalisation): ``looped`` is
the loop render; ``cut`` is the same bars rendered one-shot (``loop 0``: cut from the window or
the line of windows and faded out over 10 ms, as every clip was before loops existed).
A ratio near 1 means the wrap is an ordinary step.

``--layouts``: for the loops that fit in one window (1, 2, 4 bars at 90, 120, 150 bpm; 5 bars at
150 bpm is exactly the window), the ``cycle`` layout (windows every hop: two windows once the loop
is longer than the hop) against the ``rolled`` one (one window shifted at every evaluation,
engine.windows) and the ``fitted`` one (one window of the loop's own length, shifted: the sketch
preset's): window evaluations, wall time, the audio seam above and the latent seam (the
step from the last latent frame to the first over the median step between neighbours). It is
the measurement behind ``engine.timeline.loop_layout``.

Usage::

    python bench/longform.py                      # the conformance fixture on CPU, euler 8 steps
    python bench/longform.py --model 400m --device cuda --solver dopri5
    python bench/longform.py --layouts --solver midpoint --steps 1     # cycle vs rolled vs fitted (sketch's solver)
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

BARS = (4, 8, 16)
TEMPOS = (90.0, 120.0, 150.0)
PROMPT = "a warm lofi hip hop beat with mellow electric piano chords"


def _bench_engine() -> Any:
    """bench/engine.py (its model builders), loaded under another name than the ``engine`` package."""
    spec = importlib.util.spec_from_file_location("bench_engine", REPO / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _item(pipe: Any, bars: int, bpm: float, loop: bool, layout: str = "auto") -> Any:
    from engine import GenerationInput

    spb = 60.0 / bpm
    rate = pipe.sample_rate
    t = np.arange(int(4 * spb * rate)) / rate  # one bar of kicks on the beat, tiled by the engine
    drums = (np.sin(2 * np.pi * 60 * t) * np.exp(-(t % spb) * 30)).astype(np.float32)
    chords = tuple((label, k * 4 * spb) for k, label in enumerate(("C", "Am", "F", "G")))  # 4 bars, repeated
    chords = tuple((label, start + rep * 16 * spb) for rep in range(max(1, bars // 4)) for label, start in chords)
    return GenerationInput(prompt=PROMPT, chords=chords, drums=drums, drums_sample_rate=rate,
                           seconds=bars * 4 * spb if bars else 0.0, loop=loop, beat_seconds=spb, loop_layout=layout)


def _render(pipe: Any, item: Any, params: Any, device: str) -> tuple[Any, float]:
    _sync(device)
    began = time.perf_counter()
    out = pipe.generate([item], params)
    _sync(device)
    return out, time.perf_counter() - began


def _seam(audio: np.ndarray) -> float:
    x = np.asarray(audio, np.float64).reshape(-1)
    return float(abs(x[0] - x[-1]) / max(np.median(np.abs(np.diff(x))), 1e-12))


def _processed(out: Any, pipe: Any, bars: int, bpm: float, loop: bool) -> np.ndarray:
    from bridge.dsp import process_audio
    from core.requests import RenderParams, RenderRequest

    req = RenderRequest(bpm=bpm, params=RenderParams(bars=bars, loop=loop, seed=1, normalize="none",
                                                     sample_rate=48000))
    return process_audio(out.audio[0], pipe.sample_rate, req).audio


def run(pipe: Any, name: str, device: str, solver: str, steps: int, out: Callable[[str], None]) -> None:
    from engine import SamplingParams

    params = SamplingParams(seed=1, solver=solver, steps=steps)
    _render(pipe, _item(pipe, 0, 120.0, False), params, device)  # warm-up
    base_out, base_s = _render(pipe, _item(pipe, 0, 120.0, False), params, device)
    base_evals = base_out.nfe
    out(f"model {name} on {device} ({pipe.dtype}), solver {solver}"
        + (f" {steps} steps" if solver != "dopri5" else "") + f"; one 10 s window: {base_evals} function "
        f"evaluations, {base_s:.3f} s")
    out("")
    out("| bars | bpm | seconds | frames | windows | window evals | x window | wall s | x window | seam looped | seam cut |")
    out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for bpm in TEMPOS:
        for bars in BARS:
            looped, wall = _render(pipe, _item(pipe, bars, bpm, True), params, device)
            tl = looped.timeline
            evals = tl["window_evaluations"]
            cut, _ = _render(pipe, _item(pipe, bars, bpm, False), params, device)
            seam_loop = _seam(_processed(looped, pipe, bars, bpm, True))
            seam_cut = _seam(_processed(cut, pipe, bars, bpm, False))
            out(f"| {bars} | {bpm:g} | {bars * 4 * 60 / bpm:.3f} | {tl['frames']} | {tl['windows']} | {evals} | "
                f"{evals / base_evals:.2f} | {wall:.3f} | {wall / base_s:.2f} | {seam_loop:.2f} | {seam_cut:.2f} |")


def _latent_seam(latents: np.ndarray) -> float:
    z = np.asarray(latents[0], np.float64)
    return float(np.linalg.norm(z[0] - z[-1]) / max(np.median(np.linalg.norm(np.diff(z, axis=0), axis=1)), 1e-12))


def layouts(pipe: Any, name: str, device: str, solver: str, steps: int, seeds: int, out: Callable[[str], None]) -> None:
    """cycle vs rolled vs fitted for loops that fit in one window (medians over ``seeds`` seeds)."""
    from engine import SamplingParams
    from engine.windows import LAYOUTS

    out(f"model {name} on {device} ({pipe.dtype}), solver {solver} {steps} steps, medians over {seeds} seeds")
    out("")
    out("| bars | bpm | frames | layout | windows | window evals | wall s | seam audio | seam latent |")
    out("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    cases = [(bars, bpm) for bpm in TEMPOS for bars in (1, 2, 4) if bars * 4 * 60 / bpm <= 10.0] + [(5, 150.0)]
    for bars, bpm in cases:
        for layout in LAYOUTS:
            walls, audio, latent = [], [], []
            for seed in range(seeds):
                params = SamplingParams(seed=seed + 1, solver=solver, steps=steps)
                res, wall = _render(pipe, _item(pipe, bars, bpm, True, layout), params, device)
                walls.append(wall)
                audio.append(_seam(_processed(res, pipe, bars, bpm, True)))
                latent.append(_latent_seam(res.latents))
            tl = res.timeline
            out(f"| {bars} | {bpm:g} | {tl['frames']} | {layout} | {tl['windows']} | {tl['window_evaluations']} | "
                f"{np.median(walls):.3f} | {np.median(audio):.2f} | {np.median(latent):.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("fixture", "400m"), default="fixture")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--solver", default="euler", choices=("euler", "midpoint", "heun", "rk4", "dopri5"))
    parser.add_argument("--layouts", action="store_true",
                        help="cycle vs rolled vs fitted for loops that fit in one window")
    parser.add_argument("--seeds", type=int, default=3, help="--layouts: seeds per case")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    builders = _bench_engine()
    if args.model == "fixture":
        pipe, name = builders.load_fixture(args.device, args.dtype)
    else:
        pipe, name = builders.build_400m(args.device, args.dtype)
    if args.layouts:
        layouts(pipe, name, args.device, args.solver, args.steps, args.seeds, print)
    else:
        run(pipe, name, args.device, args.solver, args.steps, print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
