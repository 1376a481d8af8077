"""Fixtures for the reliability tests: real ``jasco-bridge serve`` processes, real UDP.

``tests/reliability`` is named like no package, but ``tests/bridge`` is; put the
repository first on ``sys.path`` so ``import bridge`` is the real package, and
``tests/bridge`` last so its fake engine (``jasco_fake_engine``) is importable here
and in the engine child processes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))
_loaded = sys.modules.get("bridge")
if _loaded is not None and getattr(_loaded, "__file__", None) is None:  # a namespace impostor
    for _name in [n for n in sys.modules if n == "bridge" or n.startswith("bridge.")]:
        del sys.modules[_name]
if str(REPO / "tests" / "bridge") not in sys.path:
    sys.path.append(str(REPO / "tests" / "bridge"))

from reliability_rig import Server  # noqa: E402


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start ``jasco-bridge serve`` processes; every one is killed and reaped at teardown."""
    started: list[Server] = []

    def start(*args: str, **kwargs: object) -> Server:
        server = Server(*args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
    leftovers = [pid for server in started for pid in server.orphans()]
    assert not leftovers, f"engine processes outlived their server: {leftovers}"

