"""Jam budget: how many bars per phrase each preset and model size can sustain on this machine.

A jam keeps up when a phrase renders faster than it plays (bridge.jam.budget). This renders jam
phrases the way the jam does (engine.continuation: one bar of the previous phrase's latents held as
context, the same chords) for several phrase lengths, per preset and model, and prints the render
time, the ratio render / phrase and, per preset, the fewest bars per phrase that keep up (at 120 bpm,
4/4; the line is at least the model's window, so short phrases cost about as much as one window).

Models: ``fixture`` (the conformance fixture, ../shared/conformance/tiny_jasco_chords_drums),
``tiny`` (the embedded random model), ``400m`` (bench/engine.py's random model of the real 400M
dimensions, built in memory; slow on a CPU).

Usage::

    python bench/jam.py                                     # fixture and tiny; draft and normal; 1, 2, 4, 8 bars
    python bench/jam.py --models fixture,400m --presets draft --bars 2,4,8
    python bench/jam.py --device cuda --models 400m --presets draft,normal,reference
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bridge.jam.budget import BudgetReport  # noqa: E402
from engine import GenerationInput, SamplingParams  # noqa: E402

FIXTURE = REPO.parent / "shared" / "conformance" / "tiny_jasco_chords_drums"
BPM = 120.0
BAR_S = 4 * 60.0 / BPM
PROMPT = "a warm lofi hip hop beat with mellow electric piano chords"
CHORDS = ("C", "Am", "F", "G")


def load(name: str, device: str) -> Any:
    from engine.pipeline import JascoPipeline

    if name == "fixture":
        return JascoPipeline.from_pretrained(FIXTURE if FIXTURE.is_dir() else "tiny", device=device)
    if name == "tiny":
        return JascoPipeline.from_pretrained("tiny", device=device)
    if name == "400m":
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_engine", REPO / "bench" / "engine.py")
        assert spec is not None and spec.loader is not None
        bench_engine = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench_engine)
        return bench_engine.build_400m(device, None)[0]
    raise SystemExit(f"unknown model {name!r} (fixture, tiny, 400m)")


def phrase(pipe: Any, bars: int, preset: str, context: np.ndarray | None) -> tuple[float, np.ndarray]:
    seconds = bars * BAR_S
    chords = tuple((CHORDS[i % 4], i * BAR_S) for i in range(bars))
    if context is not None:
        shift = len(context) / pipe.frame_rate
        chords = (("G", 0.0),) + tuple((c, t + shift) for c, t in chords)
    item = GenerationInput(prompt=PROMPT, chords=chords, seconds=seconds, beat_seconds=60.0 / BPM, context=context)
    started = time.perf_counter()
    out = pipe.generate([item], SamplingParams(seed=1, preset=preset))
    return time.perf_counter() - started, np.asarray(out.latents[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fixture,tiny")
    ap.add_argument("--presets", default="draft,normal")
    ap.add_argument("--bars", default="1,2,4,8")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    bars_list = [int(b) for b in args.bars.split(",")]
    print(f"jam phrases at {BPM:g} bpm (a bar is {BAR_S:g} s), one bar of context; device {args.device}")
    for name in args.models.split(","):
        started = time.perf_counter()
        pipe = load(name, args.device)
        print(f"\n{name}: loaded in {time.perf_counter() - started:.1f} s")
        context_frames = int(round(BAR_S * pipe.frame_rate))
        _, latents = phrase(pipe, 1, "draft", None)  # warm-up, and the first context
        context = latents[-context_frames:]
        print(f"{'preset':<10}{'bars':>5}{'phrase s':>10}{'render s':>10}{'ratio':>8}  verdict")
        for preset in args.presets.split(","):
            keeps: list[int] = []
            for bars in bars_list:
                render_s, _ = phrase(pipe, bars, preset, context)
                report = BudgetReport(render_s, bars * BAR_S)
                if report.keeps_up:
                    keeps.append(bars)
                print(f"{preset:<10}{bars:>5}{bars * BAR_S:>10.1f}{render_s:>10.2f}{report.ratio:>8.2f}  "
                      f"{'keeps up' if report.keeps_up else 'loops, lands ' + str(report.phrases_late + 1) + ' later'}")
            print(f"  {name} / {preset}: keeps up at "
                  + (", ".join(str(b) for b in keeps) + f" bars per phrase (of {args.bars}); fewest: {min(keeps)}"
                     if keeps else f"none of {args.bars} bars per phrase"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
