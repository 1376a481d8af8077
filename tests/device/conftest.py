"""Fixtures for the Max for Live device tests: node, a UDP listener, a fake bridge.

The device JavaScript runs under Node (``tests/device/js/harness.js``) against a
mock of Live's object model; every OSC message it sends is a real UDP packet,
received here and decoded with python-osc (an independent OSC implementation).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .oscpeer import FakeBridge, Listener, Script

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "js" / "harness.js"
NODE_TIMEOUT_S = 20.0


@pytest.fixture(scope="session")
def node_exe() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("node is not installed (the device JavaScript runs under Node in these tests)")
    return exe


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def fake_bridge_factory() -> Iterator[Callable[[Script], FakeBridge]]:
    made: list[FakeBridge] = []

    def make(script: Script) -> FakeBridge:
        bridge = FakeBridge(script)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.close()


@pytest.fixture
def run_device(node_exe: str, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Run the device under Node with a scenario dict; returns the harness's JSON."""

    counter = {"n": 0}

    def run(scenario: dict[str, Any], timeout: float = NODE_TIMEOUT_S) -> dict[str, Any]:
        counter["n"] += 1
        path = tmp_path / f"scenario-{counter['n']}.json"
        path.write_text(json.dumps(scenario))
        proc = subprocess.run(
            [node_exe, str(HARNESS), str(path)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{proc.stderr}"
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["stderr"] = proc.stderr
        return out

    return run
