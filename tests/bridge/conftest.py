"""``tests/bridge`` has the same name as the ``bridge`` package.

pytest (prepend import mode) puts ``tests/`` on ``sys.path``, where ``bridge``
would then resolve to this test folder as a namespace package (no
``__version__``, no ``bridge/__init__``). Put the repository first so that
``import bridge`` is always the real package. (Belongs in ``tests/conftest.py``;
harmless twice.)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [REPO]:
    sys.path.insert(0, REPO)
_loaded = sys.modules.get("bridge")
if _loaded is not None and getattr(_loaded, "__file__", None) is None:  # a namespace impostor
    for _name in [n for n in sys.modules if n == "bridge" or n.startswith("bridge.")]:
        del sys.modules[_name]
