"""Speed features: higher-order solvers and time grids, guidance interval, presets, precisions
(weights cast once, int8, dopri5 tolerance floor), memory-mapped meta-device loading, torch.compile."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from core.errors import BadValue
from engine import GenerationInput, JascoPipeline, SamplingParams
from engine.guidance import GuidedField
from engine.pipeline import load_model
from engine.precision import DOPRI5_TOL_FLOOR, Precision, apply_precision, resolve_precision, weight_matrices
from engine.presets import PRESETS, get_preset
from engine.samplers import EVALS_PER_STEP, SAMPLERS, euler, heun, rk4, time_grid
from engine.transformer import Attention

CHORDS = (("C", 0.0), ("Am", 2.5), ("F", 5.0), ("G", 7.5))


def decay(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -z


def stiff_start(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(z) * 8 * torch.exp(-8 * t.reshape(-1)[0])  # z(1) = z0 + 1 - e^-8, fast near t = 0


# --- solvers and grids -------------------------------------------------------------------------------
def test_higher_orders_converge_faster() -> None:
    exact = math.exp(-1)
    errs = {fn.__name__: abs(float(fn(decay, torch.ones(1, 1, 1), steps=4).latents) - exact)
            for fn in (euler, heun, rk4)}
    assert errs["rk4"] < 1e-4 < errs["heun"] < 1e-2 < errs["euler"]
    for name, per in EVALS_PER_STEP.items():
        assert SAMPLERS[name](decay, torch.ones(1, 1, 1), steps=3).nfe == 3 * per


def test_time_grids() -> None:
    for name in ("uniform", "cosine", "quadratic"):
        grid = time_grid(8, name)
        assert grid[0] == 0.0 and grid[-1] == 1.0 and all(a < b for a, b in zip(grid, grid[1:]))
    assert time_grid(8, "cosine")[1] < 1 / 8 and time_grid(8, "quadratic")[1] < time_grid(8, "cosine")[1]
    # a field that changes fast near the noise end is integrated better with small early steps
    err = {s: abs(float(heun(stiff_start, torch.zeros(1, 1, 1), steps=3, schedule=s).latents) - 1 + math.exp(-8))
           for s in ("uniform", "cosine")}
    assert err["cosine"] < err["uniform"]
    with pytest.raises(BadValue, match="schedule"):
        euler(decay, torch.ones(1, 1, 1), steps=2, schedule="log")


def test_uniform_euler_is_audiocraft_loop() -> None:
    """Uniform grid: t is a float32 tensor incremented by dt, as audiocraft's loop (not k/steps)."""
    t = torch.zeros(1)
    expected = []
    for _ in range(7):
        expected.append(float(t))
        t = t + 1 / 7
    assert euler(decay, torch.ones(1, 1, 1), steps=7).times == expected


# --- guidance interval ---------------------------------------------------------------------------------
def test_guidance_interval(tiny_fixture) -> None:
    pipe = tiny_fixture
    params = SamplingParams()
    cond, terms = pipe.conditions([GenerationInput(prompt="a", chords=CHORDS)], params)
    assert [t.name for t in terms] == ["all", "null"]
    full = pipe.field(cond, terms)
    gated = pipe.field(cond, terms, (0.2, 0.8))
    z = pipe.noise(1, 1)
    rows: list[int] = []
    hook = pipe.model.emb.register_forward_hook(lambda m, i, o: rows.append(o.shape[0]))
    try:
        with torch.inference_mode():
            for t in (0.5, 0.2, 0.8):
                tt = torch.full((1,), t)
                assert torch.equal(gated(tt, z), full(tt, z))
            tt = torch.full((1,), 0.9)
            v_all = full.per_term(tt, z).chunk(2)[0]
            assert torch.allclose(gated(tt, z), v_all, atol=1e-6)  # the all term alone, weight 1
    finally:
        hook.remove()
    assert rows == [2, 2, 2, 2, 2, 2, 2, 1]  # outside the interval: one row instead of two


# --- presets ---------------------------------------------------------------------------------------------
def test_preset_replaces_solver_settings_only_when_chosen() -> None:
    p = SamplingParams(solver="euler", steps=3)
    assert p.resolved() is p  # preset none: the settings as given
    r = SamplingParams(solver="euler", steps=3, preset="draft").resolved()
    d = PRESETS["draft"]
    assert (r.solver, r.steps, r.schedule, r.guidance_interval) == (d.solver, d.steps, d.schedule, d.guidance_interval)
    ref = SamplingParams(solver="euler", preset="reference").resolved()
    assert (ref.solver, ref.rtol, ref.atol, ref.guidance_interval) == ("dopri5", 1e-5, 1e-5, None)
    assert SamplingParams().preset == "none" and get_preset("none") is None
    for bad in ({"preset": "fast"}, {"schedule": "log"}, {"guidance_interval": (0.5, 0.2)},
                {"guidance_interval": (0.0, 1.5)}):
        with pytest.raises(BadValue):
            SamplingParams(**bad)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_runs(tiny_fixture, name: str) -> None:
    seen: list[int] = []
    out = tiny_fixture.generate([GenerationInput(prompt="lofi", chords=CHORDS)], SamplingParams(seed=5, preset=name),
                                progress=lambda n, t: seen.append(n))
    assert out.audio.shape == (1, 1, 320000) and np.isfinite(out.latents).all()
    expected = PRESETS[name].evaluations
    assert out.nfe == len(seen) and (expected is None or out.nfe == expected)


# --- precision ---------------------------------------------------------------------------------------------
def _weight_casts(model: torch.nn.Module, fn) -> int:
    """How many aten::_to_copy ran on a tensor shaped like one of the model's weight matrices."""
    shapes = {tuple(p.shape) for p in weight_matrices(model)}
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    return sum(1 for e in prof.events() if e.name == "aten::_to_copy"
               and e.input_shapes and tuple(e.input_shapes[0]) in shapes)


@pytest.fixture(scope="module")
def bf16_pipe(fixture_dir: Path) -> JascoPipeline:
    return JascoPipeline.from_pretrained(fixture_dir, dtype="bfloat16", local_files_only=True)


def _one_evaluation(pipe: JascoPipeline):
    cond, terms = pipe.conditions([GenerationInput(prompt="a", chords=CHORDS)], SamplingParams())
    field = pipe.field(cond, terms)
    z, t = pipe.noise(0, 1), torch.full((1,), 0.3)

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return field(t, z)
    return run


def test_weights_cast_once_at_load(bf16_pipe, tiny_fixture, fixture_dir: Path) -> None:
    # per evaluation: none of the weight matrices is cast again
    assert _weight_casts(bf16_pipe.model, _one_evaluation(bf16_pipe)) == 0
    # the old way (float32 weights under bf16 autocast) casts every matrix on every evaluation
    shared = JascoPipeline(tiny_fixture.model, tiny_fixture.vocab, device=torch.device("cpu"), dtype=torch.bfloat16)
    assert _weight_casts(shared.model, _one_evaluation(shared)) >= len(weight_matrices(shared.model))
    # at load: each matrix exactly once
    model = load_model(fixture_dir, local_files_only=True)
    n = len(weight_matrices(model))
    assert _weight_casts(model, lambda: apply_precision(model, Precision("bfloat16"))) == n
    assert all(p.dtype == torch.bfloat16 for p in weight_matrices(model))
    assert all(m.weight.dtype == torch.float32 for m in model.modules() if isinstance(m, torch.nn.LayerNorm))


def test_bf16_output_float32_and_close(bf16_pipe, tiny_fixture) -> None:
    params = SamplingParams(solver="euler", steps=2, seed=3)
    items = [GenerationInput(prompt="lofi", chords=CHORDS)]
    a, b = tiny_fixture.generate(items, params), bf16_pipe.generate(items, params)
    assert b.latents.dtype == np.float32 and bf16_pipe.precision.name == "bfloat16"
    rel = np.abs(a.latents - b.latents).max() / np.abs(a.latents).max()
    assert 0 < rel < 0.03


def test_dopri5_low_precision_evaluations_bounded(bf16_pipe, tiny_fixture, fixture_dir: Path) -> None:
    """The tolerance floor keeps dopri5 from chasing bf16/int8 rounding (404 / 620 evaluations instead of 32)."""
    items = [GenerationInput(prompt="lofi", chords=CHORDS)]
    n32 = tiny_fixture.generate(items, SamplingParams(seed=2)).nfe
    n16 = bf16_pipe.generate(items, SamplingParams(seed=2)).nfe
    int8 = JascoPipeline.from_pretrained(fixture_dir, dtype="int8", local_files_only=True)
    n8 = int8.generate(items, SamplingParams(seed=2)).nfe
    assert n16 <= 1.5 * n32 and n8 <= 1.5 * n32, (n16, n8, n32)
    assert Precision("bfloat16").tolerance(1e-5) == DOPRI5_TOL_FLOOR["bfloat16"]
    assert Precision("float16").tolerance(1e-5) == 1e-5  # audiocraft's CUDA setting: unchanged
    assert Precision("float32").tolerance(1e-5) == 1e-5


def test_float16_is_audiocraft_layout(fixture_dir: Path) -> None:
    """audiocraft on CUDA: transformer layers float16, emb/linear/out_norm/time embedding/conditioners float32."""
    model = load_model(fixture_dir, local_files_only=True)
    apply_precision(model, Precision("float16"))
    for name, p in model.named_parameters():
        want = torch.float16 if name.startswith("transformer.") else torch.float32
        assert p.dtype == want, name
    assert resolve_precision(torch.device("cpu"), None).name == "float32"


def test_float16_layout_runs_without_weight_casts(fixture_dir: Path, tiny_fixture) -> None:
    """The CUDA default emulated on the CPU (autocast float16 works there too): the transformer's float16
    matrices are used as they are (no cast per evaluation), positions follow audiocraft's float16 ops,
    and the field stays near float32."""
    model = load_model(fixture_dir, local_files_only=True)
    prec = Precision("float16")
    apply_precision(model, prec)
    pipe = JascoPipeline(model, tiny_fixture.vocab, device=torch.device("cpu"), dtype=torch.float16, precision=prec)
    run = _one_evaluation(pipe)
    layers = [p for p in model.transformer.parameters() if p.dim() == 2]
    shapes = {tuple(p.shape) for p in layers} - {tuple(p.shape) for p in weight_matrices(model) if p.dtype == torch.float32}
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        v16 = run()
    casts = [e for e in prof.events() if e.name == "aten::_to_copy" and e.input_shapes
             and tuple(e.input_shapes[0]) in shapes]
    assert shapes and not casts
    v32 = _one_evaluation(tiny_fixture)()
    assert v16.dtype == torch.float32 and 0 < float((v16 - v32).norm() / v32.norm()) < 0.02


def test_int8_dynamic_quantisation(tiny_fixture, fixture_dir: Path) -> None:
    pipe = JascoPipeline.from_pretrained(fixture_dir, dtype="int8", local_files_only=True)
    assert pipe.precision.name == "int8" and pipe.dtype == torch.float32
    from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear

    quantised = [m for m in pipe.model.transformer.modules() if isinstance(m, QuantizedLinear)]
    assert len(quantised) == 3 * 7  # per layer: qkv, out_proj, q, kv, out_proj, linear1, linear2
    params = SamplingParams(solver="euler", steps=2, seed=3)
    items = [GenerationInput(prompt="lofi", chords=CHORDS)]
    a, b = tiny_fixture.generate(items, params), pipe.generate(items, params)
    rel = np.abs(a.latents - b.latents).max() / np.abs(a.latents).max()
    assert 0 < rel < 0.05


def test_split_projections_equal_packed() -> None:
    torch.manual_seed(0)
    for cross in (False, True):
        attn = Attention(32, 4, bias=True, cross=cross)
        for p in attn.parameters():
            torch.nn.init.normal_(p)
        x, src = torch.randn(2, 7, 32), torch.randn(2, 5, 32)
        with torch.no_grad():
            before = attn(x, src)
            attn.split_projections()
            after = attn(x, src)
        assert attn.in_proj_weight is None
        assert torch.allclose(before, after, atol=1e-5)


def test_precision_names() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision(cpu, "bf16").name == "bfloat16" and resolve_precision(cpu, torch.bfloat16).name == "bfloat16"
    for bad in ("float16", "int4", 3):
        with pytest.raises(BadValue):
            resolve_precision(cpu, bad)
    with pytest.raises(BadValue, match="CPU only"):
        resolve_precision(torch.device("cuda"), "int8")


# --- loading -------------------------------------------------------------------------------------------------
def test_meta_mmap_load_equals_checkpoint(fixture_dir: Path) -> None:
    model = load_model(fixture_dir, local_files_only=True)
    sd = torch.load(fixture_dir / "state_dict.bin", weights_only=True)["best_state"]
    own = model.state_dict()
    assert not any(t.is_meta for t in own.values())
    assert all(torch.equal(own[k], sd[k]) for k in sd)


def test_legacy_format_checkpoint_loads(fixture_dir: Path, tmp_path: Path) -> None:
    """Checkpoints in torch's pre-zip format cannot be memory-mapped: they are read as before."""
    dst = tmp_path / "m"
    shutil.copytree(fixture_dir, dst, ignore=shutil.ignore_patterns("reference.pt", "README.md"))
    pkg = torch.load(fixture_dir / "state_dict.bin", weights_only=True)
    (dst / "state_dict.bin").chmod(0o644)
    torch.save(pkg, dst / "state_dict.bin", _use_new_zipfile_serialization=False)
    model = load_model(dst, local_files_only=True)
    assert torch.equal(model.emb.weight, pkg["best_state"]["emb.weight"])


# --- torch.compile -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_compiled_equals_eager() -> None:
    """The pipeline's compile path (compile_transformer) on a small transformer: same output within 1e-5.
    (Small so that a cold inductor cache compiles it in well under a minute on two cores.)"""
    from engine.config import TransformerConfig
    from engine.transformer import Transformer, compile_transformer, init_gaussian_

    tr = Transformer(TransformerConfig(dim=32, num_heads=4, num_layers=1, flow_dim=4)).eval()
    init_gaussian_(tr, torch.Generator().manual_seed(3))
    x, src = torch.randn(3, 50, 32), torch.randn(3, 7, 32)
    with torch.inference_mode():
        eager = tr(x, src)
        compile_transformer(tr, torch.device("cpu"))
        compiled = tr(x, src)
    assert (compiled - eager).abs().max() < 1e-5


def test_pipeline_compile_option(fixture_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compile=True hands the pipeline's own transformer to compile_transformer (tested above)."""
    import engine.pipeline as pipeline_module

    calls: list[tuple[object, torch.device]] = []
    monkeypatch.setattr(pipeline_module, "compile_transformer", lambda tr, dev: calls.append((tr, dev)))
    pipe = JascoPipeline.from_pretrained(fixture_dir, local_files_only=True, compile=True)
    assert pipe.compiled and calls == [(pipe.model.transformer, torch.device("cpu"))]
