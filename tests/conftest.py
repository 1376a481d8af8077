"""Shared test fixtures: where ``../shared`` is, and the venv's executables."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JASCO_SHARED", REPO.parent / "shared")).resolve()
CONFORMANCE = SHARED / "conformance"
FIXTURE = CONFORMANCE / "tiny_jasco_chords_drums"
CHORDS_PKL = SHARED / "chords" / "chord_to_index_mapping.pkl"
REFERENCE_MELODY = SHARED / "reference_melody"


def require_shared(path: Path) -> Path:
    """Return ``path`` or fail (in CI) / skip (elsewhere) when ../shared is absent."""
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is missing: CI must have ../shared beside the clone")
    pytest.skip(f"{path} not present (../shared beside the repo)")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared(SHARED)


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    return require_shared(FIXTURE)


@pytest.fixture(scope="session")
def chords_pkl() -> Path:
    return require_shared(CHORDS_PKL)


@pytest.fixture(scope="session")
def reference_melody_dir() -> Path:
    return require_shared(REFERENCE_MELODY)


@pytest.fixture(scope="session")
def cli_exe() -> str:
    """Path of the installed ``jasco-bridge`` console script (same venv as pytest)."""
    exe = Path(sys.executable).with_name("jasco-bridge")
    if exe.exists():
        return str(exe)
    found = shutil.which("jasco-bridge")
    if not found:
        pytest.fail("jasco-bridge console script not installed (pip install -e .)")
    return found
