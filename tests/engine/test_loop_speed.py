"""The musician's loop (issue 22): one rolled window for a loop that fits in the window (the model's window,
or the loop's own length for the sketch preset), and the condition cache across takes and presses (the tiny
conformance model)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import BadValue
from engine import GenerationInput, SamplingParams
from engine.condcache import ConditionCache
from engine.timeline import loop_layout
from engine.windows import plan

SKETCH = SamplingParams(seed=4, preset="sketch")
CHORDS = (("C", 0.0), ("Am", 2.0), ("F", 4.0), ("C", 6.0))  # ends on the chord it starts with: no change at the wrap


def _loop(seconds: float = 8.0, chords: tuple = CHORDS, **kw: object) -> GenerationInput:
    return GenerationInput(prompt="dusty keys", chords=chords, seconds=seconds, loop=True, beat_seconds=0.5, **kw)


def _wrap_and_steps(latents: np.ndarray) -> tuple[float, np.ndarray]:
    z = latents[0].astype(np.float64)
    return float(np.linalg.norm(z[0] - z[-1])), np.linalg.norm(np.diff(z, axis=0), axis=1)


@pytest.mark.parametrize("layout", ["rolled", "fitted"])
@pytest.mark.parametrize("seconds, frames", [(8.0, 400), (2.0, 100)])
def test_a_loop_that_fits_one_window_is_one_rolled_periodic_window(tiny_fixture, seconds: float, frames: int,
                                                                    layout: str) -> None:
    chords = (("C", 0.0), ("Am", seconds / 4), ("C", seconds / 2))  # no chord change at the wrap
    out = tiny_fixture.generate([_loop(seconds, chords, loop_layout=layout)], SKETCH)
    tl = out.timeline
    assert (tl["layout"], tl["windows"], tl["frames"]) == (layout, 1, frames)
    assert tl["window"] == (500 if layout == "rolled" else frames)  # fitted: the model runs at the loop's length
    assert out.latents.shape == (1, frames, 16) and out.audio.shape == (1, 1, frames * 640)  # exactly the bars
    assert out.nfe == 2 and tl["window_evaluations"] == 2
    assert len(set(tl["rolls"])) == 2  # a fresh shift at every evaluation
    wrap, steps = _wrap_and_steps(out.latents)
    assert wrap <= steps.max()  # the last frame continues into the first as well as any two neighbours do
    assert wrap <= 3.0 * np.median(steps)


def test_rolled_loop_costs_one_window_where_the_cycle_needs_two(tiny_fixture) -> None:
    rolled = tiny_fixture.generate([_loop(loop_layout="rolled")], SKETCH)
    cycle = tiny_fixture.generate([_loop(loop_layout="cycle")], SKETCH)
    assert cycle.timeline["windows"] == 2 and cycle.timeline["layout"] == "cycle"
    assert rolled.timeline["window_evaluations"] * 2 == cycle.timeline["window_evaluations"]


def test_the_sketch_preset_fits_the_window_to_the_loop_the_others_keep_the_model_window(tiny_fixture) -> None:
    """sketch asks for the fitted layout (the transformer runs on the loop's 400 frames, not 500); draft keeps
    auto's rolled 500-frame window; a layout asked for explicitly wins over the preset's."""
    sketch = tiny_fixture.generate([_loop()], SKETCH).timeline
    draft = tiny_fixture.generate([_loop()], SamplingParams(seed=4, preset="draft")).timeline
    asked = tiny_fixture.generate([_loop(loop_layout="cycle")], SKETCH).timeline
    assert (sketch["layout"], sketch["window"], sketch["frames"]) == ("fitted", 400, 400)
    assert (draft["layout"], draft["window"]) == ("rolled", 500)
    assert asked["layout"] == "cycle"
    two_bars = tiny_fixture.generate([_loop(4.0)], SKETCH)
    assert two_bars.timeline["window"] == 200 and two_bars.audio.shape == (1, 1, 200 * 640)
    ten_bars = tiny_fixture.generate([_loop(20.0)], SKETCH).timeline  # longer than the window: the cycle
    assert ten_bars["layout"] == "cycle" and ten_bars["window"] == 500


def test_loop_layout_is_an_explicit_choice() -> None:
    assert loop_layout(400, 500) == "rolled" and loop_layout(400, 500, "cycle") == "cycle"
    assert loop_layout(400, 500, prefer="fitted") == "fitted" and loop_layout(400, 500, "fitted") == "fitted"
    assert loop_layout(900, 500) == "cycle" and loop_layout(900, 500, prefer="fitted") == "cycle"
    assert loop_layout(400, 500, "auto", "dopri5") == "cycle"  # adaptive step control needs a fixed field
    assert loop_layout(400, 500, "auto", "dopri5", prefer="fitted") == "cycle"
    with pytest.raises(BadValue):
        loop_layout(400, 500, "rolled", "dopri5")
    with pytest.raises(BadValue):
        loop_layout(400, 500, "fitted", "dopri5")
    with pytest.raises(BadValue):
        loop_layout(400, 500, prefer="cycle")  # a preset prefers one of the one-window layouts
    with pytest.raises(BadValue):
        loop_layout(900, 500, "rolled")  # longer than the window: only the cycle covers it
    with pytest.raises(BadValue):
        loop_layout(900, 500, "fitted")
    with pytest.raises(BadValue):
        loop_layout(400, 500, "spiral")
    with pytest.raises(BadValue):
        plan(400, 500, 250, False, "rolled")  # a one-shot clip has no rolled layout


def test_default_settings_keep_the_single_window_path(tiny_fixture) -> None:
    """bars 0 (no clip length): audiocraft's single window, nothing rolled."""
    out = tiny_fixture.generate([GenerationInput(prompt="dusty keys")], SamplingParams(seed=4, solver="euler", steps=2))
    assert out.timeline["layout"] == "cycle" and out.timeline["windows"] == 1 and "rolls" not in out.timeline


def test_the_condition_cache_serves_takes_and_misses_a_changed_chord(tiny_fixture) -> None:
    pipe = tiny_fixture
    pipe.condition_cache.clear()
    first = pipe.generate([_loop()], SKETCH)
    misses, hits = pipe.condition_cache.misses, pipe.condition_cache.hits
    again = pipe.generate([_loop()], SamplingParams(seed=4, preset="sketch"))  # the next press, same inputs
    assert pipe.condition_cache.hits == hits + 1 and pipe.condition_cache.misses == misses
    np.testing.assert_array_equal(first.latents, again.latents)
    take = pipe.generate([_loop()], SamplingParams(seed=5, preset="sketch"))  # another take: another seed
    assert pipe.condition_cache.hits == hits + 2 and not np.array_equal(take.latents, first.latents)
    changed = (("C", 0.0), ("Am", 2.0), ("F", 4.0), ("E", 6.0))  # one chord changed
    other = pipe.generate([_loop(chords=changed)], SKETCH)
    assert pipe.condition_cache.misses == misses + 1
    pipe.condition_cache.clear()
    fresh = pipe.generate([_loop(chords=changed)], SKETCH)  # what the changed chord gives without any cache
    np.testing.assert_array_equal(other.latents, fresh.latents)
    assert not np.array_equal(other.latents, first.latents)


def test_the_cache_keys_prompt_and_guidance_weights(tiny_fixture) -> None:
    pipe = tiny_fixture
    pipe.condition_cache.clear()
    base = pipe.generate([_loop()], SKETCH)
    for inp, params in ((GenerationInput(prompt="bright brass", chords=CHORDS, seconds=8.0, loop=True,
                                         beat_seconds=0.5), SKETCH),
                        (_loop(), SamplingParams(seed=4, preset="sketch", cfg_all=3.0, cfg_txt=1.0))):
        misses = pipe.condition_cache.misses
        out = pipe.generate([inp], params)
        assert pipe.condition_cache.misses == misses + 1 and not np.array_equal(out.latents, base.latents)


def test_condition_cache_is_bounded() -> None:
    cache = ConditionCache(entries=2)
    built: list[int] = []
    for key in (1, 2, 3, 1):
        cache.get((key,), lambda key=key: built.append(key) or key)  # type: ignore[arg-type,return-value]
    assert built == [1, 2, 3, 1] and len(cache) == 2 and cache.hits == 0


def test_dtype_auto_picks_bfloat16_only_on_cpus_with_native_bf16(tmp_path) -> None:
    import torch

    from core.cpu import cpu_has_native_bf16
    from engine.precision import auto_precision, resolve_precision

    cpu = torch.device("cpu")
    assert auto_precision(cpu, native_bf16=True) == "bfloat16"
    assert auto_precision(cpu, native_bf16=False) == "float32"
    assert auto_precision(torch.device("cuda"), native_bf16=True) == "float16"  # audiocraft's CUDA setting
    assert resolve_precision(cpu, "auto").name == ("bfloat16" if cpu_has_native_bf16() else "float32")
    assert resolve_precision(cpu, None).name == "float32"  # no choice: audiocraft's default
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    assert cpu_has_native_bf16(info)
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert not cpu_has_native_bf16(info) and not cpu_has_native_bf16(tmp_path / "missing")
