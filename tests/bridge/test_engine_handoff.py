"""How the engine child gets its socket, on every system.

POSIX hands down one end of a socket pair (``pass_fds``); Windows has no ``pass_fds``
(subprocess: "pass_fds ... POSIX only"), so there the child connects to a one-time
listener on 127.0.0.1 and proves with a random token that it is ours. Both ways run
here with the real engine service process and the fake engine.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from bridge.engines.local import (
    TOKEN_BYTES,
    EngineOptions,
    EngineProcess,
    EngineSupervisor,
    RunControl,
    default_handoff,
)
from core import wire
from core.errors import BadConfig

FACTORY = "jasco_fake_engine:make"


def _ready(engine: EngineProcess, timeout: float = 60.0) -> wire.Ready:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kind, msg = engine.wait(0.1)
        if kind == "msg":
            assert isinstance(msg, wire.Ready), msg
            return msg
        assert kind == "timeout", (kind, msg)
    raise AssertionError("the engine did not say ready")


def test_default_handoff_is_the_inherited_descriptor_on_posix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JASCO_ENGINE_HANDOFF", raising=False)
    assert default_handoff() == ("fd" if os.name == "posix" else "tcp")
    monkeypatch.setenv("JASCO_ENGINE_HANDOFF", "tcp")  # the Windows way, chosen on purpose
    assert default_handoff() == "tcp"
    monkeypatch.setenv("JASCO_ENGINE_HANDOFF", "fd")
    assert default_handoff() == ("fd" if os.name == "posix" else "tcp")  # never fd where it cannot work
    with pytest.raises(BadConfig, match="handoff"):
        EngineProcess("fake", EngineOptions(factory=FACTORY, handoff="carrier-pigeon"))


@pytest.mark.parametrize("handoff", ["fd", "tcp"])
def test_a_render_over_each_handoff(handoff: str) -> None:
    sup = EngineSupervisor(EngineOptions(factory=FACTORY, handoff=handoff), load_timeout=60)
    try:
        engine = sup.ensure("fake", check=lambda: None)
        assert engine.ready and engine.handoff == handoff
        render = wire.Render(job_id="j1", items=(wire.RenderItem(prompt="hello"),),
                             sampling={"solver": "euler", "steps": 4, "seed": 7})
        seen: list[float] = []
        result = sup.run(engine, render, RunControl(cancel_time=lambda: None, stopping=lambda: False,
                                                    progress=lambda f, n: seen.append(f)))
        assert result.job_id == "j1" and result.nfe == 4 and result.audio.shape == (1, 1, 320000) and seen
    finally:
        sup.shutdown(graceful=2.0)


def test_loopback_refuses_a_stranger_and_still_takes_the_child() -> None:
    engine = EngineProcess("fake", EngineOptions(factory=FACTORY, handoff="tcp"))
    try:
        assert engine._listener is not None
        port = engine._listener.getsockname()[1]
        assert engine._listener.getsockname()[0] == "127.0.0.1"  # never reachable from the network
        with socket.create_connection(("127.0.0.1", port), timeout=5) as stranger:
            stranger.sendall(b"\0" * TOKEN_BYTES)
            info = _ready(engine)
            assert info.info.get("model") == "fake"
            stranger.settimeout(5)
            assert stranger.recv(1) == b""  # closed by the bridge: a wrong token gets nothing
        assert engine._listener is None  # one connection only: the port is closed once the child is in
    finally:
        engine.kill(graceful=2.0)


def test_a_child_that_dies_before_connecting_is_reported_dead() -> None:
    engine = EngineProcess("fake", EngineOptions(factory=FACTORY, handoff="tcp"))
    try:
        engine.proc.kill()
        deadline = time.monotonic() + 30
        kind = "timeout"
        while kind == "timeout" and time.monotonic() < deadline:
            kind, _ = engine.wait(0.1)
        assert kind == "dead"
        assert not engine.send(wire.Stop())  # nothing to send to; no exception
    finally:
        engine.kill()
