"""The device's copy of the OSC contract: ``max_for_live/jasco_wire.js``, generated from
``bridge/protocol.py`` (and the limits it uses), like ``jasco_params.js`` from ``core/params.py``.

    python max_for_live/make_patcher.py      # rewrites it with every other generated device file

The device's ``jasco_protocol.js`` takes its addresses, the shapes of the replies, the packet
limit, the numerator and prompt limits and the codes that refuse a generate from this file;
``tests/device/test_wire.py`` fails when it is stale.
"""

from __future__ import annotations

import json
from typing import Any

from bridge import protocol
from bridge.osc import MAX_PACKET_IN, MAX_PACKET_OUT
from core import params as P
from core.requests import MAX_PROMPT_CHARS

JS_HEADER = ("// generated from bridge/protocol.py by max_for_live/make_patcher.py "
             "(bridge/device_wire.py); do not edit\n")


def _shape(spec: protocol.Spec) -> dict[str, Any]:
    out: dict[str, Any] = {"args": [a.type for a in spec.args]}
    if spec.optional:
        out["optional"] = [a.type for a in spec.optional]
    if spec.repeat:
        out["repeat"] = [a.type for a in spec.repeat]
    return out


def table() -> dict[str, Any]:
    """What the device needs to know of the OSC contract, as plain JSON data."""
    return {
        "messages": {s.address: _shape(s) for s in protocol.MESSAGES},
        "replies": {s.address: _shape(s) for s in protocol.REPLIES},
        "max_packet_in": MAX_PACKET_IN,
        "max_packet_out": MAX_PACKET_OUT,
        "max_notes_per_packet": protocol.NOTES_PER_PACKET,
        "max_numerator": int(P.param("numerator").hi or 0),
        "max_prompt_chars": MAX_PROMPT_CHARS,
        "max_tag_chars": protocol.MAX_TAG_CHARS,
        "max_path_chars": protocol.MAX_PATH_CHARS,
        "generate_refused": list(protocol.GENERATE_REFUSED),
        "error_codes": sorted(protocol.error_codes()),
    }


def render_js() -> str:
    """The table as a script for Max's [js] and Node; an address table one address a line."""
    rows = []
    for key, value in table().items():
        if isinstance(value, dict):
            entries = ",\n".join(f"    {json.dumps(address)}: {json.dumps(shape)}" for address, shape in value.items())
            rows.append(f"  {json.dumps(key)}: {{\n{entries}\n  }}")
        else:
            rows.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    body = "{\n" + ",\n".join(rows) + "\n}"
    return (JS_HEADER + f"var JASCO_WIRE = {body};\n"
            'if (typeof module !== "undefined") { module.exports = JASCO_WIRE; }\n')
