"""Shared test fixtures: where ``../shared`` is, and the venv's executables."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.proc_util import stop

REPO = Path(__file__).resolve().parents[1]


def _share_the_cores_between_workers() -> None:
    """In a pytest-xdist worker: torch (and what it runs on) in this process and the engine processes it starts
    uses its share of the cores, not all of them each (two workers at two threads each on two cores spin
    against each other: the render-command and engine-speed tests took 163 s of CPU instead of 129 s). Set
    before torch is imported; a value the user set stays."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(name, threads)


_share_the_cores_between_workers()
SHARED = Path(os.environ.get("JASCO_SHARED", REPO.parent / "shared")).resolve()
CONFORMANCE = SHARED / "conformance"
FIXTURE = CONFORMANCE / "tiny_jasco_chords_drums"
CHORDS_PKL = SHARED / "chords" / "chord_to_index_mapping.pkl"
REFERENCE_MELODY = SHARED / "reference_melody"
# The everyday lane, ``python3 scripts/dev.py test --fast`` (= ``pytest -m "not slow"``), leaves out the
# tests marked ``slow``: these files as a whole (each test starts engine processes, servers or peers:
# Ray Serve, crash and fault rigs, the render command end to end, a fresh checkout's first run) and
# single tests marked where they stand. The whole suite (``dev.py test``, CI) runs them all.
SLOW_PATHS = (
    "tests/remote/",
    "tests/reliability/",
    "tests/engine/test_render_cli.py",
    "tests/engine/test_render_loops.py",
    "tests/test_packaging.py",
)


# ``dev.py test`` runs the suite in two phases: every test not marked ``serial`` in two pytest-xdist workers
# (``-n 2 --dist loadfile``: a test file's tests stay on one worker, so its module fixtures are set up once),
# then the ``serial`` ones alone. ``serial`` marks a test that measures time (a take on its boundary within
# a tolerance, real-time MIDI over JACK, a chord held for a measured time, a ping's round trip): another
# worker on the same cores would move what it measures. (``--dist loadgroup`` would be the tool for groups
# across files, but with pytest 9.2 pytest-xdist 3.8 can not rename the tests it groups: it ignores them.)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            rel = Path(str(item.path)).resolve().relative_to(REPO).as_posix()
        except ValueError:
            continue
        if rel.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture
def jack_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private JACK server (dummy driver); JACK_DEFAULT_SERVER points clients at it."""
    import rtmidi

    if shutil.which("jackd") is None:
        pytest.fail("jackd is missing (Debian package jackd2; python3 scripts/dev.py setup installs it)")
    name = f"jasco-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    monkeypatch.setenv("JACK_NO_AUDIO_RESERVATION", "1")
    log = tmp_path / "jackd.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                                stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 15.0
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jackd exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="probe")
                probe.delete()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(f"jackd did not come up in 15 s:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
        yield name
    finally:
        stop(proc, signal.SIGTERM, 5)
