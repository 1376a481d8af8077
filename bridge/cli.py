"""The ``jasco-bridge`` command: a table of sub-commands, each in its own module.

Every module named here defines ``add_arguments(parser)`` and ``run(args) -> int``
and imports nothing heavy (no torch) at module level, so ``jasco-bridge --help``
and the torch-free commands stay fast. Errors from the project's hierarchy are
printed as ``error [code]: message`` with exit status 2; nothing else prints.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from core import __version__
from core.errors import JascoError
from core.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("serve", "bridge.commands.serve", "run the OSC/MIDI server"),
    Command("engine-serve", "bridge.commands.engine_serve", "serve the engine to bridges elsewhere (Ray Serve; GPU machine)"),
    Command("render", "bridge.commands.render", "render one clip with the engine"),
    Command("chords", "bridge.commands.chords", "recognise or map chords (MIDI file or typed symbols)"),
    Command("melody", "bridge.commands.melody", "turn a MIDI line into a [53, T] melody matrix"),
    Command("download", "bridge.commands.download", "fetch official checkpoints (+ T5, EnCodec) into the Hugging Face cache"),
    Command("build-tiny", "bridge.commands.build_tiny", "build the embedded tiny (noise-making) test model"),
    Command("doctor", "bridge.commands.doctor", "check the environment and say what to fix"),
    Command("osc-docs", "bridge.commands.osc_docs", "print the OSC address table as Markdown"),
    Command("jam", "bridge.commands.jam", "play chords on a controller, hear the next phrase arrive on the beat"),
    Command("params", "bridge.commands.params", "print the parameter table (Markdown, JSON, or the device's limits)"),
    Command("device", "bridge.commands.device", "build the Max for Live device file, or install it into Live's User Library"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jasco-bridge",
        description="Meta's JASCO music model inside the DAW (OSC/MIDI bridge).",
    )
    parser.add_argument("--version", action="version", version=f"jasco-bridge {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        try:
            module = importlib.import_module(cmd.module)
        except ImportError as exc:  # a broken install must not take every command down
            logger.debug("command %s unavailable: %s", cmd.name, exc)
            p.set_defaults(_module=None, _import_error=f"{cmd.module}: {exc}")
            continue
        module.add_arguments(p)
        p.set_defaults(_module=cmd.module)
    return parser


def main(argv: Sequence[str] | None = None, **context: Any) -> int:
    """Run one command; ``context`` goes to its ``run`` as keywords (e.g. ``render``'s ``engines``:
    a warm engine shared by the tests' renders)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args._module is None:
        print(f"error [environment]: '{args.command}' is unavailable ({args._import_error}); "
              "reinstall with: python3 scripts/dev.py setup", file=sys.stderr)
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args, **context) or 0)
    except JascoError as err:
        print(f"error [{err.code}]: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def write_or_print(text: str, path: Path | None) -> None:
    """A generating command's output (``--write PATH``): the file written atomically, else stdout."""
    if path is not None:
        atomic_write_bytes(path, text.encode("utf-8"))
    else:
        print(text, end="")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
