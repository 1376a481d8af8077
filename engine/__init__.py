"""JASCO inference engine (torch). Public API: see docs/architecture.md.

Heavy modules are imported lazily so ``import engine`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "JascoPipeline",
    "GenerationInput",
    "GenerationOutput",
    "SamplingParams",
    "JascoModel",
    "JascoConfig",
    "config_from_yaml",
]

_LAZY = {
    "JascoPipeline": "engine.pipeline",
    "GenerationInput": "engine.pipeline",
    "GenerationOutput": "engine.pipeline",
    "SamplingParams": "engine.pipeline",
    "JascoModel": "engine.jasco",
    "JascoConfig": "engine.config",
    "config_from_yaml": "engine.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
