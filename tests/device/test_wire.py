"""The device's OSC constants come from ``bridge/protocol.py``: ``jasco_wire.js`` is current, and
what ``jasco_protocol.js`` makes of it agrees with the bridge's tables."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bridge import device_wire, protocol
from bridge.osc import MAX_PACKET_OUT
from core import params as P

DEVICE_DIR = Path(__file__).resolve().parents[2] / "max_for_live"
WIRE = DEVICE_DIR / "jasco_wire.js"
# Trailing reply arguments the device may do without (jasco_protocol.js MAY_LACK): an older bridge
# sends /jasco/done without the seed, /jasco/queued without the tag, /jasco/status without the precision.
MAY_LACK = ("/jasco/done", "/jasco/queued", "/jasco/status")


def test_wire_file_is_current() -> None:
    assert WIRE.read_text(encoding="utf-8") == device_wire.render_js(), \
        "jasco_wire.js is stale: run python max_for_live/make_patcher.py"


def test_the_device_protocol_is_the_bridges(node_exe: str) -> None:
    script = ("const p = require(process.argv[1]); process.stdout.write(JSON.stringify({ADDR: p.ADDR, "
              "REPLIES: p.REPLIES, MAX_PACKET_BYTES: p.MAX_PACKET_BYTES, MAX_NUMERATOR: p.MAX_NUMERATOR, "
              "GENERATE_REFUSED: p.GENERATE_REFUSED, NOTES_PER_PACKET: p.NOTES_PER_PACKET}));")
    out = subprocess.run([node_exe, "-e", script, str(DEVICE_DIR / "jasco_protocol.js")], capture_output=True,
                         text=True, timeout=20, check=True)
    device = json.loads(out.stdout)
    sent = {spec.address for spec in protocol.MESSAGES}
    assert set(device["ADDR"].values()) - sent == {"/jasco/probe"}      # the device's own probe, to itself
    for spec in protocol.REPLIES:                                       # every reply the bridge can send
        need = device["REPLIES"][spec.address]
        shape = ["n" if a.type in ("i", "f") else "*" for a in spec.args]
        assert need == shape or (spec.address in MAY_LACK and need == shape[:-1]), spec.address
    assert set(device["REPLIES"]) == {s.address for s in protocol.REPLIES} | {"/jasco/probe"}
    assert device["MAX_PACKET_BYTES"] == MAX_PACKET_OUT
    assert device["MAX_NUMERATOR"] == P.param("numerator").hi
    assert device["GENERATE_REFUSED"] == list(protocol.GENERATE_REFUSED)
    assert set(protocol.GENERATE_REFUSED) <= set(protocol.error_codes())
    assert device["NOTES_PER_PACKET"] <= protocol.NOTES_PER_PACKET


def test_the_device_table_has_no_copy_of_a_render_parameter() -> None:
    """A setting core/params.py declares (loop, preset, ...) is taken from jasco_params.js, never
    declared again in the device's own table (issue 25: "The device table still carries a loop entry")."""
    text = (DEVICE_DIR / "jasco_device_params.js").read_text(encoding="utf-8")
    start = text.index("{", text.index("var JASCO_DEVICE_PARAMS"))
    own, _ = json.JSONDecoder().raw_decode(text, start)
    assert not set(own) & set(P.BY_NAME), set(own) & set(P.BY_NAME)
