"""The device notices a bridge that stops answering, and one that never answered.

The device's clock is the harness's fake clock (``advance_clock`` moves it and runs the
device's timer once), so the bounds are checked exactly, with real UDP to a fake bridge.
Bounds (max_for_live/jasco_core.js): while a job of the device runs it asks
``/jasco/status`` every HEARTBEAT_MS = 1.5 s; after SILENT_MS = 5 s without any reply
the status line says the bridge is not answering; any reply takes that back. Before the
first answer to ``/jasco/hello``, CONNECT_TIMEOUT_MS = 3 s gives the fix.
"""

from __future__ import annotations

from typing import Any

from .livesets import SETTINGS, live_set
from .oscpeer import build

HEARTBEAT_MS, SILENT_MS, CONNECT_TIMEOUT_MS = 1500, 5000, 3000


def dies_mid_render(job: str, state: dict[str, Any]) -> list[bytes]:
    return [build("/jasco/queued", ("s", job), ("i", 0)), build("/jasco/started", ("s", job)),
            build("/jasco/note", ("s", job), ("s", "the 2-bar progression repeats to fill 4 bars")),
            build("/jasco/progress", ("s", job), ("f", 0.42))]


def test_a_bridge_that_dies_mid_render_is_shown_within_the_bound_and_recovers(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(dies_mid_render)
    bridge.answer_status_after = 3           # three polls unanswered, then it is back
    steps = [["advance_clock", HEARTBEAT_MS], ["sleep", 150]] * 4
    out = run_device({"mode": "core", "fake_clock": True, "live": live_set(), "bridge_port": bridge.port,
                      "settings": SETTINGS, "commands": [["generate"], ["sleep", 400], *steps, ["sleep", 300],
                                                         ["advance_clock", 10]]})
    assert out["errors"] == [] and bridge.listener.errors == []
    status = out["status"]
    assert "Rendering 42%" in status
    assert "Note from jasco-bridge: the 2-bar progression repeats to fill 4 bars" in status
    silent = [k for k, s in enumerate(status) if s.startswith("jasco-bridge is not answering")]
    assert silent, status
    # ticks at 1.5, 3.0, 4.5, 6.0 s: the first tick past the 5 s bound says so (bound + one heartbeat)
    ticks = [r for r in out["results"] if isinstance(r, bool)]
    assert ticks[:4] == [False, False, False, True], ticks
    assert SILENT_MS < 4 * HEARTBEAT_MS <= SILENT_MS + HEARTBEAT_MS
    assert "is it still running?" in status[silent[0]]
    # it polled on each heartbeat, and its answer brought the device back
    assert bridge.status_polls >= 4
    assert any(s.startswith("jasco-bridge answers again") for s in status[silent[0]:]), status


def test_a_dead_bridge_stays_reported(run_device, fake_bridge_factory) -> None:
    bridge = fake_bridge_factory(dies_mid_render)       # never answers /jasco/status
    out = run_device({"mode": "core", "fake_clock": True, "live": live_set(), "bridge_port": bridge.port,
                      "settings": SETTINGS, "commands": [["generate"], ["sleep", 400],
                                                         *[["advance_clock", HEARTBEAT_MS]] * 6]})
    assert out["status"][-1].startswith("jasco-bridge is not answering")


def test_connecting_gives_up_with_the_fix(run_device, listener) -> None:
    """Nothing answers /jasco/hello: after 3 s the status line says how to start the bridge, and
    the device greets it again every 5 s (so it connects once the bridge runs)."""
    out = run_device({"mode": "core", "fake_clock": True, "live": live_set(), "bridge_port": listener.port,
                      "commands": [["advance_clock", 1000], ["advance_clock", 1000], ["advance_clock", 1500],
                                   ["advance_clock", 3000], ["sleep", 200]]})
    told = [s for s in out["status"] if s.startswith("No answer from jasco-bridge")]
    assert len(told) == 1 and "start it with 'jasco-bridge serve'" in told[0], out["status"]
    assert out["status"].index(told[0]) > 0 and out["status"][0].startswith("Connecting")
    hellos = [p for p in listener.packets if p.address == "/jasco/hello"]
    assert len(hellos) == 2, [p.address for p in listener.packets]
