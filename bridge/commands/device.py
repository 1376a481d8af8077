"""``jasco-bridge device``: the Max for Live device as a file, and into Live's User Library.

    jasco-bridge device build [--frozen] [--out PATH]    # write jasco-bridge.amxd (frozen: jasco.js inside)
    jasco-bridge device install [--user-library PATH]    # the frozen device into Live's User Library

The device files come from the installed ``max_for_live`` package (importlib.resources), so this
works from a wheel. ``install`` writes ``<User Library>/Presets/MIDI Effects/Max MIDI Effect/
jasco-bridge.amxd``, where Live's browser lists Max MIDI Effects saved to the library. The User
Library's default place is Ableton's ("The User Library", help.ableton.com/hc/en-us/articles/209774085):
macOS ``~/Music/Ableton/User Library``, Windows ``%USERPROFILE%\\Documents\\Ableton\\User Library``.
Live does not run on Linux; there the macOS layout under ``~`` is used (give ``--user-library`` for
a library elsewhere, e.g. one moved in Live's Preferences › Library).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from bridge import device_file
from core.errors import BadValue, NotFound, OutputError
from core.fileio import atomic_write_bytes

PACKAGE = "max_for_live"
DEVICE_NAME = "jasco-bridge.amxd"
SCRIPT_NAME = "jasco.js"
LIBRARY_FOLDER = ("Presets", "MIDI Effects", "Max MIDI Effect")


def _package_file(name: str) -> bytes:
    try:
        return resources.files(PACKAGE).joinpath(name).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as err:
        raise NotFound(f"the device file {name} is not installed with jasco-bridge ({err}); "
                       "reinstall jasco-bridge") from None


def device_patcher() -> Mapping[str, Any]:
    """The patcher of the shipped (unfrozen) device."""
    return device_file.read(_package_file(DEVICE_NAME)).patcher


def dependencies(patcher: Mapping[str, Any]) -> list[device_file.Dependency]:
    """The files the patcher lists in its dependency_cache (what Freeze Device embeds), read from the package."""
    names = [entry["name"] for entry in patcher["patcher"].get("dependency_cache", [])]
    if SCRIPT_NAME not in names:
        raise BadValue(f"{DEVICE_NAME} does not list {SCRIPT_NAME} as a dependency")
    return [device_file.Dependency(name, _package_file(name)) for name in names]


def build(frozen: bool, modified: datetime.datetime | None = None) -> bytes:
    """The device file: the shipped one as it is, or frozen with its script inside."""
    if not frozen:
        return _package_file(DEVICE_NAME)
    patcher = device_patcher()
    when = modified or datetime.datetime.now(datetime.timezone.utc)
    return device_file.write_frozen(patcher, DEVICE_NAME, dependencies(patcher), modified=when)


def default_user_library(platform: str = sys.platform, home: Path | None = None,
                         environ: Mapping[str, str] | None = None) -> Path:
    """Live's default User Library on this platform (Ableton's help article 209774085)."""
    env = os.environ if environ is None else environ
    if platform.startswith("win"):
        profile = env.get("USERPROFILE")
        base = Path(profile) if profile else (home or Path.home())
        return base / "Documents" / "Ableton" / "User Library"
    return (home or Path.home()) / "Music" / "Ableton" / "User Library"


def install(user_library: Path, *, create: bool = False) -> Path:
    """Write the frozen device into ``user_library``'s Max MIDI Effect folder; returns its path."""
    library = user_library.expanduser()
    if not library.is_dir():
        if not create:
            raise NotFound(f"no Live User Library at {str(library)!r}: start Live once (it creates it), or give "
                           "--user-library PATH (Live's Preferences › Library shows where yours is)")
        try:
            library.mkdir(parents=True)
        except OSError as err:
            raise OutputError(f"cannot create {str(library)!r}: {err.strerror or err}") from None
    folder = library.joinpath(*LIBRARY_FOLDER)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create {str(folder)!r}: {err.strerror or err}") from None
    return atomic_write_bytes(folder / DEVICE_NAME, build(frozen=True))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="write the device file (.amxd)")
    b.add_argument("--frozen", action="store_true", help="with jasco.js inside (the form to share or move)")
    b.add_argument("--out", type=Path, default=Path(DEVICE_NAME), metavar="PATH",
                   help=f"where to write it (default ./{DEVICE_NAME})")
    i = sub.add_parser("install", help="copy the frozen device into Live's User Library")
    i.add_argument("--user-library", type=Path, default=None, metavar="PATH",
                   help="the User Library folder (default: Live's default place on this system)")
    i.add_argument("--create", action="store_true", help="create the User Library folder if it is missing")


def run(args: argparse.Namespace) -> int:
    if args.device_command == "build":
        out = atomic_write_bytes(args.out, build(args.frozen))
        print(f"wrote {out} ({'frozen, ' + SCRIPT_NAME + ' inside' if args.frozen else 'unfrozen'})")
        return 0
    library = args.user_library if args.user_library is not None else default_user_library()
    path = install(library, create=args.create)
    print(f"installed {path}\nIn Live: Browser › User Library › Presets › MIDI Effects › Max MIDI Effect, "
          f"drag {DEVICE_NAME} onto a MIDI track (jasco-bridge serve must be running).")
    return 0



