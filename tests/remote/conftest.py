"""The remote engine's test rig: one real ``jasco-bridge engine-serve`` (Ray Serve, tiny model) per session.

The engine-serve process starts a private Ray instance (``--num-cpus 2``, its own short temp
folder, no dashboard) on loopback; at the end of the session it is stopped with SIGTERM (Serve
and Ray shut down) and any process below it that is still there is SIGKILLed (``remote_rig``),
so no Ray process outlives the tests.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
BRIDGE_TESTS = REPO / "tests" / "bridge"
for _p in (str(Path(__file__).resolve().parent), str(BRIDGE_TESTS), str(REPO)):
    # remote_rig, osc_helpers (the real-UDP peers), and the real packages first
    if _p in sys.path:
        sys.path.remove(_p)
    sys.path.insert(0, _p)

from remote_rig import EngineServe  # noqa: E402


@pytest.fixture(scope="session")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("token") / "engine.token"
    path.write_text(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def engine_serve(cli_exe: str, token_file: Path) -> Iterator[EngineServe]:
    server = EngineServe(cli_exe, "--model", "tiny", token_file=token_file)
    try:
        yield server
    finally:
        code = server.stop()
        assert code == 0, "\n".join(server.lines[-40:])
        assert any("engine-serve stopped" in line for line in server.lines)
