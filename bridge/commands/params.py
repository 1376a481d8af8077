"""``jasco-bridge params``: the one parameter table, for people and for the device.

    jasco-bridge params                 # a Markdown table (name, type, range, default, meaning)
    jasco-bridge params --json          # the table as JSON
    jasco-bridge params --js            # max_for_live/jasco_params.js (the device's limits)
    jasco-bridge params --js --write max_for_live/jasco_params.js

Everything comes from ``core.params``; a test fails when the generated device file
is out of date.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bridge.cli import write_or_print
from core import params as P

JS_HEADER = "// generated from core/params.py by `jasco-bridge params --js`; do not edit\n"


def render_js() -> str:
    body = json.dumps(P.table_json(), indent=2, sort_keys=False)
    return (JS_HEADER + f"var JASCO_PARAMS = {body};\n"
            'if (typeof module !== "undefined") { module.exports = JASCO_PARAMS; }\n')


def render_markdown() -> str:
    lines = ["| name | scope | type | range and default | meaning |", "|---|---|---|---|---|"]
    for p in P.PARAMS:
        lines.append(f"| `{p.name}` | {p.scope} | {p.type_name} | {p.describe()} | {p.help} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="the table as JSON")
    fmt.add_argument("--js", action="store_true", help="the device's parameter file (jasco_params.js)")
    parser.add_argument("--write", type=Path, default=None, metavar="PATH", help="write to this file (atomically)")


def run(args: argparse.Namespace) -> int:
    if args.json:
        text = json.dumps(P.table_json(), indent=2) + "\n"
    elif args.js:
        text = render_js()
    else:
        text = render_markdown()
    write_or_print(text, args.write)
    return 0
