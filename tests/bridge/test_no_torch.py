"""bridge/ and midi/ never import torch (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _modules(package: str) -> list[str]:
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules([str(REPO / package)]))


@pytest.mark.parametrize("package", ["bridge", "midi"])
def test_importing_the_package_does_not_load_torch(package: str) -> None:
    modules = [package, *_modules(package)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'torch' in sys.modules:\n"
        "        print('torch loaded by', name); break\n"
        "else:\n"
        "    print('clean')\n"
    )
    assert _fresh(code) == "clean"


def test_the_server_path_does_not_load_torch() -> None:
    code = (
        "import sys\n"
        "import bridge.server, bridge.cli, bridge.commands.serve, bridge.midi_input\n"
        "from bridge.commands.serve import demo_request\n"
        "print('torch' in sys.modules)\n"
    )
    assert _fresh(code) == "False"
