"""Engine test fixtures (helpers live in engine_testlib.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

# tests/ is on sys.path (its conftest has no package), so tests/engine would shadow the
# real ``engine`` package as a namespace package; put the repo root first.
_REPO = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [_REPO]:
    sys.path.insert(0, _REPO)
for _name in [m for m in sys.modules if m == "engine" or m.startswith("engine.")]:
    if getattr(sys.modules[_name], "__file__", None) is None:
        del sys.modules[_name]

from engine_testlib import WARM, pipeline_for  # noqa: E402


@pytest.fixture(scope="session")
def tiny_fixture(fixture_dir: Path) -> Any:
    """The conformance model of tiny_jasco_chords_drums, loaded once, for component tests."""
    return pipeline_for(fixture_dir)


@pytest.fixture(scope="session", autouse=True)
def _warm_engines_end() -> Iterator[None]:
    """The render-command tests' warm engines (engine_testlib.WARM) stop with the session."""
    yield
    WARM.close()
