"""``jasco-bridge build-tiny``: build the embedded tiny (noise-making) test model.

Without ``--out`` the model goes into the user cache, where
``--model tiny`` finds it; with ``--out DIR`` it is written to exactly DIR.
No torch import at module level (``jasco-bridge --help`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

VARIANT_CHOICES = ("chords_drums", "chords_drums_melody")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the model folder here (default: the user cache, used by --model tiny)",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANT_CHOICES,
        default="chords_drums",
        help="chords_drums (default) or chords_drums_melody (adds the 53-bin melody conditioner)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder already exists")


def run(args: argparse.Namespace) -> int:
    from engine import tiny

    if args.out is None:
        folder = tiny.ensure_tiny_model(variant=args.variant, force=args.force)
    else:
        out = Path(args.out).expanduser()
        if out.exists() and not args.force:
            if tiny.is_complete(out):
                print(f"{out} already holds a tiny model (use --force to rebuild)", file=sys.stderr)
                print(out)
                return 0
            from core.errors import OutputError

            raise OutputError(f"{out} already exists; choose another --out (or --force to rebuild a tiny model there)")
        folder = tiny.build_tiny_model(out, variant=args.variant, replace=args.force)
    print(f"note: {tiny.README_FIRST_LINE.lstrip('# ')}", file=sys.stderr)
    print(folder)
    return 0
