"""Run a Node check script of tests/device/js (it prints JSON: check name -> "ok" or the failure)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def node_checks(node: str, script: Path) -> dict[str, str]:
    """The results of ``script`` run by ``node``; its exit status must be 0."""
    out = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=20, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
