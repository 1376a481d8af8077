"""``serve --demo`` keeps one demo clip: each new demo clip replaces the previous one.

The clip folder is usually the user's music folder, so the demo must not pile up a new
file there on every ``dev.py run``. The name of the last demo clip is remembered in
``.jasco-demo-last`` in the clip folder; when the next demo clip has landed, the one named
there (audio and sidecar) is removed and the new name is remembered. Only a file this
mechanism named itself is ever removed: a missing marker, a name that is not a plain file
name in that folder, or a clip that was moved away leaves everything as it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.fileio import atomic_write

log = logging.getLogger(__name__)

MARKER = ".jasco-demo-last"


def previous_demo(folder: Path) -> str | None:
    """The file name of the last demo clip in ``folder`` (None: none recorded, or not a plain name)."""
    try:
        name = (folder / MARKER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        log.warning("cannot read %s: %s", folder / MARKER, err)
        return None
    if not name or Path(name).name != name or name in (".", "..") or "\\" in name or ":" in name:
        log.warning("ignoring %s: %r is not a clip file name", folder / MARKER, name)
        return None
    return name


def replace_previous_demo(clip: str | Path) -> list[Path]:
    """Record ``clip`` as the demo clip of its folder and remove the previous one; returns what was removed."""
    new = Path(clip)
    folder = new.parent
    removed: list[Path] = []
    old_name = previous_demo(folder)
    if old_name is not None and old_name != new.name:
        old = folder / old_name
        for path in (old, old.with_suffix(".json")):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                continue
            except OSError as err:
                log.warning("could not remove the previous demo clip %s: %s", path, err)
    atomic_write(folder / MARKER, (new.name + "\n").encode("utf-8"))
    return removed
