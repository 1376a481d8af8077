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
    """Build in a child process (``python -m engine.tiny``): building needs torch, the bridge never imports it."""
    import subprocess

    from core.errors import EnvironmentProblem

    cmd = [sys.executable, "-m", "engine.tiny", "--variant", args.variant]
    if args.out is not None:
        cmd += ["--out", str(Path(args.out).expanduser())]
    if args.force:
        cmd.append("--force")
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, check=False).returncode
    except OSError as err:
        raise EnvironmentProblem(f"cannot start the model builder: {err}") from err
