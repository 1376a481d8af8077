"""Helpers for the engine tests: every conformance folder in ../shared/conformance, loaded once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


torch.set_num_threads(1)  # tiny model: threading overhead dominates; parity is thread-independent

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("JASCO_SHARED", REPO.parent / "shared")).resolve()
CONFORMANCE = SHARED / "conformance"


def conformance_folders() -> list[Path]:
    if not CONFORMANCE.is_dir():
        return []
    return sorted(p for p in CONFORMANCE.iterdir() if (p / "reference.pt").is_file())


def conformance_cases() -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for folder in conformance_folders():
        ref = torch.load(folder / "reference.pt", weights_only=True)
        out.extend((folder, name) for name in ref["cases"])
    return out


_PIPES: dict[Path, Any] = {}
_REFS: dict[Path, dict] = {}


def pipeline_for(folder: Path) -> Any:
    from engine import JascoPipeline

    if folder not in _PIPES:
        _PIPES[folder] = JascoPipeline.from_pretrained(folder, local_files_only=True)
    return _PIPES[folder]


def reference_for(folder: Path) -> dict:
    if folder not in _REFS:
        _REFS[folder] = torch.load(folder / "reference.pt", weights_only=True)
    return _REFS[folder]


def case_inputs(case: dict) -> list[Any]:
    """GenerationInputs equal to what the reference gave ``generate_music``, with default settings."""
    from engine import GenerationInput

    inp = case["inputs"]
    drums = None
    if inp.get("drums_wav_int16") is not None:
        drums = (inp["drums_wav_int16"].float() / 32768.0)[0].numpy()  # [C, S]
    elif inp.get("drums_wav") is not None:
        drums = inp["drums_wav"][0].numpy()
    melody = inp.get("melody_salience")
    if isinstance(melody, torch.Tensor):
        melody = melody.numpy()
    chords = tuple((str(c[0]), float(c[1])) for c in inp["chords"]) if inp.get("chords") else None
    return [
        GenerationInput(prompt=d or "", chords=chords, drums=drums, drums_sample_rate=int(inp["drums_sample_rate"]),
                        melody=melody)
        for d in inp["descriptions"]
    ]


def mode_for(case: dict) -> str:
    """Batches of several prompts reproduce audiocraft's padding leak only in its compat mode."""
    return "audiocraft" if len(case["inputs"]["descriptions"]) > 1 else "independent"


def max_abs(a: Any, b: Any) -> float:
    a = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a).double()
    b = torch.as_tensor(np.asarray(b) if not isinstance(b, torch.Tensor) else b).double()
    assert a.shape == b.shape, f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    return float((a - b).abs().max())


class WarmEngines:
    """Engine backends kept loaded across the render-command tests, one per set of engine options
    (a render with other options, e.g. ``--device cpu`` vs auto, gets its own): the model loads once
    instead of once per render. ``render(argv)`` is ``jasco-bridge ARGV`` in-process
    (``bridge.cli.main``: the same parser, code path and error handling) on these engines."""

    def __init__(self) -> None:
        self._engines: dict[str, Any] = {}

    def __call__(self, options: Any) -> Any:
        from bridge.engines.local import EngineSupervisor

        key = repr(options)
        if key not in self._engines:
            self._engines[key] = EngineSupervisor(options)
        return self._engines[key]

    def render(self, argv: list[str]) -> int:
        from bridge.cli import main

        return main(argv, engines=self) if argv[:1] == ["render"] else main(argv)

    def close(self) -> None:
        for supervisor in self._engines.values():
            supervisor.shutdown(graceful=0.5)
        self._engines.clear()


WARM = WarmEngines()  # shut down at the end of the session (conftest.py)
