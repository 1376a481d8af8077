"""Both engine backends implement the engine contract (``bridge.engines.backend``) to the letter.

The worker is typed with ``EngineBackend`` and uses nothing else; this test fails when the local
backend (``EngineSupervisor``) or the remote one (``RemoteEngines``), or one of their engine
handles, lacks a member of the contract or has another signature for it (a parameter renamed,
a keyword turned positional). What the members do is tested on the real backends
(test_worker.py, test_engine_handoff.py, tests/remote/).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from bridge.engines import backend
from bridge.engines.local import EngineProcess, EngineSupervisor
from bridge.engines.remote import RemoteEngine, RemoteEngines


def _members(protocol: type) -> dict[str, Any]:
    names = {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))
    return {n: vars(protocol).get(n) for n in names}


def _shape(fn: Any) -> list[tuple[str, Any, bool]]:
    return [(p.name, p.kind, p.default is inspect.Parameter.empty)
            for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("protocol, impl", [
    (backend.EngineBackend, EngineSupervisor), (backend.EngineBackend, RemoteEngines),
    (backend.Engine, EngineProcess), (backend.Engine, RemoteEngine),
])
def test_implements_the_contract(protocol: type, impl: type) -> None:
    for name, declared in _members(protocol).items():
        if declared is None:  # a data attribute: set in __init__ (checked on instances elsewhere) or a class one
            assert name in inspect.getsource(impl.__init__) or hasattr(impl, name), f"{impl.__name__} lacks {name}"
            continue
        assert hasattr(impl, name), f"{impl.__name__} lacks {name} of {protocol.__name__}"
        actual = inspect.getattr_static(impl, name)
        if isinstance(declared, property):
            assert isinstance(actual, property), f"{impl.__name__}.{name} must be a property"
        else:
            assert _shape(actual) == _shape(declared), (
                f"{impl.__name__}.{name}{inspect.signature(actual)} differs from the contract's "
                f"{inspect.signature(declared)}")


def test_the_worker_uses_only_the_contract() -> None:
    """Every ``self.engines.X`` / ``engine.X`` the worker reads is a member of the contract."""
    import ast
    from pathlib import Path

    import bridge.worker as worker

    tree = ast.parse(Path(worker.__file__).read_text(encoding="utf-8"))
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
            and n.value.attr == "engines" and isinstance(n.value.value, ast.Name) and n.value.value.id == "self"}
    assert used and used <= set(_members(backend.EngineBackend)), used - set(_members(backend.EngineBackend))
    handle = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
              and n.value.id == "engine"}
    assert handle <= set(_members(backend.Engine)), handle - set(_members(backend.Engine))
    hints = inspect.get_annotations(worker.RenderWorker.__init__, eval_str=True)
    assert hints["engines"] == backend.EngineBackend | None
